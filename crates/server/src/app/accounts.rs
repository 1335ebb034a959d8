//! Accounts: sign-in and device tokens, integrations' API keys, and the people of an
//! organisation.

use super::{checked_name, frame, App, Slot};
use crate::auth;
use crate::broker::Event;
use crate::db::{Role, UserRow};
use crate::error::AppError;
use presence::{DeviceId, Person, Preferences, Schedule, TimeZone, UserId};
use protocol::ServerMessage;
use std::sync::Arc;

/// A signed-in device.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    pub user: Arc<Slot>,
    pub device: DeviceId,
    pub token_hash: String,
}

/// An integration's key.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    pub org: String,
    pub key_id: String,
}

impl App {
    /// Signs a device in with an email and password, from `address` (the per-address limit's
    /// key). Limited per address and per account (429 with when to try again); an unknown
    /// email costs the same password check as a known one and gets the same answer.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        device: &DeviceId,
        address: std::net::IpAddr,
    ) -> Result<(String, Arc<Slot>), AppError> {
        let wrong = || AppError::unauthorized("wrong email or password");
        self.signin.attempt_from(address)?;
        self.signin.attempt_for(email)?;
        let row = self.db.user_by_email(email).await?;
        let hash = row.as_ref().map(|r| r.password_hash.clone());
        if !self.signin.check(password, hash).await? {
            return Err(wrong());
        }
        let row = row.ok_or_else(wrong)?;
        let slot = self
            .slot(&UserId::parse(row.id.clone())?)
            .ok_or_else(wrong)?;
        let token = self.issue_token(&slot.id, device).await?;
        Ok((token, slot))
    }

    /// A new device token for a user (sign-in, the admin CLI, the benchmark's seeding).
    pub async fn issue_token(&self, user: &UserId, device: &DeviceId) -> Result<String, AppError> {
        let (token, hash) = auth::new_secret(auth::TOKEN_PREFIX);
        self.db
            .insert_token(&hash, user.as_str(), device.as_str(), self.clock.now().0)
            .await?;
        Ok(token)
    }

    pub async fn authenticate_device(&self, token: &str) -> Result<DeviceAuth, AppError> {
        if token.starts_with(auth::KEY_PREFIX) {
            return Err(AppError::unauthorized(
                "this is an API key; sign in with an email and password to get a device token",
            ));
        }
        let hash = auth::hash_secret(token);
        let row = self
            .db
            .token(&hash)
            .await?
            .ok_or_else(|| AppError::unauthorized("the token is not valid: sign in again"))?;
        if row.revoked {
            return Err(AppError::unauthorized(
                "the token was revoked (signed out): sign in again",
            ));
        }
        let user = self
            .slot(&UserId::parse(row.user_id)?)
            .ok_or_else(|| AppError::unauthorized("the account no longer exists"))?;
        Ok(DeviceAuth {
            user,
            device: DeviceId::parse(row.device_id)?,
            token_hash: hash,
        })
    }

    pub async fn authenticate_key(&self, key: &str) -> Result<KeyAuth, AppError> {
        if key.starts_with(auth::TOKEN_PREFIX) {
            return Err(AppError::unauthorized(
                "this is a device token; integrations use an API key (presently-server admin create-key)",
            ));
        }
        let row = self
            .db
            .key(&auth::hash_secret(key))
            .await?
            .ok_or_else(|| AppError::unauthorized("the API key is not valid"))?;
        if row.revoked {
            return Err(AppError::unauthorized("the API key was revoked"));
        }
        Ok(KeyAuth {
            org: row.org_id,
            key_id: row.id,
        })
    }

    /// Signs a device out: its token stops working, its connections close, it is gone at once.
    pub async fn sign_out(&self, auth: &DeviceAuth) -> Result<(), AppError> {
        self.db
            .revoke_token(&auth.token_hash, self.clock.now().0)
            .await?;
        self.broker.publish(Event::Disconnect {
            user: auth.user.id.clone(),
            device: auth.device.clone(),
            frame: frame(&ServerMessage::Error {
                request: None,
                error: protocol::WireError::new(
                    protocol::ErrorKind::Unauthorized,
                    "this device was signed out: sign in again",
                ),
            }),
        });
        let device = auth.device.clone();
        self.mutate(&auth.user.id, None, move |p, rules, now| {
            p.sign_out(rules, now, &device);
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn device_gone(&self, user: &UserId, device: &DeviceId) -> Result<(), AppError> {
        let device = device.clone();
        self.mutate(user, None, move |p, rules, now| {
            p.sign_out(rules, now, &device);
            Ok(())
        })
        .await
        .map(|_| ())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_user(
        &self,
        org: &str,
        email: &str,
        name: &str,
        password: &str,
        role: Role,
        time_zone: &str,
        teams: &[String],
    ) -> Result<UserId, AppError> {
        let org_entry = self.org(org)?;
        let email = email.trim();
        if !email.contains('@') || email.len() > 200 {
            return Err(AppError::invalid(format!(
                "\"{email}\" is not an email address"
            )));
        }
        let name = checked_name(name, "name")?;
        for t in teams {
            self.team_in_org(org, t)?;
        }
        let tz = TimeZone::parse(time_zone)?;
        let mut prefs = Preferences {
            time_zone: tz,
            ..Preferences::default()
        };
        if !org_entry.row.quiet_hours.is_empty() {
            let mut s = Schedule::new(tz);
            s.quiet_hours = org_entry.row.quiet_hours.clone();
            prefs.schedule = Some(s);
        }
        let password = password.to_string();
        let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
            .await
            .map_err(|e| AppError::internal(e.to_string()))??;
        let id = UserId::parse(auth::new_id("u"))?;
        let row = UserRow {
            id: id.as_str().to_string(),
            org_id: org.to_string(),
            email: email.to_string(),
            name,
            password_hash,
            role,
            state: Person::new(prefs),
            applied_requests: Vec::new(),
            notification_seq: 0,
            last_assigned: None,
        };
        self.db.create_user(&row, self.clock.now().0).await?;
        for t in teams {
            self.db.add_member(t, id.as_str()).await?;
        }
        self.reload().await?;
        self.org_changed(org);
        Ok(id)
    }

    pub async fn create_key(&self, org: &str, name: &str) -> Result<(String, String), AppError> {
        self.org(org)?;
        let name = checked_name(name, "key name")?;
        let (key, hash) = auth::new_secret(auth::KEY_PREFIX);
        let id = auth::new_id("k");
        self.db
            .insert_key(&hash, &id, org, &name, self.clock.now().0)
            .await?;
        Ok((id, key))
    }

    /// Revokes an integration's API key. False when no active key has that id.
    pub async fn revoke_key(&self, id: &str) -> Result<bool, AppError> {
        Ok(self.db.revoke_key(id, self.clock.now().0).await?)
    }

    /// Every person of an organisation, by name.
    pub fn people_of_org(&self, org: &str) -> Vec<Arc<Slot>> {
        let mut v: Vec<Arc<Slot>> = self
            .users
            .read()
            .expect("users lock")
            .values()
            .filter(|s| s.org == org)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}
