//! The server's web admin console in a real browser (Debian's Chromium through chromedriver)
//! against a real server: an administrator signs in, invites a person, the person signs in with
//! the invite through the client core and appears live on the board; deactivated from the
//! console, they drop to Offline on the board and for a teammate's client core. Forms show the
//! server's error in place. Every page passes axe-core (no serious or critical violation), light
//! and dark.
//!
//! With `PRESENTLY_SCREENSHOTS=<dir>` it also saves the console's pages there
//! (`scripts/screenshots.sh` does, for the README).

mod support;

use presence::{DeviceId, StatusId, UserId};
use presently_client::notifier::Recorder;
use presently_client::session::Session;
use presently_client::store::Store;
use presently_client::sync::{self, Event, Options};
use presently_server::db::Role;
use serde_json::json;
use std::sync::Arc;
use support::{require, Server, PASSWORD};
use test_support::webdriver::{chromium, settle, Driver};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits for a client core to see `user` as `status`.
async fn sees(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    user: &UserId,
    status: StatusId,
) {
    let what = format!("the teammate's client to see {user:?} as {status}");
    support::next_event(events, &what, |e| match e {
        Event::Team { members } => members
            .iter()
            .any(|m| &m.user == user && m.view.status.status == status),
        Event::Delta { user: u, view } => u == user && view.status.status == status,
        _ => false,
    })
    .await;
}

/// What an element's `data-status` says once it is `want` (or its last reading after 5 s).
async fn status_of(d: &Driver, css: &str, want: &str) -> String {
    settle(want, || async {
        d.script(&format!(
            "const e = document.querySelector(\"{css}\"); return e ? e.dataset.status : '';"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_invites_a_person_who_appears_live_and_is_deactivated() {
    if !["chromium", "chromedriver"].iter().all(|t| require(t)) {
        return;
    }
    let server = Server::start().await;
    let app = server.app().clone();
    let team = app.teams_of_org(&server.org)[0].0.clone();
    app.create_user(
        &server.org,
        "admin@one.test",
        "Ada Admin",
        PASSWORD,
        Role::Admin,
        "UTC",
        std::slice::from_ref(&team),
    )
    .await
    .unwrap();
    let shots = std::env::var("PRESENTLY_SCREENSHOTS")
        .ok()
        .map(std::path::PathBuf::from);

    // A teammate's desktop client core, connected over WebSocket.
    let clients = tempfile::tempdir().unwrap();
    let bea_token = app
        .issue_token(&server.bea, &DeviceId::parse("laptop").unwrap())
        .await
        .unwrap();
    let bea_store = Store::open(&clients.path().join("bea.db")).await.unwrap();
    let bea = sync::spawn(
        bea_store,
        Arc::new(Recorder::default()),
        Options::new(
            &server.endpoint(),
            &bea_token,
            DeviceId::parse("laptop").unwrap(),
        ),
    )
    .0;
    let mut bea_events = bea.subscribe();

    let profile = tempfile::tempdir().unwrap();
    let (_chromedriver, d) = chromium(profile.path()).await;
    let console = format!("{}/admin/", server.url());

    // A wrong password: the server's words, in place.
    d.goto(&console).await;
    d.type_into("input[type=email]", "admin@one.test").await;
    d.type_into("input[type=password]", "not the password")
        .await;
    d.click("form[aria-label='Sign in'] button[type=submit]")
        .await;
    let said = settle("wrong email or password", || d.text("[role=alert]")).await;
    assert_eq!(said, "wrong email or password");
    d.type_into("input[type=password]", PASSWORD).await;
    d.click("form[aria-label='Sign in'] button[type=submit]")
        .await;
    d.find("nav a[href='#/people']").await;

    // Invite a person into the team.
    d.click("nav a[href='#/people']").await;
    d.type_into("input[name=invite-email]", "ivy@one.test")
        .await;
    d.type_into("input[name=invite-name]", "Ivy New").await;
    d.script(&format!(
        "const s = document.querySelector('select[name=invite-team]'); s.value = '{team}'; s.dispatchEvent(new Event('change'));"
    ))
    .await;
    d.click("form[aria-label='Send invite'] button[type=submit]")
        .await;
    let code = d.text("[data-testid=code]").await;
    assert!(
        code.starts_with("pc_"),
        "the console shows the code: {code}"
    );
    if let Some(dir) = &shots {
        d.screenshot(&dir.join("console-people.png")).await;
    }
    // Inviting someone who has an account: the error in place, nothing stored.
    d.type_into("input[name=invite-email]", "bea@one.test")
        .await;
    d.click("form[aria-label='Send invite'] button[type=submit]")
        .await;
    let said = settle(
        "bea@one.test already has an account in your organisation",
        || d.text("form[aria-label='Send invite'] [role=alert]"),
    )
    .await;
    assert_eq!(
        said,
        "bea@one.test already has an account in your organisation"
    );
    assert_eq!(app.invites(&server.org).await.unwrap().len(), 1);

    // The board, live.
    d.click("nav a[href='#/board']").await;
    let live = settle("● live", || d.text("[data-testid=live]")).await;
    assert_eq!(live, "● live");

    // The person signs in with the invite through the client core and comes online.
    let ivy_store = Store::open(&clients.path().join("ivy.db")).await.unwrap();
    let session = Session::redeem(
        &ivy_store,
        &server.endpoint(),
        &code,
        "ivy's own password",
        None,
        &presently_client::session::this_computer(),
    )
    .await
    .expect("the invite signs the person in");
    let ivy_id = app
        .people_of_org(&server.org)
        .into_iter()
        .find(|s| s.email == "ivy@one.test")
        .expect("the account exists")
        .id
        .clone();
    let ivy = sync::spawn(
        ivy_store,
        Arc::new(Recorder::default()),
        Options::new(&server.endpoint(), &session.token, session.device.clone()),
    )
    .0;
    let on_board = "li[data-person='Ivy New']";
    let status = status_of(&d, on_board, "available").await;
    assert_eq!(status, "available", "the board shows the new person live");
    sees(&mut bea_events, &ivy_id, StatusId::AVAILABLE).await;
    if let Some(dir) = &shots {
        d.screenshot(&dir.join("console-board.png")).await;
    }

    // Deactivated from the console: Offline on the board and for the teammate.
    d.click("nav a[href='#/people']").await;
    d.click("tr[data-user='ivy@one.test'] .actions button")
        .await;
    let status = settle("offline", || async {
        d.script(
            "const e = document.querySelector(\"tr[data-user='ivy@one.test'] td:nth-child(5)\"); return e ? e.textContent.trim().toLowerCase() : '';",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    })
    .await;
    assert_eq!(status, "offline");
    sees(&mut bea_events, &ivy_id, StatusId::OFFLINE).await;
    d.click("nav a[href='#/board']").await;
    let status = status_of(&d, on_board, "offline").await;
    assert_eq!(
        status, "offline",
        "the board shows the deactivated person Offline"
    );
    if let Some(dir) = &shots {
        d.click("nav a[href='#/audit']").await;
        d.find("td code").await;
        d.screenshot(&dir.join("console-audit.png")).await;
        d.click("nav a[href='#/rules']").await;
        d.find("tr[data-status]").await;
        d.click(".theme input").await;
        d.screenshot(&dir.join("console-rules-dark.png")).await;
    }
    // A photo for bea, chosen in the console's file picker: the row shows it (fetched with the
    // administrator's token, allowed by the console's content security policy).
    let photo = clients.path().join("bea.png");
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        120,
        90,
        image::Rgb([200, 90, 40]),
    ))
    .save(&photo)
    .unwrap();
    d.click("nav a[href='#/people']").await;
    let input = d
        .find("tr[data-user='bea@one.test'] .photo-button input")
        .await;
    d.call(
        reqwest::Method::POST,
        &format!("/element/{input}/value"),
        Some(json!({"text": photo.display().to_string()})),
    )
    .await;
    let shown = settle("true", || async {
        d.script(
            "const i = document.querySelector(\"tr[data-user='bea@one.test'] img[data-testid=avatar-photo]\"); \
             return String(!!i && i.complete && i.naturalWidth > 0);",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    })
    .await;
    assert_eq!(shown, "true", "bea's photo shows in the console");
    assert!(app.slot(&server.bea).unwrap().avatar.is_some());

    // A webhook added in the console: its secret shown once, a test sent, and its delivery
    // log read in place (nothing listens at the address, so the attempt failed in words).
    app.webhooks
        .configure(&presently_server::app::webhooks::WebhookOptions {
            ca_file: None,
            allow_private_networks: true,
        })
        .unwrap();
    let closed = free_port();
    d.click("nav a[href='#/access']").await;
    d.type_into(
        "input[name=webhook-url]",
        &format!("https://127.0.0.1:{closed}/hook"),
    )
    .await;
    d.type_into("input[name=webhook-description]", "wallboard")
        .await;
    d.click("form[aria-label='Add webhook'] button[type=submit]")
        .await;
    let secret = d.text("code.secret").await;
    assert!(
        secret.starts_with("whsec_"),
        "the secret is shown: {secret}"
    );
    let row = "tr[data-webhook]";
    d.find(row).await;
    d.click(&format!("{row} .actions button:nth-of-type(2)"))
        .await;
    d.click(&format!("{row} .actions button:nth-of-type(3)"))
        .await;
    let logged = settle("true", || async {
        d.script(
            "const b = [...document.querySelectorAll('.actions button')].find((x) => x.textContent === 'Deliveries'); const r = document.querySelector('tr[data-delivery]'); const done = !!r && r.textContent.includes('could not connect'); if (b && !done) { b.click(); b.click(); } return String(done);",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    })
    .await;
    assert_eq!(logged, "true", "the log shows the failed attempt");

    // Every page through axe-core in Chromium (colour contrast included: it needs a real
    // layout), light and dark: no serious or critical violation.
    let axe = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../ui/node_modules/axe-core/axe.min.js"
    ))
    .expect("axe-core comes with the UI's npm packages (scripts/setup.sh installs them)");
    for theme in ["light", "dark"] {
        for (page, heading) in [
            ("board", "#board-h"),
            ("people", "#people-h"),
            ("teams", "#teams-h"),
            ("access", "#devices-h"),
            ("rules", "#statuses-h"),
            ("audit", "#audit-h"),
        ] {
            d.click(&format!("nav a[href='#/{page}']")).await;
            d.find(heading).await;
            d.script(&format!(
                "document.documentElement.dataset.theme = '{theme}'; return true;"
            ))
            .await;
            let found = serious_violations(&d, &axe).await;
            assert!(
                found.is_empty(),
                "the console's {page} page ({theme}): {found:#?}"
            );
        }
    }
    if let Some(dir) = &shots {
        // The live board and the people in the dark, then at 200 % (Chromium's device scale
        // factor, as on a high-density screen) light and dark.
        // The theme as the console's own switch sets it (its box and the page agree).
        let theme = |dark: bool| {
            format!(
                "const i = document.querySelector('.theme input'); if (i.checked !== {dark}) i.click(); return true;"
            )
        };
        d.click("nav a[href='#/board']").await;
        d.find("li[data-person]").await;
        d.script(&theme(true)).await;
        d.screenshot(&dir.join("console-board-dark.png")).await;
        d.click("nav a[href='#/people']").await;
        d.find("tr[data-user]").await;
        d.screenshot(&dir.join("console-people-dark.png")).await;
        d.script(&theme(false)).await;
        d.click("nav a[href='#/board']").await;
        d.find("li[data-person]").await;
        d.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(
                json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": 1280, "height": 900, "deviceScaleFactor": 2, "mobile": false}}),
            ),
        )
        .await;
        d.screenshot(&dir.join("console-board@2x.png")).await;
        d.click("nav a[href='#/people']").await;
        d.find("tr[data-user]").await;
        d.screenshot(&dir.join("console-people@2x.png")).await;
        // The organisation's webhooks, with the form to add one.
        d.click("nav a[href='#/access']").await;
        d.find("#webhooks-h").await;
        d.script(
            "document.getElementById('webhooks-h').scrollIntoView({block: 'start'}); return true;",
        )
        .await;
        d.screenshot(&dir.join("console-webhooks@2x.png")).await;
        // The same pages at 200 % in the dark.
        d.script(&theme(true)).await;
        d.click("nav a[href='#/board']").await;
        d.find("li[data-person]").await;
        d.screenshot(&dir.join("console-board-dark@2x.png")).await;
        d.click("nav a[href='#/people']").await;
        d.find("tr[data-user]").await;
        d.screenshot(&dir.join("console-people-dark@2x.png")).await;
        d.script(&theme(false)).await;
    }
    drop(ivy);
    d.quit().await;
}

/// What axe-core finds serious or critical on the page now (injected once per page load).
async fn serious_violations(d: &Driver, axe: &str) -> Vec<String> {
    if d.script("return typeof window.axe;").await != "object" {
        d.script(&format!("{axe}\nreturn true;")).await;
    }
    let found = d
        .script(
            "return window.axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations \
               .filter((v) => v.impact === 'serious' || v.impact === 'critical') \
               .map((v) => v.id + ': ' + v.help + ' — ' + v.nodes.map((n) => n.html).join(' | ')));",
        )
        .await;
    found
        .as_array()
        .unwrap_or_else(|| panic!("axe-core ran: {found}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}
