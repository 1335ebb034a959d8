//! Whom a verified email signs in: their account in the organisation, else a pending invite
//! (which makes the account), else a new account where the organisation allows it.

use super::NO_PASSWORD;
use crate::app::admin::Actor;
use crate::app::{App, Slot};
use crate::auth;
use crate::db::{self, Role, SsoRow};
use crate::error::AppError;
use presence::{TimeZone, UserId};
use protocol::rest;
use std::sync::Arc;

impl App {
    /// The account a verified email signs in: theirs, else an invite's, else a new one.
    pub(super) async fn sso_account(
        &self,
        provider: &SsoRow,
        email: &str,
        name: Option<String>,
    ) -> Result<Arc<Slot>, AppError> {
        let org = &provider.org_id;
        if let Some(row) = self.db.user_by_email(email).await? {
            if &row.org_id != org {
                return Err(AppError::forbidden(format!(
                    "{email} has an account in another organisation on this server: sign in there with your password"
                )));
            }
            if !row.active {
                return Err(AppError::forbidden(
                    "this account was deactivated: ask an administrator of your organisation",
                ));
            }
            return self
                .loaded(&UserId::parse(row.id)?)
                .await?
                .ok_or_else(|| AppError::internal("the account was not found after its sign-in"));
        }
        let now = self.clock.now().0;
        let invite = self.db.codes(org, "invite").await?.into_iter().find(|c| {
            c.email.eq_ignore_ascii_case(email)
                && crate::app::admin::invite_state(c, now) == rest::InviteState::Pending
        });
        let fallback = || email.split('@').next().unwrap_or(email).to_string();
        let id = UserId::parse(auth::new_id("u"))?;
        let (name, role, teams, mut statements, how) = match invite {
            Some(i) => {
                let name = i.name.clone().or(name).unwrap_or_else(fallback);
                let used = db::use_code(now, i.id.clone())
                    .must_change("your invite was used or withdrawn meanwhile: sign in again");
                (
                    name,
                    crate::app::admin::role_of(&i.role),
                    i.teams,
                    vec![used],
                    format!("invite {} through single sign-on", i.id),
                )
            }
            None if provider.create_accounts => (
                name.unwrap_or_else(fallback),
                Role::Member,
                provider.default_team.iter().cloned().collect(),
                Vec::new(),
                "made at first sign-in through single sign-on".into(),
            ),
            None => {
                let org_name = self.org(org)?.row.name.clone();
                return Err(AppError::forbidden(format!(
                    "there is no account for {email} in {org_name}: ask an administrator to invite you"
                )));
            }
        };
        let name = crate::app::checked_name(&name, "name")?;
        statements.extend(self.insert_user(
            org,
            &id,
            email,
            &name,
            NO_PASSWORD,
            role,
            TimeZone::UTC,
        )?);
        for t in crate::app::admin::distinct(&teams) {
            if self.team_in_org(org, &t).is_ok() {
                statements.push(db::add_member(&t, id.as_str()));
            }
        }
        self.record(
            org,
            &Actor {
                id: Some(id.clone()),
                label: format!("{name} <{email}>"),
            },
            "user.sso_join",
            format!("{} <{email}>", id.as_str()),
            how,
            statements,
        )
        .await?;
        self.loaded(&id)
            .await?
            .ok_or_else(|| AppError::internal("the new account was not found"))
    }
}
