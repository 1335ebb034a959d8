//! Single sign-on through an organisation's OpenID Connect provider: what administrators set,
//! how a client finds it, and the exchange that ends a sign-in.

use presence::{DeviceId, DeviceName, Platform};
use serde::{Deserialize, Serialize};

/// `GET /sso/discover?email=`: the organisation that signs in people of this email's domain
/// through its provider.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoDiscovery {
    pub org: String,
    pub org_name: String,
    /// What the button says: "Sign in with Okta".
    pub label: String,
    /// Whether members may also sign in with a password.
    pub passwords: bool,
}

/// `POST /sessions/sso`: the one-time code the server handed back to the client's redirect
/// address after the provider's sign-in, and the PKCE verifier of the challenge the client
/// started with (RFC 7636), for a device token.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSignIn {
    pub code: String,
    pub verifier: String,
    pub device: DeviceId,
    #[serde(default)]
    pub device_name: Option<DeviceName>,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// `GET /admin/sso`: the organisation's provider as set (never the client secret).
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSettings {
    /// Whether a provider is set; the rest is empty when not.
    pub configured: bool,
    pub issuer: String,
    pub client_id: String,
    /// Whether a client secret is kept (it is never shown).
    pub secret_set: bool,
    pub label: String,
    /// Email domains whose people are sent to this provider ("example.org").
    pub domains: Vec<String>,
    /// People with a verified email and no account get one at first sign-in.
    pub create_accounts: bool,
    /// The team such new people join.
    pub default_team: Option<String>,
    /// Whether members may sign in with a password (administrators always may, so that a
    /// broken provider never locks the organisation out).
    pub passwords: bool,
    /// What to register at the provider as the redirect address.
    pub redirect_uri: String,
}

/// `PUT /admin/sso`: the organisation's provider. The issuer is checked (its discovery document
/// read) before anything is kept.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetSso {
    /// `https://login.example.org/realms/staff`, as the provider names itself.
    pub issuer: String,
    pub client_id: String,
    /// Absent or null: keep the secret already set.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// "Sign in with …" when absent.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub create_accounts: bool,
    #[serde(default)]
    pub default_team: Option<String>,
    /// False turns password sign-in off for members.
    #[serde(default = "yes")]
    pub passwords: bool,
}

fn yes() -> bool {
    true
}
