//! An organisation's provider as its administrators set it: checked (its discovery document
//! read) before anything is kept, its client secret sealed at rest.

use super::provider::sso_what;
use crate::app::admin::Actor;
use crate::app::App;
use crate::db::{self, SsoRow};
use crate::error::AppError;
use protocol::rest;
use reqwest::Url;

impl App {
    /// The organisation's provider as administrators see it.
    pub async fn sso_settings(&self, org: &str) -> Result<rest::SsoSettings, AppError> {
        self.org(org)?;
        let row = self.db.sso(org).await?;
        Ok(match row {
            Some(r) => rest::SsoSettings {
                configured: true,
                issuer: r.issuer,
                client_id: r.client_id,
                secret_set: true,
                label: r.label,
                domains: r.domains,
                create_accounts: r.create_accounts,
                default_team: r.default_team,
                passwords: r.passwords,
                redirect_uri: self.sso_redirect_uri(),
            },
            None => rest::SsoSettings {
                configured: false,
                issuer: String::new(),
                client_id: String::new(),
                secret_set: false,
                label: String::new(),
                domains: Vec::new(),
                create_accounts: false,
                default_team: None,
                passwords: true,
                redirect_uri: self.sso_redirect_uri(),
            },
        })
    }

    /// Sets the organisation's provider, once its discovery document reads.
    pub async fn set_sso(
        &self,
        actor: &Actor,
        org: &str,
        set: rest::SetSso,
    ) -> Result<rest::SsoSettings, AppError> {
        self.org(org)?;
        let issuer = set.issuer.trim().trim_end_matches('/').to_string();
        checked_issuer(&issuer)?;
        let client_id = set.client_id.trim().to_string();
        if client_id.is_empty() || client_id.len() > 500 {
            return Err(AppError::invalid(
                "give the client id the provider gave this server (1 to 500 characters)",
            ));
        }
        let sealer = self.calendars.sealer()?;
        let before = self.db.sso(org).await?;
        let (sealed_secret, key_id) = match (set.client_secret.as_deref().map(str::trim), &before) {
            (Some(s), _) if !s.is_empty() => {
                if s.len() > 2000 {
                    return Err(AppError::invalid("the client secret is too long"));
                }
                let (id, sealed) = sealer.seal(&sso_what(org), s.as_bytes());
                (sealed, id)
            }
            (_, Some(b)) => (b.sealed_secret.clone(), b.key_id.clone()),
            (_, None) => {
                return Err(AppError::invalid(
                    "give the client secret the provider gave this server",
                ))
            }
        };
        let mut domains = Vec::new();
        for d in &set.domains {
            let d = d.trim().trim_start_matches('@').to_lowercase();
            if d.is_empty() {
                continue;
            }
            if !d.contains('.') || d.contains('@') || d.contains(' ') || d.len() > 253 {
                return Err(AppError::invalid(format!(
                    "\"{d}\" is not an email domain such as example.org"
                )));
            }
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
        for other in self.db.sso_all().await? {
            if other.org_id == org {
                continue;
            }
            if let Some(d) = domains.iter().find(|d| other.domains.contains(d)) {
                return Err(AppError::conflict(format!(
                    "{d} is sent to another organisation's provider on this server"
                )));
            }
        }
        let default_team = match set.default_team.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => {
                self.team_in_org(org, t)?;
                Some(t.to_string())
            }
            _ => None,
        };
        let label = match set.label.as_deref().map(str::trim) {
            Some(l) if !l.is_empty() => crate::app::checked_name(l, "label")?,
            _ => "Sign in with single sign-on".to_string(),
        };
        // The provider must answer before anything is kept; sign-ins use what it said now.
        let metadata = self.discover(&issuer).await?;
        self.discovered.keep(&issuer, self.clock.now().0, &metadata);
        let row = SsoRow {
            org_id: org.to_string(),
            issuer: issuer.clone(),
            client_id,
            sealed_secret,
            key_id,
            label,
            domains,
            create_accounts: set.create_accounts,
            default_team,
            passwords: set.passwords,
            updated_at: self.clock.now().0,
        };
        self.record(
            org,
            actor,
            "sso.set",
            issuer,
            format!(
                "client {}, domains {}, accounts made at first sign-in: {}, password sign-in for members: {}",
                row.client_id,
                if row.domains.is_empty() { "none".into() } else { row.domains.join(", ") },
                if row.create_accounts { "yes" } else { "no" },
                if row.passwords { "on" } else { "off" },
            ),
            vec![db::put_sso(&row)],
        )
        .await?;
        self.sso_settings(org).await
    }

    /// Removes the organisation's provider: people sign in with passwords again.
    pub async fn remove_sso(&self, actor: &Actor, org: &str) -> Result<(), AppError> {
        let row = self
            .db
            .sso(org)
            .await?
            .ok_or_else(|| AppError::not_found("your organisation has no single sign-on"))?;
        self.record(
            org,
            actor,
            "sso.remove",
            row.issuer,
            "password sign-in on for everyone".into(),
            vec![db::delete_sso(org)],
        )
        .await?;
        Ok(())
    }
}

/// An issuer is https, or http on this machine (a provider in a test or on a laptop).
fn checked_issuer(issuer: &str) -> Result<(), AppError> {
    let url = Url::parse(issuer).map_err(|_| {
        AppError::invalid(format!(
            "the issuer \"{issuer}\" is not an address such as https://login.example.org"
        ))
    })?;
    let local = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    if url.scheme() == "https" || (url.scheme() == "http" && local) {
        Ok(())
    } else {
        Err(AppError::invalid(format!(
            "the issuer must be an https address, not {issuer}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_this_machine() {
        assert!(checked_issuer("https://login.example.org/realms/staff").is_ok());
        assert!(checked_issuer("http://127.0.0.1:9000").is_ok());
        assert!(checked_issuer("http://login.example.org").is_err());
        assert!(checked_issuer("login.example.org").is_err());
    }
}
