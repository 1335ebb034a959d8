//! One-time codes: invites and password resets, made, listed, withdrawn and redeemed (a code is
//! consumed in the transaction that uses it).

use super::*;

impl App {
    /// A password reset: the old password stops working, every device is signed out, and the
    /// code returned (shown once, valid 24 h) sets a new one.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
    ) -> Result<rest::PasswordReset, AppError> {
        let slot = self.user_in_org(org, user)?;
        if !slot.active {
            return Err(AppError::conflict(format!(
                "{} is deactivated: reactivate them first",
                slot.email
            )));
        }
        let now = self.clock.now().0;
        let expires_at = now + RESET_HOURS * HOUR_MS;
        let (code, code_hash) = auth::new_secret(auth::CODE_PREFIX);
        let reset_id = auth::new_id("c");
        let statements = vec![
            revoke_codes_of(slot.id.as_str(), now),
            db::mark_password_reset(slot.id.as_str()),
            revoke_tokens(slot.id.as_str(), now),
            insert_code(
                &CodeRow {
                    id: reset_id.clone(),
                    org_id: org.to_string(),
                    kind: "reset".into(),
                    email: slot.email.clone(),
                    name: None,
                    user_id: Some(slot.id.as_str().to_string()),
                    role: role_str(slot.role).into(),
                    teams: Vec::new(),
                    created_by: actor.id.as_ref().map(|u| u.as_str().to_string()),
                    created_at: now,
                    expires_at,
                    used_at: None,
                    revoked_at: None,
                    mail: None,
                },
                &code_hash,
            ),
        ];
        self.record(
            org,
            actor,
            "user.password_reset",
            format!("{} <{}>", slot.id.as_str(), slot.email),
            "password reset: devices signed out, a reset code issued (24 h)".into(),
            statements,
        )
        .await?;
        let org_name = self.org(org)?.row.name.clone();
        let link = format!("{}{}", self.public_url(), join_link(&code));
        let mail = self
            .mail_code(
                &reset_id,
                crate::app::mail::Letter {
                    to: slot.email.clone(),
                    to_name: Some(slot.name.clone()),
                    subject: format!("Set a new Presently password for {org_name}"),
                    text: format!(
                        "Hello {name},\n\n{by} reset your Presently password for {org_name}. Your old password no longer works and your devices were signed out.\n\nSet a new password here:\n{link}\n\nOr, in the Presently app, choose \"I have a code\" and enter:\n{code}\n\nThe code works once, until {until} (UTC).\n\nIf you did not expect this, tell your administrator.\n",
                        name = slot.name,
                        by = self.actor_name(actor),
                        until = utc(expires_at),
                    ),
                    html: crate::app::mail::html_page(
                        "Set a new password",
                        &[
                            format!("Hello {},", slot.name),
                            format!(
                                "{} reset your Presently password for {org_name}. Your old password no longer works and your devices were signed out.",
                                self.actor_name(actor)
                            ),
                            format!("The code works once, until {} (UTC).", utc(expires_at)),
                        ],
                        ("Set a new password", &link),
                        &code,
                    ),
                },
            )
            .await;
        Ok(rest::PasswordReset {
            link: join_link(&code),
            code,
            expires_at: presence::Timestamp(expires_at),
            mail: mail.as_ref().map(mail_view),
        })
    }

    /// Who did something, for a mail: the administrator's name, or the organisation's
    /// administrators for the command line.
    fn actor_name(&self, actor: &Actor) -> String {
        actor
            .id
            .as_ref()
            .and_then(|u| self.slot(u))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "An administrator".into())
    }

    /// Mails `letter` (carrying code `id`) when the server has a relay, and keeps what became of
    /// it on the code: a failure is shown to administrators and the code stays valid.
    async fn mail_code(
        &self,
        id: &str,
        letter: crate::app::mail::Letter,
    ) -> Option<(String, Option<String>, i64)> {
        use crate::app::mail::Delivery;
        let delivery = self.mail.send(letter).await?;
        let at = self.clock.now().0;
        let (state, error) = match delivery {
            Delivery::Sent => ("sent", None),
            Delivery::Failed(e) => ("failed", Some(e)),
        };
        if let Err(e) = self
            .db
            .run(&db::record_mail(id, state, error.clone(), at))
            .await
        {
            tracing::warn!(error = %e, code = id, "what became of a mail was not stored");
        }
        Some((state.to_string(), error, at))
    }

    /// Invites a person by email: the code returned (shown once) makes their account when they
    /// first use it. A pending invite for the same email is replaced.
    pub async fn invite(
        &self,
        actor: &Actor,
        org: &str,
        request: rest::CreateInvite,
    ) -> Result<rest::InviteCreated, AppError> {
        self.org(org)?;
        let email = checked_email(&request.email)?;
        // An account in another organisation is not said: the invite is made, and the person
        // is told when they use it (they own the address).
        if let Some(existing) = self.db.user_by_email(&email).await? {
            if existing.org_id == org {
                return Err(AppError::conflict(format!(
                    "{email} already has an account in your organisation"
                )));
            }
        }
        let name = request
            .name
            .as_deref()
            .map(|n| checked_name(n, "name"))
            .transpose()?;
        let teams = distinct(&request.teams);
        for t in &teams {
            self.team_in_org(org, t)?;
        }
        let hours = request.expires_in_hours.unwrap_or(INVITE_HOURS_DEFAULT);
        if !(1..=INVITE_HOURS_MAX).contains(&hours) {
            return Err(AppError::invalid(format!(
                "an invite lasts 1 to {INVITE_HOURS_MAX} hours"
            )));
        }
        let now = self.clock.now().0;
        let (code, code_hash) = auth::new_secret(auth::CODE_PREFIX);
        let row = CodeRow {
            id: auth::new_id("i"),
            org_id: org.to_string(),
            kind: "invite".into(),
            email: email.clone(),
            name,
            user_id: None,
            role: role_str(request.role).into(),
            teams,
            created_by: actor.id.as_ref().map(|u| u.as_str().to_string()),
            created_at: now,
            expires_at: now + i64::from(hours) * HOUR_MS,
            used_at: None,
            revoked_at: None,
            mail: None,
        };
        let statements = vec![
            db::withdraw_invites_for(now, org, email.clone()),
            insert_code(&row, &code_hash),
        ];
        self.record(
            org,
            actor,
            "invite.create",
            format!("{} <{email}>", row.id),
            format!(
                "role {}, teams {}, expires in {hours} h",
                row.role,
                self.team_names(org, &row.teams)
            ),
            statements,
        )
        .await?;
        self.mail_invite(actor, row, code).await
    }

    /// Sends an invite again with a new code (the old one stops working), for another week
    /// at most: what an administrator does when the mail did not arrive or was lost.
    pub async fn resend_invite(
        &self,
        actor: &Actor,
        org: &str,
        id: &str,
    ) -> Result<rest::InviteCreated, AppError> {
        let mut row = self.invite_row(org, id).await?;
        let now = self.clock.now().0;
        match self.invite_view(&row).state {
            InviteState::Pending => {}
            InviteState::Used => {
                return Err(AppError::conflict(format!(
                    "the invite for {} was used already: they have an account",
                    row.email
                )))
            }
            InviteState::Revoked | InviteState::Expired => {
                return Err(AppError::conflict(format!(
                    "the invite for {} was withdrawn or has expired: invite them again",
                    row.email
                )))
            }
        }
        let (code, code_hash) = auth::new_secret(auth::CODE_PREFIX);
        row.expires_at = row
            .expires_at
            .max(now + i64::from(INVITE_HOURS_DEFAULT) * HOUR_MS);
        row.mail = None;
        self.record(
            org,
            actor,
            "invite.resend",
            format!("{} <{}>", row.id, row.email),
            "a new code (the earlier one no longer works)".into(),
            vec![db::replace_code(&row.id, &code_hash, row.expires_at, now)
                .must_change("the invite was used or withdrawn meanwhile")],
        )
        .await?;
        self.mail_invite(actor, row, code).await
    }

    /// The answer to an invite made or sent again: mailed first when the server has a relay.
    async fn mail_invite(
        &self,
        actor: &Actor,
        mut row: CodeRow,
        code: String,
    ) -> Result<rest::InviteCreated, AppError> {
        let org_name = self.org(&row.org_id)?.row.name.clone();
        let link = format!("{}{}", self.public_url(), join_link(&code));
        let by = self.actor_name(actor);
        let hello = match &row.name {
            Some(n) => format!("Hello {n},"),
            None => "Hello,".into(),
        };
        row.mail = self
            .mail_code(
                &row.id,
                crate::app::mail::Letter {
                    to: row.email.clone(),
                    to_name: row.name.clone(),
                    subject: format!("{by} invited you to {org_name} on Presently"),
                    text: format!(
                        "{hello}\n\n{by} invited you to {org_name} on Presently, where your team sees who is free to talk.\n\nJoin here (you choose your password):\n{link}\n\nOr, in the Presently app, choose \"I have a code\" and enter:\n{code}\n\nThe invite works once, until {until} (UTC).\n",
                        until = utc(row.expires_at),
                    ),
                    html: crate::app::mail::html_page(
                        &format!("Join {org_name} on Presently"),
                        &[
                            hello.clone(),
                            format!(
                                "{by} invited you to {org_name} on Presently, where your team sees who is free to talk."
                            ),
                            format!("The invite works once, until {} (UTC).", utc(row.expires_at)),
                        ],
                        ("Join and choose a password", &link),
                        &code,
                    ),
                },
            )
            .await;
        Ok(rest::InviteCreated {
            invite: self.invite_view(&row),
            link: join_link(&code),
            code,
        })
    }

    pub(super) fn invite_view(&self, row: &CodeRow) -> rest::Invite {
        let state = invite_state(row, self.clock.now().0);
        let teams = self.teams_of_org(&row.org_id);
        rest::Invite {
            id: row.id.clone(),
            email: row.email.clone(),
            name: row.name.clone(),
            role: role_of(&row.role),
            teams: row
                .teams
                .iter()
                .filter_map(|t| {
                    teams
                        .iter()
                        .find(|(id, _)| id == t)
                        .map(|(id, e)| rest::TeamRef {
                            id: id.clone(),
                            name: e.name.clone(),
                        })
                })
                .collect(),
            created_at: presence::Timestamp(row.created_at),
            expires_at: presence::Timestamp(row.expires_at),
            state,
            mail: row.mail.as_ref().map(mail_view),
        }
    }

    pub async fn invites(&self, org: &str) -> Result<Vec<rest::Invite>, AppError> {
        self.org(org)?;
        Ok(self
            .db
            .codes(org, "invite")
            .await?
            .iter()
            .map(|r| self.invite_view(r))
            .collect())
    }

    /// An invite of `org`, by id.
    async fn invite_row(&self, org: &str, id: &str) -> Result<CodeRow, AppError> {
        self.db
            .codes(org, "invite")
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| AppError::not_found(format!("no invite {id} in your organisation")))
    }

    pub async fn revoke_invite(&self, actor: &Actor, org: &str, id: &str) -> Result<(), AppError> {
        let invite = self.invite_row(org, id).await?;
        if invite.used_at.is_some() {
            return Err(AppError::conflict(format!(
                "the invite for {} was used already: deactivate the account instead",
                invite.email
            )));
        }
        self.record(
            org,
            actor,
            "invite.revoke",
            format!("{id} <{}>", invite.email),
            String::new(),
            vec![db::withdraw_code(self.clock.now().0, id)],
        )
        .await?;
        Ok(())
    }

    /// Signs a device in with a one-time code: an invite makes the account (with `password` and
    /// `name`), a reset sets the new password. Limited per address like a sign-in.
    pub async fn redeem_code(
        &self,
        request: &rest::RedeemCode,
        address: std::net::IpAddr,
    ) -> Result<(String, Arc<Slot>), AppError> {
        self.signin.attempt_from(address)?;
        let invalid = || {
            AppError::unauthorized(
                "the code is not valid: check it, or ask an administrator for a new one",
            )
        };
        let code = request.code.trim();
        if !code.starts_with(auth::CODE_PREFIX) || code.len() > 200 {
            return Err(invalid());
        }
        let row = self
            .db
            .code(&auth::hash_secret(code))
            .await?
            .ok_or_else(invalid)?;
        let now = self.clock.now().0;
        if row.used_at.is_some() {
            return Err(AppError::unauthorized(
                "this code was used already: sign in with your email and password",
            ));
        }
        if row.revoked_at.is_some() {
            return Err(AppError::unauthorized(
                "this code was withdrawn by an administrator: ask them for a new one",
            ));
        }
        if now >= row.expires_at {
            return Err(AppError::unauthorized(
                "this code has expired: ask an administrator for a new one",
            ));
        }
        self.passwords_allowed(&row.org_id, role_of(&row.role))
            .await?;
        checked_password(&request.password)?;
        let password_hash = hash(&request.password).await?;
        // The code is used, the account made or the password set, and the device's token
        // stored in one transaction, only if the code is still unused, not withdrawn and not
        // expired when it is stored: several redeeming it at once, or an administrator
        // withdrawing or replacing it meanwhile, leave one account and one token at most.
        let used_meanwhile = "this code was used or withdrawn meanwhile: sign in with your email and password, or ask an administrator for a new one";
        let use_code = db::use_code(now, row.id.clone()).must_change(used_meanwhile);
        let about = presence::DeviceAbout {
            name: request.device_name.clone(),
            platform: request.platform.unwrap_or_default(),
        };
        let (token, token_hash) = auth::new_secret(auth::TOKEN_PREFIX);
        let refused = |e: AppError| {
            if e.message == used_meanwhile {
                AppError::unauthorized(used_meanwhile)
            } else {
                e
            }
        };
        let user = if row.kind == "invite" {
            let name = match request.name.as_deref().or(row.name.as_deref()) {
                Some(n) => checked_name(n, "name")?,
                None => {
                    return Err(AppError::invalid(
                        "give your name: the invite does not carry one",
                    ))
                }
            };
            let id = UserId::parse(auth::new_id("u"))?;
            let mut statements = vec![use_code];
            statements.extend(self.insert_user(
                &row.org_id,
                &id,
                &row.email,
                &name,
                &password_hash,
                role_of(&row.role),
                TimeZone::UTC,
            )?);
            for t in &distinct(&row.teams) {
                // A team deleted since the invite is skipped.
                if self.team_in_org(&row.org_id, t).is_ok() {
                    statements.push(add_member(t, id.as_str()));
                }
            }
            statements.push(crate::db::insert_token(&crate::db::NewToken {
                hash: &token_hash,
                user_id: id.as_str(),
                device_id: request.device.as_str(),
                about: &about,
                now,
            }));
            self.record(
                &row.org_id,
                &Actor {
                    id: Some(id.clone()),
                    label: format!("{name} <{}>", row.email),
                },
                "invite.accept",
                format!("{} <{}>", id.as_str(), row.email),
                format!("invite {}", row.id),
                statements,
            )
            .await
            .map_err(refused)?;
            id
        } else {
            let user = row
                .user_id
                .clone()
                .and_then(|u| UserId::parse(u).ok())
                .ok_or_else(invalid)?;
            let slot = self.slot(&user).ok_or_else(invalid)?;
            self.record(
                &row.org_id,
                &Actor::person(&slot),
                "user.password_set",
                format!("{} <{}>", user.as_str(), slot.email),
                "a new password with the administrator's reset code".into(),
                vec![
                    use_code,
                    db::set_password_if_active(password_hash, user.as_str())
                        .must_change(used_meanwhile),
                    crate::db::insert_token(&crate::db::NewToken {
                        hash: &token_hash,
                        user_id: user.as_str(),
                        device_id: request.device.as_str(),
                        about: &about,
                        now,
                    }),
                ],
            )
            .await
            .map_err(refused)?;
            user
        };
        let slot = self.slot(&user).ok_or_else(invalid)?;
        Ok((token, slot))
    }
}

/// Where an invite stands at `now`.
pub(crate) fn invite_state(row: &CodeRow, now: i64) -> InviteState {
    if row.used_at.is_some() {
        InviteState::Used
    } else if row.revoked_at.is_some() {
        InviteState::Revoked
    } else if now >= row.expires_at {
        InviteState::Expired
    } else {
        InviteState::Pending
    }
}

/// A code's last mail as administrators see it.
fn mail_view((state, error, at): &(String, Option<String>, i64)) -> rest::MailDelivery {
    rest::MailDelivery {
        state: if state == "sent" {
            rest::MailState::Sent
        } else {
            rest::MailState::Failed
        },
        at: presence::Timestamp(*at),
        error: error.clone(),
    }
}

/// A time for a mail: `2026-12-05 14:30`.
fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}
