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
            ServerMessage::TeamSnapshot { members } => {
                self.write(|l| {
                    l.members = members.clone();
                    l.stale_since = None;
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
                    if let Some(m) = l.members.iter_mut().find(|m| m.user == user) {
                        m.view = view.clone();
                    }
                });
                // Written at the next heartbeat or when the connection ends, not once per delta:
                // deltas are frequent and every store write is a durable one.
                self.team_dirty = true;
                self.emit(Event::Delta { user, view });
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
                    match tokio::task::spawn_blocking(move || notifier.show(&n)).await {
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
