//! The decisions presence drives: may a notification interrupt, what a direct call does, whom a
//! team call rings, who gets the next contact.

use serde::{Deserialize, Serialize};

use crate::call::{BusyAction, PhoneNumber};
use crate::catalog::{DirectCallPolicy, NotificationPolicy, StatusId};
use crate::claims::ClaimSource;
use crate::ids::UserId;
use crate::person::Person;
use crate::rules::Rules;
use crate::time::Timestamp;

/// An incoming notification, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub sender: Option<UserId>,
    pub urgent: bool,
}

/// Why a notification is held.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum HoldReason {
    /// The status holds notifications (Do not disturb).
    Status {
        status: StatusId,
    },
    Paused {
        until: Timestamp,
    },
    QuietHours {
        until: Timestamp,
    },
    /// No device is connected to show it on.
    NoDevice,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "delivery", rename_all = "snake_case")]
pub enum Delivery {
    Show,
    /// Kept in the missed-notification center without sound or banner. Never dropped.
    Hold {
        why: HoldReason,
    },
    /// Urgent, from someone on the person's allow-list: shown despite `why`.
    BreakThrough {
        why: HoldReason,
    },
}

impl Delivery {
    pub fn interrupts(&self) -> bool {
        !matches!(self, Delivery::Hold { .. })
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CallOutcome {
    Ring,
    Busy { action: BusyAction },
    Voicemail,
    Forward { to: PhoneNumber },
    OutOfHours { action: BusyAction },
}

/// A candidate for the next auto-assigned contact.
#[derive(Debug, Clone, Copy)]
pub struct AssignmentCandidate<'a> {
    pub user: &'a UserId,
    pub person: &'a Person,
    /// When they last received an assigned contact.
    pub last_assigned: Option<Timestamp>,
}

impl Rules {
    /// Show, hold (with the reason) or break through.
    pub fn notification(&self, person: &Person, now: Timestamp, notice: &Notice) -> Delivery {
        let r = self.resolve(person, now);
        let why = if !person.has_live_device(now) {
            return Delivery::Hold {
                why: HoldReason::NoDevice,
            };
        } else if self.policy_of(person, &r.winner.status).notifications == NotificationPolicy::Hold
        {
            HoldReason::Status {
                status: r.winner.status,
            }
        } else if let Some(until) = person.paused_until(now) {
            HoldReason::Paused { until }
        } else if let Some((_, until)) = person
            .preferences
            .schedule
            .as_ref()
            .and_then(|s| s.quiet(now))
        {
            HoldReason::QuietHours { until }
        } else {
            return Delivery::Show;
        };
        let allowed = notice
            .sender
            .as_ref()
            .is_some_and(|s| person.preferences.breakthrough.contains(s));
        if notice.urgent && allowed {
            Delivery::BreakThrough { why }
        } else {
            Delivery::Hold { why }
        }
    }

    /// What a direct call to this person does now.
    pub fn direct_call(&self, person: &Person, now: Timestamp) -> CallOutcome {
        let settings = &person.preferences.call;
        let working = person
            .preferences
            .schedule
            .as_ref()
            .is_none_or(|s| s.is_working(now));
        let status = self.resolve(person, now).winner.status;
        let policy = self.policy_of(person, &status);
        if !working && policy.direct_call != DirectCallPolicy::ForwardToPhone {
            return CallOutcome::OutOfHours {
                action: settings
                    .out_of_hours
                    .clone()
                    .unwrap_or_else(|| settings.busy_action.clone()),
            };
        }
        match policy.direct_call {
            DirectCallPolicy::Ring => CallOutcome::Ring,
            DirectCallPolicy::BusyAction => CallOutcome::Busy {
                action: settings.busy_action.clone(),
            },
            DirectCallPolicy::Voicemail => CallOutcome::Voicemail,
            DirectCallPolicy::ForwardToPhone => match &settings.forward_to {
                Some(to) => CallOutcome::Forward { to: to.clone() },
                None => CallOutcome::Ring,
            },
        }
    }

    /// Whether a team call rings this person: routable status, not holding notifications.
    pub fn rings_for_team_call(&self, person: &Person, now: Timestamp) -> bool {
        let status = self.resolve(person, now).winner.status;
        let policy = self.policy_of(person, &status);
        policy.team_calls && policy.notifications == NotificationPolicy::Deliver
    }

    /// The members a team call rings, in the order given.
    pub fn team_call<'a>(
        &self,
        members: impl IntoIterator<Item = (&'a UserId, &'a Person)>,
        now: Timestamp,
    ) -> Vec<UserId> {
        members
            .into_iter()
            .filter(|(_, p)| self.rings_for_team_call(p, now))
            .map(|(u, _)| u.clone())
            .collect()
    }

    /// Whether the person may receive an auto-assigned contact: online (a device connected) and
    /// in an assignable status.
    pub fn assignable(&self, person: &Person, now: Timestamp) -> bool {
        let r = self.resolve(person, now);
        r.winner.source != ClaimSource::NoDevice
            && self.policy_of(person, &r.winner.status).assignable
    }

    /// The next contact goes to the assignable candidate who waited longest since their last
    /// assignment (never assigned first; ties by user id, so the order is stable).
    pub fn next_assignee(
        &self,
        candidates: &[AssignmentCandidate<'_>],
        now: Timestamp,
    ) -> Option<UserId> {
        candidates
            .iter()
            .filter(|c| self.assignable(c.person, now))
            .min_by(|a, b| (a.last_assigned, a.user).cmp(&(b.last_assigned, b.user)))
            .map(|c| c.user.clone())
    }
}
