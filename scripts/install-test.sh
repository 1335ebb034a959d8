#!/usr/bin/env bash
# The packages on a clean Debian 12, as a new user gets them:
#   1. builds the app's and the server's .deb (scripts/package.sh --debug),
#   2. makes a fresh Debian 12 root with debootstrap (minbase; the pristine root is cached as a
#      tarball in ~/.cache/presently-debootstrap, and every run starts from a fresh copy),
#   3. installs the app's .deb there with apt (which pulls WebKitGTK and the appindicator) and
#      runs tests/installed.rs: the installed binary, under Xvfb and a private session bus, shows
#      its tray over D-Bus and signs in to a real server,
#   4. installs the server's .deb: the presently user, the config and the unit are in place,
#      `admin init` sets up an organisation in /var/lib/presently as that user,
#   5. purges both and checks that nothing is left but the person's data (their home).
# Needs root (chroot, mounts). Elsewhere it says so and stops; in CI (CI=true) that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"

if [ "$(id -u)" -ne 0 ]; then
  msg="the install test needs root (debootstrap, chroot and mounts): run it with sudo"
  if [ "${CI:-}" = true ]; then echo "error: $msg" >&2; exit 1; fi
  echo "==> Install test skipped: $msg"
  exit 0
fi
for p in debootstrap zstd; do
  command -v "$p" >/dev/null || { echo "==> Installing $p"; apt-get install -y -qq "$p" >/dev/null; }
done

echo "==> Building the packages (debug)"
scripts/package.sh --debug >/dev/null
app_deb="$(ls -t dist/Presently_*_amd64.deb | head -n1)"
server_deb="$(ls -t dist/presently-server_*_amd64.deb | head -n1)"

cache="${PRESENTLY_DEBOOTSTRAP_CACHE:-$HOME/.cache/presently-debootstrap}"
pristine="$cache/bookworm-minbase.tar.zst"
mkdir -p "$cache/apt-archives/partial"
if [ ! -s "$pristine" ]; then
  echo "==> Making a clean Debian 12 root with debootstrap (once; cached in $cache)"
  fresh="$(mktemp -d)"
  debootstrap --variant=minbase bookworm "$fresh" http://deb.debian.org/debian >/dev/null
  # mktemp made it 0700; a root directory is 0755, or no other user can reach /usr/bin in it.
  chmod 0755 "$fresh"
  tar -C "$fresh" --zstd -cf "$pristine.tmp" . && mv "$pristine.tmp" "$pristine"
  rm -rf "$fresh"
fi

work="$(mktemp -d /var/tmp/presently-install.XXXXXX)"
root="$work/root"
mkdir "$root"
cleanup() {
  for m in tmp var/cache/apt/archives dev/shm dev/pts dev sys proc; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
  done
  rm -rf "$work"
}
trap cleanup EXIT
echo "==> A fresh copy of the clean root in $root"
tar -C "$root" --zstd -xf "$pristine"
chmod 0755 "$root" # (a cache made before the line above had its root at 0700)
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs tmpfs "$root/dev/shm"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
snapshot() {
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./var/cache/apt \
     -o -path ./var/lib/apt/lists -o -path ./var/log -o -path ./var/lib/dpkg -o -path ./home -o -path ./tmp \
     -o -path ./root -o -path ./etc/ld.so.cache -o -path ./var/cache/debconf -o -path ./var/cache/ldconfig \) -prune -o -print | sort)
}
in_root apt-get update -qq
# The packages' dependencies first (WebKitGTK, the appindicator, adduser), as apt would pull
# them: the snapshot taken then is what purging our packages must return the root to.
cp "$app_deb" "$root/tmp/presently.deb"
cp "$server_deb" "$root/tmp/presently-server.deb"
deps() { dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/(.*)//; s/ //g' | grep -v '^$'; }
echo "==> Installing the packages' dependencies in the clean root: $(deps "$app_deb" | tr '\n' ' ')$(deps "$server_deb" | tr '\n' ' ')"
in_root apt-get install -y -qq $(deps "$app_deb") $(deps "$server_deb") >/dev/null
before="$work/before.txt"; snapshot > "$before"

echo "==> apt-get install ./$(basename "$app_deb") in the clean root"
in_root apt-get install -y -qq /tmp/presently.deb >/dev/null
echo "==> The installed app: tray over D-Bus, sign-in to a real server (tests/installed.rs)"
# The test's session bus listens on a socket file in /tmp: the root sees the host's /tmp while
# the app runs (X11 is reached through Xvfb's abstract socket).
mount --bind /tmp "$root/tmp"
PRESENTLY_INSTALLED_ROOT="$root" cargo test -q -p presently --test installed -- --nocapture
umount "$root/tmp"

echo "==> apt-get install ./$(basename "$server_deb") in the same root"
in_root apt-get install -y -qq /tmp/presently-server.deb >/dev/null
in_root getent passwd presently >/dev/null || { echo "error: the presently system user was not made" >&2; exit 1; }
[ "$(in_root stat -c '%G %a' /etc/presently/presently.toml)" = "presently 640" ] \
  || { echo "error: /etc/presently/presently.toml is not group presently, mode 640" >&2; exit 1; }
[ -f "$root/lib/systemd/system/presently-server.service" ] || { echo "error: no systemd unit" >&2; exit 1; }
in_root install -d -o presently -g presently -m 0750 /var/lib/presently
init_out="$(in_root runuser -u presently -- /usr/bin/presently-server --config /etc/presently/presently.toml \
  admin init --org "Install test" --email admin@install.test --name "Admin")"
echo "$init_out" | grep -q "admin/#/join/pc_" || { echo "error: admin init printed no code: $init_out" >&2; exit 1; }
[ "$(in_root stat -c %U /var/lib/presently/server.db)" = presently ] \
  || { echo "error: the database is not the presently user's" >&2; exit 1; }
in_root /usr/bin/presently-server --version

echo "==> apt-get purge: nothing may be left but the person's data"
in_root apt-get purge -y -qq presently presently-server >/dev/null
after="$work/after.txt"; snapshot > "$after"
left="$(comm -13 "$before" "$after")"
if [ -n "$left" ]; then
  echo "error: files left after purging the packages:" >&2
  echo "$left" >&2
  exit 1
fi
in_root getent passwd presently >/dev/null && { echo "error: the presently user is still there after purge" >&2; exit 1; }
[ -f "$root/home/person/.local/share/presently/client.db" ] || { echo "error: the person's data went with the package" >&2; exit 1; }
echo "==> Install test passed: installed, ran, signed in, purged clean (the person's data kept)"
