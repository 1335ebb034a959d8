#!/usr/bin/env bash
# The server's container image (packaging/server/Containerfile) built and run with a real engine:
# Debian's docker.io (dockerd started here when none runs), the image's `prebuilt` target on a
# Debian 12 base made with debootstrap (no registry is needed), the server binary the build
# already made. Then: the health check reported healthy by the engine, an administrator made
# with `admin init` inside, the data on its volume surviving a restart and a new container.
#
#   sudo scripts/container-test.sh [path/to/presently-server]
#
# Not part of scripts/test.sh yet: it needs root, installs docker.io, and starts a daemon that
# changes the machine's firewall rules.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "the container test needs root (dockerd, debootstrap): run it with sudo" >&2
  exit 1
fi
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}/debug/presently-server}"
[ -x "$bin" ] || { echo "no server binary at $bin: cargo build -p server --bin presently-server" >&2; exit 1; }
if ! command -v dockerd >/dev/null; then
  echo "==> Installing docker.io (Debian's engine)"
  apt-get install -y --no-install-recommends docker.io >/dev/null
fi
D=/usr/bin/docker
work="$(mktemp -d)"
started=""
cleanup() {
  $D rm -f presently-test >/dev/null 2>&1 || true
  $D volume rm presently-test-data >/dev/null 2>&1 || true
  if [ -n "$started" ]; then kill "$started" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if ! $D info >/dev/null 2>&1; then
  echo "==> Starting dockerd (data in ~/.cache/presently-docker)"
  dockerd --data-root "$HOME/.cache/presently-docker" >"$work/dockerd.log" 2>&1 &
  started=$!
  for _ in $(seq 60); do $D info >/dev/null 2>&1 && break; sleep 1; done
  $D info >/dev/null 2>&1 || { echo "dockerd did not start:" >&2; tail -20 "$work/dockerd.log" >&2; exit 1; }
fi
if ! $D image inspect localhost/debian:bookworm-minbase >/dev/null 2>&1; then
  echo "==> A Debian 12 base image (debootstrap minbase, imported)"
  debootstrap --variant=minbase bookworm "$work/root" http://deb.debian.org/debian >/dev/null
  tar -C "$work/root" -c . | $D import - localhost/debian:bookworm-minbase >/dev/null
fi
echo "==> Building the image (Containerfile, target prebuilt)"
mkdir -p "$work/ctx/dist/container/state"
cp "$bin" "$work/ctx/dist/container/presently-server"
DOCKER_BUILDKIT=1 $D build -q -f packaging/server/Containerfile --target prebuilt \
  --build-arg RUNTIME=localhost/debian:bookworm-minbase -t presently-server:test "$work/ctx" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run() {
  $D run -d --name presently-test -p "127.0.0.1:$port:7878" -v presently-test-data:/var/lib/presently \
    --health-interval 2s presently-server:test >/dev/null
}
healthy() {
  for _ in $(seq 60); do
    [ "$($D inspect --format '{{.State.Health.Status}}' presently-test)" = healthy ] && return 0
    sleep 1
  done
  echo "the container never became healthy: $($D inspect --format '{{json .State.Health}}' presently-test)" >&2
  $D logs presently-test >&2
  exit 1
}
sign_in() {
  curl -sf -X POST "http://127.0.0.1:$port/api/v1/sessions" -H 'content-type: application/json' \
    -d "{\"email\":\"you@example.org\",\"password\":\"correct horse battery\",\"device\":\"$1\"}" | grep -q '"token"'
}
echo "==> Running it: the engine's health check, then admin init inside"
run
healthy
echo "    healthy: $($D inspect --format '{{.State.Health.Status}} ({{len .State.Health.Log}} checks)' presently-test)"
$D exec presently-test /usr/bin/presently-server admin init --org Example --email you@example.org \
  --name "Your Name" --password "correct horse battery" >/dev/null
sign_in first || { echo "the administrator cannot sign in" >&2; exit 1; }
echo "==> Restarted: the account is still there"
$D restart presently-test >/dev/null
healthy
sign_in second || { echo "the account did not survive a restart" >&2; exit 1; }
echo "==> A new container on the same volume: still there"
$D rm -f presently-test >/dev/null
run
healthy
sign_in third || { echo "the account did not survive a new container" >&2; exit 1; }
echo "==> The container test passed"
