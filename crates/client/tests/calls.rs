//! On a call, automatically, with a real sound server: a private PulseAudio (a null microphone
//! and a null speaker) and the real `presently-cli run`. `parecord` stands in for the calling
//! application: named `zoom` and recording the microphone, the person is On a call for
//! teammates and back when it stops; recording desktop audio (a monitor), or an application not
//! on the list recording the microphone, changes nothing.
#![cfg(target_os = "linux")]

mod support;

use presence::StatusId;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

/// A private PulseAudio in its own runtime directory, gone when dropped.
struct SoundServer {
    runtime: tempfile::TempDir,
    daemon: Child,
}

impl SoundServer {
    fn start() -> SoundServer {
        let runtime = tempfile::tempdir().unwrap();
        let mut perms = std::fs::metadata(runtime.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
        std::fs::set_permissions(runtime.path(), perms).unwrap();
        let daemon = Command::new("pulseaudio")
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "-n",
                "--load=module-native-protocol-unix",
                "--load=module-null-source source_name=mic",
                "--load=module-null-sink sink_name=speakers",
            ])
            .env("XDG_RUNTIME_DIR", runtime.path())
            .env("HOME", runtime.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pulseaudio starts");
        let s = SoundServer { runtime, daemon };
        wait_until(Duration::from_secs(10), "the sound server", || {
            s.command("pactl")
                .arg("info")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|st| st.success())
        });
        s
    }

    fn runtime(&self) -> String {
        self.runtime.path().display().to_string()
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("HOME", self.runtime.path());
        c
    }

    /// An application named `app` recording from `source` until dropped.
    fn record(&self, app: &str, source: &str) -> Recording {
        let child = self
            .command("parecord")
            .args(["-d", source, "--client-name", app, "/dev/null"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("parecord starts");
        Recording(child)
    }
}

impl Drop for SoundServer {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

struct Recording(Child);

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calling_application_on_the_microphone_is_on_a_call_while_it_lasts() {
    if !(require("pulseaudio") && require("pactl") && require("parecord")) {
        return;
    }
    let sound = SoundServer::start();
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_path(dir.path(), "laptop");
    login(&store, &server.url(), "bea@one.test", "laptop");
    let env = [("XDG_RUNTIME_DIR", sound.runtime())];
    let app = run(
        &store,
        &env,
        &[
            "--no-notifications",
            "--no-auto-away",
            "--call-apps",
            "zoom,teams",
            "--call-every",
            "200ms",
        ],
    );
    app.wait_for("online", |l| l.contains("\"online\"")).await;
    let status = || async { server.seen(&server.bea).await.status.status };
    eventually("available", || async {
        status().await == StatusId::AVAILABLE
    })
    .await;

    // Recording desktop audio, or an application not on the list on the microphone: no call.
    for (name, source) in [("zoom", "speakers.monitor"), ("audacity", "mic")] {
        let recording = sound.record(name, source);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(status().await, StatusId::AVAILABLE, "{name} on {source}");
        drop(recording);
    }

    // The calling application on the microphone: On a call for teammates while it lasts.
    let call = sound.record("zoom", "mic");
    eventually("on a call", || async {
        status().await == StatusId::ON_A_CALL
    })
    .await;
    app.wait_for("the application named", |l| {
        l.contains("\"in_call\"") && l.contains("zoom")
    })
    .await;
    drop(call);
    eventually("available after the call", || async {
        status().await == StatusId::AVAILABLE
    })
    .await;
    drop(app);
}
