//! What each frame from the server does to the store, [`Latest`] and the desktop.

use super::worker::{End, Worker};
use super::*;

impl Worker {
    pub(super) async fn apply(
        &mut self,
        message: ServerMessage,
        read_at: std::time::Instant,
    ) -> Option<End> {
        match message {
            // A board is an administrator's console's, never this client's.
            ServerMessage::Welcome { .. }
            | ServerMessage::HeartbeatAck { .. }
            | ServerMessage::ReportApplied { .. }
            | ServerMessage::ReportNeeded { .. }
            | ServerMessage::BoardSnapshot { .. } => {}
            ServerMessage::TeamSnapshot {
                members,
                me,
                favourites,
            } => {
                self.write(|l| {
                    l.members = members.clone();
                    l.favourites = favourites;
                    l.stale_since = None;
                    if me.is_some() {
                        l.myself = me;
                    }
                });
                if let Err(e) = self
                    .store
                    .save_team(&members, self.options.clock.now())
                    .await
                {
                    self.store_failed(e);
                }
                self.emit(Event::Team { members });
            }
            ServerMessage::PresenceDelta { user, view } => {
                self.write(|l| {
                    let mates = l.members.iter_mut();
                    if let Some(m) = mates.chain(l.glances.iter_mut()).find(|m| m.user == user) {
                        m.view = view.clone();
                    }
                });
                // Written at the next heartbeat or when the connection ends, not once per delta:
                // deltas are frequent and every store write is a durable one.
                self.team_dirty = true;
                self.emit(Event::Delta { user, view });
            }
            // Only those still on screen: the answer to a list the person moved on from is late.
            ServerMessage::Watching { mut members } => {
                members.retain(|m| self.watching.contains(&m.user));
                self.write(|l| l.glances = members.clone());
                self.emit(Event::Glances { members });
            }
            ServerMessage::Statuses { statuses } => self.emit(Event::Statuses { statuses }),
            ServerMessage::SelfUpdate { view } => {
                let interruptible = view.interruptibility == Interruptibility::Normal;
                if self.interruptible == Some(false) && interruptible {
                    self.summarise().await;
                }
                self.interruptible = Some(interruptible);
                if let Err(e) = self.store.save_self(&view).await {
                    self.store_failed(e);
                }
                self.write(|l| l.me = Some(view.clone()));
                self.emit(Event::SelfView { view });
            }
            ServerMessage::Notification { notification } => {
                let frame_at = read_at;
                let received = self.options.clock.now();
                // Durable first: if the store refuses (disk full), it is still shown, and the
                // server keeps it for the next resume.
                let new = match self.store.insert(&notification, received).await {
                    Ok(new) => new,
                    Err(e) => {
                        self.store_failed(e);
                        true
                    }
                };
                let stored_us = frame_at.elapsed().as_micros() as u64;
                if !new {
                    return None;
                }
                let fresh =
                    received.0 - notification.created_at.0 < SHOW_IF_NEWER_THAN.as_millis() as i64;
                let mut shown = false;
                if notification.delivery.interrupts()
                    && fresh
                    && !notification.read
                    && !notification.dismissed
                {
                    let notifier = self.notifier.clone();
                    let n = notification.clone();
                    let face = self.face_of(n.sender.as_ref()).await;
                    match tokio::task::spawn_blocking(move || notifier.show(&n, face.as_deref()))
                        .await
                    {
                        Ok(Ok(_)) => {
                            shown = true;
                            self.emit(Event::Shown {
                                seq: notification.seq.0,
                                stored_us,
                                shown_us: frame_at.elapsed().as_micros() as u64,
                            });
                            let _ = self.store.mark_shown(notification.seq).await;
                        }
                        Ok(Err(e)) => tracing::warn!(error = %e, "not shown on the desktop"),
                        Err(e) => tracing::warn!(error = %e, "the notifier failed"),
                    }
                }
                let missed = matches!(notification.delivery, presence::Delivery::Hold { .. })
                    && !notification.read
                    && !notification.dismissed;
                self.emit(Event::Notification {
                    entry: CenterEntry {
                        notification,
                        received_at: received,
                        shown,
                        missed,
                    },
                });
            }
            ServerMessage::NotificationsChanged {
                notifications,
                read,
                dismissed,
            } => {
                if let Err(e) = self
                    .store
                    .apply_change(&notifications, read, dismissed)
                    .await
                {
                    self.store_failed(e);
                }
                for s in &notifications {
                    self.notifier.close(s.0);
                }
                self.emit(Event::CenterChanged);
            }
            ServerMessage::Ack { request } => {
                if let Err(e) = self.store.acknowledge(&request).await {
                    self.store_failed(e);
                }
                self.emit_pending().await;
                // The server sends a change's own effects (the self view) before its ack.
                self.emit(Event::Applied { request });
            }
            ServerMessage::Error { request, error } => {
                if error.kind.is_fatal() {
                    return Some(End::SignedOut(error.message));
                }
                match request {
                    // Rate limited or a server fault: it stays in the outbox for the next try.
                    Some(_)
                        if matches!(error.kind, ErrorKind::RateLimited | ErrorKind::Internal) => {}
                    Some(request) => {
                        let _ = self.store.acknowledge(&request).await;
                        self.emit_pending().await;
                        self.emit(Event::Refused { request, error });
                    }
                    None => tracing::warn!(error = %error.message, "the server reported an error"),
                }
            }
        }
        None
    }

    /// After Do not disturb or a pause: one summary for what was held since the last one.
    pub(super) async fn summarise(&self) {
        let done: u64 = self
            .store
            .get("summarised_upto")
            .await
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let held: Vec<u64> = self
            .store
            .center(false, 10_000)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.missed && e.notification.seq.0 > done)
            .map(|e| e.notification.seq.0)
            .collect();
        if held.is_empty() {
            return;
        }
        let count = held.len() as u64;
        let notifier = self.notifier.clone();
        let _ = tokio::task::spawn_blocking(move || notifier.summary(count)).await;
        if let Some(max) = held.iter().max() {
            let _ = self.store.set("summarised_upto", &max.to_string()).await;
        }
        self.emit(Event::Missed { count });
    }
}

impl Worker {
    /// The kept photo of the person a notification is from, fetched now if need be (for at
    /// most a second: a banner does not wait longer for a face). None when the sender is not a
    /// teammate with a photo, or it cannot be had.
    async fn face_of(&self, sender: Option<&presence::UserId>) -> Option<std::path::PathBuf> {
        let faces = self.options.faces.as_ref()?;
        let sender = sender?;
        let version = {
            let l = self.latest.read().unwrap_or_else(|p| p.into_inner());
            l.members
                .iter()
                .chain(l.myself.iter())
                .find(|m| &m.user == sender)?
                .avatar
                .clone()?
        };
        if let Some(kept) = faces.cached(sender, &version, FACE_SIZE) {
            return Some(kept);
        }
        let api = crate::api::Api::new(&self.options.server);
        let fetch = faces.get(&api, &self.options.token, sender, &version, FACE_SIZE);
        match tokio::time::timeout(std::time::Duration::from_secs(1), fetch).await {
            Ok(Ok(path)) => path,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "no face for a notification");
                None
            }
            Err(_) => None,
        }
    }
}

/// The size of a face on a desktop notification (their image slot is 48 to 80 pixels).
const FACE_SIZE: u32 = 128;
