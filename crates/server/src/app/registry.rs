//! People's presence in memory and the one write path. Each change to a person goes through
//! [`App::mutate`]: the engine applies it to a copy, the copy is stored, and only then does it
//! become the state in memory and are the views that changed published. A refused or failed
//! change leaves both the database and memory as they were.

use super::{frame, App, Slot, SlotState};
use crate::broker::Event;
use crate::error::AppError;
use presence::{DeviceId, Person, Preferences, Rules, SelfView, Span, TeamView, Timestamp, UserId};
use protocol::rest::AdminStatus;
use protocol::{Member, RequestId, ServerMessage};
use std::sync::Arc;

/// How many applied request ids are remembered per person (an outbox replays fewer).
const REMEMBERED_REQUESTS: usize = 200;

/// How many times a change is applied again onto what another node stored meanwhile.
pub(super) const CONFLICT_RETRIES: usize = 50;

impl App {
    /// Applies a change to one person. With a request id already applied, changes nothing and
    /// returns `None` (an outbox replay). The change is stored before it is visible, and only
    /// onto the version it was applied to: when another node stored this person since, the
    /// stored state is read again and the change applied to it instead (so `change` may run more
    /// than once, each time on a fresh copy; only the stored run counts).
    pub async fn mutate<R>(
        &self,
        user: &UserId,
        request: Option<&RequestId>,
        mut change: impl FnMut(&mut Person, &Rules, Timestamp) -> Result<R, AppError>,
    ) -> Result<Option<R>, AppError> {
        let started = std::time::Instant::now();
        let slot = self
            .slot(user)
            .ok_or_else(|| AppError::not_found("no such user"))?;
        let rules = self.rules(&slot.org)?;
        let mut st = slot.state.lock().await;
        for _ in 0..CONFLICT_RETRIES {
            if let Some(r) = request {
                if st.applied.contains(&r.0) {
                    return Ok(None);
                }
            }
            let now = self.clock.now();
            let mut person = st.person.clone();
            let out = change(&mut person, &rules, now)?;
            let mut applied = st.applied.clone();
            if let Some(r) = request {
                applied.push(r.0.clone());
                let extra = applied.len().saturating_sub(REMEMBERED_REQUESTS);
                applied.drain(..extra);
            }
            let deadline = next_wakeup(&person, &rules, now);
            let stored_deadline = deadline.map(|t| t.0);
            let stored = person != st.person
                || applied != st.applied
                || stored_deadline != st.stored_deadline;
            if stored {
                let Some(version) = self
                    .db
                    .save_state(
                        user.as_str(),
                        &person,
                        &applied,
                        stored_deadline,
                        st.version,
                    )
                    .await?
                else {
                    self.reread(&slot, &mut st, &rules).await?;
                    continue;
                };
                self.tell_stored(user, &st, version, &person, request, stored_deadline);
                st.person = person;
                st.applied = applied;
                st.stored_at = now;
                st.version = version;
                st.stored_deadline = stored_deadline;
            }
            self.publish_views(&slot, &mut st, &rules, now);
            let _ = self.timers.send((user.clone(), deadline));
            if stored {
                self.metrics
                    .change_seconds
                    .observe(started.elapsed().as_secs_f64());
            }
            return Ok(Some(out));
        }
        Err(AppError::internal(format!(
            "{} was changed {CONFLICT_RETRIES} times elsewhere while this change was being stored: nothing was changed; try again",
            slot.email
        )))
    }

    /// Reads a person's stored state again (another node stored a newer version), with the
    /// views of it: the node that stored it published those, so they are not published here.
    pub(super) async fn reread(
        &self,
        slot: &Slot,
        st: &mut SlotState,
        rules: &Rules,
    ) -> Result<(), AppError> {
        let (person, applied, version, stored_deadline) = self
            .db
            .user_state(slot.id.as_str())
            .await?
            .ok_or_else(|| AppError::not_found("the person was just removed"))?;
        let now = self.clock.now();
        slot.show(&rules.team_view(&person, now), person.preferences.time_zone);
        st.self_view = rules.self_view(&person, now);
        st.person = person;
        st.applied = applied;
        st.version = version;
        st.stored_deadline = stored_deadline;
        // `stored_at` stays when this node last stored its own devices' renewals: what was
        // just read holds those leases as of then, so the next store is still due half a
        // lease after that (a later time here would let a live device's stored lease lapse).
        Ok(())
    }

    /// After a break on the broker (events from other nodes may be lost): reads again everyone
    /// another node stored meanwhile, reloads the organisations, and sends every connection
    /// here a fresh team snapshot and self view, so what people see converges.
    pub(crate) async fn catch_up(&self) -> Result<(), AppError> {
        self.reload().await?;
        for (user, version) in self.db.versions().await? {
            if let Ok(user) = UserId::parse(user) {
                self.refresh(&user, version).await?;
            }
        }
        for slot in self.roster.slots(|_| true) {
            if self.hub.devices_of(&slot.id).is_empty() {
                continue;
            }
            let snapshot = self.team_snapshot(&slot.id);
            let view = self.self_view(&slot).await;
            for m in [snapshot, ServerMessage::SelfUpdate { view }] {
                self.hub.deliver(&Event::User {
                    user: slot.id.clone(),
                    frame: frame(&m),
                    notification: None,
                    version: None,
                });
            }
        }
        // Notifications made on another node while events did not cross: each connection sends
        // what it has not sent yet.
        self.hub.resync_all();
        tracing::info!("caught up with the other nodes");
        Ok(())
    }

    /// Another node stored `user` at `version`: read it when this node's copy is older, so what
    /// this node shows and decides follows. Views are not published again (that node did).
    pub(crate) async fn refresh(&self, user: &UserId, version: i64) -> Result<(), AppError> {
        let Some(slot) = self.slot(user) else {
            return Ok(());
        };
        let rules = self.rules(&slot.org)?;
        let mut st = slot.state.lock().await;
        if st.version >= version {
            return Ok(());
        }
        self.reread(&slot, &mut st, &rules).await?;
        let now = self.clock.now();
        let _ = self
            .timers
            .send((user.clone(), next_wakeup(&st.person, &rules, now)));
        Ok(())
    }

    /// Settles a person this node claimed as due (see [`crate::db::Db::claim_due`]): reads them
    /// first when another node stored a newer version, settles, and releases the claim with
    /// when they next need looking at (settling stores and so releases it when anything changed).
    pub(crate) async fn settle_claimed(&self, user: &UserId, version: i64) -> Result<(), AppError> {
        self.refresh(user, version).await?;
        self.mutate(user, None, |p, rules, now| {
            p.settle(rules, now);
            Ok(())
        })
        .await?;
        let slot = self
            .slot(user)
            .ok_or_else(|| AppError::not_found("no such user"))?;
        let rules = self.rules(&slot.org)?;
        let st = slot.state.lock().await;
        if st.version == version {
            // Nothing was stored since the claim (which a store would have ended).
            let deadline = next_wakeup(&st.person, &rules, self.clock.now()).map(|t| t.0);
            self.db
                .release_due(user.as_str(), deadline, version)
                .await?;
        }
        Ok(())
    }

    /// Tells the other nodes what was just stored onto `st` (see [`Event::Stored`]).
    pub(super) fn tell_stored(
        &self,
        user: &UserId,
        st: &SlotState,
        version: i64,
        person: &Person,
        request: Option<&RequestId>,
        deadline: Option<i64>,
    ) {
        if self.broker.between_nodes() {
            self.broker.publish(Event::Stored {
                user: user.clone(),
                version,
                after: st.version,
                person: Box::new(person.clone()),
                applied: request.map(|r| r.0.clone()),
                deadline,
            });
        }
    }

    /// Another node stored `user` at `version` onto `after`: a copy at `after` takes it as it
    /// is; one further behind reads the person again; a newer one keeps what it has.
    pub(crate) async fn adopt(
        &self,
        user: &UserId,
        version: i64,
        after: i64,
        person: Person,
        applied: Option<String>,
        deadline: Option<i64>,
    ) -> Result<(), AppError> {
        let Some(slot) = self.slot(user) else {
            return Ok(());
        };
        let rules = self.rules(&slot.org)?;
        let mut st = slot.state.lock().await;
        if st.version >= version {
            return Ok(());
        }
        // A store moves the version by exactly one: anything else from the bus (a node that
        // fell behind, or an event nobody stored) is taken from the database, not believed.
        if st.version != after || version != after + 1 {
            drop(st);
            return self.refresh(user, version).await;
        }
        let now = self.clock.now();
        if let Some(r) = applied {
            st.applied.push(r);
            let extra = st.applied.len().saturating_sub(REMEMBERED_REQUESTS);
            st.applied.drain(..extra);
        }
        slot.show(&rules.team_view(&person, now), person.preferences.time_zone);
        st.self_view = rules.self_view(&person, now);
        st.person = person;
        st.version = version;
        st.stored_deadline = deadline;
        let _ = self
            .timers
            .send((user.clone(), next_wakeup(&st.person, &rules, now)));
        Ok(())
    }

    pub(super) fn publish_views(
        &self,
        slot: &Slot,
        st: &mut SlotState,
        rules: &Rules,
        now: Timestamp,
    ) {
        let team_view = rules.team_view(&st.person, now);
        if let Some(before) = slot.show(&team_view, st.person.preferences.time_zone) {
            // Someone waits to be told this person is Available: they are now.
            if team_view.status.family == presence::Family::Available
                && before.status.family != presence::Family::Available
                && self.awaited.read().is_ok_and(|a| a.contains(&slot.id))
            {
                let _ = self.became_available.send(slot.id.clone());
            }
            self.metrics.changes.inc();
            self.webhooks.emit(
                &slot.org,
                protocol::rest::WebhookEvent::StatusChanged,
                now.0,
                || {
                    serde_json::json!({"user": slot.id, "email": slot.email, "name": slot.name, "view": team_view})
                },
            );
            self.broker.publish(Event::Presence {
                user: slot.id.clone(),
                frame: frame(&ServerMessage::PresenceDelta {
                    user: slot.id.clone(),
                    view: team_view,
                }),
                version: st.version,
            });
        }
        let self_view = rules.self_view(&st.person, now);
        if self_view != st.self_view {
            st.self_view = self_view.clone();
            self.broker.publish(Event::User {
                user: slot.id.clone(),
                frame: frame(&ServerMessage::SelfUpdate { view: self_view }),
                notification: None,
                version: Some(st.version),
            });
        }
    }

    /// A person's own change from one of their devices, applied once per request id. Request
    /// ids are the device's own: a person's devices share one list of applied requests, so the
    /// id is kept with the device's.
    pub async fn change(
        &self,
        user: &UserId,
        device: &DeviceId,
        request: &RequestId,
        change: presence::Change,
    ) -> Result<(), AppError> {
        let scoped = RequestId(format!("{}/{}", device.as_str(), request.0));
        self.mutate(user, Some(&scoped), move |p, rules, now| {
            p.apply(rules, now, change.clone()).map_err(AppError::from)
        })
        .await
        .map(|_| ())
    }

    /// A device's report (active, idle, locked, in a call), with the name and platform it signed
    /// in with, and what the engine made of it (a stale report is ignored, and said so). Always
    /// `Some`: a report carries no request id, so it is never a replay.
    pub async fn report_device(
        &self,
        user: &UserId,
        about: &presence::DeviceAbout,
        report: presence::DeviceReport,
    ) -> Result<Option<presence::ReportOutcome>, AppError> {
        let about = about.clone();
        self.mutate(user, None, move |p, rules, now| {
            let outcome = p.report(rules, now, &report);
            // Its name and platform from its sign-in, once it is there to carry them.
            p.describe_device(&report.device, &about);
            Ok(outcome)
        })
        .await
    }

    pub async fn self_view(&self, user: &Slot) -> SelfView {
        user.state.lock().await.self_view.clone()
    }

    pub async fn explain(&self, user: &Slot) -> Result<presence::Explanation, AppError> {
        let rules = self.rules(&user.org)?;
        let st = user.state.lock().await;
        Ok(rules.explain(&st.person, self.clock.now()))
    }

    pub async fn person(&self, user: &Slot) -> Person {
        user.state.lock().await.person.clone()
    }

    /// The user's teammates and favourites as the panel shows them.
    pub fn members(&self, user: &UserId) -> Vec<Member> {
        let mates = self.hub.directory().watched(user);
        let mut out = Vec::with_capacity(mates.len());
        for mate in mates.iter() {
            if let Some(slot) = self.slot(mate) {
                out.push(slot.member());
            }
        }
        out
    }

    /// The user's team snapshot: their teammates, and themselves as teammates see them.
    pub fn team_snapshot(&self, user: &UserId) -> ServerMessage {
        let me = self.slot(user).map(|slot| slot.member());
        ServerMessage::TeamSnapshot {
            members: self.members(user),
            me,
            favourites: self.hub.directory().favourites(user).to_vec(),
        }
    }
}

/// When to look at a person again: the earliest of a stored deadline and a visible change.
pub(super) fn next_wakeup(person: &Person, rules: &Rules, now: Timestamp) -> Option<Timestamp> {
    match (
        person.next_deadline(rules, now),
        person.next_change(rules, now),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The idle threshold a person may set for themselves.
pub const IDLE_AFTER_RANGE: (Span, Span) = Preferences::IDLE_AFTER_RANGE;

impl App {
    /// The person's own settings, within the bounds the server keeps.
    pub async fn set_preferences(
        &self,
        user: &UserId,
        preferences: Preferences,
    ) -> Result<Preferences, AppError> {
        // The engine's rules for a person's settings; what needs the directory follows.
        preferences.check().map_err(AppError::from)?;
        // Everyone and every team named is of the person's own organisation: another
        // organisation's ids are "not found", as everywhere.
        let slot = self
            .slot(user)
            .ok_or_else(|| AppError::not_found("no such person"))?;
        let org = slot.org.clone();
        for u in &preferences.breakthrough {
            self.user_in_org(&org, u.as_str())?;
        }
        let call = &preferences.call;
        for action in std::iter::once(&call.busy_action).chain(call.out_of_hours.as_ref()) {
            match action {
                presence::BusyAction::RedirectUser(u) => {
                    if u == user {
                        return Err(AppError::invalid(
                            "a call cannot be redirected to the person it was for: pick a teammate, a team or a number",
                        ));
                    }
                    self.user_in_org(&org, u.as_str())?;
                }
                presence::BusyAction::RedirectTeam(t) => {
                    self.team_in_org(&org, t.as_str())?;
                }
                _ => {}
            }
        }
        // A period that has ended is over: stored as none (a save of other settings long after
        // a holiday sends it back unchanged).
        let mut preferences = preferences;
        if preferences
            .out_of_office
            .as_ref()
            .is_some_and(|o| o.until <= self.clock.now())
        {
            preferences.out_of_office = None;
        }
        let stored = preferences.clone();
        let before = self.person(&slot).await.preferences.statuses;
        self.mutate(user, None, move |p, rules, now| {
            p.set_preferences(rules, now, preferences.clone());
            Ok(())
        })
        .await?;
        if before != stored.statuses {
            // Every device of the person lists what they may choose again.
            let rules = self.rules(&org)?;
            self.broker.publish(Event::User {
                user: user.clone(),
                frame: frame(&ServerMessage::Statuses {
                    statuses: rules.selectable(&self.person(&slot).await),
                }),
                notification: None,
                version: None,
            });
        }
        Ok(stored)
    }

    /// An administrator forces a status on a person of their organisation (none: lifts it).
    /// Returns what teammates see now.
    pub async fn admin_status(
        &self,
        org: &str,
        user: &str,
        status: Option<AdminStatus>,
    ) -> Result<TeamView, AppError> {
        let slot = self.user_in_org(org, user)?;
        if !slot.active {
            return Err(AppError::conflict(format!(
                "{} is deactivated: a deactivated person is Offline to everyone; reactivate them first",
                slot.email
            )));
        }
        self.mutate(&slot.id, None, move |p, rules, now| match status.clone() {
            Some(s) => p
                .admin_set(rules, now, s.status, s.until)
                .map(|_| ())
                .map_err(AppError::from),
            None => {
                p.admin_clear(rules, now);
                Ok(())
            }
        })
        .await?;
        Ok(self.self_view(&slot).await.seen_by_others)
    }

    /// Everyone in an organisation as a board shows them.
    pub fn board(&self, org: &str) -> Vec<protocol::Member> {
        self.people_of_org(org).iter().map(|s| s.member()).collect()
    }

    /// Makes an administrator's connection a board of their organisation: everyone now, and
    /// every change from now on.
    pub async fn watch_board(
        &self,
        auth: &super::DeviceAuth,
        conn_id: u64,
    ) -> Result<Vec<protocol::Member>, AppError> {
        let slot = self
            .slot(&auth.user.id)
            .unwrap_or_else(|| auth.user.clone());
        if slot.role != crate::db::Role::Admin {
            return Err(AppError::forbidden(
                "only an administrator of the organisation can watch its board",
            ));
        }
        self.hub.watch_board(&slot.org, &slot.id, conn_id);
        Ok(self.board(&slot.org))
    }

    /// A connection's people on screen beyond its teammates and favourites (the directory's
    /// results): those of the person's organisation, now, as teammates see them; from now on
    /// their changes reach the connection too. Anyone else is left out, as if they did not exist.
    pub async fn watch_people(
        &self,
        auth: &super::DeviceAuth,
        conn_id: u64,
        people: Vec<UserId>,
    ) -> Result<Vec<protocol::Member>, AppError> {
        if people.len() > protocol::MAX_WATCHED {
            return Err(AppError::invalid(format!(
                "at most {} people can be watched at once (the results on screen); {} were named",
                protocol::MAX_WATCHED,
                people.len()
            )));
        }
        let me = &auth.user;
        let mut slots: Vec<Arc<Slot>> = Vec::with_capacity(people.len());
        for person in people {
            if person == me.id || slots.iter().any(|s| s.id == person) {
                continue;
            }
            if let Some(slot) = self.slot(&person).filter(|s| s.org == me.org && s.active) {
                slots.push(slot);
            }
        }
        // Watched first, read after: every change from here on reaches the connection as a delta
        // sent after `watching` (the connection sends this answer before its queue), so the
        // client ends with the newest view whichever side of the read a change fell.
        let ids: Vec<UserId> = slots.iter().map(|s| s.id.clone()).collect();
        self.hub.glance(&me.id, conn_id, &ids);
        let mut members = Vec::with_capacity(slots.len());
        for slot in slots {
            members.push(slot.member());
        }
        Ok(members)
    }
}
