use super::*;

use jiff::civil::date;

const HOUR: Duration = Duration::from_secs(3600);
const MIN: Duration = Duration::from_secs(60);

/// `n` seconds as a span.
fn secs(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap())
}

/// `n` milliseconds as a span.
fn ms(n: i64) -> Duration {
    Duration::from_millis(u64::try_from(n).unwrap())
}

/// The calendar's spans in whole seconds or milliseconds, as these tests state them.
trait InUnits {
    fn working_secs(&self, from: Millis, to: Millis) -> i64;
    fn elapsed_secs(&self, kind: ClockKind, from: Millis, to: Millis) -> i64;
    fn elapsed_ms(&self, kind: ClockKind, from: Millis, to: Millis) -> i64;
    fn units_secs(&self, kind: ClockKind, target: Duration) -> i64;
}

impl InUnits for Calendar {
    fn working_secs(&self, from: Millis, to: Millis) -> i64 {
        i64::try_from(self.working(from, to).as_secs()).unwrap()
    }
    fn elapsed_secs(&self, kind: ClockKind, from: Millis, to: Millis) -> i64 {
        i64::try_from(self.elapsed(kind, from, to).as_secs()).unwrap()
    }
    fn elapsed_ms(&self, kind: ClockKind, from: Millis, to: Millis) -> i64 {
        ms_of(self.elapsed(kind, from, to))
    }
    fn units_secs(&self, kind: ClockKind, target: Duration) -> i64 {
        i64::try_from(self.units(kind, target).as_secs()).unwrap()
    }
}

/// Owned strings for `Calendar::new`.
fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A calendar from literal arguments; panics on a bad one.
fn calendar(tz: &str, days: &[&str], hours: &str, holidays: &[&str]) -> Calendar {
    Calendar::new(Some(tz), &strings(days), hours, &strings(holidays)).unwrap()
}

/// Monday to Friday, 08:00-17:00, Berlin, Christmas off.
fn office() -> Calendar {
    calendar(
        "Europe/Berlin",
        &["mon", "tue", "wed", "thu", "fri"],
        "08:00-17:00",
        &["2026-12-24", "2026-12-25"],
    )
}

/// Every day of the week in `tz`, with `hours`.
fn every_day(tz: &str, hours: &str) -> Calendar {
    calendar(
        tz,
        &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        hours,
        &[],
    )
}

/// Local wall time in `tz` as ms since the epoch (jiff's compatible disambiguation).
fn at(tz: &str, y: i16, m: i8, d: i8, h: i8, min: i8) -> Millis {
    at_in(&TimeZone::get(tz).unwrap(), y, m, d, h, min)
}

/// Local wall time in `tz` as ms since the epoch.
fn at_in(tz: &TimeZone, y: i16, m: i8, d: i8, h: i8, min: i8) -> Millis {
    Millis(
        date(y, m, d)
            .at(h, min, 0, 0)
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp()
            .as_millisecond(),
    )
}

/// Berlin wall time as ms.
fn berlin(y: i16, m: i8, d: i8, h: i8, min: i8) -> Millis {
    at("Europe/Berlin", y, m, d, h, min)
}

/// A UTC wall time as ms.
fn utc(y: i16, m: i8, d: i8, h: i8, min: i8) -> Millis {
    at("UTC", y, m, d, h, min)
}

/// Asserts `Calendar::new` fails with exactly `expected`.
fn rejects(tz: Option<&str>, days: &[&str], hours: &str, holidays: &[&str], expected: &str) {
    let err = Calendar::new(tz, &strings(days), hours, &strings(holidays)).unwrap_err();
    assert_eq!(err, expected);
}

// ---------------------------------------------------------------------------------------------
// Building

#[test]
fn new_reads_names_in_any_case_and_keeps_the_configured_zone_name() {
    let cal = calendar(
        "Europe/Berlin",
        &["Mon", "TUESDAY", " wed ", "thu", "Friday", "fri", "mon"],
        "08:00 - 17:00",
        &["2026-12-25", " 2026-12-24 ", "2026-12-25"],
    );
    assert_eq!(cal.tz_name(), "Europe/Berlin");
    assert_eq!(cal.day_secs(), 9 * 3600);
    // Tuesday and Friday both work; Saturday does not.
    assert!(cal.is_working(berlin(2026, 12, 1, 9, 0)));
    assert!(cal.is_working(berlin(2026, 12, 4, 9, 0)));
    assert!(!cal.is_working(berlin(2026, 12, 5, 9, 0)));
    // Both holidays, one written with spaces, are off.
    assert!(!cal.is_working(berlin(2026, 12, 24, 9, 0)));
    assert!(!cal.is_working(berlin(2026, 12, 25, 9, 0)));
}

#[test]
fn new_names_utc_and_the_system_zone() {
    let cal = Calendar::new(Some("utc"), &strings(&["mon"]), "08:00-17:00", &[]).unwrap();
    assert_eq!(cal.tz_name(), "UTC");
    assert!(cal.is_working(utc(2026, 6, 1, 8, 0)));
    assert!(!cal.is_working(utc(2026, 6, 1, 7, 59)));

    let cal = Calendar::new(None, &strings(&["mon"]), "08:00-17:00", &[]).unwrap();
    let expected = TimeZone::system().iana_name().unwrap_or("local").to_owned();
    assert_eq!(cal.tz_name(), expected);
    assert!(!cal.tz_name().is_empty());
}

#[test]
fn new_accepts_single_digit_hours_and_a_day_to_midnight() {
    let cal = every_day("UTC", "8:00-9:30");
    assert_eq!(cal.day_secs(), 5400);

    let cal = every_day("UTC", "00:00-24:00");
    assert_eq!(cal.day_secs(), 86_400);
    assert!(cal.is_working(utc(2026, 6, 1, 23, 59)));
    assert!(cal.is_working(utc(2026, 6, 2, 0, 0)));
    assert_eq!(
        cal.working_secs(utc(2026, 6, 1, 0, 0), utc(2026, 6, 8, 0, 0)),
        7 * 86_400
    );

    let cal = every_day("UTC", "22:00-24:00");
    assert_eq!(cal.day_secs(), 7200);
    assert!(!cal.is_working(utc(2026, 6, 2, 0, 0)));
    assert_eq!(
        cal.add_working(utc(2026, 6, 1, 23, 0), secs(7200)),
        utc(2026, 6, 2, 23, 0)
    );
}

#[test]
fn new_rejects_bad_timezones() {
    rejects(
        Some("Mars/Olympus_Mons"),
        &["mon"],
        "08:00-17:00",
        &[],
        "timezone = \"Mars/Olympus_Mons\": not a known time zone; expected an IANA name such as \
         \"Europe/Berlin\", or \"UTC\"",
    );
    let err = Calendar::new(Some(""), &strings(&["mon"]), "08:00-17:00", &[]).unwrap_err();
    assert!(err.starts_with("timezone = \"\": "), "{err}");
}

#[test]
fn new_rejects_bad_days() {
    rejects(
        Some("UTC"),
        &[],
        "08:00-17:00",
        &[],
        "days = []: expected at least one working day",
    );
    rejects(
        Some("UTC"),
        &["mon", "funday"],
        "08:00-17:00",
        &[],
        "days: \"funday\" is not a weekday; expected mon, tue, wed, thu, fri, sat, sun (or the \
         full names)",
    );
    let err = Calendar::new(Some("UTC"), &strings(&["mo"]), "08:00-17:00", &[]).unwrap_err();
    assert!(err.contains("\"mo\""), "{err}");
}

#[test]
fn new_rejects_bad_hours() {
    let days = &["mon"];
    rejects(
        Some("UTC"),
        days,
        "17:00-08:00",
        &[],
        "hours = \"17:00-08:00\": the start must be before the end",
    );
    rejects(
        Some("UTC"),
        days,
        "08:00-08:00",
        &[],
        "hours = \"08:00-08:00\": the start must be before the end",
    );
    rejects(
        Some("UTC"),
        days,
        "08:00",
        &[],
        "hours = \"08:00\": expected the start and end of the working day, such as \
         \"08:00-17:00\"",
    );
    rejects(
        Some("UTC"),
        days,
        "25:00-26:00",
        &[],
        "hours = \"25:00-26:00\": \"25:00\" is not a time; expected HH:MM, 00:00 to 23:59",
    );
    rejects(
        Some("UTC"),
        days,
        "08:00-17:60",
        &[],
        "hours = \"08:00-17:60\": \"17:60\" is not a time; expected HH:MM, 00:00 to 24:00",
    );
    for bad in [
        "8-17",
        "08:0-17:00",
        "08:000-17:00",
        "+8:00-17:00",
        "24:00-24:00",
        "a:bc-17:00",
    ] {
        let err = Calendar::new(Some("UTC"), &strings(days), bad, &[]).unwrap_err();
        assert!(
            err.starts_with(&format!("hours = {bad:?}: ")),
            "{bad}: {err}"
        );
    }
}

#[test]
fn new_rejects_bad_holidays() {
    let days = &["mon"];
    rejects(
        Some("UTC"),
        days,
        "08:00-17:00",
        &["2026-12-25", "2026-02-30"],
        "holidays: \"2026-02-30\" is not a day of the calendar",
    );
    for bad in [
        "26-12-25",
        "2026/12/25",
        "2026-1-05",
        "20261225",
        "christmas",
        "",
    ] {
        let expected = format!("holidays: {bad:?} is not a date; expected YYYY-MM-DD");
        rejects(Some("UTC"), days, "08:00-17:00", &[bad], &expected);
    }
}

// ---------------------------------------------------------------------------------------------
// Working time

#[test]
fn is_working_covers_start_but_not_end_weekends_and_holidays() {
    let cal = office();
    // Thu 3 Dec 2026.
    assert!(!cal.is_working(berlin(2026, 12, 3, 7, 59)));
    assert!(cal.is_working(berlin(2026, 12, 3, 8, 0)));
    assert!(cal.is_working(berlin(2026, 12, 3, 16, 59)));
    assert!(cal.is_working(berlin(2026, 12, 3, 17, 0) - ms(1)));
    assert!(!cal.is_working(berlin(2026, 12, 3, 17, 0)));
    // Sat 5 and Sun 6 Dec.
    assert!(!cal.is_working(berlin(2026, 12, 5, 10, 0)));
    assert!(!cal.is_working(berlin(2026, 12, 6, 10, 0)));
    // Christmas Eve (Thursday) is a holiday.
    assert!(!cal.is_working(berlin(2026, 12, 24, 10, 0)));
    // 08:00 UTC is 09:00 in Berlin: the zone is honoured.
    assert!(cal.is_working(utc(2026, 12, 3, 7, 0)));
    assert!(!cal.is_working(utc(2026, 12, 3, 16, 0)));
}

#[test]
fn working_secs_within_and_around_one_day() {
    let cal = office();
    let day = |h, m| berlin(2026, 12, 3, h, m);
    assert_eq!(cal.working_secs(day(9, 0), day(10, 30)), 5400);
    // Before and after hours are clipped away.
    assert_eq!(cal.working_secs(day(6, 0), day(9, 0)), 3600);
    assert_eq!(cal.working_secs(day(16, 0), day(20, 0)), 3600);
    assert_eq!(cal.working_secs(day(0, 0), day(23, 59)), 9 * 3600);
    assert_eq!(cal.working_secs(day(17, 0), day(23, 0)), 0);
    assert_eq!(cal.working_secs(day(5, 0), day(8, 0)), 0);
    // Empty and reversed spans.
    assert_eq!(cal.working_secs(day(9, 0), day(9, 0)), 0);
    assert_eq!(cal.working_secs(day(10, 0), day(9, 0)), 0);
}

#[test]
fn working_secs_counts_milliseconds_and_floors() {
    let cal = office();
    let nine = berlin(2026, 12, 3, 9, 0);
    assert_eq!(cal.working_secs(nine, nine + ms(999)), 0);
    assert_eq!(cal.working_secs(nine, nine + ms(1000)), 1);
    assert_eq!(cal.working_secs(nine, nine + ms(1999)), 1);
    // Two half seconds on either side of a night add up to a whole one.
    let end = berlin(2026, 12, 3, 17, 0);
    let next = berlin(2026, 12, 4, 8, 0);
    assert_eq!(cal.working_secs(end - ms(500), next + ms(499)), 0);
    assert_eq!(cal.working_secs(end - ms(500), next + ms(500)), 1);
}

#[test]
fn working_secs_spans_a_weekend_and_holidays() {
    let cal = office();
    // Fri 4 Dec 16:00 to Mon 7 Dec 09:00: one hour on Friday, one on Monday.
    assert_eq!(
        cal.working_secs(berlin(2026, 12, 4, 16, 0), berlin(2026, 12, 7, 9, 0)),
        7200
    );
    // Wed 23 Dec 16:00 to Mon 28 Dec 09:00: Thursday and Friday are holidays.
    assert_eq!(
        cal.working_secs(berlin(2026, 12, 23, 16, 0), berlin(2026, 12, 28, 9, 0)),
        7200
    );
    // Starting and ending on the weekend.
    assert_eq!(
        cal.working_secs(berlin(2026, 12, 5, 12, 0), berlin(2026, 12, 13, 12, 0)),
        5 * 32_400
    );
}

#[test]
fn working_secs_over_months_and_years() {
    let cal = office();
    // June 2026 has 22 weekdays.
    assert_eq!(
        cal.working_secs(berlin(2026, 6, 1, 0, 0), berlin(2026, 7, 1, 0, 0)),
        22 * 32_400
    );
    // 2026 and 2027: 261 weekdays each, minus the two Christmas holidays of 2026.
    let two_years = cal.working_secs(berlin(2026, 1, 1, 0, 0), berlin(2028, 1, 1, 0, 0));
    assert_eq!(two_years, (261 + 261 - 2) * 32_400);
    // Decades stay cheap (iterated by day).
    let long = cal.working_secs(berlin(2026, 1, 1, 0, 0), berlin(2066, 1, 1, 0, 0));
    assert!(
        long > 40 * 250 * 32_400 && long < 40 * 262 * 32_400,
        "{long}"
    );
}

#[test]
fn add_working_within_a_day_and_to_the_end_of_it() {
    let cal = office();
    let day = |h, m| berlin(2026, 12, 3, h, m);
    assert_eq!(cal.add_working(day(9, 0), secs(3600)), day(10, 0));
    assert_eq!(cal.add_working(day(9, 0), secs(1)), day(9, 0) + ms(1000));
    // Used up exactly at the end of the day: due at 17:00, not the next morning.
    assert_eq!(cal.add_working(day(9, 0), secs(8 * 3600)), day(17, 0));
    assert_eq!(cal.add_working(day(8, 0), secs(32_400)), day(17, 0));
    // One second more runs into Friday morning.
    assert_eq!(
        cal.add_working(day(9, 0), secs(8 * 3600 + 1)),
        berlin(2026, 12, 4, 8, 0) + ms(1000)
    );
    // Nothing to add.
    assert_eq!(cal.add_working(day(9, 0), secs(0)), day(9, 0));
    assert_eq!(cal.add_working(day(20, 0), secs(0)), day(20, 0));
}

#[test]
fn add_working_starts_at_the_next_working_time() {
    let cal = office();
    // Before hours: the clock starts at 08:00.
    assert_eq!(
        cal.add_working(berlin(2026, 12, 3, 6, 0), secs(3600)),
        berlin(2026, 12, 3, 9, 0)
    );
    // After hours: the next morning.
    assert_eq!(
        cal.add_working(berlin(2026, 12, 3, 18, 0), secs(3600)),
        berlin(2026, 12, 4, 9, 0)
    );
    // At the end of the day exactly.
    assert_eq!(
        cal.add_working(berlin(2026, 12, 3, 17, 0), secs(60)),
        berlin(2026, 12, 4, 8, 1)
    );
    // From Saturday: Monday.
    assert_eq!(
        cal.add_working(berlin(2026, 12, 5, 10, 0), secs(3600)),
        berlin(2026, 12, 7, 9, 0)
    );
    // Over a weekend: Friday 16:00 plus two hours is Monday 09:00.
    assert_eq!(
        cal.add_working(berlin(2026, 12, 4, 16, 0), secs(7200)),
        berlin(2026, 12, 7, 9, 0)
    );
    // Over Christmas: Wednesday 16:00 plus two hours is Monday 28th 09:00.
    assert_eq!(
        cal.add_working(berlin(2026, 12, 23, 16, 0), secs(7200)),
        berlin(2026, 12, 28, 9, 0)
    );
    // Five working days from Monday morning end on Friday evening.
    assert_eq!(
        cal.add_working(berlin(2026, 6, 1, 8, 0), secs(5 * 32_400)),
        berlin(2026, 6, 5, 17, 0)
    );
}

#[test]
fn add_working_skips_a_year_of_holidays() {
    let mut holidays = Vec::new();
    let mut d = date(2026, 1, 1);
    while d.year() == 2026 {
        holidays.push(d.to_string());
        d = d.tomorrow().unwrap();
    }
    let cal = Calendar::new(
        Some("UTC"),
        &strings(&["mon", "tue", "wed", "thu", "fri"]),
        "08:00-17:00",
        &holidays,
    )
    .unwrap();
    // Fri 1 Jan 2027 is the first working day.
    assert_eq!(
        cal.add_working(utc(2026, 1, 1, 0, 0), secs(3600)),
        utc(2027, 1, 1, 9, 0)
    );
    assert_eq!(
        cal.working_secs(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 9, 0)),
        3600
    );
}

#[test]
fn add_working_gives_up_on_a_calendar_without_working_days() {
    // Mondays only, and every Monday for 30 years is a holiday.
    let mut holidays = Vec::new();
    let mut d = date(2026, 6, 1);
    while d.year() < 2056 {
        holidays.push(d.to_string());
        d = d.checked_add(jiff::Span::new().days(7)).unwrap();
    }
    let cal = Calendar::new(Some("UTC"), &strings(&["mon"]), "08:00-17:00", &holidays).unwrap();
    let from = utc(2026, 6, 1, 9, 0);
    assert_eq!(cal.add_working(from, secs(3600)), from + HOUR);
    assert_eq!(
        cal.add(ClockKind::Business, from, secs(90)),
        from + ms(90_000)
    );
}

#[test]
fn add_working_is_the_inverse_of_working_secs() {
    let calendars = [
        office(),
        every_day("Europe/Berlin", "08:00-17:00"),
        // Hours that straddle both DST changes in Berlin.
        every_day("Europe/Berlin", "01:00-04:00"),
        every_day("Europe/Berlin", "02:30-05:00"),
        every_day("Europe/Berlin", "00:00-24:00"),
        calendar(
            "Asia/Kolkata",
            &["sat", "sun"],
            "09:15-13:45",
            &["2026-03-29"],
        ),
        calendar(
            "America/New_York",
            &["mon", "wed", "fri"],
            "09:00-17:30",
            &[],
        ),
    ];
    let spans = [
        1,
        59,
        1800,
        3600,
        5400,
        10_800,
        32_399,
        32_400,
        32_401,
        100_000,
        7 * 32_400,
    ];
    // Starts every 97 minutes (plus a few ms) across both of Berlin's DST weeks.
    let windows = [berlin(2026, 3, 25, 0, 0), berlin(2026, 10, 21, 0, 0)];
    let mut checked = 0;
    for cal in &calendars {
        for window in windows {
            let mut from = window;
            while from < window + 7 * 24 * HOUR {
                for &s in &spans {
                    let due = cal.add_working(from, secs(s));
                    assert!(due > from, "{} {from} {s}", cal.tz_name());
                    assert_eq!(
                        cal.working_secs(from, due),
                        s,
                        "{} {from} {s}",
                        cal.tz_name()
                    );
                    // The earliest such instant: a millisecond earlier is a second short.
                    assert_eq!(cal.working_secs(from, due - ms(1)), s - 1, "{from} {s}");
                    checked += 1;
                }
                // `is_working` agrees: the hours are whole minutes, `from` is a few ms past one.
                let works = cal.add_working(from, secs(1)) == from + ms(1000);
                assert_eq!(cal.is_working(from), works, "{} {from}", cal.tz_name());
                from += 97 * MIN + ms(7);
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}

// ---------------------------------------------------------------------------------------------
// Daylight saving time in Berlin (last Sundays of March and October)

#[test]
fn dst_spring_forward_shortens_a_day_that_spans_the_gap() {
    let cal = every_day("Europe/Berlin", "01:00-04:00");
    // Sun 29 Mar 2026: 02:00 CET jumps to 03:00 CEST; 01:00-04:00 is two real hours.
    assert_eq!(
        cal.working_secs(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)),
        7200
    );
    assert_eq!(
        cal.working_secs(berlin(2026, 3, 28, 0, 0), berlin(2026, 3, 29, 0, 0)),
        10_800
    );
    assert_eq!(
        cal.working_secs(berlin(2026, 3, 30, 0, 0), berlin(2026, 3, 31, 0, 0)),
        10_800
    );
    // Starting at 01:00 CET, two hours are used up at 04:00 CEST.
    assert_eq!(
        cal.add_working(berlin(2026, 3, 29, 1, 0), secs(7200)),
        berlin(2026, 3, 29, 4, 0)
    );
    assert_eq!(
        berlin(2026, 3, 29, 4, 0).since(berlin(2026, 3, 29, 1, 0)),
        2 * HOUR
    );
    // Same in 2027 (28 March).
    assert_eq!(
        cal.working_secs(berlin(2027, 3, 28, 0, 0), berlin(2027, 3, 29, 0, 0)),
        7200
    );
}

#[test]
fn dst_spring_forward_start_inside_the_gap_is_read_after_it() {
    // 02:30 does not exist on 29 Mar 2026; compatible reads it as 03:30 CEST.
    let cal = every_day("Europe/Berlin", "02:30-05:00");
    assert_eq!(
        cal.working_secs(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)),
        5400
    );
    assert!(!cal.is_working(berlin(2026, 3, 29, 3, 15)));
    assert!(cal.is_working(berlin(2026, 3, 29, 3, 30)));
    assert_eq!(
        cal.add_working(berlin(2026, 3, 29, 0, 0), secs(60)),
        berlin(2026, 3, 29, 3, 31)
    );
}

#[test]
fn dst_fall_back_lengthens_a_day_that_spans_the_fold() {
    let cal = every_day("Europe/Berlin", "01:00-04:00");
    // Sun 25 Oct 2026: 03:00 CEST falls back to 02:00 CET; 01:00-04:00 is four real hours.
    assert_eq!(
        cal.working_secs(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)),
        14_400
    );
    assert_eq!(
        cal.working_secs(berlin(2026, 10, 24, 0, 0), berlin(2026, 10, 25, 0, 0)),
        10_800
    );
    assert_eq!(
        cal.add_working(berlin(2026, 10, 25, 1, 0), secs(14_400)),
        berlin(2026, 10, 25, 4, 0)
    );
    // Both 02:30s are working time.
    let first = berlin(2026, 10, 25, 2, 30);
    let second = first + HOUR;
    assert!(cal.is_working(first));
    assert!(cal.is_working(second));
    assert_eq!(cal.format(first), "Sun 25 Oct 2026 02:30 CEST");
    assert_eq!(cal.format(second), "Sun 25 Oct 2026 02:30 CET");
    // Same in 2027 (31 October).
    assert_eq!(
        cal.working_secs(berlin(2027, 10, 31, 0, 0), berlin(2027, 11, 1, 0, 0)),
        14_400
    );
}

#[test]
fn dst_fall_back_start_inside_the_fold_is_its_first_occurrence() {
    // 02:30 happens twice on 25 Oct 2026; compatible takes the first (CEST), so the day runs
    // from 02:30 CEST to 05:00 CET: three and a half hours.
    let cal = every_day("Europe/Berlin", "02:30-05:00");
    assert_eq!(
        cal.working_secs(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)),
        12_600
    );
    assert_eq!(
        cal.add_working(berlin(2026, 10, 25, 0, 0), secs(60)),
        utc(2026, 10, 25, 0, 31)
    );
    // Ending in the fold: the first 02:30 as well, an hour and a half after 01:00 CEST.
    let cal = every_day("Europe/Berlin", "01:00-02:30");
    assert_eq!(
        cal.working_secs(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)),
        5400
    );
    assert!(!cal.is_working(utc(2026, 10, 25, 1, 0)));
}

#[test]
fn dst_ordinary_hours_keep_their_length_and_whole_days_do_not() {
    // 08:00-17:00 on a DST Sunday is still nine hours.
    let cal = every_day("Europe/Berlin", "08:00-17:00");
    assert_eq!(
        cal.working_secs(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)),
        32_400
    );
    assert_eq!(
        cal.working_secs(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)),
        32_400
    );
    // Saturday 16:00 plus two hours is Sunday 09:00 in summer time.
    assert_eq!(
        cal.add_working(berlin(2026, 3, 28, 16, 0), secs(7200)),
        berlin(2026, 3, 29, 9, 0)
    );

    // Whole days: 23 and 25 real hours.
    let cal = every_day("Europe/Berlin", "00:00-24:00");
    assert_eq!(
        cal.working_secs(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)),
        23 * 3600
    );
    assert_eq!(
        cal.working_secs(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)),
        25 * 3600
    );
    assert_eq!(
        cal.working_secs(berlin(2026, 3, 28, 12, 0), berlin(2026, 3, 29, 12, 0)),
        23 * 3600
    );
}

// ---------------------------------------------------------------------------------------------
// Clocks

#[test]
fn clock_kind_default_for_whole_days_is_business() {
    let d = |secs| Duration::from_secs(secs);
    assert_eq!(ClockKind::default_for(d(86_400)), ClockKind::Business);
    assert_eq!(ClockKind::default_for(d(20 * 86_400)), ClockKind::Business);
    assert_eq!(ClockKind::default_for(d(4 * 3600)), ClockKind::Always);
    assert_eq!(ClockKind::default_for(d(36 * 3600)), ClockKind::Always);
    assert_eq!(ClockKind::default_for(d(0)), ClockKind::Always);
}

#[test]
fn clock_kind_parses_what_it_prints() {
    for kind in [ClockKind::Always, ClockKind::Business] {
        assert_eq!(ClockKind::parse(kind.as_str()), Ok(kind));
    }
    assert_eq!(ClockKind::parse(" 24/7 "), Ok(ClockKind::Always));
    assert_eq!(ClockKind::parse("Business"), Ok(ClockKind::Business));
    assert!(ClockKind::parse("weekly").unwrap_err().contains("`weekly`"));
}

#[test]
fn units_turn_days_into_working_days() {
    let cal = office();
    let d = |secs| Duration::from_secs(secs);
    assert_eq!(cal.units_secs(ClockKind::Business, d(86_400)), 32_400);
    assert_eq!(
        cal.units_secs(ClockKind::Business, d(86_400 + 7200)),
        32_400 + 7200
    );
    assert_eq!(cal.units_secs(ClockKind::Business, d(4 * 3600)), 14_400);
    assert_eq!(
        cal.units_secs(ClockKind::Business, d(20 * 86_400)),
        20 * 32_400
    );
    assert_eq!(cal.units_secs(ClockKind::Always, d(86_400)), 86_400);
    assert_eq!(
        cal.units_secs(ClockKind::Always, Duration::from_millis(4500)),
        4
    );
    assert_eq!(
        every_day("UTC", "00:00-24:00").units_secs(ClockKind::Business, d(86_400)),
        86_400
    );
}

#[test]
fn elapsed_and_add_follow_the_clock() {
    let cal = office();
    let fri = berlin(2026, 12, 4, 16, 0);
    let mon = berlin(2026, 12, 7, 9, 0);
    assert_eq!(cal.elapsed_secs(ClockKind::Business, fri, mon), 7200);
    assert_eq!(
        cal.elapsed_secs(ClockKind::Always, fri, mon),
        i64::try_from(mon.since(fri).as_secs()).unwrap()
    );
    assert_eq!(cal.elapsed_secs(ClockKind::Always, fri, fri + ms(1999)), 1);
    assert_eq!(cal.elapsed_secs(ClockKind::Always, mon, fri), 0);
    assert_eq!(cal.elapsed_secs(ClockKind::Business, mon, fri), 0);

    assert_eq!(cal.add(ClockKind::Business, fri, secs(7200)), mon);
    assert_eq!(cal.add(ClockKind::Always, fri, secs(7200)), fri + 2 * HOUR);
    assert_eq!(cal.add(ClockKind::Business, fri, secs(0)), fri);
}

// ---------------------------------------------------------------------------------------------
// Showing times and hourly slots

#[test]
fn a_promise_names_weekday_day_month_time_and_zone() {
    let cal = office();
    assert_eq!(
        cal.format_day(berlin(2026, 12, 10, 17, 0)),
        "Thursday 10 December, 17:00 CET"
    );
    assert_eq!(
        cal.format_day(berlin(2026, 6, 1, 9, 5)),
        "Monday 1 June, 09:05 CEST"
    );
}

#[test]
fn format_uses_the_zone_and_its_abbreviation() {
    let cal = office();
    assert_eq!(
        cal.format(berlin(2026, 12, 3, 14, 0)),
        "Thu 3 Dec 2026 14:00 CET"
    );
    assert_eq!(
        cal.format(berlin(2026, 6, 15, 9, 5)),
        "Mon 15 Jun 2026 09:05 CEST"
    );
    assert_eq!(
        every_day("UTC", "08:00-17:00").format(utc(2027, 1, 1, 0, 0)),
        "Fri 1 Jan 2027 00:00 UTC"
    );
    let kolkata = every_day("Asia/Kolkata", "09:00-17:00");
    assert_eq!(
        kolkata.format(utc(2026, 12, 3, 8, 30)),
        "Thu 3 Dec 2026 14:00 IST"
    );
}

#[test]
fn hour_slot_in_whole_and_half_hour_zones() {
    let cal = office();
    let t = berlin(2026, 12, 3, 14, 37) + ms(12_345);
    assert_eq!(cal.hour_slot(t), (berlin(2026, 12, 3, 14, 0), 14));
    assert_eq!(
        cal.hour_slot(berlin(2026, 12, 3, 14, 0)),
        (berlin(2026, 12, 3, 14, 0), 14)
    );
    assert_eq!(cal.next_hour(t), berlin(2026, 12, 3, 15, 0));
    assert_eq!(
        cal.next_hour(berlin(2026, 12, 3, 23, 30)),
        berlin(2026, 12, 4, 0, 0)
    );
    assert_eq!(cal.hour_slot(berlin(2026, 12, 3, 23, 59)).1, 23);
    assert_eq!(cal.hour_slot(berlin(2026, 12, 4, 0, 0)).1, 0);

    // Kolkata is UTC+05:30: local hours start at half past the UTC hour.
    let cal = every_day("Asia/Kolkata", "09:00-17:00");
    let t = at("Asia/Kolkata", 2026, 12, 3, 14, 45);
    assert_eq!(
        cal.hour_slot(t),
        (at("Asia/Kolkata", 2026, 12, 3, 14, 0), 14)
    );
    assert_eq!(cal.hour_slot(t).0, utc(2026, 12, 3, 8, 30));
    assert_eq!(cal.next_hour(t), utc(2026, 12, 3, 9, 30));
    // 08:59 UTC is still 14:29 local.
    assert_eq!(
        cal.hour_slot(utc(2026, 12, 3, 8, 59)),
        (utc(2026, 12, 3, 8, 30), 14)
    );

    // Nepal is UTC+05:45.
    let cal = every_day("Asia/Kathmandu", "09:00-17:00");
    assert_eq!(
        cal.hour_slot(utc(2026, 12, 3, 9, 0)),
        (utc(2026, 12, 3, 8, 15), 14)
    );
}

#[test]
fn hour_slot_across_berlin_dst() {
    let cal = every_day("Europe/Berlin", "08:00-17:00");
    // Spring: 01:00 CET is followed by 03:00 CEST, one real hour later.
    let one = berlin(2026, 3, 29, 1, 0);
    assert_eq!(one, utc(2026, 3, 29, 0, 0));
    assert_eq!(cal.hour_slot(one + 30 * MIN), (one, 1));
    assert_eq!(cal.next_hour(one + 30 * MIN), one + HOUR);
    assert_eq!(cal.hour_slot(one + HOUR), (one + HOUR, 3));
    assert_eq!(cal.next_hour(one + HOUR), one + 2 * HOUR);
    assert_eq!(cal.hour_slot(one + 2 * HOUR).1, 4);

    // Autumn: 02:00 happens twice, once in CEST and once in CET.
    let first_two = utc(2026, 10, 25, 0, 0);
    assert_eq!(berlin(2026, 10, 25, 2, 0), first_two);
    assert_eq!(cal.hour_slot(first_two + 30 * MIN), (first_two, 2));
    assert_eq!(cal.next_hour(first_two), first_two + HOUR);
    assert_eq!(cal.hour_slot(first_two + 90 * MIN), (first_two + HOUR, 2));
    assert_eq!(cal.next_hour(first_two + 90 * MIN), first_two + 2 * HOUR);
    assert_eq!(
        cal.hour_slot(first_two + 2 * HOUR),
        (first_two + 2 * HOUR, 3)
    );
}

/// Walks `next_hour` through the local day `y-m-d` in `tz` and checks that the slots tile time:
/// each starts where the previous ended, contains every minute up to the next, and carries the
/// local hour. Returns the slots' lengths in minutes.
fn walk_hours(tz: &str, y: i16, m: i8, d: i8) -> Vec<i64> {
    walk_hours_of(&every_day(tz, "08:00-17:00"), y, m, d)
}

/// [`walk_hours`] for any calendar.
fn walk_hours_of(cal: &Calendar, y: i16, m: i8, d: i8) -> Vec<i64> {
    let tz = cal.tz_name();
    let mut start = at_in(&cal.tz, y, m, d, 0, 0);
    assert_eq!(
        cal.hour_slot(start).0,
        start,
        "{tz}: midnight starts an hour"
    );
    let end = at_in(&cal.tz, y, m, d + 1, 0, 0);
    let mut lengths = Vec::new();
    while start < end {
        let next = cal.next_hour(start);
        assert!(next > start, "{tz} {start}");
        assert_eq!(cal.hour_slot(next).0, next, "{tz} {next}");
        let mut t = start;
        while t < next {
            let local = Timestamp::from_millisecond(t.0)
                .unwrap()
                .to_zoned(cal.tz.clone());
            assert_eq!(cal.hour_slot(t), (start, local.hour()), "{tz} {t}");
            assert_eq!(cal.next_hour(t), next, "{tz} {t}");
            t += 5 * MIN;
        }
        assert_eq!(cal.hour_slot(next - ms(1)).0, start, "{tz} {next}");
        lengths.push(i64::try_from(next.since(start).as_secs() / 60).unwrap());
        start = next;
    }
    assert_eq!(start, end, "{tz}: the slots end at the next midnight");
    lengths
}

#[test]
fn hour_slots_tile_dst_days() {
    let spring = vec![60; 23];
    assert_eq!(walk_hours("Europe/Berlin", 2026, 3, 29), spring);
    let autumn = vec![60; 25];
    assert_eq!(walk_hours("Europe/Berlin", 2026, 10, 25), autumn);
    assert_eq!(walk_hours("Europe/Berlin", 2026, 12, 3), vec![60; 24]);
    assert_eq!(walk_hours("Asia/Kolkata", 2026, 3, 29), vec![60; 24]);
    assert_eq!(walk_hours("America/New_York", 2026, 3, 8), spring);

    // Lord Howe Island shifts by 30 minutes at 02:00. In April (fall back, 02:00 +11 becomes
    // 01:30 +10:30) the hour 01 is cut at the change and resumes for half an hour.
    let mut april = vec![60; 24];
    april.insert(2, 30);
    assert_eq!(walk_hours("Australia/Lord_Howe", 2026, 4, 5), april);
    // In October (02:00 +10:30 becomes 02:30 +11) the hour 02 is half an hour long.
    let mut october = vec![60; 23];
    october.insert(2, 30);
    assert_eq!(walk_hours("Australia/Lord_Howe", 2026, 10, 4), october);
}

#[test]
fn hour_slots_end_at_an_offset_change_at_half_past() {
    // A made-up zone, UTC+1 in winter and +2 in summer, that changes at half past: at 02:30
    // local in March (to 03:30) and at 03:30 local in October (back to 02:30).
    let cal = Calendar {
        tz: TimeZone::posix("XST-1XDT,M3.5.0/2:30,M10.5.0/3:30").unwrap(),
        tz_name: "XST".into(),
        ..every_day("UTC", "08:00-17:00")
    };
    // March: hour 02 runs to the change at 01:30 UTC, hour 03 from it to 04:00.
    let spring = [vec![60, 60, 30, 30], vec![60; 20]].concat();
    assert_eq!(walk_hours_of(&cal, 2026, 3, 29), spring);
    assert_eq!(
        cal.next_hour(utc(2026, 3, 29, 1, 0)),
        utc(2026, 3, 29, 1, 30)
    );
    assert_eq!(
        cal.hour_slot(utc(2026, 3, 29, 1, 40)),
        (utc(2026, 3, 29, 1, 30), 3)
    );
    // October: hour 03 is cut at the change, then 02:30 to 03:00 again.
    let autumn = [vec![60, 60, 60, 30, 30], vec![60; 21]].concat();
    assert_eq!(walk_hours_of(&cal, 2026, 10, 25), autumn);
}

#[test]
fn hour_slots_ignore_a_change_of_abbreviation_only() {
    // "Summer time" with the same offset: the transitions at half past change only the name.
    let cal = Calendar {
        tz: TimeZone::posix("XST-1XDT-1,M3.5.0/2:30,M10.5.0/3:30").unwrap(),
        tz_name: "XST".into(),
        ..every_day("UTC", "08:00-17:00")
    };
    assert_eq!(walk_hours_of(&cal, 2026, 3, 29), vec![60; 24]);
    assert_eq!(walk_hours_of(&cal, 2026, 10, 25), vec![60; 24]);
    assert_eq!(
        cal.format(utc(2026, 3, 29, 1, 40)),
        "Sun 29 Mar 2026 02:40 XDT"
    );
}

#[test]
fn instants_beyond_jiffs_range_do_not_panic() {
    let cal = office();
    assert_eq!(cal.working_secs(Millis(i64::MAX - 10), Millis(i64::MAX)), 0);
    assert!(cal.hour_slot(Millis(i64::MIN)).0 <= Millis(0));
    assert!(!cal.format(Millis(i64::MAX)).is_empty());
    assert_eq!(cal.add_working(Millis(0), secs(0)), Millis(0));
    assert_eq!(
        cal.add(ClockKind::Always, Millis(i64::MAX), secs(10)),
        Millis(i64::MAX)
    );
}

#[test]
fn dst_changes_across_midnight_move_hours_into_the_neighbouring_date() {
    // A made-up zone (UTC+1, +2 in summer) whose clocks jump from Sunday 23:30 to Monday 00:30 at
    // the end of March, and fall back from Monday 00:30 to Sunday 23:30 at the end of October.
    let tz = TimeZone::posix("XST-1XDT,M3.5.0/23:30,M10.5.0/24:30").unwrap();
    let cal = |hours| Calendar {
        tz: tz.clone(),
        tz_name: "XST".into(),
        ..every_day("UTC", hours)
    };

    // Sunday 29 March ends at 23:45, inside the gap: read as Monday 00:45 XDT (22:45 UTC), so
    // Monday 00:35 XDT is still Sunday's working time.
    let late = cal("20:00-23:45");
    let monday = |h, m| at_in(&tz, 2026, 3, 30, h, m);
    assert_eq!(monday(0, 35), utc(2026, 3, 29, 22, 35));
    assert!(late.is_working(monday(0, 35)));
    assert_eq!(late.working_secs(monday(0, 35), monday(1, 0)), 600);
    assert_eq!(late.add_working(monday(0, 35), secs(600)), monday(0, 45));

    // With hours 00:35-23:45, Sunday's end (Monday 00:45 XDT) overlaps Monday's start (00:35
    // XDT): the overlap counts once.
    let long = cal("00:35-23:45");
    assert_eq!(long.working_secs(monday(0, 30), monday(1, 0)), 1800);
    assert_eq!(long.add_working(monday(0, 30), secs(1800)), monday(1, 0));
    assert!(long.is_working(monday(0, 40)));

    // Monday 26 October starts at 00:15 XDT (22:15 UTC), before the second Sunday 23:30 XST:
    // a span ending on Sunday (local) already holds Monday's working time.
    let early = cal("00:15-02:00");
    let second_sunday_2345 = utc(2026, 10, 25, 22, 45);
    assert_eq!(
        early.format(second_sunday_2345),
        "Sun 25 Oct 2026 23:45 XST"
    );
    assert_eq!(
        early.working_secs(utc(2026, 10, 25, 22, 0), second_sunday_2345),
        1800
    );
    assert_eq!(
        early.add_working(utc(2026, 10, 25, 22, 0), secs(1800)),
        second_sunday_2345
    );
}

/// Working time in milliseconds, for paused SLA clocks: fractions of a second are kept, and
/// adding them back lands on the same instant, across a night.
#[test]
fn working_ms_keeps_fractions_and_add_working_ms_inverts_it() {
    let cal = office();
    // Monday 16:59:59.250 to Tuesday 08:00:00.500: 750 ms before 17:00, 500 ms after 08:00.
    let from = berlin(2026, 12, 7, 16, 59) + ms(59_250);
    let to = berlin(2026, 12, 8, 8, 0) + ms(500);
    assert_eq!(cal.working_ms(from.0, to.0), 1_250);
    assert_eq!(cal.working_secs(from, to), 1);
    assert_eq!(cal.add_working(from, ms(1_250)), to);
    assert_eq!(cal.elapsed_ms(ClockKind::Business, from, to), 1_250);
    assert_eq!(cal.elapsed_ms(ClockKind::Always, from, to), to.0 - from.0);
    assert_eq!(cal.add(ClockKind::Business, from, ms(1_250)), to);
    assert_eq!(
        cal.add(ClockKind::Always, from, ms(1_250)),
        from + ms(1_250)
    );
}

#[test]
fn lead_times_count_working_days_after_the_day_skipping_weekends_and_holidays() {
    // Mon–Fri 08:00–17:00 with two holidays in the week of 21 December 2026.
    let cal = calendar(
        "UTC",
        &["mon", "tue", "wed", "thu", "fri"],
        "08:00-17:00",
        &["2026-12-24", "2026-12-25"],
    );
    // Monday 7 December + 10 working days: the next two weeks' weekdays → Monday 21st.
    assert_eq!(
        cal.add_working_days(date(2026, 12, 7), 10),
        date(2026, 12, 21)
    );
    // From Friday 18th: 21, 22, 23, (24, 25 holidays), 28, 29, 30, 31, Jan 1, 4, 5 → 5 January.
    assert_eq!(
        cal.add_working_days(date(2026, 12, 18), 10),
        date(2027, 1, 5)
    );
    // From a Saturday: the first working day counts as the first.
    assert_eq!(
        cal.add_working_days(date(2026, 12, 12), 1),
        date(2026, 12, 14)
    );
    assert_eq!(
        cal.add_working_days(date(2026, 12, 12), 0),
        date(2026, 12, 12)
    );
    assert!(cal.is_working_day(date(2026, 12, 23)));
    assert!(!cal.is_working_day(date(2026, 12, 24)));
    assert!(!cal.is_working_day(date(2026, 12, 26)));
}

#[test]
fn a_date_ends_with_its_working_hours_or_at_midnight_on_a_day_off() {
    let cal = calendar(
        "Europe/Berlin",
        &["mon", "tue", "wed", "thu", "fri"],
        "08:00-17:00",
        &[],
    );
    assert_eq!(cal.end_of(date(2026, 12, 9)), berlin(2026, 12, 9, 17, 0));
    // Saturday: the day's end, midnight.
    assert_eq!(cal.end_of(date(2026, 12, 12)), berlin(2026, 12, 13, 0, 0));
    assert_eq!(cal.date_of(berlin(2026, 12, 9, 23, 30)), date(2026, 12, 9));
    // 23:30 UTC on the 9th is already the 10th in Berlin.
    assert_eq!(cal.date_of(utc(2026, 12, 9, 23, 30)), date(2026, 12, 10));
    assert_eq!(
        Calendar::format_date(date(2027, 3, 12)),
        "Friday 12 March 2027"
    );
}
