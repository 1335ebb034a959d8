//! People's calendars: a person gives their calendar's ICS address (the "secret address" Google
//! and Microsoft 365 give) or a CalDAV calendar with a user name and password, kept sealed; any
//! serving node reads each calendar every few minutes (with its ETag, or CalDAV's sync-token,
//! and in full now and then), turns it into the spans the person is in a meeting or out of
//! office (the `calendar` crate), and hands them to the engine, which shows them below anything
//! the person chose. A calendar that cannot be read is retried with
//! back-off and said in the person's settings; one that is gone (404, 410, refused) or has
//! failed for a day leaves no meeting behind.

use super::App;
use crate::db::{self, CalendarRow};
use crate::error::AppError;
use crate::secrets::Sealer;
use presence::{CalendarSpan, Timestamp, UserId};
use protocol::rest;
use std::sync::{Arc, RwLock, Weak};
use tokio::sync::Notify;

mod caldav;

/// How often a calendar is read while it answers (ms).
pub const POLL_MS: i64 = 5 * 60 * 1000;
/// A full read (not "unchanged since its ETag") at least this often (ms).
const FULL_EVERY_MS: i64 = 6 * 3600 * 1000;
/// After a failure: [`POLL_MS`] doubling, at most this long (ms).
const LONGEST_WAIT_MS: i64 = 3600 * 1000;
/// Failing this long (ms), a calendar's meetings are dropped: it may have changed meanwhile.
pub const STALE_AFTER_MS: i64 = 24 * 3600 * 1000;
/// How far ahead the spans reach (ms); the next full read extends them.
const AHEAD_MS: i64 = 8 * 24 * 3600 * 1000;
/// The most a calendar may weigh.
const MAX_BYTES: usize = 5 * 1024 * 1024;
/// How long a node holds a calendar it reads (ms).
const HOLD_MS: i64 = 2 * 60 * 1000;

/// This node's key for credentials, and the poller's wake-up.
#[derive(Default)]
pub struct Calendars {
    sealer: RwLock<Option<Arc<Sealer>>>,
    wake: Arc<Notify>,
}

impl Calendars {
    /// The key stored credentials are sealed with (none: calendars cannot be set).
    pub fn configure(&self, sealer: Option<Sealer>) {
        *self.sealer.write().unwrap_or_else(|p| p.into_inner()) = sealer.map(Arc::new);
        self.wake.notify_one();
    }

    /// The key credentials are sealed with (calendars', single sign-on's client secrets).
    pub(crate) fn sealer(&self) -> Result<Arc<Sealer>, AppError> {
        self.sealer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                AppError::conflict(
                    "this server keeps no credentials yet: its administrator sets [secrets] key (docs/server.md)",
                )
            })
    }
}

/// What is sealed: the address (for CalDAV, the calendar found from the one given), and a user
/// and password for CalDAV.
#[derive(serde::Serialize, serde::Deserialize)]
struct Source {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

impl Source {
    fn dav<'a>(&'a self, app: &'a App) -> caldav::Dav<'a> {
        caldav::Dav {
            app,
            user: self.user.as_deref().unwrap_or_default(),
            password: self.password.as_deref().unwrap_or_default(),
        }
    }
}

fn state(row: &CalendarRow) -> rest::CalendarState {
    rest::CalendarState {
        kind: row.kind.clone(),
        shown: row.shown.clone(),
        since: Timestamp(row.created_at),
        last_read: row.last_ok.map(Timestamp),
        failing_since: row.failing_since.map(Timestamp),
        last_error: row.last_error.clone(),
    }
}

impl App {
    /// The person's calendar and how its reading goes.
    pub async fn my_calendar(&self, me: &UserId) -> Result<rest::CalendarState, AppError> {
        let row = self.db.calendar_of(me.as_str()).await?.ok_or_else(|| {
            AppError::not_found("you have no calendar: add its ICS or CalDAV address")
        })?;
        Ok(state(&row))
    }

    /// Sets the person's calendar (replacing one there was): read at once.
    pub async fn set_my_calendar(
        &self,
        me: &super::Slot,
        req: rest::CalendarSource,
    ) -> Result<rest::CalendarState, AppError> {
        let sealer = self.calendars.sealer()?;
        let kind = req.kind.as_str();
        if kind != "ics" && kind != "caldav" {
            return Err(AppError::invalid(format!(
                "a calendar is \"ics\" (an iCalendar address) or \"caldav\" (a CalDAV server with a user name and password), not {kind:?}"
            )));
        }
        // webcal:// is https:// by another name (Apple and Google hand those out).
        let url = match req.url.trim().strip_prefix("webcal://") {
            Some(rest) => format!("https://{rest}"),
            None => req.url.trim().to_string(),
        };
        let parsed = self.outbound_url(&url, "a calendar's")?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let (source, shown) = if kind == "caldav" {
            let filled = |v: &Option<String>, what: &str| match v.as_deref().map(str::trim) {
                Some(v) if !v.is_empty() && v.len() <= 1000 => Ok(v.to_string()),
                Some(v) if v.len() > 1000 => Err(AppError::invalid(format!(
                    "the {what} has more than 1000 characters"
                ))),
                _ => Err(AppError::invalid(format!(
                    "a CalDAV calendar needs its {what}"
                ))),
            };
            let mut source = Source {
                url: parsed.to_string(),
                user: Some(filled(&req.user, "user name")?),
                password: Some(filled(&req.password, "password")?),
            };
            // Found now, so a wrong address or password is said while the person is there.
            let found = source
                .dav(self)
                .find_calendar(&parsed)
                .await
                .map_err(caldav::DavError::for_person)?;
            source.url = found.to_string();
            let shown = format!(
                "{} at https://{host}/…",
                source.user.as_deref().unwrap_or_default()
            );
            (source, shown)
        } else {
            let source = Source {
                url: parsed.to_string(),
                user: None,
                password: None,
            };
            (source, format!("https://{host}/…"))
        };
        let plain = serde_json::to_vec(&source).map_err(|e| AppError::internal(e.to_string()))?;
        let (key_id, sealed) = sealer.seal(me.id.as_str(), &plain);
        let now = self.clock.now().0;
        self.db
            .put_calendar(me.id.as_str(), kind, &sealed, &key_id, &shown, now)
            .await?;
        self.calendars.wake.notify_one();
        self.my_calendar(&me.id).await
    }

    /// Stops following the person's calendar: its meetings go at once.
    pub async fn delete_my_calendar(&self, me: &UserId) -> Result<(), AppError> {
        if !self.db.delete_calendar(me.as_str()).await? {
            return Err(AppError::not_found("you have no calendar"));
        }
        self.calendar_spans(me, Vec::new()).await
    }

    async fn calendar_spans(
        &self,
        user: &UserId,
        spans: Vec<CalendarSpan>,
    ) -> Result<(), AppError> {
        self.mutate(user, None, move |p, rules, now| {
            if p.calendar() != spans.as_slice() {
                p.set_calendar(rules, now, spans.clone());
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Reads one calendar and stores what came of it.
    async fn read_calendar(&self, row: CalendarRow) -> Result<(), AppError> {
        let Ok(user) = UserId::parse(row.user_id.clone()) else {
            return Ok(());
        };
        let Some(slot) = self.slot(&user) else {
            self.db.delete_calendar(&row.user_id).await?;
            return Ok(());
        };
        let sealer = self.calendars.sealer()?;
        let plain = sealer.open(&row.key_id, &row.user_id, &row.sealed)?;
        let source: Source = serde_json::from_slice(&plain)
            .map_err(|_| AppError::internal("a stored calendar is damaged"))?;
        if !sealer.is_current(&row.key_id) {
            let (key_id, sealed) = sealer.seal(&row.user_id, &plain);
            self.db
                .reseal_calendar(&row.user_id, row.created_at, &sealed, &key_id)
                .await?;
        }
        // The next read is counted from this one's start: a read that takes long (or a clock
        // that moved meanwhile) does not push the next one later than due.
        let started = self.clock.now().0;
        let now = started;
        let full = row.last_full.is_none_or(|t| now - t >= FULL_EVERY_MS);
        let known = (!full).then_some(row.etag.as_deref()).flatten();
        let (from, to) = (now - 3600 * 1000, now + AHEAD_MS);
        let outcome = if row.kind == "caldav" {
            self.fetch_caldav(&source, known, from, to).await
        } else {
            self.fetch_calendar(&source.url, known).await
        };
        let now = self.clock.now().0;
        let mut read = db::CalendarRead {
            next_at: started + POLL_MS,
            etag: row.etag.clone(),
            ok_at: Some(now),
            full: false,
            error: None,
            now,
        };
        let counted = match &outcome {
            Fetched::Unchanged => "unchanged",
            Fetched::Objects { .. } => "read",
            Fetched::Gone(_) => "gone",
            Fetched::Failed(_) => "failed",
        };
        self.metrics
            .calendars
            .get_or_create(&vec![("outcome", counted)])
            .inc();
        match outcome {
            Fetched::Unchanged => {}
            Fetched::Objects { objects, etag } => {
                let zone_name = slot
                    .state
                    .lock()
                    .await
                    .person
                    .preferences
                    .time_zone
                    .name()
                    .to_string();
                let zone: chrono_tz::Tz = zone_name.parse().unwrap_or(chrono_tz::UTC);
                match calendar::read_objects(
                    objects.iter().map(String::as_str),
                    Some(&slot.email),
                    zone,
                    from,
                    to,
                ) {
                    Ok(reading) => {
                        if !reading.skipped.is_empty() {
                            tracing::info!(user = %user.as_str(), skipped = ?reading.skipped, "calendar events left out");
                        }
                        let spans = reading
                            .busy
                            .into_iter()
                            .map(|b| CalendarSpan {
                                start: Timestamp(b.start),
                                end: Timestamp(b.end),
                                out_of_office: b.kind == calendar::Kind::OutOfOffice,
                            })
                            .collect();
                        self.calendar_spans(&user, spans).await?;
                        read.etag = etag;
                        read.full = true;
                    }
                    Err(e) => {
                        read.error = Some(e.to_string());
                    }
                }
            }
            Fetched::Gone(why) => {
                read.error = Some(why);
                self.calendar_spans(&user, Vec::new()).await?;
            }
            Fetched::Failed(why) => {
                read.error = Some(why);
            }
        }
        if read.error.is_some() {
            read.ok_at = None;
            let failures = row.failures as u32 + 1;
            read.next_at = started
                + POLL_MS
                    .saturating_mul(1i64 << failures.min(10).saturating_sub(1))
                    .min(LONGEST_WAIT_MS);
            // Failing for a day: what it said may be long out of date.
            if row.failing_since.is_some_and(|f| now - f >= STALE_AFTER_MS) {
                self.calendar_spans(&user, Vec::new()).await?;
            }
        }
        self.db
            .calendar_read(&row.user_id, row.created_at, &read)
            .await?;
        Ok(())
    }

    async fn fetch_calendar(&self, url: &str, etag: Option<&str>) -> Fetched {
        let mut request = self
            .webhooks
            .client()
            .get(url)
            .header("accept", "text/calendar, */*;q=0.5");
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Fetched::Failed(super::webhooks::words(&e)),
        };
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Fetched::Unchanged;
        }
        if matches!(status.as_u16(), 401 | 403 | 404 | 410) {
            return Fetched::Gone(format!(
                "the calendar's address answered {status}: it is gone or no longer shared; give its new address"
            ));
        }
        if !status.is_success() {
            return Fetched::Failed(format!("the calendar's address answered {status}"));
        }
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match read_body(response).await {
            Ok(text) => Fetched::Objects {
                objects: vec![text],
                etag,
            },
            Err(why) => Fetched::Failed(why),
        }
    }

    /// A CalDAV calendar: unchanged while its version is `known`, else its events in `from..to`.
    async fn fetch_caldav(
        &self,
        source: &Source,
        known: Option<&str>,
        from: i64,
        to: i64,
    ) -> Fetched {
        let url = match reqwest::Url::parse(&source.url) {
            Ok(url) => url,
            Err(_) => {
                return Fetched::Gone(
                    "the stored calendar address is damaged: set the calendar again".into(),
                )
            }
        };
        let dav = source.dav(self);
        let version = match dav.version(&url).await {
            Ok(v) => v,
            Err(e) => return e.fetched(),
        };
        if known.is_some() && version.as_deref() == known {
            return Fetched::Unchanged;
        }
        match dav.events(&url, from, to).await {
            Ok(objects) => Fetched::Objects {
                objects,
                etag: version,
            },
            Err(e) => e.fetched(),
        }
    }
}

/// A calendar's answer as text, at most [`MAX_BYTES`].
async fn read_body(mut response: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BYTES {
                    return Err(format!(
                        "the calendar is larger than {} MiB: follow a calendar of your own events only",
                        MAX_BYTES / 1024 / 1024
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(super::webhooks::words(&e)),
        }
    }
    String::from_utf8(body).map_err(|_| "the calendar is not text (UTF-8)".into())
}

enum Fetched {
    Unchanged,
    /// Its iCalendar objects (one for an ICS address), and the version they are (an ETag, a
    /// sync-token).
    Objects {
        objects: Vec<String>,
        etag: Option<String>,
    },
    /// Gone or refused: its meetings go at once.
    Gone(String),
    Failed(String),
}

/// Reads what is due, sleeping until the next calendar is due or one is set.
pub(crate) async fn poll(app: Weak<App>, clock: clock::SharedClock) {
    loop {
        let Some(node) = app.upgrade() else { return };
        if *node.shutdown.borrow() {
            return;
        }
        let now = clock.now().0;
        let due = match node.db.take_due_calendars(now, now + HOLD_MS, 10).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the calendars due");
                Vec::new()
            }
        };
        let busy = due.len() == 10;
        for row in due {
            let user = row.user_id.clone();
            if let Err(e) = node.read_calendar(row).await {
                tracing::warn!(%user, error = %e, "could not read a calendar");
            }
        }
        if busy {
            continue;
        }
        let next = node.db.next_calendar_at().await.ok().flatten();
        let wake = node.calendars.wake.clone();
        if !super::pause(node, &clock, next, &wake).await {
            return;
        }
    }
}
