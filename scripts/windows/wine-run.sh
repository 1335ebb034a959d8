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
# One wineserver for a run of programs: started here, it stays PRESENTLY_WINE_LINGER seconds
# (30) after its last program ends, not Wine's 3, so the next test binary does not reach a
# server that is shutting down ("wine client error:0: recvmsg: Connection reset by peer", seen
# once on a fresh prefix). 0: Wine's own way (the installer test waits for its server to end).
linger="${PRESENTLY_WINE_LINGER:-30}"
if [ "$linger" != 0 ]; then /usr/lib/wine/wineserver "-p$linger" </dev/null >/dev/null 2>&1 || true; fi
exec "$WINE" "$@"
