//! People's accounts: the directory, making, changing, deactivating and deleting them, and a
//! person's own password change.

use super::*;

impl App {
    /// The organisation's directory for one of its people: everyone active who matches every
    /// word of `query` (in a name, email or team name) and `family`, as teammates see them (so
    /// Invisible shows as Offline), by name; at most `limit`, and whether there were more.
    pub async fn directory(
        &self,
        org: &str,
        query: &str,
        family: Option<presence::Family>,
        limit: usize,
    ) -> (Vec<rest::DirectoryEntry>, bool) {
        let words: Vec<String> = query
            .split_whitespace()
            .take(10)
            .map(|w| w.to_lowercase())
            .collect();
        let teams = self.teams_of_org(org);
        let mut out = Vec::new();
        let mut more = false;
        for slot in self.people_of_org(org).into_iter().filter(|s| s.active) {
            let their_teams: Vec<rest::TeamRef> = teams
                .iter()
                .filter(|(_, t)| t.members.contains(&slot.id))
                .map(|(id, t)| rest::TeamRef {
                    id: id.clone(),
                    name: t.name.clone(),
                })
                .collect();
            let haystack = format!(
                "{} {} {}",
                slot.name,
                slot.email,
                their_teams
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
            .to_lowercase();
            if !words.iter().all(|w| haystack.contains(w.as_str())) {
                continue;
            }
            let member = slot.member();
            if family.is_some_and(|f| member.view.status.family != f) {
                continue;
            }
            if out.len() == limit {
                more = true;
                break;
            }
            out.push(rest::DirectoryEntry {
                member,
                email: slot.email.clone(),
                teams: their_teams,
            });
        }
        (out, more)
    }

    /// A new person with a password the administrator gives them.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_user_by(
        &self,
        actor: &Actor,
        org: &str,
        email: &str,
        name: &str,
        password: &str,
        role: Role,
        time_zone: &str,
        teams: &[String],
    ) -> Result<UserId, AppError> {
        let email = checked_email(email)?;
        let name = checked_name(name, "name")?;
        checked_password(password)?;
        if let Some(existing) = self.db.user_by_email(&email).await? {
            if existing.org_id == org {
                return Err(AppError::conflict(format!(
                    "{email} already has an account in your organisation"
                )));
            }
        }
        let password_hash = hash(password).await?;
        let tz = TimeZone::parse(time_zone)?;
        let id = UserId::parse(auth::new_id("u"))?;
        let mut statements = self.insert_user(org, &id, &email, &name, &password_hash, role, tz)?;
        let teams = &distinct(teams);
        for t in teams {
            self.team_in_org(org, t)?;
            statements.push(add_member(t, id.as_str()));
        }
        self.record(
            org,
            actor,
            "user.create",
            format!("{} <{email}>", id.as_str()),
            format!(
                "role {}, teams {}",
                role_str(role),
                self.team_names(org, teams)
            ),
            statements,
        )
        .await?;
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert_user(
        &self,
        org: &str,
        id: &UserId,
        email: &str,
        name: &str,
        password_hash: &str,
        role: Role,
        tz: TimeZone,
    ) -> Result<Vec<Statement>, AppError> {
        let org_entry = self.org(org)?;
        let mut prefs = Preferences {
            time_zone: tz,
            ..Preferences::default()
        };
        if !org_entry.row.quiet_hours.is_empty() || !org_entry.row.do_not_disturb.is_empty() {
            let mut s = Schedule::new(tz);
            s.quiet_hours = org_entry.row.quiet_hours.clone();
            s.do_not_disturb = org_entry.row.do_not_disturb.clone();
            prefs.schedule = Some(s);
        }
        let state = serde_json::to_string(&Person::new(prefs))
            .map_err(|e| AppError::internal(e.to_string()))?;
        Ok(vec![db::insert_user(&db::NewUser {
            id: id.as_str(),
            org,
            email,
            name,
            password_hash,
            role: role_str(role),
            state,
            now: self.clock.now().0,
        })
        // Whose account it is, and where, is not said (it may be another organisation's).
        .on_conflict(format!(
            "{email} cannot be given a new account: if it is yours, sign in with it; otherwise use another address"
        ))])
    }

    /// Everyone in the organisation as an administrator sees them.
    pub async fn admin_users(&self, org: &str) -> Result<Vec<rest::AdminUser>, AppError> {
        let mut signed_in: HashMap<String, HashSet<String>> = HashMap::new();
        for t in self.db.device_tokens(org).await? {
            if t.revoked_at.is_none() {
                signed_in.entry(t.user_id).or_default().insert(t.device_id);
            }
        }
        let reset: HashSet<String> = self.db.pending_resets(org).await?.into_iter().collect();
        let teams = self.teams_of_org(org);
        let mut out = Vec::new();
        for slot in self.people_of_org(org) {
            let view = slot.team_view();
            out.push(rest::AdminUser {
                id: slot.id.clone(),
                email: slot.email.clone(),
                name: slot.name.clone(),
                role: slot.role,
                active: slot.active,
                password_reset: reset.contains(slot.id.as_str()),
                teams: teams
                    .iter()
                    .filter(|(_, t)| t.members.contains(&slot.id))
                    .map(|(id, t)| rest::TeamRef {
                        id: id.clone(),
                        name: t.name.clone(),
                    })
                    .collect(),
                view,
                devices: signed_in
                    .get(slot.id.as_str())
                    .map_or(0, |d| d.len() as u32),
                avatar: slot.avatar.clone(),
            });
        }
        Ok(out)
    }

    pub async fn admin_user(&self, org: &str, user: &str) -> Result<rest::AdminUser, AppError> {
        let slot = self.user_in_org(org, user)?;
        self.admin_users(org)
            .await?
            .into_iter()
            .find(|u| u.id == slot.id)
            .ok_or_else(|| AppError::not_found("the person was just removed"))
    }

    /// Renames, changes the role of, deactivates or reactivates a person.
    pub async fn update_user(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
        change: rest::UpdateUser,
    ) -> Result<rest::AdminUser, AppError> {
        let slot = self.user_in_org(org, user)?;
        let now = self.clock.now().0;
        let mut statements = Vec::new();
        let mut done = Vec::new();
        if let Some(name) = &change.name {
            let name = checked_name(name, "name")?;
            if name != slot.name {
                statements.push(db::rename_user(name.clone(), slot.id.as_str()));
                done.push(format!("name \"{}\" → \"{name}\"", slot.name));
            }
        }
        if let Some(role) = change.role {
            if role != slot.role {
                if role == Role::Member {
                    self.keep_an_admin(actor, &slot, "take the administrator role from")?;
                }
                statements.push(db::set_role(role_str(role), slot.id.as_str()));
                done.push(format!("role {} → {}", role_str(slot.role), role_str(role)));
            }
        }
        let mut action = "user.update";
        match change.active {
            Some(false) if slot.active => {
                self.keep_an_admin(actor, &slot, "deactivate")?;
                statements.push(db::deactivate_user(slot.id.as_str()));
                statements.push(revoke_tokens(slot.id.as_str(), now));
                statements.push(revoke_codes_of(slot.id.as_str(), now));
                done.push("deactivated: sessions closed, tokens revoked".into());
                action = "user.deactivate";
            }
            Some(true) if !slot.active => {
                statements.push(db::reactivate_user(slot.id.as_str()));
                done.push("reactivated".into());
                action = "user.reactivate";
            }
            _ => {}
        }
        if !statements.is_empty() {
            self.record(
                org,
                actor,
                action,
                format!("{} <{}>", slot.id.as_str(), slot.email),
                done.join("; "),
                statements,
            )
            .await?;
        }
        self.admin_user(org, slot.id.as_str()).await
    }

    /// Deletes a person with their notifications, devices and memberships. The audit log keeps
    /// what was done.
    pub async fn delete_user(&self, actor: &Actor, org: &str, user: &str) -> Result<(), AppError> {
        let slot = self.user_in_org(org, user)?;
        self.keep_an_admin(actor, &slot, "delete")?;
        let id = slot.id.as_str();
        let statements = vec![
            db::delete_notifications_of(id),
            db::delete_tokens_of(id),
            db::delete_memberships_of(id),
            db::delete_codes_of(id),
            db::delete_avatars_of(id),
            db::delete_favourites_of(id),
            db::delete_alerts_of(id),
            db::delete_calendar_of(id),
            db::delete_user(id),
        ];
        let affected = self
            .record(
                org,
                actor,
                "user.delete",
                format!("{id} <{}>", slot.email),
                format!("{} ({})", slot.name, role_str(slot.role)),
                statements,
            )
            .await?;
        tracing::info!(user = id, notifications = affected[0], "person deleted");
        Ok(())
    }

    /// A person changes their own password (the current one first), optionally signing out
    /// every other device.
    pub async fn change_password(
        &self,
        auth: &crate::app::DeviceAuth,
        request: &rest::ChangePassword,
    ) -> Result<(), AppError> {
        self.signin.attempt_for(&auth.user.email)?;
        let row = self
            .db
            .user_by_email(&auth.user.email)
            .await?
            .ok_or_else(|| AppError::unauthorized("the account no longer exists"))?;
        if !self
            .signin
            .check(&request.current, Some(row.password_hash))
            .await?
        {
            return Err(AppError::new(
                protocol::ErrorKind::Forbidden,
                "the current password is wrong: nothing was changed",
            ));
        }
        checked_password(&request.new)?;
        let password_hash = hash(&request.new).await?;
        let mut statements = vec![db::set_password(password_hash, auth.user.id.as_str())];
        if request.sign_out_others {
            statements.push(db::revoke_tokens_except(
                self.clock.now().0,
                auth.user.id.as_str(),
                auth.token_hash.clone(),
            ));
        }
        self.record(
            &auth.user.org,
            &Actor::person(&auth.user),
            "user.password_change",
            format!("{} <{}>", auth.user.id.as_str(), auth.user.email),
            if request.sign_out_others {
                "other devices signed out".into()
            } else {
                String::new()
            },
            statements,
        )
        .await?;
        Ok(())
    }
}
