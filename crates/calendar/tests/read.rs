//! Reading calendars as Microsoft 365, Google and CalDAV servers write them: what is a meeting,
//! what is out of office, what is nothing; recurrence with exceptions and moved occurrences;
//! time zones by IANA and Windows names, across a daylight-saving change.

use calendar::{read, CalendarError, Kind};
use chrono::{TimeZone, Utc};
use chrono_tz::Europe::London;

fn ms(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .timestamp_millis()
}

fn calendar(events: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{}END:VCALENDAR\r\n",
        events.replace('\n', "\r\n")
    )
}

fn event(uid: &str, lines: &str) -> String {
    format!("BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20270101T000000Z\n{lines}\nEND:VEVENT\n")
}

const ME: Option<&str> = Some("me@example.com");

/// The spans in January 2027.
fn january(ics: &str) -> Vec<(String, i64, i64, Kind)> {
    let r = read(ics, ME, London, ms(2027, 1, 1, 0, 0), ms(2027, 2, 1, 0, 0)).unwrap();
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    r.busy
        .into_iter()
        .map(|b| (b.id, b.start, b.end, b.kind))
        .collect()
}

#[test]
fn an_accepted_busy_event_is_a_meeting_for_its_span_and_the_rest_is_nothing() {
    let span = "DTSTART:20270115T100000Z\nDTEND:20270115T110000Z";
    let ics = calendar(
        &[
            event("plain", span),
            event(
                "accepted",
                &format!("{span}\nATTENDEE;PARTSTAT=ACCEPTED:mailto:ME@example.com"),
            ),
            event("tentative", &format!("{span}\nSTATUS:TENTATIVE")),
            event("free", &format!("{span}\nTRANSP:TRANSPARENT")),
            event("cancelled", &format!("{span}\nSTATUS:CANCELLED")),
            event(
                "cdo-free",
                &format!("{span}\nX-MICROSOFT-CDO-BUSYSTATUS:FREE"),
            ),
            event(
                "cdo-tentative",
                &format!("{span}\nX-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE"),
            ),
            event(
                "declined",
                &format!("{span}\nATTENDEE;PARTSTAT=DECLINED:mailto:me@example.com"),
            ),
            event(
                "unanswered",
                &format!("{span}\nATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:me@example.com"),
            ),
            event(
                "someone-else-declined",
                &format!("{span}\nATTENDEE;PARTSTAT=DECLINED:mailto:other@example.com"),
            ),
            event(
                "all-day",
                "DTSTART;VALUE=DATE:20270115\nDTEND;VALUE=DATE:20270116",
            ),
        ]
        .concat(),
    );
    let found = january(&ics);
    let ids: Vec<&str> = found.iter().map(|(id, ..)| id.as_str()).collect();
    assert_eq!(ids, ["accepted", "plain", "someone-else-declined"]);
    for (_, start, end, kind) in &found {
        assert_eq!(
            (*start, *end, *kind),
            (
                ms(2027, 1, 15, 10, 0),
                ms(2027, 1, 15, 11, 0),
                Kind::Meeting
            )
        );
    }
}

#[test]
fn out_of_office_lasts_until_the_return_even_all_day() {
    // Monday 18 to Friday 22 January, all day (DTEND is the day after, in the person's zone).
    let ics = calendar(&event(
        "holiday",
        "DTSTART;VALUE=DATE:20270118\nDTEND;VALUE=DATE:20270123\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\nTRANSP:TRANSPARENT",
    ));
    assert_eq!(
        january(&ics),
        [(
            "holiday".to_string(),
            ms(2027, 1, 18, 0, 0),
            ms(2027, 1, 23, 0, 0),
            Kind::OutOfOffice
        )]
    );
}

#[test]
fn a_weekly_meeting_stays_at_nine_local_across_the_spring_change() {
    // Mondays at 09:00 London from 15 March 2027; the clocks go forward on 28 March.
    let ics = calendar(&event(
        "standup",
        "DTSTART;TZID=Europe/London:20270315T090000\nDTEND;TZID=Europe/London:20270315T091500\nRRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4",
    ));
    let r = read(&ics, ME, London, ms(2027, 3, 1, 0, 0), ms(2027, 5, 1, 0, 0)).unwrap();
    let starts: Vec<i64> = r.busy.iter().map(|b| b.start).collect();
    assert_eq!(
        starts,
        [
            ms(2027, 3, 15, 9, 0),
            ms(2027, 3, 22, 9, 0),
            // British Summer Time: 09:00 local is 08:00 UTC.
            ms(2027, 3, 29, 8, 0),
            ms(2027, 4, 5, 8, 0),
        ]
    );
    assert!(r.busy.iter().all(|b| b.end - b.start == 15 * 60 * 1000));
    // Each occurrence has its own stable id.
    assert_ne!(r.busy[0].id, r.busy[1].id);
}

#[test]
fn exceptions_remove_moved_occurrences_move_and_cancelled_ones_go() {
    // Daily at 10:00 UTC for five days from Monday 11 January; the 12th excluded (EXDATE), the
    // 13th moved to 14:00, the 14th cancelled.
    let ics = calendar(
        &[
            event(
                "daily",
                "DTSTART:20270111T100000Z\nDURATION:PT30M\nRRULE:FREQ=DAILY;COUNT=5\nEXDATE:20270112T100000Z",
            ),
            event(
                "daily",
                "RECURRENCE-ID:20270113T100000Z\nDTSTART:20270113T140000Z\nDTEND:20270113T143000Z",
            ),
            event(
                "daily",
                "RECURRENCE-ID:20270114T100000Z\nDTSTART:20270114T100000Z\nDTEND:20270114T103000Z\nSTATUS:CANCELLED",
            ),
        ]
        .concat(),
    );
    let starts: Vec<i64> = january(&ics).iter().map(|(_, s, ..)| *s).collect();
    assert_eq!(
        starts,
        [
            ms(2027, 1, 11, 10, 0),
            ms(2027, 1, 13, 14, 0),
            ms(2027, 1, 15, 10, 0)
        ]
    );
}

#[test]
fn a_windows_time_zone_as_microsoft_365_publishes_it() {
    let ics = calendar(&format!(
        "BEGIN:VTIMEZONE\nTZID:W. Europe Standard Time\nBEGIN:STANDARD\nDTSTART:16010101T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:16010101T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\nEND:DAYLIGHT\nEND:VTIMEZONE\n{}",
        event(
            "review",
            "DTSTART;TZID=W. Europe Standard Time:20270120T150000\nDTEND;TZID=W. Europe Standard Time:20270120T160000\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY",
        )
    ));
    // 15:00 in Berlin in winter is 14:00 UTC.
    assert_eq!(
        january(&ics),
        [(
            "review".to_string(),
            ms(2027, 1, 20, 14, 0),
            ms(2027, 1, 20, 15, 0),
            Kind::Meeting
        )]
    );
}

#[test]
fn floating_times_are_the_persons_and_long_events_reach_into_the_window() {
    // Floating 09:00 on 1 July is 08:00 UTC in London's summer.
    let ics = calendar(&event(
        "floating",
        "DTSTART:20270701T090000\nDTEND:20270701T100000",
    ));
    let r = read(&ics, ME, London, ms(2027, 7, 1, 0, 0), ms(2027, 7, 2, 0, 0)).unwrap();
    assert_eq!(r.busy[0].start, ms(2027, 7, 1, 8, 0));
    // Started before the window, still going within it.
    let ics = calendar(&event(
        "offsite",
        "DTSTART:20261231T220000Z\nDTEND:20270101T020000Z",
    ));
    assert_eq!(january(&ics).len(), 1);
}

#[test]
fn what_cannot_be_read_is_said_not_guessed() {
    let ics = calendar(
        &[
            event("good", "DTSTART:20270115T100000Z\nDTEND:20270115T110000Z"),
            event("middle-earth", "DTSTART;TZID=Middle Earth:20270115T100000\nDTEND;TZID=Middle Earth:20270115T110000"),
            event("broken-rule", "DTSTART:20270115T100000Z\nDURATION:PT1H\nRRULE:FREQ=SOMETIMES"),
        ]
        .concat(),
    );
    let r = read(&ics, ME, London, ms(2027, 1, 1, 0, 0), ms(2027, 2, 1, 0, 0)).unwrap();
    assert_eq!(r.busy.len(), 1);
    assert_eq!(r.skipped.len(), 2, "{:?}", r.skipped);
    assert!(r.skipped[0].contains("Middle Earth"), "{:?}", r.skipped);
    assert!(r.skipped[1].contains("SOMETIMES"), "{:?}", r.skipped);
    assert!(matches!(
        read("<html>Sign in</html>", ME, London, 0, 1),
        Err(CalendarError::NotICalendar(_))
    ));
}

#[test]
fn a_calendar_in_several_objects_reads_as_one() {
    // As a CalDAV server answers: one object per event, each with the zones it uses; an
    // occurrence moved lives in its series' object.
    let weekly = calendar(&[
        "BEGIN:VTIMEZONE\nTZID:Europe/Berlin\nX-LIC-LOCATION:Europe/Berlin\nEND:VTIMEZONE\n".to_string(),
        event("weekly", "DTSTART;TZID=Europe/Berlin:20270104T090000\nDTEND;TZID=Europe/Berlin:20270104T093000\nRRULE:FREQ=WEEKLY;COUNT=2"),
        event("weekly", "RECURRENCE-ID;TZID=Europe/Berlin:20270111T090000\nDTSTART;TZID=Europe/Berlin:20270111T140000\nDTEND;TZID=Europe/Berlin:20270111T143000"),
    ].concat());
    let review = calendar(&event(
        "review",
        "DTSTART:20270105T100000Z\nDTEND:20270105T110000Z",
    ));
    let r = calendar::read_objects(
        [weekly.as_str(), review.as_str()],
        ME,
        London,
        ms(2027, 1, 1, 0, 0),
        ms(2027, 2, 1, 0, 0),
    )
    .unwrap();
    let starts: Vec<i64> = r.busy.iter().map(|b| b.start).collect();
    assert_eq!(
        starts,
        [
            ms(2027, 1, 4, 8, 0),
            ms(2027, 1, 5, 10, 0),
            ms(2027, 1, 11, 13, 0)
        ],
        "sorted across objects, the moved occurrence where it moved to"
    );
    assert!(matches!(
        calendar::read_objects([review.as_str(), "<html/>"], ME, London, 0, 1),
        Err(CalendarError::NotICalendar(_))
    ));
}

#[test]
fn lines_ending_in_lf_alone_read_the_same() {
    // As XML carries a CalDAV server's calendar data (and as some servers write ICS files).
    let crlf = calendar(&event(
        "standup",
        "DTSTART:20270115T100000Z\nDTEND:20270115T103000Z\nDESCRIPTION:a long line\n  folded",
    ));
    let lf = crlf.replace("\r\n", "\n");
    assert_eq!(january(&lf), january(&crlf));
    assert_eq!(january(&lf).len(), 1);
}
