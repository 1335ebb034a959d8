//! Notifications: stored first, decided show or hold by the engine, delivered to every device;
//! read and dismissed everywhere.

use super::{frame, App};
use crate::broker::Event;
use crate::db::NewNotification;
use crate::error::AppError;
use presence::{ExternalId, Notice, UserId};
use protocol::rest::SendNotification;
use protocol::{Notification, NotificationSeq, ServerMessage};

pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 4000;

impl App {
    /// Stores a notification for a user of `org`, decides show or hold, then delivers it to
    /// every connected device. Returns it and whether it is new (false: a replay).
    pub async fn notify(
        &self,
        org: &str,
        req: SendNotification,
    ) -> Result<(Notification, bool), AppError> {
        let slot = self.user_in_org(org, &req.user)?;
        if !slot.active {
            return Err(AppError::conflict(format!(
                "{} is deactivated: nothing was stored; an administrator can reactivate them",
                slot.email
            )));
        }
        let title = req.title.trim().to_string();
        if title.is_empty() {
            return Err(AppError::invalid("the title is empty: say what happened"));
        }
        if title.chars().count() > MAX_TITLE {
            return Err(AppError::invalid(format!(
                "the title has more than {MAX_TITLE} characters: shorten it"
            )));
        }
        if req.body.chars().count() > MAX_BODY {
            return Err(AppError::invalid(format!(
                "the body has more than {MAX_BODY} characters: shorten it or link to the rest"
            )));
        }
        // A NUL cannot be stored by PostgreSQL, and control or direction-override characters
        // make a banner read differently: refused the same on both databases. The body may
        // have line breaks and tabs.
        if presence::text::has_hidden_characters(&title, &[]) {
            return Err(AppError::invalid(
                "the title contains a control or direction-override character: remove it",
            ));
        }
        if presence::text::has_hidden_characters(&req.body, &['\n', '\t']) {
            return Err(AppError::invalid(
                "the body contains a control character (other than a line break or tab) or a direction override: remove it",
            ));
        }
        if let Some(ext) = &req.external_id {
            ExternalId::parse(ext.clone())?;
        }
        let link = req
            .link
            .map(protocol::Link::parse)
            .transpose()
            .map_err(|e| AppError::invalid(e.to_string()))?;
        let sender = req.sender.map(UserId::parse).transpose()?;
        // A sender is a person of the same organisation (it decides the urgent allow-list).
        if let Some(s) = &sender {
            self.user_in_org(org, s.as_str()).map_err(|_| {
                AppError::invalid(format!(
                    "the sender \"{}\" is not a person of your organisation: send their id or none",
                    s.as_str()
                ))
            })?;
        }
        let rules = self.rules(org)?;
        let now = self.clock.now();
        let delivery = {
            let st = slot.state.lock().await;
            rules.notification(
                &st.person,
                now,
                &Notice {
                    sender: sender.clone(),
                    urgent: req.urgent,
                },
            )
        };
        let (n, new) = self
            .db
            .insert_notification(
                slot.id.as_str(),
                &NewNotification {
                    external_id: req.external_id,
                    title,
                    body: req.body,
                    sender: sender.map(|s| s.as_str().to_string()),
                    urgent: req.urgent,
                    created_at: now.0,
                    delivery,
                    link,
                },
            )
            .await?;
        if new {
            self.webhooks.emit(
                org,
                protocol::rest::WebhookEvent::NotificationCreated,
                now.0,
                || serde_json::json!({"user": slot.id, "email": slot.email, "notification": n}),
            );
            self.broker.publish(Event::User {
                user: slot.id.clone(),
                frame: frame(&ServerMessage::Notification {
                    notification: n.clone(),
                }),
                notification: Some(n.seq.0),
                version: None,
            });
        }
        Ok((n, new))
    }

    /// Read or dismissed on one device: stored, then sent to all the user's devices.
    pub async fn mark(
        &self,
        user: &UserId,
        seqs: Option<&[NotificationSeq]>,
        dismiss: bool,
    ) -> Result<Vec<NotificationSeq>, AppError> {
        if seqs.is_some_and(|s| s.len() > 1000) {
            return Err(AppError::invalid(
                "at most 1000 notifications at a time: send the rest in another request",
            ));
        }
        let changed = match seqs {
            Some(seqs) => self.db.mark(user.as_str(), seqs, dismiss).await?,
            None => self.db.mark_all_read(user.as_str()).await?,
        };
        if !changed.is_empty() {
            if let Some(slot) = self.slot(user) {
                let event = if dismiss {
                    protocol::rest::WebhookEvent::NotificationDismissed
                } else {
                    protocol::rest::WebhookEvent::NotificationRead
                };
                self.webhooks
                    .emit(&slot.org, event, self.clock.now().0, || {
                        serde_json::json!({"user": slot.id, "email": slot.email, "notifications": changed})
                    });
            }
            self.broker.publish(Event::User {
                user: user.clone(),
                frame: frame(&ServerMessage::NotificationsChanged {
                    notifications: changed.clone(),
                    read: true,
                    dismissed: dismiss,
                }),
                notification: None,
                version: None,
            });
        }
        Ok(changed)
    }

    /// What a hello sends from storage, read in one statement: the user's newest notification
    /// sequence (the welcome's cursor) and the backlog, as [`App::notifications`] reads it.
    pub async fn cursor_and_backlog(
        &self,
        user: &UserId,
        after: Option<NotificationSeq>,
        limit: u32,
        all: bool,
    ) -> Result<(NotificationSeq, Vec<Notification>), AppError> {
        let (cursor, backlog) = self
            .db
            .notification_cursor_and_backlog(user.as_str(), after.map_or(0, |s| s.0), limit, all)
            .await?;
        Ok((NotificationSeq(cursor), backlog))
    }

    /// Notifications after `after`, oldest first, at most `limit`: every one when `all`, else
    /// those neither read nor dismissed.
    pub async fn notifications(
        &self,
        user: &UserId,
        after: Option<NotificationSeq>,
        limit: u32,
        all: bool,
    ) -> Result<Vec<Notification>, AppError> {
        Ok(self
            .db
            .notifications(user.as_str(), after.map_or(0, |s| s.0), limit, all)
            .await?)
    }

    pub async fn unread_count(&self, user: &UserId) -> Result<u64, AppError> {
        Ok(self.db.unread_count(user.as_str()).await?)
    }
}
