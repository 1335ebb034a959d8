//! Single sign-on end to end: a real, certified OpenID provider started by the test (panva's
//! oidc-provider on Node.js, `crates/server/tests/server/oidc/provider.mjs`), the server as its
//! confidential client, and `presently-cli login --sso` waiting on its loopback address while a
//! headless Chromium (chromedriver) fills the provider's sign-in form, as a person would.
//!
//! An invited person gets their account, an existing one signs in, a newcomer is refused until
//! the organisation makes accounts at first sign-in; password sign-in is off for members (not
//! administrators). An unverified email, an ID token for another audience, one signed with an
//! unknown key, an expired one and another sign-in's token (its nonce) are each refused with
//! words, in the terminal and the browser; a provider's answer is taken once.

mod support;

use presently_server::app::webhooks::WebhookOptions;
use presently_server::app::Actor;
use presently_server::db::Role;
use presently_server::secrets::Sealer;
use protocol::rest;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{cli, require, store_path, Server, PASSWORD};
use test_support::webdriver::{chromium, Driver};

const CLIENT_ID: &str = "presently";
const CLIENT_SECRET: &str = "the provider's secret for presently";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/server/oidc")
}

/// oidc-provider is installed by `scripts/setup.sh --test` (npm ci in its folder).
fn provider_installed() -> bool {
    let found = oidc_dir().join("node_modules/oidc-provider").is_dir();
    if !found {
        let msg = "npm's oidc-provider is not installed in crates/server/tests/server/oidc: run scripts/setup.sh --test (scripts/test.sh does)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// The provider on `port`, its issuer.
fn start_provider(port: u16, redirect: &str) -> (Killed, String) {
    let mut child = Command::new("node")
        .arg(oidc_dir().join("provider.mjs"))
        .args([&port.to_string(), CLIENT_ID, CLIENT_SECRET, redirect])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts the provider");
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Whatever it prints later is read (a closed pipe would stop it).
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let issuer = line
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("the provider did not start: {line}"))
        .to_string();
    (Killed(child), issuer)
}

/// What one `presently-cli login --sso` came to.
struct Login {
    ok: bool,
    stdout: String,
    stderr: String,
    /// What the browser showed at the end (the CLI's loopback page).
    page: String,
}

struct Browser {
    d: Driver,
    issuer: String,
    server: String,
}

impl Browser {
    /// `presently-cli login --sso` for `email`; the browser signs in at the provider as
    /// `account` (none: the CLI is expected to stop before the browser is needed).
    async fn login(&self, store: &Path, email: &str, account: Option<&str>) -> Login {
        let mut child = Command::new(cli())
            .arg("--store")
            .arg(store)
            .args(["login", "--server", &self.server, "--email", email])
            .args(["--sso", "--no-browser"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("presently-cli runs");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let mut page = String::new();
        if let Some(account) = account {
            let mut url = String::new();
            out.read_line(&mut url).unwrap();
            if url.is_empty() {
                let output = child.wait_with_output().unwrap();
                panic!(
                    "presently-cli login --sso {email} stopped: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            assert!(
                url.starts_with(&format!("{}/api/v1/sso/start?", self.server)),
                "the CLI prints where to sign in: {first}{url}"
            );
            // A new browser session at the provider: its sign-in form every time.
            self.d
                .goto(&format!("{}/.well-known/openid-configuration", self.issuer))
                .await;
            self.d.call(reqwest::Method::DELETE, "/cookie", None).await;
            self.d.goto(url.trim()).await;
            self.d.type_into("input[name=login]", account).await;
            self.d
                .type_into("input[name=password]", "any password")
                .await;
            self.d.click("button[type=submit]").await;
        }
        let done = tokio::task::spawn_blocking(move || {
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
            let output = child.wait_with_output().unwrap();
            (
                output.status.success(),
                rest,
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        });
        let (ok, rest, stderr) = tokio::time::timeout(Duration::from_secs(60), done)
            .await
            .expect("presently-cli ends")
            .unwrap();
        if account.is_some() {
            page = self
                .d
                .script("return document.body ? document.body.innerText : ''")
                .await
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        Login {
            ok,
            stdout: format!("{first}{rest}"),
            stderr,
            page,
        }
    }

    /// How often the server has read the provider's signing keys (each read of its discovery
    /// document reads them).
    async fn key_reads(&self) -> u64 {
        let r: Value = reqwest::get(format!("{}/__reads", self.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["jwks"].as_u64().expect("a count")
    }

    async fn mode(&self, mode: &str) {
        reqwest::Client::new()
            .post(format!("{}/__mode?mode={mode}", self.issuer))
            .send()
            .await
            .unwrap();
    }
}

async fn call(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_through_their_organisations_provider_and_bad_tokens_are_refused() {
    if !["node", "chromium", "chromedriver"]
        .iter()
        .all(|t| require(t))
        || !provider_installed()
    {
        return;
    }
    let server = Server::start().await;
    let app = server.app().clone();
    app.calendars.configure(Some(
        Sealer::new("a secrets key for the test", &[]).unwrap(),
    ));
    // The provider is on loopback: private networks allowed, as for a company's own provider.
    app.webhooks
        .configure(&WebhookOptions {
            ca_file: None,
            allow_private_networks: true,
        })
        .unwrap();
    let team = app.teams_of_org(&server.org)[0].0.clone();
    let admin_id = app
        .create_user(
            &server.org,
            "admin@one.test",
            "Ada Admin",
            PASSWORD,
            Role::Admin,
            "UTC",
            &[],
        )
        .await
        .unwrap();
    let admin = app
        .issue_token(&admin_id, &presence::DeviceId::parse("desk").unwrap())
        .await
        .unwrap();
    app.invite(
        &Actor::system(),
        &server.org,
        rest::CreateInvite {
            email: "ivy@one.test".into(),
            name: Some("Ivy New".into()),
            role: rest::Role::Member,
            teams: vec![team.clone()],
            expires_in_hours: None,
        },
    )
    .await
    .unwrap();
    let api = |path: &str| format!("{}/api/v1{path}", server.url());
    let redirect = api("/sso/callback");
    let (_provider, issuer) = start_provider(free_port(), &redirect);

    // An issuer that does not answer is refused with words; nothing is kept.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (status, e) = call(
        reqwest::Method::PUT,
        api("/admin/sso"),
        &admin,
        Some(json!({"issuer": dead, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("discovery document"),
        "{e}"
    );
    let (status, set) = call(
        reqwest::Method::PUT,
        api("/admin/sso"),
        &admin,
        Some(json!({
            "issuer": issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "label": "Sign in with Test ID", "domains": ["one.test"], "passwords": false,
        })),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["redirect_uri"], redirect.as_str());
    assert_eq!(set["secret_set"], true);
    assert!(set.get("client_secret").is_none(), "{set}");

    let profile = tempfile::tempdir().unwrap();
    let (_chromedriver, d) = chromium(profile.path()).await;
    let b = Browser {
        d,
        issuer: issuer.clone(),
        server: server.url(),
    };
    let dir = tempfile::tempdir().unwrap();

    // The invited person: their account is made from the invite, in its team.
    let ivy_store = store_path(dir.path(), "ivy");
    let l = b.login(&ivy_store, "ivy@one.test", Some("ivy")).await;
    assert!(l.ok, "{} {}", l.stdout, l.stderr);
    assert!(
        l.stdout.contains("Sign in with Test ID (Org)"),
        "{}",
        l.stdout
    );
    assert!(l.stdout.contains("signed in to"), "{}", l.stdout);
    assert!(
        l.page.contains("You are signed in to Presently"),
        "{}",
        l.page
    );
    let ivy = app
        .people_of_org(&server.org)
        .into_iter()
        .find(|s| s.email == "ivy@one.test")
        .expect("the invited person's account");
    assert_eq!(ivy.name, "Ivy New");
    assert!(app.teams_of_org(&server.org)[0].1.members.contains(&ivy.id));
    // Their token works.
    let out = support::cli_ok(&ivy_store, &[], &["status"]);
    assert!(out.contains("notifications:"), "{out}");
    let invites = app.invites(&server.org).await.unwrap();
    assert_eq!(invites[0].state, rest::InviteState::Used);

    // An existing person signs in; their password no longer does (an administrator's does).
    let l = b
        .login(&store_path(dir.path(), "bea"), "bea@one.test", Some("bea"))
        .await;
    assert!(l.ok, "{} {}", l.stdout, l.stderr);
    let r = reqwest::Client::new()
        .post(api("/sessions"))
        .json(&json!({"email": "bea@one.test", "password": PASSWORD, "device": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"Sign in with Test ID\""),
        "{e}"
    );
    let r = reqwest::Client::new()
        .post(api("/sessions"))
        .json(&json!({"email": "admin@one.test", "password": PASSWORD, "device": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    // An unverified email: refused, said in the terminal and in the browser.
    let l = b
        .login(
            &store_path(dir.path(), "cal"),
            "cal@one.test",
            Some("unverified"),
        )
        .await;
    assert!(!l.ok);
    assert!(
        l.stderr.contains("has not verified cal@one.test"),
        "{}",
        l.stderr
    );
    assert!(l.page.contains("Sign-in failed"), "{}", l.page);

    // A newcomer with no account and no invite: refused until the organisation makes accounts.
    let newcomer = store_path(dir.path(), "new");
    let l = b.login(&newcomer, "newcomer@one.test", Some("new")).await;
    assert!(!l.ok);
    assert!(
        l.stderr
            .contains("there is no account for newcomer@one.test in Org"),
        "{}",
        l.stderr
    );
    let (status, set) = call(
        reqwest::Method::PUT,
        api("/admin/sso"),
        &admin,
        Some(json!({
            "issuer": issuer, "client_id": CLIENT_ID, "label": "Sign in with Test ID",
            "domains": ["one.test"], "passwords": false, "create_accounts": true,
            "default_team": team,
        })),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    let l = b.login(&newcomer, "newcomer@one.test", Some("new")).await;
    assert!(l.ok, "{} {}", l.stdout, l.stderr);
    let made = app
        .people_of_org(&server.org)
        .into_iter()
        .find(|s| s.email == "newcomer@one.test")
        .expect("an account made at first sign-in");
    assert_eq!(made.name, "New Comer");
    assert!(app.teams_of_org(&server.org)[0]
        .1
        .members
        .contains(&made.id));

    // A domain no organisation sends to a provider: said before any browser.
    let l = b
        .login(&store_path(dir.path(), "eve"), "eve@two.test", None)
        .await;
    assert!(!l.ok);
    assert!(
        l.stderr
            .contains("no organisation on this server signs in two.test"),
        "{}",
        l.stderr
    );

    // What a broken or hostile provider might send, each refused with words. The discovery
    // document read when the provider was last set serves every sign-in (its start and the answer)
    // until an ID token's signature does not verify: then it is read again, keys and all, on
    // the next sign-in, as after a provider rotated its keys.
    let reads = b.key_reads().await;
    assert_eq!(
        reads, 2,
        "read each time the provider was set (twice), and not for each sign-in since"
    );
    for (mode, words, read_again) in [
        ("wrong_audience", "issued to another application", 0),
        ("bad_signature", "signature does not verify", 0),
        ("expired", "ID token has expired", 1),
        ("replay", "made for another sign-in", 1),
    ] {
        b.mode(mode).await;
        let store = store_path(dir.path(), mode);
        let l = b.login(&store, "bea@one.test", Some("bea")).await;
        assert!(!l.ok, "{mode}: {}", l.stdout);
        assert!(l.stderr.contains(words), "{mode}: {}", l.stderr);
        assert!(l.page.contains(words), "{mode}: {}", l.page);
        assert_eq!(
            b.key_reads().await,
            reads + read_again,
            "{mode}: the provider's keys read again"
        );
    }
    b.mode("none").await;

    // A provider's answer is taken once: the same state again is refused.
    let start = app
        .sso_start(
            &server.org,
            "http://127.0.0.1:9/signed-in",
            &presently_client::sso::challenge_of("a verifier that is long enough to be one 123"),
            "s",
        )
        .await
        .unwrap();
    let state = reqwest::Url::parse(&start)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let first = app
        .sso_callback(&state, Some("not-a-code"), None, None)
        .await;
    let refusal = first.expect_err("a made-up code is refused by the provider");
    assert!(refusal
        .back
        .unwrap()
        .starts_with("http://127.0.0.1:9/signed-in?error="));
    let again = app
        .sso_callback(&state, Some("not-a-code"), None, None)
        .await;
    let refusal = again.expect_err("the same answer again");
    assert!(refusal.back.is_none());
    assert!(
        refusal.error.message.contains("used already"),
        "{}",
        refusal.error.message
    );
    // The console signs in through the provider in the page, and shows its settings.
    let d = &b.d;
    d.goto(&format!("{issuer}/.well-known/openid-configuration"))
        .await;
    d.call(reqwest::Method::DELETE, "/cookie", None).await;
    d.goto(&format!("{}/admin/", server.url())).await;
    d.type_into("input[type=email]", "admin@one.test").await;
    d.click("button.sso").await;
    d.type_into("input[name=login]", "admin").await;
    d.type_into("input[name=password]", "any password").await;
    d.click("button[type=submit]").await;
    d.find("nav a[href='#/access']").await;
    let url = d.script("return location.href").await;
    assert_eq!(
        url,
        json!(format!("{}/admin/", server.url())),
        "the code is gone from the address"
    );
    d.click("nav a[href='#/access']").await;
    assert_eq!(d.text("[data-testid=redirect-uri]").await, redirect);
    if let Ok(dir) = std::env::var("PRESENTLY_SCREENSHOTS") {
        d.script("document.getElementById('sso-h').scrollIntoView()")
            .await;
        d.screenshot(&Path::new(&dir).join("console-sso.png")).await;
    }
    // A person whose provider refuses them: the console says why.
    d.click("header button").await;
    d.goto(&format!("{issuer}/.well-known/openid-configuration"))
        .await;
    d.call(reqwest::Method::DELETE, "/cookie", None).await;
    d.goto(&format!("{}/admin/", server.url())).await;
    d.type_into("input[type=email]", "cal@one.test").await;
    d.click("button.sso").await;
    d.type_into("input[name=login]", "unverified").await;
    d.type_into("input[name=password]", "any password").await;
    d.click("button[type=submit]").await;
    let said = d.text("[data-testid=sso-error]").await;
    assert!(said.contains("has not verified cal@one.test"), "{said}");

    // A code exchanged with the wrong verifier gives nothing.
    let r = reqwest::Client::new()
        .post(api("/sessions/sso"))
        .json(&json!({"code": "ps_0000", "verifier": "x", "device": "z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    b.d.quit().await;
}
