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

/// The first bidirectional embedding, override or isolate character (U+202A–U+202E,
/// U+2066–U+2069) in `text`: they let a name or message display as something else. Joiners,
/// which emoji need, are fine.
pub fn direction_override(text: &str) -> Option<char> {
    text.chars()
        .find(|c| matches!(*c as u32, 0x202A..=0x202E | 0x2066..=0x2069))
}

/// Whether `text` holds a control character other than those in `allowed`, or a direction
/// override: what no name, message or notification shown to a person may contain.
pub fn has_hidden_characters(text: &str, allowed: &[char]) -> bool {
    text.chars()
        .any(|c| c.is_control() && !allowed.contains(&c))
        || direction_override(text).is_some()
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr, $what:expr, allow_empty = $empty:expr) => {
        $(#[$doc])*
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
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
                if let Some(c) = $crate::text::direction_override(trimmed) {
                    return Err(PresenceError::InvalidText {
                        what: $what,
                        reason: format!(
                            "it contains the direction override U+{:04X}, which can make text read differently from what it says: remove it",
                            c as u32
                        ),
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
    /// A device's name, as its person gave it or its computer is called ("Work laptop").
    DeviceName, 40, "device name", allow_empty = false
);
bounded_text!(
    /// A phone system's menu a direct call is redirected to ("Support queue"): no control
    /// character (a NUL, which PostgreSQL cannot store, included).
    MenuName, 100, "menu", allow_empty = false
);
bounded_text!(
    /// One emoji, or a short `:shortcode:`.
    Emoji, 32, "emoji", allow_empty = false
);
