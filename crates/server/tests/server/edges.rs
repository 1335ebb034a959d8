//! The account's edges under concurrency: a one-time code redeemed by several callers at once,
//! an invite withdrawn or replaced while it is being redeemed, a sign-in in flight while an
//! administrator resets the password or deactivates the account. Whatever order things land
//! in, a code makes one account or one token at most, and no token outlives the credentials it
//! was issued for; a deactivated person is Offline to everyone, never rung, never assigned. (A redemption or a sign-in spends most of its time hashing or checking the
//! password, before anything is stored: the administrator's change lands in that gap.)

use crate::support::*;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(
    one_reset_code_redeemed_by_eight_at_once_gives_one_working_token,
    an_invite_withdrawn_during_its_redemption_makes_no_account,
    an_admin_invite_replaced_during_its_redemption_makes_no_administrator,
    a_sign_in_racing_a_reset_or_a_deactivation_gets_no_working_token,
    a_deactivated_person_is_offline_to_everyone_never_rung_never_assigned,
);

pub(crate) const NEW_PASSWORD: &str = "a much longer one";

pub(crate) async fn redeem(f: &Fixture, code: &str, password: &str, device: &str) -> (u16, Value) {
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
