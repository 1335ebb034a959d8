//! An organisation's rules (its catalog and timeouts) and the resolution of a person's claims
//! into the one status that shows.

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, StatusEntry, StatusId, StatusPolicy};
use crate::claims::{priority, rank, ClaimId, ClaimSource};
use crate::ids::DeviceId;
use crate::person::Person;
use crate::time::{Span, Timestamp};

/// The organisation's timeouts.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPolicy {
    /// Idle for this long on every device → Away.
    pub idle_after: Span,
    /// Idle for this long on every device → Offline (the contact-center inactivity timeout).
    pub offline_after: Option<Span>,
    /// A device that has not reported for this long is gone.
    pub device_lease: Span,
    /// After a call, After call work for at most this long (until the wrap-up is closed).
    pub after_call_work: Option<Span>,
    /// Away when every device is idle or locked. Off: idle and lock change nothing (an
    /// inactivity timeout, when set, still applies).
    #[serde(default = "yes")]
    pub auto_away: bool,
    /// Status-driven routing (team calls, contact assignment) for the organisation.
    #[serde(default = "yes")]
    pub routing: bool,
}

fn yes() -> bool {
    true
}

impl Default for OrgPolicy {
    fn default() -> Self {
        OrgPolicy {
            idle_after: Span::minutes(5),
            offline_after: None,
            device_lease: Span::seconds(90),
            after_call_work: None,
            auto_away: true,
            routing: true,
        }
    }
}

/// Everything organisation-wide that the engine reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Rules {
    pub catalog: Catalog,
    pub policy: OrgPolicy,
}

impl Rules {
    /// A status as this person sees it: the organisation's catalog and their own statuses.
    pub fn status_entry(&self, person: &Person, id: &StatusId) -> Option<StatusEntry> {
        self.catalog.entry_for(&person.preferences.statuses, id)
    }

    /// The policy of a status for this person (Busy's for a status that no longer exists).
    pub fn policy_of(&self, person: &Person, id: &StatusId) -> StatusPolicy {
        self.catalog.policy_for(&person.preferences.statuses, id)
    }

    pub fn label_of(&self, person: &Person, id: &StatusId) -> String {
        self.catalog.label_for(&person.preferences.statuses, id)
    }

    /// What this person may pick from the dropdown or the tray: the organisation's statuses,
    /// then their own.
    pub fn selectable(&self, person: &Person) -> Vec<StatusEntry> {
        self.catalog.selectable_for(&person.preferences.statuses)
    }
}

/// Where a candidate stands in the stack.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Shows.
    Winner,
    /// Would show if everything above it ended.
    Below,
    /// A personal choice under a more recent personal choice; back when that one ends.
    Nested,
    /// Held back while no device is connected; back when one is.
    Suspended,
}

/// One entry of the resolved stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub source: ClaimSource,
    pub status: StatusId,
    pub priority: u8,
    pub since: Timestamp,
    pub until: Option<Timestamp>,
    pub device: Option<DeviceId>,
    pub claim: Option<ClaimId>,
    pub standing: Standing,
}

/// The whole stack at one instant, winner first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub winner: Candidate,
    pub stack: Vec<Candidate>,
    /// The top personal choice is Invisible: teammates see Offline, whatever wins.
    pub invisible_since: Option<Timestamp>,
}

impl Rules {
    pub fn idle_after(&self, person: &Person) -> Span {
        person
            .preferences
            .idle_after
            .unwrap_or(self.policy.idle_after)
    }

    /// Whether idle and lock make this person Away: the organisation allows it and the person
    /// has not turned it off.
    pub fn auto_away(&self, person: &Person) -> bool {
        self.policy.auto_away && person.preferences.auto_away
    }

    /// Resolves a person's claims at `now`. Claims whose end has come are ignored even before
    /// [`Person::settle`] removes them, so a view is never out of date.
    pub fn resolve(&self, person: &Person, now: Timestamp) -> Resolution {
        let mut all: Vec<Candidate> = Vec::new();
        let live: Vec<(&DeviceId, &crate::device::DeviceState)> = person
            .devices
            .iter()
            .filter(|(_, d)| d.is_live(now))
            .collect();

        // Stored claims. Personal ones form their own stack: the most recent shows.
        let mut personal_top: Option<(Timestamp, ClaimId)> = None;
        for c in person.claims.iter().filter(|c| c.is_active(now)) {
            if c.device
                .as_ref()
                .is_some_and(|d| !live.iter().any(|(id, _)| *id == d))
            {
                continue;
            }
            if c.source.is_personal() && personal_top.is_none_or(|t| (c.since, c.id) > t) {
                personal_top = Some((c.since, c.id));
            }
            all.push(Candidate {
                source: c.source,
                status: c.status.clone(),
                priority: priority(c.source, &c.status),
                since: c.since,
                until: c.until,
                device: c.device.clone(),
                claim: Some(c.id),
                standing: Standing::Below,
            });
        }
        for c in all.iter_mut() {
            if c.source.is_personal() && c.claim != personal_top.map(|t| t.1) {
                c.standing = Standing::Nested;
            }
        }
        let invisible_since = all
            .iter()
            .find(|c| {
                c.source.is_personal()
                    && c.standing != Standing::Nested
                    && c.status == StatusId::INVISIBLE
            })
            .map(|c| c.since);

        // Calls reported by devices.
        for (id, d) in &live {
            if let Some(since) = d.in_call_since {
                all.push(derived(
                    ClaimSource::Call,
                    StatusId::ON_A_CALL,
                    since,
                    None,
                    Some((*id).clone()),
                ));
            }
        }

        // Idle and inactivity: only when every live device is away.
        let idle_after = self.idle_after(person);
        if !live.is_empty() {
            let away: Option<Vec<Timestamp>> =
                live.iter().map(|(_, d)| d.away_from(idle_after)).collect();
            if let Some(away) = away {
                let away_from = away.into_iter().max().unwrap_or(now);
                if away_from <= now && self.auto_away(person) {
                    all.push(derived(
                        ClaimSource::Idle,
                        StatusId::AWAY,
                        away_from,
                        None,
                        None,
                    ));
                }
                if let Some(off) = self.policy.offline_after {
                    let last = live
                        .iter()
                        .map(|(_, d)| d.last_activity())
                        .max()
                        .unwrap_or(now);
                    let offline_from = last.plus(off).max(away_from);
                    if offline_from <= now {
                        all.push(derived(
                            ClaimSource::Inactivity,
                            StatusId::OFFLINE,
                            offline_from,
                            None,
                            None,
                        ));
                    }
                }
            }
        }

        // The do-not-disturb schedule, unless skipped by choosing Available.
        if let Some((start, end)) = person
            .preferences
            .schedule
            .as_ref()
            .and_then(|s| s.dnd(now))
        {
            if person.schedule_skipped_until.is_none_or(|u| u <= now) {
                all.push(derived(
                    ClaimSource::Schedule,
                    StatusId::DND,
                    start,
                    Some(end),
                    None,
                ));
            }
        }

        if let Some(o) = person
            .preferences
            .out_of_office
            .as_ref()
            .filter(|o| o.is_active(now))
        {
            all.push(derived(
                ClaimSource::OutOfOffice,
                StatusId::OUT_OF_OFFICE,
                o.from,
                Some(o.until),
                None,
            ));
        }

        // The calendar: the meeting or out of office going on now (several at once: the latest
        // started shows, out of office above a meeting).
        for s in person
            .calendar
            .iter()
            .filter(|s| s.start <= now && now < s.end)
        {
            let status = if s.out_of_office {
                StatusId::OUT_OF_OFFICE
            } else {
                StatusId::IN_A_MEETING
            };
            all.push(derived(
                ClaimSource::Calendar,
                status,
                s.start,
                Some(s.end),
                None,
            ));
        }

        if live.is_empty() {
            // No device: Offline, except what needs no device (an administrator's status, a
            // call on a desk phone reported by the phone system, out of office).
            let gone = person.devices.values().filter_map(|d| d.gone_at).max();
            for c in all.iter_mut() {
                let needs_device = !(c.source == ClaimSource::Admin
                    || c.source == ClaimSource::OutOfOffice
                    || (c.source == ClaimSource::Calendar && c.status == StatusId::OUT_OF_OFFICE)
                    || (c.source == ClaimSource::Call && c.device.is_none()));
                if needs_device && c.standing != Standing::Nested {
                    c.standing = Standing::Suspended;
                }
            }
            all.push(derived(
                ClaimSource::NoDevice,
                StatusId::OFFLINE,
                gone.unwrap_or(Timestamp(0)),
                None,
                None,
            ));
        } else {
            let since = live
                .iter()
                .map(|(_, d)| d.last_report_at)
                .min()
                .unwrap_or(now);
            all.push(derived(
                ClaimSource::Automatic,
                StatusId::AVAILABLE,
                since,
                None,
                None,
            ));
        }

        all.sort_by(|a, b| {
            let ka = (competes(a), rank(a.source, &a.status, a.since, a.claim));
            let kb = (competes(b), rank(b.source, &b.status, b.since, b.claim));
            kb.cmp(&ka)
        });
        let mut winner = all[0].clone();
        winner.standing = Standing::Winner;
        all[0].standing = Standing::Winner;
        Resolution {
            winner,
            stack: all,
            invisible_since,
        }
    }
}

fn competes(c: &Candidate) -> bool {
    c.standing == Standing::Below
}

fn derived(
    source: ClaimSource,
    status: StatusId,
    since: Timestamp,
    until: Option<Timestamp>,
    device: Option<DeviceId>,
) -> Candidate {
    Candidate {
        priority: priority(source, &status),
        source,
        status,
        since,
        until,
        device,
        claim: None,
        standing: Standing::Below,
    }
}
