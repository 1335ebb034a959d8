//! Starting up and reloading: the organisations, teams and people this node holds, read from
//! storage, and what a reload changes for those connected (new snapshots, closed sessions).

use super::*;

/// Takes what other nodes stored into this node's copies, one event after another (so a
/// person's versions come in order and are taken without reading the database).
async fn adopt_stored(app: std::sync::Weak<App>, mut rx: mpsc::UnboundedReceiver<Event>) {
    while let Some(event) = rx.recv().await {
        let Some(app) = app.upgrade() else { return };
        if let Event::Stored {
            user,
            version,
            after,
            person,
            applied,
            deadline,
        } = event
        {
            if let Err(e) = app
                .adopt(&user, version, after, *person, applied, deadline)
                .await
            {
                tracing::warn!(user = %user.as_str(), error = %e, "could not take what another node stored");
            }
        }
    }
}

impl App {
    /// Loads everything, applies what fell due while the server was down, and starts the timer.
    pub async fn start(
        db: Db,
        broker: Arc<dyn Broker>,
        clock: SharedClock,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<App>, AppError> {
        App::open(db, broker, clock, shutdown, true).await
    }

    /// The application layer for the admin CLI: the same operations on the same database, with
    /// no timers and no presence changes of its own. A server running on the database sees what
    /// it changes within its revision check (and carries out the consequences: sessions closed,
    /// devices signed out).
    pub async fn open_for_admin(db: Db, clock: SharedClock) -> Result<Arc<App>, AppError> {
        let (_stop, shutdown) = watch::channel(false);
        App::open(
            db,
            crate::broker::InProcess::shared(),
            clock,
            shutdown,
            false,
        )
        .await
    }

    async fn open(
        db: Db,
        broker: Arc<dyn Broker>,
        clock: SharedClock,
        shutdown: watch::Receiver<bool>,
        serving: bool,
    ) -> Result<Arc<App>, AppError> {
        let hub = Arc::new(Hub::default());
        let (timers, timer_rx) = mpsc::unbounded_channel();
        let (became_available, available_rx) = mpsc::unbounded_channel();
        let (hooks, hook_rx) = webhooks::Webhooks::new();
        let app = Arc::new(App {
            db,
            hub,
            broker,
            roster: roster::Roster::default(),
            timers,
            leases: leases::Queued::default(),
            assign_lock: Mutex::new(()),
            shutdown,
            clock: clock.clone(),
            demo: std::sync::atomic::AtomicBool::new(false),
            release: std::sync::RwLock::new(None),
            signin: signin::Guard::start(clock.clone(), signin::workers()),
            face_changes: faces::limiter(clock.clone()),
            personal_changes: favourites::limiter(clock.clone()),
            awaited: Default::default(),
            became_available,
            webhooks: hooks,
            calendars: Default::default(),
            metrics: Default::default(),
            mail: Default::default(),
            discovered: Default::default(),
            public_url: Default::default(),
            serving,
            reloads: roster::Reloads::default(),
        });
        app.reload().await?;
        if !serving {
            return Ok(app);
        }
        let (deliver, node) = (app.hub.clone(), Arc::downgrade(&app));
        // What other nodes stored, taken in the order they published it.
        let (stored_tx, stored_rx) = mpsc::unbounded_channel();
        tokio::spawn(adopt_stored(Arc::downgrade(&app), stored_rx));
        app.broker.subscribe(Arc::new(move |event: &Event, origin| {
            deliver.deliver(event);
            // Another node stored a person: this node's copy follows.
            if let (Event::Stored { .. }, Origin::OtherNode) = (event, origin) {
                let _ = stored_tx.send(event.clone());
            }
            if let (Event::OrgChanged { org }, Origin::OtherNode) = (event, origin) {
                // Another node changed an organisation: read it again here, once for however
                // many asked while a reload was waiting.
                if let Some(app) = node.upgrade() {
                    if app.reloads.ask() {
                        let org = org.clone();
                        tokio::spawn(async move {
                            app.reloads.starting().await;
                            if let Err(e) = app.reload().await {
                                tracing::warn!(%org, error = %e, "could not reload a changed organisation");
                            }
                        });
                    }
                }
            }
        }));
        // Back on the broker after a break: catch up on what other nodes stored meanwhile.
        let node = Arc::downgrade(&app);
        app.broker.on_reconnect(Arc::new(move || {
            if let Some(app) = node.upgrade() {
                tokio::spawn(async move {
                    if let Err(e) = app.catch_up().await {
                        tracing::warn!(error = %e, "could not catch up after the broker came back");
                    }
                });
            }
        }));
        tokio::spawn(favourites::tell_available(
            Arc::downgrade(&app),
            available_rx,
        ));
        tokio::spawn(webhooks::queue(Arc::downgrade(&app), hook_rx));
        tokio::spawn(webhooks::deliver(Arc::downgrade(&app), clock.clone()));
        tokio::spawn(calendars::poll(Arc::downgrade(&app), clock.clone()));
        tokio::spawn(signin::forget_idle_limits(
            Arc::downgrade(&app),
            clock.clone(),
            app.shutdown.clone(),
        ));
        let source = match app.db.backend {
            crate::db::Backend::Postgres => timers::Source::Claims,
            crate::db::Backend::Sqlite => timers::Source::Memory,
        };
        tokio::spawn(timers::run(
            Arc::downgrade(&app),
            clock,
            source,
            timer_rx,
            app.shutdown.clone(),
        ));
        tokio::spawn(leases::store(
            Arc::downgrade(&app),
            app.clock.clone(),
            app.shutdown.clone(),
        ));
        tokio::spawn(admin::watch_revisions(
            Arc::downgrade(&app),
            app.shutdown.clone(),
        ));
        let now = app.clock.now();
        let ids: Vec<UserId> = app
            .roster
            .slots(|_| true)
            .iter()
            .map(|s| s.id.clone())
            .collect();
        for id in ids {
            // Anything that fell due while the server was down applies now.
            app.mutate(&id, None, |p, rules, now| {
                p.settle(rules, now);
                Ok(())
            })
            .await?;
        }
        tracing::info!(
            users = app.roster.count(),
            elapsed_ms = app.clock.now().0 - now.0,
            "presence state loaded"
        );
        Ok(app)
    }

    /// (Re)reads organisations, teams and people from the database and makes this node match
    /// it: new people appear, changed ones (name, role, deactivation) are replaced keeping their
    /// presence, deleted ones go; teams and memberships are read anew. On a serving node, a
    /// person whose teammates changed gets a fresh team snapshot, and devices whose tokens were
    /// revoked (signed out, deactivated, deleted, reset) are closed and signed out. Whoever made
    /// the change (this node, another node, the admin CLI), the result is the same.
    pub async fn reload(&self) -> Result<(), AppError> {
        let _one = self.reloads.turn().await;
        let now = self.clock.now();
        // Read first: a change made while this reload runs moves the revision again.
        let revisions = self.db.revisions().await?;
        let orgs = self.db.orgs().await?;
        // Organisations whose statuses changed: their people here get the new list.
        let recatalogued = self.roster.put_orgs(orgs);
        let memberships: Vec<(String, UserId)> = self
            .db
            .memberships()
            .await?
            .into_iter()
            .filter_map(|(t, u)| UserId::parse(u).ok().map(|u| (t, u)))
            .collect();
        let rows = self.db.teams().await?;
        let mut teams = HashMap::new();
        for (id, org, name) in rows {
            let members = memberships
                .iter()
                .filter(|(t, _)| *t == id)
                .map(|(_, u)| u.clone())
                .collect();
            teams.insert(id, TeamEntry { org, name, members });
        }
        let user_rows = self.db.users().await?;
        let mut users: HashMap<UserId, Arc<Slot>> = HashMap::with_capacity(user_rows.len());
        let mut renamed = std::collections::HashSet::new();
        let old = self.roster.people();
        {
            for row in user_rows {
                let id = UserId::parse(row.id.clone())?;
                let slot = match old.get(&id) {
                    Some(s) if s.same_identity(&row) => s.clone(),
                    Some(s) => {
                        if s.name != row.name || s.avatar != row.avatar {
                            renamed.insert(id.clone());
                        }
                        Arc::new(Slot::from_row(
                            id.clone(),
                            row,
                            s.state.clone(),
                            s.shown.clone(),
                        ))
                    }
                    None => Arc::new(self.slot_from_row(row, now)?),
                };
                users.insert(id, slot);
            }
        }
        let parsed =
            |(a, b): (String, String)| Some((UserId::parse(a).ok()?, UserId::parse(b).ok()?));
        let favourites: Vec<(UserId, UserId)> = self
            .db
            .favourites()
            .await?
            .into_iter()
            .filter_map(parsed)
            .collect();
        let awaited: std::collections::HashSet<UserId> = self
            .db
            .alerts()
            .await?
            .into_iter()
            .filter_map(parsed)
            .map(|(_, person)| person)
            .collect();
        let directory = Directory::from_memberships(&memberships)
            .with_orgs(users.values().map(|s| (s.id.clone(), s.org.clone())))
            .with_favourites(favourites);
        let old_directory = self.hub.directory();
        let removed: Vec<UserId> = old
            .keys()
            .filter(|id| !users.contains_key(*id))
            .cloned()
            .collect();
        // Who watches other people than before (teammates, favourites), or someone (or
        // themselves) with another name or photo.
        let regrouped: Vec<UserId> = users
            .keys()
            .filter(|u| {
                let (before, after) = (old_directory.watched(u), directory.watched(u));
                before != after || renamed.contains(*u) || after.iter().any(|m| renamed.contains(m))
            })
            .cloned()
            .collect();
        self.roster.replace(teams, users, revisions);
        self.hub.set_directory(directory);
        if let Ok(mut a) = self.awaited.write() {
            *a = awaited;
        }
        self.webhooks.load(self.db.webhooks().await?);
        if self.serving {
            self.carry_out(&removed, &regrouped).await?;
            self.send_statuses(&recatalogued).await;
        }
        Ok(())
    }

    /// Sends each person of `orgs` connected to this node the statuses they may choose now
    /// (every node reloads a changed organisation, so each tells its own connections).
    async fn send_statuses(&self, orgs: &std::collections::HashSet<String>) {
        if orgs.is_empty() {
            return;
        }
        for slot in self.roster.slots(|s| orgs.contains(&s.org)) {
            if self.hub.devices_of(&slot.id).is_empty() {
                continue;
            }
            let Ok(rules) = self.rules(&slot.org) else {
                continue;
            };
            let statuses = rules.selectable(&self.person(&slot).await);
            self.hub.deliver(&Event::User {
                user: slot.id.clone(),
                frame: frame(&ServerMessage::Statuses { statuses }),
                notification: None,
                version: None,
            });
        }
    }

    fn slot_from_row(&self, mut row: UserRow, now: Timestamp) -> Result<Slot, AppError> {
        let rules = self.rules(&row.org_id)?;
        let id = UserId::parse(row.id.clone())?;
        let shown = Shown::of(&row.state, &rules, now);
        let state = SlotState {
            self_view: rules.self_view(&row.state, now),
            person: std::mem::take(&mut row.state),
            applied: std::mem::take(&mut row.applied_requests),
            stored_at: now,
            lease_queued: false,
            last_assigned: row.last_assigned,
            version: row.version,
            stored_deadline: row.next_deadline,
        };
        Ok(Slot::from_row(
            id,
            row,
            Arc::new(Mutex::new(state)),
            Arc::new(std::sync::RwLock::new(shown)),
        ))
    }
}
