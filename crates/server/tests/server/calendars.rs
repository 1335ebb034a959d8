//! A person's calendar, served as an ICS file over real HTTPS by the test, with the server on the
//! manual clock: its accepted meeting makes them In a meeting for its span and a declined one
//! does nothing; a change to the calendar is read (ETag, 304 when unchanged); a calendar that
//! disappears leaves no meeting behind; the address is sealed at rest and never shown again.

use crate::https::Https;
use crate::support::*;
use clock::Clock;
use presence::{Span, StatusId, Timestamp};
use presently_server::app::calendars::POLL_MS;
use presently_server::app::webhooks::WebhookOptions;
use presently_server::secrets::Sealer;
use reqwest::Method;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

on_both_databases!(a_calendar_makes_its_meetings_and_leaves_none_behind,);

/// `20270115T100000Z` for a time.
fn ics_time(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.0)
        .unwrap()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

fn calendar(events: &[(&str, Timestamp, Timestamp, &str)]) -> String {
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n");
    for (uid, start, end, extra) in events {
        out.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n{extra}END:VEVENT\r\n",
            ics_time(*start),
            ics_time(*end)
        ));
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// What the test's calendar server answers: a status, the calendar and its ETag.
struct Served {
    status: u16,
    body: String,
    etag: String,
}

async fn a_calendar_makes_its_meetings_and_leaves_none_behind(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    // Devices and connections outlive the hours this test skips.
    f.app()
        .update_org(&Actor::system(), "test", String::new(), &f.org, |o| {
            o.policy.device_lease = Span::hours(24);
            Ok(())
        })
        .await
        .unwrap();
    let now = f.clock.now();
    let minutes = |m: i64| now.plus(Span::minutes(m));
    let served = Arc::new(Mutex::new(Served {
        status: 200,
        body: calendar(&[
            ("standup", minutes(10), minutes(40), ""),
            (
                "declined",
                minutes(60),
                minutes(90),
                "ATTENDEE;PARTSTAT=DECLINED:mailto:bea@one.test\r\n",
            ),
        ]),
        etag: "\"v1\"".into(),
    }));
    let state = served.clone();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Https::start(dir.path(), move |r| {
        let s = state.lock().unwrap();
        if s.status != 200 {
            return (s.status, vec![], String::new());
        }
        if r.headers.get("if-none-match") == Some(&s.etag) {
            return (304, vec![("etag".into(), s.etag.clone())], String::new());
        }
        (
            200,
            vec![
                ("content-type".into(), "text/calendar".into()),
                ("etag".into(), s.etag.clone()),
            ],
            s.body.clone(),
        )
    })
    .await;
    let bea_token = f.token(&f.bea, "bea-web").await;
    let url = format!("{}/calendars/secret-a1b2c3/basic.ics", server.base);
    let put = |url: String| json!({"kind": "ics", "url": url});

    // Without a secrets key, the server keeps no credentials and says so.
    let (code, answer) = f
        .call(
            Method::PUT,
            "/me/calendar",
            &bea_token,
            Some(put(url.clone())),
        )
        .await;
    assert_eq!(code, 409, "{answer}");
    assert!(answer.to_string().contains("[secrets] key"), "{answer}");
    f.app()
        .calendars
        .configure(Some(Sealer::new("the test's secrets key", &[]).unwrap()));
    // On loopback, refused until the server allows private networks (and trusts the test CA).
    let (code, answer) = f
        .call(
            Method::PUT,
            "/me/calendar",
            &bea_token,
            Some(put(url.clone())),
        )
        .await;
    assert_eq!(code, 422, "{answer}");
    f.app()
        .webhooks
        .configure(&WebhookOptions {
            ca_file: Some(server.ca_file.clone()),
            allow_private_networks: true,
        })
        .unwrap();
    let (code, _) = f
        .call(
            Method::PUT,
            "/me/calendar",
            &bea_token,
            Some(put("http://127.0.0.1:1/x.ics".into())),
        )
        .await;
    assert_eq!(code, 422, "plain http is refused");

    let mut cal = f.online(&f.cal, "cal-desk").await;
    let _bea = f.online(&f.bea, "bea-desk").await;
    let (code, answer) = f
        .call(
            Method::PUT,
            "/me/calendar",
            &bea_token,
            Some(put(url.clone())),
        )
        .await;
    assert_eq!(code, 200, "{answer}");
    assert!(
        !answer.to_string().contains("secret-a1b2c3"),
        "never shown again: {answer}"
    );
    let first = tokio::time::timeout(Duration::from_secs(15), server.requests.recv())
        .await
        .expect("the calendar is read at once")
        .unwrap();
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("GET", "/calendars/secret-a1b2c3/basic.ics")
    );
    // Sealed at rest: the secret part of the address is nowhere in the row.
    let row = f
        .app()
        .db
        .calendar_of(f.bea.as_str())
        .await
        .unwrap()
        .unwrap();
    assert!(!row.sealed.contains("secret-a1b2c3") && !row.shown.contains("secret"));
    let read = settle_json(&f, &bea_token, |v| v["last_read"].is_number()).await;
    assert!(read["failing_since"].is_null(), "{read}");

    // The standup starts: bea is In a meeting for teammates, until it ends.
    f.clock.advance(Span::minutes(10));
    cal.until(
        "bea in the standup",
        delta_for(&f.bea, StatusId::IN_A_MEETING),
    )
    .await;
    f.clock.advance(Span::minutes(30));
    cal.until("the standup over", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    // The declined meeting changes nothing.
    f.clock.advance(Span::minutes(25));
    cal.none(
        "a declined meeting",
        delta_for(&f.bea, StatusId::IN_A_MEETING),
    )
    .await;
    // Unchanged reads are answered 304 (its ETag was sent).
    let asked_again = server.requests.recv().await.unwrap();
    assert_eq!(
        asked_again.headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );

    // A meeting added to the calendar is read at the next poll.
    let now = f.clock.now();
    {
        let mut s = served.lock().unwrap();
        s.body = calendar(&[(
            "review",
            now.plus(Span::minutes(10)),
            now.plus(Span::hours(2)),
            "",
        )]);
        s.etag = "\"v2\"".into();
    }
    f.clock.advance(Span(POLL_MS));
    f.clock.advance(Span::minutes(6));
    cal.until(
        "bea in the review",
        delta_for(&f.bea, StatusId::IN_A_MEETING),
    )
    .await;

    // The calendar disappears mid-meeting: the meeting goes at the next read, and the person's
    // settings say why.
    served.lock().unwrap().status = 404;
    f.clock.advance(Span(POLL_MS));
    cal.until(
        "no meeting left behind",
        delta_for(&f.bea, StatusId::AVAILABLE),
    )
    .await;
    let failing = settle_json(&f, &bea_token, |v| v["failing_since"].is_number()).await;
    assert!(
        failing["last_error"].as_str().unwrap().contains("404"),
        "{failing}"
    );

    // Stopped: gone.
    let (code, _) = f
        .call(Method::DELETE, "/me/calendar", &bea_token, None)
        .await;
    assert_eq!(code, 204);
    let (code, _) = f.get("/me/calendar", &bea_token).await;
    assert_eq!(code, 404);
    f.finish().await;
}

/// `GET /me/calendar` until `done` holds (the poller works on its own task).
pub async fn settle_json(
    f: &Fixture,
    token: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        let (_, v) = f.get("/me/calendar", token).await;
        if done(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the calendar's state never came to that: {last}");
}
