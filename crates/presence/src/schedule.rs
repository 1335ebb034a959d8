//! One schedule for working hours, quiet hours and do-not-disturb, in the person's time zone,
//! and the "clear after" choices of a status message.

use chrono::{
    DateTime, Datelike, Duration as ChronoDuration, LocalResult, NaiveDate, NaiveDateTime,
    NaiveTime, TimeZone as _, Utc, Weekday,
};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::time::{Span, Timestamp};
use crate::PresenceError;

/// An IANA time zone ("Europe/London").
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub const UTC: TimeZone = TimeZone(chrono_tz::Tz::UTC);

    pub fn parse(name: &str) -> Result<TimeZone, PresenceError> {
        chrono_tz::Tz::from_str(name)
            .map(TimeZone)
            .map_err(|_| PresenceError::InvalidTimeZone(name.chars().take(64).collect()))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    fn local(&self, t: Timestamp) -> NaiveDateTime {
        let utc = DateTime::<Utc>::from_timestamp_millis(t.millis()).unwrap_or_default();
        utc.with_timezone(&self.0).naive_local()
    }

    /// The instant of a local wall-clock time. In a DST gap the wall time does not exist and the
    /// first instant after the gap is used; in an overlap, the earlier one.
    fn instant(&self, local: NaiveDateTime) -> Timestamp {
        let mut probe = local;
        for _ in 0..4 {
            match self.0.from_local_datetime(&probe) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    return Timestamp(t.timestamp_millis());
                }
                LocalResult::None => probe += ChronoDuration::minutes(30),
            }
        }
        Timestamp(local.and_utc().timestamp_millis())
    }

    /// Minutes east of UTC at `t`, for showing a teammate's local time.
    pub fn offset_minutes(&self, t: Timestamp) -> i32 {
        let local = self.local(t);
        let utc = DateTime::<Utc>::from_timestamp_millis(t.millis())
            .unwrap_or_default()
            .naive_utc();
        ((local - utc).num_minutes()) as i32
    }
}

impl TryFrom<String> for TimeZone {
    type Error = PresenceError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TimeZone::parse(&s)
    }
}

impl From<TimeZone> for String {
    fn from(t: TimeZone) -> String {
        t.name().to_owned()
    }
}

/// Minutes after local midnight, 0..=1439.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "number"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = u16))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct MinuteOfDay(u16);

impl MinuteOfDay {
    pub fn new(hour: u16, minute: u16) -> Result<MinuteOfDay, PresenceError> {
        MinuteOfDay::try_from(hour * 60 + minute)
    }
}

impl TryFrom<u16> for MinuteOfDay {
    type Error = PresenceError;
    fn try_from(m: u16) -> Result<Self, Self::Error> {
        if m < 24 * 60 {
            Ok(MinuteOfDay(m))
        } else {
            Err(PresenceError::InvalidSchedule(format!(
                "{m} is not a minute of the day (0 to 1439)"
            )))
        }
    }
}

impl From<MinuteOfDay> for u16 {
    fn from(m: MinuteOfDay) -> u16 {
        m.0
    }
}

/// A weekly window such as "Mon–Fri 09:00–17:30" or "every day 22:00–07:00" (an end at or before
/// the start runs past midnight into the next day).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyWindow {
    /// Days on which the window starts; 0 = Monday … 6 = Sunday.
    pub days: Vec<u8>,
    pub start: MinuteOfDay,
    pub end: MinuteOfDay,
}

impl WeeklyWindow {
    pub fn new(days: &[Weekday], start: MinuteOfDay, end: MinuteOfDay) -> WeeklyWindow {
        WeeklyWindow {
            days: days
                .iter()
                .map(|d| d.num_days_from_monday() as u8)
                .collect(),
            start,
            end,
        }
    }

    pub fn every_day(start: MinuteOfDay, end: MinuteOfDay) -> WeeklyWindow {
        WeeklyWindow {
            days: (0..7).collect(),
            start,
            end,
        }
    }

    fn occurrence(&self, tz: &TimeZone, day: NaiveDate) -> Option<(Timestamp, Timestamp)> {
        if !self
            .days
            .contains(&(day.weekday().num_days_from_monday() as u8))
        {
            return None;
        }
        let at = |d: NaiveDate, m: MinuteOfDay| {
            let time = NaiveTime::from_hms_opt(u32::from(m.0 / 60), u32::from(m.0 % 60), 0)
                .unwrap_or_default();
            tz.instant(d.and_time(time))
        };
        let end_day = if self.end <= self.start {
            day.succ_opt()?
        } else {
            day
        };
        Some((at(day, self.start), at(end_day, self.end)))
    }
}

/// The occurrence of any of `windows` that contains `now`, merged with occurrences that touch it.
pub(crate) fn active_occurrence(
    windows: &[WeeklyWindow],
    tz: &TimeZone,
    now: Timestamp,
) -> Option<(Timestamp, Timestamp)> {
    let today = tz.local(now).date();
    let mut found: Option<(Timestamp, Timestamp)> = None;
    for offset in -1..=1 {
        let day = today + ChronoDuration::days(offset);
        for w in windows {
            if let Some((s, e)) = w.occurrence(tz, day) {
                if s <= now && now < e {
                    found = Some(match found {
                        Some((fs, fe)) => (fs.min(s), fe.max(e)),
                        None => (s, e),
                    });
                }
            }
        }
    }
    found
}

/// The next start or end of any of `windows` strictly after `now`, within eight days.
pub(crate) fn next_boundary(
    windows: &[WeeklyWindow],
    tz: &TimeZone,
    now: Timestamp,
) -> Option<Timestamp> {
    let today = tz.local(now).date();
    (-1..=8)
        .flat_map(|offset| {
            let day = today + ChronoDuration::days(offset);
            windows.iter().filter_map(move |w| w.occurrence(tz, day))
        })
        .flat_map(|(s, e)| [s, e])
        .filter(|t| *t > now)
        .min()
}

/// A person's week: when they work, when notifications stay quiet, when they are in DND.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub time_zone: TimeZone,
    /// Outside these, a direct call follows the out-of-hours rule. Empty means always working.
    #[serde(default)]
    pub working_hours: Vec<WeeklyWindow>,
    /// Notifications are held (status unchanged).
    #[serde(default)]
    pub quiet_hours: Vec<WeeklyWindow>,
    /// The status becomes Do not disturb, below any manual choice.
    #[serde(default)]
    pub do_not_disturb: Vec<WeeklyWindow>,
}

impl Schedule {
    pub fn new(time_zone: TimeZone) -> Schedule {
        Schedule {
            time_zone,
            working_hours: Vec::new(),
            quiet_hours: Vec::new(),
            do_not_disturb: Vec::new(),
        }
    }

    pub fn is_working(&self, now: Timestamp) -> bool {
        self.working_hours.is_empty()
            || active_occurrence(&self.working_hours, &self.time_zone, now).is_some()
    }

    pub fn quiet(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        active_occurrence(&self.quiet_hours, &self.time_zone, now)
    }

    pub fn dnd(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        active_occurrence(&self.do_not_disturb, &self.time_zone, now)
    }

    pub fn next_boundary(&self, now: Timestamp) -> Option<Timestamp> {
        [&self.working_hours, &self.quiet_hours, &self.do_not_disturb]
            .into_iter()
            .filter_map(|w| next_boundary(w, &self.time_zone, now))
            .min()
    }
}

/// When a status message (or a timed status) clears itself.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "at", rename_all = "snake_case")]
pub enum ClearAfter {
    Never,
    ThirtyMinutes,
    OneHour,
    FourHours,
    /// At the next local midnight.
    Today,
    /// At local midnight at the end of Sunday.
    ThisWeek,
    At(Timestamp),
}

impl ClearAfter {
    /// The instant it clears, in the person's time zone; `None` for never.
    pub fn resolve(
        self,
        now: Timestamp,
        tz: &TimeZone,
    ) -> Result<Option<Timestamp>, PresenceError> {
        let local_midnight_after = |days: i64| {
            let date = tz.local(now).date() + ChronoDuration::days(days);
            tz.instant(date.and_time(NaiveTime::MIN))
        };
        Ok(match self {
            ClearAfter::Never => None,
            ClearAfter::ThirtyMinutes => Some(now.plus(Span::minutes(30))),
            ClearAfter::OneHour => Some(now.plus(Span::hours(1))),
            ClearAfter::FourHours => Some(now.plus(Span::hours(4))),
            ClearAfter::Today => Some(local_midnight_after(1)),
            ClearAfter::ThisWeek => {
                let weekday = tz.local(now).date().weekday().num_days_from_monday() as i64;
                Some(local_midnight_after(7 - weekday))
            }
            ClearAfter::At(t) if t > now => Some(t),
            ClearAfter::At(t) => return Err(PresenceError::ExpiryNotInFuture { until: t, now }),
        })
    }
}
