//! The accounts' smaller rules: the audit log paged without skipping, the password rule
//! everywhere, teams named twice, emails without regard to case (and a database that breaks
//! that named before an upgrade), another organisation's email not revealed, a demoted
//! administrator's board, request ids, stored text, typed errors.

use crate::edges::{redeem, NEW_PASSWORD};
use crate::support::*;
use protocol::{ClientMessage, ServerMessage};
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(
    the_audit_log_pages_entries_of_one_millisecond_without_skipping,
    the_rest_of_the_accounts_edges_hold,
    a_database_with_emails_differing_in_case_is_named_before_the_upgrade,
);

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
