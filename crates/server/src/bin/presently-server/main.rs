//! `presently-server`: serve (the default), or administer organisations, teams, users and keys.

use clap::Parser;
use cli::{Cli, Command};
use presently_server::config::{Config, Overrides};
use presently_server::error::AppError;
use std::process::ExitCode;

mod admin;
mod cli;
#[cfg(windows)]
mod service;

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
        outbound_ca_file: cli.outbound_ca_file.clone(),
        outbound_allow_private_networks: cli.outbound_allow_private_networks,
        secrets_key: cli.secrets_key.clone(),
        metrics_listen: cli.metrics_listen.clone(),
        metrics_token: cli.metrics_token.clone(),
        mail_password: cli.mail_password.clone(),
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
    #[cfg(windows)]
    let to_file = matches!(
        cli.command,
        Some(Command::Service(cli::Service::Run { .. }))
    );
    #[cfg(not(windows))]
    let to_file = false;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(!to_file)
        .with_writer(log_writer(&cli));
    if config.json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    // One open file per connected client: use all the system allows.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    #[cfg(windows)]
    if let Some(Command::Service(what)) = &cli.command {
        let database_given = cli.database_url.is_some() || cli.config.is_some();
        return match service::service(config, what.clone(), database_given) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("presently-server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let result = runtime.block_on(async move {
        match cli.command {
            None => serve(config, shutdown_signal()).await,
            Some(Command::Admin(a)) => admin::admin(config, a).await,
            Some(Command::Health) => health(&config).await,
            #[cfg(windows)]
            Some(Command::Service(_)) => unreachable!("handled before the runtime starts"),
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

/// Where the log goes: stderr, or for the Windows service (which has no console) `server.log` in
/// its data folder.
fn log_writer(cli: &Cli) -> tracing_subscriber::fmt::writer::BoxMakeWriter {
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    #[cfg(windows)]
    if let Some(Command::Service(cli::Service::Run { log })) = &cli.command {
        let path = log
            .clone()
            .unwrap_or_else(|| service::data_dir().join("server.log"));
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            return BoxMakeWriter::new(std::sync::Mutex::new(file));
        }
    }
    let _ = cli;
    BoxMakeWriter::new(std::io::stderr)
}

/// Serves until `stop` ends (a signal, or the Windows service manager's stop).
async fn serve(
    config: Config,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), AppError> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(presently_server::tls::server_config(cert, key)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Everything the configuration sets is in place before the first request is served.
    let sealer = secrets_key(&config)?;
    let set = config.clone();
    let configure: presently_server::Configure = Box::new(move |app| {
        app.hub.set_limits(set.connection_limits);
        app.webhooks.configure(&set.webhooks)?;
        app.calendars.configure(sealer);
        app.metrics.configure(set.metrics.token.clone());
        app.mail.configure(set.mail.as_ref())?;
        app.set_public_url(&set.public_url);
        *app.release.write().unwrap_or_else(|p| p.into_inner()) = set.app_release.clone();
        Ok(())
    });
    let running = presently_server::start_node_configured(
        &config.database_url,
        config.listen,
        tls,
        config.cluster.as_ref(),
        Some(configure),
    )
    .await?;
    if let Some(listen) = config.metrics.listen {
        let at = presently_server::metrics::listen(running.app.clone(), listen).await?;
        eprintln!("presently-server: Prometheus metrics on http://{at}/metrics");
    }
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
    stop.await;
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

/// The key credentials are sealed with: the configured one, else (one node on SQLite) the one in
/// `secrets.key` beside the database, made on first use; none on PostgreSQL without one.
fn secrets_key(
    config: &presently_server::config::Config,
) -> Result<Option<presently_server::secrets::Sealer>, presently_server::error::AppError> {
    use presently_server::secrets::Sealer;
    if let Some((key, previous)) = &config.secrets {
        return Sealer::new(key, previous).map(Some);
    }
    let url = &config.database_url;
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or_default())
        .filter(|p| !p.is_empty() && !p.starts_with(':'))
    else {
        return Ok(None);
    };
    let dir = std::path::Path::new(path)
        .parent()
        .unwrap_or(std::path::Path::new("."));
    Sealer::from_file(&dir.join("secrets.key")).map(Some)
}
