//! The account's edges under concurrency: a one-time code redeemed by several callers at once,
//! an invite withdrawn or replaced while it is being redeemed, a sign-in in flight while an
//! administrator resets the password or deactivates the account. Whatever order things land
//! in, a code makes one account or one token at most, and no token outlives the credentials it
//! was issued for. (A redemption or a sign-in spends most of its time hashing or checking the
//! password, before anything is stored: the administrator's change lands in that gap.)

use crate::support::*;
use futures_util::future::join_all;
use protocol::{ClientMessage, ServerMessage};
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(
    one_reset_code_redeemed_by_eight_at_once_gives_one_working_token,
    an_invite_withdrawn_during_its_redemption_makes_no_account,
    an_admin_invite_replaced_during_its_redemption_makes_no_administrator,
    a_sign_in_racing_a_reset_or_a_deactivation_gets_no_working_token,
    a_deactivated_person_is_offline_to_everyone_never_rung_never_assigned,
    connections_are_capped_per_device_person_and_address,
    a_person_is_signed_in_on_a_bounded_number_of_devices,
    the_audit_log_pages_entries_of_one_millisecond_without_skipping,
    the_rest_of_the_accounts_edges_hold,
    a_database_with_emails_differing_in_case_is_named_before_the_upgrade,
    every_answer_carries_the_security_headers,
);

const NEW_PASSWORD: &str = "a much longer one";

async fn redeem(f: &Fixture, code: &str, password: &str, device: &str) -> (u16, Value) {
    let r = f
        .http
        .post(f.url("/sessions/code"))
        .json(&json!({"code": code, "password": password, "device": device, "name": "Ivy New"}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Whether `token` works now.
async fn works(f: &Fixture, token: &str) -> bool {
    f.get("/me", token).await.0 == 200
}

async fn one_reset_code_redeemed_by_eight_at_once_gives_one_working_token(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let (status, reset) = f
        .post(
            "/admin/users/bea@one.test/password-reset",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{reset}");
    let code = reset["code"].as_str().unwrap();
    let passwords: Vec<String> = (0..8).map(|i| format!("password number {i}")).collect();
    let answers = join_all(passwords.iter().enumerate().map(|(i, p)| {
        redeem(
            &f,
            code,
            p,
            ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"][i],
        )
    }))
    .await;
    let won: Vec<usize> = (0..8).filter(|&i| answers[i].0 == 201).collect();
    assert_eq!(won.len(), 1, "one redemption wins: {answers:?}");
    for (i, (status, body)) in answers.iter().enumerate() {
        if *status != 201 {
            assert_eq!(*status, 401, "{body}");
        }
        if let Some(token) = body["token"].as_str() {
            assert_eq!(works(&f, token).await, i == won[0], "token {i}");
        }
    }
    // The password is the winner's, not a loser's (past the per-address sign-in limit the
    // eight redemptions used up).
    f.clock.advance(presence::Span::minutes(1));
    let loser = (won[0] + 1) % 8;
    assert_eq!(
        f.sign_in("bea@one.test", &passwords[won[0]], "check")
            .await
            .0,
        201
    );
    assert_eq!(
        f.sign_in("bea@one.test", &passwords[loser], "check")
            .await
            .0,
        401
    );
    f.finish().await;
}

async fn an_invite_withdrawn_during_its_redemption_makes_no_account(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    for round in 0..3 {
        let email = format!("racer{round}@one.test");
        let (status, made) = f
            .post(
                "/admin/invites",
                &admin,
                json!({"email": email, "name": "Ivy New", "teams": [f.team]}),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        let (code, id) = (
            made["code"].as_str().unwrap(),
            made["invite"]["id"].as_str().unwrap(),
        );
        let path = format!("/admin/invites/{id}");
        let ((redeemed, body), (withdrawn, _)) = tokio::join!(
            redeem(&f, code, NEW_PASSWORD, "phone"),
            f.call(Method::DELETE, &path, &admin, None)
        );
        let exists = f.get(&format!("/admin/users/{email}"), &admin).await.0 == 200;
        if withdrawn == 204 {
            assert!(
                !exists,
                "round {round}: the invite was withdrawn, yet the account exists"
            );
            assert_eq!(redeemed, 401, "round {round}: {body}");
        } else {
            assert_eq!(redeemed, 201, "round {round}: {body}");
            assert!(exists);
        }
        if let Some(token) = body["token"].as_str() {
            assert_eq!(works(&f, token).await, withdrawn != 204);
        }
    }
    f.finish().await;
}

async fn an_admin_invite_replaced_during_its_redemption_makes_no_administrator(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    for round in 0..3 {
        let email = format!("boss{round}@one.test");
        let (status, made) = f
            .post(
                "/admin/invites",
                &admin,
                json!({"email": email, "name": "Ivy New", "role": "admin", "teams": [f.team]}),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        let code = made["code"].as_str().unwrap();
        let ((redeemed, body), (replaced, _)) = tokio::join!(
            redeem(&f, code, NEW_PASSWORD, "phone"),
            f.post(
                "/admin/invites",
                &admin,
                json!({"email": email, "name": "Ivy New", "role": "member", "teams": [f.team]}),
            )
        );
        let (found, user) = f.get(&format!("/admin/users/{email}"), &admin).await;
        if replaced == 201 {
            assert_eq!(
                redeemed, 401,
                "round {round}: the admin invite was replaced: {body}"
            );
            assert_eq!(found, 404, "round {round}: {user}");
        } else {
            assert_eq!(redeemed, 201, "round {round}: {body}");
            assert_eq!(user["role"], "admin");
        }
    }
    f.finish().await;
}

async fn a_sign_in_racing_a_reset_or_a_deactivation_gets_no_working_token(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;

    // A reset while the password is being checked.
    let ((signed, body), (reset, _)) = tokio::join!(
        f.sign_in("bea@one.test", PASSWORD, "laptop"),
        f.post(
            "/admin/users/bea@one.test/password-reset",
            &admin,
            json!({})
        )
    );
    assert_eq!(reset, 201);
    if let Some(token) = body["token"].as_str() {
        assert!(
            !works(&f, token).await,
            "a token from the old password outlived the reset ({signed})"
        );
    }

    // A deactivation, then a reactivation: a sign-in in flight during the deactivation gets
    // nothing that works afterwards.
    let ((signed, body), (deactivated, _)) = tokio::join!(
        f.sign_in("cal@one.test", PASSWORD, "laptop"),
        f.call(
            Method::PATCH,
            "/admin/users/cal@one.test",
            &admin,
            Some(json!({"active": false}))
        )
    );
    assert_eq!(deactivated, 200);
    let (reactivated, _) = f
        .call(
            Method::PATCH,
            "/admin/users/cal@one.test",
            &admin,
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(reactivated, 200);
    if let Some(token) = body["token"].as_str() {
        assert!(
            !works(&f, token).await,
            "a token from a sign-in during the deactivation works after the reactivation ({signed})"
        );
    }
    // The account itself is fine: signing in again works.
    assert_eq!(f.sign_in("cal@one.test", PASSWORD, "laptop").await.0, 201);
    f.finish().await;
}

async fn a_deactivated_person_is_offline_to_everyone_never_rung_never_assigned(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let _cal = f.online(&f.cal, "desk").await;
    let _bea = f.online(&f.bea, "desk").await;
    // An administrator's status on her, from before: it does not outlive the deactivation.
    let (status, r) = f
        .call(
            Method::PUT,
            "/admin/users/bea@one.test/status",
            &admin,
            Some(json!({"status": "available"})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let (status, r) = f
        .call(
            Method::PATCH,
            "/admin/users/bea@one.test",
            &admin,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(f.seen(&f.bea).await, presence::StatusId::OFFLINE);

    // Setting her status now is refused, and changes nothing.
    for status in ["available", "busy"] {
        let (code, e) = f
            .call(
                Method::PUT,
                "/admin/users/bea@one.test/status",
                &admin,
                Some(json!({ "status": status })),
            )
            .await;
        assert_eq!(code, 409, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("deactivated"),
            "{e}"
        );
    }
    let (code, e) = f
        .post(
            "/integrations/events",
            &f.key,
            json!({"user": "bea@one.test", "kind": "call_started", "external_id": "c-1"}),
        )
        .await;
    assert_eq!(code, 409, "{e}");
    assert_eq!(f.seen(&f.bea).await, presence::StatusId::OFFLINE);
    let (_, me) = f.get("/directory?q=bea", &admin).await;
    assert!(
        !me.to_string().contains("\"available\""),
        "the directory shows her as Offline only: {me}"
    );

    // Never rung, never assigned, a direct call does not ring her.
    let (status, r) = f
        .post("/routing/team-call", &f.key, json!({"team": f.team}))
        .await;
    assert_eq!(status, 200, "{r}");
    assert!(!r["ring"].to_string().contains(f.bea.as_str()), "{r}");
    for _ in 0..4 {
        f.clock.advance(presence::Span::seconds(1));
        let (_, r) = f
            .post("/routing/assign", &f.key, json!({"team": f.team}))
            .await;
        assert_ne!(r["assignee"].as_str(), Some(f.bea.as_str()), "{r}");
    }
    let (_, r) = f
        .post(
            "/routing/direct-call",
            &f.key,
            json!({"user": "bea@one.test"}),
        )
        .await;
    assert_ne!(r["outcome"], "ring", "{r}");
    f.finish().await;
}

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
    let defaults = *hub.limits.read().unwrap();
    assert!(defaults.per_device >= 2 && defaults.per_person >= 16 && defaults.per_address >= 1000);
    *hub.limits.write().unwrap() = presently_server::hub::ConnectionLimits {
        per_device: 2,
        per_person: 3,
        per_address: 6,
    };
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
    second
        .none("a close", std::time::Duration::from_millis(300), |_| false)
        .await;

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

async fn cli_says(url: &str, args: &[&str]) -> (bool, String) {
    let (url, owned) = (
        url.to_string(),
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_presently-server"))
            .args(["--database-url", &url, "admin"])
            .args(&owned)
            .output()
    })
    .await
    .unwrap()
    .expect("the admin CLI runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn the_audit_log_pages_entries_of_one_millisecond_without_skipping(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    // The clock stands still: every change below is in one millisecond.
    for i in 0..7 {
        let (status, r) = f
            .post("/admin/teams", &admin, json!({"name": format!("Team {i}")}))
            .await;
        assert_eq!(status, 201, "{r}");
    }
    let (_, all) = f.get("/admin/audit?limit=500", &admin).await;
    let all: Vec<String> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let mut paged = Vec::new();
    let mut path = "/admin/audit?limit=3".to_string();
    loop {
        let (status, page) = f.get(&path, &admin).await;
        assert_eq!(status, 200, "{page}");
        for e in page["entries"].as_array().unwrap() {
            paged.push(e["id"].as_str().unwrap().to_string());
        }
        match (
            page["next_before"].as_i64(),
            page["next_before_id"].as_str(),
        ) {
            (Some(at), Some(id)) => {
                path = format!("/admin/audit?limit=3&before={at}&before_id={id}")
            }
            _ => break,
        }
        assert!(paged.len() <= all.len(), "pages repeat entries");
    }
    assert_eq!(paged, all, "every entry once, in order");
    f.finish().await;
}

async fn the_rest_of_the_accounts_edges_hold(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let message = |v: &Value| {
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    // The password rule, wherever an account gets a password.
    for password in ["short", &"x".repeat(201)] {
        let (status, e) = f
            .post(
                "/admin/users",
                &admin,
                json!({"email": "new@one.test", "name": "New", "password": password}),
            )
            .await;
        assert_eq!(status, 422, "{e}");
        assert!(message(&e).contains("password"), "{e}");
    }
    let (ok, said) = cli_says(
        &f.db.url,
        &[
            "create-user",
            "--org",
            &f.org,
            "--email",
            "cli@one.test",
            "--name",
            "Cli",
            "--password",
            "short",
        ],
    )
    .await;
    assert!(!ok && said.contains("too short"), "{said}");
    let fresh = tempfile::tempdir().unwrap();
    let fresh_url = format!("sqlite://{}", fresh.path().join("new.db").display());
    let (ok, said) = cli_says(
        &fresh_url,
        &[
            "init",
            "--org",
            "Another",
            "--email",
            "boss@another.test",
            "--name",
            "Boss",
            "--password",
            "short",
        ],
    )
    .await;
    assert!(!ok && said.contains("too short"), "{said}");

    // A team named twice is one team, never a 500; an invite naming one twice is redeemable.
    let (status, made) = f
        .post(
            "/admin/users",
            &admin,
            json!({"email": "twice@one.test", "name": "Twice", "password": NEW_PASSWORD, "teams": [f.team, f.team]}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let (status, invite) = f
        .post(
            "/admin/invites",
            &admin,
            json!({"email": "inv@one.test", "name": "Inv", "teams": [f.team, f.team]}),
        )
        .await;
    assert_eq!(status, 201, "{invite}");
    let (status, r) = redeem(&f, invite["code"].as_str().unwrap(), NEW_PASSWORD, "d").await;
    assert_eq!(status, 201, "{r}");

    // Emails without regard to case: sign-in, uniqueness, invites.
    assert_eq!(f.sign_in("BEA@One.Test", PASSWORD, "caps").await.0, 201);
    let (status, e) = f
        .post(
            "/admin/users",
            &admin,
            json!({"email": "Bea@ONE.test", "name": "Bea again", "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(status, 409, "{e}");
    assert!(message(&e).contains("in your organisation"), "{e}");
    let (status, e) = f
        .post("/admin/invites", &admin, json!({"email": "CAL@one.test"}))
        .await;
    assert_eq!(status, 409, "{e}");

    // Another organisation's email: nothing says it is there.
    let (status, invite) = f
        .post(
            "/admin/invites",
            &admin,
            json!({"email": "eve@two.test", "name": "Eve"}),
        )
        .await;
    assert_eq!(status, 201, "the invite is made as for anyone: {invite}");
    let (status, e) = f
        .post(
            "/admin/users",
            &admin,
            json!({"email": "Eve@two.test", "name": "Eve", "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(status, 409, "{e}");
    assert!(
        !message(&e).contains("organisation") && !message(&e).contains("Org two"),
        "{e}"
    );
    let (status, e) = redeem(&f, invite["code"].as_str().unwrap(), NEW_PASSWORD, "d").await;
    assert_eq!(status, 409, "{e}");
    assert!(message(&e).contains("sign in with it"), "{e}");
    assert_eq!(
        f.app().user_in_org(&f.org2, "eve@two.test").unwrap().name,
        "eve@two.test"
    );

    // A demoted administrator's open board closes at once.
    let (status, r) = f
        .post(
            "/admin/users",
            &admin,
            json!({"email": "second@one.test", "name": "Second", "password": NEW_PASSWORD, "role": "admin"}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    let second = presence::UserId::parse(r["id"].as_str().unwrap()).unwrap();
    let mut board = f.online(&second, "console").await;
    board.send(&ClientMessage::WatchBoard).await;
    board
        .until("the board", |m| {
            matches!(m, ServerMessage::BoardSnapshot { .. })
        })
        .await;
    let (status, r) = f
        .call(
            Method::PATCH,
            "/admin/users/second@one.test",
            &admin,
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let why = board
        .until("why", |m| matches!(m, ServerMessage::Error { .. }))
        .await;
    assert!(
        format!("{why:?}").contains("no longer an administrator"),
        "{why:?}"
    );
    assert!(board.closed().await);

    // A request id of any size is refused, on every frame that carries one.
    let mut bea = f.online(&f.bea, "desk").await;
    bea.send(&ClientMessage::MarkRead {
        request: protocol::RequestId("r".repeat(10_000)),
        notifications: vec![],
    })
    .await;
    let e = bea
        .until("the refusal", |m| matches!(m, ServerMessage::Error { .. }))
        .await;
    assert!(format!("{e:?}").contains("1 to 100 characters"), "{e:?}");

    // NUL in a stored string: the redirect menu's target.
    let (_, mut prefs) = f.get("/me/preferences", &admin).await;
    prefs["call"]["busy_action"] =
        json!({"action": "redirect_menu", "target": "Support\u{0}queue"});
    let (status, e) = f
        .call(Method::PUT, "/me/preferences", &admin, Some(prefs))
        .await;
    assert_eq!(status, 422, "{e}");

    // A demo note that cannot exist: a typed error, like every other.
    let r = f
        .http
        .get(f.url("/../../demo/notes/-1").replace("/api/v1/../..", ""))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("a JSON error");
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]["kind"].is_string(), "{body}");
    f.finish().await;
}

async fn a_database_with_emails_differing_in_case_is_named_before_the_upgrade(b: Backend) {
    let Some(db) = TestDb::new(b).await else {
        return;
    };
    // Two accounts made before emails were compared without regard to case.
    let app = presently_server::app::App::open_for_admin(
        presently_server::db::Db::connect(&db.url).await.unwrap(),
        clock::SystemClock::shared(),
    )
    .await
    .unwrap();
    let org = app.create_org("Org").await.unwrap().id;
    let first = app
        .create_user(
            &org,
            "same@one.test",
            "One",
            PASSWORD,
            presently_server::db::Role::Admin,
            "UTC",
            &[],
        )
        .await
        .unwrap();
    let second = app
        .create_user(
            &org,
            "other@one.test",
            "Two",
            PASSWORD,
            presently_server::db::Role::Member,
            "UTC",
            &[],
        )
        .await
        .unwrap();
    app.db.close().await;
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    for sql in [
        "DROP INDEX users_email_nocase",
        "DELETE FROM _sqlx_migrations WHERE version = 7",
        "UPDATE users SET email = 'Same@One.test' WHERE email = 'other@one.test'",
    ] {
        sqlx::query(sql).execute(&raw).await.unwrap();
    }
    raw.close().await;
    let e = presently_server::db::Db::connect(&db.url)
        .await
        .err()
        .expect("refused");
    let said = e.to_string();
    assert!(
        said.contains(&format!("{} <same@one.test>", first.as_str()))
            && said.contains(&format!("{} <Same@One.test>", second.as_str())),
        "{said}"
    );
    assert!(said.contains("nothing was changed"), "{said}");
    db.drop_db().await;
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
