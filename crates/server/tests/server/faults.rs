//! Faults tried for real: a PostgreSQL of the test's own (initdb, pg_ctl) restarted while a
//! person changes their presence as fast as they can, and SQLite on a small tmpfs the test
//! mounts and fills. Each gives clear errors, loses nothing acknowledged, and recovers by
//! itself. (NATS gone for a minute under three nodes is in `cluster.rs`.) PostgreSQL's tools
//! must be there in CI; the tmpfs needs the right to mount, which is skipped elsewhere, saying why.

use crate::support::*;
use presence::{Change, ClearAfter, MessageText};
use presently_server::db::Role;
use protocol::{ClientMessage, ServerMessage};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// How to run `pg_ctl` on the test's cluster (as the `postgres` user when the test runs as
/// root: initdb and the server refuse root).
#[derive(Clone)]
struct PgCtl {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgCtl {
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// `start`, `stop` or `restart`, waiting until it is done.
    fn run(&self, what: &str) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.data.parent().unwrap().display()
        );
        let out = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "fast", "-o", &options, "-l"])
            .arg(self.data.parent().unwrap().join("log"))
            .arg(what)
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// [`PgCtl::run`] off the test's runtime.
    async fn now(&self, what: &'static str) {
        let ctl = self.clone();
        tokio::task::spawn_blocking(move || ctl.run(what))
            .await
            .unwrap();
    }
}

/// A PostgreSQL cluster of the test's own on a free port, stopped when dropped.
struct PrivatePostgres {
    ctl: PgCtl,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    fn start() -> Option<PrivatePostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                versions
                    .flatten()
                    .map(|v| v.path().join("bin"))
                    .filter(|b| b.join("initdb").exists())
                    .max()
            });
        let Some(bin) = bin else {
            let message = "PostgreSQL's initdb is not installed (Debian's postgresql package)";
            assert!(!in_ci(), "{message}: it is required in CI");
            eprintln!("SKIPPED: {message}");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = is_root();
        if as_postgres {
            Command::new("chown")
                .args(["postgres:postgres", dir.path().to_str().unwrap()])
                .status()
                .expect("chown runs");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ctl = PgCtl {
            bin,
            data: dir.path().join("data"),
            port,
            as_postgres,
        };
        let out = ctl
            .tool("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&ctl.data)
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ctl.run("start");
        Some(PrivatePostgres { ctl, _dir: dir })
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.ctl.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .ctl
            .tool("pg_ctl")
            .arg("-D")
            .arg(&self.ctl.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A message change whose text says which it was.
fn numbered(i: usize) -> Change {
    Change::SetMessage {
        text: MessageText::parse(format!("change {i}")).unwrap(),
        emoji: None,
        clear_after: ClearAfter::Never,
    }
}

/// Sends change `i` and waits for its answer: `Ok` on an ack, the error's words otherwise. The
/// server's clock moves a tenth of a second first (a person's own pace: the per-connection
/// frame limit reads that clock).
async fn try_change(c: &mut Client, clock: &clock::ManualClock, i: usize) -> Result<(), String> {
    clock.advance(presence::Span(100));
    let id = c.next_request();
    c.send(&ClientMessage::Change {
        request: id.clone(),
        change: numbered(i),
    })
    .await;
    // The server waits up to 10 s for a database connection before it refuses: wait longer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match c.try_next(left).await {
            Some(ServerMessage::Ack { request }) if request == id => return Ok(()),
            Some(ServerMessage::Error { request, error }) if request.as_ref() == Some(&id) => {
                return Err(error.message)
            }
            Some(_) => continue,
            None => panic!("no answer to change {i} within 30 s"),
        }
    }
}

/// An organisation with one person, `email`, connected from their desk: its id, theirs, and
/// the connection.
async fn one_person_online(
    server: &presently_server::Running,
    org: &str,
    email: &str,
) -> (String, presence::UserId, Client) {
    let app = &server.app;
    let org = app.create_org(org).await.unwrap().id;
    let team = app.create_team(&org, "Core").await.unwrap();
    let person = app
        .create_user(&org, email, "Bea", PASSWORD, Role::Member, "UTC", &[team])
        .await
        .unwrap();
    let token = app
        .issue_token(&person, &presence::DeviceId::parse("desk").unwrap())
        .await
        .unwrap();
    let c = Client::connect(server.addr, &token, "desk", None).await;
    (org, person, c)
}

/// The stored message of `user`, read by a fresh server on the same database.
async fn stored_message(url: &str, user: &presence::UserId) -> Option<String> {
    let db = presently_server::db::Db::connect(url).await.unwrap();
    let (person, ..) = db.user_state(user.as_str()).await.unwrap().unwrap();
    db.close().await;
    person
        .message(presence::Timestamp(0))
        .map(|m| m.text.as_str().to_string())
}

async fn health(addr: std::net::SocketAddr) -> u16 {
    reqwest::get(format!("http://{addr}/healthz"))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_under_load_loses_nothing_acknowledged() {
    let Some(pg) = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .unwrap()
    else {
        return;
    };
    let url = pg.url();
    let clock = clock::ManualClock::starting_now();
    let broker = std::sync::Arc::new(RecordingBroker::default());
    let server = start(&url, &clock, &broker).await;
    let app = server.app.clone();
    let (org, bea, mut c) = one_person_online(&server, "Restarts", "bea@r.test").await;

    // Notifications from an integration, as fast as the server takes them, all along.
    let key = app.create_key(&org, "phone system").await.unwrap().1;
    let sending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sender = tokio::spawn({
        let (addr, sending) = (server.addr, sending.clone());
        async move {
            let http = reqwest::Client::new();
            let (mut stored, mut refused) = (Vec::new(), Vec::new());
            let mut n = 0;
            while sending.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let r = http
                    .post(format!("http://{addr}/api/v1/notifications"))
                    .bearer_auth(&key)
                    .json(&serde_json::json!({"user": "bea@r.test", "title": format!("note {n}")}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                if status == 201 {
                    stored.push(format!("note {n}"));
                } else {
                    refused.push(format!("{status} {}", body["error"]["message"]));
                }
            }
            (stored, refused)
        }
    });

    // Changes as fast as the person can make them; the database restarts meanwhile.
    let restart = {
        let ctl = pg.ctl.clone();
        tokio::task::spawn_blocking(move || ctl.run("restart"))
    };
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    let mut i = 0;
    while !restart.is_finished() || acked.len() < 20 {
        i += 1;
        match try_change(&mut c, &clock, i).await {
            Ok(()) => acked.push(i),
            Err(why) => refused.push(why),
        }
        assert!(i < 100_000, "the database never came back");
    }
    restart.await.unwrap();
    let during = i;
    // After it is back, every change is taken again, by itself.
    for _ in 0..50 {
        i += 1;
        match try_change(&mut c, &clock, i).await {
            Ok(()) => acked.push(i),
            Err(why) => refused.push(why),
        }
    }
    sending.store(false, std::sync::atomic::Ordering::Relaxed);
    let (notes, notes_refused) = sender.await.unwrap();
    for why in &notes_refused {
        assert!(
            why.contains("not reachable") || why.contains("try again"),
            "a refused notification says what happened and what to do: {why}"
        );
    }
    let mut titles = std::collections::HashSet::new();
    let mut after = None;
    loop {
        let page = server
            .app
            .notifications(&bea, after, 1000, true)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        titles.extend(page.into_iter().map(|n| n.title));
    }
    assert!(
        notes.len() > 10,
        "notifications kept coming ({notes_refused:?})"
    );
    for note in &notes {
        assert!(
            titles.contains(note),
            "{note} was acknowledged and is stored"
        );
    }
    eprintln!(
        "postgresql restart: {} notifications stored, {} refused with words",
        notes.len(),
        notes_refused.len()
    );
    let last = *acked.last().unwrap();
    assert!(
        last > i - 5,
        "changes are taken again after the restart ({refused:?})"
    );
    for why in &refused {
        assert!(
            why.contains("not reachable") || why.contains("try again"),
            "a refusal says what happened and what to do: {why}"
        );
    }
    assert_eq!(health(server.addr).await, 200);
    server.stop().await;
    assert_eq!(
        stored_message(&url, &bea).await.as_deref(),
        Some(format!("change {last}").as_str()),
        "the last acknowledged change is stored ({} acknowledged, {} refused)",
        acked.len(),
        refused.len()
    );
    eprintln!(
        "postgresql restart: {} changes acknowledged, {} refused with words; {during} sent until the restart was done",
        acked.len(),
        refused.len(),
    );

    // Down for a while: the server says so, and comes back by itself.
    let server = start(&url, &clock, &broker).await;
    // Another device: its request ids are its own (the desk's were applied already).
    let laptop = server
        .app
        .issue_token(&bea, &presence::DeviceId::parse("laptop").unwrap())
        .await
        .unwrap();
    let mut c = Client::connect(server.addr, &laptop, "laptop", None).await;
    pg.ctl.now("stop").await;
    let why = try_change(&mut c, &clock, 1_000_000)
        .await
        .expect_err("refused while down");
    assert!(why.contains("not reachable"), "{why}");
    assert_eq!(health(server.addr).await, 503);
    pg.ctl.now("start").await;
    let mut back = false;
    for n in 0..50 {
        if try_change(&mut c, &clock, 2_000_000 + n).await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(back, "changes are taken again once PostgreSQL is back");
    assert_eq!(health(server.addr).await, 200);
    server.stop().await;
}

/// A tmpfs of `size` mounted on a new directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(o) if o.status.success() => Some(SmallDisk { dir }),
            other => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here ({:?}); the full-disk test needs root",
                    other.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                );
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_sqlite_refuses_with_words_and_loses_nothing() {
    let Some(disk) = SmallDisk::mount("4m") else {
        return;
    };
    let url = format!("sqlite://{}", disk.path().join("server.db").display());
    let clock = clock::ManualClock::starting_now();
    let broker = std::sync::Arc::new(RecordingBroker::default());
    let server = start(&url, &clock, &broker).await;
    let (_, bea, mut c) = one_person_online(&server, "Full disk", "bea@d.test").await;
    try_change(&mut c, &clock, 1)
        .await
        .expect("stored with room to spare");

    // Fill the disk, then change until a write needs room.
    let filler = disk.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.flush();
    }
    let mut last_acked = 1;
    let mut refusal = None;
    for i in 2..5000 {
        match try_change(&mut c, &clock, i).await {
            Ok(()) => last_acked = i,
            Err(why) => {
                refusal = Some(why);
                break;
            }
        }
    }
    let why = refusal.expect("a change refused once the disk is full");
    assert!(why.contains("disk is full"), "{why}");
    assert_eq!(health(server.addr).await, 200, "reads still answer");

    // Room again: changes are taken, by themselves.
    std::fs::remove_file(&filler).unwrap();
    let mut back = None;
    for i in 10_000..10_050 {
        if try_change(&mut c, &clock, i).await.is_ok() {
            back = Some(i);
            break;
        }
    }
    let back = back.expect("changes are taken again once there is room");
    assert!(back > last_acked);
    server.stop().await;
    assert_eq!(
        stored_message(&url, &bea).await.as_deref(),
        Some(format!("change {back}").as_str())
    );
    drop(disk);
}
