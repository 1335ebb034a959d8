//! The REST calls the client makes, typed by the protocol crate's bodies: sign in and out, the
//! person's view, the explanation, preferences and the statuses they may choose.

use crate::server::{certificate_problem, Server};
use presence::{DeviceAbout, DeviceId, Explanation, Preferences};
use protocol::rest;
use protocol::ErrorKind;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach the server at {server}: {detail}")]
    Unreachable { server: String, detail: String },
    /// The server answered, but its certificate was refused: not worth retrying as is.
    #[error("cannot connect securely to {server}: {problem}")]
    Certificate { server: String, problem: String },
    #[error("{message}")]
    Refused {
        status: u16,
        kind: ErrorKind,
        message: String,
    },
    #[error("the answer from {server} could not be read ({detail}): is it a Presently server of the same version?")]
    Unreadable { server: String, detail: String },
}

pub struct Api {
    server: Server,
    http: reqwest::Client,
}

impl Api {
    pub fn new(server: &Server) -> Api {
        Api {
            server: server.clone(),
            http: server.http().clone(),
        }
    }

    fn unreachable(&self, e: reqwest::Error) -> ApiError {
        let server = self.server.url().to_string();
        match certificate_problem(&e) {
            Some(problem) => ApiError::Certificate { server, problem },
            None => ApiError::Unreachable {
                server,
                detail: innermost(&e),
            },
        }
    }

    /// A path on the address in use; [`Api::send`] moves the request to the next address of a
    /// cluster when this one cannot be reached.
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server.url())
    }

    /// Sends a request; an error status becomes [`ApiError::Refused`] with the server's words.
    /// With several addresses, a request that could not even connect (so reached no server)
    /// is sent to the next one, each address once.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Vec<u8>, ApiError> {
        let mut req = req.build().map_err(|e| self.unreachable(e))?;
        let mut tries = self.server.addresses().len();
        let r = loop {
            let retry = if tries > 1 { req.try_clone() } else { None };
            let at = req.url().to_string();
            match self.http.execute(req).await {
                Ok(r) => break r,
                Err(e) if e.is_connect() && retry.is_some() => {
                    let mut next = retry.expect("checked");
                    let failed = self
                        .server
                        .addresses()
                        .iter()
                        .find(|a| at.starts_with(&format!("{a}/")))
                        .cloned();
                    if let Some(failed) = failed {
                        self.server.fail_over(&failed);
                        tracing::info!(server = %failed, error = %innermost(&e), next = %self.server.url(), "a node cannot be reached: trying the next");
                        if let Ok(moved) = at.replacen(&failed, self.server.url(), 1).parse() {
                            *next.url_mut() = moved;
                        }
                    }
                    req = next;
                    tries -= 1;
                }
                Err(e) => return Err(self.unreachable(e)),
            }
        };
        let status = r.status().as_u16();
        let bytes = r.bytes().await.map_err(|e| self.unreachable(e))?;
        if status >= 400 {
            let (kind, message) = match serde_json::from_slice::<rest::ErrorBody>(&bytes) {
                Ok(body) => (body.error.kind, body.error.message),
                Err(_) => (
                    ErrorKind::Internal,
                    format!("the server refused the request (HTTP {status})"),
                ),
            };
            return Err(ApiError::Refused {
                status,
                kind,
                message,
            });
        }
        Ok(bytes.to_vec())
    }

    async fn call<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, ApiError> {
        let body = self.send(req).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Unreadable {
            server: self.server.url().to_string(),
            detail: e.to_string(),
        })
    }

    /// Signs this device in.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        device: &DeviceId,
        about: &DeviceAbout,
    ) -> Result<rest::SignedIn, ApiError> {
        let body = rest::SignIn {
            email: email.to_string(),
            password: password.to_string(),
            device: device.clone(),
            device_name: about.name.clone(),
            platform: Some(about.platform),
        };
        self.call(self.http.post(self.url("/sessions")).json(&body))
            .await
    }

    pub async fn me(&self, token: &str) -> Result<rest::Me, ApiError> {
        self.call(self.http.get(self.url("/me")).bearer_auth(token))
            .await
    }

    /// A change to the person's own presence over REST (as the WebSocket's `change`, once per
    /// request id): how they are shown after it.
    pub async fn change(
        &self,
        token: &str,
        request: &protocol::RequestId,
        change: &presence::Change,
    ) -> Result<rest::ChangeApplied, ApiError> {
        let body = rest::SelfChange {
            request: request.clone(),
            change: change.clone(),
        };
        self.call(
            self.http
                .post(self.url("/me/changes"))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// The person's teammates and favourites, as their panel shows them.
    pub async fn team(&self, token: &str) -> Result<rest::Team, ApiError> {
        self.call(self.http.get(self.url("/team")).bearer_auth(token))
            .await
    }

    pub async fn explain(&self, token: &str) -> Result<Explanation, ApiError> {
        self.call(self.http.get(self.url("/me/explain")).bearer_auth(token))
            .await
    }

    pub async fn preferences(&self, token: &str) -> Result<Preferences, ApiError> {
        self.call(
            self.http
                .get(self.url("/me/preferences"))
                .bearer_auth(token),
        )
        .await
    }

    /// What the organisation allows the person to choose in their settings.
    pub async fn limits(&self, token: &str) -> Result<rest::PersonalLimits, ApiError> {
        self.call(self.http.get(self.url("/me/limits")).bearer_auth(token))
            .await
    }

    pub async fn set_preferences(
        &self,
        token: &str,
        preferences: &Preferences,
    ) -> Result<Preferences, ApiError> {
        self.call(
            self.http
                .put(self.url("/me/preferences"))
                .bearer_auth(token)
                .json(preferences),
        )
        .await
    }

    /// What the server is and speaks, asked before signing in: its version, the protocol
    /// versions it speaks and the app release its administrator publishes.
    pub async fn version(&self) -> Result<rest::ServerVersion, ApiError> {
        self.call(self.http.get(self.url("/version"))).await
    }

    pub async fn statuses(&self, token: &str) -> Result<rest::Statuses, ApiError> {
        self.call(self.http.get(self.url("/statuses")).bearer_auth(token))
            .await
    }

    /// The organisation that signs in `email`'s domain through its identity provider.
    pub async fn sso_discover(&self, email: &str) -> Result<rest::SsoDiscovery, ApiError> {
        self.call(
            self.http
                .get(self.url("/sso/discover"))
                .query(&[("email", email.trim())]),
        )
        .await
    }

    /// Ends a single sign-on: the one-time code the browser brought back, and the verifier of
    /// the challenge it started with.
    pub async fn sso_sign_in(&self, body: &rest::SsoSignIn) -> Result<rest::SignedIn, ApiError> {
        self.call(self.http.post(self.url("/sessions/sso")).json(body))
            .await
    }

    /// Where the browser starts a single sign-on.
    pub fn sso_start_url(
        &self,
        org: &str,
        return_to: &str,
        challenge: &str,
        state: &str,
    ) -> String {
        let mut url =
            reqwest::Url::parse(&self.url("/sso/start")).expect("the server's address is a URL");
        url.query_pairs_mut()
            .append_pair("org", org)
            .append_pair("return_to", return_to)
            .append_pair("challenge", challenge)
            .append_pair("state", state);
        url.to_string()
    }

    /// Signs this device in with a one-time code from an administrator (an invite, which makes
    /// the account, or a password reset), setting the password.
    pub async fn redeem_code(
        &self,
        code: &str,
        password: &str,
        name: Option<&str>,
        device: &DeviceId,
        about: &DeviceAbout,
    ) -> Result<rest::SignedIn, ApiError> {
        let body = rest::RedeemCode {
            code: code.trim().to_string(),
            password: password.to_string(),
            name: name.map(str::to_string),
            device: device.clone(),
            device_name: about.name.clone(),
            platform: Some(about.platform),
        };
        self.call(self.http.post(self.url("/sessions/code")).json(&body))
            .await
    }

    /// Changes the signed-in person's password (the current one first).
    pub async fn change_password(
        &self,
        token: &str,
        change: &rest::ChangePassword,
    ) -> Result<(), ApiError> {
        self.send(
            self.http
                .put(self.url("/me/password"))
                .bearer_auth(token)
                .json(change),
        )
        .await
        .map(|_| ())
    }

    /// Everyone in the person's organisation who matches `query` (and `family`).
    pub async fn directory(
        &self,
        token: &str,
        query: &str,
        family: Option<presence::Family>,
    ) -> Result<rest::Directory, ApiError> {
        let mut params = vec![("q", query.to_string())];
        if let Some(f) = family {
            params.push((
                "family",
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ));
        }
        self.call(
            self.http
                .get(self.url("/directory"))
                .query(&params)
                .bearer_auth(token),
        )
        .await
    }

    /// The person's signed-in devices.
    pub async fn devices(&self, token: &str) -> Result<rest::Devices, ApiError> {
        self.call(self.http.get(self.url("/me/devices")).bearer_auth(token))
            .await
    }

    /// Signs another of the person's devices out.
    pub async fn sign_out_device(&self, token: &str, device: &DeviceId) -> Result<(), ApiError> {
        self.send(
            self.http
                .delete(self.url(&format!("/me/devices/{}", device.as_str())))
                .bearer_auth(token),
        )
        .await
        .map(|_| ())
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), ApiError> {
        self.send(
            self.http
                .delete(self.url("/sessions/current"))
                .bearer_auth(token),
        )
        .await
        .map(|_| ())
    }

    /// One size of a person's photo, as JPEG (the smallest stored at least `size` pixels);
    /// none when they have no photo.
    pub async fn avatar(
        &self,
        token: &str,
        user: &presence::UserId,
        size: u32,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let r = self
            .send(
                self.http
                    .get(self.url(&format!("/people/{}/avatar", user.as_str())))
                    .query(&[("size", size)])
                    .bearer_auth(token),
            )
            .await;
        match r {
            Ok(jpeg) => Ok(Some(jpeg)),
            Err(ApiError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets the person's own photo (PNG, JPEG or WebP; the server crops and re-encodes it).
    pub async fn set_avatar(&self, token: &str, image: Vec<u8>) -> Result<rest::Avatar, ApiError> {
        self.call(
            self.http
                .put(self.url("/me/avatar"))
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(image)
                .bearer_auth(token),
        )
        .await
    }

    /// Whom the person pinned, and whom they wait for.
    pub async fn favourites(&self, token: &str) -> Result<rest::Favourites, ApiError> {
        self.call(self.http.get(self.url("/me/favourites")).bearer_auth(token))
            .await
    }

    /// Pins (`on`) or unpins a person of the organisation.
    pub async fn set_favourite(
        &self,
        token: &str,
        user: &presence::UserId,
        on: bool,
    ) -> Result<(), ApiError> {
        let url = self.url(&format!("/me/favourites/{}", user.as_str()));
        let req = if on {
            self.http.put(url)
        } else {
            self.http.delete(url)
        };
        self.send(req.bearer_auth(token)).await.map(|_| ())
    }

    /// Asks once to be told when a person becomes Available (`on`), or takes it back.
    pub async fn set_alert(
        &self,
        token: &str,
        user: &presence::UserId,
        on: bool,
    ) -> Result<(), ApiError> {
        let url = self.url(&format!("/me/alerts/{}", user.as_str()));
        let req = if on {
            self.http.put(url)
        } else {
            self.http.delete(url)
        };
        self.send(req.bearer_auth(token)).await.map(|_| ())
    }

    /// Removes the person's own photo: teammates see their initials.
    pub async fn remove_avatar(&self, token: &str) -> Result<(), ApiError> {
        self.send(self.http.delete(self.url("/me/avatar")).bearer_auth(token))
            .await
            .map(|_| ())
    }

    /// The calendar the person follows and how reading it goes; none: no calendar.
    pub async fn calendar(&self, token: &str) -> Result<Option<rest::CalendarState>, ApiError> {
        match self
            .call(self.http.get(self.url("/me/calendar")).bearer_auth(token))
            .await
        {
            Ok(state) => Ok(Some(state)),
            Err(ApiError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Follows a calendar: its ICS address, or a CalDAV account (replacing one there was).
    pub async fn set_calendar(
        &self,
        token: &str,
        body: &rest::CalendarSource,
    ) -> Result<rest::CalendarState, ApiError> {
        self.call(
            self.http
                .put(self.url("/me/calendar"))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    pub async fn remove_calendar(&self, token: &str) -> Result<(), ApiError> {
        self.send(
            self.http
                .delete(self.url("/me/calendar"))
                .bearer_auth(token),
        )
        .await
        .map(|_| ())
    }
}

/// The most precise words in an error's chain ("Connection refused (os error 111)" rather than
/// "error sending request for url …").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}
