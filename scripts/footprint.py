#!/usr/bin/python3
"""Footprint benchmark (a program, not a test): the running app against a bare Tauri 2 window.

For each program, in a private Xvfb display and session bus:
- cold start: from launch to the tray menu on the bus (the app) or the window mapped (both);
- memory after N seconds idle: the sum of PSS over the process and every child (WebKit's web
  and network processes), from /proc/<pid>/smaps_rollup;
- CPU over M idle seconds: utime + stime of the same processes, as a share of one core.

The app runs connected to a local presently-server with one user and no activity (a quiet
team), as a person's app sits most of the day.

    cargo build --release -p server --bin presently-server
    cargo build --release -p bare-window -p presently
    scripts/footprint.py --target-dir ~/.cache/presently-target/release --settle 60 --idle 300
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def children(pid):
    out = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            for c in f.read().split():
                out += children(int(c))
    except OSError:
        pass
    return out


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_ticks(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
                total += int(rest[11]) + int(rest[12])
        except (OSError, IndexError):
            pass
    return total


def names(pids):
    out = []
    for p in pids:
        try:
            with open(f"/proc/{p}/comm") as f:
                out.append(f.read().strip())
        except OSError:
            pass
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tray_on_bus(address):
    """Whether some bus name exports the app's StatusNotifierItem menu. Each call has a short
    timeout: other names on a bare session bus (portals being activated) may not answer."""
    import dbus  # python3-dbus, a dependency of python3-dbusmock
    try:
        bus = dbus.bus.BusConnection(address)
        for name in bus.list_names():
            if not name.startswith(":"):
                continue
            try:
                xml = bus.call_blocking(name, "/org/ayatana/NotificationItem",
                                        "org.freedesktop.DBus.Introspectable", "Introspect",
                                        "", [], timeout=0.2)
            except dbus.DBusException:
                continue
            if "<node name=" in xml:
                return True
    except dbus.DBusException:
        return False
    return False


def window_mapped(env, title):
    r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"],
                       env=env, capture_output=True, text=True)
    return bool(r.stdout.strip())


def measure(label, argv, env, title, settle, idle, tray):
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = None
    mapped = None
    deadline = t0 + 60
    while time.monotonic() < deadline and (mapped is None or (tray and started is None)):
        if tray and started is None and tray_on_bus(env["DBUS_SESSION_BUS_ADDRESS"]):
            started = time.monotonic() - t0
        if mapped is None and window_mapped(env, title):
            mapped = time.monotonic() - t0
        time.sleep(0.02)
    time.sleep(settle)
    pids = children(proc.pid)
    pss = pss_kib(pids)
    c0 = cpu_ticks(pids)
    time.sleep(idle)
    pids = children(proc.pid)
    c1 = cpu_ticks(pids)
    procs = ", ".join(sorted(set(names(pids))))
    hz = os.sysconf("SC_CLK_TCK")
    cpu = (c1 - c0) / hz / idle * 100
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    return {
        "label": label, "tray": started, "window": mapped, "pss_mib": pss / 1024,
        "cpu": cpu, "procs": procs,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target-dir", default=os.path.expanduser("~/.cache/presently-target/release"))
    ap.add_argument("--settle", type=int, default=60, help="seconds idle before memory is read")
    ap.add_argument("--idle", type=int, default=300, help="seconds of idle CPU measured")
    ap.add_argument("--both-ways", action="store_true",
                    help="also measure the bare window drawing on the CPU like the app "
                         "(WEBKIT_DISABLE_COMPOSITING_MODE=1) and the app with WebKit's default "
                         "GL compositing (PRESENTLY_GPU=1)")
    args = ap.parse_args()
    for tool in ["Xvfb", "dbus-daemon", "gdbus", "xdotool"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/setup.sh --test")
    app = os.path.join(args.target_dir, "presently")
    bare = os.path.join(args.target_dir, "bare-window")
    server = os.path.join(args.target_dir, "presently-server")
    for b in [app, bare, server]:
        if not os.path.exists(b):
            sys.exit(f"{b} is missing: build it first (see the top of this file)")

    tmp = tempfile.mkdtemp(prefix="presently-footprint-")
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x900x24", "-noreset"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    display = ":" + xvfb.stdout.readline().strip()
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = bus.stdout.readline().strip()
    env = dict(os.environ, DISPLAY=display, DBUS_SESSION_BUS_ADDRESS=address, HOME=tmp,
               NO_AT_BRIDGE="1", XDG_DATA_HOME=os.path.join(tmp, "data"))

    db = f"sqlite://{tmp}/server.db"
    adm = lambda *a: subprocess.run([server, "--database-url", db, "admin", *a], env=env,
                                    capture_output=True, text=True, check=True).stdout.strip()
    org = adm("create-org", "--name", "Footprint")
    team = adm("create-team", "--org", org, "--name", "Team")
    adm("create-user", "--org", org, "--email", "f@example.test", "--name", "F", "--password",
        "footprint", "--team", team)
    port = free_port()
    srv = subprocess.Popen([server, "--database-url", db, "--listen", f"127.0.0.1:{port}"],
                           env=dict(env, RUST_LOG="warn"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    app_env = dict(env, PRESENTLY_SERVER=f"http://127.0.0.1:{port}", PRESENTLY_EMAIL="f@example.test",
                   PRESENTLY_PASSWORD="footprint", PRESENTLY_STORE=os.path.join(tmp, "client.db"))
    try:
        results = [
            measure("bare Tauri 2 window", [bare], env, "Bare window", args.settle, args.idle, False),
            measure("Presently (connected, idle)", [app], app_env, "Presently", args.settle, args.idle, True),
        ]
        if args.both_ways:
            results.append(measure("bare Tauri 2 window, CPU drawing", [bare],
                                   dict(env, WEBKIT_DISABLE_COMPOSITING_MODE="1"), "Bare window",
                                   args.settle, args.idle, False))
            results.append(measure("Presently, GL compositing (PRESENTLY_GPU=1)", [app],
                                   dict(app_env, PRESENTLY_GPU="1"), "Presently", args.settle,
                                   args.idle, True))
    finally:
        for p in [srv, bus, xvfb]:
            p.terminate()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"settle {args.settle} s, idle CPU over {args.idle} s")
    print("| program | cold start to tray menu on the bus s | to window mapped s | PSS MiB | idle CPU % of one core | processes |")
    print("|---|---|---|---|---|---|")
    for r in results:
        tray = f"{r['tray']:.2f}" if r["tray"] is not None else "—"
        win = f"{r['window']:.2f}" if r["window"] is not None else "—"
        print(f"| {r['label']} | {tray} | {win} | {r['pss_mib']:.1f} | {r['cpu']:.3f} | {r['procs']} |")
    ratio = results[1]["pss_mib"] / results[0]["pss_mib"] if results[0]["pss_mib"] else float("nan")
    print(f"memory ratio app / bare window: {ratio:.2f} (target under 1.3)")
    if args.both_ways:
        print(f"both drawing on the CPU, app / bare window: {results[1]['pss_mib'] / results[2]['pss_mib']:.2f}")
        print(f"both with GL compositing, app / bare window: {results[3]['pss_mib'] / results[0]['pss_mib']:.2f}")


if __name__ == "__main__":
    main()
