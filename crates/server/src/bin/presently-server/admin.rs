//! `presently-server admin …`: organisations, teams, users and keys from the command line, through
//! the same application layer the REST API uses.

use crate::cli::Admin;
use presently_server::app::{Actor, App};
use presently_server::config::Config;
use presently_server::db::{Db, Role};
use presently_server::error::AppError;
use protocol::rest;

/// A line of the command's output, as `println!` writes it, except that a reader that went away
/// (`admin list | head`) ends the command quietly instead of in a panic.
macro_rules! out {
    () => { write_line(format_args!("")) };
    ($($arg:tt)*) => { write_line(format_args!($($arg)*)) };
}

fn write_line(line: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("presently-server: cannot write the output: {e}");
        std::process::exit(1);
    }
}

pub async fn admin(config: Config, command: Admin) -> Result<(), AppError> {
    // Restoring replaces the database file: it is not opened first.
    if let Admin::Restore { file } = &command {
        return restore(&config, file).await;
    }
    let db = Db::connect(&config.database_url).await?;
    let app = App::open_for_admin(db, clock::SystemClock::shared()).await?;
    let result = run_admin(&app, &config, command).await;
    app.db.close().await;
    result
}

/// `admin backup`: a consistent copy taken beside a serving server.
async fn backup(db: &Db, config: &Config, file: &std::path::Path) -> Result<(), AppError> {
    db.backup_to(file).await?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or_default();
    out!(
        "backed up {} to {} ({} KiB); restore with `presently-server admin restore {}` (server stopped), and keep the secrets key with it",
        presently_server::config::redact_url(&config.database_url),
        file.display(),
        size.div_ceil(1024),
        file.display()
    );
    Ok(())
}

/// `admin restore`: refused while a server answers on the configured address.
async fn restore(config: &Config, file: &std::path::Path) -> Result<(), AppError> {
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let probe = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        tokio::net::TcpStream::connect(addr),
    )
    .await;
    if matches!(probe, Ok(Ok(_))) {
        return Err(AppError::conflict(format!(
            "a server answers on {addr}: stop it before restoring (the database would change under it), then start it again"
        )));
    }
    let done = presently_server::db::backup::restore(file, &config.database_url).await?;
    out!(
        "restored {} ({} people) into {}",
        file.display(),
        done.people,
        presently_server::config::redact_url(&config.database_url)
    );
    if let Some(kept) = done.kept {
        out!(
            "the database it replaced is kept at {} (delete it once the server runs as it should)",
            kept.display()
        );
    }
    Ok(())
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
    out!(
        "Presently is set up on {}:",
        presently_server::config::redact_url(&config.database_url)
    );
    out!("  organisation   {} ({})", org.name, org.id);
    out!("  team           {team_name} ({team})");
    out!("  administrator  {} ({})", first.email, first.name);
    out!();
    out!("Next:");
    if cfg!(windows) {
        out!("  1. Start the server, if it is not running: `presently-server.exe` with the same");
        out!("     --database-url. Check {url}/healthz answers ok.");
    } else {
        out!(
            "  1. Start the server, if it is not running: `systemctl enable --now presently-server`"
        );
        out!("     (the package), or `presently-server`. Check {url}/healthz answers ok.");
    }
    match code {
        Some((code, link)) => {
            out!("  2. Set your password and sign in: open {url}{link}");
            out!(
                "     or enter this one-time code (valid 7 days, shown once) in the app's sign-in:"
            );
            out!("       {code}");
        }
        None => out!(
            "  2. Sign in to the admin console at {url}/admin as {}",
            first.email
        ),
    }
    out!("  3. Invite people in the console (People, then Invite) or with");
    out!(
        "       presently-server admin invite --org \"{}\" --team {team} --email … --name …",
        org.name
    );
    out!("     Each person installs Presently, enters {url} as the server and their code.");
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
        Admin::Backup { file } => backup(&app.db, config, &file).await?,
        Admin::Restore { .. } => {
            return Err(AppError::internal(
                "restore runs before the database is opened",
            ))
        }
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
        Admin::CreateOrg { name } => out!("{}", app.create_org(&name).await?.id),
        Admin::CreateTeam { org, name } => {
            let org = org_id(app, &org)?;
            out!("{}", app.create_team_by(&me, &org, &name).await?)
        }
        Admin::RenameTeam { org, team, name } => {
            app.rename_team(&me, &org_id(app, &org)?, &team, &name)
                .await?;
            out!("renamed {team}");
        }
        Admin::DeleteTeam { org, team } => {
            app.delete_team(&me, &org_id(app, &org)?, &team).await?;
            out!("deleted {team}");
        }
        Admin::AddMember { org, team, user } => {
            app.add_to_team(&me, &org_id(app, &org)?, &team, &user)
                .await?;
            out!("added {user} to {team}");
        }
        Admin::RemoveMember { org, team, user } => {
            app.remove_from_team(&me, &org_id(app, &org)?, &team, &user)
                .await?;
            out!("removed {user} from {team}");
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
            out!("{}", id.as_str());
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
            out!("{}", made.code);
        }
        Admin::Invites { org } => {
            for i in app.invites(&org_id(app, &org)?).await? {
                out!(
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
            out!("withdrew {id}");
        }
        Admin::Deactivate { org, user } => {
            let u = update(app, &org, &user, |c| c.active = Some(false)).await?;
            out!("deactivated {} <{}>", u.id.as_str(), u.email);
        }
        Admin::Reactivate { org, user } => {
            let u = update(app, &org, &user, |c| c.active = Some(true)).await?;
            out!("reactivated {} <{}>", u.id.as_str(), u.email);
        }
        Admin::DeleteUser { org, user } => {
            app.delete_user(&me, &org_id(app, &org)?, &user).await?;
            out!("deleted {user}");
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
            out!("{} <{}> is now {:?}", u.id.as_str(), u.email, u.role);
        }
        Admin::ResetPassword { org, user } => {
            let reset = app.reset_password(&me, &org_id(app, &org)?, &user).await?;
            eprintln!(
                "the old password no longer works and their devices are signed out; give them \
                 this code (until {}), to use in the app's sign-in or at https://<this server>{}:",
                when(reset.expires_at),
                reset.link
            );
            out!("{}", reset.code);
        }
        Admin::Devices { org, user } => {
            let org = org_id(app, &org)?;
            let user = user
                .map(|u| app.user_in_org(&org, &u).map(|s| s.id.clone()))
                .transpose()?;
            for d in app.devices(&org, user.as_ref()).await? {
                out!(
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
            out!("signed out {device} of {user}");
        }
        Admin::CreateKey { org, name } => {
            let made = app.create_key_by(&me, &org_id(app, &org)?, &name).await?;
            eprintln!("key id {}; the key is shown once:", made.key.id);
            out!("{}", made.secret);
        }
        Admin::Keys { org } => {
            for k in app.keys(&org_id(app, &org)?).await? {
                out!(
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
            out!("revoked {id}");
        }
        Admin::Audit { org, limit } => {
            let page = app.audit(&org_id(app, &org)?, None, None, limit).await?;
            for e in page.entries {
                out!(
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
                out!("org {} {}", org.id, org.name);
                for (id, team) in app.teams_of_org(&org.id) {
                    out!("  team {id} {} ({} members)", team.name, team.members.len());
                }
                for u in app.people_of_org(&org.id) {
                    out!(
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
