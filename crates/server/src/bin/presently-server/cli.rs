//! The command line: flags shared by every command, the commands, and the administrative ones.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "presently-server",
    version,
    about = "The Presently presence server"
)]
pub struct Cli {
    /// Address to listen on [default: 127.0.0.1:7878]
    #[arg(long, env = "PRESENTLY_LISTEN", global = true)]
    pub listen: Option<String>,
    /// sqlite://path or postgres://… [default: an SQLite file in the user's data directory]
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// A TOML file with listen, database_url, demo, log_format, tls_cert, tls_key, cluster,
    /// cluster_secret, [nats] (docs/server.md)
    #[arg(long, env = "PRESENTLY_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// PEM certificate chain (leaf first): serve https and wss with it and --tls-key
    #[arg(long, env = "PRESENTLY_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(long, env = "PRESENTLY_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Run as one of several nodes: NATS's address (nats://host:4222); needs PostgreSQL
    #[arg(long, env = "PRESENTLY_CLUSTER")]
    pub cluster: Option<String>,
    /// The secret every node of the cluster shares (events between nodes are sealed with it);
    /// prefer the environment or the config file to a flag other users can see
    #[arg(long, env = "PRESENTLY_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,
    /// Secrets also accepted from other nodes while a new one rolls out (comma-separated)
    #[arg(
        long,
        env = "PRESENTLY_CLUSTER_SECRET_ACCEPT",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub cluster_secret_accept: Vec<String>,
    /// WebSocket connections one device may hold; over it the oldest closes (0: no cap) [default: 4]
    #[arg(long, env = "PRESENTLY_MAX_CONNECTIONS_PER_DEVICE")]
    pub max_connections_per_device: Option<usize>,
    /// WebSocket connections one person may hold; over it new ones are refused (0: no cap) [default: 32]
    #[arg(long, env = "PRESENTLY_MAX_CONNECTIONS_PER_PERSON")]
    pub max_connections_per_person: Option<usize>,
    /// WebSocket connections one address (IPv6: its /64) may hold; behind a proxy, raise it or
    /// set 0 (no cap) [default: 2000]
    #[arg(long, env = "PRESENTLY_MAX_CONNECTIONS_PER_ADDRESS")]
    pub max_connections_per_address: Option<usize>,
    /// NATS user (with --nats-password)
    #[arg(long, env = "PRESENTLY_NATS_USER")]
    pub nats_user: Option<String>,
    /// NATS password
    #[arg(long, env = "PRESENTLY_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// NATS token
    #[arg(long, env = "PRESENTLY_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// A file holding this node's NATS NKey seed
    #[arg(long, env = "PRESENTLY_NATS_NKEY")]
    pub nats_nkey: Option<PathBuf>,
    /// A NATS .creds file (JWT and NKey seed)
    #[arg(long, env = "PRESENTLY_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// The CA that signed NATS's certificate (PEM): TLS to NATS
    #[arg(long, env = "PRESENTLY_NATS_CA")]
    pub nats_ca: Option<PathBuf>,
    /// This node's client certificate for NATS (PEM), with --nats-key
    #[arg(long, env = "PRESENTLY_NATS_CERT")]
    pub nats_cert: Option<PathBuf>,
    /// The private key of --nats-cert (PEM)
    #[arg(long, env = "PRESENTLY_NATS_KEY")]
    pub nats_key: Option<PathBuf>,
    /// The address people reach this server at, for the links it prints [default: from --listen]
    #[arg(long, env = "PRESENTLY_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// A PEM file of CA certificates the addresses the server reaches out to (webhooks,
    /// calendars) may use, beside the system's
    #[arg(long, env = "PRESENTLY_OUTBOUND_CA_FILE")]
    pub outbound_ca_file: Option<PathBuf>,
    /// Let webhooks and calendars reach loopback and private networks (refused by default)
    #[arg(long, env = "PRESENTLY_OUTBOUND_ALLOW_PRIVATE_NETWORKS")]
    pub outbound_allow_private_networks: bool,
    /// The key credentials are sealed with at rest (calendars); at least 16 characters, the same
    /// on every node [default: secrets.key beside an SQLite database, made on first use]
    #[arg(long, env = "PRESENTLY_SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: Option<String>,
    /// Serve Prometheus metrics (only /metrics, no token) on this host:port of their own, such
    /// as 127.0.0.1:9464 [config: [metrics] listen]
    #[arg(long, env = "PRESENTLY_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Serve /metrics on the main listener for `Authorization: Bearer <this>` (16+ characters)
    /// [config: [metrics] token]
    #[arg(long, env = "PRESENTLY_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// The SMTP relay's password, kept out of the config file [config: [mail] password]
    #[arg(long, env = "PRESENTLY_MAIL_PASSWORD", hide_env_values = true)]
    pub mail_password: Option<String>,
    /// Seed a demo organisation with simulated teammates and keep them busy
    #[arg(long)]
    pub demo: bool,
    /// text or json [default: text]
    #[arg(long, env = "PRESENTLY_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Administration on the database. Works whether or not a server runs on it: a running
    /// server sees each change within a second (sessions of a deactivated person close, teammates
    /// see a new person), and every change is in the audit log
    #[command(subcommand)]
    Admin(Admin),
    /// Ask the server on --listen whether it is healthy (for a container's health check):
    /// exits 0 on ok, 1 with the reason otherwise
    Health,
    /// The server as a Windows service (as an administrator): `install` with the options it
    /// should serve with, `uninstall`
    #[cfg(windows)]
    #[command(subcommand)]
    Service(Service),
}

#[cfg(windows)]
#[derive(Subcommand, Clone)]
pub enum Service {
    /// Install the service PresentlyServer, started at boot as LocalSystem, with the options
    /// given beside this command; its database defaults to %ProgramData%\Presently\server.db
    Install,
    /// Stop and remove the service (its database and log stay)
    Uninstall,
    /// What the service manager starts (not for a console)
    #[command(hide = true)]
    Run {
        /// The log file (a service has no console) [default: %ProgramData%\Presently\server.log]
        #[arg(long)]
        log: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum Admin {
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
    /// Write a consistent copy of the SQLite database to FILE, while the server keeps serving
    /// (PostgreSQL: use pg_dump)
    Backup {
        /// The new backup file (never overwritten)
        file: std::path::PathBuf,
    },
    /// Put the backup FILE in place of the SQLite database, with the server stopped; the
    /// database it replaces is kept beside it (PostgreSQL: use pg_restore)
    Restore {
        /// The backup file
        file: std::path::PathBuf,
    },
}
