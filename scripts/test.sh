#!/usr/bin/env bash
# Runs every test: formatting and lints, the Rust tests (engine rules and properties, and the
# real app under Xvfb with its tray read over D-Bus), the engine's tests again as a Windows
# build under Wine, the UI's type check and Vitest, and the
# packages installed on a clean Debian 12 root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> Windows: the engine, protocol and clock tests built for Windows and run under Wine"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/scripts/windows/wine-run.sh"
cargo test --target x86_64-pc-windows-gnu -p presence -p protocol -p clock
echo "==> Windows: presently-cli.exe (run under Wine against a Linux server by crates/client/tests/windows.rs)"
cargo build --target x86_64-pc-windows-gnu -p client --bin presently-cli
export PRESENTLY_WINDOWS_CLI="$CARGO_TARGET_DIR/x86_64-pc-windows-gnu/debug/presently-cli.exe"
echo "==> Rust tests (workspace)"
cargo test --workspace
echo "==> UI type check"
npm --prefix ui run check
echo "==> UI tests (Vitest)"
npm --prefix ui test
echo "==> The packages on a clean Debian 12 root (scripts/install-test.sh)"
scripts/install-test.sh
echo "==> All tests passed"
