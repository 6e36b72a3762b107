//! The business calendar: working days, working hours, holidays and the time zone they are
//! read in. SLA targets run either on it (`business`: only working time counts) or around the
//! clock (`24x7`). Pure: every function takes the instants it works on ([`Millis`]) and reads
//! no clock; inside, they are counted as bare milliseconds. Times shown to people are formatted in the calendar's time zone.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::model::{ms_of, span_of_ms, Millis};

/// How an SLA target is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ClockKind {
    /// Around the clock: every second counts.
    #[serde(rename = "24x7")]
    Always,
    /// Working time of the business calendar only.
    #[serde(rename = "business")]
    Business,
}

impl ClockKind {
    /// The stored and configured form: `24x7` or `business`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Always => "24x7",
            ClockKind::Business => "business",
        }
    }

    /// Parses `24x7` or `business`.
    ///
    /// # Errors
    /// What was expected.
    pub fn parse(s: &str) -> Result<ClockKind, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "24x7" | "24/7" | "always" => Ok(ClockKind::Always),
            "business" => Ok(ClockKind::Business),
            other => Err(format!(
                "`{other}` is not a clock; expected \"24x7\" or \"business\""
            )),
        }
    }

    /// The default for a target: whole days run on business days, anything shorter around the
    /// clock (the chart's Emergency 4 hours is 24x7, its 1 to 20 day targets are business days).
    pub fn default_for(target: Duration) -> ClockKind {
        let secs = target.as_secs();
        if secs >= 86_400 && secs.is_multiple_of(86_400) {
            ClockKind::Business
        } else {
            ClockKind::Always
        }
    }
}

/// Working days, hours and holidays in a time zone.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
    /// The zone's name as configured (`Europe/Berlin`), or `UTC`/the system's.
    tz_name: String,
    /// Working weekdays, indexed by days since Monday (a set; jiff's `Weekday` is not `Ord`, so
    /// it cannot go in a `BTreeSet`).
    days: [bool; 7],
    /// Start and end of the working day, local time; `start < end` unless `end_at_midnight`.
    start: Time,
    end: Time,
    /// The end was written `24:00`: the working day runs to the next midnight (`end` is then
    /// unused), so a calendar can cover whole days.
    end_at_midnight: bool,
    holidays: BTreeSet<Date>,
}

impl Calendar {
    /// Builds a calendar. `timezone`: an IANA name (`Europe/Berlin`), `UTC`, or `None` for the
    /// system's zone. `days`: weekday names (`mon` … `sun`, or `monday` …), at least one.
    /// `hours`: `"08:00-17:00"`, start before end. `holidays`: dates `YYYY-MM-DD`.
    ///
    /// The end may be `24:00`: the working day then runs to midnight.
    ///
    /// # Errors
    /// What is wrong, naming the value, for the config error message.
    pub fn new(
        timezone: Option<&str>,
        days: &[String],
        hours: &str,
        holidays: &[String],
    ) -> Result<Calendar, String> {
        let (tz, tz_name) = parse_timezone(timezone)?;
        if days.is_empty() {
            return Err("days = []: expected at least one working day".into());
        }
        let mut working = [false; 7];
        for day in days {
            working[day_index(parse_weekday(day)?)] = true;
        }
        let (start, end, end_at_midnight) = parse_hours(hours)?;
        let holidays = holidays
            .iter()
            .map(|d| parse_holiday(d))
            .collect::<Result<_, _>>()?;
        Ok(Calendar {
            tz,
            tz_name,
            days: working,
            start,
            end,
            end_at_midnight,
            holidays,
        })
    }

    /// The calendar in one line, for `helpdesk check`: `Europe/Berlin, mon tue wed thu fri
    /// 08:00-17:00, 2 holidays`.
    pub fn describe(&self) -> String {
        const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let days: Vec<&str> = NAMES
            .iter()
            .zip(self.days)
            .filter_map(|(name, on)| on.then_some(*name))
            .collect();
        let end = if self.end_at_midnight {
            "24:00".to_owned()
        } else {
            self.end.strftime("%H:%M").to_string()
        };
        let n = self.holidays.len();
        format!(
            "{}, {} {}-{end}, {n} holiday{}",
            self.tz_name,
            days.join(" "),
            self.start.strftime("%H:%M"),
            if n == 1 { "" } else { "s" }
        )
    }

    /// The time zone's name.
    pub fn tz_name(&self) -> &str {
        &self.tz_name
    }

    /// The length of a working day in seconds.
    pub fn day_secs(&self) -> i64 {
        let end = if self.end_at_midnight {
            86_400
        } else {
            secs_of_day(self.end)
        };
        end - secs_of_day(self.start)
    }

    /// Whether `at` falls in working time: a working weekday that is not a holiday, local time in
    /// `[start, end)`.
    ///
    /// Read as instants, like [`working`](Self::working): on a day whose start or end
    /// falls into a DST gap or fold, the working day runs between the instants jiff's
    /// `compatible` disambiguation gives, so this agrees with `working` to the millisecond.
    pub fn is_working(&self, at: Millis) -> bool {
        let at = at.0;
        // The neighbouring dates too: see `dates_from`.
        let date = self.tz.to_datetime(timestamp(at)).date();
        [date.yesterday(), Ok(date), date.tomorrow()]
            .into_iter()
            .flatten()
            .filter_map(|d| self.bounds(d))
            .any(|(start, end)| start <= at && at < end)
    }

    /// Working time in `[from, to)`, to the millisecond, counted one local day at a time; zero
    /// when `to <= from`.
    pub fn working(&self, from: Millis, to: Millis) -> Duration {
        span_of_ms(self.working_ms(from.0, to.0))
    }

    /// [`working`](Self::working) in milliseconds.
    fn working_ms(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        // The day after `to`'s too, in case a DST change around midnight puts the start of that
        // day's hours before `to` (see `dates_from`).
        let last = self.tz.to_datetime(timestamp(to)).date();
        let last = last.tomorrow().unwrap_or(last);
        let mut ms: i64 = 0;
        // Counted up to here; a day's hours can overlap the previous day's (see `dates_from`).
        let mut counted = from;
        for date in self.dates_from(from) {
            if date > last {
                break;
            }
            if let Some((start, end)) = self.bounds(date) {
                let (start, end) = (start.max(counted), end.min(to));
                if end > start {
                    ms = ms.saturating_add(end - start);
                    counted = end;
                }
            }
        }
        ms
    }

    /// The instant at which `span` of working time after `from` has passed. A
    /// zero span gives `from`. A target that ends exactly at the end of a working day is due
    /// then (17:00), not at the next day's start.
    ///
    /// The inverse of [`working`](Self::working): `working(from, add_working(from, span)) ==
    /// span`, to the millisecond. A calendar with no working day in 20 years (every day a
    /// holiday) counts around the clock instead, `from + span`, rather than search forever.
    pub fn add_working(&self, from: Millis, span: Duration) -> Millis {
        Millis(self.add_working_ms(from.0, ms_of(span)))
    }

    /// [`add_working`](Self::add_working) with the span in milliseconds.
    fn add_working_ms(&self, from: i64, ms: i64) -> i64 {
        if ms <= 0 {
            return from;
        }
        let mut left = ms;
        // Counted up to here, as in `working_ms`.
        let mut counted = from;
        let mut idle_days = 0;
        for date in self.dates_from(from) {
            let Some((start, end)) = self.bounds(date) else {
                idle_days += 1;
                if idle_days > GIVE_UP_DAYS {
                    break;
                }
                continue;
            };
            idle_days = 0;
            let start = start.max(counted);
            let available = end - start;
            if available <= 0 {
                continue;
            }
            if left <= available {
                return start + left;
            }
            left -= available;
            counted = end;
        }
        from.saturating_add(ms)
    }

    /// `target` (whole seconds) as time on clock `kind`: around the clock, itself; on the
    /// business calendar, each whole day is a working day (`day_secs`) and the remainder
    /// working time.
    pub fn units(&self, kind: ClockKind, target: Duration) -> Duration {
        let secs = target.as_secs();
        match kind {
            ClockKind::Always => Duration::from_secs(secs),
            ClockKind::Business => {
                let day = u64::try_from(self.day_secs()).unwrap_or(0);
                Duration::from_secs(
                    (secs / 86_400)
                        .saturating_mul(day)
                        .saturating_add(secs % 86_400),
                )
            }
        }
    }

    /// Time on clock `kind` in `[from, to)`, to the millisecond: what a paused SLA clock keeps.
    pub fn elapsed(&self, kind: ClockKind, from: Millis, to: Millis) -> Duration {
        match kind {
            ClockKind::Always => to.since(from),
            ClockKind::Business => self.working(from, to),
        }
    }

    /// The instant `span` of clock `kind` after `from`.
    pub fn add(&self, kind: ClockKind, from: Millis, span: Duration) -> Millis {
        match kind {
            ClockKind::Always => from + span,
            ClockKind::Business => self.add_working(from, span),
        }
    }

    /// `at` as people read it, in the calendar's zone: `Thu 3 Dec 2026 14:00 CET`.
    pub fn format(&self, at: Millis) -> String {
        let zoned = timestamp(at.0).to_zoned(self.tz.clone());
        // Formatting a `Zoned` with these specifiers cannot fail (it has a date, a time and a
        // zone); the fallback only keeps a bug here from becoming a panic.
        jiff::fmt::strtime::format("%a %-d %b %Y %H:%M %Z", &zoned)
            .unwrap_or_else(|_| zoned.to_string())
    }

    /// `at` as a customer reads a promise, in the calendar's zone: `Thursday 10 December, 17:00
    /// CET`.
    pub fn format_day(&self, at: Millis) -> String {
        let zoned = timestamp(at.0).to_zoned(self.tz.clone());
        jiff::fmt::strtime::format("%A %-d %B, %H:%M %Z", &zoned)
            .unwrap_or_else(|_| zoned.to_string())
    }

    /// The local date of `at`.
    pub fn date_of(&self, at: Millis) -> Date {
        self.tz.to_datetime(timestamp(at.0)).date()
    }

    /// Whether `date` is a working day: a working weekday and no holiday.
    pub fn is_working_day(&self, date: Date) -> bool {
        self.days[day_index(date.weekday())] && !self.holidays.contains(&date)
    }

    /// The `n`-th working day after `from` (`from` itself not counted): a lead time of `n`
    /// business days. Holidays and days off are skipped; at jiff's last date the count stops.
    pub fn add_working_days(&self, from: Date, n: u32) -> Date {
        let mut day = from;
        let mut left = n;
        while left > 0 {
            let Ok(next) = day.tomorrow() else {
                return day;
            };
            day = next;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// The end of `date` as a deadline: the end of its working hours on a working day, else
    /// the next local midnight. A task due "by 12 March" is due then.
    pub fn end_of(&self, date: Date) -> Millis {
        let working = self.bounds(date).filter(|(s, e)| s < e).map(|(_, e)| e);
        let midnight = || {
            date.tomorrow()
                .ok()
                .and_then(|d| self.instant(d.to_datetime(Time::midnight())))
        };
        Millis(working.or_else(midnight).unwrap_or(i64::MAX))
    }

    /// A date as people read it: `Friday 12 March 2027`.
    pub fn format_date(date: Date) -> String {
        jiff::fmt::strtime::format("%A %-d %B %Y", date).unwrap_or_else(|_| date.to_string())
    }

    /// The start of the local hour that contains `at`, and that hour's number (0–23).
    ///
    /// The hour starts at local `HH:00`, also in zones offset by 30 or 45 minutes. When the
    /// offset changes inside the hour (a DST change at half past, as on Lord Howe Island), the
    /// hour in the new offset starts at the change.
    pub fn hour_slot(&self, at: Millis) -> (Millis, i8) {
        let ts = timestamp(at.0);
        let at = ts.as_millisecond();
        let offset = self.tz.to_offset(ts);
        let local = offset.to_datetime(ts);
        let into_hour = ms_into_hour(local);
        let naive = at - into_hour;
        let start = self.last_offset_change(naive, at).unwrap_or(naive);
        (Millis(start), local.hour())
    }

    /// The start of the first local hour after the one that contains `at`.
    pub fn next_hour(&self, at: Millis) -> Millis {
        let (Millis(start), _) = self.hour_slot(at);
        let ts = timestamp(start);
        let local = self.tz.to_offset(ts).to_datetime(ts);
        let into_hour = ms_into_hour(local);
        let naive = start + 3_600_000 - into_hour;
        Millis(self.first_offset_change(start, naive).unwrap_or(naive))
    }

    /// The working day on `date` as instants `[start, end)` in ms, or `None` when `date` is not
    /// a working day. Local wall times are read with jiff's `compatible` disambiguation: a time
    /// in a DST gap is read with the offset before the gap (so it lands after it), a time in a
    /// fold as its first occurrence. The result may be empty (`start >= end`) when the day's
    /// hours lie inside a gap.
    fn bounds(&self, date: Date) -> Option<(i64, i64)> {
        if !self.days[day_index(date.weekday())] || self.holidays.contains(&date) {
            return None;
        }
        let start = self.instant(date.to_datetime(self.start))?;
        let end = if self.end_at_midnight {
            self.instant(date.tomorrow().ok()?.to_datetime(Time::midnight()))?
        } else {
            self.instant(date.to_datetime(self.end))?
        };
        Some((start, end))
    }

    /// A local wall time as an instant (ms), `None` beyond jiff's range.
    fn instant(&self, local: DateTime) -> Option<i64> {
        let ts = self.tz.to_ambiguous_timestamp(local).compatible().ok()?;
        Some(ts.as_millisecond())
    }

    /// The local dates from the day before `from`'s onwards, ending at jiff's last date.
    ///
    /// The day before because a DST change around midnight can move one day's hours into the
    /// next local date: a gap from 23:30 to 00:30 turns an end of 23:45 into 00:45 the next day,
    /// which may then overlap that day's hours (a start of 00:35).
    fn dates_from(&self, from: i64) -> impl Iterator<Item = Date> {
        let first = self.tz.to_datetime(timestamp(from)).date();
        let first = first.yesterday().unwrap_or(first);
        std::iter::successors(Some(first), |d| d.tomorrow().ok())
    }

    /// The latest instant in `(after, upto]` at which the zone's UTC offset changes.
    fn last_offset_change(&self, after: i64, upto: i64) -> Option<i64> {
        // `preceding` yields transitions strictly before its argument.
        self.tz
            .preceding(timestamp(upto.saturating_add(1)))
            .map(|t| t.timestamp().as_millisecond())
            .take_while(|&t| t > after)
            .find(|&t| self.offset_changes_at(t))
    }

    /// The earliest instant in `(after, before)` at which the zone's UTC offset changes.
    fn first_offset_change(&self, after: i64, before: i64) -> Option<i64> {
        self.tz
            .following(timestamp(after))
            .map(|t| t.timestamp().as_millisecond())
            .take_while(|&t| t < before)
            .find(|&t| self.offset_changes_at(t))
    }

    /// Whether the offset at `at` differs from the one just before (a transition may change only
    /// the abbreviation or the DST flag; that starts no new hour).
    fn offset_changes_at(&self, at: i64) -> bool {
        self.tz.to_offset(timestamp(at)) != self.tz.to_offset(timestamp(at.saturating_sub(1)))
    }
}

/// How many days in a row without working time [`Calendar::add_working`] looks through before it
/// decides the calendar has none: 20 years.
const GIVE_UP_DAYS: u32 = 20 * 366;

/// `ms` since the epoch as a jiff timestamp, clamped to jiff's range (years -9999 to 9999).
fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// `day`'s index in [`Calendar::days`]: days since Monday.
fn day_index(day: Weekday) -> usize {
    usize::from(day.to_monday_zero_offset().unsigned_abs())
}

/// Milliseconds since the start of `local`'s hour.
fn ms_into_hour(local: DateTime) -> i64 {
    i64::from(local.minute()) * 60_000
        + i64::from(local.second()) * 1000
        + i64::from(local.millisecond())
}

/// Seconds since midnight.
fn secs_of_day(t: Time) -> i64 {
    i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
}

/// The zone and its name: `None` is the system's, `UTC` (any case) UTC, else an IANA name.
fn parse_timezone(timezone: Option<&str>) -> Result<(TimeZone, String), String> {
    match timezone.map(str::trim) {
        None => {
            let tz = TimeZone::system();
            let name = tz.iana_name().unwrap_or("local").to_owned();
            Ok((tz, name))
        }
        Some(name) if name.eq_ignore_ascii_case("UTC") => Ok((TimeZone::UTC, "UTC".into())),
        Some(name) => match TimeZone::get(name) {
            Ok(tz) => Ok((tz, name.to_owned())),
            Err(_) => Err(format!(
                "timezone = {name:?}: not a known time zone; expected an IANA name such as \
                 \"Europe/Berlin\", or \"UTC\""
            )),
        },
    }
}

/// `mon` … `sun` or `monday` … `sunday`, any case.
fn parse_weekday(name: &str) -> Result<Weekday, String> {
    let day = match name.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => {
            return Err(format!(
                "days: {name:?} is not a weekday; expected mon, tue, wed, thu, fri, sat, sun \
                 (or the full names)"
            ))
        }
    };
    Ok(day)
}

/// `"HH:MM-HH:MM"`: the start, the end, and whether the end is `24:00` (midnight after).
fn parse_hours(hours: &str) -> Result<(Time, Time, bool), String> {
    let Some((start, end)) = hours.split_once('-') else {
        return Err(format!(
            "hours = {hours:?}: expected the start and end of the working day, \
             such as \"08:00-17:00\""
        ));
    };
    let start = parse_clock(hours, start.trim(), false)?;
    let end_text = end.trim();
    let end_at_midnight = end_text == "24:00";
    let end = if end_at_midnight {
        Time::midnight()
    } else {
        parse_clock(hours, end_text, true)?
    };
    if !end_at_midnight && start >= end {
        return Err(format!(
            "hours = {hours:?}: the start must be before the end"
        ));
    }
    Ok((start, end, end_at_midnight))
}

/// One side of `hours`: `H:MM` or `HH:MM`, 00:00 to 23:59.
fn parse_clock(hours: &str, text: &str, is_end: bool) -> Result<Time, String> {
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let digits = h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit());
        if !digits || !(1..=2).contains(&h.len()) || m.len() != 2 {
            return None;
        }
        Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
    });
    parsed.ok_or_else(|| {
        let range = if is_end {
            "00:00 to 24:00"
        } else {
            "00:00 to 23:59"
        };
        format!("hours = {hours:?}: {text:?} is not a time; expected HH:MM, {range}")
    })
}

/// A holiday `YYYY-MM-DD`.
fn parse_holiday(text: &str) -> Result<Date, String> {
    let bad = |why: &str| Err(format!("holidays: {text:?} {why}"));
    let t = text.trim();
    let b = t.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return bad("is not a date; expected YYYY-MM-DD");
    }
    // The shape check makes these ASCII digit runs that fit their types.
    let (y, m, d) = (
        t[0..4].parse::<i16>(),
        t[5..7].parse::<i8>(),
        t[8..10].parse::<i8>(),
    );
    let (Ok(y), Ok(m), Ok(d)) = (y, m, d) else {
        return bad("is not a date; expected YYYY-MM-DD");
    };
    Date::new(y, m, d).or_else(|_| bad("is not a day of the calendar"))
}

#[cfg(test)]
mod tests;
