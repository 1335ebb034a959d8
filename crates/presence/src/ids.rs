//! Identifiers. Opaque to the engine; validated so that they are safe to log and to key on.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::PresenceError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:expr) => {
        $(#[$doc])*
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: impl Into<String>) -> Result<Self, PresenceError> {
                let raw: String = raw.into();
                let ok = !raw.is_empty()
                    && raw.len() <= 64
                    && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@' | '+'));
                if ok {
                    Ok(Self(raw))
                } else {
                    Err(PresenceError::InvalidId {
                        what: $what,
                        value: raw.chars().take(80).collect(),
                    })
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        crate::text::string_newtype!($name);
    };
}

id_type!(
    /// A person.
    UserId, "user id"
);
id_type!(
    /// One of a person's devices (a desktop install, a phone).
    DeviceId, "device id"
);
id_type!(
    /// A team (the audience of a team call).
    TeamId, "team id"
);
id_type!(
    /// The slug of an organisation's custom status (`lunch`).
    CustomStatusId, "custom status id"
);
id_type!(
    /// The caller's id of an external event (a call, a meeting), which makes reports idempotent.
    ExternalId, "external id"
);
