//! Running an organisation on a live server: invites, deactivation, deletion, roles, password
//! resets and changes, team membership, devices and keys, the audit log — over REST and from the
//! admin CLI writing to the database while the server runs.

use crate::support::*;
use clock::Clock;
use presence::{DeviceActivity, Span, StatusId, UserId};
use protocol::ServerMessage;
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(
    an_invited_person_sets_a_password_with_the_code_and_teammates_see_them_at_once,
    an_invite_that_expired_was_withdrawn_or_used_signs_no_one_in,
    a_deactivated_person_is_closed_out_shown_offline_and_can_come_back,
    a_deleted_person_goes_with_their_notifications_and_from_the_panels,
    roles_change_and_an_organisation_keeps_an_administrator,
    a_password_reset_and_a_password_change,
    team_membership_renames_and_deletions_reach_connected_panels,
    devices_and_api_keys_are_listed_and_revoked_per_person_and_organisation,
    the_audit_log_says_who_did_what_when,
    another_organisations_people_are_not_found,
    the_admin_cli_changes_a_running_server_at_once,
    the_directory_finds_everyone_in_the_organisation_as_teammates_see_them,
);

const NEW_PASSWORD: &str = "a much longer one";

fn is_snapshot_with(user: &UserId, present: bool) -> impl Fn(&ServerMessage) -> bool + '_ {
    move |m| matches!(m, ServerMessage::TeamSnapshot { members, .. } if members.iter().any(|x| &x.user == user) == present)
}

fn message(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap_or_default()
}

async fn invite(f: &Fixture, admin: &str, email: &str) -> Value {
    let (code, made) = f
        .post(
            "/admin/invites",
            admin,
            json!({"email": email, "name": "Ivy New", "teams": [f.team]}),
        )
        .await;
    assert_eq!(code, 201, "{made}");
    made
}

async fn redeem(f: &Fixture, code: &str, password: &str, device: &str) -> (u16, Value) {
    let r = f
        .http
        .post(f.url("/sessions/code"))
        .json(&json!({"code": code, "password": password, "device": device}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn an_invited_person_sets_a_password_with_the_code_and_teammates_see_them_at_once(
    b: Backend,
) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let mut bea = f.online(&f.bea, "laptop").await;
    let made = invite(&f, &admin, "ivy@one.test").await;
    let code = made["code"].as_str().unwrap();
    assert!(code.starts_with("pc_"), "{made}");
    assert!(made["link"].as_str().unwrap().ends_with(code), "{made}");
    assert_eq!(made["invite"]["state"], "pending");
    // Nobody can sign in as the invited person before the code is used.
    let (status, _) = f.sign_in("ivy@one.test", NEW_PASSWORD, "phone").await;
    assert_eq!(status, 401);
    // Too short a password: refused, the code still works afterwards.
    let (status, e) = redeem(&f, code, "short", "phone").await;
    assert_eq!(status, 422, "{e}");
    assert!(message(&e).contains("at least 8"), "{e}");
    let (status, signed) = redeem(&f, code, NEW_PASSWORD, "phone").await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["name"], "Ivy New");
    let ivy = UserId::parse(signed["user"].as_str().unwrap()).unwrap();
    // A teammate already connected gets a panel with the new person in it, at once.
    bea.until(
        "a snapshot with the new person",
        is_snapshot_with(&ivy, true),
    )
    .await;
    // The new person's token works over the WebSocket and they see their team.
    let token = signed["token"].as_str().unwrap();
    let mut ivy_ws = Client::connect(f.addr(), token, "phone", None).await;
    assert!(ivy_ws.members.iter().any(|m| m.user == f.bea));
    ivy_ws.report(DeviceActivity::Active, false).await;
    bea.until(
        "the new person available",
        delta_for(&ivy, StatusId::AVAILABLE),
    )
    .await;
    // And the password they set signs them in on another device.
    let (status, _) = f.sign_in("ivy@one.test", NEW_PASSWORD, "desk").await;
    assert_eq!(status, 201);
    let (_, list) = f.get("/admin/invites", &admin).await;
    assert_eq!(list["invites"][0]["state"], "used", "{list}");
    // An invite for an email that has an account is a conflict.
    let (status, e) = f
        .post("/admin/invites", &admin, json!({"email": "bea@one.test"}))
        .await;
    assert_eq!(status, 409, "{e}");
    f.finish().await;
}

async fn an_invite_that_expired_was_withdrawn_or_used_signs_no_one_in(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let used = invite(&f, &admin, "used@one.test").await;
    let code = used["code"].as_str().unwrap();
    assert_eq!(redeem(&f, code, NEW_PASSWORD, "d1").await.0, 201);
    let (status, e) = redeem(&f, code, NEW_PASSWORD, "d2").await;
    assert_eq!(status, 401);
    assert!(message(&e).contains("used already"), "{e}");

    let withdrawn = invite(&f, &admin, "gone@one.test").await;
    let id = withdrawn["invite"]["id"].as_str().unwrap();
    let (status, _) = f
        .call(
            Method::DELETE,
            &format!("/admin/invites/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, e) = redeem(&f, withdrawn["code"].as_str().unwrap(), NEW_PASSWORD, "d").await;
    assert_eq!(status, 401);
    assert!(message(&e).contains("withdrawn"), "{e}");

    // A second invite to the same email replaces the first.
    let first = invite(&f, &admin, "twice@one.test").await;
    let second = invite(&f, &admin, "twice@one.test").await;
    assert_eq!(
        redeem(&f, first["code"].as_str().unwrap(), NEW_PASSWORD, "d")
            .await
            .0,
        401
    );

    // Expiry is exact: usable up to the last millisecond, not at the instant.
    let expires = second["invite"]["expires_at"].as_i64().unwrap();
    f.clock.set(presence::Timestamp(expires));
    let (status, e) = redeem(&f, second["code"].as_str().unwrap(), NEW_PASSWORD, "d").await;
    assert_eq!(status, 401);
    assert!(message(&e).contains("expired"), "{e}");
    let (_, list) = f.get("/admin/invites", &admin).await;
    let states: Vec<&str> = list["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"expired") && states.contains(&"revoked") && states.contains(&"used"),
        "{list}"
    );
    // A made-up code says what to do.
    let (status, e) = redeem(&f, "pc_nothing", NEW_PASSWORD, "d").await;
    assert_eq!(status, 401);
    assert!(message(&e).contains("administrator"), "{e}");
    f.finish().await;
}

async fn a_deactivated_person_is_closed_out_shown_offline_and_can_come_back(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let mut cal = f.online(&f.cal, "desk").await;
    let mut bea = f.online(&f.bea, "laptop").await;
    cal.until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    let bea_token = f.token(&f.bea, "phone").await;
    let (status, u) = f
        .call(
            Method::PATCH,
            &format!("/admin/users/{}", f.bea.as_str()),
            &admin,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["active"], false);
    assert_eq!(u["devices"], 0);
    // Her open session is told why and closed; teammates see her Offline at once.
    let why = bea
        .until("the reason", |m| matches!(m, ServerMessage::Error { .. }))
        .await;
    assert!(format!("{why:?}").contains("deactivated"), "{why:?}");
    assert!(bea.closed().await);
    cal.until("bea offline", delta_for(&f.bea, StatusId::OFFLINE))
        .await;
    assert_eq!(f.seen(&f.bea).await, StatusId::OFFLINE);
    // Her tokens and her password no longer work, and each says why.
    let (status, e) = f.get("/me", &bea_token).await;
    assert_eq!(status, 401);
    assert!(message(&e).contains("deactivated"), "{e}");
    let (status, e) = f.sign_in("bea@one.test", PASSWORD, "laptop").await;
    assert_eq!(status, 403);
    assert!(message(&e).contains("deactivated"), "{e}");
    // A wrong password says nothing about the account.
    let (status, e) = f.sign_in("bea@one.test", "wrong password", "laptop").await;
    assert_eq!(status, 401);
    assert!(!message(&e).contains("deactivated"), "{e}");
    // Notifications to her are refused, not stored to be lost.
    let (status, e) = f
        .post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": "hello"}),
        )
        .await;
    assert_eq!(status, 409, "{e}");
    // Her history stays: reactivated, she signs in with her password.
    let (status, u) = f
        .call(
            Method::PATCH,
            &format!("/admin/users/{}", f.bea.as_str()),
            &admin,
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!((status, &u["active"]), (200, &json!(true)));
    let (status, _) = f.sign_in("bea@one.test", PASSWORD, "laptop").await;
    assert_eq!(status, 201);
    // An administrator cannot deactivate themselves.
    let (status, e) = f
        .call(
            Method::PATCH,
            &format!("/admin/users/{}", f.admin.as_str()),
            &admin,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 409);
    assert!(message(&e).contains("another administrator"), "{e}");
    f.finish().await;
}

async fn a_deleted_person_goes_with_their_notifications_and_from_the_panels(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let (status, _) = f
        .post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": "for bea"}),
        )
        .await;
    assert_eq!(status, 201);
    let mut cal = f.online(&f.cal, "desk").await;
    let mut bea = f.online(&f.bea, "laptop").await;
    let (status, _) = f
        .call(Method::DELETE, "/admin/users/bea@one.test", &admin, None)
        .await;
    assert_eq!(status, 204);
    assert!(bea.closed().await);
    cal.until("a panel without bea", is_snapshot_with(&f.bea, false))
        .await;
    assert!(f.app().slot(&f.bea).is_none());
    let (status, _) = f
        .call(Method::GET, "/admin/users/bea@one.test", &admin, None)
        .await;
    assert_eq!(status, 404);
    // The email is free again, and the new account starts with no notifications.
    let (status, u) = f
        .post(
            "/admin/users",
            &admin,
            json!({"email": "bea@one.test", "name": "Bea again", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{u}");
    let (_, signed) = f.sign_in("bea@one.test", PASSWORD, "laptop").await;
    let (_, page) = f
        .get("/notifications", signed["token"].as_str().unwrap())
        .await;
    assert_eq!(page["notifications"], json!([]), "{page}");
    // The deletion is in the audit log.
    let (_, audit) = f.get("/admin/audit", &admin).await;
    assert!(audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "user.delete"
            && e["target"].as_str().unwrap().contains("bea@one.test")));
    f.finish().await;
}

async fn roles_change_and_an_organisation_keeps_an_administrator(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let bea = f.token(&f.bea, "desk").await;
    let (status, _) = f.get("/admin/users", &bea).await;
    assert_eq!(status, 403);
    let path = format!("/admin/users/{}", f.bea.as_str());
    let (status, u) = f
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"role": "admin", "name": "Bea B"})),
        )
        .await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(
        (u["role"].as_str(), u["name"].as_str()),
        (Some("admin"), Some("Bea B"))
    );
    // Her existing token now carries the role.
    let (status, list) = f.get("/admin/users", &bea).await;
    assert_eq!(status, 200);
    assert_eq!(list["users"].as_array().unwrap().len(), 4, "{list}");
    // She takes the role from the first administrator; nobody can take it from the last.
    let (status, _) = f
        .call(
            Method::PATCH,
            &format!("/admin/users/{}", f.admin.as_str()),
            &bea,
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = f.get("/admin/users", &admin).await;
    assert_eq!(status, 403);
    let err = f
        .app()
        .update_user(
            &Actor::command_line(),
            &f.org,
            f.bea.as_str(),
            protocol::rest::UpdateUser {
                role: Some(protocol::rest::Role::Member),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("only administrator"), "{err}");
    f.finish().await;
}

async fn a_password_reset_and_a_password_change(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let mut bea = f.online(&f.bea, "laptop").await;
    let (status, reset) = f
        .post(
            "/admin/users/bea@one.test/password-reset",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{reset}");
    assert!(bea.closed().await, "a reset signs her devices out");
    let (status, e) = f.sign_in("bea@one.test", PASSWORD, "laptop").await;
    assert_eq!(status, 401);
    assert!(message(&e).contains("reset code"), "{e}");
    let (_, u) = f.get("/admin/users/bea@one.test", &admin).await;
    assert_eq!(u["password_reset"], true);
    let (status, signed) =
        redeem(&f, reset["code"].as_str().unwrap(), NEW_PASSWORD, "laptop").await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["user"], f.bea.as_str());
    let (status, _) = f.sign_in("bea@one.test", NEW_PASSWORD, "phone").await;
    assert_eq!(status, 201);

    // Her own change: the current password first; other devices signed out if she asks.
    let laptop = signed["token"].as_str().unwrap().to_string();
    let phone = f.token(&f.bea, "phone").await;
    let (status, e) = f
        .call(
            Method::PUT,
            "/me/password",
            &laptop,
            Some(json!({"current": "not it", "new": "another long one"})),
        )
        .await;
    assert_eq!(status, 403);
    assert!(message(&e).contains("nothing was changed"), "{e}");
    let (status, devices) = f.get("/me/devices", &laptop).await;
    assert_eq!(status, 200);
    let list = devices["devices"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{devices}");
    assert!(list
        .iter()
        .any(|d| d["device"] == "laptop" && d["current"] == true));
    let (status, _) = f
        .call(
            Method::PUT,
            "/me/password",
            &laptop,
            Some(json!({"current": NEW_PASSWORD, "new": "another long one", "sign_out_others": true})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(f.get("/me", &phone).await.0, 401);
    assert_eq!(f.get("/me", &laptop).await.0, 200);
    assert_eq!(
        f.sign_in("bea@one.test", "another long one", "x").await.0,
        201
    );
    f.finish().await;
}

async fn team_membership_renames_and_deletions_reach_connected_panels(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let mut bea = f.online(&f.bea, "laptop").await;
    assert!(!bea.members.iter().any(|m| m.user == f.dan));
    let members = format!("/admin/teams/{}/members/{}", f.team, f.dan.as_str());
    let (status, team) = f.call(Method::PUT, &members, &admin, None).await;
    assert_eq!(status, 200, "{team}");
    bea.until("a panel with dan", is_snapshot_with(&f.dan, true))
        .await;
    let (status, e) = f.call(Method::PUT, &members, &admin, None).await;
    assert_eq!(status, 409, "{e}");
    // A person in several teams: a second team with dan and cal.
    let (status, second) = f
        .post("/admin/teams", &admin, json!({"name": "Night shift"}))
        .await;
    assert_eq!(status, 201, "{second}");
    let night = second["id"].as_str().unwrap();
    for who in [&f.dan, &f.cal] {
        let (status, _) = f
            .call(
                Method::PUT,
                &format!("/admin/teams/{night}/members/{}", who.as_str()),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = f.call(Method::DELETE, &members, &admin, None).await;
    assert_eq!(status, 200);
    bea.until("a panel without dan", is_snapshot_with(&f.dan, false))
        .await;
    // Dan still sees cal through the second team.
    let dan = f.online(&f.dan, "desk").await;
    assert!(dan.members.iter().any(|m| m.user == f.cal));
    assert!(!dan.members.iter().any(|m| m.user == f.bea));
    let (status, renamed) = f
        .call(
            Method::PATCH,
            &format!("/admin/teams/{night}"),
            &admin,
            Some(json!({"name": "Late shift"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("Late shift"))
    );
    let (status, _) = f
        .call(
            Method::DELETE,
            &format!("/admin/teams/{night}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, teams) = f.get("/admin/teams", &admin).await;
    assert_eq!(teams["teams"].as_array().unwrap().len(), 1, "{teams}");
    let (_, me) = f.get("/me", &f.token(&f.dan, "x").await).await;
    assert_eq!(me["teams"], json!([]));
    f.finish().await;
}

async fn devices_and_api_keys_are_listed_and_revoked_per_person_and_organisation(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let mut laptop = f.online(&f.bea, "laptop").await;
    let phone = f.online(&f.bea, "phone").await;
    let mut cal = f.online(&f.cal, "desk").await;
    let (_, all) = f.get("/admin/devices", &admin).await;
    assert!(all["devices"].as_array().unwrap().len() >= 4, "{all}");
    let (status, hers) = f.get("/admin/users/bea@one.test/devices", &admin).await;
    assert_eq!(status, 200);
    let hers = hers["devices"].as_array().unwrap().clone();
    assert_eq!(hers.len(), 2, "{hers:?}");
    assert!(
        hers.iter().all(|d| d["activity"]["state"] == "active"),
        "{hers:?}"
    );
    let (status, _) = f
        .call(
            Method::DELETE,
            "/admin/users/bea@one.test/devices/laptop",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(laptop.closed().await);
    // Her phone is still there, so teammates see no change.
    cal.none("bea going offline", delta_for(&f.bea, StatusId::OFFLINE))
        .await;
    let (_, hers) = f.get("/admin/users/bea@one.test/devices", &admin).await;
    assert_eq!(hers["devices"].as_array().unwrap().len(), 1);
    let (status, e) = f
        .call(
            Method::DELETE,
            "/admin/users/bea@one.test/devices/laptop",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 404, "{e}");
    drop(phone);

    let (status, made) = f
        .post("/admin/keys", &admin, json!({"name": "calendar"}))
        .await;
    assert_eq!(status, 201, "{made}");
    let secret = made["secret"].as_str().unwrap().to_string();
    assert_eq!(made["key"]["created_by"], f.admin.as_str());
    let (_, keys) = f.get("/admin/keys", &admin).await;
    assert!(keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k.get("secret").is_none()));
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    let id = made["key"]["id"].as_str().unwrap();
    let (status, _) = f
        .call(Method::DELETE, &format!("/admin/keys/{id}"), &admin, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = f
        .post(
            "/notifications",
            &secret,
            json!({"user": "bea@one.test", "title": "x"}),
        )
        .await;
    assert_eq!(status, 401);
    f.finish().await;
}

async fn the_audit_log_says_who_did_what_when(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    f.clock.advance(Span::seconds(5));
    invite(&f, &admin, "ivy@one.test").await;
    f.clock.advance(Span::seconds(5));
    let (status, _) = f
        .call(
            Method::PUT,
            "/admin/policy",
            &admin,
            Some(json!({"idle_after_secs": 600})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, page) = f.get("/admin/audit?limit=2", &admin).await;
    assert_eq!(status, 200, "{page}");
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries[0]["action"], "policy.update");
    assert_eq!(entries[1]["action"], "invite.create");
    assert_eq!(entries[0]["actor_id"], f.admin.as_str());
    assert!(entries[0]["actor"]
        .as_str()
        .unwrap()
        .contains("admin@one.test"));
    assert_eq!(entries[0]["at"].as_i64().unwrap(), f.clock.now().0);
    assert!(entries[1]["target"]
        .as_str()
        .unwrap()
        .contains("ivy@one.test"));
    // Older pages follow.
    let before = page["next_before"].as_i64().unwrap();
    let (_, older) = f
        .get(&format!("/admin/audit?before={before}"), &admin)
        .await;
    assert!(older["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "user.create"));
    // Members cannot read it; another organisation's log is its own.
    assert_eq!(
        f.get("/admin/audit", &f.token(&f.bea, "d").await).await.0,
        403
    );
    let eve_admin = f
        .app()
        .create_user(
            &f.org2,
            "admin@two.test",
            "Two",
            PASSWORD,
            presently_server::db::Role::Admin,
            "UTC",
            &[],
        )
        .await
        .unwrap();
    let (_, theirs) = f.get("/admin/audit", &f.token(&eve_admin, "d").await).await;
    assert!(
        theirs["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["target"].as_str().unwrap().contains("one.test")),
        "{theirs}"
    );
    f.finish().await;
}

async fn another_organisations_people_are_not_found(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    for (method, path, body) in [
        (
            Method::GET,
            format!("/admin/users/{}", f.eve.as_str()),
            None,
        ),
        (
            Method::PATCH,
            format!("/admin/users/{}", f.eve.as_str()),
            Some(json!({"active": false})),
        ),
        (
            Method::DELETE,
            format!("/admin/users/{}", f.eve.as_str()),
            None,
        ),
        (
            Method::POST,
            format!("/admin/users/{}/password-reset", f.eve.as_str()),
            Some(json!({})),
        ),
        (
            Method::PUT,
            format!("/admin/teams/{}/members/{}", f.team2, f.bea.as_str()),
            None,
        ),
        (
            Method::PUT,
            format!("/admin/teams/{}/members/{}", f.team, f.eve.as_str()),
            None,
        ),
        (Method::DELETE, format!("/admin/teams/{}", f.team2), None),
    ] {
        let (status, e) = f.call(method.clone(), &path, &admin, body).await;
        assert_eq!(status, 404, "{method} {path}: {e}");
    }
    assert!(f.app().slot(&f.eve).unwrap().active);
    f.finish().await;
}

/// The real `presently-server admin` binary on the database of a running server.
async fn cli(f: &Fixture, args: &[&str]) -> String {
    let (url, owned) = (
        f.db.url.clone(),
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_presently-server"))
            .args(["--database-url", &url, "admin"])
            .args(&owned)
            .env("PRESENTLY_PASSWORD", PASSWORD)
            .output()
    })
    .await
    .unwrap()
    .expect("the admin CLI runs");
    assert!(
        out.status.success(),
        "presently-server admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn the_admin_cli_changes_a_running_server_at_once(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut cal = f.online(&f.cal, "desk").await;
    // A person made by the CLI signs in at once and is in teammates' panels.
    let id = cli(
        &f,
        &[
            "create-user",
            "--org",
            "Org one",
            "--email",
            "cli@one.test",
            "--name",
            "From CLI",
            "--team",
            &f.team,
        ],
    )
    .await;
    let (status, signed) = f.sign_in("cli@one.test", PASSWORD, "laptop").await;
    assert_eq!(status, 201, "{signed}");
    let new = UserId::parse(id).unwrap();
    cal.until("a panel with the new person", is_snapshot_with(&new, true))
        .await;
    // An invite made by the CLI works on the server.
    let code = cli(
        &f,
        &[
            "invite",
            "--org",
            &f.org,
            "--email",
            "inv@one.test",
            "--name",
            "Inv",
        ],
    )
    .await;
    assert_eq!(redeem(&f, &code, NEW_PASSWORD, "d").await.0, 201);
    // A deactivation by the CLI closes the person's session and shows them Offline.
    let mut bea = f.online(&f.bea, "laptop").await;
    cal.until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    cli(
        &f,
        &["deactivate", "--org", &f.org, "--user", "bea@one.test"],
    )
    .await;
    assert!(
        bea.closed().await,
        "the server closed the deactivated person's session"
    );
    cal.until("bea offline", delta_for(&f.bea, StatusId::OFFLINE))
        .await;
    // Team membership from the CLI reaches a connected panel.
    cli(
        &f,
        &[
            "add-member",
            "--org",
            &f.org,
            "--team",
            &f.team,
            "--user",
            f.dan.as_str(),
        ],
    )
    .await;
    cal.until("a panel with dan", is_snapshot_with(&f.dan, true))
        .await;
    // And the audit log names the command line.
    let admin = f.token(&f.admin, "desk").await;
    let (_, audit) = f.get("/admin/audit", &admin).await;
    let first = &audit["entries"][0];
    assert_eq!(first["action"], "team.add_member", "{audit}");
    assert!(first["actor"].as_str().unwrap().contains("command line"));
    assert!(cli(&f, &["audit", "--org", &f.org])
        .await
        .contains("user.deactivate"));
    f.finish().await;
}

async fn the_directory_finds_everyone_in_the_organisation_as_teammates_see_them(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let dan = f.token(&f.dan, "desk").await;
    let names = |v: &Value| -> Vec<String> {
        v["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["email"].as_str().unwrap().to_string())
            .collect()
    };
    // Dan shares no team with anyone, and still finds the whole organisation — not another's.
    let (status, all) = f.get("/directory", &dan).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        names(&all),
        [
            "admin@one.test",
            "bea@one.test",
            "cal@one.test",
            "dan@one.test"
        ]
    );
    assert_eq!(all["more"], false);
    // By name or email words, by team name, any case.
    let (_, found) = f.get("/directory?q=BEA", &dan).await;
    assert_eq!(names(&found), ["bea@one.test"]);
    let (_, core) = f.get("/directory?q=core", &dan).await;
    assert_eq!(names(&core).len(), 3, "{core}");
    assert_eq!(core["people"][0]["teams"][0]["name"], "Core");
    // By what people are shown as; Invisible is Offline here as everywhere.
    let mut bea = f.online(&f.bea, "laptop").await;
    // Her report is applied before her heartbeat is answered: only then ask over HTTP.
    bea.barrier().await;
    let (_, available) = f.get("/directory?family=available", &dan).await;
    assert_eq!(names(&available), ["bea@one.test"]);
    bea.request(|request| protocol::ClientMessage::Change {
        request,
        change: presence::Change::SetStatus {
            status: StatusId::INVISIBLE,
            until: None,
        },
    })
    .await;
    let (_, available) = f.get("/directory?family=available", &dan).await;
    assert_eq!(names(&available), Vec::<String>::new());
    let (_, found) = f.get("/directory?q=bea", &dan).await;
    assert_eq!(
        found["people"][0]["member"]["view"]["status"]["status"],
        "offline"
    );
    // Deactivated people are not listed; a page says when there were more.
    let admin = f.token(&f.admin, "desk").await;
    f.call(
        Method::PATCH,
        "/admin/users/cal@one.test",
        &admin,
        Some(json!({"active": false})),
    )
    .await;
    let (_, some) = f.get("/directory?limit=2", &dan).await;
    assert_eq!(names(&some), ["admin@one.test", "bea@one.test"]);
    assert_eq!(some["more"], true);
    let (_, all) = f.get("/directory", &dan).await;
    assert!(!names(&all).contains(&"cal@one.test".to_string()));
    let (status, e) = f.get("/directory?family=purple", &dan).await;
    assert_eq!(status, 422, "{e}");
    f.finish().await;
}
