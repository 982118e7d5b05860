#!/usr/bin/env bash
# Installs the package into a clean Debian 12 root made with debootstrap from Debian's mirror, runs it there and
# removes it again:
#   sudo bash packaging/test-deb.sh out/deb/gmd-studio_*.deb [LOG_DIR]      (default out/deb-test)
# 1. a pristine bookworm root (debootstrap --variant=minbase, cached as a tarball in $GMD_DEB_ROOT_CACHE, default
#    /var/tmp/gmd-deb-root.tar) is unpacked afresh; the test's own tools (xvfb, xauth) are installed and the root's
#    file list is taken; 2. `apt-get install ./gmd-studio_*.deb` pulls Qt, VTK, ITK, LibTorch, OpenBLAS... from Debian;
# 3. `gmd info`, `gmd synth` + `gmd segment` on the generated case, `gmd-studio --demo --screenshot` under Xvfb, the
# man pages, the completion, the desktop entry and the MIME type; 4. `apt-get purge` + `autoremove --purge` (of the
# Recommends too): dpkg must not know gmd-studio, none of its paths may remain, and the root must hold exactly the
# packages it held before; other paths that differ (left by dependencies' maintainer scripts) are listed. Needs root (chroot, mounts) and network access to the mirror.
# Without root, see docs/packaging.md for the chroot-less check (`dpkg -x` + the executables run from the tree).
set -euo pipefail
DEB=$(readlink -f "$1")
LOG=$(mkdir -p "${2:-out/deb-test}" && cd "${2:-out/deb-test}" && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${GMD_DEB_ROOT_CACHE:-/var/tmp/gmd-deb-root.tar}
WORK=$(mktemp -d /var/tmp/gmd-deb-test.XXXXXX)
[ "$(id -u)" -eq 0 ] || { echo "test-deb: needs root (chroot): run it with sudo" >&2; exit 2; }
[ -f "$DEB" ] || { echo "test-deb: $1: no such package" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y -q --no-install-recommends debootstrap
cleanup() {
  for m in dev/pts dev proc sys; do umount -l "$WORK/$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { echo "== $*" | tee -a "$LOG/test-deb.log"; }
in_root() { chroot "$WORK" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
: >"$LOG/test-deb.log"
if [ ! -f "$CACHE" ]; then
  step "debootstrap bookworm (minbase) from $MIRROR, cached in $CACHE"
  debootstrap --variant=minbase bookworm "$WORK" "$MIRROR" >"$LOG/debootstrap.log" 2>&1
  tar -C "$WORK" -cf "$CACHE" .
else
  step "unpacking the pristine root $CACHE"
  tar -C "$WORK" -xf "$CACHE"
fi
mount -t proc proc "$WORK/proc"; mount --rbind /sys "$WORK/sys"; mount --rbind /dev "$WORK/dev"
cp /etc/resolv.conf "$WORK/etc/resolv.conf"
step "the test's tools: xvfb, xauth"
in_root apt-get update -q >>"$LOG/apt.log" 2>&1
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q xvfb xauth >>"$LOG/apt.log" 2>&1
snapshot() { in_root find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /var/cache \
  -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /var/log -o -path /root \) -prune -o -print | sort; }
# Everything present now stays: mark it manual, so that autoremove takes only what the package pulled in.
in_root sh -c "dpkg-query -W -f='\${Package}\n' | xargs apt-mark manual" >/dev/null
snapshot >"$LOG/files-before.txt"
in_root dpkg-query -W -f='${Package}\n' | sort >"$LOG/packages-before.txt"
cp "$DEB" "$WORK/tmp/"
step "apt-get install ./$(basename "$DEB")"
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q "/tmp/$(basename "$DEB")" >>"$LOG/apt.log" 2>&1
in_root dpkg -s gmd-studio | grep -E '^(Status|Version)' | tee -a "$LOG/test-deb.log"
in_root dpkg -L gmd-studio >"$LOG/package-files.txt"
echo "$(wc -l <"$LOG/package-files.txt") paths in the package; $(( $(in_root dpkg-query -W -f='${Package}\n' | wc -l) - $(wc -l <"$LOG/packages-before.txt") )) packages installed with it" | tee -a "$LOG/test-deb.log"
step "gmd --version; gmd info"
in_root gmd --version | tee -a "$LOG/test-deb.log"
in_root gmd info | tee -a "$LOG/test-deb.log"
step "gmd synth + gmd segment"
in_root gmd synth --out /tmp/cases --cases 1 --seed 5 --size small >>"$LOG/test-deb.log" 2>&1
in_root gmd segment --case /tmp/cases/SYN_5_000 --out /tmp/seg.nii.gz --report /tmp/seg.json 2>&1 | tail -n 5 | tee -a "$LOG/test-deb.log"
cp "$WORK/tmp/seg.json" "$LOG/"
step "gmd-studio --demo --screenshot (Xvfb)"
in_root xvfb-run -a -s "-screen 0 1440x900x24" gmd-studio --demo --screenshot /tmp/demo.png --size 1440x900 \
  2>&1 | tail -n 3 | tee -a "$LOG/test-deb.log"
cp "$WORK/tmp/demo.png" "$LOG/demo.png"
step "man pages, completion, desktop entry, MIME type"
for f in /usr/share/man/man1/gmd.1.gz /usr/share/man/man1/gmd-studio.1.gz /usr/share/bash-completion/completions/gmd \
         /usr/share/applications/gmd-studio.desktop /usr/share/mime/packages/gmd-studio.xml \
         /usr/share/icons/hicolor/scalable/apps/gmd-studio.svg /usr/share/doc/gmd-studio/copyright; do
  [ -f "$WORK$f" ] && echo "ok $f" | tee -a "$LOG/test-deb.log" || { echo "MISSING $f" | tee -a "$LOG/test-deb.log"; exit 1; }
done
# shared-mime-info's trigger has compiled our type into the database (the apt default installs shared-mime-info).
if ! grep -E 'image/x-nifti' "$WORK/usr/share/mime/globs2" | tee -a "$LOG/test-deb.log"; then
  echo "MIME type image/x-nifti is not in the MIME database" | tee -a "$LOG/test-deb.log"; exit 1
fi
step "apt-get purge gmd-studio; apt-get autoremove --purge"
DEBIAN_FRONTEND=noninteractive in_root apt-get purge -y -q gmd-studio >>"$LOG/apt.log" 2>&1
# Every package the install pulled in goes too (Recommends included: they were installed because of ours).
DEBIAN_FRONTEND=noninteractive in_root apt-get autoremove --purge -y -q -o APT::AutoRemove::RecommendsImportant=false \
  -o APT::AutoRemove::SuggestsImportant=false >>"$LOG/apt.log" 2>&1
snapshot >"$LOG/files-after.txt"
in_root dpkg-query -W -f='${Package}\n' | sort >"$LOG/packages-after.txt"
fail=0
if in_root dpkg -s gmd-studio >/dev/null 2>&1; then echo "dpkg still knows gmd-studio" | tee -a "$LOG/test-deb.log"; fail=1; fi
# None of the package's files or folders (shared system folders such as /usr/share/man/man1 excepted).
while read -r f; do
  [ -e "$WORK$f" ] || continue
  grep -qx -- "$f" "$LOG/files-before.txt" && continue
  echo "left behind: $f" | tee -a "$LOG/test-deb.log"; fail=1
done <"$LOG/package-files.txt"
if ! diff "$LOG/packages-before.txt" "$LOG/packages-after.txt" >"$LOG/packages-left.diff"; then
  echo "packages not removed again:" | tee -a "$LOG/test-deb.log"; cat "$LOG/packages-left.diff" | tee -a "$LOG/test-deb.log"; fail=1
fi
if grep -i -E 'gmd' <(diff "$LOG/files-before.txt" "$LOG/files-after.txt") | tee -a "$LOG/test-deb.log"; then fail=1; fi
diff "$LOG/files-before.txt" "$LOG/files-after.txt" >"$LOG/files-left.diff" || true
step "after purge: gmd-studio unknown to dpkg, none of its $(wc -l <"$LOG/package-files.txt") paths left, the same" \
  "$(wc -l <"$LOG/packages-after.txt") packages as before; $(grep -c '^>' "$LOG/files-left.diff") other paths differ" \
  "(files-left.diff: written by dependencies' maintainer scripts, not by gmd-studio)"
[ "$fail" -eq 0 ] || exit 1
step "test-deb: passed"
