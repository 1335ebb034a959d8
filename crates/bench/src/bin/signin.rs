//! `presently-signin-bench`: a real `presently-server` process on loopback under a password-
//! guessing attack. Prints the server's RSS (before, peak, after), how the attempts were answered
//! and a legitimate person's sign-in latency while they arrive, for two attacks:
//!
//! - **one account**: N concurrent wrong passwords for one known email, each from its own
//!   address (so the per-address limit does not stop them: the per-account limit must);
//! - **spray**: N concurrent wrong passwords for N different emails from N addresses (no limit
//!   stops them: only the bounded password-check queue does).
//!
//! Then the time a wrong password takes for a known and for an unknown email (they must not
//! differ). A program, not a test: figures go to `docs/benchmarks.md`.

use clap::Parser;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "presently-signin-bench",
    about = "presently-server under a password-guessing attack"
)]
struct Args {
    /// Concurrent wrong-password attempts per attack
    #[arg(long, default_value_t = 1000)]
    attempts: usize,
    /// The server binary [default: presently-server next to this program]
    #[arg(long)]
    server: Option<PathBuf>,
}

const LEGIT: &str = "legit@bench.test";
const VICTIM: &str = "victim@bench.test";
const PASSWORD: &str = "the right password";
/// Known and unknown emails timed one at a time.
const TIMED: usize = 60;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let server_bin = args.server.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("own path")
            .with_file_name("presently-server")
    });
    let dir = std::env::temp_dir().join(format!("presently-signin-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}/server.db", dir.display());
    seed(&server_bin, &url);

    let port = bench::free_port();
    let mut server = tokio::process::Command::new(&server_bin)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "error")
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", server_bin.display()));
    let pid = server.id().expect("server pid");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    bench::wait_for(addr).await;
    let base = format!("http://{addr}/api/v1/sessions");
    println!(
        "presently-signin-bench: {} concurrent wrong passwords per attack; server pid {pid}",
        args.attempts
    );

    // Warm up: one real sign-in, so the baseline RSS includes a password check.
    let legit = client([127, 0, 0, 1]);
    let (status, took) = sign_in(&legit, &base, LEGIT, PASSWORD).await;
    assert_eq!(
        status, 201,
        "the legitimate sign-in works before the attack"
    );
    println!(
        "before: RSS {:.1} MiB; a legitimate sign-in {:.1} ms",
        mib(bench::status_kib(pid, "VmRSS")),
        ms(took)
    );

    // Addresses 127.1.0.0 … for the first attack, 127.2.0.0 … for the second: fresh limits.
    for (name, octet, spray) in [("one account", 1u8, false), ("spray", 2u8, true)] {
        attack(&base, pid, args.attempts, name, octet, spray, &legit).await;
        // Let every limit recover before the next measurement.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }

    // Timing: a wrong password for a known and for an unknown email, one at a time, each for
    // its own account and from its own address (so no limit is involved).
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    // The password-check workers take turns, so alternating strictly would time every known
    // email on one worker and every unknown one on the other: swap the order every other time.
    for i in 0..TIMED as u8 {
        let kinds = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_known in kinds {
            let (email, from, times) = if is_known {
                (
                    format!("known{i}@bench.test"),
                    [127, 3, 0, i + 1],
                    &mut known,
                )
            } else {
                (
                    format!("nobody{i}@bench.test"),
                    [127, 3, 1, i + 1],
                    &mut unknown,
                )
            };
            let (status, took) = sign_in(&client(from), &base, &email, "wrong").await;
            assert_eq!(status, 401, "a wrong password for {email}");
            times.push(took);
        }
    }
    println!(
        "a wrong password, one at a time (median of {TIMED}): known email {:.1} ms, unknown email {:.1} ms",
        ms(median(&mut known)),
        ms(median(&mut unknown))
    );
    println!(
        "peak RSS over the whole run (VmHWM): {:.1} MiB",
        mib(bench::status_kib(pid, "VmHWM"))
    );
    let _ = server.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[allow(clippy::too_many_arguments)]
async fn attack(
    base: &str,
    pid: u32,
    attempts: usize,
    name: &str,
    octet: u8,
    spray: bool,
    legit: &reqwest::Client,
) {
    let before = bench::status_kib(pid, "VmRSS");
    let peak = Arc::new(AtomicU64::new(before));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, running) = (peak.clone(), running.clone());
        tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                peak.fetch_max(bench::status_kib(pid, "VmRSS"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let start = Instant::now();
    let gate = Arc::new(tokio::sync::Barrier::new(attempts + 1));
    let mut tasks = Vec::with_capacity(attempts);
    for i in 0..attempts {
        let c = client([127, octet, (i / 250) as u8, (i % 250) as u8 + 1]);
        let (base, gate) = (base.to_string(), gate.clone());
        let email = if spray {
            format!("sprayed{i}@bench.test")
        } else {
            VICTIM.to_string()
        };
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            sign_in(&c, &base, &email, "a guess").await
        }));
    }
    gate.wait().await;
    // While the attempts arrive: the legitimate person signs in (and retries after Retry-After
    // if the server says it is busy, as the app does).
    let legit_start = Instant::now();
    let mut legit_tries = 0;
    let legit_status = loop {
        legit_tries += 1;
        let (status, _) = sign_in(legit, base, LEGIT, PASSWORD).await;
        if status != 429 || legit_tries >= 10 {
            break status;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let legit_took = legit_start.elapsed();
    let mut by_status = std::collections::BTreeMap::new();
    let mut slowest = Duration::ZERO;
    for t in tasks {
        let (status, took) = t.await.expect("an attempt");
        *by_status.entry(status).or_insert(0u32) += 1;
        slowest = slowest.max(took);
    }
    let all_answered = start.elapsed();
    running.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = bench::status_kib(pid, "VmRSS");
    let answers: Vec<String> = by_status.iter().map(|(s, n)| format!("{n}× {s}")).collect();
    println!(
        "attack \"{name}\": {attempts} wrong passwords answered in {:.2} s ({}; slowest {:.0} ms); \
         legitimate sign-in {} after {:.0} ms ({} tr{}); RSS {:.1} → peak {:.1} → {:.1} MiB",
        all_answered.as_secs_f64(),
        answers.join(", "),
        ms(slowest),
        legit_status,
        ms(legit_took),
        legit_tries,
        if legit_tries == 1 { "y" } else { "ies" },
        mib(before),
        mib(peak.load(Ordering::Relaxed)),
        mib(after)
    );
}

fn client(from: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::from(from)))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// (HTTP status, time to answer); status 0 when the request failed.
async fn sign_in(c: &reqwest::Client, url: &str, email: &str, password: &str) -> (u16, Duration) {
    let start = Instant::now();
    let status = c
        .post(url)
        .json(&serde_json::json!({"email": email, "password": password, "device": "bench"}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (status, start.elapsed())
}

/// Creates the organisation and the two people with the server's own admin commands.
fn seed(server_bin: &Path, url: &str) {
    let admin = |args: &[&str]| -> String {
        let out = Command::new(server_bin)
            .args(["--database-url", url, "admin"])
            .args(args)
            .env("RUST_LOG", "error")
            .output()
            .expect("presently-server admin runs");
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let org = admin(&["create-org", "--name", "Bench"]);
    let known: Vec<String> = (0..TIMED).map(|i| format!("known{i}@bench.test")).collect();
    for email in [LEGIT, VICTIM]
        .into_iter()
        .chain(known.iter().map(String::as_str))
    {
        admin(&[
            "create-user",
            "--org",
            &org,
            "--email",
            email,
            "--name",
            email,
            "--password",
            PASSWORD,
        ]);
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}
