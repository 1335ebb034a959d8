//! Single sign-on from a native client (the app, the command line), as RFC 8252 says: the
//! system browser goes to the organisation's identity provider through the server, and comes
//! back to a one-shot listener on this computer's loopback address with a one-time code, which
//! only this client can exchange (it holds the PKCE verifier of the challenge it started with).

use crate::api::Api;
use crate::server::Server;
use crate::session::{Session, SessionError};
use crate::store::Store;
use base64::Engine as _;
use presence::DeviceAbout;
use protocol::rest;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How long the browser may take to come back (the provider's sign-in, maybe with a second
/// factor).
pub const WAIT: Duration = Duration::from_secs(10 * 60);
/// The most of a request the listener reads.
const MAX_REQUEST: usize = 16 * 1024;

/// A sign-in under way: open [`SsoStart::url`] in the browser, then [`SsoStart::finish`].
pub struct SsoStart {
    server: Server,
    listener: TcpListener,
    verifier: String,
    state: String,
    /// Where the browser goes.
    pub url: String,
    /// What the organisation calls its way in ("Sign in with Okta") and its name.
    pub label: String,
    pub org_name: String,
}

fn random_text() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7636's S256 challenge of `verifier`.
pub fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl SsoStart {
    /// Finds `email`'s organisation's provider on `server` and listens on loopback for the
    /// browser's return.
    pub async fn begin(server: &Server, email: &str) -> Result<SsoStart, SessionError> {
        let api = Api::new(server);
        let found = api.sso_discover(email).await?;
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
            SessionError::Sso(format!(
                "cannot listen on this computer's loopback address for the browser's return: {e}"
            ))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| SessionError::Sso(e.to_string()))?
            .port();
        let verifier = random_text();
        let state = random_text();
        let url = api.sso_start_url(
            &found.org,
            &format!("http://127.0.0.1:{port}/signed-in"),
            &challenge_of(&verifier),
            &state,
        );
        Ok(SsoStart {
            server: server.clone(),
            listener,
            verifier,
            state,
            url,
            label: found.label,
            org_name: found.org_name,
        })
    }

    /// Waits for the browser to come back, answers it with a page to close, exchanges the code
    /// for a device token and keeps the session in `store`.
    pub async fn finish(self, store: &Store, about: &DeviceAbout) -> Result<Session, SessionError> {
        let back = tokio::time::timeout(WAIT, self.wait_for_browser())
            .await
            .map_err(|_| {
                SessionError::Sso(format!(
                    "the browser did not come back within {} minutes: sign in again",
                    WAIT.as_secs() / 60
                ))
            })??;
        let device = Session::device_of(store).await?;
        let signed = Api::new(&self.server)
            .sso_sign_in(&rest::SsoSignIn {
                code: back,
                verifier: self.verifier.clone(),
                device: device.clone(),
                device_name: about.name.clone(),
                platform: Some(about.platform),
            })
            .await?;
        Session::keep_new(store, &self.server, signed.token, device).await
    }

    /// The one-time code from the browser's return (other requests, such as a favicon, are
    /// answered 404 and waited past); the provider's or the server's refusal in words.
    async fn wait_for_browser(&self) -> Result<String, SessionError> {
        loop {
            let (mut conn, _) = self
                .listener
                .accept()
                .await
                .map_err(|e| SessionError::Sso(e.to_string()))?;
            let Ok(Ok(head)) =
                tokio::time::timeout(Duration::from_secs(10), read_head(&mut conn)).await
            else {
                continue;
            };
            let Some(target) = head
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("GET "))
                .and_then(|l| l.split(' ').next())
            else {
                let _ = respond(&mut conn, "400 Bad Request", "Not a sign-in.").await;
                continue;
            };
            let Ok(url) = reqwest::Url::parse(&format!("http://127.0.0.1{target}")) else {
                let _ = respond(&mut conn, "400 Bad Request", "Not a sign-in.").await;
                continue;
            };
            if url.path() != "/signed-in" {
                let _ = respond(&mut conn, "404 Not Found", "Not here.").await;
                continue;
            }
            let param = |name: &str| {
                url.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            if param("state").as_deref() != Some(self.state.as_str()) {
                // Not this sign-in's return (another tab, or a page trying its luck): ignored.
                let _ = respond(
                    &mut conn,
                    "400 Bad Request",
                    "This is not the sign-in Presently started. Close this tab.",
                )
                .await;
                continue;
            }
            if let Some(code) = param("code") {
                let _ = respond(
                    &mut conn,
                    "200 OK",
                    "You are signed in to Presently. You can close this tab.",
                )
                .await;
                return Ok(code);
            }
            let words = param("error_description")
                .or_else(|| param("error"))
                .unwrap_or_else(|| "the sign-in came back without a code".into());
            let _ = respond(&mut conn, "200 OK", &format!("Sign-in failed: {words}")).await;
            return Err(SessionError::Sso(words));
        }
    }
}

async fn read_head(conn: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while buf.len() < MAX_REQUEST && !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

async fn respond(
    conn: &mut tokio::net::TcpStream,
    status: &str,
    words: &str,
) -> std::io::Result<()> {
    let escaped = words
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Presently</title></head>\
<body style=\"font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em\"><p>{escaped}</p></body></html>"
    );
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(reply.as_bytes()).await?;
    conn.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636_s256() {
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(random_text().len(), 43);
    }
}
