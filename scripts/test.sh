#!/usr/bin/env bash
# Runs every test: formatting and lints, the Rust tests (engine rules and properties, and the
# real app under Xvfb with its tray read over D-Bus), the UI's type check and Vitest, and the
# packages installed on a clean Debian 12 root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> Rust tests (workspace)"
cargo test --workspace
echo "==> UI type check"
npm --prefix ui run check
echo "==> UI tests (Vitest)"
npm --prefix ui test
echo "==> The packages on a clean Debian 12 root (scripts/install-test.sh)"
scripts/install-test.sh
echo "==> All tests passed"
