//! The worker: one task that owns the connection, the outbox and [`Latest`], and emits every
//! [`Event`].

use super::*;

pub(super) struct Worker {
    pub(super) store: Store,
    pub(super) notifier: Arc<dyn Notifier>,
    pub(super) options: Options,
    pub(super) events: broadcast::Sender<Event>,
    pub(super) activity: DeviceActivity,
    /// An application on the person's list is using the microphone.
    pub(super) in_call: bool,
    pub(super) last_seq: u64,
    pub(super) interruptible: Option<bool>,
    /// What the server last said (the self view, the team): written here, read by the app.
    pub(super) latest: Shared,
    /// The members changed since the snapshot was last stored.
    pub(super) team_dirty: bool,
    /// The people on screen beyond the team, watched on every connection.
    pub(super) watching: Vec<UserId>,
}

pub(super) enum End {
    Stop,
    Lost(String),
    SignedOut(String),
}

pub(super) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Worker {
    pub(super) fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    pub(super) fn store_failed(&self, e: StoreError) {
        tracing::error!(error = %e, "local store");
        self.emit(Event::StoreFailed {
            message: e.to_string(),
        });
    }

    /// Writes what the server said into [`Latest`] (before the event that says so is emitted).
    pub(super) fn write(&self, f: impl FnOnce(&mut Latest)) {
        f(&mut self.latest.write().unwrap_or_else(|p| p.into_inner()));
    }

    /// The connection's state, said; the team is marked not live from the moment it is lost
    /// (and live again once the server is back: its fresh snapshot follows).
    fn connection(&self, c: Connection) {
        let now = self.options.clock.now();
        match &c {
            Connection::Online => self.write(|l| l.stale_since = None),
            Connection::Offline { .. } | Connection::SignedOut { .. } => {
                self.write(|l| {
                    l.stale_since.get_or_insert(now);
                });
            }
            Connection::Connecting => {}
        }
        self.emit(Event::Connection(c));
    }

    /// What this device last knew, from the store: shown until the server says more.
    async fn restore(&self) {
        let me = self.store.self_view().await.ok().flatten();
        let team = self.store.team().await.ok().flatten();
        self.write(|l| {
            l.me = me;
            if let Some((members, at)) = team {
                l.members = members;
                l.stale_since = Some(at);
            }
        });
    }

    pub(super) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        self.restore().await;
        let mut attempt: u32 = 0;
        // Addresses of a cluster that could not be reached in a row: each is tried at once
        // before backing off.
        let mut unreachable = 0;
        loop {
            self.connection(Connection::Connecting);
            let end = match self.connect().await {
                Ok(ws) => {
                    attempt = 0;
                    unreachable = 0;
                    let end = self.serve(ws, &mut rx).await;
                    self.flush_team().await;
                    end
                }
                Err(end) => {
                    let server = &self.options.server;
                    let failed = server.url().to_string();
                    unreachable += 1;
                    if server.fail_over(&failed) {
                        tracing::info!(server = %failed, next = %server.url(), "a node cannot be reached: trying the next");
                        if unreachable < server.addresses().len() {
                            continue;
                        }
                    }
                    unreachable = 0;
                    end
                }
            };
            let reason = match end {
                End::Stop => return,
                End::SignedOut(reason) => {
                    self.connection(Connection::SignedOut { reason });
                    // Keep taking changes into the outbox until told to stop.
                    while let Some(input) = rx.recv().await {
                        match input {
                            Input::Stop => return,
                            Input::Command(c, reply) => {
                                self.queue(c, reply).await;
                            }
                            Input::Watch(people) => self.watch(people),
                        }
                    }
                    return;
                }
                End::Lost(reason) => reason,
            };
            // Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … up to the maximum.
            let cap = self.options.max_backoff.min(Duration::from_millis(
                500u64.saturating_mul(1 << attempt.min(16)),
            ));
            let wait = Duration::from_millis(
                rand::thread_rng().gen_range(cap.as_millis() as u64 / 2..=cap.as_millis() as u64),
            );
            attempt += 1;
            tracing::info!(%reason, retry_in_ms = wait.as_millis() as u64, "offline");
            self.connection(Connection::Offline {
                reason,
                retry_in_ms: wait.as_millis() as u64,
            });
            let sleep = tokio::time::sleep(wait);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    input = rx.recv() => match input {
                        None | Some(Input::Stop) => return,
                        Some(Input::Command(c, reply)) => { self.queue(c, reply).await; }
                        Some(Input::Watch(people)) => self.watch(people),
                    }
                }
            }
        }
    }

    /// Stores a change in the outbox (or, for auto-away, remembers the activity). Returns the
    /// message to send now when connected.
    pub(super) async fn queue(
        &mut self,
        command: Command,
        reply: Option<oneshot::Sender<RequestId>>,
    ) -> Option<ClientMessage> {
        let request = RequestId(format!(
            "{}-{}",
            self.options.device.as_str(),
            uuid::Uuid::new_v4().simple()
        ));
        let message = match command {
            Command::Activity(a) => {
                self.activity = a;
                self.emit(Event::Activity { activity: a });
                return Some(self.report());
            }
            Command::InCall(app) => {
                self.in_call = app.is_some();
                self.emit(Event::InCall { app });
                return Some(self.report());
            }
            Command::Change(change) => ClientMessage::Change {
                request: request.clone(),
                change,
            },
            Command::MarkRead(seqs) => {
                self.local_change(&seqs, true, false).await;
                ClientMessage::MarkRead {
                    request: request.clone(),
                    notifications: seqs,
                }
            }
            Command::Dismiss(seqs) => {
                self.local_change(&seqs, true, true).await;
                ClientMessage::Dismiss {
                    request: request.clone(),
                    notifications: seqs,
                }
            }
            Command::MarkAllRead => {
                let unread: Vec<NotificationSeq> = self
                    .store
                    .center(false, 10_000)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| !e.notification.read)
                    .map(|e| e.notification.seq)
                    .collect();
                self.local_change(&unread, true, false).await;
                ClientMessage::MarkAllRead {
                    request: request.clone(),
                }
            }
        };
        if let Err(e) = self
            .store
            .enqueue(&request, &message, self.options.clock.now())
            .await
        {
            self.store_failed(e);
            return None;
        }
        self.emit_pending().await;
        if let Some(reply) = reply {
            let _ = reply.send(request);
        }
        Some(message)
    }

    /// Stores the team as last seen, if it changed: what the panel shows, marked stale, offline.
    pub(super) async fn flush_team(&mut self) {
        if !self.team_dirty {
            return;
        }
        let members = self
            .latest
            .read()
            .map(|l| l.members.clone())
            .unwrap_or_default();
        match self
            .store
            .save_team(&members, self.options.clock.now())
            .await
        {
            Ok(()) => self.team_dirty = false,
            Err(e) => self.store_failed(e),
        }
    }

    pub(super) async fn local_change(&self, seqs: &[NotificationSeq], read: bool, dismissed: bool) {
        if let Err(e) = self.store.apply_change(seqs, read, dismissed).await {
            self.store_failed(e);
        }
        for s in seqs {
            self.notifier.close(s.0);
        }
        self.emit(Event::CenterChanged);
    }

    pub(super) async fn emit_pending(&self) {
        let count = self.store.pending().await.map(|p| p.len()).unwrap_or(0);
        self.emit(Event::Pending { count });
    }

    pub(super) fn report(&mut self) -> ClientMessage {
        // Sequence numbers only grow, across restarts too: the clock, or one more.
        self.last_seq = (self.options.clock.now().0 as u64).max(self.last_seq + 1);
        ClientMessage::DeviceReport {
            report: DeviceReport {
                device: self.options.device.clone(),
                seq: self.last_seq,
                activity: self.activity,
                in_call: self.in_call,
            },
        }
    }

    /// Watches these people from now on (on the next connection, when offline); whom the
    /// person no longer sees is forgotten at once.
    fn watch(&mut self, people: Vec<UserId>) {
        self.write(|l| l.glances.retain(|m| people.contains(&m.user)));
        self.watching = people;
    }

    pub(super) async fn connect(&mut self) -> Result<Ws, End> {
        let server = &self.options.server;
        let (mut ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async_tls_with_config(
                server.ws_url(),
                None,
                false,
                Some(server.connector()),
            ),
        )
        .await
        .map_err(|_| {
            End::Lost(format!(
                "the server at {} did not answer within 10 s",
                self.options.server
            ))
        })?
        .map_err(|e| match certificate_problem(&e) {
            Some(problem) => End::Lost(format!(
                "cannot connect securely to {}: {problem}",
                self.options.server
            )),
            None => End::Lost(format!(
                "cannot reach the server at {}: {e}",
                self.options.server
            )),
        })?;
        let resume_after = match self.store.cursor().await {
            Ok(c) => c,
            Err(e) => {
                self.store_failed(e);
                None
            }
        };
        let hello = ClientMessage::Hello {
            protocol: protocol::PROTOCOL_VERSION,
            token: self.options.token.clone(),
            device: self.options.device.clone(),
            resume_after,
        };
        ws.send(Message::Text(encode(&hello).into()))
            .await
            .map_err(|e| End::Lost(e.to_string()))?;
        Ok(ws)
    }

    pub(super) async fn serve(
        &mut self,
        mut ws: Ws,
        rx: &mut mpsc::UnboundedReceiver<Input>,
    ) -> End {
        let mut welcomed = false;
        // The server watches people on screen for this connection (protocol 3 and later).
        let mut glances = false;
        // The server may ask for a shorter heartbeat (a third of its device lease).
        let mut beat = self.options.heartbeat;
        let mut heartbeat = tokio::time::interval(beat);
        // After a sleep (or a stopped process), one heartbeat, not one per missed beat.
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        heartbeat.tick().await;
        // Three heartbeats without a frame from the server (each heartbeat is answered): the
        // server or the path to it is gone. Measured from the last frame heard, so nothing else
        // the loop does (a heartbeat's tick, a command) restarts it.
        let silence = tokio::time::sleep(beat * 3);
        tokio::pin!(silence);
        loop {
            tokio::select! {
                () = &mut silence => {
                    return End::Lost(format!(
                        "the server went silent (nothing heard for {} s): reconnecting",
                        (beat * 3).as_secs_f32()
                    ));
                }
                input = rx.recv() => match input {
                    None | Some(Input::Stop) => {
                        let _ = ws.close(None).await;
                        return End::Stop;
                    }
                    Some(Input::Command(c, reply)) => {
                        if let Some(m) = self.queue(c, reply).await {
                            if welcomed {
                                if let Err(e) = ws.send(Message::Text(encode(&m).into())).await {
                                    return End::Lost(e.to_string());
                                }
                            }
                        }
                    }
                    Some(Input::Watch(people)) => {
                        self.watch(people);
                        if welcomed && glances {
                            let m = ClientMessage::WatchPeople { people: self.watching.clone() };
                            if let Err(e) = ws.send(Message::Text(encode(&m).into())).await {
                                return End::Lost(e.to_string());
                            }
                        }
                    }
                },
                _ = heartbeat.tick() => {
                    self.flush_team().await;
                    if welcomed {
                        if let Err(e) = ws.send(Message::Text(encode(&ClientMessage::Heartbeat).into())).await {
                            return End::Lost(e.to_string());
                        }
                    }
                }
                frame = ws.next() => {
                    if let Some(Ok(_)) = &frame {
                        silence.as_mut().reset(tokio::time::Instant::now() + beat * 3);
                    }
                    let text = match frame {
                        None => return End::Lost("the server closed the connection".into()),
                        Some(Err(e)) => return End::Lost(format!("the connection failed: {e}")),
                        Some(Ok(Message::Text(t))) => (t, std::time::Instant::now()),
                        Some(Ok(Message::Close(f))) => {
                            return End::Lost(f.map(|f| f.reason.to_string()).unwrap_or_else(|| "the server closed the connection".into()))
                        }
                        Some(Ok(_)) => continue,
                    };
                    let (text, read_at) = text;
                    let message = match decode_server(text.as_str()) {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, "a frame from the server could not be read; skipped");
                            continue;
                        }
                    };
                    if let ServerMessage::Welcome { heartbeat_ms, protocol, .. } = &message {
                        welcomed = true;
                        glances = *protocol >= 3;
                        if let Some(asked) = heartbeat_ms.map(Duration::from_millis) {
                            if asked < beat && !asked.is_zero() {
                                beat = asked;
                                silence.as_mut().reset(tokio::time::Instant::now() + beat * 3);
                                heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
                                heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                            }
                        }
                        self.connection(Connection::Online);
                        // Replay what the server has not acknowledged, then say where we are.
                        let pending = self.store.pending().await.unwrap_or_default();
                        let report = self.report();
                        let watch = (glances && !self.watching.is_empty())
                            .then(|| ClientMessage::WatchPeople { people: self.watching.clone() });
                        for m in pending.into_iter().map(|(_, m)| m).chain(std::iter::once(report)).chain(watch) {
                            if let Err(e) = ws.send(Message::Text(encode(&m).into())).await {
                                return End::Lost(e.to_string());
                            }
                        }
                        continue;
                    }
                    // The server has no live report from this device (it slept past its lease,
                    // or its clock went back): report again, above what the server applied.
                    if let ServerMessage::ReportNeeded { last_seq, reason } = &message {
                        tracing::info!(%reason, "the server asks for this device's report again");
                        self.last_seq = self.last_seq.max(last_seq.unwrap_or(0));
                        let report = self.report();
                        if let Err(e) = ws.send(Message::Text(encode(&report).into())).await {
                            return End::Lost(e.to_string());
                        }
                        continue;
                    }
                    if let Some(end) = self.apply(message, read_at).await {
                        let _ = ws.close(None).await;
                        return end;
                    }
                }
            }
        }
    }
}
