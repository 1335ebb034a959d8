//! Invites and password resets by mail, through a real SMTP relay started by the test (PyPI's
//! aiosmtpd, `relay/smtp_relay.py`: STARTTLS required, or TLS from the first byte, a user and
//! password, a certificate from a CA made in the test), reading what arrived as Python's email
//! package parses it. A wrong password, an untrusted certificate and a relay that is down are
//! each said to the administrator with what to check, and the invite is never lost: it stays
//! pending, listed with the failure, and "send again" mails a new code that works.

use crate::support::*;
use presently_server::app::mail::{MailOptions, Security};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use test_support::tls::{TestCa, Validity};

on_both_databases!(invites_and_resets_arrive_by_mail_and_a_failed_one_is_never_lost,);

const USER: &str = "presently-relay";
const RELAY_PASSWORD: &str = "relay secret 42";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// aiosmtpd on loopback; what it accepted is in `out`, one JSON file per message.
struct Relay {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Relay {
    fn start(python: &Path, dir: &Path, mode: &str, ca: &TestCa) -> Relay {
        let issued = ca.issue(
            dir,
            &format!("relay-{mode}"),
            &["127.0.0.1"],
            Validity::Current,
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = dir.join(format!("arrived-{mode}"));
        let mut child = Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/server/relay/smtp_relay.py"
            ))
            .args([mode, &port.to_string()])
            .arg(&issued.cert_file)
            .arg(&issued.key_file)
            .args([USER, RELAY_PASSWORD])
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SMTP relay starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the relay did not start");
        Relay { child, port, out }
    }

    /// The messages that arrived, in order.
    fn arrived(&self) -> Vec<Value> {
        let mut n = 1;
        let mut all = Vec::new();
        while let Ok(text) = std::fs::read_to_string(self.out.join(format!("{n}.json"))) {
            all.push(serde_json::from_str(&text).unwrap());
            n += 1;
        }
        all
    }

    fn options(&self, security: Security, password: &str, ca: Option<&Path>) -> MailOptions {
        MailOptions {
            relay: "127.0.0.1".into(),
            port: self.port,
            security,
            credentials: Some((USER.into(), password.into())),
            from: "Presently <presently@one.test>".into(),
            ca_file: ca.map(Path::to_path_buf),
        }
    }
}

/// The code a mail's text carries (the line after "enter:").
fn code_in(text: &str) -> String {
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.ends_with("enter:") {
            return lines.next().unwrap().trim().to_string();
        }
    }
    panic!("no code in the mail: {text}")
}

async fn redeem(f: &Fixture, code: &str, device: &str) -> (u16, Value) {
    let mut body = json!({"code": code, "password": NEW_PASSWORD, "device": device});
    if code_needs_name(f, code).await {
        body["name"] = json!("A New Person");
    }
    let r = f
        .http
        .post(f.url("/sessions/code"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Whether the invite a code belongs to carries no name (the person gives one).
async fn code_needs_name(f: &Fixture, code: &str) -> bool {
    let hash = presently_server::auth::hash_secret(code);
    f.app()
        .db
        .code(&hash)
        .await
        .unwrap()
        .is_some_and(|c| c.kind == "invite" && c.name.is_none())
}

async fn invites_and_resets_arrive_by_mail_and_a_failed_one_is_never_lost(b: Backend) {
    let Some(python) = test_support::venv_python("aiosmtpd") else {
        return;
    };
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "relay");
    let relay = Relay::start(&python, dir.path(), "starttls", &ca);
    let app = f.app();
    app.set_public_url("https://presently.one.test");
    let admin = f.token(&f.admin, "desk").await;

    // Without a relay, an invite is only shown: no mail, nothing said of one.
    let (status, shown) = f
        .post(
            "/admin/invites",
            &admin,
            json!({"email": "nomail@one.test"}),
        )
        .await;
    assert_eq!(status, 201, "{shown}");
    assert!(shown["invite"]["mail"].is_null(), "{shown}");

    // A wrong relay password: the invite is made, the failure said with what to check.
    app.mail
        .configure(Some(&relay.options(
            Security::StartTls,
            "wrong",
            Some(&ca.cert_file),
        )))
        .unwrap();
    let (status, made) = f
        .post(
            "/admin/invites",
            &admin,
            json!({"email": "ivy@one.test", "name": "Ivy New", "teams": [f.team]}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["invite"]["mail"]["state"], "failed", "{made}");
    let error = made["invite"]["mail"]["error"].as_str().unwrap();
    assert!(error.contains("535"), "{error}");
    assert!(error.contains("check [mail] user and password"), "{error}");
    assert!(relay.arrived().is_empty());
    // Listed with the failure, still pending: nothing lost.
    let id = made["invite"]["id"].as_str().unwrap().to_string();
    let (_, list) = f.get("/admin/invites", &admin).await;
    let listed = list["invites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["state"], "pending", "{listed}");
    assert_eq!(listed["mail"]["state"], "failed", "{listed}");
    assert_eq!(listed["mail"]["error"], error, "{listed}");
    let first_code = made["code"].as_str().unwrap().to_string();

    // The password fixed, "send again": a new code arrives, by STARTTLS, signed in.
    app.mail
        .configure(Some(&relay.options(
            Security::StartTls,
            RELAY_PASSWORD,
            Some(&ca.cert_file),
        )))
        .unwrap();
    let (status, again) = f
        .post(&format!("/admin/invites/{id}/send"), &admin, json!({}))
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["invite"]["mail"]["state"], "sent", "{again}");
    assert!(again["invite"]["mail"]["error"].is_null(), "{again}");
    let arrived = relay.arrived();
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    let mail = &arrived[0];
    assert_eq!(mail["tls"], true, "{mail}");
    assert_eq!(mail["user"], USER, "{mail}");
    assert_eq!(mail["rcpt_tos"], json!(["ivy@one.test"]), "{mail}");
    assert_eq!(mail["from"], "Presently <presently@one.test>", "{mail}");
    assert_eq!(mail["to"], "Ivy New <ivy@one.test>", "{mail}");
    assert_eq!(mail["content_type"], "multipart/alternative", "{mail}");
    assert_eq!(
        mail["subject"], "admin@one.test invited you to Org one on Presently",
        "{mail}"
    );
    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    let code = code_in(text);
    assert_eq!(code, again["code"].as_str().unwrap());
    assert_ne!(code, first_code);
    let link = format!("https://presently.one.test/admin/#/join/{code}");
    assert!(text.contains(&link), "{text}");
    assert!(text.contains("Hello Ivy New,"), "{text}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(html.contains(&code), "{html}");
    assert!(html.contains("Join Org one on Presently"), "{html}");
    // The first code no longer works; the mailed one makes the account.
    let (status, e) = redeem(&f, &first_code, "phone").await;
    assert_eq!(status, 401, "{e}");
    let (status, signed) = redeem(&f, &code, "phone").await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["name"], "Ivy New");
    // A used invite is not sent again.
    let (status, e) = f
        .post(&format!("/admin/invites/{id}/send"), &admin, json!({}))
        .await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("used already"),
        "{e}"
    );

    // A password reset arrives with its code, which sets the new password.
    let (status, reset) = f
        .post(
            &format!("/admin/users/{}/password-reset", f.bea.as_str()),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{reset}");
    assert_eq!(reset["mail"]["state"], "sent", "{reset}");
    let arrived = relay.arrived();
    assert_eq!(arrived.len(), 2);
    let mail = &arrived[1];
    assert_eq!(mail["rcpt_tos"], json!(["bea@one.test"]), "{mail}");
    assert_eq!(mail["subject"], "Set a new Presently password for Org one");
    let code = code_in(mail["text"].as_str().unwrap());
    assert_eq!(code, reset["code"].as_str().unwrap());
    let (status, signed) = redeem(&f, &code, "laptop").await;
    assert_eq!(status, 201, "{signed}");
    let (status, _) = f.sign_in("bea@one.test", NEW_PASSWORD, "desk").await;
    assert_eq!(status, 201);

    // A relay whose certificate is not trusted: said as a TLS failure, nothing sent.
    app.mail
        .configure(Some(&relay.options(
            Security::StartTls,
            RELAY_PASSWORD,
            None,
        )))
        .unwrap();
    let (status, made) = f
        .post("/admin/invites", &admin, json!({"email": "tls@one.test"}))
        .await;
    assert_eq!(status, 201, "{made}");
    let error = made["invite"]["mail"]["error"].as_str().unwrap();
    assert!(error.contains("certificate"), "{error}");
    assert_eq!(relay.arrived().len(), 2);

    // TLS from the first byte (port 465's way).
    let wrapped = Relay::start(&python, dir.path(), "tls", &ca);
    app.mail
        .configure(Some(&wrapped.options(
            Security::Tls,
            RELAY_PASSWORD,
            Some(&ca.cert_file),
        )))
        .unwrap();
    let (status, made) = f
        .post(
            "/admin/invites",
            &admin,
            json!({"email": "wrapped@one.test"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["invite"]["mail"]["state"], "sent", "{made}");
    let arrived = wrapped.arrived();
    assert_eq!(arrived.len(), 1);
    assert_eq!(arrived[0]["tls"], true);
    assert_eq!(
        code_in(arrived[0]["text"].as_str().unwrap()),
        made["code"].as_str().unwrap()
    );

    // The relay down: said at once (connection refused), the invite kept and listed.
    let port = wrapped.port;
    drop(wrapped);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, made) = f
        .post("/admin/invites", &admin, json!({"email": "down@one.test"}))
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["invite"]["mail"]["state"], "failed", "{made}");
    let error = made["invite"]["mail"]["error"].as_str().unwrap();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(error.contains("check [mail] relay and port"), "{error}");
    let (_, list) = f.get("/admin/invites", &admin).await;
    let down = list["invites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "down@one.test")
        .unwrap()
        .clone();
    assert_eq!(down["state"], "pending", "{down}");
    assert_eq!(down["mail"]["state"], "failed", "{down}");
    // Its code, shown to the administrator, still works.
    let (status, signed) = redeem(&f, made["code"].as_str().unwrap(), "phone").await;
    assert_eq!(status, 201, "{signed}");
    f.finish().await;
}
