#!/usr/bin/env bash
# The Windows installer on a clean Wine prefix, as a person and as IT would use it:
#   1. builds it (scripts/package.sh --windows --debug) unless PRESENTLY_WINDOWS_SETUP names one;
#   2. installs it silently for one person: the programs in %LOCALAPPDATA%\Programs\Presently, the
#      Start menu entry, the Settings > Apps entry, start on login; the installed CLI runs and
#      keeps its store in %LOCALAPPDATA%\Presently; no WebView2 here, so the note saying where to
#      get it is written;
#   3. uninstalls it silently: everything it installed is gone, the person's data stays;
#   4. installs it for everyone (/AllUsers, /NoStartOnLogin): Program Files, the all-users Start
#      menu and Settings entry, no start-on-login entry; uninstalls it;
#   5. presently-server.exe as a Windows service: installed, started by the service manager,
#      answering /healthz with its database and log in %ProgramData%\Presently, stopped, removed.
# Each check says what it expected. The prefix is new each run and removed after.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
setup="${PRESENTLY_WINDOWS_SETUP:-}"
if [ -z "$setup" ]; then
  scripts/package.sh --windows --debug >/dev/null
  setup="$PWD/dist/presently-$version-x64-setup.exe"
fi
[ -f "$setup" ] || { echo "error: no installer at $setup" >&2; exit 1; }
server_exe="$(dirname "$setup")/presently-server-$version-x64.exe"
[ -f "$server_exe" ] || { echo "error: no $server_exe (scripts/package.sh --windows makes it)" >&2; exit 1; }

work="$(mktemp -d)"
export PRESENTLY_WINEPREFIX="$work/prefix"
export WINEPREFIX="$PRESENTLY_WINEPREFIX" WINEDEBUG=-all
# Its servers end with their programs: settle waits for that.
export PRESENTLY_WINE_LINGER=0
cleanup() { /usr/lib/wine/wineserver -k 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
run() { scripts/windows/wine-run.sh "$@"; }
# Waits for every program in this prefix (the uninstaller runs itself again from %TEMP%).
settle() { /usr/lib/wine/wineserver -w; }
fail() { echo "FAIL: $*" >&2; exit 1; }
reg_has() { run reg query "$1" /v "$2" 2>/dev/null | grep -q "$2"; }

echo "==> A clean Wine prefix (Windows as shipped: no WebView2 Runtime)"
run cmd /c exit 0 2>/dev/null
settle
user="$(id -un)"
home="$WINEPREFIX/drive_c/users/$user"
programs="$home/AppData/Local/Programs/Presently"
data="$home/AppData/Local/Presently"
start_menu="$home/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Presently.lnk"
uninstall_key='HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\Presently'
run_key='HKCU\Software\Microsoft\Windows\CurrentVersion\Run'
app_id='HKCU\Software\Classes\AppUserModelId\app.presently.desktop'

echo "==> Installing for one person, silently: $(basename "$setup") /S"
cp "$setup" "$work/setup.exe"
run "$work/setup.exe" /S
settle
for f in presently.exe presently-cli.exe WebView2Loader.dll presently.ico uninstall.exe; do
  [ -f "$programs/$f" ] || fail "$f is not in %LOCALAPPDATA%\\Programs\\Presently"
done
[ -f "$start_menu" ] || fail "no Start menu entry at $start_menu"
reg_has "$uninstall_key" DisplayVersion || fail "no Settings > Apps entry ($uninstall_key)"
run reg query "$uninstall_key" /v DisplayVersion | grep -q "$version" || fail "the Settings > Apps entry does not say version $version"
run reg query "$run_key" /v Presently | grep -q -- "--autostart" || fail "no start-on-login entry (Run\\Presently with --autostart)"
reg_has "$app_id" DisplayName || fail "the app id toasts are shown under is not registered ($app_id)"
grep -q "developer.microsoft.com/microsoft-edge/webview2" "$programs/WEBVIEW2-MISSING.txt" 2>/dev/null \
  || fail "WebView2 is missing here and the installer did not say where to get it"
echo "    programs, Start menu, Settings > Apps, start on login, the toasts' app id, the WebView2 note: all there"

echo "==> The installed CLI runs, with its store in %LOCALAPPDATA%\\Presently"
said="$(run "C:\\users\\$user\\AppData\\Local\\Programs\\Presently\\presently-cli.exe" status 2>&1 || true)"
echo "$said" | grep -q "not signed in" || fail "presently-cli.exe status said: $said"
[ -f "$data/client.db" ] || fail "the CLI's store is not in %LOCALAPPDATA%\\Presently ($data/client.db)"
settle

echo "==> Uninstalling silently: uninstall.exe /S"
run "$programs/uninstall.exe" /S
settle
[ ! -e "$programs" ] || fail "the program folder is still there: $(ls "$programs")"
[ ! -e "$start_menu" ] || fail "the Start menu entry is still there"
! reg_has "$uninstall_key" DisplayVersion || fail "the Settings > Apps entry is still there"
! reg_has "$run_key" Presently || fail "the start-on-login entry is still there"
! reg_has "$app_id" DisplayName || fail "the toasts' app id is still registered"
[ -f "$data/client.db" ] || fail "the uninstaller removed the person's data ($data)"
echo "    all gone but the person's data"

echo "==> Installing for everyone, silently, without start on login: /S /AllUsers /NoStartOnLogin"
run "$work/setup.exe" /S /AllUsers /NoStartOnLogin
settle
machine="$WINEPREFIX/drive_c/Program Files/Presently"
[ -f "$machine/presently.exe" ] || fail "presently.exe is not in Program Files"
[ -f "$WINEPREFIX/drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs/Presently.lnk" ] \
  || fail "no all-users Start menu entry"
reg_has 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Presently' DisplayVersion \
  || fail "no all-users Settings > Apps entry"
! reg_has "$run_key" Presently || fail "a start-on-login entry was written despite /NoStartOnLogin"
run "$machine/uninstall.exe" /S /AllUsers
settle
[ ! -e "$machine" ] || fail "Program Files\\Presently is still there"
! reg_has 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Presently' DisplayVersion \
  || fail "the all-users Settings > Apps entry is still there"

echo "==> presently-server.exe as a Windows service"
# Services end with the Wine session: a new session, kept up while the service runs.
/usr/lib/wine/wineserver -k 2>/dev/null || true
/usr/lib/wine/wineserver -w
/usr/lib/wine/wineserver -p
mkdir -p "$WINEPREFIX/drive_c/Program Files/Presently Server"
cp "$server_exe" "$WINEPREFIX/drive_c/Program Files/Presently Server/presently-server.exe"
server='C:\Program Files\Presently Server\presently-server.exe'
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
said="$(run "$server" --listen "127.0.0.1:$port" service install)"
echo "$said" | grep -q "installed the Windows service" || fail "service install said: $said"
run sc start PresentlyServer >/dev/null
healthy=""
for _ in $(seq 1 60); do
  if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then healthy=1; break; fi
  sleep 0.5
done
[ -n "$healthy" ] || fail "the service does not answer /healthz on 127.0.0.1:$port"
service_data="$WINEPREFIX/drive_c/ProgramData/Presently"
[ -f "$service_data/server.db" ] || fail "the service's database is not in %ProgramData%\\Presently"
grep -q "listening" "$service_data/server.log" || fail "the service's log is not in %ProgramData%\\Presently\\server.log"
run sc stop PresentlyServer >/dev/null
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || break
  sleep 0.5
done
! curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "the service still answers after sc stop"
said="$(run "$server" service uninstall)"
echo "$said" | grep -q "removed the Windows service" || fail "service uninstall said: $said"
! run sc query PresentlyServer 2>/dev/null | grep -q PresentlyServer || fail "the service is still registered"
[ -f "$service_data/server.db" ] || fail "removing the service removed its database"
echo "    installed, started, answering, stopped and removed; its database and log stay"
echo "==> The Windows installer and the server's service: all checked"
