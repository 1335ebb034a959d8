//! A client of the real server over a real WebSocket, speaking the protocol crate's messages.

use super::*;

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub device: DeviceId,
    pub user: UserId,
    pub cursor: NotificationSeq,
    pub members: Vec<protocol::Member>,
    /// The last self view this connection was sent, whoever read it.
    pub last_self: Option<presence::SelfView>,
    /// Frames read while waiting for something else (see [`Client::report_applied`]), read
    /// again first.
    held: std::collections::VecDeque<ServerMessage>,
    seq: u64,
    request: u64,
}

/// How long a test waits for what it expects before failing.
pub(super) const WAIT: Duration = Duration::from_secs(10);

impl Client {
    /// Opens a connection without saying hello.
    pub async fn raw(addr: SocketAddr) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws"))
            .await
            .expect("websocket connects")
            .0
    }

    pub async fn connect(
        addr: SocketAddr,
        token: &str,
        device: &str,
        resume_after: Option<NotificationSeq>,
    ) -> Client {
        let mut ws = Client::raw(addr).await;
        let hello = ClientMessage::Hello {
            protocol: protocol::PROTOCOL_VERSION,
            token: token.into(),
            device: DeviceId::parse(device).unwrap(),
            resume_after,
        };
        ws.send(Message::Text(encode(&hello).into())).await.unwrap();
        let mut c = Client {
            ws,
            device: DeviceId::parse(device).unwrap(),
            user: UserId::parse("pending").unwrap(),
            cursor: NotificationSeq(0),
            members: vec![],
            last_self: None,
            held: Default::default(),
            seq: 0,
            request: 0,
        };
        match c.next().await {
            ServerMessage::Welcome { user, cursor, .. } => {
                c.user = user;
                c.cursor = cursor;
            }
            other => panic!("expected welcome, got {other:?}"),
        }
        match c.next().await {
            ServerMessage::TeamSnapshot { members, .. } => c.members = members,
            other => panic!("expected team snapshot, got {other:?}"),
        }
        match c.next().await {
            ServerMessage::SelfUpdate { .. } => {}
            other => panic!("expected self update, got {other:?}"),
        }
        c
    }

    pub async fn send(&mut self, m: &ClientMessage) {
        self.send_raw(encode(m)).await;
    }

    pub async fn send_raw(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Sends any WebSocket frame (a ping, a binary frame); the error if the write failed.
    pub async fn send_frame(
        &mut self,
        frame: Message,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(frame).await
    }

    /// Sends a frame the server may refuse by ending the connection while it is still being
    /// written: the error, if the write itself failed.
    pub async fn try_send_raw(
        &mut self,
        text: String,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(Message::Text(text.into())).await
    }

    /// A request id unique to this device, as the client core makes them (a person's devices
    /// share one list of applied requests).
    pub fn next_request(&mut self) -> RequestId {
        self.request += 1;
        RequestId(format!("{}-r{}", self.device.as_str(), self.request))
    }

    /// The next server frame (text), decoded; panics after 10 s.
    pub async fn next(&mut self) -> ServerMessage {
        self.try_next(WAIT)
            .await
            .unwrap_or_else(|| panic!("no frame within {WAIT:?}"))
    }

    /// The next frame within `wait`, or none (connection closed or nothing came).
    pub async fn try_next(&mut self, wait: Duration) -> Option<ServerMessage> {
        if let Some(m) = self.held.pop_front() {
            return Some(m);
        }
        loop {
            let m = tokio::time::timeout(wait, self.ws.next()).await.ok()??;
            match m {
                Ok(Message::Text(t)) => {
                    let m = decode_server(t.as_str()).expect("the server sends valid frames");
                    if let ServerMessage::SelfUpdate { view } = &m {
                        self.last_self = Some(view.clone());
                    }
                    return Some(m);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Skips frames until one matches; panics after 10 s.
    pub async fn until(
        &mut self,
        what: &str,
        pred: impl Fn(&ServerMessage) -> bool,
    ) -> ServerMessage {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_next(left).await {
                Some(m) if pred(&m) => return m,
                Some(_) => continue,
                None => panic!("waited 10 s for {what}: it never came"),
            }
        }
    }

    /// Sends a heartbeat and waits for its ack, skipping what comes before it.
    pub async fn heartbeat(&mut self) {
        self.send(&ClientMessage::Heartbeat).await;
        self.until("heartbeat ack", |m| {
            matches!(m, ServerMessage::HeartbeatAck { .. })
        })
        .await;
    }

    /// Sends a heartbeat and reads up to its answer, returning what came before it. A connection
    /// writes everything queued for it before it answers a frame, so whatever the server had
    /// sent this connection by the time it read the heartbeat is in the list: the end of a wait
    /// that proves, not a duration that hopes.
    pub async fn barrier(&mut self) -> Vec<ServerMessage> {
        self.send(&ClientMessage::Heartbeat).await;
        let mut before = Vec::new();
        loop {
            match self.try_next(WAIT).await {
                // The answer: an ack, or (a device whose lease lapsed) "report again".
                Some(ServerMessage::HeartbeatAck { .. } | ServerMessage::ReportNeeded { .. }) => {
                    return before
                }
                Some(m) => before.push(m),
                None => panic!("no answer to a heartbeat within {WAIT:?}"),
            }
        }
    }

    /// Nothing matching `pred` was sent to this connection by now (ended on [`Client::barrier`]):
    /// for what this node delivers, once what would cause it has been answered.
    pub async fn none(&mut self, what: &str, pred: impl Fn(&ServerMessage) -> bool) {
        for m in self.barrier().await {
            assert!(!pred(&m), "expected no {what}, got {m:?}");
        }
    }

    /// Nothing matching `pred` within `wait` of real time. Only where nothing observable ends the
    /// wait: the timer task's answer to the manual clock's move a millisecond before a deadline,
    /// and a catch-up a node runs by itself after its bus comes back.
    pub async fn none_within(
        &mut self,
        what: &str,
        wait: Duration,
        pred: impl Fn(&ServerMessage) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.try_next(left).await {
                Some(m) => assert!(!pred(&m), "expected no {what}, got {m:?}"),
                None => return,
            }
        }
    }

    /// Reads until a frame matching `later` (returned), asserting that nothing matching `pred`
    /// came before it: for what travels another way (another node, the bus), a later frame on
    /// the same path proves that an earlier one would have arrived.
    pub async fn none_before(
        &mut self,
        what: &str,
        pred: impl Fn(&ServerMessage) -> bool,
        later_what: &str,
        later: impl Fn(&ServerMessage) -> bool,
    ) -> ServerMessage {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(m) = self.try_next(left).await else {
                panic!("waited {WAIT:?} for {later_what}");
            };
            if later(&m) {
                return m;
            }
            assert!(
                !pred(&m),
                "expected no {what} before {later_what}, got {m:?}"
            );
        }
    }

    /// Whether the server closed the connection (within 10 s), skipping other frames.
    pub async fn closed(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn report(&mut self, activity: DeviceActivity, in_call: bool) {
        self.seq += 1;
        let report = DeviceReport {
            device: self.device.clone(),
            seq: self.seq,
            activity,
            in_call,
        };
        self.send(&ClientMessage::DeviceReport { report }).await;
    }

    /// Reports and waits until the server has applied the report (stored and published what it
    /// changed), keeping the frames that came before the answer to be read as usual. A report
    /// the server calls stale (this device reported a higher sequence on an earlier connection)
    /// is sent again above it, as the apps do.
    pub async fn report_applied(&mut self, activity: DeviceActivity, in_call: bool) {
        self.report(activity, in_call).await;
        let mut before = std::collections::VecDeque::new();
        loop {
            match self.try_next(WAIT).await {
                Some(ServerMessage::ReportApplied { seq }) if seq == self.seq => break,
                Some(ServerMessage::ReportNeeded {
                    last_seq: Some(last),
                    ..
                }) if last >= self.seq => {
                    self.seq = last;
                    self.report(activity, in_call).await;
                }
                Some(m) => before.push_back(m),
                None => panic!("report {} was not applied within {WAIT:?}", self.seq),
            }
        }
        before.append(&mut self.held);
        self.held = before;
    }

    /// Sends a request and waits for its ack; panics on an error.
    pub async fn request(&mut self, make: impl FnOnce(RequestId) -> ClientMessage) {
        let (id, answer) = self.answer(make).await;
        if !matches!(answer, ServerMessage::Ack { .. }) {
            panic!("request {id:?} failed: {answer:?}");
        }
    }

    /// Sends a request and returns the error it got.
    pub async fn refused(
        &mut self,
        make: impl FnOnce(RequestId) -> ClientMessage,
    ) -> protocol::WireError {
        match self.answer(make).await {
            (_, ServerMessage::Error { error, .. }) => error,
            (id, other) => panic!("request {id:?} was accepted: {other:?}"),
        }
    }

    /// Sends a request and returns its id and its answer: the `Ack` or the `Error` naming it.
    async fn answer(
        &mut self,
        make: impl FnOnce(RequestId) -> ClientMessage,
    ) -> (RequestId, ServerMessage) {
        let id = self.next_request();
        self.send(&make(id.clone())).await;
        let answer = self
            .until("the answer", |m| match m {
                ServerMessage::Ack { request } => *request == id,
                ServerMessage::Error { request, .. } => request.as_ref() == Some(&id),
                _ => false,
            })
            .await;
        (id, answer)
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Let the server see the close.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
    }
}

pub fn delta_for(user: &UserId, status: StatusId) -> impl Fn(&ServerMessage) -> bool + '_ {
    move |m| matches!(m, ServerMessage::PresenceDelta { user: u, view } if u == user && view.status.status == status)
}

pub fn any_delta(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::PresenceDelta { .. })
}
