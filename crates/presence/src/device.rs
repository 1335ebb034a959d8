//! Devices: what each of a person's devices last reported, and whether it is still there.

use serde::{Deserialize, Serialize};

use crate::ids::DeviceId;
use crate::text::DeviceName;
use crate::time::{Span, Timestamp};

/// What a device runs on, as it said when it signed in.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Linux,
    Macos,
    Windows,
    Android,
    Ios,
    /// A browser.
    Web,
    /// The command-line client.
    Cli,
    #[default]
    Other,
}

impl Platform {
    /// The platform of the computer this runs on, from Rust's `std::env::consts::OS`.
    pub fn from_os(os: &str) -> Platform {
        match os {
            "linux" | "freebsd" | "openbsd" | "netbsd" | "dragonfly" => Platform::Linux,
            "macos" => Platform::Macos,
            "windows" => Platform::Windows,
            "android" => Platform::Android,
            "ios" => Platform::Ios,
            _ => Platform::Other,
        }
    }

    pub const ALL: [Platform; 8] = [
        Platform::Linux,
        Platform::Macos,
        Platform::Windows,
        Platform::Android,
        Platform::Ios,
        Platform::Web,
        Platform::Cli,
        Platform::Other,
    ];

    /// Its wire and stored form (`linux`, `macos`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Linux => "linux",
            Platform::Macos => "macos",
            Platform::Windows => "windows",
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Web => "web",
            Platform::Cli => "cli",
            Platform::Other => "other",
        }
    }

    /// The platform stored as `s`; other for anything unknown (a newer server's).
    pub fn from_stored(s: &str) -> Platform {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .unwrap_or_default()
    }

    /// The kind of device teammates see a mark of.
    pub fn kind(self) -> DeviceKind {
        match self {
            Platform::Linux | Platform::Macos | Platform::Windows | Platform::Cli => {
                DeviceKind::Desktop
            }
            Platform::Android | Platform::Ios => DeviceKind::Mobile,
            Platform::Web => DeviceKind::Web,
            Platform::Other => DeviceKind::Other,
        }
    }
}

/// What teammates are told of the device that makes a person reachable: its kind, never its
/// name.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Desktop,
    Mobile,
    Web,
    Other,
}

/// A device's name and platform, given when it signed in ("Work laptop", Linux).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceAbout {
    pub name: Option<DeviceName>,
    #[serde(default)]
    pub platform: Platform,
}

/// What a device says about its user right now.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeviceActivity {
    Active,
    /// No input for this long. A span, not a time, so a device's clock skew does not matter.
    Idle {
        idle_for: Span,
    },
    /// The screen has been locked for this long.
    Locked {
        locked_for: Span,
    },
}

/// A device's report. `seq` grows with every report the device sends, across restarts; a report
/// whose `seq` is not above the last one applied is stale and changes nothing.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceReport {
    pub device: DeviceId,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    pub activity: DeviceActivity,
    pub in_call: bool,
}

impl DeviceReport {
    /// Refuses what no device can honestly report: an idle or locked time below zero (which
    /// would put the start of it in the future).
    pub fn check(&self) -> Result<(), crate::PresenceError> {
        match self.activity {
            DeviceActivity::Idle { idle_for } if idle_for.millis() < 0 => {
                Err(crate::PresenceError::NegativeSpan { what: "idle_for" })
            }
            DeviceActivity::Locked { locked_for } if locked_for.millis() < 0 => {
                Err(crate::PresenceError::NegativeSpan { what: "locked_for" })
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    pub last_seq: u64,
    pub last_report_at: Timestamp,
    /// The device counts as present while `now < lease_until`.
    pub lease_until: Timestamp,
    /// Set when the lease lapsed or the device signed out; cleared by its next fresh report.
    pub gone_at: Option<Timestamp>,
    pub idle_since: Option<Timestamp>,
    pub locked_since: Option<Timestamp>,
    pub in_call_since: Option<Timestamp>,
    /// Its name and platform, from its sign-in (kept by the server; absent for a device
    /// recorded before there were any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<DeviceAbout>,
}

impl DeviceState {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.gone_at.is_none() && now < self.lease_until
    }

    /// When this device started to count as away: at once when locked, after the threshold when
    /// idle; `None` while active.
    pub fn away_from(&self, idle_after: Span) -> Option<Timestamp> {
        match (self.locked_since, self.idle_since) {
            (Some(l), Some(i)) => Some(l.min(i.plus(idle_after))),
            (Some(l), None) => Some(l),
            (None, Some(i)) => Some(i.plus(idle_after)),
            (None, None) => None,
        }
    }

    /// The last moment the user was seen doing something on this device.
    pub fn last_activity(&self) -> Timestamp {
        match (self.locked_since, self.idle_since) {
            (Some(l), Some(i)) => l.min(i),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => self.last_report_at,
        }
    }
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReportOutcome {
    Applied,
    /// Older than or equal to what was already applied; ignored.
    Stale {
        last_seq: u64,
    },
}
