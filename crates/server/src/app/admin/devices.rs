//! Devices signed in with their tokens, and integrations' API keys.

use super::*;

impl App {
    /// The signed-in devices of an organisation, or of one person in it.
    pub async fn devices(
        &self,
        org: &str,
        user: Option<&UserId>,
    ) -> Result<Vec<rest::DeviceInfo>, AppError> {
        let now = self.clock.now();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for t in self.db.device_tokens(org).await? {
            if t.revoked_at.is_some() || user.is_some_and(|u| u.as_str() != t.user_id) {
                continue;
            }
            if !seen.insert((t.user_id.clone(), t.device_id.clone())) {
                continue;
            }
            let Some(slot) = UserId::parse(t.user_id.clone())
                .ok()
                .and_then(|u| self.slot(&u))
            else {
                continue;
            };
            let device = DeviceId::parse(t.device_id)?;
            let state = slot
                .state
                .lock()
                .await
                .person
                .devices()
                .get(&device)
                .cloned();
            out.push(rest::DeviceInfo {
                user: slot.id.clone(),
                user_name: slot.name.clone(),
                name: t.about.name,
                platform: t.about.platform,
                signed_in_at: presence::Timestamp(t.created_at),
                last_report_at: state.as_ref().map(|s| s.last_report_at),
                activity: state.filter(|s| s.is_live(now)).map(|s| {
                    if let Some(l) = s.locked_since {
                        DeviceActivity::Locked {
                            locked_for: now.since(l),
                        }
                    } else if let Some(i) = s.idle_since {
                        DeviceActivity::Idle {
                            idle_for: now.since(i),
                        }
                    } else {
                        DeviceActivity::Active
                    }
                }),
                device,
                current: false,
            });
        }
        Ok(out)
    }

    /// Signs one device of a person out (an administrator, or the person from another device).
    pub async fn revoke_device(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
        device: &str,
    ) -> Result<(), AppError> {
        let slot = self.user_in_org(org, user)?;
        let affected = self
            .record(
                org,
                actor,
                "device.revoke",
                format!("{} <{}> device {device}", slot.id.as_str(), slot.email),
                String::new(),
                vec![db::revoke_device_tokens(
                    self.clock.now().0,
                    slot.id.as_str(),
                    device,
                )],
            )
            .await?;
        if affected[0] == 0 {
            return Err(AppError::not_found(format!(
                "{} has no device \"{}\" signed in",
                slot.email,
                device.chars().take(80).collect::<String>()
            )));
        }
        Ok(())
    }

    /// The organisation's API keys, newest first.
    pub async fn keys(&self, org: &str) -> Result<Vec<rest::ApiKey>, AppError> {
        self.db
            .keys(org)
            .await?
            .into_iter()
            .map(|k| {
                Ok(rest::ApiKey {
                    id: k.id,
                    name: k.name,
                    created_by: k.created_by.map(UserId::parse).transpose()?,
                    created_at: presence::Timestamp(k.created_at),
                    revoked_at: k.revoked_at.map(presence::Timestamp),
                })
            })
            .collect()
    }

    pub async fn create_key_by(
        &self,
        actor: &Actor,
        org: &str,
        name: &str,
    ) -> Result<rest::KeyCreated, AppError> {
        self.org(org)?;
        let name = checked_name(name, "key name")?;
        let (secret, hash) = auth::new_secret(auth::KEY_PREFIX);
        let id = auth::new_id("k");
        let now = self.clock.now().0;
        self.record(
            org,
            actor,
            "key.create",
            format!("{id} \"{name}\""),
            String::new(),
            vec![db::insert_key(
                hash,
                id.clone(),
                org,
                name.clone(),
                now,
                actor.id.as_ref().map(|u| u.as_str().to_string()),
            )],
        )
        .await?;
        Ok(rest::KeyCreated {
            key: rest::ApiKey {
                id,
                name,
                created_by: actor.id.clone(),
                created_at: presence::Timestamp(now),
                revoked_at: None,
            },
            secret,
        })
    }

    /// Revokes one of the organisation's API keys.
    pub async fn revoke_key_by(&self, actor: &Actor, org: &str, id: &str) -> Result<(), AppError> {
        let key = self
            .db
            .keys(org)
            .await?
            .into_iter()
            .find(|k| k.id == id && k.revoked_at.is_none())
            .ok_or_else(|| {
                AppError::not_found(format!(
                    "no active API key \"{}\" in your organisation",
                    id.chars().take(80).collect::<String>()
                ))
            })?;
        self.record(
            org,
            actor,
            "key.revoke",
            format!("{id} \"{}\"", key.name),
            String::new(),
            vec![db::revoke_key(self.clock.now().0, id)],
        )
        .await?;
        Ok(())
    }
}
