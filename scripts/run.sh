#!/usr/bin/env bash
# Builds and opens Presently, connected to a local server in demo mode: the server runs on its
# embedded SQLite database (~/.local/share/presently/server.db) with a demo team of simulated
# teammates, and the app signs in as the demo user. Closing the window keeps the app in the tray;
# Quit in the tray menu ends the app, and this script then stops the server it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"
echo "==> Building the server and the app (the first build takes a few minutes)"
cargo build -p server --bin presently-server
cargo build --bin presently
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "error: no display. Run this in a desktop session, or under Xvfb: xvfb-run -a scripts/run.sh" >&2
  exit 1
fi

LISTEN="${PRESENTLY_LISTEN:-127.0.0.1:7878}"
server_pid=""
if curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1; then
  echo "==> A Presently server already answers on $LISTEN: using it"
else
  echo "==> Starting the local server in demo mode on $LISTEN (log: ${TMPDIR:-/tmp}/presently-server.log)"
  "$CARGO_TARGET_DIR/debug/presently-server" --demo --listen "$LISTEN" \
    >"${TMPDIR:-/tmp}/presently-server.log" 2>&1 &
  server_pid=$!
  trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1 && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "error: the server did not start; its log:" >&2
      cat "${TMPDIR:-/tmp}/presently-server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
fi

echo "==> Starting Presently, signed in to the demo team (demo@presently.local)"
PRESENTLY_SERVER="http://$LISTEN" \
PRESENTLY_EMAIL="${PRESENTLY_EMAIL:-demo@presently.local}" \
PRESENTLY_PASSWORD="${PRESENTLY_PASSWORD:-presently}" \
  "$CARGO_TARGET_DIR/debug/presently"
