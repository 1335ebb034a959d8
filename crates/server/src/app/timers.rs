//! Time that passes by itself: a timed status ending, a lease lapsing, an idle threshold, a
//! message clearing, a schedule window. [`DeadlineQueue`] is pure (each person's next deadline,
//! earliest first); [`run`] is the thin task that sleeps on the server's clock until the first
//! one and settles whoever is due.

use super::App;
use clock::SharedClock;
use presence::{Span, Timestamp, UserId};
use std::collections::{BTreeSet, HashMap};
use tokio::sync::{mpsc, watch};

/// Each person's next deadline, earliest first; at most one per person.
#[derive(Debug, Default)]
pub struct DeadlineQueue {
    queue: BTreeSet<(Timestamp, UserId)>,
    due: HashMap<UserId, Timestamp>,
}

impl DeadlineQueue {
    /// Sets (or, with `None`, clears) a person's next deadline, replacing the one before.
    pub fn set(&mut self, user: UserId, at: Option<Timestamp>) {
        if let Some(old) = self.due.remove(&user) {
            self.queue.remove(&(old, user.clone()));
        }
        if let Some(at) = at {
            self.due.insert(user.clone(), at);
            self.queue.insert((at, user));
        }
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Timestamp> {
        self.queue.first().map(|(t, _)| *t)
    }

    /// Takes one person whose deadline is at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<UserId> {
        match self.queue.first() {
            Some((t, _)) if *t <= now => {
                let (_, user) = self.queue.pop_first()?;
                self.due.remove(&user);
                Some(user)
            }
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.due.len()
    }

    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }
}

/// How often a node on PostgreSQL looks for due people it does not know of (whose deadline
/// another node stored): the most a timer there can be late.
pub const POLL: Span = Span::seconds(1);

/// How long a claim on a due person holds: a node that dies holding one delays that person's
/// timer by at most this.
pub const CLAIM: Span = Span::seconds(10);

/// How many due people one claim takes.
const BATCH: i64 = 500;

/// Where deadlines come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// One node (SQLite): its memory holds every deadline; it settles whoever is due.
    Memory,
    /// PostgreSQL, one node or several: the stored deadlines are the queue. Each node wakes at
    /// the deadlines it knows of and every [`POLL`], and settles only the people it claims
    /// ([`crate::db::Db::claim_due`]), so each timer fires on one node, also while nodes come
    /// and go.
    Claims,
}

/// Holds the next deadlines this node knows of and wakes exactly then, on the server's
/// clock. Whatever changes a person sends their next deadline here (see `App::mutate`).
pub(super) async fn run(
    app: std::sync::Weak<App>,
    clock: SharedClock,
    source: Source,
    mut rx: mpsc::UnboundedReceiver<(UserId, Option<Timestamp>)>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut queue = DeadlineQueue::default();
    let mut poll = (source == Source::Claims).then(|| clock.now());
    loop {
        let next = match (queue.next(), poll) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleep = async {
            match next {
                Some(t) => clock.sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            msg = rx.recv() => {
                let Some((user, at)) = msg else { return };
                queue.set(user, at);
            }
            _ = sleep => {
                let now = clock.now();
                let Some(app) = app.upgrade() else { return };
                match source {
                    Source::Memory => settle_from_memory(&app, &mut queue, now).await,
                    Source::Claims => {
                        while queue.pop_due(now).is_some() {}
                        settle_claimed(&app, now).await;
                        poll = Some(now.plus(POLL));
                    }
                }
            }
        }
    }
}

async fn settle_from_memory(app: &App, queue: &mut DeadlineQueue, now: Timestamp) {
    while let Some(user) = queue.pop_due(now) {
        // `mutate` sends the following deadline back through the channel.
        if let Err(e) = app
            .mutate(&user, None, |p, rules, now| {
                p.settle(rules, now);
                Ok(())
            })
            .await
        {
            tracing::warn!(user = %user.as_str(), error = %e, "a timer could not apply; retrying in 5 s");
            queue.set(user, Some(Timestamp(now.0 + 5000)));
        }
    }
}

/// Claims the people due at `now` (batch by batch) and settles them.
async fn settle_claimed(app: &App, now: Timestamp) {
    loop {
        let claimed = match app.db.claim_due(now.0, now.plus(CLAIM).0, BATCH).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not read which timers are due; trying again in {} ms", POLL.millis());
                return;
            }
        };
        let full = claimed.len() as i64 == BATCH;
        for (user, version) in claimed {
            let Ok(id) = UserId::parse(user.as_str()) else {
                continue;
            };
            if let Err(e) = app.settle_claimed(&id, version).await {
                tracing::warn!(user = %user, error = %e, "a timer could not apply; another claim retries it in {} ms", CLAIM.millis());
            }
        }
        if !full {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    #[test]
    fn due_people_come_out_earliest_first_and_exactly_at_their_instant() {
        let mut q = DeadlineQueue::default();
        q.set(u("b"), Some(Timestamp(2_000)));
        q.set(u("a"), Some(Timestamp(1_000)));
        q.set(u("c"), Some(Timestamp(3_000)));
        assert_eq!(q.next(), Some(Timestamp(1_000)));
        assert_eq!(q.pop_due(Timestamp(999)), None, "not a millisecond early");
        assert_eq!(q.pop_due(Timestamp(2_000)), Some(u("a")));
        assert_eq!(q.pop_due(Timestamp(2_000)), Some(u("b")));
        assert_eq!(q.pop_due(Timestamp(2_000)), None);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn a_new_deadline_replaces_the_old_one_and_none_clears_it() {
        let mut q = DeadlineQueue::default();
        q.set(u("a"), Some(Timestamp(5_000)));
        q.set(u("a"), Some(Timestamp(9_000)));
        assert_eq!(q.len(), 1);
        assert_eq!(
            q.pop_due(Timestamp(5_000)),
            None,
            "the old deadline is gone"
        );
        assert_eq!(q.next(), Some(Timestamp(9_000)));
        q.set(u("a"), None);
        assert!(q.is_empty());
        assert_eq!(q.next(), None);
    }
}
