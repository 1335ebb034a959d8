//! What presence drives beyond the panel: integrations' calls, meetings and wrap-up, whom a
//! team call rings, what a direct call does, and who gets the next contact.

use super::App;
use crate::error::AppError;
use presence::{Activity, AssignmentCandidate, CallOutcome, ExternalId, Timestamp, UserId};
use protocol::rest::IntegrationKind;

impl App {
    /// An integration event (call, meeting, wrap-up), applied once per caller id. A start sent
    /// again renews the call or meeting while it goes on (a later end, or the bound from now);
    /// one that ended stays ended. Returns whether it applied for the first time, and when the
    /// call or meeting it started ends by itself (none: not going on, or not a start).
    pub async fn integration_event(
        &self,
        org: &str,
        user: &str,
        kind: IntegrationKind,
        external_id: &str,
        until: Option<Timestamp>,
    ) -> Result<(bool, Option<Timestamp>), AppError> {
        let slot = self.user_in_org(org, user)?;
        if !slot.active {
            return Err(AppError::conflict(format!(
                "{} is deactivated: nothing was applied",
                slot.email
            )));
        }
        let ext = ExternalId::parse(external_id.to_string())?;
        let started = match kind {
            IntegrationKind::CallStarted => Some(Activity::Call),
            IntegrationKind::MeetingStarted => Some(Activity::Meeting),
            _ => None,
        };
        // Claimed first, so that of concurrent identical events one applies and says so.
        if !self
            .db
            .record_event(
                org,
                ext.as_str(),
                kind.as_str(),
                slot.id.as_str(),
                self.clock.now().0,
            )
            .await?
        {
            let Some(activity) = started else {
                return Ok((false, None));
            };
            let end = self
                .mutate(&slot.id, None, move |p, rules, now| {
                    Ok(p.renew_activity(rules, now, activity, &ext, until)?)
                })
                .await?
                .flatten();
            return Ok((false, end));
        }
        let ext2 = ext.clone();
        let applied = self
            .mutate(&slot.id, None, move |p, rules, now| {
                match kind {
                    IntegrationKind::CallStarted => {
                        p.start_activity(rules, now, Activity::Call, ext2.clone(), until)?;
                    }
                    IntegrationKind::MeetingStarted => {
                        p.start_activity(rules, now, Activity::Meeting, ext2.clone(), until)?;
                    }
                    IntegrationKind::CallEnded => p.end_activity(rules, now, Activity::Call, &ext2),
                    IntegrationKind::MeetingEnded => {
                        p.end_activity(rules, now, Activity::Meeting, &ext2)
                    }
                    IntegrationKind::WrapUpClosed => p.close_wrap_up(rules, now, Some(&ext2)),
                }
                Ok(started.and_then(|a| p.activity_end(a, &ext2)))
            })
            .await;
        match applied {
            Ok(end) => Ok((true, end.flatten())),
            Err(e) => {
                self.db
                    .forget_event(org, ext.as_str(), kind.as_str())
                    .await?;
                Err(e)
            }
        }
    }

    pub async fn team_call(&self, org: &str, team: &str) -> Result<Vec<UserId>, AppError> {
        let team = self.team_in_org(org, team)?;
        let rules = self.rules(org)?;
        if !rules.policy.routing {
            return Err(AppError::conflict(
                "routing is turned off for this organisation: an administrator can turn it on (PUT /admin/policy {\"routing\": true})",
            ));
        }
        let mut people = Vec::new();
        // A deactivated person is never rung, whatever their state says.
        for slot in team.members.iter().filter_map(|m| self.slot(m)) {
            if slot.active {
                people.push((slot.id.clone(), self.person(&slot).await));
            }
        }
        Ok(rules.team_call(people.iter().map(|(u, p)| (u, p)), self.clock.now()))
    }

    pub async fn direct_call(&self, org: &str, user: &str) -> Result<CallOutcome, AppError> {
        let slot = self.user_in_org(org, user)?;
        let rules = self.rules(org)?;
        let person = self.person(&slot).await;
        Ok(rules.direct_call(&person, self.clock.now()))
    }

    /// The next contact for a team: the assignable member who waited longest. Recorded, so
    /// the next call picks someone else.
    pub async fn assign(&self, org: &str, team: &str) -> Result<Option<UserId>, AppError> {
        let team = self.team_in_org(org, team)?;
        let rules = self.rules(org)?;
        if !rules.policy.routing {
            return Err(AppError::conflict(
                "routing is turned off for this organisation: an administrator can turn it on (PUT /admin/policy {\"routing\": true})",
            ));
        }
        let _one_at_a_time = self.assign_lock.lock().await;
        let mut people = Vec::new();
        // A deactivated person is never assigned.
        for slot in team.members.iter().filter_map(|m| self.slot(m)) {
            if slot.active {
                let st = slot.state.lock().await;
                people.push((
                    slot.id.clone(),
                    st.person.clone(),
                    st.last_assigned.map(Timestamp),
                ));
            }
        }
        let now = self.clock.now();
        let candidates: Vec<AssignmentCandidate<'_>> = people
            .iter()
            .map(|(u, p, l)| AssignmentCandidate {
                user: u,
                person: p,
                last_assigned: *l,
            })
            .collect();
        let chosen = rules.next_assignee(&candidates, now);
        if let Some(u) = &chosen {
            self.db.set_last_assigned(u.as_str(), now.0).await?;
            if let Some(slot) = self.slot(u) {
                slot.state.lock().await.last_assigned = Some(now.0);
            }
        }
        Ok(chosen)
    }
}
