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

use super::{App, Slot};
use crate::app::admin::Actor;
use crate::auth;
use crate::db::{self, Role, SsoLoginRow, SsoRow};
use crate::error::AppError;
use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    TokenResponse,
};
use presence::{DeviceAbout, TimeZone, UserId};
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
            Some(l) if !l.is_empty() => super::checked_name(l, "label")?,
            _ => "Sign in with single sign-on".to_string(),
        };
        // The provider must answer before anything is kept.
        self.discover(&issuer).await?;
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

    /// Exchanges the provider's code, checks its ID token and finds (or makes) the account.
    async fn provider_answer(
        &self,
        login: &SsoLoginRow,
        code: &str,
        now: i64,
    ) -> Result<Arc<Slot>, AppError> {
        let row = self.db.sso(&login.org_id).await?.ok_or_else(|| {
            AppError::conflict("your organisation turned single sign-on off meanwhile")
        })?;
        let client = self.oidc_client(&row).await?;
        let http = self.webhooks.client();
        let answer = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| AppError::invalid(format!("the identity provider: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(login.verifier.clone()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => AppError::unauthorized(format!(
                    "the identity provider refused the code: {}{} (check the client id and secret in the console)",
                    r.error(),
                    r.error_description().map(|d| format!(": {d}")).unwrap_or_default()
                )),
                RequestTokenError::Request(e) => AppError::invalid(format!(
                    "the identity provider's token endpoint did not answer: {e}"
                )),
                other => AppError::invalid(format!(
                    "the identity provider's answer is not one: {other}"
                )),
            })?;
        let id_token = answer.id_token().ok_or_else(|| {
            AppError::unauthorized("the identity provider gave no ID token: is the openid scope allowed for this client?")
        })?;
        let at = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
        let verifier = client.id_token_verifier().set_time_fn(move || at);
        let claims = id_token
            .claims(&verifier, &Nonce::new(login.nonce.clone()))
            .map_err(refused_token)?;
        let email = claims
            .email()
            .map(|e| e.as_str().trim().to_string())
            .ok_or_else(|| {
                AppError::unauthorized(
                    "your identity provider gave no email: allow the email scope for this client",
                )
            })?;
        if claims.email_verified() != Some(true) {
            return Err(AppError::forbidden(format!(
                "your identity provider has not verified {email}: verify it there (or ask its administrator), then sign in again"
            )));
        }
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().trim().to_string())
            .filter(|n| !n.is_empty());
        self.sso_account(&row, &email, name).await
    }

    /// The account a verified email signs in: theirs, else an invite's, else a new one.
    async fn sso_account(
        &self,
        provider: &SsoRow,
        email: &str,
        name: Option<String>,
    ) -> Result<Arc<Slot>, AppError> {
        let org = &provider.org_id;
        if let Some(row) = self.db.user_by_email(email).await? {
            if &row.org_id != org {
                return Err(AppError::forbidden(format!(
                    "{email} has an account in another organisation on this server: sign in there with your password"
                )));
            }
            if !row.active {
                return Err(AppError::forbidden(
                    "this account was deactivated: ask an administrator of your organisation",
                ));
            }
            return self
                .loaded(&UserId::parse(row.id)?)
                .await?
                .ok_or_else(|| AppError::internal("the account was not found after its sign-in"));
        }
        let now = self.clock.now().0;
        let invite = self.db.codes(org, "invite").await?.into_iter().find(|c| {
            c.email.eq_ignore_ascii_case(email)
                && super::admin::invite_state(c, now) == rest::InviteState::Pending
        });
        let fallback = || email.split('@').next().unwrap_or(email).to_string();
        let id = UserId::parse(auth::new_id("u"))?;
        let (name, role, teams, mut statements, how) = match invite {
            Some(i) => {
                let name = i.name.clone().or(name).unwrap_or_else(fallback);
                let used = db::use_code(now, i.id.clone())
                    .must_change("your invite was used or withdrawn meanwhile: sign in again");
                (
                    name,
                    super::admin::role_of(&i.role),
                    i.teams,
                    vec![used],
                    format!("invite {} through single sign-on", i.id),
                )
            }
            None if provider.create_accounts => (
                name.unwrap_or_else(fallback),
                Role::Member,
                provider.default_team.iter().cloned().collect(),
                Vec::new(),
                "made at first sign-in through single sign-on".into(),
            ),
            None => {
                let org_name = self.org(org)?.row.name.clone();
                return Err(AppError::forbidden(format!(
                    "there is no account for {email} in {org_name}: ask an administrator to invite you"
                )));
            }
        };
        let name = super::checked_name(&name, "name")?;
        statements.extend(self.insert_user(
            org,
            &id,
            email,
            &name,
            NO_PASSWORD,
            role,
            TimeZone::UTC,
        )?);
        for t in super::admin::distinct(&teams) {
            if self.team_in_org(org, &t).is_ok() {
                statements.push(db::add_member(&t, id.as_str()));
            }
        }
        self.record(
            org,
            &Actor {
                id: Some(id.clone()),
                label: format!("{name} <{email}>"),
            },
            "user.sso_join",
            format!("{} <{email}>", id.as_str()),
            how,
            statements,
        )
        .await?;
        self.loaded(&id)
            .await?
            .ok_or_else(|| AppError::internal("the new account was not found"))
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

    async fn discover(&self, issuer: &str) -> Result<CoreProviderMetadata, AppError> {
        let url = IssuerUrl::new(issuer.to_string()).map_err(|e| {
            AppError::invalid(format!("the issuer {issuer} is not an address: {e}"))
        })?;
        CoreProviderMetadata::discover_async(url, &self.webhooks.client())
            .await
            .map_err(|e| {
                let mut words = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    words.push_str(": ");
                    words.push_str(&s.to_string());
                    source = s.source();
                }
                AppError::invalid(format!(
                    "cannot read the identity provider's discovery document at {issuer}/.well-known/openid-configuration ({words}): check the issuer address ([outbound] allow_private_networks for a provider on the company network, [outbound] ca_file for a company CA)"
                ))
            })
    }

    async fn oidc_client(
        &self,
        row: &SsoRow,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        AppError,
    > {
        let metadata = self.discover(&row.issuer).await?;
        let secret = self.calendars.sealer()?.open(
            &row.key_id,
            &sso_what(&row.org_id),
            &row.sealed_secret,
        )?;
        let secret = String::from_utf8(secret)
            .map_err(|_| AppError::internal("the stored client secret is not text"))?;
        let redirect = RedirectUrl::new(self.sso_redirect_uri())
            .map_err(|e| AppError::internal(format!("the redirect address: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(row.client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(redirect))
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

/// What a client secret is sealed as (its organisation), so it opens for that one only.
fn sso_what(org: &str) -> String {
    format!("sso client secret {org}")
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

/// An ID token's refusal in words.
fn refused_token(e: ClaimsVerificationError) -> AppError {
    let words = match &e {
        ClaimsVerificationError::Expired(_) => {
            "the identity provider's ID token has expired (are this server's and the provider's clocks right?)".to_string()
        }
        ClaimsVerificationError::InvalidAudience(_) => {
            "the ID token was issued to another application (its audience is not this server's client id): check the client id in the console".to_string()
        }
        ClaimsVerificationError::InvalidIssuer(_) => {
            "the ID token comes from another issuer than the one set in the console".to_string()
        }
        ClaimsVerificationError::InvalidNonce(_) => {
            "the ID token was made for another sign-in (its nonce does not match): it may be replayed; start again".to_string()
        }
        ClaimsVerificationError::SignatureVerification(_) => {
            "the ID token's signature does not verify with the identity provider's published keys".to_string()
        }
        other => format!("the ID token was refused: {other}"),
    };
    AppError::unauthorized(words)
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
    fn issuers_are_https_or_this_machine() {
        assert!(checked_issuer("https://login.example.org/realms/staff").is_ok());
        assert!(checked_issuer("http://127.0.0.1:9000").is_ok());
        assert!(checked_issuer("http://login.example.org").is_err());
        assert!(checked_issuer("login.example.org").is_err());
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
