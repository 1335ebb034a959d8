//! TLS end to end: the client core signs in over https and syncs over wss with a server that
//! terminates TLS itself, trusting a CA made in the test through the extra CA file; a server
//! whose certificate is from an unknown CA, expired, or for another name is refused with words
//! that say which; plain http to another machine is refused before anything is sent.

mod support;

use presence::{DeviceAbout, DeviceId, StatusId};
use presently_client::api::{Api, ApiError};
use presently_client::notifier::Recorder;
use presently_client::server::{Server as Endpoint, ServerError, Trust};
use presently_client::store::Store;
use presently_client::sync::{self, Connection, Event, Options};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use test_support::tls::{TestCa, Validity};

fn trusting(ca: &TestCa) -> Trust {
    Trust {
        extra_ca: Some(ca.cert_file.clone()),
        allow_http: false,
    }
}

fn desk() -> DeviceId {
    DeviceId::parse("desk").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_core_signs_in_and_syncs_over_tls_with_a_company_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "company");
    let issued = ca.issue(
        dir.path(),
        "server",
        &["localhost", "127.0.0.1"],
        Validity::Current,
    );
    let server = Server::start_tls(&issued.cert_file, &issued.key_file).await;
    let endpoint = Endpoint::new(&server.url(), &trusting(&ca)).expect("an https address");
    assert!(endpoint.url().starts_with("https://localhost:"));

    // REST over https: sign in with a password.
    let signed = Api::new(&endpoint)
        .sign_in("bea@one.test", PASSWORD, &desk(), &DeviceAbout::default())
        .await
        .expect("signed in over https");

    // The WebSocket over wss: the device comes online and the server sees it.
    let store = Store::open(&store_path(dir.path(), "bea")).await.unwrap();
    let mut options = Options::new(&endpoint, &signed.token, desk());
    options.max_backoff = Duration::from_millis(400);
    let (handle, task) = sync::spawn(store, Arc::new(Recorder::default()), options);
    let mut events = handle.subscribe();
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Ok(Event::Connection(Connection::Online)) = events.recv().await {
                return;
            }
        }
    })
    .await
    .expect("online over wss");
    eventually("bea is Available over wss", || async {
        server.seen(&server.bea).await.status.status == StatusId::AVAILABLE
    })
    .await;
    handle.stop();
    let _ = task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_an_expired_certificate_and_another_name_are_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "company");
    let other_ca = TestCa::new(dir.path(), "stranger");
    let names = ["localhost", "127.0.0.1"];

    // Signed by a CA this client was not told to trust (only the system's roots, or another).
    let valid = ca.issue(dir.path(), "valid", &names, Validity::Current);
    let server = Server::start_tls(&valid.cert_file, &valid.key_file).await;
    for trust in [Trust::default(), trusting(&other_ca)] {
        let endpoint = Endpoint::new(&server.url(), &trust).unwrap();
        let err = Api::new(&endpoint)
            .sign_in("bea@one.test", PASSWORD, &desk(), &DeviceAbout::default())
            .await
            .unwrap_err();
        match &err {
            ApiError::Certificate { problem, .. } => assert!(
                problem.contains("not signed by an authority this computer trusts")
                    && problem.contains("PRESENTLY_CA_FILE"),
                "{err}"
            ),
            other => panic!("expected a certificate error, got {other:?}"),
        }
    }
    // The WebSocket says the same (the sync's offline reason).
    let endpoint = Endpoint::new(&server.url(), &Trust::default()).unwrap();
    let store = Store::open(&store_path(dir.path(), "ws")).await.unwrap();
    let (handle, task) = sync::spawn(
        store,
        Arc::new(Recorder::default()),
        Options::new(&endpoint, "pd_x", desk()),
    );
    let mut events = handle.subscribe();
    let reason = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Ok(Event::Connection(Connection::Offline { reason, .. })) = events.recv().await {
                return reason;
            }
        }
    })
    .await
    .expect("offline");
    assert!(
        reason.contains("cannot connect securely") && reason.contains("not signed by an authority"),
        "{reason}"
    );
    handle.stop();
    let _ = task.await;

    // Expired.
    let expired = ca.issue(dir.path(), "expired", &names, Validity::Expired);
    let old = Server::start_tls(&expired.cert_file, &expired.key_file).await;
    let err = Api::new(&Endpoint::new(&old.url(), &trusting(&ca)).unwrap())
        .sign_in("bea@one.test", PASSWORD, &desk(), &DeviceAbout::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Certificate { problem, .. } if problem.contains("has expired")),
        "{err:?}"
    );

    // For another name than the address.
    let elsewhere = ca.issue(
        dir.path(),
        "elsewhere",
        &["presently.example.com"],
        Validity::Current,
    );
    let wrong = Server::start_tls(&elsewhere.cert_file, &elsewhere.key_file).await;
    let err = Api::new(&Endpoint::new(&wrong.url(), &trusting(&ca)).unwrap())
        .sign_in("bea@one.test", PASSWORD, &desk(), &DeviceAbout::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Certificate { problem, .. } if problem.contains("another name")),
        "{err:?}"
    );

    // https to a server that speaks plain HTTP.
    let plain = Server::start().await;
    let err = Api::new(
        &Endpoint::new(
            &format!("https://localhost:{}", plain.addr.port()),
            &Trust::default(),
        )
        .unwrap(),
    )
    .sign_in("bea@one.test", PASSWORD, &desk(), &DeviceAbout::default())
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ApiError::Certificate { problem, .. } if problem.contains("did not answer with TLS")),
        "{err:?}"
    );
}

#[test]
fn plain_http_to_another_machine_is_refused_unless_allowed() {
    let err = Endpoint::new("http://presently.example.com", &Trust::default()).unwrap_err();
    assert!(matches!(err, ServerError::PlainHttp { .. }));
    assert!(err.to_string().contains("PRESENTLY_ALLOW_HTTP=1"), "{err}");
    // presently-cli says so too, and sends nothing.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(cli())
        .arg("--store")
        .arg(dir.path().join("c.db"))
        .args([
            "login",
            "--server",
            "http://192.0.2.1:7878",
            "--email",
            "bea@one.test",
            "--password",
            PASSWORD,
        ])
        .env_remove("PRESENTLY_ALLOW_HTTP")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unencrypted"), "{stderr}");
}

#[test]
fn a_server_certificate_or_key_that_cannot_be_used_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "company");
    let a = ca.issue(dir.path(), "a", &["localhost"], Validity::Current);
    let b = ca.issue(dir.path(), "b", &["localhost"], Validity::Current);
    let tls = presently_server::tls::server_config;
    // The key of another certificate.
    let err = tls(&a.cert_file, &b.key_file).unwrap_err().to_string();
    assert!(err.contains("does not fit"), "{err}");
    // A key file given as the certificate, and the other way round.
    let err = tls(&a.key_file, &a.key_file).unwrap_err().to_string();
    assert!(
        err.contains("holds no certificate") && err.contains("a.key"),
        "{err}"
    );
    let err = tls(&a.cert_file, &a.cert_file).unwrap_err().to_string();
    assert!(err.contains("holds no private key"), "{err}");
    let err = tls(&dir.path().join("missing.pem"), &a.key_file)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.pem"), "{err}");
}
