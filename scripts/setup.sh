#!/usr/bin/env bash
# Installs what building and testing Presently needs, and only what is missing:
# Debian/Ubuntu packages (WebKitGTK, appindicator, Xvfb, D-Bus tools, ImageMagick; sway, run
# headless, for the Wayland idle test; mingw-w64, Wine and NSIS for the Windows build, its
# installer and its tests), Rust's Windows target, and the UI's npm packages. Safe to run again:
# it does nothing when everything is there.
# Usage: scripts/setup.sh [--test | --windows]
#   (none)     what building and running the app needs
#   --test     also what every test needs (the Windows part included)
#   --windows  also what building for Windows needs (scripts/package.sh --windows)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS=(build-essential pkg-config curl xdg-utils libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev libxss-dev libx11-dev)
WINDOWS_PKGS=(gcc-mingw-w64-x86-64 wine64 nsis)
# prometheus: the real scraper (and promtool, its parser) the metrics test runs.
TEST_PKGS=(xvfb xdotool dbus-x11 python3-dbusmock python3-venv imagemagick fonts-noto-color-emoji webkit2gtk-driver chromium chromium-driver debootstrap zstd faketime pulseaudio pulseaudio-utils sway prometheus "${WINDOWS_PKGS[@]}")

want=("${BUILD_PKGS[@]}")
windows=0
case "${1:-}" in
  "") ;;
  --test) want+=("${TEST_PKGS[@]}"); windows=1 ;;
  --windows) want+=("${WINDOWS_PKGS[@]}"); windows=1 ;;
  *) echo "error: unknown option $1 (scripts/setup.sh [--test | --windows])" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> Installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
else
  echo "==> System packages: all present"
fi

for tool in cargo npm; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed; install Rust (rustup.rs) and Node.js 20+ first" >&2; exit 1; }
done

# Windows: Rust's target for mingw (the build links with Debian's mingw-w64; the tests run under
# Wine through scripts/windows/wine-run.sh, which makes its prefix on first use).
if [ "$windows" = 1 ] && ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
  command -v rustup >/dev/null || { echo "error: the Windows tests need rustup (rustup.rs) to add the x86_64-pc-windows-gnu target" >&2; exit 1; }
  echo "==> Adding Rust's Windows target (x86_64-pc-windows-gnu)"
  rustup target add x86_64-pc-windows-gnu
fi

# WebDriver for the real window: tauri-driver in front of WebKitWebDriver (webkit2gtk-driver).
if [ "${1:-}" = "--test" ] && ! command -v tauri-driver >/dev/null; then
  echo "==> Installing tauri-driver (cargo install, about a minute)"
  cargo install tauri-driver --locked --quiet
fi

# Real servers the tests start, from PyPI (pinned), in their own virtual environment beside the
# build cache: a standard OpenAPI validator for the server's generated document, Radicale, the
# CalDAV server people's calendars are read from, and aiosmtpd, the SMTP relay invites are sent
# through.
if [ "${1:-}" = "--test" ]; then
  VENV="${PRESENTLY_VENV:-$HOME/.cache/presently-venv}"
  PYPI_PKGS=("openapi-spec-validator==0.7.1" "radicale==3.9.0" "aiosmtpd==1.4.6")
  if ! "$VENV/bin/openapi-spec-validator" --help >/dev/null 2>&1 \
    || ! "$VENV/bin/python" -c "import radicale, aiosmtpd" >/dev/null 2>&1; then
    echo "==> Installing ${PYPI_PKGS[*]} (PyPI) in $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PYPI_PKGS[@]}"
  else
    echo "==> Test servers from PyPI (OpenAPI validator, Radicale, aiosmtpd): present"
  fi
fi

# The OpenID provider the single sign-on test starts (npm's oidc-provider, pinned by its lockfile).
OIDC=crates/server/tests/server/oidc
if [ "${1:-}" = "--test" ]; then
  if [ ! -d "$OIDC/node_modules" ] || [ "$OIDC/package-lock.json" -nt "$OIDC/node_modules/.package-lock.json" ]; then
    echo "==> Installing the test OpenID provider (npm ci in $OIDC)"
    npm --prefix "$OIDC" ci --no-audit --no-fund
  else
    echo "==> Test OpenID provider (oidc-provider): present"
  fi
fi

if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "==> Installing the UI's npm packages (npm ci)"
  npm --prefix ui ci --no-audit --no-fund
else
  echo "==> UI npm packages: up to date"
fi

echo "==> Building the UI (ui/dist, embedded in the app)"
npm --prefix ui run build --silent
