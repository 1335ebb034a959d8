#!/usr/bin/env bash
# Runs a Windows program under Wine in Presently's own prefix: cargo's runner for the
# x86_64-pc-windows-gnu target (`CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER`), and by hand:
#   scripts/windows/wine-run.sh target/x86_64-pc-windows-gnu/debug/presently-cli.exe --help
# The prefix is made on first use (wineboot) with the ProcessPrng stand-in that Debian's Wine
# 8.0 lacks (see bcryptprimitives.c); console programs need no display.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export WINEPREFIX="${PRESENTLY_WINEPREFIX:-$HOME/.cache/presently-wine}"
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
WINE=/usr/lib/wine/wine64
[ -x "$WINE" ] || { echo "error: Wine is not installed (scripts/setup.sh --test installs wine64)" >&2; exit 1; }
dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$dll" ]; then
  echo "==> Making the Wine prefix $WINEPREFIX (once)" >&2
  "$WINE" wineboot --init >/dev/null 2>&1 || true
  /usr/lib/wine/wineserver -w 2>/dev/null || true
  x86_64-w64-mingw32-gcc -shared -O2 -o "$dll" "$here/bcryptprimitives.c" "$here/bcryptprimitives.def" -ladvapi32
fi
exec "$WINE" "$@"
