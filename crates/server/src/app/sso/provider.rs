//! The provider itself: its discovery document, the client made from it, and the answer to a
//! sign-in (the code exchanged, the ID token checked), in words when refused.

use crate::app::{App, Slot};
use crate::db::{SsoLoginRow, SsoRow};
use crate::error::AppError;
use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, IssuerUrl, Nonce,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, TokenResponse,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// How long a provider's discovery document (with its signing keys) is used before it is read
/// again (ms): a sign-in reads it at its start and again for the provider's answer, and
/// providers publish it to be cached for hours.
pub const DISCOVERY_MS: i64 = 10 * 60 * 1000;

/// The providers' discovery documents read in the last [`DISCOVERY_MS`], by issuer, with when
/// each was read. An ID token whose signature does not verify drops its issuer's document, so
/// keys the provider rotated meanwhile are read on the next try.
pub(crate) struct Discovered<M = CoreProviderMetadata>(Mutex<HashMap<String, (i64, M)>>);

impl<M> Default for Discovered<M> {
    fn default() -> Self {
        Discovered(Mutex::default())
    }
}

impl<M: Clone> Discovered<M> {
    fn get(&self, issuer: &str, now: i64) -> Option<M> {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // A clock set back counts as old, as does anything past its time.
        kept.retain(|_, (at, _)| *at <= now && now - *at < DISCOVERY_MS);
        kept.get(issuer).map(|(_, m)| m.clone())
    }

    pub(super) fn keep(&self, issuer: &str, now: i64, metadata: &M) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.insert(issuer.to_string(), (now, metadata.clone()));
    }

    fn forget(&self, issuer: &str) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.remove(issuer);
    }
}

impl App {
    /// Exchanges the provider's code, checks its ID token and finds (or makes) the account.
    pub(super) async fn provider_answer(
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
            .map_err(|e| {
                if matches!(e, ClaimsVerificationError::SignatureVerification(_)) {
                    // Perhaps keys rotated since the document was read: read it on the next try.
                    self.discovered.forget(&row.issuer);
                }
                refused_token(e)
            })?;
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

    /// The provider's discovery document, as read in the last [`DISCOVERY_MS`] or read now.
    async fn discovered(&self, issuer: &str) -> Result<CoreProviderMetadata, AppError> {
        let now = self.clock.now().0;
        if let Some(metadata) = self.discovered.get(issuer, now) {
            return Ok(metadata);
        }
        let metadata = self.discover(issuer).await?;
        self.discovered.keep(issuer, now, &metadata);
        Ok(metadata)
    }

    /// Reads the provider's discovery document and its signing keys now.
    pub(super) async fn discover(&self, issuer: &str) -> Result<CoreProviderMetadata, AppError> {
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

    pub(super) async fn oidc_client(
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
        let metadata = self.discovered(&row.issuer).await?;
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
}

/// What a client secret is sealed as (its organisation), so it opens for that one only.
pub(super) fn sso_what(org: &str) -> String {
    format!("sso client secret {org}")
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
    fn a_document_is_used_for_its_time_then_read_again() {
        let kept: Discovered<&str> = Discovered::default();
        let issuer = "https://id.example";
        assert_eq!(kept.get(issuer, 0), None);
        kept.keep(issuer, 1_000, &"first");
        assert_eq!(kept.get(issuer, 1_000), Some("first"));
        assert_eq!(kept.get(issuer, 1_000 + DISCOVERY_MS - 1), Some("first"));
        assert_eq!(kept.get("https://other.example", 1_000), None);
        assert_eq!(kept.get(issuer, 1_000 + DISCOVERY_MS), None, "expired");
        kept.keep(issuer, 5_000, &"second");
        assert_eq!(
            kept.get(issuer, 4_999),
            None,
            "a clock set back reads again"
        );
        kept.keep(issuer, 5_000, &"second");
        kept.forget(issuer);
        assert_eq!(kept.get(issuer, 5_000), None, "forgotten");
    }
}
