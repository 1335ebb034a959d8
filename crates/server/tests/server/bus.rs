//! The bus between nodes, attacked: a private `nats-server` started by the test with
//! authorization (a user for the nodes, one for an outsider) and TLS with client certificates.
//! Wrong or missing credentials are a clear start-up error that prints no secret; what an
//! outsider reads is sealed; what an outsider publishes (forged presence, a notification, a
//! disconnect, a stored state, a flood of reloads) or replays changes nothing anyone sees; a
//! flood of genuine reload requests costs a few reloads, not one each. Without PostgreSQL this
//! fails in CI and is skipped elsewhere, saying why.

use crate::support::*;
use futures_util::StreamExt;
use presence::{Change, DeviceActivity, DeviceId, StatusId};
use presently_server::db::Role;
use presently_server::envelope::{ClusterSecret, Sealer};
use presently_server::nats::{ClusterOptions, NatsAuth};
use protocol::{ClientMessage, ServerMessage};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use test_support::tls::{TestCa, Validity};

const SECRET: &str = "the private bus test's cluster secret";
const NODE_PASSWORD: &str = "node-Pa55word-not-to-be-printed";
const OUTSIDER_PASSWORD: &str = "outsider-password";

/// A `nats-server` of the test's own: TLS with verified client certificates, and two users.
struct PrivateNats {
    child: std::process::Child,
    url: String,
    dir: tempfile::TempDir,
    ca: PathBuf,
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_server() -> Option<PathBuf> {
    ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .or_else(|| {
            let message = "nats-server is not installed (Debian's nats-server package)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message}: it is required in CI");
            }
            eprintln!("SKIPPED: {message}");
            None
        })
}

impl PrivateNats {
    async fn start() -> Option<PrivateNats> {
        let bin = nats_server()?;
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new(dir.path(), "nats");
        let server = ca.issue(dir.path(), "server", &["127.0.0.1"], Validity::Current);
        for who in ["node", "outsider"] {
            ca.issue(dir.path(), who, &[who], Validity::Current);
        }
        let (child, port) = serve_nats(bin, dir.path(), |port| {
            format!(
                r#"listen: "127.0.0.1:{port}"
tls {{
  cert_file: "{cert}"
  key_file: "{key}"
  ca_file: "{ca}"
  verify: true
  timeout: 5
}}
authorization {{
  users = [
    {{ user: node, password: "{NODE_PASSWORD}",
       permissions: {{ publish: "presently.>", subscribe: ["presently.>", "_INBOX.>"] }} }}
    {{ user: outsider, password: "{OUTSIDER_PASSWORD}" }}
  ]
}}
"#,
                cert = server.cert_file.display(),
                key = server.key_file.display(),
                ca = ca.cert_file.display(),
            )
        })
        .await;
        Some(PrivateNats {
            child,
            url: format!("tls://127.0.0.1:{port}"),
            ca: ca.cert_file.clone(),
            dir,
        })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// How `who` signs in: its password, the CA and its client certificate.
    fn auth(&self, who: &str, password: Option<&str>) -> NatsAuth {
        NatsAuth {
            user: password.map(|_| who.to_string()),
            password: password.map(str::to_string),
            ca: Some(self.ca.clone()),
            cert: Some(self.file(&format!("{who}.pem"))),
            key: Some(self.file(&format!("{who}.key"))),
            ..NatsAuth::default()
        }
    }

    fn node_options(&self) -> ClusterOptions {
        ClusterOptions {
            auth: self.auth("node", Some(NODE_PASSWORD)),
            ..ClusterOptions::new(self.url.clone(), ClusterSecret::parse(SECRET).unwrap())
        }
    }

    /// An outsider's own client: it can reach NATS and every subject, but holds no secret.
    async fn outsider(&self) -> async_nats::Client {
        async_nats::ConnectOptions::new()
            .user_and_password("outsider".into(), OUTSIDER_PASSWORD.into())
            .add_root_certificates(self.ca.clone())
            .add_client_certificate(self.file("outsider.pem"), self.file("outsider.key"))
            .require_tls(true)
            .connect(&self.url)
            .await
            .expect("the outsider connects")
    }
}

async fn node(db: &str, options: &ClusterOptions) -> presently_server::Running {
    presently_server::start_node(db, "127.0.0.1:0".parse().unwrap(), None, Some(options))
        .await
        .expect("a node starts on the private NATS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_nats_credentials_are_a_clear_start_up_error_that_prints_no_secret() {
    let Some(nats) = PrivateNats::start().await else {
        return;
    };
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let secret = ClusterSecret::parse(SECRET).unwrap();
    let tries = [
        (
            "a wrong password",
            nats.auth("node", Some("a-wrong-Pa55word-never-printed")),
            "refused this node's credentials",
        ),
        (
            "no credentials",
            nats.auth("node", None),
            "refused this node's credentials",
        ),
        (
            "no CA to trust NATS's certificate",
            NatsAuth {
                ca: None,
                ..nats.auth("node", Some(NODE_PASSWORD))
            },
            "TLS with NATS",
        ),
    ];
    for (what, auth, says) in tries {
        let options = ClusterOptions {
            auth,
            ..ClusterOptions::new(nats.url.clone(), secret.clone())
        };
        let e = presently_server::start_node(
            &db.url,
            "127.0.0.1:0".parse().unwrap(),
            None,
            Some(&options),
        )
        .await
        .err()
        .unwrap_or_else(|| panic!("{what}: the node started"));
        assert!(e.config, "{what}: {e}");
        assert!(e.message.contains(says), "{what}: {e}");
        assert!(!e.message.contains("Pa55word"), "{what}: {e}");
    }

    // The binary, with the password in the address and in the environment: exit code 1 and
    // words on stderr, and no secret anywhere in what it printed.
    let address = nats
        .url
        .replace("tls://", "tls://node:an-address-Pa55word-never-printed@");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_presently-server"))
        .args(["--database-url", &db.url, "--listen", "127.0.0.1:0"])
        .args(["--cluster", &address])
        .arg("--nats-ca")
        .arg(&nats.ca)
        .arg("--nats-cert")
        .arg(nats.file("node.pem"))
        .arg("--nats-key")
        .arg(nats.file("node.key"))
        .env("PRESENTLY_CLUSTER_SECRET", SECRET)
        .env("RUST_LOG", "trace")
        .output()
        .expect("presently-server runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{printed}");
    assert!(
        printed.contains("refused this node's credentials"),
        "{printed}"
    );
    assert!(!printed.contains("Pa55word"), "{printed}");
    assert!(!printed.contains(SECRET), "{printed}");

    // Without the cluster's secret a node does not start at all.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_presently-server"))
        .args(["--database-url", &db.url, "--listen", "127.0.0.1:0"])
        .args(["--cluster", &nats.url])
        .env_remove("PRESENTLY_CLUSTER_SECRET")
        .output()
        .expect("presently-server runs");
    let printed = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{printed}");
    assert!(printed.contains("--cluster-secret"), "{printed}");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_on_nats_reads_nothing_and_what_it_forges_or_replays_changes_nothing() {
    let Some(nats) = PrivateNats::start().await else {
        return;
    };
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let options = nats.node_options();
    let (a, b) = (node(&db.url, &options).await, node(&db.url, &options).await);
    let app = a.app.clone();
    let org = app.create_org("Bus org").await.unwrap().id;
    let team = app.create_team(&org, "Core").await.unwrap();
    let teams = [team.clone()];
    let bea = app
        .create_user(
            &org,
            "bea@bus.test",
            "Bea",
            PASSWORD,
            Role::Member,
            "UTC",
            &teams,
        )
        .await
        .unwrap();
    let cal = app
        .create_user(
            &org,
            "cal@bus.test",
            "Cal",
            PASSWORD,
            Role::Member,
            "UTC",
            &teams,
        )
        .await
        .unwrap();
    let desk = DeviceId::parse("desk").unwrap();

    // The outsider listens to everything from the start.
    let outsider = nats.outsider().await;
    let mut heard = outsider.subscribe("presently.>").await.unwrap();
    outsider.flush().await.unwrap();

    let mut cal_on_b = Client::connect(
        b.addr,
        &app.issue_token(&cal, &desk).await.unwrap(),
        "desk",
        None,
    )
    .await;
    let mut bea_on_a = Client::connect(
        a.addr,
        &app.issue_token(&bea, &desk).await.unwrap(),
        "desk",
        None,
    )
    .await;
    bea_on_a.report(DeviceActivity::Active, false).await;
    let available = cal_on_b
        .until(
            "bea available, from node A",
            delta_for(&bea, StatusId::AVAILABLE),
        )
        .await;

    // What the outsider captured is sealed: neither who nor what.
    let mut captured = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), heard.next()).await {
        captured.push(m);
    }
    assert!(!captured.is_empty(), "the outsider heard the nodes' events");
    let subject = captured[0].subject.to_string();
    for m in &captured {
        let text = String::from_utf8_lossy(&m.payload);
        assert!(!text.contains(bea.as_str()), "the outsider read {text}");
        assert!(!text.contains("available"), "the outsider read {text}");
    }

    // Bea goes Busy; then the outsider replays what it captured (her going Available).
    bea_on_a
        .request(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: StatusId::BUSY,
                until: None,
            },
        })
        .await;
    cal_on_b
        .until("bea busy, from node A", delta_for(&bea, StatusId::BUSY))
        .await;
    let rejected_before = b.app.bus_stats().rejected;
    for m in &captured {
        outsider
            .publish(subject.clone(), m.payload.clone())
            .await
            .unwrap();
    }

    // Forged events in the clear, as the bus carried them before it was sealed.
    let available = protocol::encode(&available);
    let forged = [
        json!({"node": "n-outsider", "event": {"event": "presence", "user": bea, "frame": available, "version": i64::MAX}}),
        json!({"node": "n-outsider", "event": {"event": "user", "user": cal, "frame": "{\"type\":\"notification\",\"notification\":{\"seq\":999,\"title\":\"Click me\",\"link\":\"https://evil.example\"}}", "notification": 999}}),
        json!({"node": "n-outsider", "event": {"event": "disconnect", "user": cal, "device": "desk", "frame": "{\"type\":\"error\"}"}}),
        json!({"node": "n-outsider", "seq": 1, "at": 0, "event": {"event": "org_changed", "org": org}}),
    ];
    for f in &forged {
        outsider
            .publish(subject.clone(), serde_json::to_vec(f).unwrap().into())
            .await
            .unwrap();
    }
    let reloads_before = b.app.bus_stats().reloads;
    for _ in 0..500 {
        outsider
            .publish(
                subject.clone(),
                serde_json::to_vec(&forged[3]).unwrap().into(),
            )
            .await
            .unwrap();
    }
    outsider.flush().await.unwrap();

    // Bea's real change after all of it: the outsider's events went to node B before it (one
    // NATS server keeps the order it took them in), so when it arrives the forgeries had their
    // chance. Nothing of them reached Cal before it: no Available, no notification, the
    // connection open; and the forged version did not freeze her real updates.
    bea_on_a
        .request(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: StatusId::DND,
                until: None,
            },
        })
        .await;
    cal_on_b
        .none_before(
            "anything the outsider sent (Available, a notification)",
            |m| {
                matches!(
                    m,
                    ServerMessage::PresenceDelta { .. } | ServerMessage::Notification { .. }
                )
            },
            "bea in Do not disturb, from node A",
            delta_for(&bea, StatusId::DND),
        )
        .await;
    let stats = b.app.bus_stats();
    let sent = captured.len() as u64 + forged.len() as u64 + 500;
    assert!(
        stats.rejected - rejected_before >= sent,
        "node B dropped and counted {} of the {sent} events the outsider published",
        stats.rejected - rejected_before
    );
    assert_eq!(
        stats.reloads, reloads_before,
        "no reload for a forged org_changed"
    );

    // A flood of genuine reload requests (a node holding the secret) costs a few reloads.
    let insider = Sealer::new(&ClusterSecret::parse(SECRET).unwrap(), &[], &subject);
    let reloads_before = b.app.bus_stats().reloads;
    let now = clock::Clock::now(&clock::SystemClock).0;
    for seq in 1..=300u64 {
        let event = json!({"node": "n-insider", "seq": seq, "at": now, "event": {"event": "org_changed", "org": org}});
        outsider
            .publish(
                subject.clone(),
                insider.seal(&serde_json::to_vec(&event).unwrap()).into(),
            )
            .await
            .unwrap();
    }
    outsider.flush().await.unwrap();
    // The last request is served: a person added meanwhile appears on node B.
    let dan = app
        .create_user(
            &org,
            "dan@bus.test",
            "Dan",
            PASSWORD,
            Role::Member,
            "UTC",
            &teams,
        )
        .await
        .unwrap();
    cal_on_b
        .until("dan in the team, on node B", |m| {
            matches!(m, ServerMessage::TeamSnapshot { members, .. } if members.iter().any(|p| p.user == dan))
        })
        .await;
    let reloads = b.app.bus_stats().reloads - reloads_before;
    assert!(
        reloads < 100,
        "300 reload requests cost node B {reloads} reloads"
    );
    a.stop().await;
    b.stop().await;
    db.drop_db().await;
}

/// A plain `nats-server` of the test's own whose only authorization is `authorization` (a
/// config block): for the sign-ins that need no TLS.
async fn plain_nats(authorization: &str) -> Option<(std::process::Child, u16, tempfile::TempDir)> {
    let bin = nats_server()?;
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = serve_nats(bin, dir.path(), |port| {
        format!("listen: \"127.0.0.1:{port}\"\nauthorization {{ {authorization} }}\n")
    })
    .await;
    Some((child, port, dir))
}

/// Starts `bin` on a free port with the configuration `config` writes for it (in `dir`), and
/// waits until it listens.
async fn serve_nats(
    bin: PathBuf,
    dir: &std::path::Path,
    config: impl FnOnce(u16) -> String,
) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = dir.join("nats.conf");
    std::fs::write(&file, config(port)).unwrap();
    let mut child = std::process::Command::new(bin)
        .args(["-c", file.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nats-server starts");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (child, port);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the nats-server never listened on {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_signs_in_to_nats_with_a_token_or_an_nkey() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let secret = ClusterSecret::parse(SECRET).unwrap();
    let try_node = |url: String, auth: NatsAuth| {
        let (db, secret) = (db.url.clone(), secret.clone());
        async move {
            let options = ClusterOptions {
                auth,
                ..ClusterOptions::new(url, secret)
            };
            presently_server::start_node(&db, "127.0.0.1:0".parse().unwrap(), None, Some(&options))
                .await
        }
    };

    // A token, as a flag and in the address; a wrong one refused without being printed.
    let Some((mut token_nats, port, _dir)) = plain_nats("token: \"a-T0ken-for-the-nodes\"").await
    else {
        return;
    };
    let url = format!("nats://127.0.0.1:{port}");
    let node = try_node(
        url.clone(),
        NatsAuth {
            token: Some("a-T0ken-for-the-nodes".into()),
            ..NatsAuth::default()
        },
    )
    .await
    .expect("a node signs in with the token");
    node.stop().await;
    let node = try_node(
        format!("nats://a-T0ken-for-the-nodes@127.0.0.1:{port}"),
        NatsAuth::default(),
    )
    .await
    .expect("a node signs in with the token in the address");
    node.stop().await;
    let e = try_node(
        url,
        NatsAuth {
            token: Some("a-wrong-T0ken".into()),
            ..NatsAuth::default()
        },
    )
    .await
    .err()
    .expect("a wrong token is refused");
    assert!(e.message.contains("refused this node's credentials"), "{e}");
    assert!(!e.message.contains("T0ken"), "{e}");
    let _ = token_nats.kill();
    let _ = token_nats.wait();

    // An NKey: the node holds the seed in a file, NATS knows the public key.
    let pair = nkeys::KeyPair::new_user();
    let Some((mut nkey_nats, port, dir)) = plain_nats(&format!(
        "users = [ {{ nkey: \"{}\" }} ]",
        pair.public_key()
    ))
    .await
    else {
        return;
    };
    let seed = dir.path().join("node.nk");
    std::fs::write(&seed, pair.seed().unwrap()).unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let node = try_node(
        url.clone(),
        NatsAuth {
            nkey: Some(seed),
            ..NatsAuth::default()
        },
    )
    .await
    .expect("a node signs in with its NKey");
    node.stop().await;
    let other = dir.path().join("other.nk");
    std::fs::write(&other, nkeys::KeyPair::new_user().seed().unwrap()).unwrap();
    let e = try_node(
        url,
        NatsAuth {
            nkey: Some(other),
            ..NatsAuth::default()
        },
    )
    .await
    .err()
    .expect("another NKey is refused");
    assert!(e.message.contains("refused this node's credentials"), "{e}");
    let _ = nkey_nats.kill();
    let _ = nkey_nats.wait();
    db.drop_db().await;
}
