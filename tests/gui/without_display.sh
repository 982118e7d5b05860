#!/usr/bin/env bash
# gmd-studio with no X server and no Wayland (CTest gui_cli_without_display): --help and --version print and exit 0,
# --screenshot writes a PNG, and an interactive start exits 2 with one line (it used to abort in Qt's xcb plugin).
set -u
S=$1 O=$2 GMD=$3
D=$(dirname "$O")/no-display-case
nd() { env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM -u GMD_STUDIO_IN_XVFB "$@"; }
rm -f "$O"
h=$(nd "$S" --help) || { echo "--help failed: exit $?"; exit 1; }
grep -q -- '--screenshot' <<<"$h" || { echo "--help printed: $h"; exit 1; }
nd "$S" --version | grep -q 'GMD Studio' || { echo '--version failed'; exit 1; }
m=$(nd "$S" 2>&1); rc=$?
[ "$rc" -eq 2 ] || { echo "no display: exit $rc, expected 2: $m"; exit 1; }
grep -q 'no display' <<<"$m" || { echo "message: $m"; exit 1; }
[ "$(grep -c . <<<"$m" | tr -d ' ')" -le 2 ] || { echo "more than a line: $m"; exit 1; }
rm -rf "$D" && "$GMD" synth --out "$D" --cases 1 --size tiny --seed 5 >/dev/null || { echo 'gmd synth failed'; exit 1; }
nd "$S" "$D/SYN_5_000" --screenshot "$O" --size 800x600 || { echo "--screenshot failed: exit $?"; exit 1; }
[ -s "$O" ] || { echo 'no screenshot written'; exit 1; }
echo ok
