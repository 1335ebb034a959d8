#!/usr/bin/env bash
# Builds and opens Presently: the window and its tray icon. Closing the window keeps it in the
# tray; Quit is in the tray menu.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"
echo "==> Building the app (first build takes a few minutes)"
cargo build --bin presently
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "error: no display. Run this in a desktop session, or under Xvfb: xvfb-run -a scripts/run.sh" >&2
  exit 1
fi
echo "==> Starting Presently"
exec "$CARGO_TARGET_DIR/debug/presently"
