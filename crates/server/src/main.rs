//! `presently-server`: serve (the default), or administer organisations, teams, users and keys.

use clap::{Parser, Subcommand};
use presently_server::app::{Actor, App};
use presently_server::config::{Config, Overrides};
use presently_server::db::{Db, Role};
use presently_server::error::AppError;
use protocol::rest;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// A TOML file with listen, database_url, demo, log_format, tls_cert, tls_key, cluster,
    /// cluster_secret, [nats] (docs/server.md)
    #[arg(long, env = "PRESENTLY_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// PEM certificate chain (leaf first): serve https and wss with it and --tls-key
    #[arg(long, env = "PRESENTLY_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(long, env = "PRESENTLY_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Run as one of several nodes: NATS's address (nats://host:4222); needs PostgreSQL
    #[arg(long, env = "PRESENTLY_CLUSTER")]
    cluster: Option<String>,
    /// The secret every node of the cluster shares (events between nodes are sealed with it);
    /// prefer the environment or the config file to a flag other users can see
    #[arg(long, env = "PRESENTLY_CLUSTER_SECRET", hide_env_values = true)]
    cluster_secret: Option<String>,
    /// Secrets also accepted from other nodes while a new one rolls out (comma-separated)
    #[arg(
        long,
        env = "PRESENTLY_CLUSTER_SECRET_ACCEPT",
        hide_env_values = true,
        value_delimiter = ','
    )]
    cluster_secret_accept: Vec<String>,
    /// WebSocket connections one device may hold; over it the oldest closes (0: no cap) [default: 4]
    #[arg(long, env = "PRESENTLY_MAX_CONNECTIONS_PER_DEVICE")]
    max_connections_per_device: Option<usize>,
    /// WebSocket connections one person may hold; over it new ones are refused (0: no cap) [default: 32]
    #[arg(long, env = "PRESENTLY_MAX_CONNECTIONS_PER_PERSON")]
    max_connections_per_person: Option<usize>,
    /// WebSocket connections one address (IPv6: its /64) may hold; behind a proxy, raise it or
    /// set 0 (no cap) [default: 2000]
    #[arg(long, env = "PRESENTLY_MAX_CONNECTIONS_PER_ADDRESS")]
    max_connections_per_address: Option<usize>,
    /// NATS user (with --nats-password)
    #[arg(long, env = "PRESENTLY_NATS_USER")]
    nats_user: Option<String>,
    /// NATS password
    #[arg(long, env = "PRESENTLY_NATS_PASSWORD", hide_env_values = true)]
    nats_password: Option<String>,
    /// NATS token
    #[arg(long, env = "PRESENTLY_NATS_TOKEN", hide_env_values = true)]
    nats_token: Option<String>,
    /// A file holding this node's NATS NKey seed
    #[arg(long, env = "PRESENTLY_NATS_NKEY")]
    nats_nkey: Option<PathBuf>,
    /// A NATS .creds file (JWT and NKey seed)
    #[arg(long, env = "PRESENTLY_NATS_CREDS")]
    nats_creds: Option<PathBuf>,
    /// The CA that signed NATS's certificate (PEM): TLS to NATS
    #[arg(long, env = "PRESENTLY_NATS_CA")]
    nats_ca: Option<PathBuf>,
    /// This node's client certificate for NATS (PEM), with --nats-key
    #[arg(long, env = "PRESENTLY_NATS_CERT")]
    nats_cert: Option<PathBuf>,
    /// The private key of --nats-cert (PEM)
    #[arg(long, env = "PRESENTLY_NATS_KEY")]
    nats_key: Option<PathBuf>,
    /// The address people reach this server at, for the links it prints [default: from --listen]
    #[arg(long, env = "PRESENTLY_PUBLIC_URL", global = true)]
    public_url: Option<String>,
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
    /// Administration on the database. Works whether or not a server runs on it: a running
    /// server sees each change within a second (sessions of a deactivated person close, teammates
    /// see a new person), and every change is in the audit log
    #[command(subcommand)]
    Admin(Admin),
    /// Ask the server on --listen whether it is healthy (for a container's health check):
    /// exits 0 on ok, 1 with the reason otherwise
    Health,
}

#[derive(Subcommand)]
enum Admin {
    /// Set up a new server in one step: the first organisation, its first team and its
    /// administrator; prints where to sign in and how to invite people
    Init {
        /// The organisation's name
        #[arg(long)]
        org: String,
        /// The administrator's email
        #[arg(long)]
        email: String,
        /// The administrator's name
        #[arg(long)]
        name: String,
        /// The first team [default: the organisation's name]
        #[arg(long)]
        team: Option<String>,
        /// The administrator's password (or PRESENTLY_PASSWORD); without one, a one-time code
        /// to set it with is printed
        #[arg(long, env = "PRESENTLY_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Create an organisation; prints its id
    CreateOrg {
        #[arg(long)]
        name: String,
    },
    /// Create a team in an organisation; prints its id
    CreateTeam {
        /// The organisation's id or name
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
    },
    /// Rename a team
    RenameTeam {
        #[arg(long)]
        org: String,
        #[arg(long)]
        team: String,
        #[arg(long)]
        name: String,
    },
    /// Delete a team (its members stay in the organisation)
    DeleteTeam {
        #[arg(long)]
        org: String,
        #[arg(long)]
        team: String,
    },
    /// Add a person (id or email) to a team
    AddMember {
        #[arg(long)]
        org: String,
        #[arg(long)]
        team: String,
        #[arg(long)]
        user: String,
    },
    /// Remove a person from a team
    RemoveMember {
        #[arg(long)]
        org: String,
        #[arg(long)]
        team: String,
        #[arg(long)]
        user: String,
    },
    /// Create a user with a password; prints its id
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
    /// Invite a person by email; prints the one-time code they sign in with
    Invite {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// A name to start with (the person may give their own)
        #[arg(long)]
        name: Option<String>,
        /// Team ids to join (repeat)
        #[arg(long = "team")]
        teams: Vec<String>,
        /// Make them an administrator
        #[arg(long)]
        admin: bool,
        /// How long the invite lasts, in hours (1 to 720)
        #[arg(long, default_value_t = 168)]
        expires_hours: u32,
    },
    /// List invites and where each stands
    Invites {
        #[arg(long)]
        org: String,
    },
    /// Withdraw an invite by its id
    RevokeInvite {
        #[arg(long)]
        org: String,
        #[arg(long)]
        id: String,
    },
    /// Deactivate a person: sessions closed at once, shown Offline, tokens revoked, history kept
    Deactivate {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
    },
    /// Let a deactivated person sign in again
    Reactivate {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
    },
    /// Delete a person with their notifications and devices
    DeleteUser {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
    },
    /// Make a person an administrator or a member
    SetRole {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
        /// admin or member
        #[arg(long)]
        role: String,
    },
    /// Reset a person's password: prints the code (24 h) they set a new one with
    ResetPassword {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
    },
    /// List signed-in devices (of one person with --user)
    Devices {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: Option<String>,
    },
    /// Sign a person's device out
    RevokeDevice {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        device: String,
    },
    /// Create an API key for integrations; prints the key once
    CreateKey {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
    },
    /// List an organisation's API keys
    Keys {
        #[arg(long)]
        org: String,
    },
    /// Revoke an API key by its id
    RevokeKey {
        #[arg(long)]
        id: String,
        /// The key's organisation (found from the id when absent)
        #[arg(long)]
        org: Option<String>,
    },
    /// Show the audit log, newest first
    Audit {
        #[arg(long)]
        org: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
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
        cluster: cli.cluster.clone(),
        cluster_secret: cli.cluster_secret.clone(),
        cluster_secret_accept: cli.cluster_secret_accept.clone(),
        nats: presently_server::nats::NatsAuth {
            user: cli.nats_user.clone(),
            password: cli.nats_password.clone(),
            token: cli.nats_token.clone(),
            nkey: cli.nats_nkey.clone(),
            creds: cli.nats_creds.clone(),
            ca: cli.nats_ca.clone(),
            cert: cli.nats_cert.clone(),
            key: cli.nats_key.clone(),
        },
        max_connections_per_device: cli.max_connections_per_device,
        max_connections_per_person: cli.max_connections_per_person,
        max_connections_per_address: cli.max_connections_per_address,
        public_url: cli.public_url.clone(),
    };
    let config = match Config::resolve(given, cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("presently-server: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into())
        // NATS's client traces its CONNECT line, password and token included: never that
        // deep, whatever RUST_LOG asks.
        .add_directive(
            "async_nats::connection=debug"
                .parse()
                .expect("a valid log directive"),
        );
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
            Some(Command::Health) => health(&config).await,
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
    let running = presently_server::start_node(
        &config.database_url,
        config.listen,
        tls,
        config.cluster.as_ref(),
    )
    .await?;
    *running
        .app
        .hub
        .limits
        .write()
        .unwrap_or_else(|p| p.into_inner()) = config.connection_limits;
    *running
        .app
        .release
        .write()
        .unwrap_or_else(|p| p.into_inner()) = config.app_release.clone();
    eprintln!(
        "presently-server: listening on {scheme}://{} ({})",
        running.addr,
        presently_server::config::redact_url(&config.database_url)
    );
    if running.app.orgs().is_empty() && !config.demo {
        eprintln!(
            "presently-server: no organisation yet: set one up with `presently-server admin init \
             --org NAME --email YOU --name \"YOUR NAME\"`"
        );
    }
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

/// `health`: GET /healthz on the configured address, over loopback when it listens on all.
async fn health(config: &Config) -> Result<(), AppError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if config.tls.is_some() {
        return Err(AppError::config(
            "health speaks plain HTTP; this server terminates TLS: check https://…/healthz instead",
        ));
    }
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let unhealthy = |why: String| AppError::new(protocol::ErrorKind::Internal, why);
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(4), ask)
        .await
        .map_err(|_| unhealthy(format!("no answer from {addr} within 4 s")))?
        .map_err(|e| unhealthy(format!("cannot reach the server on {addr}: {e}")))?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") {
        println!("ok");
        Ok(())
    } else {
        Err(unhealthy(format!("unhealthy: {}", body.trim())))
    }
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

async fn admin(config: Config, command: Admin) -> Result<(), AppError> {
    let db = Db::connect(&config.database_url).await?;
    let app = App::open_for_admin(db, clock::SystemClock::shared()).await?;
    let result = run_admin(&app, &config, command).await;
    app.db.close().await;
    result
}

/// What `admin init` makes.
struct First {
    org: String,
    email: String,
    name: String,
    team: Option<String>,
    password: Option<String>,
}

/// `admin init`: the first organisation, team and administrator, and what to do next.
async fn init(app: &App, config: &Config, first: First) -> Result<(), AppError> {
    let url = &config.public_url;
    if let Some(existing) = app.orgs().first() {
        return Err(AppError::conflict(format!(
            "this server is set up already (organisation \"{}\"): add people with `presently-server \
             admin invite --org \"{}\" --email …` or in the console at {url}/admin",
            existing.name, existing.name
        )));
    }
    let me = Actor::command_line();
    let org = app.create_org(&first.org).await?;
    let team_name = first.team.unwrap_or_else(|| org.name.clone());
    let team = app.create_team_by(&me, &org.id, &team_name).await?;
    let code = match &first.password {
        Some(password) => {
            app.create_user_by(
                &me,
                &org.id,
                &first.email,
                &first.name,
                password,
                Role::Admin,
                "UTC",
                std::slice::from_ref(&team),
            )
            .await?;
            None
        }
        None => {
            let made = app
                .invite(
                    &me,
                    &org.id,
                    rest::CreateInvite {
                        email: first.email.clone(),
                        name: Some(first.name.clone()),
                        role: Role::Admin,
                        teams: vec![team.clone()],
                        expires_in_hours: Some(168),
                    },
                )
                .await?;
            Some((made.code, made.link))
        }
    };
    println!(
        "Presently is set up on {}:",
        presently_server::config::redact_url(&config.database_url)
    );
    println!("  organisation   {} ({})", org.name, org.id);
    println!("  team           {team_name} ({team})");
    println!("  administrator  {} ({})", first.email, first.name);
    println!();
    println!("Next:");
    println!(
        "  1. Start the server, if it is not running: `systemctl enable --now presently-server`"
    );
    println!("     (the package), or `presently-server`. Check {url}/healthz answers ok.");
    match code {
        Some((code, link)) => {
            println!("  2. Set your password and sign in: open {url}{link}");
            println!(
                "     or enter this one-time code (valid 7 days, shown once) in the app's sign-in:"
            );
            println!("       {code}");
        }
        None => println!(
            "  2. Sign in to the admin console at {url}/admin as {}",
            first.email
        ),
    }
    println!("  3. Invite people in the console (People, then Invite) or with");
    println!(
        "       presently-server admin invite --org \"{}\" --team {team} --email … --name …",
        org.name
    );
    println!("     Each person installs Presently, enters {url} as the server and their code.");
    Ok(())
}

/// An organisation by id or by name.
fn org_id(app: &App, org: &str) -> Result<String, AppError> {
    app.orgs()
        .into_iter()
        .find(|o| o.id == org || o.name == org)
        .map(|o| o.id)
        .ok_or_else(|| {
            AppError::not_found(format!(
                "no organisation \"{org}\": `presently-server admin list` shows them"
            ))
        })
}

/// Changes one person from the command line.
async fn update(
    app: &App,
    org: &str,
    user: &str,
    change: impl FnOnce(&mut rest::UpdateUser),
) -> Result<rest::AdminUser, AppError> {
    let mut c = rest::UpdateUser::default();
    change(&mut c);
    app.update_user(&Actor::command_line(), &org_id(app, org)?, user, c)
        .await
}

fn when(t: presence::Timestamp) -> String {
    t.to_string()
}

async fn run_admin(app: &App, config: &Config, command: Admin) -> Result<(), AppError> {
    let me = Actor::command_line();
    match command {
        Admin::Init {
            org,
            email,
            name,
            team,
            password,
        } => {
            let first = First {
                org,
                email,
                name,
                team,
                password,
            };
            init(app, config, first).await?
        }
        Admin::CreateOrg { name } => println!("{}", app.create_org(&name).await?.id),
        Admin::CreateTeam { org, name } => {
            let org = org_id(app, &org)?;
            println!("{}", app.create_team_by(&me, &org, &name).await?)
        }
        Admin::RenameTeam { org, team, name } => {
            app.rename_team(&me, &org_id(app, &org)?, &team, &name)
                .await?;
            println!("renamed {team}");
        }
        Admin::DeleteTeam { org, team } => {
            app.delete_team(&me, &org_id(app, &org)?, &team).await?;
            println!("deleted {team}");
        }
        Admin::AddMember { org, team, user } => {
            app.add_to_team(&me, &org_id(app, &org)?, &team, &user)
                .await?;
            println!("added {user} to {team}");
        }
        Admin::RemoveMember { org, team, user } => {
            app.remove_from_team(&me, &org_id(app, &org)?, &team, &user)
                .await?;
            println!("removed {user} from {team}");
        }
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
                .create_user_by(
                    &me,
                    &org_id(app, &org)?,
                    &email,
                    &name,
                    &password,
                    role,
                    &time_zone,
                    &teams,
                )
                .await?;
            println!("{}", id.as_str());
        }
        Admin::Invite {
            org,
            email,
            name,
            teams,
            admin,
            expires_hours,
        } => {
            let made = app
                .invite(
                    &me,
                    &org_id(app, &org)?,
                    rest::CreateInvite {
                        email,
                        name,
                        role: if admin { Role::Admin } else { Role::Member },
                        teams,
                        expires_in_hours: Some(expires_hours),
                    },
                )
                .await?;
            eprintln!(
                "invite {} for {} until {}; give them this code (shown once), to use in the app's \
                 sign-in or at https://<this server>{}:",
                made.invite.id,
                made.invite.email,
                when(made.invite.expires_at),
                made.link
            );
            println!("{}", made.code);
        }
        Admin::Invites { org } => {
            for i in app.invites(&org_id(app, &org)?).await? {
                println!(
                    "{} {} {:?} {:?} expires {}",
                    i.id,
                    i.email,
                    i.role,
                    i.state,
                    when(i.expires_at)
                );
            }
        }
        Admin::RevokeInvite { org, id } => {
            app.revoke_invite(&me, &org_id(app, &org)?, &id).await?;
            println!("withdrew {id}");
        }
        Admin::Deactivate { org, user } => {
            let u = update(app, &org, &user, |c| c.active = Some(false)).await?;
            println!("deactivated {} <{}>", u.id.as_str(), u.email);
        }
        Admin::Reactivate { org, user } => {
            let u = update(app, &org, &user, |c| c.active = Some(true)).await?;
            println!("reactivated {} <{}>", u.id.as_str(), u.email);
        }
        Admin::DeleteUser { org, user } => {
            app.delete_user(&me, &org_id(app, &org)?, &user).await?;
            println!("deleted {user}");
        }
        Admin::SetRole { org, user, role } => {
            let role = match role.as_str() {
                "admin" => Role::Admin,
                "member" => Role::Member,
                other => {
                    return Err(AppError::invalid(format!(
                        "the role is admin or member, not \"{other}\""
                    )))
                }
            };
            let u = update(app, &org, &user, |c| c.role = Some(role)).await?;
            println!("{} <{}> is now {:?}", u.id.as_str(), u.email, u.role);
        }
        Admin::ResetPassword { org, user } => {
            let reset = app.reset_password(&me, &org_id(app, &org)?, &user).await?;
            eprintln!(
                "the old password no longer works and their devices are signed out; give them \
                 this code (until {}), to use in the app's sign-in or at https://<this server>{}:",
                when(reset.expires_at),
                reset.link
            );
            println!("{}", reset.code);
        }
        Admin::Devices { org, user } => {
            let org = org_id(app, &org)?;
            let user = user
                .map(|u| app.user_in_org(&org, &u).map(|s| s.id.clone()))
                .transpose()?;
            for d in app.devices(&org, user.as_ref()).await? {
                println!(
                    "{} {} ({}) signed in {} {}",
                    d.device.as_str(),
                    d.user.as_str(),
                    d.user_name,
                    when(d.signed_in_at),
                    match d.activity {
                        Some(a) => format!("{a:?}"),
                        None => "not present".into(),
                    }
                );
            }
        }
        Admin::RevokeDevice { org, user, device } => {
            app.revoke_device(&me, &org_id(app, &org)?, &user, &device)
                .await?;
            println!("signed out {device} of {user}");
        }
        Admin::CreateKey { org, name } => {
            let made = app.create_key_by(&me, &org_id(app, &org)?, &name).await?;
            eprintln!("key id {}; the key is shown once:", made.key.id);
            println!("{}", made.secret);
        }
        Admin::Keys { org } => {
            for k in app.keys(&org_id(app, &org)?).await? {
                println!(
                    "{} \"{}\" created {}{}",
                    k.id,
                    k.name,
                    when(k.created_at),
                    k.revoked_at
                        .map(|t| format!(", revoked {}", when(t)))
                        .unwrap_or_default()
                );
            }
        }
        Admin::RevokeKey { id, org } => {
            let orgs = match org {
                Some(o) => vec![org_id(app, &o)?],
                None => app.orgs().into_iter().map(|o| o.id).collect(),
            };
            let mut owner = None;
            for o in orgs {
                if app.keys(&o).await?.iter().any(|k| k.id == id) {
                    owner = Some(o);
                    break;
                }
            }
            let owner =
                owner.ok_or_else(|| AppError::not_found(format!("no API key with id {id}")))?;
            app.revoke_key_by(&me, &owner, &id).await?;
            println!("revoked {id}");
        }
        Admin::Audit { org, limit } => {
            let page = app.audit(&org_id(app, &org)?, None, None, limit).await?;
            for e in page.entries {
                println!(
                    "{} {} {} {} {}",
                    when(e.at),
                    e.actor,
                    e.action,
                    e.target,
                    e.detail
                );
            }
        }
        Admin::List => {
            for org in app.orgs() {
                println!("org {} {}", org.id, org.name);
                for (id, team) in app.teams_of_org(&org.id) {
                    println!("  team {id} {} ({} members)", team.name, team.members.len());
                }
                for u in app.people_of_org(&org.id) {
                    println!(
                        "  user {} {} <{}> {:?}{}",
                        u.id.as_str(),
                        u.name,
                        u.email,
                        u.role,
                        if u.active { "" } else { " (deactivated)" }
                    );
                }
            }
        }
    }
    Ok(())
}
