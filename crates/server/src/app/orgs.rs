//! Organisations and teams, and the rules each organisation sets (catalog, policy, quiet hours).

use super::{checked_name, Actor, App};
use crate::auth;
use crate::db;
use crate::db::OrgRow;
use crate::error::AppError;
use presence::{
    CustomStatus, CustomStatusId, Emoji, OrgPolicy, PolicyOverrides, Schedule, Span, StatusId,
    StatusName, UserId, WeeklyWindow,
};
use protocol::rest::{self, CustomStatusRequest, PolicyRequest};

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

    /// A new team, made by the server itself; administrators use [`App::create_team_by`].
    pub async fn create_team(&self, org: &str, name: &str) -> Result<String, AppError> {
        self.create_team_by(&super::Actor::system(), org, name)
            .await
    }

    /// Changes an organisation's rules (catalog, timeouts, quiet hours), recorded in the audit
    /// log as `action` with `detail`, and re-evaluates everyone in it under the new rules.
    pub async fn update_org(
        &self,
        actor: &Actor,
        action: &str,
        detail: String,
        org: &str,
        change: impl FnOnce(&mut OrgRow) -> Result<(), AppError>,
    ) -> Result<OrgRow, AppError> {
        let mut row = self.org(org)?.row.clone();
        let (old_quiet, old_dnd) = (row.quiet_hours.clone(), row.do_not_disturb.clone());
        change(&mut row)?;
        self.record(
            org,
            actor,
            action,
            format!("{} \"{}\"", row.id, row.name),
            detail,
            vec![db::set_org_rules(
                to_json(&row.policy),
                to_json(&row.catalog),
                to_json(&row.quiet_hours),
                to_json(&row.do_not_disturb),
                org,
            )],
        )
        .await?;
        let members: Vec<UserId> = self
            .roster
            .slots(|s| s.org == org)
            .iter()
            .map(|s| s.id.clone())
            .collect();
        let (quiet, dnd) = (row.quiet_hours.clone(), row.do_not_disturb.clone());
        for m in members {
            let (old_quiet, quiet) = (old_quiet.clone(), quiet.clone());
            let (old_dnd, dnd) = (old_dnd.clone(), dnd.clone());
            self.mutate(&m, None, move |p, rules, now| {
                // The organisation's default quiet hours and Do not disturb windows apply to
                // people who kept the previous default.
                let own = p.preferences.schedule.as_ref();
                let new_quiet = quiet != old_quiet
                    && own.map(|s| &s.quiet_hours).is_none_or(|q| *q == old_quiet);
                let new_dnd =
                    dnd != old_dnd && own.map(|s| &s.do_not_disturb).is_none_or(|d| *d == old_dnd);
                if new_quiet || new_dnd {
                    let mut prefs = p.preferences.clone();
                    let mut s = prefs
                        .schedule
                        .take()
                        .unwrap_or_else(|| Schedule::new(prefs.time_zone));
                    if new_quiet {
                        s.quiet_hours = quiet.clone();
                    }
                    if new_dnd {
                        s.do_not_disturb = dnd.clone();
                    }
                    prefs.schedule = Some(s);
                    p.set_preferences(rules, now, prefs);
                } else {
                    p.settle(rules, now);
                }
                Ok(())
            })
            .await?;
        }
        Ok(row)
    }

    /// Every organisation, by name.
    pub fn orgs(&self) -> Vec<OrgRow> {
        self.roster.orgs()
    }

    /// Adds an organisation's own status. Its id is made from the name when not given.
    pub async fn create_custom_status(
        &self,
        actor: &Actor,
        org: &str,
        request: CustomStatusRequest,
    ) -> Result<CustomStatus, AppError> {
        let id = request.id.clone().unwrap_or_else(|| slug(&request.name));
        let detail = to_json(&request);
        let status = custom_status(&id, request)?;
        let created = status.clone();
        self.update_org(actor, "status.create", detail, org, move |org| {
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
        actor: &Actor,
        org: &str,
        id: &str,
        request: CustomStatusRequest,
    ) -> Result<CustomStatus, AppError> {
        let detail = format!("{id}: {}", to_json(&request));
        let status = custom_status(id, request)?;
        let updated = status.clone();
        let id = id.to_string();
        self.update_org(actor, "status.update", detail, org, move |org| {
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

    /// Every custom status, the disabled ones too, and which someone has chosen now.
    pub async fn custom_statuses(&self, org: &str) -> Result<rest::CustomStatuses, AppError> {
        let entry = self.org(org)?;
        let mut in_use = Vec::new();
        for status in &entry.row.catalog.custom {
            if self.status_in_use(org, &status.id).await {
                in_use.push(status.id.clone());
            }
        }
        Ok(rest::CustomStatuses {
            statuses: entry.row.catalog.custom.clone(),
            in_use,
        })
    }

    async fn status_in_use(&self, org: &str, id: &CustomStatusId) -> bool {
        let wanted = StatusId::Custom(id.clone());
        for slot in self.people_of_org(org) {
            if slot
                .state
                .lock()
                .await
                .person
                .claims()
                .iter()
                .any(|c| c.status == wanted)
            {
                return true;
            }
        }
        false
    }

    /// Deletes a custom status nobody has chosen (one in use is disabled instead).
    pub async fn delete_custom_status(
        &self,
        actor: &Actor,
        org: &str,
        id: &str,
    ) -> Result<(), AppError> {
        let entry = self.org(org)?;
        let status = entry
            .row
            .catalog
            .custom
            .iter()
            .find(|c| c.id.as_str() == id)
            .ok_or_else(|| {
                AppError::not_found(format!(
                    "no custom status \"{}\"",
                    id.chars().take(80).collect::<String>()
                ))
            })?;
        if self.status_in_use(org, &status.id).await {
            return Err(AppError::conflict(format!(
                "someone has chosen \"{}\" now: disable it instead (enabled: false), and delete it once nobody uses it",
                status.name.as_str()
            )));
        }
        let id = status.id.clone();
        self.update_org(
            actor,
            "status.delete",
            id.as_str().to_string(),
            org,
            move |org| {
                org.catalog.custom.retain(|c| c.id != id);
                Ok(())
            },
        )
        .await?;
        Ok(())
    }

    /// Changes the organisation's timeouts (each 10 s to 7 days; Offline after longer than Away
    /// after).
    pub async fn set_policy(
        &self,
        actor: &Actor,
        org: &str,
        request: PolicyRequest,
    ) -> Result<OrgPolicy, AppError> {
        let detail = to_json(&request);
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
        if let Some(list) = &request.builtin {
            check_builtin(list)?;
        }
        let (auto_away, routing, forward, builtin) = (
            request.auto_away,
            request.routing,
            request.forward_to_phone_enabled,
            request.builtin,
        );
        let row = self
            .update_org(actor, "policy.update", detail, org, move |org| {
                if let Some(a) = auto_away {
                    org.policy.auto_away = a;
                }
                if let Some(r) = routing {
                    org.policy.routing = r;
                }
                if let Some(f) = forward {
                    org.catalog.forward_to_phone_enabled = f;
                }
                if let Some(b) = builtin {
                    org.catalog.builtin = b;
                }
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
        actor: &Actor,
        org: &str,
        windows: Vec<WeeklyWindow>,
        do_not_disturb: Option<Vec<WeeklyWindow>>,
    ) -> Result<(Vec<WeeklyWindow>, Vec<WeeklyWindow>), AppError> {
        if do_not_disturb
            .as_ref()
            .is_some_and(|d| d.len() > MAX_QUIET_WINDOWS)
        {
            return Err(AppError::invalid(format!(
                "at most {MAX_QUIET_WINDOWS} Do not disturb windows"
            )));
        }
        let detail = format!(
            "quiet hours {}, Do not disturb {}",
            to_json(&windows),
            do_not_disturb
                .as_ref()
                .map(to_json)
                .unwrap_or_else(|| "unchanged".into())
        );
        if windows.len() > MAX_QUIET_WINDOWS {
            return Err(AppError::invalid(format!(
                "at most {MAX_QUIET_WINDOWS} quiet-hour windows"
            )));
        }
        let row = self
            .update_org(actor, "quiet_hours.update", detail, org, move |org| {
                org.quiet_hours = windows;
                if let Some(d) = do_not_disturb {
                    org.do_not_disturb = d;
                }
                Ok(())
            })
            .await?;
        Ok((row.quiet_hours, row.do_not_disturb))
    }
}

/// An organisation's changes to built-in statuses: built-ins only, each once; only statuses a
/// person chooses can be withdrawn, and Available never (it hands control back to automation).
fn check_builtin(list: &[presence::BuiltinOverride]) -> Result<(), AppError> {
    let mut seen = Vec::new();
    for o in list {
        let StatusId::Builtin(b) = &o.status else {
            return Err(AppError::invalid(format!(
                "\"{}\" is a custom status: change it under /admin/statuses",
                o.status
            )));
        };
        if seen.contains(b) {
            return Err(AppError::invalid(format!(
                "\"{}\" is listed twice: give each built-in status once",
                o.status
            )));
        }
        seen.push(*b);
        if o.enabled == Some(false) {
            if *b == presence::BuiltinStatus::Available {
                return Err(AppError::invalid(
                    "Available cannot be withdrawn: choosing it is how a person hands their status back to automation",
                ));
            }
            if !b.policy().selectable {
                return Err(AppError::invalid(format!(
                    "{} is set automatically, never chosen: it cannot be withdrawn",
                    b.label()
                )));
            }
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("rules serialize to JSON")
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
