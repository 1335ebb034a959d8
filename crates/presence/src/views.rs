//! What a person sees of themselves, what teammates see, and why.

use serde::{Deserialize, Serialize};

use crate::catalog::{Colour, Family, Glyph, StatusId};
use crate::claims::ClaimSource;
use crate::device::{DeviceKind, DeviceState, Platform};
use crate::ids::DeviceId;
use crate::person::Person;
use crate::rules::{Candidate, Resolution, Rules};
use crate::text::{DeviceName, Emoji, MessageText};
use crate::time::Timestamp;

/// A status as drawn: label, colour and glyph, since and until.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub status: StatusId,
    pub label: String,
    pub family: Family,
    pub colour: Colour,
    pub glyph: Glyph,
    pub emoji: Option<Emoji>,
    pub since: Timestamp,
    pub until: Option<Timestamp>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub text: MessageText,
    pub emoji: Option<Emoji>,
    pub expires: Option<Timestamp>,
}

/// Whether something may interrupt the person now. Kept apart from availability: Busy does not
/// mute; Do not disturb, a pause and quiet hours do.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Interruptibility {
    Normal,
    /// The status holds notifications (Do not disturb, Offline).
    DoNotDisturb {
        until: Option<Timestamp>,
    },
    Paused {
        until: Timestamp,
    },
    QuietHours {
        until: Timestamp,
    },
}

/// What teammates see. Equal values mean nothing visible changed, so no delta is sent.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub status: StatusView,
    pub message: Option<MessageView>,
    /// When shown Offline: the last moment they were seen (frozen while Invisible).
    pub last_seen: Option<Timestamp>,
    /// The kind of the device that makes them reachable now (the most active of those that
    /// count); none while Offline or Invisible, or for a device that never said.
    #[serde(default)]
    pub reachable_on: Option<DeviceKind>,
}

/// What the person sees of themselves.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfView {
    pub status: StatusView,
    pub message: Option<MessageView>,
    pub interruptibility: Interruptibility,
    /// Exactly what teammates see, shown beside the status when it differs (Invisible).
    pub seen_by_others: TeamView,
}

/// One line of "why am I shown as X?".
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLine {
    pub status: StatusId,
    pub label: String,
    pub source: ClaimSource,
    pub because: String,
    pub priority: u8,
    pub device: Option<DeviceId>,
    pub since: Timestamp,
    pub until: Option<Timestamp>,
    pub standing: crate::rules::Standing,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextChange {
    pub at: Timestamp,
    pub status: StatusId,
    pub label: String,
}

/// "Why am I shown as X?"
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub winner: ClaimLine,
    /// Everything else in the stack, in the order it would come back.
    pub others: Vec<ClaimLine>,
    /// The status if the winning claim ended now.
    pub when_this_ends: StatusId,
    /// The next change that happens by itself, if any, and what it leads to.
    pub next: Option<NextChange>,
    pub seen_by_others: StatusId,
    /// Each of the person's devices, as the engine counts it now.
    #[serde(default)]
    pub devices: Vec<DeviceLine>,
}

/// One device in "why am I shown as X?".
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceLine {
    pub device: DeviceId,
    /// Its name and platform from its sign-in (none and other for a device that never said).
    #[serde(default)]
    pub name: Option<DeviceName>,
    #[serde(default)]
    pub platform: Platform,
    pub state: DeviceShown,
    /// Since when it is in that state (for gone: when it went).
    pub since: Timestamp,
    pub last_report_at: Timestamp,
    pub in_call: bool,
}

/// What a device counts as now.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceShown {
    Active,
    /// No input, not yet past the idle threshold.
    Idle,
    /// Idle past the threshold, or locked: it counts as away.
    Away,
    Locked,
    /// Its lease lapsed or it signed out: it does not count.
    Gone,
}

impl Rules {
    fn status_view(
        &self,
        person: &Person,
        status: &StatusId,
        since: Timestamp,
        until: Option<Timestamp>,
    ) -> StatusView {
        let mine = &person.preferences.statuses;
        let entry = self.catalog.entry_for(mine, status);
        let policy = entry
            .as_ref()
            .map(|e| e.policy)
            .unwrap_or_else(|| self.catalog.policy(status));
        StatusView {
            status: status.clone(),
            label: entry
                .as_ref()
                .map(|e| e.label.clone())
                .unwrap_or_else(|| status.to_string()),
            family: policy.family,
            colour: policy.colour,
            glyph: policy.glyph,
            emoji: entry.and_then(|e| e.emoji),
            since,
            until,
        }
    }

    /// The status message; while out of office, its message (until the return) instead.
    fn message_view(person: &Person, now: Timestamp) -> Option<MessageView> {
        let away = person
            .preferences
            .out_of_office
            .as_ref()
            .filter(|o| o.is_active(now));
        if let Some((text, until)) = away.and_then(|o| o.message.clone().map(|m| (m, o.until))) {
            return Some(MessageView {
                text,
                emoji: None,
                expires: Some(until),
            });
        }
        person.message(now).map(|m| MessageView {
            text: m.text.clone(),
            emoji: m.emoji.clone(),
            expires: m.expires,
        })
    }

    fn shown_since(person: &Person, winner: &Candidate) -> Timestamp {
        match &person.shown {
            Some(s) if s.status == winner.status => s.since,
            _ => winner.since,
        }
    }

    pub fn self_view(&self, person: &Person, now: Timestamp) -> SelfView {
        // Resolve once; every part of the view reads the same resolution.
        let r = self.resolve(person, now);
        SelfView {
            status: self.status_view(
                person,
                &r.winner.status,
                Self::shown_since(person, &r.winner),
                r.winner.until,
            ),
            message: Self::message_view(person, now),
            interruptibility: self.interruptibility_of(person, &r, now),
            seen_by_others: self.team_view_of(person, &r, now),
        }
    }

    /// What teammates see: Invisible shows as Offline with last seen frozen at the moment the
    /// person went invisible.
    pub fn team_view(&self, person: &Person, now: Timestamp) -> TeamView {
        self.team_view_of(person, &self.resolve(person, now), now)
    }

    fn team_view_of(&self, person: &Person, r: &Resolution, now: Timestamp) -> TeamView {
        let message = Self::message_view(person, now);
        if let Some(since) = r.invisible_since {
            // The message as it was when they went Invisible: nothing changed since shows.
            let message = match &person.invisible {
                Some(frame) => frame
                    .message
                    .as_ref()
                    .filter(|m| m.expires.is_none_or(|e| now < e))
                    .map(|m| MessageView {
                        text: m.text.clone(),
                        emoji: m.emoji.clone(),
                        expires: m.expires,
                    }),
                None => message,
            };
            let frozen = if r.winner.source == ClaimSource::NoDevice {
                since.min(r.winner.since)
            } else {
                since
            };
            return TeamView {
                status: self.status_view(person, &StatusId::OFFLINE, frozen, None),
                message,
                last_seen: Some(frozen),
                reachable_on: None,
            };
        }
        let last_seen = match r.winner.source {
            ClaimSource::NoDevice => person.devices.values().map(|d| d.last_report_at).max(),
            ClaimSource::Inactivity => person
                .devices
                .values()
                .filter(|d| d.is_live(now))
                .map(|d| d.last_activity())
                .max(),
            _ => None,
        };
        let reachable_on = self.reachable_on(person, now);
        TeamView {
            status: self.status_view(
                person,
                &r.winner.status,
                Self::shown_since(person, &r.winner),
                r.winner.until,
            ),
            message,
            last_seen,
            reachable_on,
        }
    }

    pub fn interruptibility(&self, person: &Person, now: Timestamp) -> Interruptibility {
        self.interruptibility_of(person, &self.resolve(person, now), now)
    }

    fn interruptibility_of(
        &self,
        person: &Person,
        r: &Resolution,
        now: Timestamp,
    ) -> Interruptibility {
        if self.policy_of(person, &r.winner.status).notifications
            == crate::catalog::NotificationPolicy::Hold
        {
            return Interruptibility::DoNotDisturb {
                until: r.winner.until,
            };
        }
        if let Some(until) = person.paused_until(now) {
            return Interruptibility::Paused { until };
        }
        if let Some((_, until)) = person
            .preferences
            .schedule
            .as_ref()
            .and_then(|s| s.quiet(now))
        {
            return Interruptibility::QuietHours { until };
        }
        Interruptibility::Normal
    }

    fn line(&self, person: &Person, c: &Candidate) -> ClaimLine {
        ClaimLine {
            status: c.status.clone(),
            label: self.label_of(person, &c.status),
            source: c.source,
            because: c.source.describe().to_owned(),
            priority: c.priority,
            device: c.device.clone(),
            since: c.since,
            until: c.until,
            standing: c.standing,
        }
    }

    pub fn explain(&self, person: &Person, now: Timestamp) -> Explanation {
        let r = self.resolve(person, now);
        let when_this_ends = match r.winner.claim {
            Some(id) => {
                let mut without = person.clone();
                without.claims.retain(|c| c.id != id);
                self.resolve(&without, now).winner.status
            }
            None => r
                .stack
                .iter()
                .find(|c| c.standing == crate::rules::Standing::Below)
                .map(|c| c.status.clone())
                .unwrap_or_else(|| r.winner.status.clone()),
        };
        let ahead = person.assuming_devices_stay(now);
        let next = ahead.next_change(self, now).map(|at| {
            let mut later = ahead.clone();
            later.settle(self, at);
            let status = self.resolve(&later, at).winner.status;
            NextChange {
                at,
                label: self.label_of(person, &status),
                status,
            }
        });
        Explanation {
            winner: self.line(person, &r.winner),
            others: r
                .stack
                .iter()
                .skip(1)
                .map(|c| self.line(person, c))
                .collect(),
            when_this_ends,
            next,
            seen_by_others: self.team_view_of(person, &r, now).status.status,
            devices: self.device_lines(person, now),
        }
    }

    /// What a device counts as now, and since when.
    fn device_shown(
        d: &DeviceState,
        idle_after: crate::time::Span,
        now: Timestamp,
    ) -> (DeviceShown, Timestamp) {
        if !d.is_live(now) {
            (DeviceShown::Gone, d.gone_at.unwrap_or(d.lease_until))
        } else if let Some(l) = d.locked_since {
            (DeviceShown::Locked, l)
        } else if let Some(i) = d.idle_since {
            let away = i.plus(idle_after);
            if away <= now {
                (DeviceShown::Away, away)
            } else {
                (DeviceShown::Idle, i)
            }
        } else {
            (DeviceShown::Active, d.last_report_at)
        }
    }

    /// The kind of the device that makes the person reachable: of those that count, the
    /// active before the idle before the away or locked, then the most recently heard from.
    fn reachable_on(&self, person: &Person, now: Timestamp) -> Option<DeviceKind> {
        let idle_after = self.idle_after(person);
        person
            .devices()
            .values()
            .filter_map(|d| {
                let rank = match Self::device_shown(d, idle_after, now).0 {
                    DeviceShown::Active => 0,
                    DeviceShown::Idle => 1,
                    DeviceShown::Away | DeviceShown::Locked => 2,
                    DeviceShown::Gone => return None,
                };
                Some((rank, std::cmp::Reverse(d.last_report_at), d))
            })
            .min_by_key(|(rank, at, _)| (*rank, *at))
            .and_then(|(_, _, d)| d.about.as_ref())
            .map(|a| a.platform.kind())
    }

    fn device_lines(&self, person: &Person, now: Timestamp) -> Vec<DeviceLine> {
        let idle_after = self.idle_after(person);
        let mut lines: Vec<DeviceLine> = person
            .devices()
            .iter()
            .map(|(id, d)| {
                let (state, since) = Self::device_shown(d, idle_after, now);
                DeviceLine {
                    device: id.clone(),
                    name: d.about.as_ref().and_then(|a| a.name.clone()),
                    platform: d.about.as_ref().map(|a| a.platform).unwrap_or_default(),
                    state,
                    since,
                    last_report_at: d.last_report_at,
                    in_call: d.in_call_since.is_some() && d.is_live(now),
                }
            })
            .collect();
        // Those that count first, the most recently heard from first.
        lines.sort_by_key(|l| {
            (
                l.state == DeviceShown::Gone,
                std::cmp::Reverse(l.last_report_at),
            )
        });
        lines
    }
}
