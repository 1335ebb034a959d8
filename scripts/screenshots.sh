#!/usr/bin/env bash
# Retakes the README's screenshots (docs/screenshots/) of the real app on the demo server, under
# a private Xvfb display and D-Bus session: see scripts/screenshots.py for what each one shows.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/presently-target}"
echo "==> Building the server and the app"
cargo build -p server --bin presently-server
cargo build --bin presently
echo "==> Taking screenshots under Xvfb (about a minute: it waits for a demo notification)"
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- /usr/bin/python3 scripts/screenshots.py
echo "==> The window and the quick panel at 200 %"
PRESENTLY_SHOT_SCALE=2 xvfb-run -a -s "-screen 0 2560x1700x24" dbus-run-session -- /usr/bin/python3 scripts/screenshots.py
echo "==> The web admin console in Chromium (the console's end-to-end test, saving its pages)"
PRESENTLY_SCREENSHOTS="$PWD/docs/screenshots" cargo test -p client --test console -- --nocapture
echo "==> The first-run sign-in screen (the first-run end-to-end test, saving it)"
PRESENTLY_SCREENSHOTS="$PWD/docs/screenshots" cargo test -p presently --test first_run -- --nocapture
echo "==> The person's settings filled in (the settings end-to-end test, saving them)"
PRESENTLY_SCREENSHOTS="$PWD/docs/screenshots" cargo test -p presently --test settings -- --nocapture
convert docs/screenshots/first-run.png -crop 1100x560+0+0 +repage docs/screenshots/first-run.png
