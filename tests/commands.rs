//! The window's IPC commands through Tauri's mock runtime (no window, no display): the same
//! handlers the app registers, called as the window calls them.

use presently_app::commands;
use presently_app::state::AppState;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

/// The app's clock in these tests: every `now` the app uses, set by the test.
const NOW: i64 = 1_800_000_000_000;

fn app() -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let rules = presence::Rules {
        catalog: presence::Catalog::with_default_custom(),
        ..presence::Rules::default()
    };
    let app = mock_builder()
        .manage(AppState::new(
            rules,
            clock::ManualClock::new(presence::Timestamp(NOW)),
        ))
        .invoke_handler(tauri::generate_handler![
            commands::presence::get_snapshot,
            commands::presence::explain,
            commands::presence::change,
            commands::team::get_team,
            commands::notifications::get_center,
            commands::notifications::mark_read,
            commands::notifications::open_notification,
        ])
        .build(mock_context(noop_assets()))
        .expect("the mock app builds");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("a mock window");
    (app, window)
}

fn call(window: &WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // The app's own origin on Linux and macOS: local, so app commands need no ACL entry.
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(body),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().expect("JSON"))
}

/// The one command every change takes: `{kind: "change", change}` or a time the app resolves.
fn change(w: &WebviewWindow<MockRuntime>, request: Value) -> Result<Value, Value> {
    call(w, "change", json!({ "request": request }))
}

fn set_status(status: &str, until: Option<i64>) -> Value {
    json!({"kind": "change", "change": {"kind": "set_status", "status": status, "until": until}})
}

#[test]
fn a_change_is_taken_and_the_snapshot_shows_it() {
    let (_app, w) = app();
    let before = call(&w, "get_snapshot", json!({})).unwrap();
    assert_eq!(before["me"]["status"]["status"], "available");
    assert_eq!(before["connection"], "Not connected to a server");
    change(&w, set_status("do_not_disturb", None)).unwrap();
    let after = call(&w, "get_snapshot", json!({})).unwrap();
    assert_eq!(after["me"]["status"]["status"], "do_not_disturb");
    assert_eq!(after["me"]["interruptibility"]["state"], "do_not_disturb");
    let why = call(&w, "explain", json!({})).unwrap();
    assert_eq!(why["winner"]["status"], "do_not_disturb");
}

#[test]
fn a_bad_status_is_a_typed_error_and_changes_nothing() {
    let (_app, w) = app();
    let e = change(&w, set_status("custom:nope", None)).unwrap_err();
    assert_eq!(e["kind"], "invalid", "{e}");
    assert!(e["message"].as_str().unwrap().contains("pick one"), "{e}");
    let past = change(&w, set_status("busy", Some(1000))).unwrap_err();
    assert_eq!(past["kind"], "invalid", "{past}");
    assert!(
        past["message"]
            .as_str()
            .unwrap()
            .contains("pick a time in the future"),
        "{past}"
    );
    let snap = call(&w, "get_snapshot", json!({})).unwrap();
    assert_eq!(snap["me"]["status"]["status"], "available");
}

#[test]
fn do_not_disturb_for_a_while_ends_on_the_apps_clock() {
    let (_app, w) = app();
    change(
        &w,
        json!({"kind": "status_for", "status": "do_not_disturb", "minutes": 30}),
    )
    .unwrap();
    let snap = call(&w, "get_snapshot", json!({})).unwrap();
    assert_eq!(snap["me"]["status"]["status"], "do_not_disturb");
    assert_eq!(snap["me"]["status"]["until"], NOW + 1_800_000);
}

#[test]
fn pausing_and_resuming_notifications() {
    let (_app, w) = app();
    change(&w, json!({"kind": "pause_for", "minutes": 60})).unwrap();
    let snap = call(&w, "get_snapshot", json!({})).unwrap();
    assert_eq!(snap["paused_until"], NOW + 3_600_000);
    change(
        &w,
        json!({"kind": "change", "change": {"kind": "resume_notifications"}}),
    )
    .unwrap();
    let snap = call(&w, "get_snapshot", json!({})).unwrap();
    assert_eq!(snap["paused_until"], Value::Null);
}

#[test]
fn without_a_server_the_panel_and_center_are_empty_and_say_why() {
    let (_app, w) = app();
    let team = call(&w, "get_team", json!({})).unwrap();
    assert_eq!(team["members"], json!([]));
    assert_eq!(call(&w, "get_center", json!({})).unwrap(), json!([]));
    for (cmd, args) in [
        ("mark_read", json!({"seqs": [1]})),
        ("open_notification", json!({"seq": 1})),
    ] {
        let e = call(&w, cmd, args).unwrap_err();
        assert!(
            e["message"].as_str().unwrap().contains("needs a server"),
            "{cmd}: {e}"
        );
    }
}
