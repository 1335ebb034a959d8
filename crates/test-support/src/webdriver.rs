//! A WebDriver client for the end-to-end tests: the real window (tauri-driver in front of
//! WebKitWebDriver) and the server's web console in Debian's Chromium (chromedriver) speak the
//! same W3C protocol.

use serde_json::{json, Value};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Reads until `read` gives `want`, or its last reading after 5 s (the caller asserts on it, so a
/// failure shows what was there instead).
pub async fn settle<F, Fut>(want: &str, mut read: F) -> String
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let mut got = String::new();
    for _ in 0..50 {
        got = read().await;
        if got == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    got
}

pub struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
}

impl Driver {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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
    pub async fn find(&self, css: &str) -> String {
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

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// The id attribute of the focused element once it is `want`, or the last one after 5 s.
    pub async fn wait_focus(&self, want: &str) -> String {
        settle(want, || self.focused_id()).await
    }

    /// The element's text once it is `want`, or its last text after 5 s.
    pub async fn wait_text(&self, css: &str, want: &str) -> String {
        settle(want, || self.text(css)).await
    }

    pub async fn focused_id(&self) -> String {
        let active = self
            .call(reqwest::Method::GET, "/element/active", None)
            .await;
        let Some(element) = active[ELEMENT].as_str() else {
            return String::new();
        };
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/attribute/id"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Driver {
    /// A session on the WebDriver server at `base` (tried for 20 s while it starts) with these
    /// `alwaysMatch` capabilities.
    pub async fn start(base: &str, capabilities: Value) -> Driver {
        let http = reqwest::Client::new();
        let mut last = Value::Null;
        for _ in 0..100 {
            let r = http
                .post(format!("{base}/session"))
                .json(&json!({"capabilities": {"alwaysMatch": capabilities}}))
                .send()
                .await;
            if let Ok(r) = r {
                last = r.json().await.unwrap_or(Value::Null);
                if let Some(id) = last["value"]["sessionId"].as_str() {
                    return Driver {
                        http,
                        base: base.to_string(),
                        session: id.to_string(),
                    };
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no WebDriver session at {base} within 20 s: {last}");
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Types into the element (after clearing it).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Runs a script in the page and returns its value.
    pub async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// A PNG of the page.
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine as _;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("a screenshot"))
            .expect("base64");
        std::fs::write(path, png).expect("the screenshot is written");
    }

    /// Ends the session.
    pub async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

/// A chromedriver started by a test, stopped when dropped.
pub struct Chromedriver(std::process::Child);

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's Chromium, headless (1280×900), through a chromedriver of its own on a free port,
/// with its profile in `profile` (a folder the test keeps while the browser runs).
pub async fn chromium(profile: &std::path::Path) -> (Chromedriver, Driver) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let chromedriver = Chromedriver(
        std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let driver = Driver::start(
        &format!("http://127.0.0.1:{port}"),
        json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }),
    )
    .await;
    (chromedriver, driver)
}
