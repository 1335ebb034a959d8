//! `presently-bench`: opens N WebSocket clients against real `presently-server` processes on
//! loopback — one node, or several on PostgreSQL and NATS (`--nodes 3`), clients spread over
//! them — in teams of 50, drives status changes at a set rate and prints connections held,
//! changes/s, deliveries/s, change-to-delivery latency (p50/p99/max), the nodes' RSS and CPU,
//! CPU per 1,000 deliveries, and what PostgreSQL and NATS used. With `--find-max`, then raises
//! the rate step by step while p99 stays under 50 ms.
//!
//! One process may hold 20,000 open files on this machine, so the clients run in worker
//! processes (this program again, `--worker`), at most `--per-worker` each. A change's send time
//! is written to a shared memory map (one slot per user), and whichever worker reads the
//! teammate's delta measures the latency from it: one wall clock for every process.
//!
//! With `--targets presently,bare` the same load, in the same run, drives
//! `presently-bare-server` too (the same frames, durable write and fan-out, nothing else: the
//! limit for this design), and the bench prints Presently's cost against it. The server runs
//! on its own CPU and the bench's processes on the others (taskset), so the server's cost is
//! read apart from the load's.
//!
//! A program, not a test: figures go to `docs/benchmarks.md`.

use bench::net::{ClientNet, Veth};
use bench::{free_port, wait_for};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use presence::{
    Change, DeviceActivity, DeviceId, DeviceReport, Person, Preferences, StatusId, UserId,
};
use presently_server::db::{Db, Role, UserRow};
use protocol::{encode, ClientMessage, RequestId};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Clone)]
#[command(
    name = "presently-bench",
    about = "Load-test presently-server nodes over real WebSockets"
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
    /// After the first rate, raise it by --step until p99 passes 50 ms
    #[arg(long)]
    find_max: bool,
    /// How much --find-max raises the rate each round
    #[arg(long, default_value_t = 250)]
    step: u32,
    /// The server binary [default: presently-server next to this program]
    #[arg(long)]
    server: Option<PathBuf>,
    /// Server nodes; more than one runs a cluster on PostgreSQL (--postgres) and NATS (--nats)
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// A PostgreSQL server to make the bench's own database on (dropped at the end)
    /// [default: one node on a new SQLite file]
    #[arg(long)]
    postgres: Option<String>,
    /// NATS for several nodes
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// Clients per worker process (one process may hold 20,000 open files here)
    #[arg(long, default_value_t = 15_000)]
    per_worker: usize,
    /// Spread clients over this many source addresses 127.0.0.2, .3, …
    #[arg(long, default_value_t = 8)]
    source_addresses: u8,
    /// What to measure, in this order, under the same load: `presently` (presently-server),
    /// `bare` (presently-bare-server, the limit for this design), comma-separated
    #[arg(long, default_value = "presently", value_delimiter = ',')]
    targets: Vec<Target>,
    /// CPUs the server under test runs on (taskset -c), so its cost is read apart from the
    /// load's [default: 0 when this machine has several]
    #[arg(long)]
    server_cpus: Option<String>,
    /// CPUs the bench's own processes run on [default: the others]
    #[arg(long)]
    load_cpus: Option<String>,
    /// Run everything on every CPU (no taskset)
    #[arg(long)]
    no_pin: bool,
    /// With --postgres on this machine: move its PostgreSQL processes onto the load's CPUs for
    /// the run (as a database on a machine of its own would be), off the server's; put back on
    /// every CPU at the end
    #[arg(long)]
    pin_postgres: bool,
    /// Clients on loopback beside the server (the old way), rather than in a network namespace
    /// of their own behind a veth pair, their receive on the load's CPUs (which takes root)
    #[arg(long)]
    loopback: bool,
    /// After the rounds, drop every client's connection at once and reconnect them all
    /// (Presently only), posting --storm-notifications notifications meanwhile: time until all
    /// are back with the right views, the server's peak RSS, and notifications lost
    #[arg(long)]
    storm: bool,
    /// Notifications posted (to distinct people) while the storm lasts
    #[arg(long, default_value_t = 1000)]
    storm_notifications: usize,
    /// Measure a build from before December 2026 (protocol 1) with this same bench: its
    /// clients say hello in protocol 1 and send `set_status` frames, and the seeded database
    /// is handed over as one at migration 2 (the two migrations those builds know; the later
    /// ones only add). Use with --server <that build's presently-server>
    #[arg(long)]
    old_server: bool,
    /// Internal: run as a worker process with this spec file
    #[arg(long, hide = true)]
    worker: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
enum Target {
    /// presently-server
    Presently,
    /// presently-bare-server: the same frames, the same durable write and fan-out, nothing else
    Bare,
    /// Debian's ejabberd, configured by the bench, over XMPP
    Ejabberd,
    /// ejabberd with Erlang's schedulers not busy-waiting (+sbwt none …)
    EjabberdNospin,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Presently => "presently",
            Target::Bare => "bare",
            Target::Ejabberd => "ejabberd",
            Target::EjabberdNospin => "ejabberd-nospin",
        }
    }
}

/// The CPUs for the server and for the load (taskset lists), or none to run unpinned.
fn pinning(args: &Args) -> Option<(String, String)> {
    if args.no_pin {
        return None;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match (&args.server_cpus, &args.load_cpus) {
        (Some(s), Some(l)) => Some((s.clone(), l.clone())),
        _ if cpus < 2 => None,
        (s, l) => Some((
            s.clone().unwrap_or_else(|| "0".into()),
            l.clone().unwrap_or_else(|| format!("1-{}", cpus - 1)),
        )),
    }
}

/// `program`, on `cpus` when pinned (taskset execs it: the child's pid is the program's).
fn pinned(program: &Path, cpus: Option<&str>) -> tokio::process::Command {
    match cpus {
        Some(c) => {
            let mut cmd = tokio::process::Command::new("taskset");
            cmd.arg("-c").arg(c).arg(program);
            cmd
        }
        None => tokio::process::Command::new(program),
    }
}

/// A worker process: `program` on `cpus` when pinned, in the clients' namespace over the veth
/// pair (`ip netns exec` and taskset exec it: the child's pid is the program's).
fn worker_command(net: &ClientNet, program: &Path, cpus: Option<&str>) -> tokio::process::Command {
    let prefix = net.exec_prefix();
    let Some((first, rest)) = prefix.split_first() else {
        return pinned(program, cpus);
    };
    let mut cmd = tokio::process::Command::new(first);
    cmd.args(rest);
    if let Some(c) = cpus {
        cmd.arg("taskset").arg("-c").arg(c);
    }
    cmd.arg(program);
    cmd
}

/// One measured round's figures.
struct Row {
    target: Target,
    nodes: usize,
    rate: u32,
    held: u64,
    changes: f64,
    deliveries: f64,
    p50: f64,
    p99: f64,
    max: f64,
    rss_mib: u64,
    /// The server's RSS grown by connecting every client (after minus before), per connection.
    kib_per_connection: f64,
    cpu_pct: f64,
    cpu_ms_per_1000: f64,
    /// Of that, the server's own code (user time): the kernel's share (system time) holds the
    /// loopback TCP that on a real network the clients' machines would pay for.
    user_ms_per_1000: f64,
    /// Softirq time on the server's CPUs (pinned runs): on loopback it holds the clients' TCP
    /// receive; over the veth pair only the server's own.
    softirq_ms_per_1000: f64,
    pg_pct: f64,
    nats_pct: f64,
    bench_pct: f64,
}

/// What a worker process is given.
#[derive(serde::Serialize, serde::Deserialize)]
struct WorkerSpec {
    /// Its clients are users `first .. first + count`.
    first: usize,
    count: usize,
    total: usize,
    /// One token per line, for every user.
    tokens: PathBuf,
    /// The shared map of send times (one u64 per user).
    sent_map: PathBuf,
    nodes: Vec<SocketAddr>,
    /// The addresses its clients connect from, in turn.
    sources: Vec<IpAddr>,
    /// Where it writes each round's latencies.
    out_dir: PathBuf,
    index: usize,
    /// XMPP (ejabberd) instead of Presently's WebSocket frames.
    xmpp: bool,
    /// Protocol 1's frames, for a server from before December 2026 (--old-server).
    #[serde(default)]
    old_server: bool,
}

/// Set once in a worker from its spec: speak protocol 1 (--old-server).
static OLD_SERVER: AtomicBool = AtomicBool::new(false);

/// The high bit of a user's slot in the sent map: their last change made them Busy.
const BUSY_BIT: u64 = 1 << 63;

/// What a client is told to do instead of sending a frame: drop its connection (no close
/// frame, as a network break or a restart would) and connect again.
const STORM: &str = "\0storm";

struct Shared {
    /// Reconnected after a storm; teammates' statuses in those clients' first snapshot that
    /// were right or wrong; storm notifications read.
    back: AtomicU64,
    views_right: AtomicU64,
    views_wrong: AtomicU64,
    storm_notes: AtomicU64,
    /// Per user: when its last change was sent (µs since the Unix epoch), in a memory map
    /// every worker shares.
    sent: &'static [AtomicU64],
    latencies: Mutex<Vec<u32>>,
    deliveries: AtomicU64,
    recording: AtomicBool,
    finished: AtomicBool,
    /// Until the coordinator asks for them: the frames every client read while everyone
    /// connected, by type (what each hello caused, to the client and to its teammates).
    connecting: AtomicBool,
    greeting_frames: Mutex<BTreeMap<String, u64>>,
}

/// A frame's `type` (the field every server frame starts with).
fn frame_type(text: &str) -> &str {
    text.split_once("\"type\":\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or("?", |(t, _)| t)
}

fn count_greeting(shared: &Shared, text: &str) {
    if shared.connecting.load(Ordering::Relaxed) {
        *shared
            .greeting_frames
            .lock()
            .unwrap()
            .entry(frame_type(text).to_string())
            .or_default() += 1;
    }
}

/// Now, in µs since the Unix epoch: the one clock every process reads.
fn micros(_: &Shared) -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn user_id(i: usize) -> String {
    bench::user_name(i)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    match &args.worker {
        Some(spec) => worker(spec).await,
        None => coordinator(args).await,
    }
}

/// A node of the run.
struct Node {
    child: tokio::process::Child,
    pid: u32,
    addr: SocketAddr,
}

/// A worker process and its line protocol: `round <n> <rate> <seconds>` in, `done <sent>
/// <deliveries>` out (its latencies in `<out_dir>/w<index>-r<n>.bin`).
struct Worker {
    pid: u32,
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Worker {
    /// The numbers of the worker's next line, after its first word.
    async fn figures(&mut self) -> Vec<u64> {
        let line = self.line().await;
        line.split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect()
    }

    async fn line(&mut self) -> String {
        self.lines
            .next_line()
            .await
            .ok()
            .flatten()
            .expect("a worker ended early: see its messages above")
    }
}

/// What the hellos caused: every frame the clients read while they all connected (and in the
/// settling seconds after), by type, per hello. Heartbeat acks are counted apart: they come
/// from the clock, not from the hellos.
async fn greeting_frames(workers: &mut [Worker], hellos: u64) {
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for w in workers.iter_mut() {
        let _ = w.stdin.write_all(b"frames\n").await;
    }
    for w in workers.iter_mut() {
        let line = w.line().await;
        for field in line.split_whitespace().skip(1) {
            if let Some((t, n)) = field.split_once('=') {
                *total.entry(t.to_string()).or_default() += n.parse::<u64>().unwrap_or(0);
            }
        }
    }
    let per = |n: u64| n as f64 / hellos.max(1) as f64;
    let caused: u64 = total
        .iter()
        .filter(|(t, _)| t.as_str() != "heartbeat_ack")
        .map(|(_, n)| n)
        .sum();
    println!(
        "frames while connecting: {:.2} per hello, heartbeat acks apart ({})",
        per(caused),
        total
            .iter()
            .map(|(t, n)| format!("{t} {:.2}", per(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

async fn coordinator(args: Args) {
    let dir = tempfile_dir();
    if args.nodes > 1 && args.postgres.is_none() {
        eprintln!("several nodes need PostgreSQL: give --postgres postgres://user@host/db (the bench makes a database of its own there)");
        std::process::exit(2);
    }
    let (url, pg_db) = match &args.postgres {
        Some(admin) => {
            let name = format!("presently_bench_{}", std::process::id());
            sql_exec(admin, &format!("CREATE DATABASE {name}")).await;
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
            (format!("{base}/{name}"), Some((admin.clone(), name)))
        }
        None => (format!("sqlite://{}/bench.db", dir.display()), None),
    };
    println!(
        "presently-bench: {} clients in teams of {} on {} node(s), database {}",
        args.clients,
        args.team_size,
        args.nodes,
        url.split('?').next().unwrap_or(&url)
    );

    let t = Instant::now();
    let tokens = seed(&url, args.clients, args.team_size).await;
    if args.old_server {
        // The later migrations add tables and columns with defaults; a build that knows only
        // the first two refuses a database that lists more.
        sql_exec(&url, "DELETE FROM _sqlx_migrations WHERE version > 2").await;
    }
    println!(
        "seeded {} users and tokens in {:.1} s",
        args.clients,
        t.elapsed().as_secs_f64()
    );
    let mut tokens = tokens;
    let key = tokens.pop().expect("the API key");
    std::fs::write(dir.join("key"), &key).expect("key file");
    let tokens_file = dir.join("tokens");
    std::fs::write(&tokens_file, tokens.join("\n")).expect("tokens file");

    // The shared map of send times.
    let sent_map = dir.join("sent");
    std::fs::write(&sent_map, vec![0u8; args.clients * 8]).expect("sent map");
    let pin = pinning(&args);
    match &pin {
        Some((server, load)) => {
            println!(
                "pinned: the server on CPU {server}, the bench's clients on CPU {load} (taskset)"
            );
            let _ = std::process::Command::new("taskset")
                .args(["-p", "-c", load, &std::process::id().to_string()])
                .stdout(std::process::Stdio::null())
                .status();
        }
        None => println!("not pinned: the server and the bench's clients share every CPU"),
    }
    let net = if args.loopback {
        ClientNet::Loopback
    } else {
        let all = format!(
            "0-{}",
            std::thread::available_parallelism().map_or(1, |n| n.get()) - 1
        );
        let (server_cpus, load_cpus) = pin.clone().unwrap_or((all.clone(), all));
        let workers = args.clients.div_ceil(args.per_worker.max(1));
        match Veth::create(workers, args.source_addresses, &server_cpus, &load_cpus) {
            Ok(v) => ClientNet::Veth(v),
            Err(e) => {
                eprintln!("presently-bench: {e}");
                std::process::exit(2);
            }
        }
    };
    println!("network: {}", net.describe());
    let _postgres_pinned = match (&pin, args.pin_postgres && args.postgres.is_some()) {
        (Some((_, load)), true) => Some(PostgresPinned::to(load)),
        (None, true) => {
            println!("--pin-postgres: nothing is pinned (one CPU, or --no-pin), so PostgreSQL is left where it runs");
            None
        }
        _ => None,
    };
    let mut rows = Vec::new();
    for &target in &args.targets {
        rows.extend(
            run_target(
                &args,
                target,
                &Setup {
                    url: &url,
                    dir: &dir,
                    tokens_file: &tokens_file,
                    sent_map: &sent_map,
                    pin: pin.as_ref(),
                    net: &net,
                },
            )
            .await,
        );
    }
    println!();
    print_table(&rows);
    if args.targets.len() > 1 {
        println!();
        print_ratios(&rows);
    }
    if let Some((admin, name)) = pg_db {
        sql_exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The softirq figure, or "n/a" when it could not be read (unpinned, or a kernel that does
/// not account softirq time).
fn softirq_text(ms: f64) -> String {
    if ms.is_nan() {
        "n/a".into()
    } else {
        format!("{ms:.1}")
    }
}

fn print_table(rows: &[Row]) {
    println!("| target | nodes | rate (changes/s) | connections | changes/s | deliveries/s | p50 ms | p99 ms | max ms | server RSS MiB | KiB per connection | server CPU % | server CPU ms per 1,000 deliveries | of it user ms | softirq on the server's CPUs ms per 1,000 | PostgreSQL CPU % | NATS CPU % | bench clients CPU % |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.0} | {:.0} | {:.0} |",
            r.target.name(), r.nodes, r.rate, r.held, r.changes, r.deliveries, r.p50, r.p99, r.max,
            r.rss_mib, r.kib_per_connection, r.cpu_pct, r.cpu_ms_per_1000, r.user_ms_per_1000, softirq_text(r.softirq_ms_per_1000), r.pg_pct, r.nats_pct, r.bench_pct,
        );
    }
}

/// Presently against each other target at the rates both ran: CPU per delivery, p99, RSS.
fn print_ratios(rows: &[Row]) {
    println!("| rate (changes/s) | against | server CPU per delivery (Presently ÷ it) | user CPU per delivery (Presently ÷ it) | p99 ms (Presently / it) | RSS (Presently ÷ it) |");
    println!("|---|---|---|---|---|---|");
    for p in rows.iter().filter(|r| r.target == Target::Presently) {
        for o in rows
            .iter()
            .filter(|r| r.target != Target::Presently && r.rate == p.rate)
        {
            println!(
                "| {} | {} | {:.2}× | {:.2}× | {:.1} / {:.1} | {:.2}× |",
                p.rate,
                o.target.name(),
                p.cpu_ms_per_1000 / o.cpu_ms_per_1000,
                p.user_ms_per_1000 / o.user_ms_per_1000,
                p.p99,
                o.p99,
                p.rss_mib as f64 / o.rss_mib.max(1) as f64,
            );
        }
    }
}

/// Starts `target`'s server(s), connects every client, runs the rounds, and stops them all.
/// What every target's run shares: the database, the run's files, the CPUs and the network.
struct Setup<'a> {
    url: &'a str,
    dir: &'a Path,
    tokens_file: &'a Path,
    sent_map: &'a Path,
    pin: Option<&'a (String, String)>,
    net: &'a ClientNet,
}

async fn run_target(args: &Args, target: Target, setup: &Setup<'_>) -> Vec<Row> {
    let Setup {
        url,
        dir,
        tokens_file,
        sent_map,
        pin,
        net,
    } = *setup;
    let own_dir = std::env::current_exe().expect("own path");
    let xmpp = matches!(target, Target::Ejabberd | Target::EjabberdNospin);
    let mut nodes = Vec::new();
    let mut ejabberd = None;
    println!();
    if xmpp {
        println!("== {} ({})", target.name(), bench::ejabberd::CTL);
        let t = Instant::now();
        let e = match bench::ejabberd::Ejabberd::start(
            dir,
            target == Target::Ejabberd,
            pin.map(|p| p.0.as_str()),
            net.server_ip(),
        )
        .await
        {
            Ok(e) => e,
            Err(e) => {
                eprintln!("{}: {e}", target.name());
                return Vec::new();
            }
        };
        println!(
            "ejabberd up in {:.1} s (beam.smp pid {})",
            t.elapsed().as_secs_f64(),
            e.beam
        );
        let t = Instant::now();
        if let Err(err) = e.seed(args.clients, args.team_size).await {
            eprintln!("{}: seeding over mod_http_api failed: {err}", target.name());
            e.stop().await;
            return Vec::new();
        }
        println!(
            "registered {} users in {} shared roster groups in {:.1} s",
            args.clients,
            args.clients.div_ceil(args.team_size),
            t.elapsed().as_secs_f64()
        );
        ejabberd = Some(e);
    } else {
        let server_bin = match target {
            Target::Bare => own_dir.with_file_name("presently-bare-server"),
            _ => args
                .server
                .clone()
                .unwrap_or_else(|| own_dir.with_file_name("presently-server")),
        };
        let node_count = if target == Target::Bare {
            1
        } else {
            args.nodes
        };
        println!("== {} ({})", target.name(), server_bin.display());
        let t = Instant::now();
        for _ in 0..node_count {
            let port = free_port();
            let mut cmd = pinned(&server_bin, pin.map(|p| p.0.as_str()));
            let addr = SocketAddr::new(net.server_ip(), port);
            cmd.arg("--listen").arg(addr.to_string());
            if target == Target::Bare {
                cmd.arg("--database").arg(url);
            } else {
                cmd.env("DATABASE_URL", url);
                if node_count > 1 {
                    cmd.arg("--cluster").arg(&args.nats).env(
                        "PRESENTLY_CLUSTER_SECRET",
                        "the bench's cluster secret, made up for the run",
                    );
                }
            }
            // The pool's slow-acquire warnings come in thousands once the server is
            // saturated: left out unless asked for (PRESENTLY_BENCH_SERVER_LOG=warn).
            let log = std::env::var("PRESENTLY_BENCH_SERVER_LOG")
                .unwrap_or_else(|_| "warn,sqlx::pool::acquire=error".into());
            let child = cmd
                .env("RUST_LOG", log)
                // The bench's clients come from a few addresses: no per-address cap.
                .env("PRESENTLY_MAX_CONNECTIONS_PER_ADDRESS", "0")
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", server_bin.display()));
            let pid = child.id().expect("server pid");
            nodes.push(Node { child, pid, addr });
        }
        for n in &nodes {
            wait_for(n.addr).await;
        }
        println!(
            "{} node(s) up in {:.1} s",
            nodes.len(),
            t.elapsed().as_secs_f64()
        );
    }
    let (addrs, server_pids): (Vec<SocketAddr>, Vec<u32>) = match &ejabberd {
        Some(e) => (vec![e.c2s], vec![e.beam]),
        None => nodes.iter().map(|n| (n.addr, n.pid)).unzip(),
    };
    // What the server holds before any client connects (its people, for Presently).
    let rss_before: u64 = server_pids.iter().map(|p| rss_kib(*p)).sum();
    // Every target starts from no change sent.
    std::fs::write(sent_map, vec![0u8; args.clients * 8]).expect("sent map");

    // The workers, each with its share of the clients.
    let t = Instant::now();
    let per = args.per_worker.max(1);
    let count = args.clients.div_ceil(per);
    let mut workers = Vec::new();
    for w in 0..count {
        let first = w * per;
        let spec = WorkerSpec {
            first,
            count: per.min(args.clients - first),
            total: args.clients,
            tokens: tokens_file.to_path_buf(),
            sent_map: sent_map.to_path_buf(),
            nodes: addrs.clone(),
            sources: (0..args.source_addresses.max(1))
                .map(|k| net.client_ip(w, k))
                .collect(),
            out_dir: dir.to_path_buf(),
            index: w,
            xmpp,
            old_server: args.old_server,
        };
        let spec_file = dir.join(format!("worker-{w}.json"));
        std::fs::write(&spec_file, serde_json::to_vec(&spec).unwrap()).unwrap();
        let mut child = worker_command(net, &own_dir, pin.map(|p| p.1.as_str()))
            .arg("--worker")
            .arg(&spec_file)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("a worker starts");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        workers.push(Worker {
            pid: child.id().expect("worker pid"),
            child,
            stdin,
            lines,
        });
    }
    let mut held = 0u64;
    for w in workers.iter_mut() {
        let line = w.line().await;
        held += line
            .strip_prefix("connected ")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    let rss: u64 = server_pids.iter().map(|p| rss_kib(*p)).sum();
    let kib_per_connection = rss.saturating_sub(rss_before) as f64 / held.max(1) as f64;
    println!(
        "connected {held} clients in {:.1} s ({:.0}/s) through {count} worker process(es); server RSS {} → {} MiB, {kib_per_connection:.1} KiB per connection ({})",
        t.elapsed().as_secs_f64(),
        held as f64 / t.elapsed().as_secs_f64(),
        rss_before / 1024,
        rss / 1024,
        server_pids.iter().map(|p| format!("{} MiB", rss_kib(*p) / 1024)).collect::<Vec<_>>().join(" + ")
    );
    // Let the initial reports settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    if !xmpp {
        greeting_frames(&mut workers, held).await;
    }

    let mut rows = Vec::new();
    let mut rate = args.rate;
    let mut round = 0u64;
    let every_cpu: Vec<usize> =
        (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
    loop {
        let pids = server_pids.clone();
        let cpu0: u64 = pids.iter().map(|p| cpu_ticks(*p)).sum();
        let user0: u64 = pids.iter().map(|p| user_ticks(*p)).sum();
        let (pg0, nats0) = (named_ticks("postgres"), named_ticks("nats-server"));
        let bench0: u64 = workers.iter().map(|w| cpu_ticks(w.pid)).sum();
        let server_cpus = pin.map(|p| bench::net::cpus_of(&p.0));
        let soft0 = server_cpus.as_deref().map_or(0, bench::net::softirq_ticks);
        let every_soft0 = bench::net::softirq_ticks(&every_cpu);
        let t0 = Instant::now();
        for w in workers.iter_mut() {
            let share = rate as f64 / count as f64;
            let _ = w
                .stdin
                .write_all(format!("round {round} {share} {}\n", args.seconds).as_bytes())
                .await;
        }
        let (mut sent, mut deliveries) = (0u64, 0u64);
        for w in workers.iter_mut() {
            let f = w.figures().await;
            sent += f.first().copied().unwrap_or(0);
            deliveries += f.get(1).copied().unwrap_or(0);
        }
        let elapsed = args.seconds as f64;
        let wall = t0.elapsed().as_secs_f64();
        let cpu1: u64 = pids.iter().map(|p| cpu_ticks(*p)).sum();
        let user1: u64 = pids.iter().map(|p| user_ticks(*p)).sum();
        let (pg1, nats1) = (named_ticks("postgres"), named_ticks("nats-server"));
        let bench1: u64 = workers.iter().map(|w| cpu_ticks(w.pid)).sum();
        let soft1 = server_cpus.as_deref().map_or(0, bench::net::softirq_ticks);
        // Some kernels (this machine's among them) never account softirq time in /proc/stat:
        // then the column says nothing, and `perf record -C <server CPUs>` is the evidence.
        let softirq_accounted = bench::net::softirq_ticks(&every_cpu) > every_soft0;
        let mut lat = Vec::new();
        for w in 0..count {
            let f = dir.join(format!("w{w}-r{round}.bin"));
            let bytes = std::fs::read(&f).unwrap_or_default();
            lat.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
            let _ = std::fs::remove_file(f);
        }
        lat.sort_unstable();
        let pct = |p: f64| {
            if lat.is_empty() {
                f64::NAN
            } else {
                lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0
            }
        };
        let ticks_per_s = 100.0; // USER_HZ on Linux
        let cpu_s = (cpu1 - cpu0) as f64 / ticks_per_s;
        let user_s = user1.saturating_sub(user0) as f64 / ticks_per_s;
        let per_1000 = |s: f64| {
            if deliveries > 0 {
                s * 1000.0 / (deliveries as f64 / 1000.0)
            } else {
                f64::NAN
            }
        };
        let row = Row {
            target,
            nodes: server_pids.len(),
            rate,
            held,
            changes: sent as f64 / elapsed,
            deliveries: deliveries as f64 / elapsed,
            p50: pct(0.50),
            p99: pct(0.99),
            max: lat.last().map_or(f64::NAN, |m| *m as f64 / 1000.0),
            rss_mib: pids.iter().map(|p| rss_kib(*p)).sum::<u64>() / 1024,
            kib_per_connection: pids
                .iter()
                .map(|p| rss_kib(*p))
                .sum::<u64>()
                .saturating_sub(rss_before) as f64
                / held.max(1) as f64,
            cpu_pct: cpu_s / wall * 100.0,
            cpu_ms_per_1000: per_1000(cpu_s),
            user_ms_per_1000: per_1000(user_s),
            softirq_ms_per_1000: match server_cpus {
                Some(_) if softirq_accounted => {
                    per_1000(soft1.saturating_sub(soft0) as f64 / ticks_per_s)
                }
                _ => f64::NAN,
            },
            pg_pct: pg1.saturating_sub(pg0) as f64 / ticks_per_s / wall * 100.0,
            nats_pct: nats1.saturating_sub(nats0) as f64 / ticks_per_s / wall * 100.0,
            bench_pct: bench1.saturating_sub(bench0) as f64 / ticks_per_s / wall * 100.0,
        };
        if rate == 0 {
            println!(
                "{} holding {held} idle connections (heartbeats only) for {} s: server CPU {:.1} % of a core ({:.1} % user), RSS {} MiB, {:.1} KiB per connection",
                target.name(), args.seconds, row.cpu_pct, user_s / wall * 100.0, row.rss_mib, row.kib_per_connection
            );
        }
        println!(
            "{} at {} changes/s: {:.0} deliveries/s, p99 {:.1} ms, server CPU {:.0} %, {:.1} ms per 1,000 deliveries ({:.1} user); softirq on the server's CPUs {} ms per 1,000",
            target.name(), rate, row.deliveries, row.p99, row.cpu_pct, row.cpu_ms_per_1000, row.user_ms_per_1000, softirq_text(row.softirq_ms_per_1000)
        );
        let p99 = row.p99;
        rows.push(row);
        round += 1;
        if !args.find_max || p99 >= 50.0 || rate >= 20_000 {
            break;
        }
        rate += args.step;
    }
    if args.storm && target == Target::Presently {
        let key = std::fs::read_to_string(dir.join("key")).expect("the API key");
        storm(args, &mut workers, &server_pids, addrs[0], &key).await;
    }
    for w in workers.iter_mut() {
        let _ = w.stdin.write_all(b"quit\n").await;
    }
    for mut w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(5), w.child.wait()).await;
        let _ = w.child.kill().await;
    }
    for mut n in nodes {
        let _ = n.child.kill().await;
        let _ = n.child.wait().await;
    }
    if let Some(e) = ejabberd {
        e.stop().await;
    }
    rows
}

async fn sql_exec(admin: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin}: {e}"));
    sqlx::query(sql)
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
}

/// The shared map of send times, one `AtomicU64` per user.
fn map_sent(path: &Path, total: usize) -> &'static [AtomicU64] {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("the sent map");
    // SAFETY: the file is `total * 8` bytes, made by the coordinator and never resized; every
    // process reads and writes it only through atomics, and the map lives until exit.
    let map = Box::leak(Box::new(
        unsafe { memmap2::MmapMut::map_mut(&file) }.expect("map the sent times"),
    ));
    assert!(map.len() >= total * 8);
    let ptr = map.as_mut_ptr() as *const AtomicU64;
    // SAFETY: page-aligned, `total` u64s long, and AtomicU64 has u64's layout.
    unsafe { std::slice::from_raw_parts(ptr, total) }
}

async fn worker(spec: &Path) {
    let spec: WorkerSpec =
        serde_json::from_slice(&std::fs::read(spec).expect("the worker spec")).expect("a spec");
    OLD_SERVER.store(spec.old_server, Ordering::Relaxed);
    let tokens: Vec<String> = std::fs::read_to_string(&spec.tokens)
        .expect("the tokens")
        .lines()
        .map(str::to_string)
        .collect();
    let shared = Arc::new(Shared {
        sent: map_sent(&spec.sent_map, spec.total),
        latencies: Mutex::new(Vec::new()),
        back: AtomicU64::new(0),
        views_right: AtomicU64::new(0),
        views_wrong: AtomicU64::new(0),
        storm_notes: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
        recording: AtomicBool::new(false),
        finished: AtomicBool::new(false),
        connecting: AtomicBool::new(true),
        greeting_frames: Mutex::new(BTreeMap::new()),
    });
    // Connect this worker's clients, a few hundred at a time, each to its user's node.
    let mut senders: Vec<mpsc::UnboundedSender<String>> = Vec::with_capacity(spec.count);
    let connected = Arc::new(AtomicU64::new(0));
    let sem = Arc::new(tokio::sync::Semaphore::new(256));
    let t = Instant::now();
    for (i, token) in tokens.iter().enumerate().skip(spec.first).take(spec.count) {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        let source = spec.sources[i % spec.sources.len()];
        let addr = spec.nodes[i % spec.nodes.len()];
        let token = token.clone();
        let (shared, connected, sem) = (shared.clone(), connected.clone(), sem.clone());
        let xmpp = spec.xmpp;
        tokio::spawn(async move {
            let permit = sem.acquire_owned().await.expect("semaphore");
            if xmpp {
                xmpp_client(i, source, addr, rx, shared, connected, permit).await
            } else {
                client(i, source, addr, token, rx, shared, connected, permit).await
            }
        });
    }
    while (connected.load(Ordering::Relaxed) as usize) < spec.count
        && t.elapsed() < Duration::from_secs(600)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "connected {}", connected.load(Ordering::Relaxed));
    let _ = out.flush();

    let mut busy = vec![false; spec.count];
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["round", round, rate, seconds] => {
                let (round, rate, seconds): (u64, f64, u64) = (
                    round.parse().unwrap(),
                    rate.parse().unwrap(),
                    seconds.parse().unwrap(),
                );
                let sent =
                    run_round(&spec, &senders, &mut busy, &shared, round, rate, seconds).await;
                let lat = std::mem::take(&mut *shared.latencies.lock().unwrap());
                let bytes: Vec<u8> = lat.iter().flat_map(|l| l.to_le_bytes()).collect();
                std::fs::write(
                    spec.out_dir.join(format!("w{}-r{round}.bin", spec.index)),
                    bytes,
                )
                .expect("latencies");
                let _ = writeln!(
                    out,
                    "done {sent} {}",
                    shared.deliveries.load(Ordering::Relaxed)
                );
                let _ = out.flush();
            }
            ["storm"] => {
                for c in [
                    &shared.back,
                    &shared.views_right,
                    &shared.views_wrong,
                    &shared.storm_notes,
                ] {
                    c.store(0, Ordering::Relaxed);
                }
                let t = Instant::now();
                for s in &senders {
                    let _ = s.send(STORM.to_string());
                }
                while (shared.back.load(Ordering::Relaxed) as usize) < spec.count
                    && t.elapsed() < Duration::from_secs(600)
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let _ = writeln!(
                    out,
                    "stormed {} {}",
                    t.elapsed().as_millis(),
                    shared.back.load(Ordering::Relaxed)
                );
                let _ = out.flush();
            }
            ["frames"] => {
                shared.connecting.store(false, Ordering::Relaxed);
                let counts = std::mem::take(&mut *shared.greeting_frames.lock().unwrap());
                let counts: Vec<String> = counts.iter().map(|(t, n)| format!("{t}={n}")).collect();
                let _ = writeln!(out, "frames {}", counts.join(" "));
                let _ = out.flush();
            }
            ["count"] => {
                let _ = writeln!(
                    out,
                    "count {} {} {}",
                    shared.storm_notes.load(Ordering::Relaxed),
                    shared.views_right.load(Ordering::Relaxed),
                    shared.views_wrong.load(Ordering::Relaxed)
                );
                let _ = out.flush();
            }
            _ => break,
        }
    }
    shared.finished.store(true, Ordering::Relaxed);
}

/// Sends this worker's share of the changes for `seconds`, each flipping one of its users
/// between Busy and Available, while its clients record the deliveries they read.
async fn run_round(
    spec: &WorkerSpec,
    senders: &[mpsc::UnboundedSender<String>],
    busy: &mut [bool],
    shared: &Arc<Shared>,
    round: u64,
    rate: f64,
    seconds: u64,
) -> u64 {
    shared.latencies.lock().unwrap().clear();
    shared.deliveries.store(0, Ordering::Relaxed);
    shared.recording.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    let mut next = tokio::time::Instant::now();
    let mut sent = 0u64;
    let n = senders.len();
    let mut i = (round as usize * 7919) % n;
    let end = t0 + Duration::from_secs(seconds);
    while Instant::now() < end {
        // Each step sends as many changes as are due (the timer's granularity is ~1 ms).
        let due = (t0.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            i = (i + 7919) % n; // a prime step visits every user before repeating
            busy[i] = !busy[i];
            let status = if busy[i] {
                StatusId::BUSY
            } else {
                StatusId::AVAILABLE
            };
            let mark = if busy[i] { BUSY_BIT } else { 0 };
            shared.sent[spec.first + i].store(micros(shared) | mark, Ordering::Relaxed);
            let frame = if spec.xmpp {
                bench::ejabberd::presence(busy[i]).to_string()
            } else if spec.old_server {
                // Protocol 1's own frame, written out: its types are gone from the crate.
                serde_json::json!({
                    "type": "set_status",
                    "request": format!("b{round}-{sent}"),
                    "status": status,
                    "until": null,
                })
                .to_string()
            } else {
                encode(&ClientMessage::Change {
                    request: RequestId(format!("b{round}-{sent}")),
                    change: Change::SetStatus {
                        status,
                        until: None,
                    },
                })
            };
            let _ = senders[i].send(frame);
            sent += 1;
        }
        next += Duration::from_millis(1);
        tokio::time::sleep_until(next).await;
    }
    // Late deliveries of the last changes still count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    shared.recording.store(false, Ordering::Relaxed);
    sent
}

/// Every client drops its connection at once and connects again, while notifications are
/// posted to `--storm-notifications` people; prints how long until all were back, whether
/// their first team snapshots were right, the server's peak RSS, and notifications lost.
async fn storm(args: &Args, workers: &mut [Worker], pids: &[u32], addr: SocketAddr, key: &str) {
    println!();
    println!(
        "storm: {} clients drop their connections at once and reconnect; {} notifications posted meanwhile",
        args.clients, args.storm_notifications
    );
    let rss_before: u64 = pids.iter().map(|p| rss_kib(*p)).sum();
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling, pids) = (peak.clone(), sampling.clone(), pids.to_vec());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                let rss: u64 = pids.iter().map(|p| rss_kib(*p)).sum();
                peak.fetch_max(rss, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let t = Instant::now();
    for w in workers.iter_mut() {
        let _ = w.stdin.write_all(b"storm\n").await;
    }
    // The notifications, to people spread over every team, posted as the storm starts.
    let http = reqwest::Client::new();
    let every = (args.clients / args.storm_notifications.max(1)).max(1);
    let targets: Vec<usize> = (0..args.clients)
        .step_by(every)
        .take(args.storm_notifications)
        .collect();
    let url = format!("http://{addr}/api/v1/notifications");
    let posting = {
        use futures_util::StreamExt;
        let posts = futures_util::stream::iter(targets.clone()).map(|u| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let body = serde_json::json!({"user": user_id(u), "title": format!("storm-{u}"), "body": "sent while everyone reconnects"});
                match http.post(&url).bearer_auth(key).json(&body).send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("{} {}", r.status(), r.text().await.unwrap_or_default())),
                    Err(e) => Err(e.to_string()),
                }
            }
        });
        posts.buffer_unordered(16).collect::<Vec<_>>()
    };
    let (posted, back) = tokio::join!(posting, async {
        let mut back = 0u64;
        let mut slowest = 0u64;
        for w in workers.iter_mut() {
            let f = w.figures().await;
            slowest = slowest.max(f.first().copied().unwrap_or(0));
            back += f.get(1).copied().unwrap_or(0);
        }
        (back, slowest)
    });
    let all_back = t.elapsed();
    let refused: Vec<String> = posted.iter().filter_map(|r| r.clone().err()).collect();
    // Late backlogs and snapshots: a few seconds more before counting.
    tokio::time::sleep(Duration::from_secs(5)).await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let (mut notes, mut right, mut wrong) = (0u64, 0u64, 0u64);
    for w in workers.iter_mut() {
        let _ = w.stdin.write_all(b"count\n").await;
        let f = w.figures().await;
        notes += f.first().copied().unwrap_or(0);
        right += f.get(1).copied().unwrap_or(0);
        wrong += f.get(2).copied().unwrap_or(0);
    }
    println!(
        "| clients back | all back after | teammates right in the first snapshot | wrong | server RSS before → peak MiB | notifications posted | read by their clients | lost |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let accepted = targets.len() - refused.len();
    println!(
        "| {} of {} | {:.1} s (slowest worker {:.1} s) | {} | {} | {} → {} | {} | {} | {} |",
        back.0,
        args.clients,
        all_back.as_secs_f64(),
        back.1 as f64 / 1000.0,
        right,
        wrong,
        rss_before / 1024,
        peak.load(Ordering::Relaxed) / 1024,
        accepted,
        notes,
        accepted as i64 - notes as i64
    );
    if let Some(first) = refused.first() {
        println!(
            "{} notifications were refused, the first: {first}",
            refused.len()
        );
    }
}

/// Opens one WebSocket to `addr` from `source` and says hello.
async fn open(
    i: usize,
    source: IpAddr,
    addr: SocketAddr,
    token: &str,
    resume_after: Option<protocol::NotificationSeq>,
) -> Option<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind a source address");
    let stream = match socket.connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("client {i}: connect: {e}");
            return None;
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
            return None;
        }
    };
    let device = DeviceId::parse("bench").unwrap();
    let hello = ClientMessage::Hello {
        protocol: if OLD_SERVER.load(Ordering::Relaxed) {
            1
        } else {
            protocol::PROTOCOL_VERSION
        },
        token: token.to_string(),
        device: device.clone(),
        resume_after,
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
        return None;
    }
    Some(ws)
}

/// Counts what a storm's first team snapshot shows right and wrong: every teammate as their
/// last change left them (Available when they never changed).
fn check_snapshot(me: usize, text: &str, shared: &Shared) {
    let Ok(protocol::ServerMessage::TeamSnapshot { members, .. }) = protocol::decode_server(text)
    else {
        return;
    };
    for m in members {
        let Some(idx) = m
            .user
            .as_str()
            .strip_prefix("u-bench-")
            .and_then(|d| d.parse::<usize>().ok())
        else {
            continue;
        };
        if idx == me {
            continue;
        }
        let busy = shared
            .sent
            .get(idx)
            .is_some_and(|s| s.load(Ordering::Relaxed) & BUSY_BIT != 0);
        let want = if busy {
            StatusId::BUSY
        } else {
            StatusId::AVAILABLE
        };
        let counter = if m.view.status.status == want {
            &shared.views_right
        } else {
            &shared.views_wrong
        };
        counter.fetch_add(1, Ordering::Relaxed);
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
    let mut permit = Some(permit);
    // The newest notification this client has: a reconnect resumes after it.
    let mut cursor: Option<protocol::NotificationSeq> = None;
    let mut stormed = false;
    loop {
        let Some(mut ws) = open(i, source, addr, &token, cursor).await else {
            return;
        };
        // Wait for the welcome before counting this client as connected.
        loop {
            let next = ws.next().await;
            if let Some(Ok(Message::Text(t))) = &next {
                count_greeting(&shared, t.as_str());
            }
            match next {
                Some(Ok(Message::Text(t))) if t.as_str().contains("\"welcome\"") => {
                    if let Ok(protocol::ServerMessage::Welcome { cursor: c, .. }) =
                        protocol::decode_server(t.as_str())
                    {
                        cursor = Some(cursor.map_or(c, |k| k.max(c)));
                    }
                    break;
                }
                Some(Ok(_)) => continue,
                _ => {
                    eprintln!("client {i}: no welcome");
                    return;
                }
            }
        }
        if stormed {
            shared.back.fetch_add(1, Ordering::Relaxed);
        } else {
            connected.fetch_add(1, Ordering::Relaxed);
            permit.take();
        }
        let mut snapshot_due = stormed;
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_millis(1000 + (i as u64 * 7) % 30_000),
            Duration::from_secs(30),
        );
        let reconnect = loop {
            tokio::select! {
                out = rx.recv() => {
                    let Some(text) = out else { return };
                    if text == STORM { break true; }
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
                    count_greeting(&shared, t);
                    if snapshot_due && t.starts_with("{\"type\":\"team_snapshot\"") {
                        snapshot_due = false;
                        check_snapshot(i, t, &shared);
                        continue;
                    }
                    if t.starts_with("{\"type\":\"notification\"") {
                        if let Ok(protocol::ServerMessage::Notification { notification }) = protocol::decode_server(t) {
                            if notification.title.starts_with("storm-") {
                                shared.storm_notes.fetch_add(1, Ordering::Relaxed);
                            }
                            cursor = Some(cursor.map_or(notification.seq, |k| k.max(notification.seq)));
                        }
                        continue;
                    }
                    if !t.starts_with("{\"type\":\"presence_delta\"") || !shared.recording.load(Ordering::Relaxed) {
                        continue;
                    }
                    // The user is the field after the type; its index is in its id.
                    if let Some(idx) = t.find("\"user\":\"u-bench-").map(|p| p + 16) {
                        let digits: String = t[idx..].chars().take_while(|c| c.is_ascii_digit()).collect();
                        if let Ok(u) = digits.parse::<usize>() {
                            let sent = shared.sent.get(u).map_or(0, |s| s.load(Ordering::Relaxed) & !BUSY_BIT);
                            let now = micros(&shared);
                            if sent > 0 && now >= sent {
                                shared.deliveries.fetch_add(1, Ordering::Relaxed);
                                shared.latencies.lock().unwrap().push((now - sent).min(u32::MAX as u64) as u32);
                            }
                        }
                    }
                }
            }
        };
        if !reconnect {
            return;
        }
        // Dropped without a close frame: the server sees the connection end, as after a
        // network break, not a sign-off.
        drop(ws);
        stormed = true;
    }
}

/// One XMPP client of ejabberd: logs in as user `i`, sends what it is given, a whitespace
/// keepalive every 30 s, and records each teammate's presence it reads.
async fn xmpp_client(
    i: usize,
    source: IpAddr,
    addr: SocketAddr,
    mut rx: mpsc::UnboundedReceiver<String>,
    shared: Arc<Shared>,
    connected: Arc<AtomicU64>,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    use tokio::io::AsyncReadExt;
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
    let (mut stream, mut presences) =
        match bench::ejabberd::login(stream, &bench::user_name(i)).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("client {i}: XMPP login: {e}");
                return;
            }
        };
    connected.fetch_add(1, Ordering::Relaxed);
    drop(permit);
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_millis(1000 + (i as u64 * 7) % 30_000),
        Duration::from_secs(30),
    );
    let mut buf = vec![0u8; 4096];
    let mut from = Vec::new();
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(text) = out else { return };
                if stream.write_all(text.as_bytes()).await.is_err() { return; }
            }
            _ = heartbeat.tick() => {
                if stream.write_all(b" ").await.is_err() { return; }
            }
            n = stream.read(&mut buf) => {
                let n = match n {
                    Ok(0) | Err(_) => {
                        if !shared.finished.load(Ordering::Relaxed) { eprintln!("client {i}: closed by the server"); }
                        return;
                    }
                    Ok(n) => n,
                };
                from.clear();
                presences.take_presences(&buf[..n], i, &mut from);
                if !shared.recording.load(Ordering::Relaxed) {
                    continue;
                }
                let now = micros(&shared);
                for u in &from {
                    let sent = shared.sent.get(*u).map_or(0, |s| s.load(Ordering::Relaxed) & !BUSY_BIT);
                    if sent > 0 && now >= sent {
                        shared.deliveries.fetch_add(1, Ordering::Relaxed);
                        shared.latencies.lock().unwrap().push((now - sent).min(u32::MAX as u64) as u32);
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
            avatar: None,
        };
        db.create_user(&row, now).await.expect("user");
        db.add_member(&format!("t-bench-{}", i / team_size), &id)
            .await
            .expect("member");
        let (token, hash) =
            presently_server::auth::new_secret(presently_server::auth::TOKEN_PREFIX);
        db.insert_token(&presently_server::db::NewToken {
            hash: &hash,
            user_id: &id,
            device_id: "bench",
            about: &presence::DeviceAbout::default(),
            now,
        })
        .await
        .expect("token");
        tokens.push(token);
        let _ = UserId::parse(id).expect("valid id");
    }
    // An API key, for the notifications the storm posts.
    let (key, hash) = presently_server::auth::new_secret(presently_server::auth::KEY_PREFIX);
    db.insert_key(&hash, "k-bench", &org.id, "bench", now)
        .await
        .expect("api key");
    db.close().await;
    tokens.push(key);
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

/// `/proc/<pid>/stat`'s fields after the command name (which may hold spaces).
fn stat_fields(pid: u32) -> Vec<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .map(|s| {
            let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            rest.split_whitespace()
                .map(|v| v.parse::<u64>().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default()
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let f = stat_fields(pid);
    f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0)
}

/// utime of a process (its own code, not the kernel's), in clock ticks.
fn user_ticks(pid: u32) -> u64 {
    stat_fields(pid).get(11).copied().unwrap_or(0)
}

/// utime + stime of every process whose name is `name` (PostgreSQL's backends, nats-server).
fn named_ticks(name: &str) -> u64 {
    named_pids(name).into_iter().map(cpu_ticks).sum()
}

/// The processes of this machine whose command name is `name`.
fn named_pids(name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .collect()
}

/// This machine's PostgreSQL on the load's CPUs for as long as it lives (`--pin-postgres`):
/// the postmaster and every backend, so the backends it starts for the run inherit it.
struct PostgresPinned;

impl PostgresPinned {
    fn to(cpus: &str) -> PostgresPinned {
        let pids = named_pids("postgres");
        Self::set(&pids, cpus);
        println!(
            "PostgreSQL: its {} processes moved onto CPU {cpus} for the run (if the bench is stopped before its end: taskset -a -p -c {} <pid> for each)",
            pids.len(),
            Self::all()
        );
        PostgresPinned
    }

    /// Every CPU of the machine (not this process's own share: the bench runs pinned itself).
    fn all() -> String {
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "0-1023".into())
    }

    fn set(pids: &[u32], cpus: &str) {
        for pid in pids {
            let _ = std::process::Command::new("taskset")
                .args(["-a", "-p", "-c", cpus, &pid.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Drop for PostgresPinned {
    fn drop(&mut self) {
        let all = Self::all();
        Self::set(&named_pids("postgres"), &all);
        println!("PostgreSQL: back on CPU {all}");
    }
}
