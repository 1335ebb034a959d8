//! Organisations and teams, and the rules each organisation sets (catalog, policy, quiet hours).

use super::{checked_name, App, OrgEntry};
use crate::auth;
use crate::db::OrgRow;
use crate::error::AppError;
use presence::{
    CustomStatus, CustomStatusId, Emoji, OrgPolicy, PolicyOverrides, Rules, Schedule, Span,
    StatusName, UserId, WeeklyWindow,
};
use protocol::rest::{CustomStatusRequest, PolicyRequest};
use std::sync::Arc;

impl App {
    pub async fn create_org(&self, name: &str) -> Result<OrgRow, AppError> {
        let name = checked_name(name, "organisation name")?;
        let row = self
            .db
            .create_org(&auth::new_id("o"), &name, self.clock.now().0)
            .await?;
        self.reload().await?;
        self.org_changed(&row.id);
        Ok(row)
    }

    pub async fn create_team(&self, org: &str, name: &str) -> Result<String, AppError> {
        self.org(org)?;
        let name = checked_name(name, "team name")?;
        let id = auth::new_id("t");
        self.db
            .create_team(&id, org, &name, self.clock.now().0)
            .await?;
        self.reload().await?;
        self.org_changed(org);
        Ok(id)
    }

    /// Changes an organisation's rules (catalog, timeouts, quiet hours) and re-evaluates
    /// everyone in it under the new rules.
    pub async fn update_org(
        &self,
        org: &str,
        change: impl FnOnce(&mut OrgRow) -> Result<(), AppError>,
    ) -> Result<OrgRow, AppError> {
        let mut row = self.org(org)?.row.clone();
        let old_quiet = row.quiet_hours.clone();
        change(&mut row)?;
        self.db.save_org_rules(&row).await?;
        let rules = Arc::new(Rules {
            catalog: row.catalog.clone(),
            policy: row.policy.clone(),
        });
        self.orgs.write().expect("orgs lock").insert(
            org.to_string(),
            Arc::new(OrgEntry {
                row: row.clone(),
                rules,
            }),
        );
        let members: Vec<UserId> = self
            .users
            .read()
            .expect("users lock")
            .values()
            .filter(|s| s.org == org)
            .map(|s| s.id.clone())
            .collect();
        let quiet = row.quiet_hours.clone();
        for m in members {
            let (old_quiet, quiet) = (old_quiet.clone(), quiet.clone());
            self.mutate(&m, None, move |p, rules, now| {
                // Org default quiet hours apply to people who kept the previous default.
                let own = p.preferences.schedule.as_ref().map(|s| &s.quiet_hours);
                if quiet != old_quiet && own.is_none_or(|q| *q == old_quiet) {
                    let mut prefs = p.preferences.clone();
                    let mut s = prefs
                        .schedule
                        .take()
                        .unwrap_or_else(|| Schedule::new(prefs.time_zone));
                    s.quiet_hours = quiet;
                    prefs.schedule = Some(s);
                    p.set_preferences(rules, now, prefs);
                } else {
                    p.settle(rules, now);
                }
                Ok(())
            })
            .await?;
        }
        self.org_changed(org);
        Ok(row)
    }

    /// Every organisation, by name.
    pub fn orgs(&self) -> Vec<OrgRow> {
        let mut v: Vec<OrgRow> = self
            .orgs
            .read()
            .expect("orgs lock")
            .values()
            .map(|o| o.row.clone())
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Adds an organisation's own status. Its id is made from the name when not given.
    pub async fn create_custom_status(
        &self,
        org: &str,
        request: CustomStatusRequest,
    ) -> Result<CustomStatus, AppError> {
        let id = request.id.clone().unwrap_or_else(|| slug(&request.name));
        let status = custom_status(&id, request)?;
        let created = status.clone();
        self.update_org(org, move |org| {
            if org.catalog.custom.iter().any(|c| c.id == status.id) {
                return Err(AppError::conflict(format!(
                    "a custom status \"{}\" exists already: change it with PUT",
                    status.id.as_str()
                )));
            }
            if org.catalog.custom.len() >= MAX_CUSTOM_STATUSES {
                return Err(AppError::invalid(format!(
                    "at most {MAX_CUSTOM_STATUSES} custom statuses per organisation"
                )));
            }
            org.catalog.custom.push(status);
            Ok(())
        })
        .await?;
        Ok(created)
    }

    pub async fn update_custom_status(
        &self,
        org: &str,
        id: &str,
        request: CustomStatusRequest,
    ) -> Result<CustomStatus, AppError> {
        let status = custom_status(id, request)?;
        let updated = status.clone();
        let id = id.to_string();
        self.update_org(org, move |org| {
            let slot = org
                .catalog
                .custom
                .iter_mut()
                .find(|c| c.id == status.id)
                .ok_or_else(|| AppError::not_found(format!("no custom status \"{id}\"")))?;
            *slot = status;
            Ok(())
        })
        .await?;
        Ok(updated)
    }

    /// Changes the organisation's timeouts (each 10 s to 7 days; Offline after longer than Away
    /// after).
    pub async fn set_policy(
        &self,
        org: &str,
        request: PolicyRequest,
    ) -> Result<OrgPolicy, AppError> {
        let check = |secs: i64, what: &str| {
            if (10..=7 * 24 * 3600).contains(&secs) {
                Ok(Span::seconds(secs))
            } else {
                Err(AppError::invalid(format!(
                    "{what} must be between 10 seconds and 7 days"
                )))
            }
        };
        let idle = request
            .idle_after_secs
            .map(|s| check(s, "idle_after_secs"))
            .transpose()?;
        let offline = request
            .offline_after_secs
            .map(|o| o.map(|s| check(s, "offline_after_secs")).transpose())
            .transpose()?;
        let acw = request
            .after_call_work_secs
            .map(|o| o.map(|s| check(s, "after_call_work_secs")).transpose())
            .transpose()?;
        let row = self
            .update_org(org, move |org| {
                if let Some(i) = idle {
                    org.policy.idle_after = i;
                }
                if let Some(o) = offline {
                    org.policy.offline_after = o;
                }
                if let Some(w) = acw {
                    org.policy.after_call_work = w;
                }
                if let Some(off) = org.policy.offline_after {
                    if off <= org.policy.idle_after {
                        return Err(AppError::invalid(
                            "offline_after_secs must be longer than idle_after_secs",
                        ));
                    }
                }
                Ok(())
            })
            .await?;
        Ok(row.policy)
    }

    /// The organisation's default quiet hours (at most 14 windows), for everyone who kept them.
    pub async fn set_quiet_hours(
        &self,
        org: &str,
        windows: Vec<WeeklyWindow>,
    ) -> Result<Vec<WeeklyWindow>, AppError> {
        if windows.len() > MAX_QUIET_WINDOWS {
            return Err(AppError::invalid(format!(
                "at most {MAX_QUIET_WINDOWS} quiet-hour windows"
            )));
        }
        let row = self
            .update_org(org, move |org| {
                org.quiet_hours = windows;
                Ok(())
            })
            .await?;
        Ok(row.quiet_hours)
    }
}

pub const MAX_CUSTOM_STATUSES: usize = 50;
pub const MAX_QUIET_WINDOWS: usize = 14;

fn custom_status(id: &str, request: CustomStatusRequest) -> Result<CustomStatus, AppError> {
    Ok(CustomStatus::in_family(
        CustomStatusId::parse(id.to_string())?,
        StatusName::parse(request.name)?,
        request.emoji.map(Emoji::parse).transpose()?,
        request.enabled,
        request.family,
        PolicyOverrides {
            notifications: request.notifications,
            direct_call: request.direct_call,
            team_calls: request.team_calls,
            assignable: request.assignable,
        },
    )?)
}

/// An id from a status name: lower-case letters and digits, the rest as dashes.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "status".into()
    } else {
        s.chars().take(40).collect()
    }
}
