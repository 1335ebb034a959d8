//! `presently-client-bench`: how fast a notification gets from the socket to the desktop, and
//! how fast the center stores notifications.
//!
//! Starts a private session bus with a real notification daemon (python-dbusmock), a real
//! `presently-server` process on loopback, and the client core with the desktop notifier; sends
//! notifications through the server's API and prints, per notification, the time from the frame
//! read off the socket to the durable store write and to the `Notify` call returning (p50, p99,
//! max). Then inserts notifications into a fresh store and prints the rate.
//!
//! Needs `presently-server` next to it (`cargo build --release -p server -p bench --bins`),
//! `dbus-daemon` and python3-dbusmock.

use clap::Parser;
use presence::DeviceId;
use presently_client::notifier::DesktopNotifier;
use presently_client::store::Store;
use presently_client::sync::{self, Event, Options};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "presently-client-bench")]
struct Args {
    /// Notifications to send
    #[arg(long, default_value_t = 1000)]
    notifications: usize,
    /// Sent per second
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Rows for the center's insert rate
    #[arg(long, default_value_t = 5000)]
    inserts: usize,
    #[arg(long)]
    server: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("presently-client-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // A private session bus and the notification daemon.
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon starts (install dbus)");
    let mut address = String::new();
    BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .unwrap();
    let address = address.trim().to_string();
    // SAFETY: set before any other thread reads the environment (the runtime's workers do not).
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address) };
    let mut mock = Command::new("/usr/bin/python3")
        .args(["-m", "dbusmock", "--session", "-t", "notification_daemon"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3-dbusmock starts");
    std::thread::sleep(Duration::from_millis(1500));

    // A real server process with one user.
    let db = dir.join("server.db");
    let server_bin = args.server.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .unwrap()
            .with_file_name("presently-server")
    });
    let url = format!("sqlite://{}", db.display());
    let admin = |a: &[&str]| -> String {
        let out = Command::new(&server_bin)
            .args(["--database-url", &url, "admin"])
            .args(a)
            .output()
            .expect("presently-server runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    eprintln!("seeding the server database");
    let org = admin(&["create-org", "--name", "Bench"]);
    let team = admin(&["create-team", "--org", &org, "--name", "Team"]);
    admin(&[
        "create-user",
        "--org",
        &org,
        "--email",
        "b@bench.test",
        "--name",
        "B",
        "--password",
        "the bench's password",
        "--team",
        &team,
    ]);
    let key = admin(&["create-key", "--org", &org, "--name", "bench"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(&server_bin)
        .args([
            "--database-url",
            &url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("presently-server starts");
    let base = presently_client::server::Server::new(
        &format!("http://127.0.0.1:{port}"),
        &presently_client::server::Trust::default(),
    )
    .expect("a loopback address");
    let api = presently_client::api::Api::new(&base);
    let mut token = None;
    for _ in 0..100 {
        let desk = DeviceId::parse("desk").expect("a valid id");
        let about = presence::DeviceAbout::default();
        if let Ok(signed) = api
            .sign_in("b@bench.test", "the bench's password", &desk, &about)
            .await
        {
            token = Some(signed.token);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = token.expect("signed in");
    eprintln!("signed in; connecting the client");

    let store = Store::open(&dir.join("client.db")).await.unwrap();
    let notifier = Arc::new(DesktopNotifier::new("dialog-information"));
    let (handle, task) = sync::spawn(
        store.clone(),
        notifier,
        Options::new(&base, &token, DeviceId::parse("desk").unwrap()),
    );
    let mut events = handle.subscribe();
    loop {
        if let Ok(Event::SelfView { view }) = events.recv().await {
            if view.status.status == presence::StatusId::AVAILABLE {
                break;
            }
        }
    }
    eprintln!(
        "client online; sending {} notifications",
        args.notifications
    );
    let collector = tokio::spawn(async move {
        let mut stored = Vec::new();
        let mut shown = Vec::new();
        while let Ok(e) = events.recv().await {
            if let Event::Shown {
                stored_us,
                shown_us,
                ..
            } = e
            {
                stored.push(stored_us);
                shown.push(shown_us);
            }
        }
        (stored, shown)
    });
    let http = reqwest::Client::new();
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let t0 = Instant::now();
    for i in 0..args.notifications {
        let body = serde_json::json!({"user": "b@bench.test", "title": format!("Bench {i}"), "body": "A notification body of an ordinary length, about one line."});
        let r = http
            .post(format!("{base}/api/v1/notifications"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        tokio::time::sleep_until(tokio::time::Instant::from_std(
            t0 + interval * (i as u32 + 1),
        ))
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    handle.stop();
    let _ = task.await;
    drop(handle); // the last sender: the collector's stream ends
    let (mut stored, mut shown) = collector.await.unwrap();
    stored.sort_unstable();
    shown.sort_unstable();
    let pct = |v: &[u64], p: f64| {
        v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
            .map_or(f64::NAN, |x| *x as f64 / 1000.0)
    };
    println!(
        "notifications shown: {} of {} sent at {}/s",
        shown.len(),
        args.notifications,
        args.rate
    );
    println!("| from the frame read to | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|");
    println!(
        "| durable store write | {:.2} | {:.2} | {:.2} |",
        pct(&stored, 0.5),
        pct(&stored, 0.99),
        stored.last().map_or(f64::NAN, |x| *x as f64 / 1000.0)
    );
    println!(
        "| `Notify` call returned | {:.2} | {:.2} | {:.2} |",
        pct(&shown, 0.5),
        pct(&shown, 0.99),
        shown.last().map_or(f64::NAN, |x| *x as f64 / 1000.0)
    );
    store.close().await;

    // The center's insert rate on a fresh store (each insert its own durable transaction).
    let s = Store::open(&dir.join("inserts.db")).await.unwrap();
    let t = Instant::now();
    for i in 0..args.inserts {
        let n = protocol::Notification {
            seq: protocol::NotificationSeq(i as u64 + 1),
            title: format!("Insert {i}"),
            body: "A notification body of an ordinary length, about one line.".into(),
            sender: None,
            urgent: false,
            created_at: presence::Timestamp(0),
            delivery: presence::Delivery::Show,
            read: false,
            dismissed: false,
            link: None,
        };
        s.insert(&n, presence::Timestamp(0)).await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "center inserts: {} in {:.2} s = {:.0}/s (synchronous=FULL, one transaction each)",
        args.inserts,
        secs,
        args.inserts as f64 / secs
    );
    s.close().await;

    for child in [&mut server, &mut mock, &mut bus] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
