//! Validated text: parse once at the edge, then the type carries the guarantee.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::PresenceError;

/// `TryFrom<String>` through `parse`, `Into<String>` and `Display` for a validated string newtype.
macro_rules! string_newtype {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = PresenceError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use string_newtype;

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr, $what:expr, allow_empty = $empty:expr) => {
        $(#[$doc])*
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters (Unicode scalar values).
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: impl Into<String>) -> Result<Self, PresenceError> {
                let raw: String = raw.into();
                let trimmed = raw.trim();
                let chars = trimmed.chars().count();
                if !$empty && chars == 0 {
                    return Err(PresenceError::InvalidText { what: $what, reason: "it is empty".into() });
                }
                if chars > $max {
                    return Err(PresenceError::InvalidText {
                        what: $what,
                        reason: format!("it has {chars} characters; at most {} are allowed", $max),
                    });
                }
                if trimmed.chars().any(|c| c.is_control()) {
                    return Err(PresenceError::InvalidText {
                        what: $what,
                        reason: "it contains control characters such as line breaks".into(),
                    });
                }
                Ok(Self(trimmed.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        string_newtype!($name);
    };
}

bounded_text!(
    /// The free text of a status message ("On a deadline"), at most 100 characters like Slack's.
    MessageText, 100, "status message", allow_empty = false
);
bounded_text!(
    /// The name of an organisation's custom status ("Lunch").
    StatusName, 40, "status name", allow_empty = false
);
bounded_text!(
    /// One emoji, or a short `:shortcode:`.
    Emoji, 32, "emoji", allow_empty = false
);
