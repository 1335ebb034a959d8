//! A person's call settings: what a direct call does when they cannot take it, and where
//! Forward to phone sends it. Plain data that [`crate::Preferences`] holds and the decisions read.

use serde::{Deserialize, Serialize};

use crate::ids::{TeamId, UserId};
use crate::text::MenuName;
use crate::PresenceError;

/// A phone number in international form (`+441234567890`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<PhoneNumber, PresenceError> {
        let digits: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let ok = digits.starts_with('+')
            && (5..=16).contains(&digits.len())
            && digits[1..].chars().all(|c| c.is_ascii_digit());
        if ok {
            Ok(PhoneNumber(digits))
        } else {
            Err(PresenceError::InvalidPhoneNumber(
                raw.chars().take(40).collect(),
            ))
        }
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PresenceError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

/// What happens to a direct call the person cannot take (the business-phone spec's list).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", content = "target", rename_all = "snake_case")]
pub enum BusyAction {
    EngagedTone,
    Voicemail,
    /// Play a message, no voicemail.
    Message,
    RedirectUser(UserId),
    RedirectTeam(TeamId),
    RedirectMenu(MenuName),
    RedirectNumber(PhoneNumber),
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSettings {
    /// For Busy, Do not disturb and the other statuses that do not ring.
    pub busy_action: BusyAction,
    /// Outside working hours; when unset, the busy action.
    pub out_of_hours: Option<BusyAction>,
    /// For Forward to phone.
    pub forward_to: Option<PhoneNumber>,
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            busy_action: BusyAction::Voicemail,
            out_of_hours: None,
            forward_to: None,
        }
    }
}
