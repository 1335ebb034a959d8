//! What a broken or hostile WebSocket client does to its connection, and what the server does
//! about it: frames no library would send, floods, clients that stop reading or only listen.
//! Every test runs on both databases and the manual clock.

use crate::support::*;
use clock::Clock;
use presence::{Change, Span, StatusId};
use protocol::ClientMessage;
use std::time::Duration;

on_both_databases!(
    a_client_that_stops_reading_is_closed_after_the_send_timeout,
    a_flood_of_pings_or_binary_frames_is_closed_like_any_other,
    a_client_that_only_listens_is_closed_a_lease_after_it_was_last_heard,
    protocol_violations_close_with_their_rfc_6455_code,
    frames_that_arrive_in_pieces_after_an_idle_while_are_read_whole,
);

/// An idle connection holds no read buffer (vendor/README.md): a frame that then arrives in
/// pieces (its header cut in two, its payload in several), or one larger than the read buffer,
/// is still read whole and answered.
async fn frames_that_arrive_in_pieces_after_an_idle_while_are_read_whole(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut ws = RawWs::open(f.addr()).await;
    let token = f.token(&f.bea, "desk").await;
    let hello = serde_json::json!({"type": "hello", "protocol": protocol::PROTOCOL_VERSION, "token": token, "device": "desk"}).to_string();
    // The first byte alone, then the length, the mask, and the payload in three.
    ws.send_in_pieces(0x81, hello.as_bytes(), None, &[1, 4, 6, 20, 100])
        .await;
    let welcome = ws.text().await.expect("a welcome");
    assert!(welcome.contains("\"type\":\"welcome\""), "{welcome}");
    // Past the snapshot and self view, the connection idles; then a heartbeat of 5,000 bytes
    // (over the 2 KiB read buffer), its 2-byte length cut off from its first byte.
    let padded = serde_json::json!({"type": "heartbeat", "padding": "x".repeat(5000)}).to_string();
    ws.send_in_pieces(0x81, padded.as_bytes(), None, &[1, 3, 8, 3000])
        .await;
    loop {
        let text = ws.text().await.expect("the heartbeat is answered");
        if text.contains("\"type\":\"heartbeat_ack\"") {
            break;
        }
        assert!(!text.contains("\"type\":\"error\""), "{text}");
    }
    // And again after another idle while, a small one in pieces.
    ws.send_in_pieces(0x81, br#"{"type":"heartbeat"}"#, None, &[1, 2, 9])
        .await;
    loop {
        let text = ws.text().await.expect("the second heartbeat is answered");
        if text.contains("\"type\":\"heartbeat_ack\"") {
            break;
        }
    }
    f.finish().await;
}

async fn protocol_violations_close_with_their_rfc_6455_code(b: Backend) {
    use presently_server::ws::HARD_FRAME_LIMIT;
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let big = HARD_FRAME_LIMIT as u64 + 1;
    /// What is sent, the first byte (FIN + opcode), the payload, the length announced (the
    /// payload's when `None`), and the close code expected.
    type Case = (&'static str, u8, Vec<u8>, Option<u64>, u16);
    let cases: Vec<Case> = vec![
        // Only the header announcing 1 MiB + 1 arrives: closed at once, nothing more is read.
        ("an oversized frame's header", 0x81, vec![], Some(big), 1009),
        (
            "an oversized binary frame's header",
            0x82,
            vec![],
            Some(16 << 20),
            1009,
        ),
        (
            "text that is not UTF-8",
            0x81,
            vec![0xff, 0xfe, 0x80],
            None,
            1007,
        ),
        ("a reserved opcode", 0x83, b"x".to_vec(), None, 1002),
        ("a reserved control opcode", 0x8b, vec![], None, 1002),
        ("a ping over 125 bytes", 0x89, vec![0; 126], None, 1002),
        ("a fragmented ping", 0x09, b"x".to_vec(), None, 1002),
        (
            "a stray continuation frame",
            0x80,
            b"x".to_vec(),
            None,
            1002,
        ),
        ("a reserved bit set", 0xc1, b"{}".to_vec(), None, 1002),
    ];
    for (what, first, payload, announced, code) in cases {
        // Before the hello, and after it: the same answer.
        for hello in [false, true] {
            let mut ws = RawWs::open(f.addr()).await;
            if hello {
                let token = f.token(&f.bea, "desk").await;
                let frame = serde_json::json!({"type": "hello", "protocol": protocol::PROTOCOL_VERSION, "token": token, "device": "desk"}).to_string();
                ws.send(0x81, frame.as_bytes(), None).await;
            }
            ws.send(first, &payload, announced).await;
            let got = ws.close_code().await;
            assert_eq!(
                got.as_ref().map(|(c, _)| *c),
                Some(code),
                "{what} (after hello: {hello}): {got:?}"
            );
        }
    }
    // The server is unharmed: a well-behaved client still connects.
    let _ok = f.online(&f.bea, "desk").await;
    f.finish().await;
}

async fn a_client_that_stops_reading_is_closed_after_the_send_timeout(b: Backend) {
    use presently_server::broker::{Broker, Event, Frame};
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let app = f.app().clone();
    // bea's desk connects and then reads nothing more.
    let _stalled = f.online(&f.bea, "desk").await;
    assert_eq!(app.hub.connection_count(), 1);
    // About 18 MB of frames for her: far more than the sockets' buffers hold, so the server's
    // write blocks.
    let big = format!(
        r#"{{"type":"heartbeat_ack","server_time":0,"pad":"{}"}}"#,
        "x".repeat(60_000)
    );
    for _ in 0..300 {
        f.broker.publish(Event::User {
            user: f.bea.clone(),
            frame: Frame::from(big.clone()),
            notification: None,
            version: None,
        });
    }
    f.broker.clear();
    // A real wait, not a proof: a stalled write has no event of its own to end on. The clock
    // stands still, so the send timeout cannot be what closes it here.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.hub.connection_count(),
        1,
        "still connected while the write waits"
    );
    // The write cannot finish within the send timeout: the connection ends and is released.
    f.clock.advance(presence::Span(
        presently_server::ws::SEND_TIMEOUT.as_millis() as i64,
    ));
    let mut closed = false;
    for _ in 0..250 {
        if app.hub.connection_count() == 0 {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        closed,
        "the stalled connection was closed after the send timeout"
    );
    f.finish().await;
}

async fn a_flood_of_pings_or_binary_frames_is_closed_like_any_other(b: Backend) {
    use tokio_tungstenite::tungstenite::Message;
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    for frame in [
        Message::Ping(vec![0].into()),
        Message::Binary(vec![0].into()),
    ] {
        let mut desk = f.online(&f.bea, "desk").await;
        for _ in 0..400 {
            if desk.send_frame(frame.clone()).await.is_err() {
                break;
            }
        }
        assert!(
            desk.closed().await,
            "a client that keeps sending {frame:?} frames is disconnected"
        );
    }
    f.finish().await;
}

async fn a_client_that_only_listens_is_closed_a_lease_after_it_was_last_heard(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let app = f.app().clone();
    let t = f.clock.now();
    // bea's desk reports once at t, then only receives; cal keeps changing status (deltas sent
    // to bea) and heartbeating.
    let _bea = f.online(&f.bea, "desk").await;
    let mut cal = f.online(&f.cal, "desk").await;
    assert_eq!(app.hub.connection_count(), 2);
    for (secs, status) in [
        (30, StatusId::BUSY),
        (60, StatusId::AVAILABLE),
        (85, StatusId::AWAY),
    ] {
        f.clock.set(t.plus(Span::seconds(secs)));
        cal.request(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: status.clone(),
                until: None,
            },
        })
        .await;
    }
    // A lease (90 s) after bea was last heard, not after the last frame sent to her.
    f.clock.set(t.plus(Span(89_999)));
    // A real wait: a connection's answer to the clock's move has nothing observable to end on
    // (a heartbeat from bea would restart her lease).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.hub.connection_count(),
        2,
        "bea is still connected just before"
    );
    f.clock.set(t.plus(Span::seconds(90)));
    let mut closed = false;
    for _ in 0..100 {
        if app.hub.connection_count() == 1 {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "bea's silent connection was closed at the lease");
    f.finish().await;
}
