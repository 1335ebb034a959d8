//! Who this installation is, on which server: the server's address, the device's id and token,
//! and signing in and out. The one place these are read and written (in the local store), used
//! by the desktop app and `presently-cli` alike.

use crate::api::{Api, ApiError};
use crate::server::{Server, ServerError, Trust};
use crate::store::{Store, StoreError};
use presence::{DeviceAbout, DeviceId, DeviceName, Platform, PresenceError};
use protocol::rest;

/// The device id of the app on its own (no server), and the start of a new installation's id.
pub const DEFAULT_DEVICE: &str = "desktop";

/// A signed-in device on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub server: Server,
    pub token: String,
    pub device: DeviceId,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("{0}")]
    Server(#[from] ServerError),
    #[error("not signed in to {server}: sign in with an email and password")]
    NotSignedIn { server: String },
    #[error("the device id is not valid ({0}): pick another, or remove the local store")]
    Device(#[from] PresenceError),
    /// The server does not speak this client's protocol: the words say which side to update.
    #[error("{0}")]
    Incompatible(String),
    /// A single sign-on that did not end in a token: the provider's or the server's words.
    #[error("single sign-on: {0}")]
    Sso(String),
}

impl SessionError {
    /// Worth trying again later (the server is not up yet, the network is down), as opposed to
    /// wrong credentials or a broken store.
    pub fn is_transient(&self) -> bool {
        matches!(self, SessionError::Api(ApiError::Unreachable { .. }))
    }
}

/// This computer as a device signing in: its name (the host name, at most 40 characters) and
/// the platform it runs.
pub fn this_computer() -> DeviceAbout {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let host: String = host
        .split('.')
        .next()
        .unwrap_or("")
        .chars()
        .take(40)
        .collect();
    DeviceAbout {
        name: DeviceName::parse(host).ok(),
        platform: Platform::from_os(std::env::consts::OS),
    }
}

impl Session {
    /// The session kept in `store`, if there is one, trusting its server as `trust` says.
    pub async fn stored(store: &Store, trust: &Trust) -> Result<Option<Session>, SessionError> {
        let Some((url, token)) = Session::kept(store).await? else {
            return Ok(None);
        };
        Ok(Some(Session {
            server: Server::new(&url, trust)?,
            token,
            device: Session::device(store).await?,
        }))
    }

    /// The server address and token kept in `store`, if both are there.
    async fn kept(store: &Store) -> Result<Option<(String, String)>, SessionError> {
        Ok(store.get("server").await?.zip(store.get("token").await?))
    }

    /// Signs this device in to `server` and keeps the session in `store`. The device id is the
    /// stored one when `device` is none.
    pub async fn sign_in(
        store: &Store,
        server: &Server,
        email: &str,
        password: &str,
        device: Option<DeviceId>,
        about: &DeviceAbout,
    ) -> Result<Session, SessionError> {
        let device = match device {
            Some(d) => d,
            None => Session::device(store).await?,
        };
        let signed = Api::new(server)
            .sign_in(email.trim(), password, &device, about)
            .await?;
        Session::keep(store, server, signed.token, device).await
    }

    /// Keeps a new session in `store` (a sign-in made elsewhere: single sign-on).
    pub(crate) async fn keep_new(
        store: &Store,
        server: &Server,
        token: String,
        device: DeviceId,
    ) -> Result<Session, SessionError> {
        Session::keep(store, server, token, device).await
    }

    /// This installation's device id (see [`Session::device`]).
    pub(crate) async fn device_of(store: &Store) -> Result<DeviceId, SessionError> {
        Session::device(store).await
    }

    /// Keeps a new session in `store`.
    async fn keep(
        store: &Store,
        server: &Server,
        token: String,
        device: DeviceId,
    ) -> Result<Session, SessionError> {
        store.set("server", &server.address()).await?;
        store.set("token", &token).await?;
        store.set("device", device.as_str()).await?;
        Ok(Session {
            server: server.clone(),
            token,
            device,
        })
    }

    /// Signs this device in with a one-time code (an invite, or an administrator's password
    /// reset), setting `password` (and for an invite the person's `name`), and keeps the
    /// session in `store`.
    pub async fn redeem(
        store: &Store,
        server: &Server,
        code: &str,
        password: &str,
        name: Option<&str>,
        about: &DeviceAbout,
    ) -> Result<Session, SessionError> {
        let device = Session::device(store).await?;
        let signed = Api::new(server)
            .redeem_code(code, password, name, &device, about)
            .await?;
        Session::keep(store, server, signed.token, device).await
    }

    /// The session for `server`: the stored one if it is for that server and, when
    /// `credentials` are given, the server still accepts its token (a server whose database
    /// was reset, or a device signed out elsewhere, gets a fresh sign-in); otherwise a sign-in
    /// with `credentials`.
    pub async fn resume(
        store: &Store,
        server: &Server,
        credentials: Option<(&str, &str)>,
    ) -> Result<Session, SessionError> {
        let stored = match Session::kept(store).await? {
            Some((url, token)) if url == server.address() => Some(Session {
                server: server.clone(),
                token,
                device: Session::device(store).await?,
            }),
            _ => None,
        };
        if let Some(s) = stored {
            if credentials.is_none() {
                return Ok(s);
            }
            match s.api().me(&s.token).await {
                Err(ApiError::Refused { status: 401, .. }) => {}
                _ => return Ok(s),
            }
        }
        match credentials {
            Some((email, password)) => {
                Session::sign_in(store, server, email, password, None, &this_computer()).await
            }
            None => Err(SessionError::NotSignedIn {
                server: server.address(),
            }),
        }
    }

    /// Asks `server` what it is before signing in: its version and the app release it
    /// publishes, or [`SessionError::Incompatible`] (saying which side to update) when it does
    /// not speak this client's protocol. A server too old to say answers `None`.
    pub async fn check(server: &Server) -> Result<Option<rest::ServerVersion>, SessionError> {
        let version = match Api::new(server).version().await {
            Ok(v) => v,
            Err(ApiError::Refused { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let ours = protocol::PROTOCOL_VERSION;
        match protocol::protocol_mismatch(ours, version.min_protocol, version.protocol) {
            Some(words) => Err(SessionError::Incompatible(format!(
                "{}: {words}",
                server.address()
            ))),
            None => Ok(Some(version)),
        }
    }

    pub fn api(&self) -> Api {
        Api::new(&self.server)
    }

    /// The device id this installation uses: the one kept in `store`, or, the first time, a
    /// new one made unique to this installation (`desktop-` and 8 random hex digits) and kept.
    /// Two machines, or a reinstall, never share an id, so one device's sequence numbers never
    /// shadow another's.
    async fn device(store: &Store) -> Result<DeviceId, SessionError> {
        if let Some(kept) = store.get("device").await? {
            return Ok(DeviceId::parse(kept)?);
        }
        let made = new_device_id();
        store.set("device", made.as_str()).await?;
        Ok(made)
    }

    /// Signs this device out on the server (its token stops working, it is offline at once)
    /// and forgets the token here. The device id is kept for the next sign-in.
    pub async fn sign_out(self, store: &Store) -> Result<(), SessionError> {
        self.api().sign_out(&self.token).await?;
        store.remove("token").await?;
        Ok(())
    }
}

/// A new installation's device id: `desktop-` and 8 random hex digits.
pub fn new_device_id() -> DeviceId {
    let random = uuid::Uuid::new_v4().simple().to_string();
    DeviceId::parse(format!("{DEFAULT_DEVICE}-{}", &random[..8]))
        .expect("letters, digits and a dash make a valid device id")
}
