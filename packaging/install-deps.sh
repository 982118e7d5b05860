#!/usr/bin/env bash
# Installs every Debian package GMD Studio needs (Debian's registry), then the LibTorch it builds against by default:
# the PyTorch wheel of packaging/torch-version from PyPI, in the project-local venv .venv-torch2
# (packaging/install-torch.sh; docs/libtorch.md says why). Idempotent. GMD_SKIP_TORCH_WHEEL=1 skips the wheel (then
# only the preset `debian`, on Debian's LibTorch 1.13, configures).
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev qt6-svg-dev
  libvtk9-dev
  libinsighttoolkit5-dev libdcmtk-dev dicom3tools
  libtorch-dev libgloo-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libssl-dev
  clang-14 libfuzzer-14-dev
  libopenblas0-openmp libtcmalloc-minimal4
  xvfb xauth mesa-utils libgl1-mesa-dri imagemagick
  python3 python3-venv python3-pip
  mricron-data
)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages already installed"
else
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${PKGS[@]}"
fi
if ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  # The wheel's LibTorch needs the CUDA toolkit to build against; without it CMake uses Debian's LibTorch 1.13.
  echo "install-deps: no CUDA toolkit (nvcc): skipping the PyTorch wheel; builds use Debian's LibTorch 1.13"
elif [ "${GMD_SKIP_TORCH_WHEEL:-0}" != 1 ]; then
  prefix=$(bash "$(dirname "$0")/install-torch.sh" | tail -n 1)
  echo "install-deps: LibTorch wheel ready: $prefix"
fi
