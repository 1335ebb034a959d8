//! What a person's calendar says they are doing, from its iCalendar text (RFC 5545): the spans
//! they are in a meeting or out of office within a window. Pure: no I/O and no clock; the
//! window, the person's email and their time zone are passed in.
//!
//! What counts, as Teams and Slack's calendar apps count it:
//! - an accepted, busy event with a time is a **meeting** for its span;
//! - an event shown as out of office (`X-MICROSOFT-CDO-BUSYSTATUS:OOF`, as Microsoft 365 and
//!   Outlook publish it) is **out of office** until it ends, all-day or not;
//! - tentative, free (`TRANSP:TRANSPARENT`), declined, unanswered and cancelled events are
//!   nothing, and an all-day event is not a meeting;
//! - recurrence is RFC 5545's (`RRULE`, `RDATE`, `EXDATE`, and `RECURRENCE-ID` for an occurrence
//!   moved, changed or cancelled), in the event's own time zone (`TZID`, an IANA name, a
//!   Windows name Microsoft uses, or a `VTIMEZONE` naming its IANA location), so a weekly 09:00
//!   meeting stays at 09:00 local across a daylight-saving change.
//!
//! An event this cannot read (an unknown time zone, a broken date or rule) is left out and said
//! in [`Reading::skipped`], never guessed.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::parser::{read_calendar, unfold, Component};
use std::collections::HashMap;

mod zones;
pub use zones::zone_named;

/// What a span of the calendar makes the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Meeting,
    OutOfOffice,
}

/// One span the calendar makes the person busy: `start..end` in ms since 1970 (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// The event's UID (with the occurrence's start for a recurring one): stable across polls.
    pub id: String,
    pub start: i64,
    pub end: i64,
    pub kind: Kind,
}

/// A calendar read for one window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// Sorted by start.
    pub busy: Vec<Busy>,
    /// Events left out, and why (at most [`MAX_SKIPPED`]).
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("this is not an iCalendar file: {0}")]
    NotICalendar(String),
    #[error("the calendar has more than {MAX_EVENTS} events: only a calendar of one person's events can be followed")]
    TooManyEvents,
}

/// At most this many events are read from one calendar.
pub const MAX_EVENTS: usize = 20_000;
/// At most this many occurrences of one recurring event within a window.
pub const MAX_OCCURRENCES: u16 = 2_000;
/// At most this many reasons in [`Reading::skipped`].
pub const MAX_SKIPPED: usize = 20;
/// The longest event considered (an event starting further back than this before the window
/// cannot reach into it): 60 days.
const LONGEST_MS: i64 = 60 * 24 * 3600 * 1000;

/// The calendar's busy spans that overlap `from..to` (ms), for the person whose email is `me`
/// (their answer to an invitation decides), with floating times and all-day dates in `zone`.
pub fn read(
    ics: &str,
    me: Option<&str>,
    zone: Tz,
    from: i64,
    to: i64,
) -> Result<Reading, CalendarError> {
    let text = unfold(ics);
    if !text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .get(..15)
        .is_some_and(|head| head.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err(CalendarError::NotICalendar(
            "it does not start with BEGIN:VCALENDAR: is this the calendar's iCalendar (ICS) address?".into(),
        ));
    }
    // The parser takes the VCALENDAR itself away: its components are the calendar's.
    let calendar = read_calendar(&text).map_err(|e| {
        CalendarError::NotICalendar(e.lines().take(3).collect::<Vec<_>>().join(" "))
    })?;
    let mut events: Vec<&Component> = Vec::new();
    let mut zones: HashMap<String, Tz> = HashMap::new();
    for c in &calendar.components {
        match c.name.as_str().to_ascii_uppercase().as_str() {
            "VEVENT" => events.push(c),
            "VTIMEZONE" => {
                if let (Some(id), Some(tz)) = (value(c, "TZID"), vtimezone_location(c)) {
                    zones.insert(id.to_string(), tz);
                }
            }
            _ => {}
        }
    }
    if events.len() > MAX_EVENTS {
        return Err(CalendarError::TooManyEvents);
    }
    let ctx = Context {
        me: me.map(|m| m.to_ascii_lowercase()),
        zone,
        zones,
    };
    let mut reading = Reading::default();
    // Occurrences moved, changed or cancelled, by UID: their recurrence ids (UTC ms).
    let mut overridden: HashMap<&str, Vec<i64>> = HashMap::new();
    for e in &events {
        if let (Some(uid), Some(rid)) = (value(e, "UID"), property(e, "RECURRENCE-ID")) {
            match ctx.when(rid) {
                Ok(when) => overridden.entry(uid).or_default().push(when.utc_ms()),
                Err(why) => ctx.skip(&mut reading, uid, &why),
            }
        }
    }
    for e in &events {
        let uid = value(e, "UID").unwrap_or("(no UID)");
        if let Err(why) = ctx.event(e, uid, &overridden, from, to, &mut reading.busy) {
            ctx.skip(&mut reading, uid, &why);
        }
    }
    reading
        .busy
        .sort_by(|a, b| (a.start, a.end, &a.id).cmp(&(b.start, b.end, &b.id)));
    reading.busy.dedup();
    Ok(reading)
}

/// [`read`] for a calendar given as several iCalendar objects, as a CalDAV server answers (one
/// object per event with its occurrences and exceptions, each with the time zones it uses).
pub fn read_objects<'a>(
    objects: impl IntoIterator<Item = &'a str>,
    me: Option<&str>,
    zone: Tz,
    from: i64,
    to: i64,
) -> Result<Reading, CalendarError> {
    let mut all = Reading::default();
    let mut count = 0usize;
    for object in objects {
        count += 1;
        if count > MAX_EVENTS {
            return Err(CalendarError::TooManyEvents);
        }
        let reading = read(object, me, zone, from, to)?;
        all.busy.extend(reading.busy);
        for why in reading.skipped {
            if all.skipped.len() < MAX_SKIPPED {
                all.skipped.push(why);
            }
        }
    }
    all.busy
        .sort_by(|a, b| (a.start, a.end, &a.id).cmp(&(b.start, b.end, &b.id)));
    all.busy.dedup();
    Ok(all)
}

struct Context {
    me: Option<String>,
    zone: Tz,
    /// TZIDs a VTIMEZONE of this calendar names an IANA location for.
    zones: HashMap<String, Tz>,
}

/// A DTSTART, DTEND, RECURRENCE-ID or EXDATE value.
#[derive(Debug, Clone, Copy)]
enum When {
    /// A date and time in a zone (UTC for `Z`, the person's for a floating time).
    At(DateTime<Tz>),
    /// A whole day (VALUE=DATE), in the person's zone.
    Day(NaiveDate),
}

impl When {
    fn utc_ms(self) -> i64 {
        match self {
            When::At(t) => t.timestamp_millis(),
            // Recurrence ids of all-day occurrences compare by their date at midnight UTC.
            When::Day(d) => d
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp_millis())
                .unwrap_or_default(),
        }
    }
}

fn property<'a>(c: &'a Component, name: &str) -> Option<&'a icalendar::parser::Property<'a>> {
    c.properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn properties<'a>(
    c: &'a Component,
    name: &'a str,
) -> impl Iterator<Item = &'a icalendar::parser::Property<'a>> + 'a {
    c.properties
        .iter()
        .filter(move |p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn value<'a>(c: &'a Component, name: &str) -> Option<&'a str> {
    property(c, name).map(|p| p.val.as_str().trim())
}

fn param<'a>(p: &'a icalendar::parser::Property<'a>, key: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

/// The IANA zone a VTIMEZONE names (`X-LIC-LOCATION`, or a TZID that is one itself).
fn vtimezone_location(c: &Component) -> Option<Tz> {
    value(c, "X-LIC-LOCATION")
        .and_then(|l| l.parse().ok())
        .or_else(|| value(c, "TZID").and_then(zone_named))
}

impl Context {
    fn skip(&self, reading: &mut Reading, uid: &str, why: &str) {
        if reading.skipped.len() < MAX_SKIPPED {
            reading.skipped.push(format!("{uid}: {why}"));
        }
    }

    /// The zone a property's TZID names, else UTC for `Z`, else the person's (floating).
    fn zone_of(&self, p: &icalendar::parser::Property) -> Result<Option<Tz>, String> {
        match param(p, "TZID") {
            None => Ok(None),
            Some(id) => self
                .zones
                .get(id)
                .copied()
                .or_else(|| zone_named(id))
                .map(Some)
                .ok_or_else(|| format!("unknown time zone \"{id}\"")),
        }
    }

    fn when(&self, p: &icalendar::parser::Property) -> Result<When, String> {
        let zone = self.zone_of(p)?;
        let all = self.all_when(p.val.as_str(), param(p, "VALUE"), zone)?;
        all.into_iter()
            .next()
            .ok_or_else(|| format!("{} has no value", p.name.as_str()))
    }

    /// Every value of a (possibly comma-separated) date or date-time property.
    fn all_when(
        &self,
        raw: &str,
        value_type: Option<&str>,
        zone: Option<Tz>,
    ) -> Result<Vec<When>, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                let date_only = value_type.is_some_and(|t| t.eq_ignore_ascii_case("DATE"))
                    || (v.len() == 8 && !v.contains('T'));
                if date_only {
                    return NaiveDate::parse_from_str(v, "%Y%m%d")
                        .map(When::Day)
                        .map_err(|_| format!("\"{v}\" is not a date"));
                }
                let (naive, utc) = match v.strip_suffix('Z') {
                    Some(rest) => (rest, true),
                    None => (v, false),
                };
                let naive = NaiveDateTime::parse_from_str(naive, "%Y%m%dT%H%M%S")
                    .map_err(|_| format!("\"{v}\" is not a date and time"))?;
                let zone = if utc {
                    Tz::UTC
                } else {
                    zone.unwrap_or(self.zone)
                };
                local(zone, naive).map(When::At)
            })
            .collect()
    }

    /// Whether the event makes the person busy, and how; none: it does not.
    fn kind(&self, e: &Component, all_day: bool) -> Option<Kind> {
        let upper = |name: &str| value(e, name).map(|v| v.to_ascii_uppercase());
        if upper("STATUS").as_deref() == Some("CANCELLED") {
            return None;
        }
        match upper("X-MICROSOFT-CDO-BUSYSTATUS").as_deref() {
            Some("OOF") => return Some(Kind::OutOfOffice),
            Some("FREE" | "TENTATIVE" | "WORKINGELSEWHERE") => return None,
            _ => {}
        }
        if upper("TRANSP").as_deref() == Some("TRANSPARENT")
            || upper("STATUS").as_deref() == Some("TENTATIVE")
            || all_day
        {
            return None;
        }
        if let Some(me) = &self.me {
            let mine = properties(e, "ATTENDEE").find(|a| {
                a.val
                    .as_str()
                    .trim()
                    .to_ascii_lowercase()
                    .trim_start_matches("mailto:")
                    == me
            });
            if let Some(a) = mine {
                let answer = param(a, "PARTSTAT").map(|s| s.to_ascii_uppercase());
                // Unanswered invitations are tentative, as Outlook shows them.
                if !matches!(answer.as_deref(), Some("ACCEPTED") | None) {
                    return None;
                }
            }
        }
        Some(Kind::Meeting)
    }

    /// The spans of one VEVENT (every occurrence of a recurring one) overlapping `from..to`.
    fn event(
        &self,
        e: &Component,
        uid: &str,
        overridden: &HashMap<&str, Vec<i64>>,
        from: i64,
        to: i64,
        out: &mut Vec<Busy>,
    ) -> Result<(), String> {
        let dtstart = property(e, "DTSTART").ok_or("no DTSTART")?;
        let start = self.when(dtstart)?;
        let all_day = matches!(start, When::Day(_));
        let Some(kind) = self.kind(e, all_day) else {
            return Ok(());
        };
        let length = self.length(e, start)?;
        let is_override = property(e, "RECURRENCE-ID").is_some();
        let rules: Vec<&str> = properties(e, "RRULE").map(|p| p.val.as_str()).collect();
        let push = |out: &mut Vec<Busy>, at: When, recurring: bool| {
            let (s, end) = span(at, length, self.zone);
            if s < to && end > from && end > s {
                out.push(Busy {
                    id: if recurring {
                        format!("{uid}/{}", at.utc_ms())
                    } else {
                        uid.to_string()
                    },
                    start: s,
                    end,
                    kind,
                });
            }
        };
        if rules.is_empty() || is_override {
            // A single event, or one occurrence moved or changed (its RECURRENCE-ID says which).
            let id_at = match property(e, "RECURRENCE-ID") {
                Some(rid) => Some(self.when(rid)?),
                None => None,
            };
            let (s, end) = span(start, length, self.zone);
            if s < to && end > from && end > s {
                out.push(Busy {
                    id: match id_at {
                        Some(at) => format!("{uid}/{}", at.utc_ms()),
                        None => uid.to_string(),
                    },
                    start: s,
                    end,
                    kind,
                });
            }
            return Ok(());
        }
        // Recurring: expanded in the event's own zone (an all-day one in the person's).
        let anchor: DateTime<Tz> = match start {
            When::At(t) => t,
            When::Day(d) => local(self.zone, d.and_hms_opt(0, 0, 0).ok_or("bad date")?)?,
        };
        let rzone = rrule::Tz::Tz(anchor.timezone());
        let dt_start = anchor.with_timezone(&rzone);
        let mut set = rrule::RRuleSet::new(dt_start);
        for r in rules {
            let rule: rrule::RRule<rrule::Unvalidated> = r
                .parse()
                .map_err(|e| format!("the recurrence rule \"{r}\" cannot be read: {e}"))?;
            let rule = rule
                .validate(dt_start)
                .map_err(|e| format!("the recurrence rule \"{r}\" is not valid: {e}"))?;
            set = set.rrule(rule);
        }
        for p in properties(e, "RDATE") {
            for at in self.all_when(p.val.as_str(), param(p, "VALUE"), self.zone_of(p)?)? {
                set = set.rdate(self.anchor_zone(at, &rzone)?);
            }
        }
        for p in properties(e, "EXDATE") {
            for at in self.all_when(p.val.as_str(), param(p, "VALUE"), self.zone_of(p)?)? {
                set = set.exdate(self.anchor_zone(at, &rzone)?);
            }
        }
        let lookback = length_ms(length).clamp(0, LONGEST_MS);
        let after = Utc
            .timestamp_millis_opt(from - lookback - 1000)
            .single()
            .ok_or("window out of range")?
            .with_timezone(&rzone);
        let before = Utc
            .timestamp_millis_opt(to + 1000)
            .single()
            .ok_or("window out of range")?
            .with_timezone(&rzone);
        let moved = overridden.get(uid);
        let found = set.after(after).before(before).all(MAX_OCCURRENCES);
        for at in found.dates {
            let occurrence = at.with_timezone(&anchor.timezone());
            let at = match start {
                When::Day(_) => When::Day(occurrence.date_naive()),
                When::At(_) => When::At(occurrence),
            };
            if moved.is_some_and(|m| m.contains(&at.utc_ms())) {
                continue;
            }
            push(out, at, true);
        }
        Ok(())
    }

    /// A date or time as an instant in the rule's zone (an EXDATE of an all-day event is a date).
    fn anchor_zone(&self, at: When, rzone: &rrule::Tz) -> Result<DateTime<rrule::Tz>, String> {
        let t = match at {
            When::At(t) => t,
            When::Day(d) => local(self.zone, d.and_hms_opt(0, 0, 0).ok_or("bad date")?)?,
        };
        Ok(t.with_timezone(rzone))
    }

    /// How long the event lasts: DTEND − DTSTART, else DURATION, else a day for a date and
    /// nothing for a time (RFC 5545 3.6.1).
    fn length(&self, e: &Component, start: When) -> Result<Length, String> {
        if let Some(end) = property(e, "DTEND") {
            return Ok(match (start, self.when(end)?) {
                (When::Day(a), When::Day(b)) => Length::Days((b - a).num_days()),
                (When::At(a), When::At(b)) => {
                    Length::Ms(b.timestamp_millis() - a.timestamp_millis())
                }
                _ => return Err("DTSTART and DTEND are of different kinds".into()),
            });
        }
        if let Some(d) = value(e, "DURATION") {
            let ms = duration_ms(d).ok_or_else(|| format!("\"{d}\" is not a duration"))?;
            return Ok(match start {
                When::Day(_) => Length::Days(ms / (24 * 3600 * 1000)),
                When::At(_) => Length::Ms(ms),
            });
        }
        Ok(match start {
            When::Day(_) => Length::Days(1),
            When::At(_) => Length::Ms(0),
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Length {
    Ms(i64),
    /// Whole days, from midnight to midnight in the person's zone (23 or 25 hours across a
    /// daylight-saving change).
    Days(i64),
}

fn length_ms(l: Length) -> i64 {
    match l {
        Length::Ms(ms) => ms,
        Length::Days(d) => d * 25 * 3600 * 1000,
    }
}

/// An occurrence's span in UTC ms.
fn span(at: When, length: Length, zone: Tz) -> (i64, i64) {
    match (at, length) {
        (When::At(t), Length::Ms(ms)) => (t.timestamp_millis(), t.timestamp_millis() + ms),
        (When::At(t), Length::Days(d)) => (
            t.timestamp_millis(),
            t.timestamp_millis() + d * 24 * 3600 * 1000,
        ),
        (When::Day(day), length) => {
            let days = match length {
                Length::Days(d) => d,
                Length::Ms(ms) => ms / (24 * 3600 * 1000),
            };
            let midnight = |d: NaiveDate| {
                d.and_hms_opt(0, 0, 0)
                    .and_then(|n| local(zone, n).ok())
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_default()
            };
            (
                midnight(day),
                midnight(day + chrono::Days::new(days.max(0) as u64)),
            )
        }
    }
}

/// A local time in `zone`; in the hour skipped by a spring change, the same wall time an hour
/// later (as calendars do); in the hour repeated in the autumn, the first.
fn local(zone: Tz, naive: NaiveDateTime) -> Result<DateTime<Tz>, String> {
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Ok(t),
        chrono::LocalResult::Ambiguous(first, _) => Ok(first),
        chrono::LocalResult::None => zone
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .ok_or_else(|| format!("{naive} does not exist in {zone}")),
    }
}

/// An RFC 5545 duration (`PT1H30M`, `P1D`, `P2W`, `-PT5M`) in ms.
fn duration_ms(d: &str) -> Option<i64> {
    let (sign, rest) = match d.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, d.strip_prefix('+').unwrap_or(d)),
    };
    let rest = rest.strip_prefix('P')?;
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut in_time = false;
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                let secs = match (unit, in_time) {
                    ('W', false) => n * 7 * 86_400,
                    ('D', false) => n * 86_400,
                    ('H', true) => n * 3600,
                    ('M', true) => n * 60,
                    ('S', true) => n,
                    _ => return None,
                };
                total += secs;
            }
        }
    }
    if !number.is_empty() {
        return None;
    }
    Some(sign * total * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_rfc_5545_writes_them() {
        assert_eq!(duration_ms("PT1H30M"), Some(5_400_000));
        assert_eq!(duration_ms("P1D"), Some(86_400_000));
        assert_eq!(duration_ms("P2W"), Some(14 * 86_400_000));
        assert_eq!(duration_ms("-PT5M"), Some(-300_000));
        assert_eq!(duration_ms("PT"), Some(0));
        assert_eq!(duration_ms("1H"), None);
        assert_eq!(duration_ms("PT5"), None);
    }

    #[test]
    fn time_zones_by_iana_path_and_windows_names() {
        assert_eq!(zone_named("Europe/London"), Some(chrono_tz::Europe::London));
        assert_eq!(
            zone_named("/mozilla.org/20050126_1/Europe/Berlin"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            zone_named("W. Europe Standard Time"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(zone_named("Middle Earth Time"), None);
    }
}
