#!/usr/bin/python3
"""Takes the README's screenshots of the real app on the demo server, as a person sees it.

Run through scripts/screenshots.sh, which builds the binaries and gives this a private X display
(Xvfb) and session bus. It starts `presently-server --demo` on a fresh SQLite file, drives the
real window through WebDriver (tauri-driver in front of WebKitWebDriver) and captures the screen
with ImageMagick's `import`:

  Every surface of the app, in the light theme and in the dark one (`-dark`), at 100 % and at
  200 % (`@2x`, PRESENTLY_SHOT_SCALE=2):

  docs/screenshots/window.png        Do not disturb, the team, a notification held as missed in the
                                     center
  docs/screenshots/status-menu.png   the status menu open under my face
  docs/screenshots/popover.png       the tray's quick panel
  docs/screenshots/directory.png     everyone in the organisation, searched for a team
  docs/screenshots/why.png           why the status is what it is, with each device
  docs/screenshots/settings.png      the settings page with its sections
  docs/screenshots/settings-calendar.png  the calendar a person follows (light, 100 % only)

Look at every picture before committing it.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/presently-target"))
APP = os.path.join(TARGET, "debug", "presently")
SERVER = os.path.join(TARGET, "debug", "presently-server")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "screenshots")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
# PRESENTLY_SHOT_SCALE=2: the app at 200 % (GDK_SCALE=2) on a larger screen, window and panel only.
SCALE = int(os.environ.get("PRESENTLY_SHOT_SCALE", "1"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def wait(what: str, f, timeout: float = 30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = f()
            if v:
                return v
        except (OSError, urllib.error.URLError, KeyError, TypeError):
            pass
        time.sleep(0.25)
    sys.exit(f"error: timed out waiting for {what}")


class Window:
    def __init__(self, base: str):
        self.base = base
        caps = {"capabilities": {"alwaysMatch": {"tauri:options": {"application": APP}}}}
        self.session = wait("a WebDriver session", lambda: http("POST", f"{base}/session", caps)["value"]["sessionId"])

    def call(self, method: str, path: str, body=None):
        return http(method, f"{self.base}/session/{self.session}{path}", body)["value"]

    def find_all(self, css: str):
        return [e[ELEMENT] for e in self.call("POST", "/elements", {"using": "css selector", "value": css})]

    def click(self, css: str):
        element = wait(css, lambda: (self.find_all(css) or [None])[0])
        self.call("POST", f"/element/{element}/click", {})

    def end(self):
        self.call("DELETE", "")


def shot(name: str):
    path = os.path.join(OUT, name)
    # The window opens at the screen's top left with no window manager: keep just the window.
    crop = f"{1100 * SCALE}x{800 * SCALE}+0+0"
    subprocess.run(["import", "-window", "root", "-crop", crop, "+repage", path], check=True)
    print(f"==> {os.path.relpath(path)}")


def panel_shot(name: str):
    """The quick panel's own window, found by its title."""
    path = os.path.join(OUT, name)
    ids = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Presently quick panel$"],
                         capture_output=True, text=True).stdout.split()
    if not ids:
        sys.exit("error: the quick panel is not shown")
    subprocess.run(["import", "-window", ids[0], path], check=True)
    print(f"==> {os.path.relpath(path)}")


class Shots:
    """The app's surfaces, taken one after another in the theme the window shows."""

    def __init__(self, w: Window):
        self.w = w

    def script(self, js: str, *args):
        return self.w.call("POST", "/execute/sync", {"script": js, "args": list(args)})

    def take(self, theme: str):
        w, sfx = self.w, ("-dark" if theme == "dark" else "") + (f"@{SCALE}x" if SCALE != 1 else "")
        self.script("window.scrollTo(0, 0);")
        time.sleep(1)
        shot(f"window{sfx}.png")
        w.click("button.avatar")
        time.sleep(1)
        shot(f"status-menu{sfx}.png")
        w.click("button.avatar")
        # The tray's quick panel, opened as its menu entry does.
        self.script("window.__TAURI_INTERNALS__.invoke('open_popover'); return 1;")
        time.sleep(2)
        panel_shot(f"popover{sfx}.png")
        self.script("window.__TAURI_INTERNALS__.invoke('close_popover'); return 1;")
        # Everyone in the organisation, searched for a team.
        w.click('[data-testid="tab-directory"]')
        box = wait("the directory", lambda: (w.find_all('[data-testid="directory-search"]') or [None])[0])
        w.call("POST", f"/element/{box}/value", {"text": "product"})
        w.click('.directory button[type="submit"]')
        wait("people in the directory", lambda: len(w.find_all('.directory [data-testid="person"]')) >= 4)
        time.sleep(1)
        shot(f"directory{sfx}.png")
        w.click('[data-testid="tab-team"]')
        # "Why am I shown as …?" opened (the app asks the server then), scrolled into view.
        w.click("#why-title")
        wait("the devices in the why panel", lambda: w.find_all('[data-testid="why-device"]'))
        self.script("document.getElementById('why-title').scrollIntoView({block: 'start'});")
        time.sleep(1)
        shot(f"why{sfx}.png")
        w.click("#why-title")
        self.script("window.scrollTo(0, 0);")
        w.click(".settings-button")
        time.sleep(1)
        shot(f"settings{sfx}.png")
        if theme == "light" and SCALE == 1:
            # The calendar a person follows: an ICS address, or a CalDAV account.
            self.script("document.getElementById('calendar-h').scrollIntoView({block: 'start'});")
            w.click('input[name="calendar-kind"][value="caldav"]')
            time.sleep(1)
            shot("settings-calendar.png")
            w.click('input[name="calendar-kind"][value="ics"]')
        w.click(".settings-button")


def main():
    home = tempfile.mkdtemp(prefix="presently-shots-")
    port, driver_port = free_port(), free_port()
    server = subprocess.Popen(
        [SERVER, "--demo", "--listen", f"127.0.0.1:{port}", "--database-url", f"sqlite://{home}/server.db"],
        stdout=subprocess.DEVNULL, stderr=open(f"{home}/server.log", "w"),
    )
    env = dict(os.environ, HOME=home, XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/config",
               NO_AT_BRIDGE="1", PRESENTLY_SERVER=f"http://127.0.0.1:{port}",
               PRESENTLY_EMAIL="demo@presently.local", PRESENTLY_PASSWORD="presently",
               PRESENTLY_STORE=f"{home}/client.db")
    if SCALE != 1:
        env["GDK_SCALE"] = str(SCALE)
    driver = subprocess.Popen(["tauri-driver", "--port", str(driver_port), "--native-port", str(free_port())],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait("the demo server", lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2))
        w = Window(f"http://127.0.0.1:{driver_port}")
        wait("the demo team in the panel", lambda: len(w.find_all('[data-testid="member"]')) >= 4)
        # Do not disturb for an hour, then wait for a demo notification to be held as missed.
        # (Do not disturb is behind the header's status message chip.)
        w.click(".message-chip")
        w.click(".dnd button:nth-of-type(2)")
        w.click(".message-chip")
        wait("a held notification", lambda: w.find_all('li.missed[data-testid="notification"]'), timeout=90)
        shots = Shots(w)
        shots.take("light")
        # The theme is the window's own setting (kept in this temporary home).
        w.click(".settings-button")
        w.click('select[aria-label="Theme"] option[value="dark"]')
        w.click(".settings-button")
        shots.take("dark")
        w.end()
    finally:
        driver.terminate()
        server.terminate()
        driver.wait()
        server.wait()


if __name__ == "__main__":
    main()
