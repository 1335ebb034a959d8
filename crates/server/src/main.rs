//! `presently-server`: serve (the default), or administer organisations, teams, users and keys.

use clap::{Parser, Subcommand};
use presently_server::app::App;
use presently_server::config::{Config, Overrides};
use presently_server::db::{Db, Role};
use presently_server::error::AppError;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "presently-server",
    version,
    about = "The Presently presence server"
)]
struct Cli {
    /// Address to listen on [default: 127.0.0.1:7878]
    #[arg(long, env = "PRESENTLY_LISTEN", global = true)]
    listen: Option<String>,
    /// sqlite://path or postgres://… [default: an SQLite file in the user's data directory]
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// A TOML file with listen, database_url, demo, log_format, tls_cert, tls_key
    #[arg(long, env = "PRESENTLY_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// PEM certificate chain (leaf first): serve https and wss with it and --tls-key
    #[arg(long, env = "PRESENTLY_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(long, env = "PRESENTLY_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Seed a demo organisation with simulated teammates and keep them busy
    #[arg(long)]
    demo: bool,
    /// text or json [default: text]
    #[arg(long, env = "PRESENTLY_LOG_FORMAT", global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Administration on the database (no server needs to run)
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Subcommand)]
enum Admin {
    /// Create an organisation; prints its id
    CreateOrg {
        #[arg(long)]
        name: String,
    },
    /// Create a team in an organisation; prints its id
    CreateTeam {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
    },
    /// Create a user; prints its id
    CreateUser {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The password (or set PRESENTLY_PASSWORD)
        #[arg(long, env = "PRESENTLY_PASSWORD", hide_env_values = true)]
        password: String,
        /// IANA time zone
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// Team ids to join (repeat)
        #[arg(long = "team")]
        teams: Vec<String>,
        /// Make the user an administrator of the organisation
        #[arg(long)]
        admin: bool,
    },
    /// Create an API key for integrations; prints the key once
    CreateKey {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
    },
    /// Revoke an API key by its id
    RevokeKey {
        #[arg(long)]
        id: String,
    },
    /// List organisations, teams and users
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let given = Overrides {
        listen: cli.listen.clone(),
        database_url: cli.database_url.clone(),
        demo: cli.demo,
        log_format: cli.log_format.clone(),
        tls_cert: cli.tls_cert.clone(),
        tls_key: cli.tls_key.clone(),
    };
    let config = match Config::resolve(given, cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("presently-server: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    // One open file per connected client: use all the system allows.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let result = runtime.block_on(async move {
        match cli.command {
            None => serve(config).await,
            Some(Command::Admin(a)) => admin(config, a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("presently-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), AppError> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(presently_server::tls::server_config(cert, key)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let running = presently_server::start(&config.database_url, config.listen, tls).await?;
    eprintln!(
        "presently-server: listening on {scheme}://{} ({})",
        running.addr,
        redact(&config.database_url)
    );
    if scheme == "http" && !running.addr.ip().is_loopback() {
        eprintln!(
            "presently-server: warning: plain HTTP on a network address: passwords and tokens cross \
             the network unencrypted. Give --tls-cert and --tls-key, or put a TLS proxy in front \
             (docs/server.md); clients refuse plain http:// to another machine unless told to allow it"
        );
    }
    if config.demo {
        let demo = presently_server::demo::seed(&running.app).await?;
        eprintln!(
            "presently-server: demo organisation ready: sign in as {} / {}",
            demo.email, demo.password
        );
        tokio::spawn(presently_server::demo::run(
            running.app.clone(),
            format!("{scheme}://{}", running.addr),
        ));
    }
    shutdown_signal().await;
    eprintln!("presently-server: stopping");
    running.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler installs");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((left, right)) if left.contains("://") => {
            let scheme = left.split("://").next().unwrap_or("");
            format!("{scheme}://…@{right}")
        }
        _ => url.to_string(),
    }
}

async fn admin(config: Config, command: Admin) -> Result<(), AppError> {
    let db = Db::connect(&config.database_url).await?;
    let (_stop, stop_rx) = watch::channel(false);
    let app = App::start(
        db,
        presently_server::broker::InProcess::shared(),
        clock::SystemClock::shared(),
        stop_rx,
    )
    .await?;
    match command {
        Admin::CreateOrg { name } => println!("{}", app.create_org(&name).await?.id),
        Admin::CreateTeam { org, name } => println!("{}", app.create_team(&org, &name).await?),
        Admin::CreateUser {
            org,
            email,
            name,
            password,
            time_zone,
            teams,
            admin,
        } => {
            let role = if admin { Role::Admin } else { Role::Member };
            let id = app
                .create_user(&org, &email, &name, &password, role, &time_zone, &teams)
                .await?;
            println!("{}", id.as_str());
        }
        Admin::CreateKey { org, name } => {
            let (id, key) = app.create_key(&org, &name).await?;
            eprintln!("key id {id}; the key is shown once:");
            println!("{key}");
        }
        Admin::RevokeKey { id } => {
            if !app.revoke_key(&id).await? {
                return Err(AppError::not_found(format!(
                    "no active API key with id {id}"
                )));
            }
            println!("revoked {id}");
        }
        Admin::List => {
            for org in app.orgs() {
                println!("org {} {}", org.id, org.name);
                for (id, team) in app.teams_of_org(&org.id) {
                    println!("  team {id} {} ({} members)", team.name, team.members.len());
                }
                for u in app.people_of_org(&org.id) {
                    println!(
                        "  user {} {} <{}> {:?}",
                        u.id.as_str(),
                        u.name,
                        u.email,
                        u.role
                    );
                }
            }
        }
    }
    app.db.close().await;
    Ok(())
}
