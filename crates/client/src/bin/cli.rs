//! `presently-cli`: the client core from a terminal. Status get / set, message, DND, pause,
//! the missed-notification center, explain, and `run` (stay connected with desktop
//! notifications and auto-away).

use clap::{Parser, Subcommand};
use presence::{Change, ClearAfter, DeviceId, Emoji, MessageText, StatusId, Timestamp};
use presently_client::notifier::{Action, DesktopNotifier};
use presently_client::server::{Server, Trust};
use presently_client::session as client_session;
use presently_client::store::{self, Store};
use presently_client::sync::{self, Command, Connection, Event, Options};
use presently_client::{idle, parse_duration};
use protocol::NotificationSeq;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "presently-cli",
    version,
    about = "Presently from the command line"
)]
struct Cli {
    /// The local store [default: ~/.local/share/presently/client.db on Linux,
    /// %LOCALAPPDATA%\Presently\client.db on Windows]
    #[arg(long, env = "PRESENTLY_STORE", global = true)]
    store: Option<PathBuf>,
    /// How long one-shot commands wait for the server
    #[arg(long, default_value = "10s", global = true)]
    wait: String,
    /// A PEM file of CA certificates to trust beside the system's (a company's own CA)
    #[arg(long, env = "PRESENTLY_CA_FILE", global = true)]
    ca_file: Option<PathBuf>,
    /// Allow plain http:// to a server that is not on this machine (passwords and tokens then
    /// cross the network unencrypted)
    #[arg(long, global = true)]
    allow_http: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Sign in and remember the server and the device token
    Login {
        #[arg(long, default_value = "http://127.0.0.1:7878")]
        server: String,
        #[arg(long)]
        email: String,
        #[arg(
            long,
            env = "PRESENTLY_PASSWORD",
            hide_env_values = true,
            required_unless_present = "sso"
        )]
        password: Option<String>,
        /// This device's id [default: this installation's own, made once and kept in the store]
        #[arg(long)]
        device: Option<String>,
        /// Sign in through your organisation's identity provider in the browser (single
        /// sign-on), instead of a password
        #[arg(long, conflicts_with = "password")]
        sso: bool,
        /// With --sso: print the address to open instead of opening the browser
        #[arg(long, requires = "sso")]
        no_browser: bool,
    },
    /// Sign out (the token stops working)
    Logout,
    /// Your status, message and whether notifications interrupt; with a status, sets it first
    /// (over REST, at once: for scripts)
    Status {
        /// available, busy, do_not_disturb, away, invisible, custom:<id>
        status: Option<String>,
        /// For how long (30m, 2h); ends by itself
        #[arg(long = "for", requires = "status")]
        for_: Option<String>,
        /// Print the server's answer as JSON
        #[arg(long)]
        json: bool,
    },
    /// Your teammates and favourites, with their status and message
    Team {
        /// Print the server's answer as JSON
        #[arg(long)]
        json: bool,
    },
    /// Set a status: available, busy, do_not_disturb, away, invisible, custom:<id>
    Set {
        status: String,
        /// For how long (30m, 2h); ends by itself
        #[arg(long = "for")]
        for_: Option<String>,
    },
    /// Do not disturb for a duration
    Dnd { duration: String },
    /// Set the status message
    Message {
        text: String,
        #[arg(long)]
        emoji: Option<String>,
        /// never, 30m, 1h, 4h, today, week
        #[arg(long, default_value = "never")]
        clear_after: String,
    },
    /// Clear the status message
    ClearMessage,
    /// Pause notifications for a duration
    Pause { duration: String },
    /// Resume notifications
    Resume,
    /// Close the wrap-up: After call work ends now (when the organisation keeps it open until
    /// closed, or to end it early)
    WrapUp,
    /// The missed-notification center (after syncing)
    Missed {
        #[arg(long)]
        all: bool,
    },
    /// Mark notifications read
    Read {
        seqs: Vec<u64>,
        #[arg(long)]
        all: bool,
    },
    /// Dismiss notifications
    Dismiss { seqs: Vec<u64> },
    /// Why am I shown as this status?
    Explain,
    /// Stay connected: desktop notifications and auto-away; prints events as JSON lines
    Run {
        #[arg(long)]
        no_notifications: bool,
        #[arg(long)]
        no_auto_away: bool,
        /// Report idle after this long without input (the server applies the Away threshold)
        #[arg(long, default_value = "30s")]
        idle_report_after: String,
        /// How often to check idle time
        #[arg(long, default_value = "5s")]
        idle_every: String,
        /// Do not show On a call while a calling application uses the microphone
        #[arg(long)]
        no_call_detection: bool,
        /// The applications that make a call when they use the microphone (comma-separated)
        #[arg(long, value_delimiter = ',', default_values_t = presently_client::calls::DEFAULT_APPS.iter().map(|s| s.to_string()))]
        call_apps: Vec<String>,
        /// How often to look at the microphone
        #[arg(long, default_value = "2s")]
        call_every: String,
        /// When the desktop's own Do not disturb comes on (GNOME: banners off): dnd, pause
        /// (Presently's notifications only) or off
        #[arg(long, default_value = "dnd")]
        desktop_dnd: String,
        /// Leave the desktop's banners on while Presently holds notifications
        #[arg(long)]
        no_quiet_desktop: bool,
        /// How often to look at the desktop's Do not disturb
        #[arg(long, default_value = "2s")]
        desktop_dnd_every: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("presently-cli: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The stored session with the store it came from.
struct Session {
    store: Store,
    signed_in: client_session::Session,
}

async fn session(store: Store, trust: &Trust) -> Result<Session, String> {
    let signed_in = client_session::Session::stored(&store, trust)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("not signed in: run presently-cli login --email … first")?;
    Ok(Session { store, signed_in })
}

/// Prints lines; a reader that went away (`| head`) ends the output quietly, not in a panic.
fn print_lines(lines: &[String]) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in lines {
        if let Err(e) = writeln!(out, "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(format!("cannot write the output: {e}"));
        }
    }
    Ok(())
}

/// Opens `url` in the system's browser, best effort (the address is printed in any case).
fn open_browser(url: &str) {
    let tried = if cfg!(windows) {
        std::process::Command::new("rundll32")
            .args(["url.dll,FileProtocolHandler", url])
            .spawn()
    } else if cfg!(target_os = "macos") {
        std::process::Command::new("open").arg(url).spawn()
    } else {
        std::process::Command::new("xdg-open").arg(url).spawn()
    };
    if let Err(e) = tried {
        eprintln!("could not open the browser ({e}): open the address above yourself");
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    print_lines(&[text])
}

fn until(duration: &str) -> Result<Timestamp, String> {
    let d = parse_duration(duration)?;
    Ok(Timestamp(
        chrono::Utc::now().timestamp_millis() + d.as_millis() as i64,
    ))
}

async fn run(cli: Cli) -> Result<(), String> {
    let path = cli.store.clone().unwrap_or_else(store::default_path);
    let store = Store::open(&path).await.map_err(|e| e.to_string())?;
    let wait = parse_duration(&cli.wait)?;
    let env = Trust::from_env();
    let trust = Trust {
        extra_ca: cli.ca_file.clone(),
        allow_http: cli.allow_http || env.allow_http,
    };
    let change = |c: Command| Some(c);
    let command = match cli.command {
        Cmd::Login {
            server,
            email,
            password,
            device,
            sso,
            no_browser,
        } => {
            let device = device
                .map(DeviceId::parse)
                .transpose()
                .map_err(|e| e.to_string())?;
            let server = Server::new(&server, &trust).map_err(|e| e.to_string())?;
            // The command line on this computer: its host name, and "cli" as its platform.
            let about = presence::DeviceAbout {
                platform: presence::Platform::Cli,
                ..client_session::this_computer()
            };
            let session = match password {
                Some(password) if !sso => {
                    client_session::Session::sign_in(
                        &store, &server, &email, &password, device, &about,
                    )
                    .await
                }
                _ => {
                    if device.is_some() {
                        return Err(
                            "--device is not used with --sso: the installation's own id is".into(),
                        );
                    }
                    let start = presently_client::sso::SsoStart::begin(&server, &email)
                        .await
                        .map_err(|e| e.to_string())?;
                    println!(
                        "{} ({}): open this address in your browser to sign in:\n{}",
                        start.label, start.org_name, start.url
                    );
                    if !no_browser {
                        open_browser(&start.url);
                    }
                    start.finish(&store, &about).await
                }
            }
            .map_err(|e| e.to_string())?;
            println!(
                "signed in to {} as {email} (device {})",
                session.server,
                session.device.as_str()
            );
            return Ok(());
        }
        Cmd::Logout => {
            let s = session(store.clone(), &trust).await?;
            let kept = s.store.clone();
            s.signed_in
                .sign_out(&kept)
                .await
                .map_err(|e| e.to_string())?;
            println!("signed out");
            return Ok(());
        }
        Cmd::Status { status, for_, json } => {
            let s = session(store, &trust).await?;
            let (api, token) = (s.signed_in.api(), &s.signed_in.token);
            if let Some(status) = status {
                let status: StatusId = status
                    .parse()
                    .map_err(|e: presence::PresenceError| e.to_string())?;
                let until = for_.as_deref().map(until).transpose()?;
                let request = protocol::RequestId(format!("cli-{:016x}", rand::random::<u64>()));
                api.change(token, &request, &Change::SetStatus { status, until })
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let me = api.me(token).await.map_err(|e| e.to_string())?;
            if json {
                return print_json(&me);
            }
            let v = &me.view;
            let mut lines = vec![v.status.label.clone()];
            if let Some(m) = &v.message {
                lines.push(format!(
                    "message: {} {}",
                    m.emoji.as_ref().map(|e| e.as_str()).unwrap_or(""),
                    m.text.as_str()
                ));
            }
            if v.seen_by_others.status.status != v.status.status {
                lines.push(format!("others see: {}", v.seen_by_others.status.label));
            }
            lines.push(format!(
                "notifications: {}",
                tag(&v.interruptibility, "state")
            ));
            lines.push(format!("unread: {}", me.unread));
            return print_lines(&lines);
        }
        Cmd::Team { json } => {
            let s = session(store, &trust).await?;
            let team = s
                .signed_in
                .api()
                .team(&s.signed_in.token)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                return print_json(&team);
            }
            let width = team
                .members
                .iter()
                .map(|m| m.name.chars().count())
                .max()
                .unwrap_or(0);
            let lines: Vec<String> = team
                .members
                .iter()
                .map(|m| {
                    let message = m
                        .view
                        .message
                        .as_ref()
                        .map(|x| {
                            format!(
                                "  {} {}",
                                x.emoji.as_ref().map(|e| e.as_str()).unwrap_or(""),
                                x.text.as_str()
                            )
                        })
                        .unwrap_or_default();
                    format!("{:width$}  {}{message}", m.name, m.view.status.label)
                })
                .collect();
            if lines.is_empty() {
                return print_lines(&[
                    "nobody: you are in no team and have pinned nobody".to_string()
                ]);
            }
            return print_lines(&lines);
        }
        Cmd::Explain => {
            let s = session(store, &trust).await?;
            let e = s
                .signed_in
                .api()
                .explain(&s.signed_in.token)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "You are shown as {} because {}.",
                e.winner.label, e.winner.because
            );
            if let Some(until) = e.winner.until {
                println!("Until {}.", local_time(until.0));
            }
            for o in &e.others {
                println!(
                    "  beneath: {} ({}, {})",
                    o.label,
                    o.because,
                    tag(&o.standing, "")
                );
            }
            println!("When this ends: {}", e.when_this_ends);
            println!("Others see: {}", e.seen_by_others);
            return Ok(());
        }
        Cmd::Set { status, for_ } => {
            let status: StatusId = status
                .parse()
                .map_err(|e: presence::PresenceError| e.to_string())?;
            let until = for_.as_deref().map(until).transpose()?;
            change(Command::Change(Change::SetStatus { status, until }))
        }
        Cmd::Dnd { duration } => change(Command::Change(Change::do_not_disturb(Some(until(
            &duration,
        )?)))),
        Cmd::Message {
            text,
            emoji,
            clear_after,
        } => {
            let clear_after = match clear_after.as_str() {
                "never" => ClearAfter::Never,
                "30m" => ClearAfter::ThirtyMinutes,
                "1h" => ClearAfter::OneHour,
                "4h" => ClearAfter::FourHours,
                "today" => ClearAfter::Today,
                "week" => ClearAfter::ThisWeek,
                other => ClearAfter::At(until(other)?),
            };
            change(Command::Change(Change::SetMessage {
                text: MessageText::parse(text).map_err(|e| e.to_string())?,
                emoji: emoji
                    .map(Emoji::parse)
                    .transpose()
                    .map_err(|e| e.to_string())?,
                clear_after,
            }))
        }
        Cmd::ClearMessage => change(Command::Change(Change::ClearMessage)),
        Cmd::Pause { duration } => change(Command::Change(Change::PauseNotifications {
            until: until(&duration)?,
        })),
        Cmd::Resume => change(Command::Change(Change::ResumeNotifications)),
        Cmd::WrapUp => change(Command::Change(Change::CloseWrapUp)),
        Cmd::Read { seqs, all } => {
            if all {
                change(Command::MarkAllRead)
            } else {
                change(Command::MarkRead(
                    seqs.into_iter().map(NotificationSeq).collect(),
                ))
            }
        }
        Cmd::Dismiss { seqs } => change(Command::Dismiss(
            seqs.into_iter().map(NotificationSeq).collect(),
        )),
        Cmd::Missed { all } => {
            // Sync first (best effort), then print the local center.
            if let Ok(s) = session(store.clone(), &trust).await {
                let (sync, task) = sync::spawn(
                    s.store.clone(),
                    Arc::new(presently_client::notifier::Recorder::default()),
                    Options::new(
                        &s.signed_in.server,
                        &s.signed_in.token,
                        s.signed_in.device.clone(),
                    ),
                );
                let mut events = sync.subscribe();
                let _ = tokio::time::timeout(wait, async {
                    while let Ok(e) = events.recv().await {
                        match e {
                            // The backlog follows the self view; a moment later it is in.
                            Event::SelfView { .. } => {
                                tokio::time::sleep(Duration::from_millis(300)).await;
                                break;
                            }
                            Event::Connection(
                                Connection::Offline { .. } | Connection::SignedOut { .. },
                            ) => break,
                            _ => {}
                        }
                    }
                })
                .await;
                sync.stop();
                let _ = task.await;
            }
            let entries = store.center(all, 500).await.map_err(|e| e.to_string())?;
            if entries.is_empty() {
                println!("no notifications");
            }
            for e in entries {
                let n = &e.notification;
                let mark = if e.missed {
                    "missed"
                } else if n.read {
                    "read  "
                } else {
                    "unread"
                };
                println!(
                    "#{:<5} {} {}  {}{}",
                    n.seq.0,
                    mark,
                    local_time(n.created_at.0),
                    n.title,
                    if n.body.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", n.body)
                    }
                );
            }
            return Ok(());
        }
        Cmd::Run {
            no_notifications,
            no_auto_away,
            idle_report_after,
            idle_every,
            no_call_detection,
            call_apps,
            call_every,
            desktop_dnd,
            no_quiet_desktop,
            desktop_dnd_every,
        } => {
            let follow = presently_client::desktop_dnd::Follow::parse(&desktop_dnd)?;
            let desktop_dnd_every = parse_duration(&desktop_dnd_every)?;
            let s = session(store, &trust).await?;
            let desktop =
                (!no_notifications).then(|| Arc::new(DesktopNotifier::new("dialog-information")));
            let notifier: Arc<dyn presently_client::notifier::Notifier> = match &desktop {
                Some(d) => d.clone(),
                None => Arc::new(presently_client::notifier::Recorder::default()),
            };
            let (sync, task) = sync::spawn(
                s.store.clone(),
                notifier,
                Options {
                    // A notification from a teammate shows their face.
                    faces: Some(presently_client::faces::Faces::beside(&s.store.path)),
                    ..Options::new(
                        &s.signed_in.server,
                        &s.signed_in.token,
                        s.signed_in.device.clone(),
                    )
                },
            );
            if let Some(desktop) = desktop {
                // Open and Mark read on a desktop notification: both mark it read everywhere;
                // the click is printed like every other event (with the link, for Open).
                let (sync, store) = (sync.clone(), s.store.clone());
                let runtime = tokio::runtime::Handle::current();
                desktop.listen_for_actions(move |action| {
                    runtime.block_on(async {
                        let mut line = serde_json::json!({"event": "notification_action"});
                        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&action)
                        {
                            line.as_object_mut().expect("an object").extend(fields);
                        }
                        if let Action::Open(seq) | Action::MarkRead(seq) = action {
                            let seq = protocol::NotificationSeq(seq);
                            if let Ok(Some(entry)) = store.entry(seq).await {
                                line["link"] = serde_json::json!(entry.notification.link);
                            }
                            sync.send(Command::MarkRead(vec![seq])).await;
                        }
                        println!("{line}");
                    });
                });
            }
            let mut events = sync.subscribe();
            if !no_auto_away {
                let source = idle::detect();
                if let Some(reason) = idle::unavailable(source.as_ref()) {
                    println!(
                        "{}",
                        serde_json::json!({"event": "auto_away", "state": "unavailable", "reason": reason})
                    );
                } else {
                    println!(
                        "{}",
                        serde_json::json!({"event": "auto_away", "state": "on", "source": source.name()})
                    );
                }
                tokio::spawn(idle::run(
                    source,
                    sync.clone(),
                    parse_duration(&idle_every)?,
                    parse_duration(&idle_report_after)?,
                    idle::watch_lock(sync.clone()),
                ));
                idle::watch_sleep(sync.clone(), tokio::runtime::Handle::current());
            }
            if !no_call_detection {
                tokio::spawn(presently_client::calls::run(
                    sync.clone(),
                    std::sync::Arc::new(std::sync::RwLock::new(call_apps)),
                    parse_duration(&call_every)?,
                ));
            }
            use presently_client::desktop_dnd;
            let quiet_desktop = !no_quiet_desktop;
            if follow != desktop_dnd::Follow::Off || quiet_desktop {
                match tokio::task::spawn_blocking(desktop_dnd::detect)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|d| d)
                {
                    Ok(desktop) => {
                        println!(
                            "{}",
                            serde_json::json!({"event": "desktop_dnd", "state": "on", "desktop": desktop.name()})
                        );
                        tokio::spawn(desktop_dnd::run(
                            sync.clone(),
                            s.store.clone(),
                            desktop,
                            Arc::new(std::sync::RwLock::new((follow, quiet_desktop))),
                            desktop_dnd_every,
                            clock::SystemClock::shared(),
                        ));
                    }
                    Err(reason) => println!(
                        "{}",
                        serde_json::json!({"event": "desktop_dnd", "state": "unavailable", "reason": reason})
                    ),
                }
            }
            let printer = tokio::spawn(async move {
                while let Ok(e) = events.recv().await {
                    println!("{}", serde_json::to_string(&e).unwrap_or_default());
                }
            });
            let _ = tokio::signal::ctrl_c().await;
            sync.stop();
            let _ = task.await;
            printer.abort();
            return Ok(());
        }
    };
    // A one-shot change: stored in the outbox, sent, and waited for.
    let Some(command) = command else {
        return Ok(());
    };
    let s = session(store, &trust).await?;
    let (sync, task) = sync::spawn(
        s.store.clone(),
        Arc::new(presently_client::notifier::Recorder::default()),
        Options::new(
            &s.signed_in.server,
            &s.signed_in.token,
            s.signed_in.device.clone(),
        ),
    );
    let mut events = sync.subscribe();
    let request = sync
        .send(command)
        .await
        .ok_or("the local store refused the change")?;
    let outcome = tokio::time::timeout(wait, async {
        while let Ok(e) = events.recv().await {
            match e {
                Event::Pending { count: 0 } => return Ok(()),
                Event::Refused { request: r, error } if r == request => return Err(error.message),
                Event::Connection(Connection::SignedOut { reason }) => {
                    return Err(format!("{reason} (presently-cli login)"))
                }
                Event::StoreFailed { message } => return Err(message),
                _ => {}
            }
        }
        Ok(())
    })
    .await;
    sync.stop();
    let _ = task.await;
    match outcome {
        Ok(Ok(())) => {
            println!("done");
            Ok(())
        }
        Ok(Err(e)) => Err(e),
        Err(_) => {
            println!("queued: the server is not reachable now; the change is sent once it is (next presently-cli command or run)");
            Ok(())
        }
    }
}

fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// A serde-tagged value's name as the wire spells it (`field` of an object, or the string
/// itself), for printing.
fn tag<T: serde::Serialize>(value: &T, field: &str) -> String {
    let v = serde_json::to_value(value).unwrap_or_default();
    let v = if field.is_empty() { &v } else { &v[field] };
    v.as_str().unwrap_or("?").to_string()
}
