#!/usr/bin/env bash
# Runs every test: formatting and lints, the Rust tests (engine rules and properties, and the
# real app under Xvfb with its tray read over D-Bus), the Windows builds (clippy; the engine's
# and the client core's tests, the CLI and the server with Linux ones, and the installer, under
# Wine), macOS type-checked (clippy with zig), the UI's type check and Vitest, and the packages
# installed on a clean Debian 12 root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> Windows: cargo clippy -D warnings for x86_64-pc-windows-gnu (the Windows-only code included)"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/scripts/windows/wine-run.sh"
cargo clippy --target x86_64-pc-windows-gnu --workspace --all-targets -- -D warnings
echo "==> Windows: the engine, protocol and clock tests built for Windows and run under Wine"
cargo test --target x86_64-pc-windows-gnu -p presence -p protocol -p clock
echo "==> Windows: the client core's tests (store, outbox, sync and resume against a real server, TLS with a company CA, the center, idle, lock and microphone) under Wine"
cargo test --target x86_64-pc-windows-gnu -p client --lib --test sync --test silent_server --test tls
echo "==> Windows: the server's unit tests (database paths with a drive letter, secrets, timers) under Wine"
cargo test --target x86_64-pc-windows-gnu -p server --lib
echo "==> Windows: presently.exe, presently-cli.exe, presently-server.exe and the installer (scripts/package.sh --windows --debug)"
scripts/package.sh --windows --debug
echo "==> Windows: the installer installed and uninstalled on a new Wine prefix (scripts/windows/installer-test.sh)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
PRESENTLY_WINDOWS_SETUP="$PWD/dist/presently-$version-x64-setup.exe" scripts/windows/installer-test.sh
echo "==> macOS: the workspace type-checked with clippy for aarch64-apple-darwin (scripts/macos/check.sh)"
scripts/macos/check.sh
# presently-cli.exe and presently-server.exe with Linux ones: crates/client/tests/windows.rs.
export PRESENTLY_WINDOWS_CLI="$CARGO_TARGET_DIR/x86_64-pc-windows-gnu/debug/presently-cli.exe"
export PRESENTLY_WINDOWS_SERVER="$CARGO_TARGET_DIR/x86_64-pc-windows-gnu/debug/presently-server.exe"
echo "==> Rust tests (workspace)"
cargo test --workspace
echo "==> UI type check"
npm --prefix ui run check
echo "==> UI tests (Vitest)"
npm --prefix ui test
echo "==> The packages on a clean Debian 12 root (scripts/install-test.sh)"
scripts/install-test.sh
echo "==> All tests passed"
