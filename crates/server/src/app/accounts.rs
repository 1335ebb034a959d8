//! Accounts: sign-in and device tokens, integrations' API keys, and the people of an
//! organisation.

use super::{frame, Actor, App, Slot};
use crate::auth;
use crate::broker::Event;
use crate::db::{NewToken, Role, TokenIssued};
use crate::error::AppError;
use presence::{DeviceAbout, DeviceId, UserId};
use protocol::ServerMessage;
use std::sync::Arc;

/// Devices a person may be signed in on at once (each with its own token): a sign-in from one
/// more is refused until one is signed out.
pub const MAX_DEVICES: i64 = 50;

/// A signed-in device.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    pub user: Arc<Slot>,
    pub device: DeviceId,
    pub token_hash: String,
    /// The name and platform it signed in with.
    pub about: DeviceAbout,
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
        about: &DeviceAbout,
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
        // Said only to whoever knows the password.
        if !row.active {
            return Err(AppError::forbidden(
                "this account was deactivated: ask an administrator of your organisation",
            ));
        }
        self.passwords_allowed(&row.org_id, row.role).await?;
        if row.password_reset {
            return Err(AppError::unauthorized(
                "an administrator reset your password: set a new one with the reset code they gave you",
            ));
        }
        let slot = self
            .loaded(&UserId::parse(row.id.clone())?)
            .await?
            .ok_or_else(wrong)?;
        // Only for the credentials just checked: an administrator may have reset the password
        // or deactivated the account while the password was being checked.
        let (token, hash) = auth::new_secret(auth::TOKEN_PREFIX);
        let issued = self
            .db
            .insert_token_if_unchanged(
                &NewToken {
                    hash: &hash,
                    user_id: slot.id.as_str(),
                    device_id: device.as_str(),
                    about,
                    now: self.clock.now().0,
                },
                &row.password_hash,
                MAX_DEVICES,
            )
            .await?;
        match issued {
            TokenIssued::Stored => Ok((token, slot)),
            TokenIssued::CredentialsChanged => Err(AppError::unauthorized(
                "your account changed while you were signing in (a new password, a reset or a deactivation): sign in again",
            )),
            TokenIssued::TooManyDevices(n) => Err(AppError::conflict(format!(
                "you are signed in on {n} devices, the most allowed: sign one out (Settings, Devices) or ask an administrator to, then sign in here again"
            ))),
        }
    }

    /// A new device token for a user, for a device that says nothing of itself (the admin
    /// CLI, the benchmark's seeding).
    pub async fn issue_token(&self, user: &UserId, device: &DeviceId) -> Result<String, AppError> {
        self.issue_described(user, device, &DeviceAbout::default())
            .await
    }

    /// A new device token for a device with its name and platform (a sign-in).
    pub async fn issue_described(
        &self,
        user: &UserId,
        device: &DeviceId,
        about: &DeviceAbout,
    ) -> Result<String, AppError> {
        let (token, hash) = auth::new_secret(auth::TOKEN_PREFIX);
        self.db
            .insert_token(&NewToken {
                hash: &hash,
                user_id: user.as_str(),
                device_id: device.as_str(),
                about,
                now: self.clock.now().0,
            })
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
        let user = self
            .loaded(&UserId::parse(row.user_id)?)
            .await?
            .ok_or_else(|| AppError::unauthorized("the account no longer exists"))?;
        if !user.active {
            return Err(AppError::unauthorized(
                "this account was deactivated: ask an administrator of your organisation",
            ));
        }
        if row.revoked {
            return Err(AppError::unauthorized(
                "the token was revoked (signed out): sign in again",
            ));
        }
        Ok(DeviceAuth {
            user,
            device: DeviceId::parse(row.device_id)?,
            token_hash: hash,
            about: row.about,
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

    /// A new person, made by the server itself (the demo, tests); administrators and the CLI
    /// use [`App::create_user_by`].
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
        self.create_user_by(
            &Actor::system(),
            org,
            email,
            name,
            password,
            role,
            time_zone,
            teams,
        )
        .await
    }

    /// A new API key, made by the server itself: `(id, key)`.
    pub async fn create_key(&self, org: &str, name: &str) -> Result<(String, String), AppError> {
        let made = self.create_key_by(&Actor::system(), org, name).await?;
        Ok((made.key.id, made.secret))
    }

    /// A person this node knows, reading the database again when it does not know them yet (made
    /// a moment ago by the admin CLI or another node).
    pub(crate) async fn loaded(&self, user: &UserId) -> Result<Option<Arc<Slot>>, AppError> {
        if let Some(s) = self.slot(user) {
            return Ok(Some(s));
        }
        self.reload().await?;
        Ok(self.slot(user))
    }

    /// Every person of an organisation, by name.
    pub fn people_of_org(&self, org: &str) -> Vec<Arc<Slot>> {
        self.roster.people_of_org(org)
    }
}
