#!/usr/bin/env bash
# Type-checks every crate of the workspace for macOS (aarch64-apple-darwin), the app and its
# macOS-only code included, with clippy -D warnings: nothing is linked or run (that needs Apple's
# SDK and a Mac). Zig (PyPI's `ziglang`) compiles the C the build scripts make (ring, SQLite) for
# macOS, through cargo-zigbuild; DOCS_RS=1 makes the two build scripts that compile
# Objective-C (notify-rust's mac-notification-sys, objc2-exception-helper) skip it, as on docs.rs.
# Installs what is missing: Rust's target, ziglang in ~/.cache/presently-venv, cargo-zigbuild.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"
target=aarch64-apple-darwin
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  echo "==> Adding Rust's macOS target ($target)"
  rustup target add "$target"
fi
venv="$HOME/.cache/presently-venv"
[ -x "$venv/bin/python3" ] || python3 -m venv "$venv"
if ! "$venv/bin/python3" -c "import ziglang" 2>/dev/null; then
  echo "==> Installing zig (PyPI's ziglang) in $venv"
  "$venv/bin/pip" install -q ziglang
fi
if ! command -v cargo-zigbuild >/dev/null; then
  echo "==> Installing cargo-zigbuild (cargo install, about two minutes)"
  cargo install --locked cargo-zigbuild
fi
# cargo-zigbuild finds zig as `python3 -m ziglang`.
export PATH="$venv/bin:$PATH" DOCS_RS=1
echo "==> macOS: cargo clippy -D warnings for $target (type-checked only: nothing links here)"
cargo-zigbuild clippy --target "$target" --workspace --all-targets -- -D warnings
