//! The statuses a person can have and the policy each one carries.
//!
//! Built-ins are the union of the five product specs; organisations add their own custom
//! statuses (name, emoji, enabled or not, policy). Everything the rest of the engine decides
//! (whether a notification may interrupt, what a direct call does, who is routable) is read
//! from the policy here, never from the status's name.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::ids::CustomStatusId;
use crate::text::{Emoji, StatusName};
use crate::PresenceError;

/// The built-in statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinStatus {
    Available,
    Busy,
    Away,
    DoNotDisturb,
    Offline,
    OnACall,
    InAMeeting,
    AfterCallWork,
    ForwardToPhone,
    BeRightBack,
    Invisible,
    /// Away from work for dates set in the person's settings; not chosen from the menu.
    OutOfOffice,
}

impl BuiltinStatus {
    pub const ALL: [BuiltinStatus; 12] = [
        BuiltinStatus::Available,
        BuiltinStatus::Busy,
        BuiltinStatus::Away,
        BuiltinStatus::DoNotDisturb,
        BuiltinStatus::Offline,
        BuiltinStatus::OnACall,
        BuiltinStatus::InAMeeting,
        BuiltinStatus::AfterCallWork,
        BuiltinStatus::ForwardToPhone,
        BuiltinStatus::BeRightBack,
        BuiltinStatus::Invisible,
        BuiltinStatus::OutOfOffice,
    ];

    pub fn key(self) -> &'static str {
        match self {
            BuiltinStatus::Available => "available",
            BuiltinStatus::Busy => "busy",
            BuiltinStatus::Away => "away",
            BuiltinStatus::DoNotDisturb => "do_not_disturb",
            BuiltinStatus::Offline => "offline",
            BuiltinStatus::OnACall => "on_a_call",
            BuiltinStatus::InAMeeting => "in_a_meeting",
            BuiltinStatus::AfterCallWork => "after_call_work",
            BuiltinStatus::ForwardToPhone => "forward_to_phone",
            BuiltinStatus::BeRightBack => "be_right_back",
            BuiltinStatus::Invisible => "invisible",
            BuiltinStatus::OutOfOffice => "out_of_office",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BuiltinStatus::Available => "Available",
            BuiltinStatus::Busy => "Busy",
            BuiltinStatus::Away => "Away",
            BuiltinStatus::DoNotDisturb => "Do not disturb",
            BuiltinStatus::Offline => "Offline",
            BuiltinStatus::OnACall => "On a call",
            BuiltinStatus::InAMeeting => "In a meeting",
            BuiltinStatus::AfterCallWork => "After call work",
            BuiltinStatus::ForwardToPhone => "Forward to phone",
            BuiltinStatus::BeRightBack => "Be right back",
            BuiltinStatus::Invisible => "Invisible",
            BuiltinStatus::OutOfOffice => "Out of office",
        }
    }

    /// The policy of each built-in. The reasons are in `docs/presence-model.md`.
    pub fn policy(self) -> StatusPolicy {
        use BuiltinStatus::*;
        use DirectCallPolicy as Call;
        use Family as F;
        use Glyph as G;
        use NotificationPolicy as N;
        let p = |family, glyph, selectable, notifications, direct_call, team_calls, assignable| {
            StatusPolicy {
                family,
                colour: family.colour(),
                glyph,
                selectable,
                notifications,
                direct_call,
                team_calls,
                assignable,
            }
        };
        match self {
            Available => p(
                F::Available,
                G::Check,
                true,
                N::Deliver,
                Call::Ring,
                true,
                true,
            ),
            Busy => p(
                F::Busy,
                G::Dot,
                true,
                N::Deliver,
                Call::BusyAction,
                false,
                false,
            ),
            Away => p(F::Away, G::Clock, true, N::Deliver, Call::Ring, true, false),
            DoNotDisturb => p(
                F::DoNotDisturb,
                G::Line,
                true,
                N::Hold,
                Call::BusyAction,
                false,
                false,
            ),
            Offline => p(
                F::Offline,
                G::Cross,
                false,
                N::Hold,
                Call::Voicemail,
                false,
                false,
            ),
            OnACall => p(
                F::Busy,
                G::Phone,
                false,
                N::Deliver,
                Call::BusyAction,
                false,
                false,
            ),
            InAMeeting => p(
                F::Busy,
                G::Calendar,
                false,
                N::Deliver,
                Call::BusyAction,
                false,
                false,
            ),
            AfterCallWork => p(
                F::Busy,
                G::Pencil,
                false,
                N::Deliver,
                Call::BusyAction,
                false,
                false,
            ),
            ForwardToPhone => p(
                F::Available,
                G::Forward,
                true,
                N::Deliver,
                Call::ForwardToPhone,
                true,
                true,
            ),
            BeRightBack => p(F::Away, G::Clock, true, N::Deliver, Call::Ring, true, false),
            Invisible => p(
                F::Offline,
                G::Cross,
                true,
                N::Deliver,
                Call::Ring,
                true,
                false,
            ),
            // Notifications wait for the return; a direct call does what the person's call
            // settings say; no team call rings and no contact is assigned.
            OutOfOffice => p(
                F::Away,
                G::Plane,
                false,
                N::Hold,
                Call::BusyAction,
                false,
                false,
            ),
        }
    }
}

/// A status: a built-in or one of the organisation's custom statuses.
/// On the wire: `"busy"`, `"custom:lunch"`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StatusId {
    Builtin(BuiltinStatus),
    Custom(CustomStatusId),
    /// One of the person's own statuses (`personal:<id>`), kept in their preferences.
    Personal(CustomStatusId),
}

// A string on the wire, so its schema is written out (the derive describes enums by variant).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for StatusId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A built-in status (available, busy, away, do_not_disturb, offline, on_a_call, \
                 in_a_meeting, after_call_work, forward_to_phone, be_right_back, invisible, out_of_office) or \
                 custom:<id> (the organisation's) or personal:<id> (the person's own)",
            ))
            .examples(["do_not_disturb", "custom:lunch"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for StatusId {}

impl StatusId {
    pub const AVAILABLE: StatusId = StatusId::Builtin(BuiltinStatus::Available);
    pub const BUSY: StatusId = StatusId::Builtin(BuiltinStatus::Busy);
    pub const AWAY: StatusId = StatusId::Builtin(BuiltinStatus::Away);
    pub const DND: StatusId = StatusId::Builtin(BuiltinStatus::DoNotDisturb);
    pub const OFFLINE: StatusId = StatusId::Builtin(BuiltinStatus::Offline);
    pub const ON_A_CALL: StatusId = StatusId::Builtin(BuiltinStatus::OnACall);
    pub const IN_A_MEETING: StatusId = StatusId::Builtin(BuiltinStatus::InAMeeting);
    pub const AFTER_CALL_WORK: StatusId = StatusId::Builtin(BuiltinStatus::AfterCallWork);
    pub const OUT_OF_OFFICE: StatusId = StatusId::Builtin(BuiltinStatus::OutOfOffice);
    pub const INVISIBLE: StatusId = StatusId::Builtin(BuiltinStatus::Invisible);
}

impl fmt::Display for StatusId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusId::Builtin(b) => f.write_str(b.key()),
            StatusId::Custom(c) => write!(f, "custom:{c}"),
            StatusId::Personal(c) => write!(f, "personal:{c}"),
        }
    }
}

impl FromStr for StatusId {
    type Err = PresenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(slug) = s.strip_prefix("custom:") {
            return Ok(StatusId::Custom(CustomStatusId::parse(slug)?));
        }
        if let Some(slug) = s.strip_prefix("personal:") {
            return Ok(StatusId::Personal(CustomStatusId::parse(slug)?));
        }
        BuiltinStatus::ALL
            .into_iter()
            .find(|b| b.key() == s)
            .map(StatusId::Builtin)
            .ok_or_else(|| PresenceError::UnknownStatus(s.chars().take(80).collect()))
    }
}

impl TryFrom<String> for StatusId {
    type Error = PresenceError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<StatusId> for String {
    fn from(s: StatusId) -> String {
        s.to_string()
    }
}

/// The five families a person recognises at a glance; each has its own tray icon.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Available,
    Busy,
    Away,
    DoNotDisturb,
    Offline,
}

impl Family {
    /// The built-in status whose policy a custom status of this family starts from. None for
    /// Offline: no custom status may say a person is not there.
    pub fn builtin(self) -> Option<BuiltinStatus> {
        match self {
            Family::Available => Some(BuiltinStatus::Available),
            Family::Busy => Some(BuiltinStatus::Busy),
            Family::Away => Some(BuiltinStatus::Away),
            Family::DoNotDisturb => Some(BuiltinStatus::DoNotDisturb),
            Family::Offline => None,
        }
    }

    pub fn colour(self) -> Colour {
        match self {
            Family::Available => Colour::Green,
            Family::Busy | Family::DoNotDisturb => Colour::Red,
            Family::Away => Colour::Amber,
            Family::Offline => Colour::Gray,
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Green,
    Red,
    Amber,
    Gray,
}

/// A shape drawn with the colour, so that status never relies on colour alone.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Glyph {
    Check,
    Dot,
    Clock,
    /// The line of "red with a line".
    Line,
    Cross,
    Phone,
    Calendar,
    Pencil,
    Forward,
    /// Out of office.
    Plane,
    /// A custom status shows its emoji.
    Emoji,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationPolicy {
    /// Desktop notifications appear.
    Deliver,
    /// Notifications are kept in the missed-notification center, silently.
    Hold,
}

/// What a direct call to a person in this status does.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectCallPolicy {
    Ring,
    /// The person's configured busy action (engaged tone, voicemail, message, redirect).
    BusyAction,
    Voicemail,
    ForwardToPhone,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusPolicy {
    pub family: Family,
    pub colour: Colour,
    pub glyph: Glyph,
    /// A person may pick it; otherwise only automation sets it.
    pub selectable: bool,
    pub notifications: NotificationPolicy,
    pub direct_call: DirectCallPolicy,
    /// Team calls ring people in this status.
    pub team_calls: bool,
    /// Auto-assigned contacts may go to people in this status.
    pub assignable: bool,
}

/// An organisation's own status.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomStatus {
    pub id: CustomStatusId,
    pub name: StatusName,
    pub emoji: Option<Emoji>,
    pub enabled: bool,
    pub policy: StatusPolicy,
}

/// What an organisation changes of its family's policy when it makes a custom status; none
/// keeps the family's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyOverrides {
    pub notifications: Option<NotificationPolicy>,
    pub direct_call: Option<DirectCallPolicy>,
    pub team_calls: Option<bool>,
    pub assignable: Option<bool>,
}

impl CustomStatus {
    /// A custom status in `family`: its colour and glyph, and its policy unless overridden.
    pub fn in_family(
        id: CustomStatusId,
        name: StatusName,
        emoji: Option<Emoji>,
        enabled: bool,
        family: Family,
        overrides: PolicyOverrides,
    ) -> Result<CustomStatus, PresenceError> {
        let base = family
            .builtin()
            .ok_or(PresenceError::OfflineFamily)?
            .policy();
        let has_emoji = emoji.is_some();
        Ok(CustomStatus {
            id,
            name,
            emoji,
            enabled,
            policy: StatusPolicy {
                family,
                colour: family.colour(),
                // Its emoji is its glyph (tray, panel, window); the family's shape without one.
                glyph: if has_emoji { Glyph::Emoji } else { base.glyph },
                selectable: true,
                notifications: overrides.notifications.unwrap_or(base.notifications),
                direct_call: overrides.direct_call.unwrap_or(base.direct_call),
                team_calls: overrides.team_calls.unwrap_or(base.team_calls),
                assignable: overrides.assignable.unwrap_or(base.assignable),
            },
        })
    }

    /// A custom status of the usual kind: logged in, not taking calls or contacts, notifications
    /// still delivered (the contact-center spec's Meeting, Break, Training, Lunch).
    pub fn unavailable(id: &str, name: &str, emoji: &str) -> Result<CustomStatus, PresenceError> {
        Ok(CustomStatus {
            id: CustomStatusId::parse(id)?,
            name: StatusName::parse(name)?,
            emoji: Some(Emoji::parse(emoji)?),
            enabled: true,
            policy: StatusPolicy {
                family: Family::Away,
                colour: Colour::Amber,
                glyph: Glyph::Emoji,
                selectable: true,
                notifications: NotificationPolicy::Deliver,
                direct_call: DirectCallPolicy::BusyAction,
                team_calls: false,
                assignable: false,
            },
        })
    }
}

/// A status a person makes for themselves (the "Custom" status of a business phone app): a name,
/// an emoji, and the family whose rules it follows: a personal Busy status is Busy for calls,
/// notifications and routing, and shows its own name and emoji.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalStatus {
    pub id: CustomStatusId,
    pub name: StatusName,
    pub emoji: Option<Emoji>,
    pub family: Family,
}

/// How many statuses of their own a person may keep.
pub const MAX_PERSONAL_STATUSES: usize = 20;

impl PersonalStatus {
    /// Its policy: its family's built-in's, drawn with its emoji. Offline (refused by
    /// [`PersonalStatus::check_all`]) counts as Busy.
    pub fn policy(&self) -> StatusPolicy {
        let base = self
            .family
            .builtin()
            .unwrap_or(BuiltinStatus::Busy)
            .policy();
        StatusPolicy {
            family: base.family,
            colour: base.colour,
            glyph: if self.emoji.is_some() {
                Glyph::Emoji
            } else {
                base.glyph
            },
            selectable: true,
            ..base
        }
    }

    fn entry(&self) -> StatusEntry {
        StatusEntry {
            id: StatusId::Personal(self.id.clone()),
            label: self.name.to_string(),
            emoji: self.emoji.clone(),
            enabled: true,
            policy: self.policy(),
        }
    }

    /// A person's list as a whole: at most [`MAX_PERSONAL_STATUSES`], each id once, each name
    /// once, none in the offline family.
    pub fn check_all(list: &[PersonalStatus]) -> Result<(), PresenceError> {
        let bad = |reason: String| PresenceError::InvalidPersonalStatus(reason);
        if list.len() > MAX_PERSONAL_STATUSES {
            return Err(bad(format!(
                "at most {MAX_PERSONAL_STATUSES} statuses of your own: remove one first"
            )));
        }
        for (i, s) in list.iter().enumerate() {
            if s.family == Family::Offline {
                return Err(bad(format!(
                    "\"{}\" cannot be in the offline family: pick available, busy, away or do_not_disturb",
                    s.name
                )));
            }
            if list[..i].iter().any(|o| o.id == s.id) {
                return Err(bad(format!("the id \"{}\" is used twice", s.id)));
            }
            if list[..i]
                .iter()
                .any(|o| o.name.as_str().eq_ignore_ascii_case(s.name.as_str()))
            {
                return Err(bad(format!("the name \"{}\" is used twice", s.name)));
            }
        }
        Ok(())
    }
}

/// One status as a person sees it listed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEntry {
    pub id: StatusId,
    pub label: String,
    pub emoji: Option<Emoji>,
    pub enabled: bool,
    pub policy: StatusPolicy,
}

/// What an organisation changes of a built-in status: whether people may choose it, whether
/// team calls ring and contacts go to people in it, what a direct call does. None keeps the
/// built-in's own.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltinOverride {
    /// A built-in status (`available`, `busy`, …).
    pub status: StatusId,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub team_calls: Option<bool>,
    #[serde(default)]
    pub assignable: Option<bool>,
    #[serde(default)]
    pub direct_call: Option<DirectCallPolicy>,
}

/// The statuses of one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Catalog {
    /// Forward to phone is off unless the organisation turns it on (the contact-center spec
    /// enables it on request).
    pub forward_to_phone_enabled: bool,
    pub custom: Vec<CustomStatus>,
    /// The organisation's changes to built-in statuses.
    #[serde(default)]
    pub builtin: Vec<BuiltinOverride>,
}

impl Catalog {
    /// The default custom statuses of the contact-center spec.
    pub fn with_default_custom() -> Catalog {
        let custom = [
            ("meeting", "Meeting", "📅"),
            ("break", "Break", "☕"),
            ("training", "Training", "🎓"),
            ("lunch", "Lunch", "🍽️"),
        ]
        .into_iter()
        .map(|(id, name, emoji)| CustomStatus::unavailable(id, name, emoji).expect("valid default"))
        .collect();
        Catalog {
            forward_to_phone_enabled: false,
            custom,
            builtin: Vec::new(),
        }
    }

    pub fn entry(&self, id: &StatusId) -> Option<StatusEntry> {
        match id {
            StatusId::Builtin(b) => {
                let mut policy = b.policy();
                let mut enabled =
                    *b != BuiltinStatus::ForwardToPhone || self.forward_to_phone_enabled;
                if let Some(o) = self.builtin.iter().find(|o| &o.status == id) {
                    enabled &= o.enabled.unwrap_or(true);
                    policy.team_calls = o.team_calls.unwrap_or(policy.team_calls);
                    policy.assignable = o.assignable.unwrap_or(policy.assignable);
                    policy.direct_call = o.direct_call.unwrap_or(policy.direct_call);
                }
                Some(StatusEntry {
                    id: id.clone(),
                    label: b.label().to_owned(),
                    emoji: None,
                    enabled,
                    policy,
                })
            }
            StatusId::Custom(c) => self
                .custom
                .iter()
                .find(|s| &s.id == c)
                .map(|s| StatusEntry {
                    id: id.clone(),
                    label: s.name.to_string(),
                    emoji: s.emoji.clone(),
                    enabled: s.enabled,
                    policy: s.policy,
                }),
            // A person's own status is in their preferences: see [`Catalog::entry_for`].
            StatusId::Personal(_) => None,
        }
    }

    /// A status as `mine` (a person's own statuses) and the organisation's catalog say.
    pub fn entry_for(&self, mine: &[PersonalStatus], id: &StatusId) -> Option<StatusEntry> {
        match id {
            StatusId::Personal(p) => mine.iter().find(|s| &s.id == p).map(PersonalStatus::entry),
            _ => self.entry(id),
        }
    }

    /// The policy of a status for a person with `mine`; see [`Catalog::policy`].
    pub fn policy_for(&self, mine: &[PersonalStatus], id: &StatusId) -> StatusPolicy {
        self.entry_for(mine, id)
            .map(|e| e.policy)
            .unwrap_or_else(|| BuiltinStatus::Busy.policy())
    }

    pub fn label_for(&self, mine: &[PersonalStatus], id: &StatusId) -> String {
        self.entry_for(mine, id)
            .map(|e| e.label)
            .unwrap_or_else(|| id.to_string())
    }

    /// What a person with `mine` may pick: the organisation's, then their own.
    pub fn selectable_for(&self, mine: &[PersonalStatus]) -> Vec<StatusEntry> {
        let mut out = self.selectable();
        out.extend(mine.iter().map(PersonalStatus::entry));
        out
    }

    /// Checks that a person with `mine` may choose `id` by hand.
    pub fn check_selectable_for(
        &self,
        mine: &[PersonalStatus],
        id: &StatusId,
    ) -> Result<StatusEntry, PresenceError> {
        match id {
            StatusId::Personal(_) => self
                .entry_for(mine, id)
                .ok_or_else(|| PresenceError::UnknownStatus(id.to_string())),
            _ => self.check_selectable(id),
        }
    }

    /// The policy of a status. A custom status that was deleted while someone still had it falls
    /// back to Busy's policy (logged in, not taking calls) rather than failing.
    pub fn policy(&self, id: &StatusId) -> StatusPolicy {
        self.policy_for(&[], id)
    }

    pub fn label(&self, id: &StatusId) -> String {
        self.label_for(&[], id)
    }

    /// What a person may pick from the dropdown or the tray, in menu order.
    pub fn selectable(&self) -> Vec<StatusEntry> {
        BuiltinStatus::ALL
            .into_iter()
            .map(StatusId::Builtin)
            .chain(self.custom.iter().map(|c| StatusId::Custom(c.id.clone())))
            .filter_map(|id| self.entry(&id))
            .filter(|e| e.enabled && e.policy.selectable)
            .collect()
    }

    /// Checks that a person may choose `id` by hand.
    pub fn check_selectable(&self, id: &StatusId) -> Result<StatusEntry, PresenceError> {
        let entry = self
            .entry(id)
            .ok_or_else(|| PresenceError::UnknownStatus(id.to_string()))?;
        if !entry.policy.selectable {
            return Err(PresenceError::AutomaticOnly(entry.label));
        }
        if !entry.enabled {
            return Err(PresenceError::StatusDisabled(entry.label));
        }
        Ok(entry)
    }
}
