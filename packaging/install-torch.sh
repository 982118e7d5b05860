#!/usr/bin/env bash
# Installs the PyTorch wheel of the GPU machine's version (packaging/torch-version, from PyPI) into a project-local
# virtual environment (default .venv-torch2/ in the repository root; never the system Python) and prints its CMake
# prefix (torch.utils.cmake_prefix_path) as the last line of stdout. Idempotent: a second run only prints the prefix.
#
#   bash packaging/install-torch.sh                 # -> /path/to/repo/.venv-torch2/lib/python3.X/site-packages/torch/share/cmake
#   (packaging/install-deps.sh runs it; presets release and test build against it through GMD_TORCH_VENV)
#
# The wheel's C++ LibTorch (CUDA 13) loads about ten CUDA libraries. The CUDA 13 toolkit on our machines
# (/usr/local/cuda, in the ldconfig cache) provides most of them; this script asks the dynamic linker which are
# still missing (ldd on libtorch_cuda.so) and installs only those from PyPI, at the versions torch's own metadata
# pins (torch's Requires-Dist), instead of all nvidia-* wheels (about 3 GB). On a machine without the toolkit
# that means all of them.
#
# Options: --venv DIR (default $GMD_TORCH_VENV or .venv-torch2), --version V (default: packaging/torch-version),
#          --all-deps (install every dependency wheel of torch, as a plain `pip install torch` would).
# Exit 0 with the prefix on stdout; 1 when an install step fails (the pip output says why).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${GMD_TORCH_VENV:-$ROOT/.venv-torch2}
VERSION=$(tr -d ' \n' <"$ROOT/packaging/torch-version")
ALL_DEPS=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --venv) VENV=$2; shift 2 ;;
    --version) VERSION=$2; shift 2 ;;
    --all-deps) ALL_DEPS=1; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "install-torch: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$VENV" in /*) ;; *) VENV=$PWD/$VENV ;; esac
log() { echo "install-torch: $*" >&2; }
PY=$VENV/bin/python3

# 1. The virtual environment (python3 -m venv; Debian's python3-venv or any python3 >= 3.10 with venv).
if [ ! -x "$PY" ]; then
  log "creating virtual environment $VENV"
  python3 -m venv "$VENV" >&2
fi
PIP=("$PY" -m pip --disable-pip-version-check -q)

# 2. torch itself, without its dependency wheels (we only need the C++ LibTorch inside it).
have=$("$PY" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)
if [ "$have" != "$VERSION" ] && [ "${have%%+*}" != "$VERSION" ]; then
  log "installing torch==$VERSION from PyPI into $VENV (about 530 MB download)"
  if [ "$ALL_DEPS" = 1 ]; then
    "${PIP[@]}" install "torch==$VERSION" >&2
  else
    "${PIP[@]}" install --no-deps "torch==$VERSION" >&2
  fi
fi
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
TORCH_LIB=$SITE/torch/lib

# 3. The CUDA libraries the wheel's LibTorch needs and this machine lacks. The soname -> pip requirement map
#    follows torch's metadata: its Requires-Dist pins nvidia-cudnn-cu13, nvidia-nccl-cu13, nvidia-cusparselt-cu13,
#    nvidia-nvshmem-cu13 and cuda-toolkit[extras]==X (cudart, cublas, cufft, cufile, cupti, curand, cusolver,
#    cusparse, nvjitlink, nvrtc). The wheels put them where the libraries' RUNPATH ($ORIGIN/../../nvidia/...) looks.
missing_libs() {
  local f
  for f in "$TORCH_LIB"/libtorch_cuda.so "$TORCH_LIB"/libtorch_cpu.so "$TORCH_LIB"/libtorch_nvshmem.so \
           "$TORCH_LIB"/libtorch_cuda_linalg.so "$TORCH_LIB"/libc10_cuda.so; do
    [ -f "$f" ] && ldd "$f" 2>/dev/null | awk '/not found/ {print $1}'
  done | sort -u
}
if [ "$ALL_DEPS" = 0 ] && [ -f "$TORCH_LIB/libtorch_cuda.so" ]; then
  mapfile -t MISSING < <(missing_libs)
  if [ "${#MISSING[@]}" -gt 0 ]; then
    mapfile -t REQS < <("$PY" - "${MISSING[@]}" <<'PY'
import importlib.metadata as md, re, sys
reqs = [r.split(";")[0].strip() for r in (md.requires("torch") or []) if "extra ==" not in r]
def pin(name):
    for r in reqs:
        if re.match(re.escape(name) + r"(\[|==|>=|<|$)", r):
            return r
    sys.exit(f"install-torch: torch's metadata names no '{name}'")
ct = pin("cuda-toolkit")                       # cuda-toolkit[cublas,...]==13.0.2
ct_version = ct.split("==")[1] if "==" in ct else None
toolkit = {"cudart": "cudart", "cublas": "cublas", "cublasLt": "cublas", "cufft": "cufft", "cufile": "cufile",
           "cupti": "cupti", "curand": "curand", "cusolver": "cusolver", "cusparse": "cusparse",
           "nvJitLink": "nvjitlink", "nvrtc": "nvrtc"}
own = {"cudnn": "nvidia-cudnn", "nccl": "nvidia-nccl", "cusparseLt": "nvidia-cusparselt",
       "nvshmem_host": "nvidia-nvshmem"}
extras, out = set(), set()
for so in sys.argv[1:]:
    stem = re.sub(r"^lib|\.so.*$", "", so)
    if stem in toolkit:
        extras.add(toolkit[stem])
    elif stem in own:
        out.add(next(r for r in reqs if r.startswith(own[stem])))
    else:
        sys.exit(f"install-torch: no wheel known for {so} (needed by LibTorch); try --all-deps")
if extras:
    out.add(f"cuda-toolkit[{','.join(sorted(extras))}]" + (f"=={ct_version}" if ct_version else ""))
print("\n".join(sorted(out)))
PY
)
    log "CUDA libraries missing here: ${MISSING[*]} -> installing ${REQS[*]}"
    # pip warns that torch's other (Python) dependencies are absent: expected, we install only libraries.
    rc=0
    pip_log=$("${PIP[@]}" install "${REQS[@]}" 2>&1) || rc=$?
    grep -v -e "dependency resolver does not" -e "^torch .* requires " <<<"$pip_log" >&2 || true
    [ "$rc" = 0 ] || { log "pip install ${REQS[*]} failed (exit $rc)"; exit 1; }
    mapfile -t STILL < <(missing_libs)
    if [ "${#STILL[@]}" -gt 0 ]; then
      log "still missing after the install: ${STILL[*]}"
      exit 1
    fi
  fi
fi

# torch.utils.cmake_prefix_path is this folder; importing torch would need its Python dependencies, which the
# C++ build does not.
PFX=$SITE/torch/share/cmake
[ -f "$PFX/Torch/TorchConfig.cmake" ] || { log "torch is installed in $VENV but has no $PFX/Torch/TorchConfig.cmake"; exit 1; }
echo "$PFX"
