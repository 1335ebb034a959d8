//! Single sign-on through an organisation's OpenID Connect provider (the `openidconnect` crate).
//!
//! The server is the provider's confidential client (client id and secret, the authorization
//! code flow with PKCE and a nonce), so one redirect address is registered at the provider
//! whatever signs in. A client (the app, the command line, the console) starts a sign-in with
//! its own PKCE challenge and where the browser should come back to: the app's and the command
//! line's loopback address (RFC 8252), or the console's page. After the provider's answer is
//! checked (issuer, audience, signature, expiry, nonce, a verified email) the browser goes back
//! there with a one-time code that only the holder of the client's verifier can exchange for a
//! device token (`POST /sessions/sso`). Sign-ins under way are stored, so any node may take the
//! provider's answer.
//!
//! People are matched by their verified email: their account in this organisation, else a
//! pending invite (which makes the account), else, if the organisation allows it, a new account
//! in its default team.

mod accounts;
mod provider;
mod settings;

pub(crate) use provider::Discovered;

use super::{App, Slot};
use crate::auth;
use crate::db::{self, Role, SsoLoginRow};
use crate::error::AppError;
use base64::Engine as _;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, Scope};
use presence::{DeviceAbout, UserId};
use protocol::rest;
use reqwest::Url;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long a sign-in may take at the provider (ms).
pub const LOGIN_MS: i64 = 10 * 60 * 1000;
/// How long the client has to exchange the one-time code (ms).
pub const CODE_MS: i64 = 2 * 60 * 1000;
/// The one-time code that ends a sign-in.
pub const CODE_PREFIX: &str = "ps_";
/// The stored password of an account made by single sign-on: no password matches it.
pub const NO_PASSWORD: &str = "!single-sign-on";
/// The path the provider sends people back to, under the public address.
pub const CALLBACK_PATH: &str = "/api/v1/sso/callback";

/// A refused provider answer: where the browser goes to hear it (the client's address, when
/// the sign-in is known), and the words.
pub struct Refusal {
    pub back: Option<String>,
    pub error: AppError,
}

impl App {
    /// What to register at providers as the redirect address.
    pub fn sso_redirect_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url())
    }

    /// The organisation whose provider signs in people of `email`'s domain.
    pub async fn sso_discover(&self, email: &str) -> Result<rest::SsoDiscovery, AppError> {
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.trim().to_lowercase())
            .unwrap_or_else(|| email.trim().to_lowercase());
        let row = self
            .db
            .sso_all()
            .await?
            .into_iter()
            .find(|r| r.domains.contains(&domain))
            .ok_or_else(|| {
                AppError::not_found(format!(
                    "no organisation on this server signs in {domain} through single sign-on: sign in with your password"
                ))
            })?;
        let org = self.org(&row.org_id)?;
        Ok(rest::SsoDiscovery {
            org: row.org_id,
            org_name: org.row.name.clone(),
            label: row.label,
            passwords: row.passwords,
        })
    }

    /// Starts a sign-in: the provider's address the browser goes to.
    pub async fn sso_start(
        &self,
        org: &str,
        return_to: &str,
        challenge: &str,
        client_state: &str,
    ) -> Result<String, AppError> {
        let return_to = self.checked_return_to(return_to)?;
        if !is_challenge(challenge) {
            return Err(AppError::invalid(
                "challenge must be a PKCE S256 challenge: the unpadded base64url SHA-256 of a random verifier (43 characters)",
            ));
        }
        if client_state.len() > 200 {
            return Err(AppError::invalid(
                "state is too long (200 characters at most)",
            ));
        }
        let row = self.db.sso(org).await?.ok_or_else(|| {
            AppError::not_found(format!(
                "no organisation {org} signs in through single sign-on here"
            ))
        })?;
        let client = self.oidc_client(&row).await?;
        let (pkce, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(pkce)
            .url();
        let now = self.clock.now().0;
        self.db
            .insert_sso_login(&SsoLoginRow {
                state_hash: auth::hash_secret(state.secret()),
                org_id: org.to_string(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                return_to,
                client_state: client_state.to_string(),
                client_challenge: challenge.to_string(),
                created_at: now,
                expires_at: now + LOGIN_MS,
                answered_at: None,
                user_id: None,
                used_at: None,
            })
            .await?;
        Ok(url.to_string())
    }

    /// Takes the provider's answer: where the browser goes next (the client's address with the
    /// one-time code), or why not.
    pub async fn sso_callback(
        &self,
        state: &str,
        code: Option<&str>,
        error: Option<&str>,
        error_description: Option<&str>,
    ) -> Result<String, Refusal> {
        let page = |error: AppError| Refusal { back: None, error };
        let state_hash = auth::hash_secret(state);
        let login = self
            .db
            .sso_login(&state_hash)
            .await
            .map_err(|e| page(e.into()))?
            .ok_or_else(|| {
                page(AppError::unauthorized(
                    "this sign-in is not known here (it may have been started on another server): start again from the app",
                ))
            })?;
        let back = |error: AppError| Refusal {
            back: Some(with_params(
                &login.return_to,
                &[
                    ("error", "access_denied"),
                    ("error_description", &error.message),
                    ("state", &login.client_state),
                ],
            )),
            error,
        };
        let now = self.clock.now().0;
        if !self
            .db
            .answer_sso_login(&state_hash, now)
            .await
            .map_err(|e| page(e.into()))?
        {
            // A replayed answer: the page, not the client, hears of it (the client has its answer).
            return Err(page(AppError::unauthorized(
                "this sign-in was used already: start again from the app",
            )));
        }
        if now >= login.expires_at {
            return Err(back(AppError::unauthorized(
                "the sign-in took longer than 10 minutes: start again",
            )));
        }
        if let Some(e) = error {
            let words = error_description.unwrap_or(e);
            return Err(back(AppError::unauthorized(format!(
                "your identity provider refused the sign-in: {words}"
            ))));
        }
        let code = code.ok_or_else(|| {
            back(AppError::invalid(
                "the identity provider answered without a code: start again",
            ))
        })?;
        let slot = self
            .provider_answer(&login, code, now)
            .await
            .map_err(back)?;
        let (one_time, hash) = auth::new_secret(CODE_PREFIX);
        self.db
            .finish_sso_login(&state_hash, &hash, slot.id.as_str(), now + CODE_MS)
            .await
            .map_err(|e| back(e.into()))?;
        Ok(with_params(
            &login.return_to,
            &[("code", &one_time), ("state", &login.client_state)],
        ))
    }

    /// Ends a sign-in: the one-time code and the client's PKCE verifier for a device token.
    /// (Not limited per address: the code has 256 random bits and lasts 2 minutes; the sign-in
    /// it ends was counted when it started.)
    pub async fn sso_sign_in(
        &self,
        request: &rest::SsoSignIn,
    ) -> Result<(String, Arc<Slot>), AppError> {
        let invalid = || {
            AppError::unauthorized(
                "this sign-in code is not valid, was used or has expired: sign in again",
            )
        };
        let code = request.code.trim();
        if !code.starts_with(CODE_PREFIX) || code.len() > 200 {
            return Err(invalid());
        }
        let hash = auth::hash_secret(code);
        let login = self
            .db
            .sso_login_by_code(&hash)
            .await?
            .ok_or_else(invalid)?;
        if challenge_of(&request.verifier) != login.client_challenge {
            return Err(AppError::unauthorized(
                "the verifier does not match the challenge this sign-in started with",
            ));
        }
        let now = self.clock.now().0;
        if !self.db.use_sso_code(&hash, now).await? {
            return Err(invalid());
        }
        let user = login.user_id.ok_or_else(invalid)?;
        let slot = self
            .loaded(&UserId::parse(user)?)
            .await?
            .ok_or_else(invalid)?;
        if !slot.active {
            return Err(AppError::forbidden(
                "this account was deactivated: ask an administrator of your organisation",
            ));
        }
        let stored = self
            .db
            .user_by_email(&slot.email)
            .await?
            .ok_or_else(invalid)?;
        let (token, token_hash) = auth::new_secret(auth::TOKEN_PREFIX);
        let about = DeviceAbout {
            name: request.device_name.clone(),
            platform: request.platform.unwrap_or_default(),
        };
        let issued = self
            .db
            .insert_token_if_unchanged(
                &db::NewToken {
                    hash: &token_hash,
                    user_id: slot.id.as_str(),
                    device_id: request.device.as_str(),
                    about: &about,
                    now,
                },
                &stored.password_hash,
                super::MAX_DEVICES,
            )
            .await?;
        match issued {
            db::TokenIssued::Stored => Ok((token, slot)),
            db::TokenIssued::CredentialsChanged => Err(AppError::unauthorized(
                "your account changed while you were signing in: sign in again",
            )),
            db::TokenIssued::TooManyDevices(n) => Err(AppError::conflict(format!(
                "you are signed in on {n} devices, the most allowed: sign one out (Settings, Devices) or ask an administrator to, then sign in here again"
            ))),
        }
    }

    /// Refuses a password (sign-in, or set with a code) where the organisation turned password
    /// sign-in off for members.
    pub(crate) async fn passwords_allowed(&self, org: &str, role: Role) -> Result<(), AppError> {
        if role == Role::Admin {
            return Ok(());
        }
        match self.db.sso(org).await? {
            Some(p) if !p.passwords => Err(AppError::forbidden(format!(
                "your organisation signs in through its identity provider: choose \"{}\"",
                p.label
            ))),
            _ => Ok(()),
        }
    }

    /// The client's address to come back to: a loopback address (the app, the command line),
    /// or the console's page on this server.
    fn checked_return_to(&self, given: &str) -> Result<String, AppError> {
        let refused = || {
            AppError::invalid(
                "return_to must be a loopback address (http://127.0.0.1:PORT/…, the app and the command line) or /admin/ (the console)",
            )
        };
        if given.starts_with("/admin/") {
            if given.contains("//") || given.contains('\\') || given.contains('#') {
                return Err(refused());
            }
            return Ok(format!("{}{given}", self.public_url()));
        }
        let url = Url::parse(given).map_err(|_| refused())?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if url.scheme() != "http"
            || !loopback
            || url.port().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.fragment().is_some()
        {
            return Err(refused());
        }
        Ok(url.to_string())
    }
}

/// `url` with `params` added to its query.
fn with_params(url: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(params);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// RFC 7636's S256: the unpadded base64url SHA-256 of the verifier.
pub fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn is_challenge(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_rfc_7636_s256() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!is_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));
        assert!(!is_challenge("short"));
    }

    #[test]
    fn params_are_added_to_the_query() {
        assert_eq!(
            with_params(
                "http://127.0.0.1:5000/done?x=1",
                &[("code", "ps_1"), ("state", "a b")]
            ),
            "http://127.0.0.1:5000/done?x=1&code=ps_1&state=a+b"
        );
    }
}
