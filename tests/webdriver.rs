//! The real window through WebDriver (tauri-driver in front of WebKitWebDriver), connected to a
//! real server: open the status dropdown, choose Busy, and a second client (a teammate's REST
//! view) sees Busy; the window's own label follows.

mod support;

use presence::StatusId;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{require, Desktop, TestServer, PASSWORD};

const APP: &str = env!("CARGO_BIN_EXE_presently");
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
}

impl Driver {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(
            method,
            format!("{}/session/{}{path}", self.base, self.session),
        );
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("WebDriver answers");
        let v: Value = r.json().await.expect("WebDriver JSON");
        v["value"].clone()
    }

    /// Finds an element by CSS selector, waiting up to 20 s for it.
    async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            let v = self
                .call(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = v[ELEMENT].as_str() {
                return id.to_string();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let source = self.call(reqwest::Method::GET, "/source", None).await;
        let last = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        panic!(
            "no element {css} in the window within 20 s: {last}\n{}",
            source.to_string().chars().take(1500).collect::<String>()
        );
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_chosen_in_the_window_reaches_a_teammate() {
    if !["Xvfb", "dbus-daemon", "tauri-driver", "WebKitWebDriver"]
        .iter()
        .all(|t| require(t))
    {
        return;
    }
    let ts = TestServer::start().await;
    let (app, bea, cal) = (ts.running.app.clone(), ts.bea.clone(), ts.cal.clone());
    let cal_token = app
        .issue_token(&cal, &presence::DeviceId::parse("phone").unwrap())
        .await
        .unwrap();

    let desktop = Desktop::start();
    let server = ts.url();
    let store = desktop.home.join("client.db");
    let (port, native) = (free_port(), free_port());
    let mut driver = Command::new("tauri-driver")
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("DISPLAY", &desktop.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus_address)
        .env("HOME", &desktop.home)
        .env("NO_AT_BRIDGE", "1")
        .env("PRESENTLY_SERVER", &server)
        .env("PRESENTLY_EMAIL", "bea@one.test")
        .env("PRESENTLY_PASSWORD", PASSWORD)
        .env("PRESENTLY_STORE", &store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tauri-driver starts");
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut session = None;
    for _ in 0..100 {
        let r = http
            .post(format!("{base}/session"))
            .json(
                &json!({"capabilities": {"alwaysMatch": {"tauri:options": {"application": APP}}}}),
            )
            .send()
            .await;
        if let Ok(r) = r {
            let v: Value = r.json().await.unwrap_or(Value::Null);
            if let Some(id) = v["value"]["sessionId"].as_str() {
                session = Some(id.to_string());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let d = Driver {
        http,
        base,
        session: session.expect("a WebDriver session with the app"),
    };

    // The app signs in and its device makes bea Available.
    let seen = || ts.bea_status();
    for _ in 0..100 {
        if seen().await == StatusId::AVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(seen().await, StatusId::AVAILABLE);

    // Open the avatar dropdown and choose Busy.
    d.click("button.avatar").await;
    d.click("[data-status=\"busy\"]").await;

    // A teammate's client sees Busy.
    let teammate = reqwest::Client::new();
    let mut busy = false;
    for _ in 0..100 {
        let v: Value = teammate
            .get(format!("{server}/api/v1/team"))
            .bearer_auth(&cal_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        busy = v["members"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["user"] == bea.as_str() && m["view"]["status"]["status"] == "busy");
        if busy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(busy, "the teammate sees Busy");
    // And the window says so.
    let mut label = String::new();
    for _ in 0..50 {
        label = d.text("[data-testid=\"my-status\"]").await;
        if label == "Busy" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(label, "Busy");

    d.call(reqwest::Method::DELETE, "", None).await;
    let _ = driver.kill();
    let _ = driver.wait();
    ts.running.stop().await;
}
