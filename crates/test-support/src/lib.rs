//! The end-to-end tests' harness, in one place for every crate that drives a real desktop: a
//! private X display (Xvfb) and session bus per test, the real notification daemon
//! (python-dbusmock's, logging every call), the tray read and clicked over D-Bus as a desktop
//! shell does, a recording web browser, and the checks that make a missing tool fail in CI and
//! skip (saying why) elsewhere.

mod desktop;
mod tray;

pub use desktop::{click_notification, notification_daemon, record_browser, Desktop};
pub use tray::{MenuEntry, Tray};

pub mod tls;
pub mod webdriver;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a tool the test needs is here: in CI (`CI=true`) a missing one fails the test;
/// elsewhere the test says SKIPPED and why. `dbusmock` means python3-dbusmock.
pub fn require(tool: &str) -> bool {
    let found = if tool == "dbusmock" {
        Command::new("/usr/bin/python3")
            .args(["-c", "import dbusmock"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    } else {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !found {
        let msg = format!(
            "{tool} is not installed: run scripts/test.sh, which installs the desktop test packages"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// The test servers' Python (`scripts/setup.sh --test` installs PyPI's Radicale and the OpenAPI
/// validator in `$PRESENTLY_VENV`, else `~/.cache/presently-venv`), if `module` imports there:
/// missing, a failure in CI and SKIPPED with the reason elsewhere.
pub fn venv_python(module: &str) -> Option<std::path::PathBuf> {
    let venv = std::env::var("PRESENTLY_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/presently-venv")
        });
    let python = venv.join("bin/python");
    let found = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(python);
    }
    let msg = format!(
        "PyPI's {module} is not installed in {}: run scripts/setup.sh --test (scripts/test.sh does)",
        venv.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// Polls `f` every 100 ms until it gives a value, for at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `f` every 100 ms until it holds; panics, naming `what`, after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    if wait_for(limit, || f().then_some(())).is_none() {
        panic!("waited {limit:?} for {what}");
    }
}
