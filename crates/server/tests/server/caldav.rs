//! A person's CalDAV calendar on a real CalDAV server started by the test (PyPI's Radicale, over
//! TLS on loopback with a CA made in the test, Basic authentication), with the server on the
//! manual clock: a wrong password is said at once; the server's own address leads to the
//! person's calendar of events (not their task list); its meetings make them In a meeting,
//! a recurring one's cancelled occurrence does not; an unchanged calendar costs one PROPFIND
//! (its sync-token), a changed one is read again; a calendar deleted on the server leaves no
//! meeting behind.

use crate::calendars::settle_json;
use crate::support::*;
use clock::Clock;
use presence::{Span, StatusId, Timestamp};
use presently_server::app::calendars::POLL_MS;
use presently_server::app::webhooks::WebhookOptions;
use presently_server::secrets::Sealer;
use reqwest::Method;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use test_support::tls::{TestCa, Validity};

on_both_databases!(a_caldav_calendar_makes_its_meetings_and_leaves_none_behind,);

/// Radicale on loopback over TLS, its log kept to count what it was asked.
struct Radicale {
    child: Child,
    base: String,
    ca_file: PathBuf,
    log: PathBuf,
    /// The test's own client, trusting the test CA, as the calendar's owner.
    http: reqwest::Client,
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const USER: &str = "bea-dav";
const PASSWORD: &str = "calendar app password";

impl Radicale {
    async fn start(dir: &Path) -> Option<Radicale> {
        let python = test_support::venv_python("radicale")?;
        let ca = TestCa::new(dir, "radicale");
        let issued = ca.issue(dir, "radicale", &["127.0.0.1"], Validity::Current);
        let users = dir.join("users");
        std::fs::write(&users, format!("{USER}:{PASSWORD}\n")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("radicale.log");
        let child = Command::new(python)
            .args(["-m", "radicale", "--config", ""])
            .args(["--server-hosts", &format!("127.0.0.1:{port}")])
            .args(["--server-ssl", "True"])
            .arg("--server-certificate")
            .arg(&issued.cert_file)
            .arg("--server-key")
            .arg(&issued.key_file)
            .args([
                "--auth-type",
                "htpasswd",
                "--auth-htpasswd-encryption",
                "plain",
            ])
            .arg("--auth-htpasswd-filename")
            .arg(&users)
            .args(["--auth-delay", "0", "--rights-type", "owner_only"])
            .arg("--storage-filesystem-folder")
            .arg(dir.join("store"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("Radicale starts");
        let ca_pem = std::fs::read(&ca.cert_file).unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca_pem).unwrap())
            .build()
            .unwrap();
        let radicale = Radicale {
            child,
            base: format!("https://127.0.0.1:{port}"),
            ca_file: ca.cert_file.clone(),
            log,
            http,
        };
        for _ in 0..100 {
            if radicale
                .http
                .get(format!("{}/.web/", radicale.base))
                .send()
                .await
                .is_ok()
            {
                return Some(radicale);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "Radicale did not answer: {}",
            std::fs::read_to_string(&radicale.log).unwrap_or_default()
        );
    }

    /// A request as the calendar's owner; its status.
    async fn ask(&self, method: &str, path: &str, body: String) -> u16 {
        self.http
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", self.base),
            )
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", "text/calendar; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// How many requests of `method` for `path` the server logged.
    fn asked(&self, method: &str, path: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&format!("{method} request for '{path}'")))
            .count()
    }
}

/// `20270115T100000Z` for a time.
fn utc(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.0)
        .unwrap()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

fn event(uid: &str, start: Timestamp, end: Timestamp, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{uid}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n",
        utc(start),
        utc(end)
    )
}

const TASKS_ONLY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>"#;

async fn a_caldav_calendar_makes_its_meetings_and_leaves_none_behind(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(dav) = Radicale::start(dir.path()).await else {
        f.finish().await;
        return;
    };
    f.app()
        .update_org(&Actor::system(), "test", String::new(), &f.org, |o| {
            o.policy.device_lease = Span::hours(24);
            Ok(())
        })
        .await
        .unwrap();
    f.app()
        .calendars
        .configure(Some(Sealer::new("the test's secrets key", &[]).unwrap()));
    f.app()
        .webhooks
        .configure(&WebhookOptions {
            ca_file: Some(dav.ca_file.clone()),
            allow_private_networks: true,
        })
        .unwrap();

    // The person's CalDAV account: a task list (first by name) and a calendar of events with a
    // standup, and a 1:1 every two hours whose second occurrence is cancelled.
    let now = f.clock.now();
    let minutes = |m: i64| now.plus(Span::minutes(m));
    let user_home = format!("/{USER}/");
    assert_eq!(
        dav.ask(
            "MKCALENDAR",
            &format!("{user_home}a-tasks/"),
            TASKS_ONLY.into()
        )
        .await,
        201
    );
    let work = format!("{user_home}work/");
    assert_eq!(dav.ask("MKCALENDAR", &work, String::new()).await, 201);
    assert_eq!(
        dav.ask(
            "PUT",
            &format!("{work}standup.ics"),
            event("standup", minutes(10), minutes(40), "")
        )
        .await,
        201
    );
    let second = minutes(180);
    assert_eq!(
        dav.ask(
            "PUT",
            &format!("{work}one-to-one.ics"),
            event(
                "one-to-one",
                minutes(60),
                minutes(90),
                &format!(
                    "RRULE:FREQ=HOURLY;INTERVAL=2;COUNT=3\r\nEXDATE:{}\r\n",
                    utc(second)
                )
            )
        )
        .await,
        201
    );

    let bea_token = f.token(&f.bea, "bea-web").await;
    let mut cal = f.online(&f.cal, "cal-desk").await;
    let _bea = f.online(&f.bea, "bea-desk").await;
    let caldav = |password: &str| json!({"kind": "caldav", "url": format!("{}/", dav.base), "user": USER, "password": password});

    // A wrong password is said while the person is there; nothing is kept.
    let (code, answer) = f
        .call(
            Method::PUT,
            "/me/calendar",
            &bea_token,
            Some(caldav("not it")),
        )
        .await;
    assert_eq!(code, 422, "{answer}");
    assert!(answer.to_string().contains("refuses"), "{answer}");
    let (code, _) = f.get("/me/calendar", &bea_token).await;
    assert_eq!(code, 404);
    // Without a password, the request says what is missing.
    let (code, answer) = f
        .call(
            Method::PUT,
            "/me/calendar",
            &bea_token,
            Some(json!({"kind": "caldav", "url": format!("{}/", dav.base), "user": USER})),
        )
        .await;
    assert_eq!(code, 422, "{answer}");
    assert!(answer.to_string().contains("password"), "{answer}");

    // The server's own address: the person's calendar of events is found and followed.
    let (code, answer) = f
        .call(
            Method::PUT,
            "/me/calendar",
            &bea_token,
            Some(caldav(PASSWORD)),
        )
        .await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["kind"], "caldav");
    assert_eq!(answer["shown"], format!("{USER} at https://127.0.0.1/…"));
    let row = f
        .app()
        .db
        .calendar_of(f.bea.as_str())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !row.sealed.contains(PASSWORD) && !row.sealed.contains("work"),
        "sealed at rest"
    );
    let read = settle_json(&f, &bea_token, |v| v["last_read"].is_number()).await;
    assert!(read["failing_since"].is_null(), "{read}");
    assert_eq!(
        dav.asked("REPORT", &work),
        1,
        "the calendar of events is read"
    );
    assert_eq!(
        dav.asked("REPORT", &format!("{user_home}a-tasks/")),
        0,
        "the task list is not"
    );

    // The standup: In a meeting for its span.
    f.clock.advance(Span::minutes(10));
    cal.until(
        "bea in the standup",
        delta_for(&f.bea, StatusId::IN_A_MEETING),
    )
    .await;
    f.clock.advance(Span::minutes(30));
    cal.until("the standup over", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    // The 1:1, not when it was cancelled, and again after.
    f.clock.advance(Span::minutes(20));
    cal.until("bea in the 1:1", delta_for(&f.bea, StatusId::IN_A_MEETING))
        .await;
    f.clock.advance(Span::minutes(30));
    cal.until("the 1:1 over", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    // Unchanged all this time: each poll asked for the version only. The polls run on a task
    // of their own that the deltas above do not wait for (on a busy machine the first may not
    // have run yet): one more interval, then wait for the second to reach the log.
    f.clock.advance(Span(POLL_MS));
    let mut versions = dav.asked("PROPFIND", &work);
    for _ in 0..200 {
        if versions >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        versions = dav.asked("PROPFIND", &work);
    }
    assert!(versions >= 2, "polled: {versions} PROPFINDs");
    assert_eq!(
        dav.asked("REPORT", &work),
        1,
        "an unchanged calendar is not read again"
    );
    f.clock.advance(Span::minutes(100));
    cal.none(
        "the cancelled occurrence",
        delta_for(&f.bea, StatusId::IN_A_MEETING),
    )
    .await;
    f.clock.advance(Span::minutes(110));
    cal.until(
        "bea in the third 1:1",
        delta_for(&f.bea, StatusId::IN_A_MEETING),
    )
    .await;
    f.clock.advance(Span::minutes(30));
    cal.until("the third 1:1 over", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;

    // A meeting added on the server: its sync-token changes, it is read at the next poll.
    let now = f.clock.now();
    assert_eq!(
        dav.ask(
            "PUT",
            &format!("{work}review.ics"),
            event(
                "review",
                now.plus(Span::minutes(10)),
                now.plus(Span::hours(2)),
                ""
            )
        )
        .await,
        201
    );
    f.clock.advance(Span(POLL_MS));
    f.clock.advance(Span::minutes(6));
    cal.until(
        "bea in the review",
        delta_for(&f.bea, StatusId::IN_A_MEETING),
    )
    .await;

    // The calendar is deleted on the server mid-meeting: the meeting goes at the next read, and
    // the person's settings say why.
    assert!(matches!(
        dav.ask("DELETE", &work, String::new()).await,
        200 | 204
    ));
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
    f.finish().await;
}
