//! What one person, device or address may hold, and what every answer carries: connections
//! capped per device, person and address; devices signed in bounded per person; the security
//! headers.

use crate::support::*;
use reqwest::Method;

on_both_databases!(
    connections_are_capped_per_device_person_and_address,
    a_person_is_signed_in_on_a_bounded_number_of_devices,
    every_answer_carries_the_security_headers,
);

/// Opens a connection, says hello with `token` (if any), and reads until the server closes it:
/// the close code and reason, and the error messages sent before.
async fn refused_connection(
    addr: std::net::SocketAddr,
    hello: Option<(&str, &str)>,
) -> (Option<(u16, String)>, Vec<String>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let mut ws = Client::raw(addr).await;
    if let Some((token, device)) = hello {
        let hello = protocol::ClientMessage::Hello {
            protocol: protocol::PROTOCOL_VERSION,
            token: token.into(),
            device: presence::DeviceId::parse(device).unwrap(),
            resume_after: None,
        };
        let _ = ws
            .send(Message::Text(protocol::encode(&hello).into()))
            .await;
    }
    let mut errors = Vec::new();
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                if let Ok(protocol::ServerMessage::Error { error, .. }) =
                    protocol::decode_server(t.as_str())
                {
                    errors.push(error.message);
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return (
                    frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                    errors,
                )
            }
            Ok(Some(Ok(_))) => continue,
            _ => return (None, errors),
        }
    }
}

async fn connections_are_capped_per_device_person_and_address(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let hub = &f.app().hub;
    // The defaults: far above what a person's own apps open.
    let defaults = hub.limits();
    assert!(defaults.per_device >= 2 && defaults.per_person >= 16 && defaults.per_address >= 1000);
    hub.set_limits(presently_server::hub::ConnectionLimits {
        per_device: 2,
        per_person: 3,
        per_address: 6,
    });
    let laptop = f.token(&f.bea, "laptop").await;
    let mut first = Client::connect(f.addr(), &laptop, "laptop", None).await;
    let mut second = Client::connect(f.addr(), &laptop, "laptop", None).await;
    // A third from the same device: the oldest is told and closed; the newer two stay.
    let mut third = Client::connect(f.addr(), &laptop, "laptop", None).await;
    let told = first
        .until("why", |m| {
            matches!(m, protocol::ServerMessage::Error { .. })
        })
        .await;
    assert!(
        format!("{told:?}").contains("the oldest, this one, is closed"),
        "{told:?}"
    );
    assert!(first.closed().await);
    second.report(presence::DeviceActivity::Active, false).await;
    third.report(presence::DeviceActivity::Active, false).await;
    // Still open: the server answers them (a closed one would not).
    second.barrier().await;
    third.barrier().await;

    // The person's cap: a phone fits (3), a tablet does not, and is told why.
    let _phone = f.online(&f.bea, "phone").await;
    let tablet = f.token(&f.bea, "tablet").await;
    let (close, errors) = refused_connection(f.addr(), Some((&tablet, "tablet"))).await;
    let (code, _) = close.expect("a close frame");
    assert_eq!(code, 1008);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("connections open (at most 3)")),
        "{errors:?}"
    );
    assert_eq!(
        hub.devices_of(&f.bea).len(),
        2,
        "laptop and phone, not the tablet"
    );

    // The address's cap: three of bea's and two of cal's from this address fill it (6 with
    // one more); the next is refused before its hello.
    let _cal1 = f.online(&f.cal, "desk").await;
    let _cal2 = f.online(&f.cal, "phone").await;
    let _admin = f.online(&f.admin, "desk").await;
    let (close, errors) = refused_connection(f.addr(), None).await;
    assert_eq!(close.map(|c| c.0), Some(1008), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("too many connections from your address")),
        "{errors:?}"
    );
    // One closes: there is room again.
    third.close().await;
    let _again = f.online(&f.dan, "desk").await;
    f.finish().await;
}

async fn a_person_is_signed_in_on_a_bounded_number_of_devices(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let max = presently_server::app::MAX_DEVICES;
    for i in 0..max {
        f.app()
            .issue_token(&f.bea, &presence::DeviceId::parse(format!("d{i}")).unwrap())
            .await
            .unwrap();
    }
    let (status, e) = f.sign_in("bea@one.test", PASSWORD, "one-more").await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sign one out"),
        "{e}"
    );
    // A device already signed in signs in again fine; after one is signed out, the new one too.
    assert_eq!(f.sign_in("bea@one.test", PASSWORD, "d0").await.0, 201);
    let (status, _) = f
        .call(
            Method::DELETE,
            "/admin/users/bea@one.test/devices/d1",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    f.clock.advance(presence::Span::minutes(1));
    assert_eq!(f.sign_in("bea@one.test", PASSWORD, "one-more").await.0, 201);
    f.finish().await;
}

async fn every_answer_carries_the_security_headers(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let addr = f.addr();
    for path in [
        "/api/v1/me",
        "/api/v1/openapi.json",
        "/healthz",
        "/admin/",
        "/nowhere",
    ] {
        let r = f
            .http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
    let r = f
        .http
        .get(format!("http://{addr}/admin/"))
        .send()
        .await
        .unwrap();
    if r.status().as_u16() == 200 {
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let connect = csp
            .split(';')
            .find(|d| d.trim().starts_with("connect-src"))
            .unwrap()
            .to_string();
        assert_eq!(
            connect.trim(),
            format!("connect-src 'self' wss://{addr} ws://{addr}"),
            "{csp}"
        );
    } else {
        let message = "the console is not built (npm --prefix ui run build)";
        assert!(
            std::env::var("CI").is_err(),
            "{message}: it is required in CI"
        );
        eprintln!("SKIPPED the console's CSP: {message}");
    }
    f.finish().await;
}
