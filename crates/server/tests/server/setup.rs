//! A new server set up as its administrator would from the package: a config file, `admin init`
//! for the first organisation, team and administrator, then the server itself, whose
//! `GET /version` says what it speaks and which app release it publishes. The administrator
//! signs in with the code `admin init` printed.

use serde_json::{json, Value};
use std::process::Command;

const SERVER: &str = env!("CARGO_BIN_EXE_presently-server");

fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// A `presently-server` serving from a config file, killed when dropped.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn admin(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(SERVER)
        .arg("--config")
        .arg(config)
        .arg("admin")
        .args(args)
        .env_remove("PRESENTLY_PASSWORD")
        .env_remove("DATABASE_URL")
        .output()
        .expect("presently-server runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_init_sets_up_a_new_server_and_the_administrator_signs_in_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let config = dir.path().join("presently.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"{addr}\"\n\
             database_url = \"sqlite://{}/server.db\"\n\
             public_url = \"https://presently.example.test/\"\n\
             [app]\n\
             latest_version = \"9.9.9\"\n\
             download_url = \"https://presently.example.test/download\"\n\
             notes = \"Faster sign-in.\"\n",
            dir.path().display()
        ),
    )
    .unwrap();

    let init = [
        "init",
        "--org",
        "Acme",
        "--email",
        "ada@acme.test",
        "--name",
        "Ada Admin",
    ];
    let out = admin(&config, &init);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "admin init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Where to go next, at the public address (its trailing slash dropped), and the code.
    assert!(
        text.contains("https://presently.example.test/admin/#/join/pc_"),
        "{text}"
    );
    assert!(
        text.contains("presently-server admin invite --org \"Acme\" --team "),
        "{text}"
    );
    let code = text
        .split_whitespace()
        .find(|w| w.starts_with("pc_"))
        .expect("a one-time code is printed")
        .to_string();

    // A second init changes nothing and says what to do instead.
    let again = admin(&config, &init);
    assert!(!again.status.success());
    let why = String::from_utf8_lossy(&again.stderr);
    assert!(
        why.contains("set up already") && why.contains("admin invite"),
        "{why}"
    );

    // A listing read by something that stops early (`admin list | head -1`): the command ends
    // quietly, not in a panic. (The reading end is closed before the listing is written.)
    let mut listing = Command::new(SERVER)
        .arg("--config")
        .arg(&config)
        .args(["admin", "list"])
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("presently-server runs");
    drop(listing.stdout.take());
    let ended = listing.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&ended.stderr);
    assert!(
        ended.status.success() && !said.contains("panicked"),
        "{:?}: {said}",
        ended.status
    );

    let server = Serving(
        Command::new(SERVER)
            .arg("--config")
            .arg(&config)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the server starts"),
    );
    let http = reqwest::Client::new();
    let base = format!("http://{addr}/api/v1");
    let mut version = Value::Null;
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{base}/version")).send().await {
            version = r.json().await.unwrap_or(Value::Null);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(version["server"], env!("CARGO_PKG_VERSION"), "{version}");
    assert_eq!(version["protocol"], protocol::PROTOCOL_VERSION);
    assert_eq!(version["min_protocol"], protocol::MIN_PROTOCOL_VERSION);
    assert_eq!(
        version["app"],
        json!({"version": "9.9.9", "url": "https://presently.example.test/download", "notes": "Faster sign-in."})
    );

    // The administrator sets a password with the code and is an administrator of Acme, in
    // its first team.
    let r = http
        .post(format!("{base}/sessions/code"))
        .json(
            &json!({"code": code, "password": "a good password", "name": null, "device": "laptop"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let signed: Value = r.json().await.unwrap();
    assert_eq!(signed["role"], "admin", "{signed}");
    let me: Value = http
        .get(format!("{base}/me"))
        .bearer_auth(signed["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["org"]["name"], "Acme");
    assert_eq!(me["name"], "Ada Admin");
    assert_eq!(me["teams"][0]["name"], "Acme", "{me}");
    drop(server);
}

#[test]
fn a_bad_app_release_in_the_config_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("presently.toml");
    std::fs::write(
        &config,
        "[app]\nlatest_version = \"soon\"\ndownload_url = \"https://example.test\"\n",
    )
    .unwrap();
    let out = admin(&config, &["list"]);
    assert!(!out.status.success());
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(
        why.contains("latest_version \"soon\" is not a version"),
        "{why}"
    );
}
