#!/usr/bin/env bash
# Builds Presently's packages into dist/:
#   - the desktop app, .deb and .rpm, with Tauri's bundler (the @tauri-apps/cli pinned in ui/):
#     binary, desktop entry, icons at every size, the autostart entry, dependencies
#   - the server, .deb: binary, systemd unit (own user, hardened), /etc/presently/presently.toml,
#     state in /var/lib/presently
#   - the server's OCI image with --image (podman): packaging/server/Containerfile's `prebuilt`
#     target on this binary; the base image is $PRESENTLY_IMAGE_RUNTIME (default: distroless)
#   - with --windows, instead: the Windows builds (mingw-w64, offline): the app's installer
#     (packaging/windows/presently.nsi, made with NSIS: presently.exe, presently-cli.exe and
#     WebView2Loader.dll, per person or per computer, Start menu, start on login, uninstaller),
#     and presently-server.exe and presently-cli.exe on their own
# Usage: scripts/package.sh [--debug] [--app] [--server] [--appimage] [--image] [--windows]
#   --debug      debug builds (quicker; what the install tests use)
#   --app        only the desktop app;  --server  only the server
#   --appimage   also try the AppImage (its bundler downloads tools from the internet)
#   --image      also build the server's image with podman
#   --windows    the Windows builds and installer only
# Safe to run again: each package is rebuilt from the current tree.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"

profile=release; app=1; server=1; appimage=0; image=0; windows=0
for arg in "$@"; do
  case "$arg" in
    --windows) windows=1 ;;
    --debug) profile=debug ;;
    --app) server=0 ;;
    --server) app=0 ;;
    --appimage) appimage=1 ;;
    --image) image=1 ;;
    *) echo "error: unknown option $arg (see the top of $0)" >&2; exit 2 ;;
  esac
done
cargo_profile=(); [ "$profile" = release ] && cargo_profile=(--release)
out="$PWD/dist"
mkdir -p "$out"

if [ "$windows" = 1 ]; then
  scripts/setup.sh --windows
  target=x86_64-pc-windows-gnu
  export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
  echo "==> Building for Windows ($target, $profile): presently.exe, presently-cli.exe, presently-server.exe"
  [ -f ui/dist/index.html ] || npm --prefix ui run build
  cargo build "${cargo_profile[@]}" --locked --target "$target" -p presently --bin presently \
    -p client --bin presently-cli -p server --bin presently-server
  built="$CARGO_TARGET_DIR/$target/$profile"
  stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' EXIT
  # webview2-com-sys's build script puts the loader beside the programs.
  [ -f "$built/WebView2Loader.dll" ] || { echo "error: $built/WebView2Loader.dll is missing (webview2-com-sys's build copies it there)" >&2; exit 1; }
  cp "$built/WebView2Loader.dll" "$stage/WebView2Loader.dll"
  cp icons/icon.ico "$stage/presently.ico"
  for exe in presently presently-cli presently-server; do
    # Debug information out of the programs people download (it is most of a debug build).
    x86_64-w64-mingw32-strip -o "$stage/$exe.exe" "$built/$exe.exe"
  done
  setup="$out/presently-$version-x64-setup.exe"
  echo "==> Making the installer with NSIS (packaging/windows/presently.nsi)"
  nsis_args=(-V2 -DVERSION="$version" -DSOURCE="$stage" -DOUTFILE="$setup" -DICON="$PWD/icons/icon.ico")
  [ "$profile" = debug ] && nsis_args+=(-DFAST)
  makensis "${nsis_args[@]}" packaging/windows/presently.nsi
  cp "$stage/presently-server.exe" "$out/presently-server-$version-x64.exe"
  cp "$stage/presently-cli.exe" "$out/presently-cli-$version-x64.exe"
  echo "==> Windows builds in dist/:"
  ls -l "$setup" "$out/presently-server-$version-x64.exe" "$out/presently-cli-$version-x64.exe"
  exit 0
fi
scripts/setup.sh
for tool in dpkg-deb strip; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install dpkg binutils)" >&2; exit 1; }
done
arch="$(dpkg --print-architecture)"

if [ "$app" = 1 ]; then
  bundles=deb,rpm
  [ "$appimage" = 1 ] && bundles="$bundles,appimage"
  echo "==> Building the desktop app's packages ($bundles, $profile) with Tauri's bundler"
  tauri_args=(build --bundles "$bundles" --ci)
  [ "$profile" = debug ] && tauri_args+=(--debug)
  ui/node_modules/.bin/tauri "${tauri_args[@]}"
  bundle="$CARGO_TARGET_DIR/$profile/bundle"
  cp "$bundle"/deb/*.deb "$bundle"/rpm/*.rpm "$out"/
  if [ "$appimage" = 1 ]; then cp "$bundle"/appimage/*.AppImage "$out"/; fi
fi

if [ "$server" = 1 ]; then
  echo "==> Building the server ($profile)"
  # --workspace: the same features as the test build, so a warm cache is reused.
  cargo build "${cargo_profile[@]}" --locked --workspace --bin presently-server
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' crates/server/Cargo.toml | head -n1)"
  stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' EXIT
  root="$stage/presently-server"
  install -D -m 0755 "$CARGO_TARGET_DIR/$profile/presently-server" "$root/usr/bin/presently-server"
  [ "$profile" = release ] && strip "$root/usr/bin/presently-server"
  install -D -m 0644 packaging/server/presently-server.service "$root/lib/systemd/system/presently-server.service"
  install -D -m 0640 packaging/server/presently.toml "$root/etc/presently/presently.toml"
  doc="$root/usr/share/doc/presently-server"
  install -D -m 0644 README.md "$doc/README.md"
  for f in server admin cluster security protocol; do install -m 0644 "docs/$f.md" "$doc/$f.md"; done
  install -m 0644 CHANGELOG.md "$doc/CHANGELOG.md"
  printf 'Presently server\nLicense: MIT\n' > "$doc/copyright"
  install -d "$root/DEBIAN"
  install -m 0755 packaging/server/debian/postinst packaging/server/debian/prerm packaging/server/debian/postrm "$root/DEBIAN/"
  echo "/etc/presently/presently.toml" > "$root/DEBIAN/conffiles"
  size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
  cat > "$root/DEBIAN/control" <<EOF
Package: presently-server
Version: $version
Architecture: $arch
Maintainer: Presently <packages@presently.app>
Installed-Size: $size
Depends: libc6 (>= 2.34), libgcc-s1, adduser
Section: net
Priority: optional
Homepage: https://presently.app
Description: Presently presence server
 The server Presently's desktop apps sync with: presence over WebSocket, the
 missed-notification center, routing, the web admin console at /admin and its
 REST API. SQLite by default, PostgreSQL and several nodes with NATS optional.
 Runs as the presently system user under systemd (presently-server.service).
EOF
  deb="$out/presently-server_${version}_${arch}.deb"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
  echo "==> $deb"
  # The same binary for the image's `prebuilt` target.
  install -D -m 0755 "$root/usr/bin/presently-server" "$out/container/presently-server"
  mkdir -p "$out/container/state"
  if [ "$image" = 1 ]; then
    command -v podman >/dev/null || { echo "error: --image needs podman (apt-get install podman)" >&2; exit 1; }
    runtime="${PRESENTLY_IMAGE_RUNTIME:-gcr.io/distroless/cc-debian12:nonroot}"
    echo "==> Building the image presently-server:$version on $runtime (podman)"
    podman build --format docker -f packaging/server/Containerfile --target prebuilt \
      --build-arg RUNTIME="$runtime" -t "presently-server:$version" .
  fi
fi

echo "==> Packages in dist/:"
ls -l "$out"
