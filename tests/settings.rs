//! The person's own settings through the real window (WebDriver: tauri-driver in front of
//! WebKitWebDriver) and a real server: working hours, a Do not disturb schedule of two windows,
//! quiet hours, a teammate on the urgent allow-list, what a direct call does when busy and out
//! of hours, Forward to phone's number, auto-away off and a threshold, and out of office with a
//! message are saved together, are what the server stores (and teammates and the window's own
//! status show Out of office), and are what the window shows when Settings is opened again. A
//! time zone that does not exist is refused in words, and nothing changes.
//!
//! A status of the person's own, made in Settings, is in the window's status menu and the tray
//! after the organisation's; chosen from the tray it is what teammates see, with its name and
//! emoji and its family's rules, and removed while chosen it ends.
//!
//! With `PRESENTLY_SCREENSHOTS=<dir>` it saves the filled-in settings there
//! (`settings-schedule.png`, `settings-statuses.png`; `scripts/screenshots.sh` does).
#![cfg(target_os = "linux")]

mod support;

use presence::{BusyAction, PhoneNumber, Span, StatusId};
use std::time::Duration;
use support::{require, Desktop, TauriDriver, TestServer, Tray, PASSWORD};
use tokio::task::block_in_place;

const APP: &str = env!("CARGO_BIN_EXE_presently");

/// Sets a form control's value as a person's input would (an `input` and a `change` event):
/// time inputs and selects do not take WebDriver's keystrokes reliably in WebKitGTK.
fn set(css: &str, value: &str) -> String {
    format!(
        "const e = document.querySelector({css:?}); if (!e) return 'missing {css}'; e.value = {value:?}; \
         e.dispatchEvent(new Event('input', {{bubbles: true}})); e.dispatchEvent(new Event('change', {{bubbles: true}})); return 'ok';"
    )
}

/// Clicks a control that is drawn by its label (the day toggles hide their checkbox).
fn click(css: &str) -> String {
    format!("const e = document.querySelector({css:?}); if (!e) return 'missing {css}'; e.click(); return 'ok';")
}

/// The real app in its own desktop, signed in to `ts` as bea, and Available there.
struct Window {
    desktop: Desktop,
    /// Kept for the session's life (dropping it stops the app).
    _driver: TauriDriver,
    d: test_support::webdriver::Driver,
}

impl Window {
    async fn signed_in(ts: &TestServer) -> Window {
        let desktop = Desktop::start();
        let store = desktop.home.join("client.db");
        let server = ts.url();
        let driver = TauriDriver::start(
            &desktop,
            &store,
            &[
                ("PRESENTLY_SERVER", &server),
                ("PRESENTLY_EMAIL", "bea@one.test"),
                ("PRESENTLY_PASSWORD", PASSWORD),
            ],
        );
        let d = driver.session(APP).await;
        for _ in 0..100 {
            if ts.bea_status().await == StatusId::AVAILABLE {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(ts.bea_status().await, StatusId::AVAILABLE);
        Window {
            desktop,
            _driver: driver,
            d,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_persons_settings_are_saved_from_the_window_and_shown_again() {
    if !["Xvfb", "dbus-daemon", "tauri-driver", "WebKitWebDriver"]
        .iter()
        .all(|t| require(t))
    {
        return;
    }
    let ts = TestServer::start().await;
    // The organisation offers Forward to phone (off, the number field is disabled).
    ts.running
        .app
        .update_org(
            &presently_server::app::Actor::system(),
            "test",
            String::new(),
            &ts.org,
            |o| {
                o.catalog.forward_to_phone_enabled = true;
                Ok(())
            },
        )
        .await
        .unwrap();
    let Window {
        desktop,
        _driver,
        d,
    } = Window::signed_in(&ts).await;
    // The teammates are in the panel before Settings opens (the allow-list picks from them).
    d.wait_text("section[aria-labelledby=\"team-heading\"]", "Cal")
        .await;

    d.click("header button.settings-button[aria-expanded]")
        .await;
    d.find("[data-testid=\"save-settings\"]").await;
    d.type_into(
        "input[aria-label=\"Away after minutes without input\"]",
        "10",
    )
    .await;
    d.click("[data-testid=\"auto-away\"]").await;
    d.click("div[aria-label=\"Working hours\"] > button").await;
    d.click("div[aria-label=\"Do not disturb\"] > button").await;
    d.click("div[aria-label=\"Do not disturb\"] > button").await;
    for day in ["Mon", "Tue", "Wed", "Thu"] {
        let css = format!("input[aria-label=\"Do not disturb 2: {day}\"]");
        assert_eq!(d.script(&click(&css)).await, "ok");
    }
    for (css, value) in [
        ("input[aria-label=\"Do not disturb 2: from\"]", "14:00"),
        ("input[aria-label=\"Do not disturb 2: to\"]", "17:30"),
    ] {
        assert_eq!(d.script(&set(css, value)).await, "ok");
    }
    d.click("div[aria-label=\"Quiet hours\"] > button").await;
    d.click("input[aria-label=\"Urgent from Cal\"]").await;
    let steps = [
        (
            "select[aria-label=\"When I cannot take a call\"]",
            "redirect_user",
        ),
        (
            "select[aria-label=\"When I cannot take a call: teammate\"]",
            ts.cal.as_str(),
        ),
        (
            "select[aria-label=\"Outside working hours\"]",
            "redirect_number",
        ),
        (
            "input[aria-label=\"Outside working hours: number\"]",
            "+44 20 7946 0000",
        ),
    ];
    for (css, value) in steps {
        d.find(css).await;
        assert_eq!(d.script(&set(css, value)).await, "ok", "{css}");
    }
    d.type_into(
        "input[aria-label=\"Forward to phone number\"]",
        "+44 7700 900123",
    )
    .await;
    // Out of office since an hour ago, back in two days, with a message.
    d.click("[data-testid=\"out-of-office\"]").await;
    d.find("input[aria-label=\"Out of office from\"]").await;
    let local = "const p = (n) => String(n).padStart(2, '0'); \
                 const f = (ms) => { const d = new Date(ms); return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; };";
    for (label, offset) in [
        ("Out of office from", "-3600000"),
        ("Out of office until", "2 * 86400000"),
    ] {
        let script = format!(
            "{local} const e = document.querySelector('input[aria-label=\"{label}\"]'); e.value = f(Date.now() + {offset}); \
             e.dispatchEvent(new Event('input', {{bubbles: true}})); return 'ok';"
        );
        assert_eq!(d.script(&script).await, "ok");
    }
    d.type_into(
        "input[aria-label=\"Out-of-office message\"]",
        "At a conference until Friday",
    )
    .await;
    // This computer: no call detection from the microphone.
    d.click("[data-testid=\"call-detection\"]").await;
    if let Ok(dir) = std::env::var("PRESENTLY_SCREENSHOTS") {
        tokio::time::sleep(Duration::from_millis(300)).await;
        d.script("document.getElementById('settings-heading').scrollIntoView(); return 0;")
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let path = std::path::Path::new(&dir).join("settings-schedule.png");
        block_in_place(|| desktop.screenshot(&path));
    }
    // Saved from the button beside the sections (it submits the form from outside it).
    d.click(".settings-nav button[type=\"submit\"]").await;
    d.wait_text("p.notice", "Settings saved.").await;

    // What the server stores.
    let slot = ts.running.app.slot(&ts.bea).unwrap();
    let prefs = ts.running.app.person(&slot).await.preferences;
    assert_eq!(prefs.idle_after, Some(Span::minutes(10)));
    assert!(!prefs.auto_away, "auto-away off");
    let schedule = prefs.schedule.as_ref().expect("a schedule");
    assert_eq!(schedule.working_hours.len(), 1);
    assert_eq!(schedule.working_hours[0].days, vec![0, 1, 2, 3, 4]);
    assert_eq!(u16::from(schedule.working_hours[0].start), 9 * 60);
    assert_eq!(schedule.do_not_disturb.len(), 2, "{schedule:?}");
    assert_eq!(schedule.do_not_disturb[1].days, vec![4]);
    assert_eq!(u16::from(schedule.do_not_disturb[1].start), 14 * 60);
    assert_eq!(u16::from(schedule.do_not_disturb[1].end), 17 * 60 + 30);
    assert_eq!(schedule.quiet_hours.len(), 1);
    assert!(prefs.breakthrough.contains(&ts.cal));
    assert_eq!(
        prefs.call.busy_action,
        BusyAction::RedirectUser(ts.cal.clone())
    );
    assert_eq!(
        prefs.call.out_of_hours,
        Some(BusyAction::RedirectNumber(
            PhoneNumber::parse("+442079460000").unwrap()
        ))
    );
    assert_eq!(
        prefs.call.forward_to,
        Some(PhoneNumber::parse("+447700900123").unwrap())
    );

    let away = prefs.out_of_office.as_ref().expect("out of office");
    assert_eq!(
        away.message.as_ref().map(|m| m.as_str()),
        Some("At a conference until Friday")
    );
    assert!(away.until.0 - away.from.0 > 47 * 3_600_000, "{away:?}");
    // Teammates see it, and so does the window's own status.
    assert_eq!(ts.bea_status().await, StatusId::OUT_OF_OFFICE);
    assert_eq!(
        d.wait_text("[data-testid=\"my-status\"]", "Out of office")
            .await,
        "Out of office"
    );

    // Opened again: what was saved.
    d.click("header button.settings-button[aria-expanded]")
        .await;
    d.find("[data-testid=\"save-settings\"]").await;
    let shown = d
        .script(
            "return [document.querySelectorAll('div[aria-label=\"Do not disturb\"] [data-testid=window]').length, \
             document.querySelector('input[aria-label=\"Do not disturb 2: from\"]').value, \
             document.querySelector('input[aria-label=\"Forward to phone number\"]').value, \
             document.querySelector('input[aria-label=\"Urgent from Cal\"]').checked, \
             document.querySelector('[data-testid=auto-away]').checked, \
             document.querySelector('select[aria-label=\"When I cannot take a call: teammate\"]').value, \
             document.querySelector('[data-testid=call-detection]').checked];",
        )
        .await;
    assert_eq!(
        shown,
        serde_json::json!([
            2,
            "14:00",
            "+447700900123",
            true,
            false,
            ts.cal.as_str(),
            false
        ]),
    );

    // A time zone that does not exist: refused in the engine's words beside the time zone, and
    // the server keeps what it had.
    d.type_into("input[aria-label=\"Time zone\"]", "Mars/Olympus")
        .await;
    d.click("[data-testid=\"save-settings\"]").await;
    let error = d
        .wait_text(
            "[data-testid=\"fieldset-presence\"] p.warn[role=\"alert\"]",
            "Mars/Olympus",
        )
        .await;
    assert!(error.contains("Mars/Olympus"), "{error}");
    assert_eq!(ts.running.app.person(&slot).await.preferences, prefs);
    // A number not in international form: the engine's phone rule (the window has none of its
    // own), said beside the call settings.
    d.type_into("input[aria-label=\"Time zone\"]", "Europe/London")
        .await;
    d.type_into(
        "input[aria-label=\"Forward to phone number\"]",
        "07700 900123",
    )
    .await;
    d.click("[data-testid=\"save-settings\"]").await;
    let error = d
        .wait_text(
            "[data-testid=\"fieldset-calls\"] p.warn[role=\"alert\"]",
            "international form",
        )
        .await;
    assert!(error.contains("07700 900123"), "{error}");
    assert_eq!(ts.running.app.person(&slot).await.preferences, prefs);
    d.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_of_ones_own_is_made_in_settings_and_chosen_from_the_tray() {
    if !["Xvfb", "dbus-daemon", "tauri-driver", "WebKitWebDriver"]
        .iter()
        .all(|t| require(t))
    {
        return;
    }
    let ts = TestServer::start().await;
    let Window {
        desktop,
        _driver,
        d,
    } = Window::signed_in(&ts).await;

    // Two of her own: one works as Do not disturb, one as Busy.
    d.click("header button.settings-button[aria-expanded]")
        .await;
    d.find("[data-testid=\"save-settings\"]").await;
    for (i, (emoji, name, family)) in [
        ("🎧", "Deep work", "do_not_disturb"),
        ("🏢", "At a client site", "busy"),
    ]
    .into_iter()
    .enumerate()
    {
        d.click("[data-testid=\"add-mine\"]").await;
        let n = i + 1;
        // An emoji as a picker puts it in (WebDriver's keys cannot type one).
        let css = format!("input[aria-label=\"Status {n} emoji\"]");
        assert_eq!(d.script(&set(&css, emoji)).await, "ok");
        d.type_into(&format!("input[aria-label=\"Status {n} name\"]"), name)
            .await;
        let css = format!("select[aria-label=\"Status {n} works as\"]");
        assert_eq!(d.script(&set(&css, family)).await, "ok");
    }
    if let Ok(dir) = std::env::var("PRESENTLY_SCREENSHOTS") {
        d.script("document.querySelector('[data-testid=add-mine]').scrollIntoView({block: 'center'}); return 0;")
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let path = std::path::Path::new(&dir).join("settings-statuses.png");
        block_in_place(|| desktop.screenshot(&path));
    }
    d.click("[data-testid=\"save-settings\"]").await;
    d.wait_text("p.notice", "Settings saved.").await;
    let slot = ts.running.app.slot(&ts.bea).unwrap();
    let mine = ts.running.app.person(&slot).await.preferences.statuses;
    let ids: Vec<_> = mine.iter().map(|s| s.id.as_str().to_owned()).collect();
    assert_eq!(ids, ["deep-work", "at-a-client-site"]);
    assert_eq!(mine[0].emoji.as_ref().map(|e| e.as_str()), Some("🎧"));
    assert_eq!(mine[0].family, presence::Family::DoNotDisturb);

    // In the window's status menu, after the organisation's.
    d.click("button.avatar").await;
    let offered = d
        .script(
            "return [...document.querySelectorAll('ul[aria-label=\"Set your status\"] [data-status]')].map((e) => e.getAttribute('data-status'));",
        )
        .await;
    let offered: Vec<String> = serde_json::from_value(offered).unwrap();
    let at = |id: &str| offered.iter().position(|o| o == id);
    assert!(
        at("available").unwrap() < at("personal:deep-work").unwrap(),
        "{offered:?}"
    );
    assert!(at("personal:at-a-client-site").is_some(), "{offered:?}");
    d.click("button.avatar").await;

    // Chosen from the tray: teammates see its name and emoji, and its family.
    let bus = desktop.bus();
    let tray = block_in_place(|| Tray::find(&bus, Duration::from_secs(30))).expect("the tray");
    let item = block_in_place(|| {
        let mut found = None;
        for _ in 0..100 {
            found = tray
                .layout(&bus)
                .flatten()
                .into_iter()
                .find(|e| e.label == "🎧 Deep work")
                .map(|e| e.id);
            if found.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        found.expect("🎧 Deep work in the tray menu")
    });
    block_in_place(|| tray.click(&bus, item));
    let deep: StatusId = "personal:deep-work".parse().unwrap();
    for _ in 0..100 {
        if ts.bea_status().await == deep {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What a teammate's panel is drawn from.
    let team = ts.running.app.members(&ts.cal);
    let seen = &team
        .iter()
        .find(|m| m.user == ts.bea)
        .expect("bea in her teammate's team")
        .view
        .status;
    assert_eq!(seen.status, deep);
    assert_eq!(seen.label, "Deep work");
    assert_eq!(seen.emoji.as_ref().map(|e| e.as_str()), Some("🎧"));
    assert_eq!(seen.family, presence::Family::DoNotDisturb);
    assert_eq!(
        d.wait_text("[data-testid=\"my-status\"]", "Deep work")
            .await,
        "Deep work"
    );

    // Removed while chosen: the choice ends, and the menu no longer has it.
    d.click("header button.settings-button[aria-expanded]")
        .await;
    d.find("[data-testid=\"save-settings\"]").await;
    d.click("button[aria-label=\"Remove Deep work\"]").await;
    d.click("[data-testid=\"save-settings\"]").await;
    d.wait_text("p.notice", "Settings saved.").await;
    for _ in 0..100 {
        if ts.bea_status().await == StatusId::AVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ts.bea_status().await, StatusId::AVAILABLE);
    let gone = block_in_place(|| {
        for _ in 0..100 {
            let labels: Vec<String> = tray
                .layout(&bus)
                .flatten()
                .into_iter()
                .map(|e| e.label.clone())
                .collect();
            if !labels.iter().any(|l| l.contains("Deep work")) {
                return Some(labels);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    });
    let labels = gone.expect("Deep work gone from the tray menu");
    assert!(
        labels.iter().any(|l| l == "🏢 At a client site"),
        "{labels:?}"
    );
    d.quit().await;
}
