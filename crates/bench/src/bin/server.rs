//! `presently-bench`: opens N WebSocket clients against a real `presently-server` process on
//! loopback, in teams of 50, drives status changes at a set rate and prints connections held,
//! changes/s, deliveries/s, change-to-delivery latency (p50/p99/max) and the server's RSS and
//! CPU. With `--find-max`, then raises the rate step by step while p99 stays under 50 ms.
//!
//! A program, not a test: figures go to `docs/benchmarks.md`.

use bench::{free_port, wait_for};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use presence::{
    Change, DeviceActivity, DeviceId, DeviceReport, Person, Preferences, StatusId, UserId,
};
use presently_server::db::{Db, Role, UserRow};
use protocol::{encode, ClientMessage, RequestId};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Clone)]
#[command(
    name = "presently-bench",
    about = "Load-test presently-server over real WebSockets"
)]
struct Args {
    /// WebSocket clients to hold open
    #[arg(long, default_value_t = 19_000)]
    clients: usize,
    /// Members per team (each change is delivered to the other members)
    #[arg(long, default_value_t = 50)]
    team_size: usize,
    /// Status changes per second
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Seconds to measure at each rate
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// After the first rate, raise it until p99 passes 50 ms
    #[arg(long)]
    find_max: bool,
    /// The server binary [default: presently-server next to this program]
    #[arg(long)]
    server: Option<PathBuf>,
    /// Database for the server [default: a new SQLite file in a temp directory]
    #[arg(long)]
    database_url: Option<String>,
    /// Spread clients over this many source addresses 127.0.0.2, .3, …
    #[arg(long, default_value_t = 4)]
    source_addresses: u8,
}

struct Shared {
    start: Instant,
    /// Per user: when its last change was sent (µs since start).
    sent: Vec<AtomicU64>,
    latencies: Mutex<Vec<u32>>,
    deliveries: AtomicU64,
    recording: AtomicBool,
    finished: AtomicBool,
    /// Per user: whether the last change set Busy.
    busy: Vec<AtomicBool>,
}

fn micros(shared: &Shared) -> u64 {
    shared.start.elapsed().as_micros() as u64
}

fn user_id(i: usize) -> String {
    format!("u-bench-{i}")
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let dir = tempfile_dir();
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display()));
    println!(
        "presently-bench: {} clients in teams of {}, database {}",
        args.clients,
        args.team_size,
        url.split('?').next().unwrap_or(&url)
    );

    let t = Instant::now();
    let tokens = seed(&url, args.clients, args.team_size).await;
    println!(
        "seeded {} users and tokens in {:.1} s",
        args.clients,
        t.elapsed().as_secs_f64()
    );

    let port = free_port();
    let server_bin = args.server.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("own path")
            .with_file_name("presently-server")
    });
    let mut server = tokio::process::Command::new(&server_bin)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", server_bin.display()));
    let pid = server.id().expect("server pid");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for(addr).await;

    let shared = Arc::new(Shared {
        start: Instant::now(),
        sent: (0..args.clients).map(|_| AtomicU64::new(0)).collect(),
        latencies: Mutex::new(Vec::new()),
        deliveries: AtomicU64::new(0),
        recording: AtomicBool::new(false),
        finished: AtomicBool::new(false),
        busy: (0..args.clients).map(|_| AtomicBool::new(false)).collect(),
    });

    // Connect everyone, a few hundred at a time.
    let t = Instant::now();
    let mut senders: Vec<mpsc::UnboundedSender<String>> = Vec::with_capacity(args.clients);
    let connected = Arc::new(AtomicU64::new(0));
    let sem = Arc::new(tokio::sync::Semaphore::new(256));
    let mut joins = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        let source = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            2 + (i % args.source_addresses.max(1) as usize) as u8,
        ));
        let (shared, connected, sem) = (shared.clone(), connected.clone(), sem.clone());
        joins.push(tokio::spawn(async move {
            let permit = sem.acquire_owned().await.expect("semaphore");
            client(i, source, addr, token, rx, shared, connected, permit).await
        }));
    }
    while (connected.load(Ordering::Relaxed) as usize) < args.clients {
        if t.elapsed() > Duration::from_secs(600) {
            println!(
                "only {} of {} connected after 10 minutes",
                connected.load(Ordering::Relaxed),
                args.clients
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let held = connected.load(Ordering::Relaxed);
    println!(
        "connected {held} clients in {:.1} s ({:.0}/s); server RSS {} MiB",
        t.elapsed().as_secs_f64(),
        held as f64 / t.elapsed().as_secs_f64(),
        rss_kib(pid) / 1024
    );
    // Let the initial reports settle.
    tokio::time::sleep(Duration::from_secs(3)).await;

    println!();
    println!("| rate (changes/s) | connections | changes/s | deliveries/s | p50 ms | p99 ms | max ms | server RSS MiB | server CPU % |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut rate = args.rate;
    let mut round = 0u64;
    loop {
        let r = run_rate(&args, rate, &senders, &shared, pid, round).await;
        round += 1;
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {:.0} |",
            rate,
            held,
            r.changes_per_s,
            r.deliveries_per_s,
            r.p50,
            r.p99,
            r.max,
            r.rss_mib,
            r.cpu_percent
        );
        if !args.find_max || r.p99 >= 50.0 || rate >= 20_000 {
            break;
        }
        rate += 250;
    }
    shared.finished.store(true, Ordering::Relaxed);
    let _ = server.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}

struct RoundResult {
    changes_per_s: f64,
    deliveries_per_s: f64,
    p50: f64,
    p99: f64,
    max: f64,
    rss_mib: u64,
    cpu_percent: f64,
}

async fn run_rate(
    args: &Args,
    rate: u32,
    senders: &[mpsc::UnboundedSender<String>],
    shared: &Arc<Shared>,
    pid: u32,
    round: u64,
) -> RoundResult {
    shared.latencies.lock().unwrap().clear();
    shared.deliveries.store(0, Ordering::Relaxed);
    shared.recording.store(true, Ordering::Relaxed);
    let cpu0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut next = tokio::time::Instant::now();
    let mut sent = 0u64;
    let n = senders.len();
    let mut i = (round as usize * 7919) % n;
    let end = t0 + Duration::from_secs(args.seconds);
    while Instant::now() < end {
        // Each step sends as many changes as are due (the timer's granularity is ~1 ms).
        let due = (t0.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            i = (i + 7919) % n; // a prime step visits every user before repeating
                                // Each change flips the user between Busy and Available, so each is a real change.
            let busy = !shared.busy[i].fetch_xor(true, Ordering::Relaxed);
            let status = if busy {
                StatusId::BUSY
            } else {
                StatusId::AVAILABLE
            };
            shared.sent[i].store(micros(shared), Ordering::Relaxed);
            let msg = ClientMessage::Change {
                request: RequestId(format!("b{round}-{sent}")),
                change: Change::SetStatus {
                    status,
                    until: None,
                },
            };
            let _ = senders[i].send(encode(&msg));
            sent += 1;
        }
        next += interval.max(Duration::from_millis(1));
        tokio::time::sleep_until(next).await;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    // Late deliveries of the last changes still count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    shared.recording.store(false, Ordering::Relaxed);
    let cpu1 = cpu_ticks(pid);
    let ticks_per_s = 100.0; // USER_HZ on Linux
    let cpu_percent = (cpu1 - cpu0) as f64 / ticks_per_s / elapsed * 100.0;
    let mut lat = std::mem::take(&mut *shared.latencies.lock().unwrap());
    lat.sort_unstable();
    let pct = |p: f64| {
        if lat.is_empty() {
            f64::NAN
        } else {
            lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0
        }
    };
    RoundResult {
        changes_per_s: sent as f64 / elapsed,
        deliveries_per_s: shared.deliveries.load(Ordering::Relaxed) as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        max: lat.last().map_or(f64::NAN, |m| *m as f64 / 1000.0),
        rss_mib: rss_kib(pid) / 1024,
        cpu_percent,
    }
}

#[allow(clippy::too_many_arguments)]
async fn client(
    i: usize,
    source: IpAddr,
    addr: SocketAddr,
    token: String,
    mut rx: mpsc::UnboundedReceiver<String>,
    shared: Arc<Shared>,
    connected: Arc<AtomicU64>,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind a source address");
    let stream = match socket.connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("client {i}: connect: {e}");
            return;
        }
    };
    let (mut ws, _) = match tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}/api/v1/ws"),
        stream,
        Some(
            WebSocketConfig::default()
                .read_buffer_size(8 * 1024)
                .write_buffer_size(8 * 1024),
        ),
    )
    .await
    {
        Ok(w) => w,
        Err(e) => {
            eprintln!("client {i}: handshake: {e}");
            return;
        }
    };
    let device = DeviceId::parse("bench").unwrap();
    let hello = ClientMessage::Hello {
        protocol: protocol::PROTOCOL_VERSION,
        token,
        device: device.clone(),
        resume_after: None,
    };
    let report = ClientMessage::DeviceReport {
        report: DeviceReport {
            device,
            seq: 1,
            activity: DeviceActivity::Active,
            in_call: false,
        },
    };
    if ws.send(Message::Text(encode(&hello).into())).await.is_err()
        || ws
            .send(Message::Text(encode(&report).into()))
            .await
            .is_err()
    {
        return;
    }
    // Wait for the welcome before counting this client as connected.
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"welcome\"") => break,
            Some(Ok(_)) => continue,
            _ => {
                eprintln!("client {i}: no welcome");
                return;
            }
        }
    }
    connected.fetch_add(1, Ordering::Relaxed);
    drop(permit);
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_millis(1000 + (i as u64 * 7) % 30_000),
        Duration::from_secs(30),
    );
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(text) = out else { return };
                if ws.send(Message::Text(text.into())).await.is_err() { return; }
            }
            _ = heartbeat.tick() => {
                if ws.send(Message::Text(encode(&ClientMessage::Heartbeat).into())).await.is_err() { return; }
            }
            incoming = ws.next() => {
                let Some(Ok(Message::Text(t))) = incoming else {
                    if incoming.is_none() {
                        if !shared.finished.load(Ordering::Relaxed) { eprintln!("client {i}: closed by the server"); }
                        return;
                    }
                    continue;
                };
                let t = t.as_str();
                if !t.starts_with("{\"type\":\"presence_delta\"") || !shared.recording.load(Ordering::Relaxed) {
                    continue;
                }
                // The user is the field after the type; its index is in its id.
                if let Some(idx) = t.find("\"user\":\"u-bench-").map(|p| p + 16) {
                    let digits: String = t[idx..].chars().take_while(|c| c.is_ascii_digit()).collect();
                    if let Ok(u) = digits.parse::<usize>() {
                        let sent = shared.sent.get(u).map_or(0, |s| s.load(Ordering::Relaxed));
                        let now = micros(&shared);
                        if sent > 0 && now >= sent {
                            shared.deliveries.fetch_add(1, Ordering::Relaxed);
                            shared.latencies.lock().unwrap().push((now - sent).min(u32::MAX as u64) as u32);
                        }
                    }
                }
            }
        }
    }
}

/// Creates the organisation, teams, users and a device token per user, straight in the
/// database (argon2 for 19,000 passwords would take minutes and measures nothing here).
async fn seed(url: &str, clients: usize, team_size: usize) -> Vec<String> {
    let db = Db::connect(url).await.expect("the bench database opens");
    let now = clock::Clock::now(&clock::SystemClock).0;
    let org = db.create_org("o-bench", "Bench", now).await.expect("org");
    let mut tokens = Vec::with_capacity(clients);
    for i in 0..clients {
        if i % team_size == 0 {
            db.create_team(
                &format!("t-bench-{}", i / team_size),
                &org.id,
                "Bench team",
                now,
            )
            .await
            .expect("team");
        }
        let id = user_id(i);
        let row = UserRow {
            id: id.clone(),
            org_id: org.id.clone(),
            email: format!("{id}@bench.test"),
            name: format!("Bench {i}"),
            password_hash: "!".into(),
            role: Role::Member,
            state: Person::new(Preferences::default()),
            applied_requests: vec![],
            notification_seq: 0,
            last_assigned: None,
            active: true,
            password_reset: false,
            version: 0,
            next_deadline: None,
        };
        db.create_user(&row, now).await.expect("user");
        db.add_member(&format!("t-bench-{}", i / team_size), &id)
            .await
            .expect("member");
        let (token, hash) =
            presently_server::auth::new_secret(presently_server::auth::TOKEN_PREFIX);
        db.insert_token(&hash, &id, "bench", now)
            .await
            .expect("token");
        tokens.push(token);
        let _ = UserId::parse(id).expect("valid id");
    }
    db.close().await;
    tokens
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("presently-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn rss_kib(pid: u32) -> u64 {
    bench::status_kib(pid, "VmRSS")
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .map(|s| {
            // Fields after the command name (which may hold spaces) start after the last ')'.
            let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        })
        .unwrap_or(0)
}
