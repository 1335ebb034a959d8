//! What integrations report about a person: calls and meetings that start, are renewed and end,
//! the calendar the server read, and the after-call work a call leaves.

use crate::catalog::StatusId;
use crate::claims::{ClaimId, ClaimSource};
use crate::ids::{DeviceId, ExternalId};
use crate::person::{Activity, CalendarSpan, Person};
use crate::rules::Rules;
use crate::time::{Span, Timestamp};
use crate::PresenceError;

impl Person {
    /// The end an integration's call or meeting gets: the one it gave (in the future, at most
    /// [`Activity::LONGEST`] ahead), else [`Activity::BOUND`] from now.
    fn activity_until(
        now: Timestamp,
        until: Option<Timestamp>,
    ) -> Result<Timestamp, PresenceError> {
        Self::check_until(until, now)?;
        match until {
            Some(u) if u > now.plus(Activity::LONGEST) => Err(PresenceError::TooFarAhead {
                hours: Activity::LONGEST.0 / Span::hours(1).0,
            }),
            Some(u) => Ok(u),
            None => Ok(now.plus(Activity::BOUND)),
        }
    }

    /// An integration reports that an activity started, until `until` or for
    /// [`Activity::BOUND`]. Idempotent by `external`: the same activity started again is the same
    /// claim, renewed when the new end is later (never shortened by a late retry).
    pub fn start_activity(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        activity: Activity,
        external: ExternalId,
        until: Option<Timestamp>,
    ) -> Result<ClaimId, PresenceError> {
        let until = Self::activity_until(now, until)?;
        self.settle(rules, now);
        if let Some(id) = self.renew(activity, &external, until) {
            self.record_shown(rules, now);
            return Ok(id);
        }
        let id = self.add_claim(
            activity.source(),
            activity.status(),
            now,
            Some(until),
            None,
            Some(external),
        );
        self.record_shown(rules, now);
        Ok(id)
    }

    /// An integration renews an activity it started (a start sent again): it lasts until the
    /// later of its end and `until` (or [`Activity::BOUND`] from now). One that ended already
    /// stays ended. Returns its end now, or none when it is not going on.
    pub fn renew_activity(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        activity: Activity,
        external: &ExternalId,
        until: Option<Timestamp>,
    ) -> Result<Option<Timestamp>, PresenceError> {
        let until = Self::activity_until(now, until)?;
        self.settle(rules, now);
        if self.renew(activity, external, until).is_none() {
            return Ok(None);
        }
        self.record_shown(rules, now);
        Ok(self.activity_end(activity, external))
    }

    /// When the activity `external` ends by itself, if it is going on.
    pub fn activity_end(&self, activity: Activity, external: &ExternalId) -> Option<Timestamp> {
        let source = activity.source();
        self.claims
            .iter()
            .find(|c| c.source == source && c.external.as_ref() == Some(external))
            .and_then(|c| c.until)
    }

    fn renew(
        &mut self,
        activity: Activity,
        external: &ExternalId,
        until: Timestamp,
    ) -> Option<ClaimId> {
        let source = activity.source();
        let c = self
            .claims
            .iter_mut()
            .find(|c| c.source == source && c.external.as_ref() == Some(external))?;
        // (A claim stored before activities had an end gets one.)
        if c.until.is_none_or(|u| u < until) {
            c.until = Some(until);
        }
        Some(c.id)
    }

    /// What the person's calendar says from now on (the server read it): meetings and out of
    /// office spans, each shown while it lasts unless the person chose a status themselves.
    /// Replaces what was there; ended and empty spans are dropped, at most
    /// [`CalendarSpan::MAX`] kept (the nearest). An empty list: the calendar says nothing (or
    /// is gone), and no meeting of it stays.
    pub fn set_calendar(&mut self, rules: &Rules, now: Timestamp, mut spans: Vec<CalendarSpan>) {
        self.settle(rules, now);
        spans.retain(|s| s.end > now && s.end > s.start);
        spans.sort_by_key(|s| (s.start, s.end, s.out_of_office));
        spans.dedup();
        spans.truncate(CalendarSpan::MAX);
        self.calendar = spans;
        self.record_shown(rules, now);
    }

    /// An integration reports that an activity ended. Idempotent: ending twice does nothing more.
    /// The end of a call starts after-call work when the organisation uses it.
    pub fn end_activity(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        activity: Activity,
        external: &ExternalId,
    ) {
        self.settle(rules, now);
        let source = activity.source();
        let before = self.claims.len();
        self.claims
            .retain(|c| !(c.source == source && c.external.as_ref() == Some(external)));
        if before != self.claims.len() && activity == Activity::Call {
            self.after_call(rules, now, None, Some(external.clone()));
        }
        self.record_shown(rules, now);
    }

    pub(super) fn after_call(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        device: Option<DeviceId>,
        external: Option<ExternalId>,
    ) {
        if let Some(timeout) = rules.policy.after_call_work {
            self.add_claim(
                ClaimSource::AfterCallWork,
                StatusId::AFTER_CALL_WORK,
                now,
                Some(now.plus(timeout)),
                device,
                external,
            );
        }
    }

    /// The person closes the wrap-up: every after-call-work claim ends (or just the one of that
    /// call, when the integration names it).
    pub fn close_wrap_up(&mut self, rules: &Rules, now: Timestamp, external: Option<&ExternalId>) {
        self.claims.retain(|c| {
            !(c.source == ClaimSource::AfterCallWork
                && external.is_none_or(|e| c.external.as_ref() == Some(e)))
        });
        self.settle(rules, now);
    }
}
