//! Times of day in prose: "9am", "9:30 a.m.", "18:30", "noon", and ranges such as "9am-5pm",
//! "9-5pm", "from 8:00 to 16:00" or "between 9am and noon". A bare hour ("9 to 5") is not a
//! time: only am/pm, hh:mm or a word makes one, and a range's start may borrow its end's half.

use std::sync::LazyLock;

use jiff::civil::Time;
use regex::{Captures, Regex};

use super::dates::{num, DateSpan, CONNECTOR_RE};
use super::pattern;

/// A word time, or an hour with optional minutes and am/pm ("9", "9:30", "9.30am").
static TIME_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\b(?:(noon|midday|midnight)|(\d{1,2})(?:([:.])([0-5]\d))?(?:\s*([ap])\.?m\b\.?)?)")
});

/// Times of day found outside the date spans: (byte offset, (start, end)).
pub(super) fn time_spans(text: &str, dates: &[DateSpan]) -> Vec<(usize, (Time, Option<Time>))> {
    let tokens: Vec<Clock> = TIME_RE
        .captures_iter(text)
        .filter_map(|c| clock(text, &c))
        .filter(|t| !dates.iter().any(|d| d.start < t.end && t.start < d.end))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(first) = tokens.get(i) {
        if let Some(second) = tokens
            .get(i + 1)
            .filter(|t| t.strong && joined(text, first, t))
        {
            if let Some(pair) = time_pair(first, second) {
                out.push((first.start, pair));
                i += 2;
                continue;
            }
        }
        if first.strong {
            if let Some(time) = first.time(first.pm) {
                out.push((first.start, (time, None)));
            }
        }
        i += 1;
    }
    out
}

/// One time-like token: "9", "9am", "9:30 a.m.", "18:30", "noon".
#[derive(Debug)]
struct Clock {
    start: usize,
    end: usize,
    hour: i8,
    minute: i8,
    /// `Some(true)` for pm, `Some(false)` for am, `None` when not written.
    pm: Option<bool>,
    /// Written with am/pm, as hh:mm or as a word; a bare hour counts only as a range's start.
    strong: bool,
}

impl Clock {
    /// The time of day, with `pm` deciding a 12-hour clock's half.
    fn time(&self, pm: Option<bool>) -> Option<Time> {
        let hour = match pm {
            None if (0..=23).contains(&self.hour) => self.hour,
            Some(pm) if (1..=12).contains(&self.hour) => self.hour % 12 + if pm { 12 } else { 0 },
            _ => return None,
        };
        Time::new(hour, self.minute, 0, 0).ok()
    }
}

/// Reads one time token, refusing ratios, versions and numbers inside other numbers.
fn clock(text: &str, c: &Captures) -> Option<Clock> {
    let m = c.get(0)?;
    let glued = |ch: char| ch.is_ascii_digit() || ".:/".contains(ch);
    let before = text[..m.start()].chars().next_back();
    if before.is_some_and(glued) || text[m.end()..].starts_with(|ch| glued(ch) && ch != '.') {
        return None;
    }
    let (start, end) = (m.start(), m.end());
    if let Some(word) = c.get(1) {
        let hour = if word.as_str().eq_ignore_ascii_case("midnight") {
            0
        } else {
            12
        };
        return Some(Clock {
            start,
            end,
            hour,
            minute: 0,
            pm: None,
            strong: true,
        });
    }
    let pm = c.get(5).map(|m| m.as_str().eq_ignore_ascii_case("p"));
    let dot = c.get(3).is_some_and(|s| s.as_str() == ".");
    if dot && pm.is_none() {
        return None;
    }
    let minute = match c.get(4) {
        Some(min) => min.as_str().parse().ok()?,
        None => 0,
    };
    let strong = pm.is_some() || c.get(4).is_some();
    Some(Clock {
        start,
        end,
        hour: num(c, 2)?,
        minute,
        pm,
        strong,
    })
}

/// Whether two time tokens form a range: "9-5pm", "9am to noon", "between 9am and 5pm".
fn joined(text: &str, first: &Clock, second: &Clock) -> bool {
    let between = text.get(first.end..second.start).unwrap_or("");
    let before = text
        .get(..first.start)
        .unwrap_or("")
        .trim_end()
        .to_lowercase();
    CONNECTOR_RE.is_match(between)
        || (between.trim().eq_ignore_ascii_case("and") && before.ends_with("between"))
}

/// A start and end; a start without am/pm takes the end's half if that keeps it before the end
/// ("1-5pm" is 13:00-17:00, "9-5pm" is 09:00-17:00).
fn time_pair(first: &Clock, second: &Clock) -> Option<(Time, Option<Time>)> {
    let end = second.time(second.pm)?;
    let start = match (first.pm, second.pm) {
        (None, Some(true)) if (1..=12).contains(&first.hour) => first
            .time(Some(true))
            .filter(|s| *s <= end)
            .or_else(|| first.time(Some(false)))?,
        (None, Some(false)) if (1..=12).contains(&first.hour) => first.time(Some(false))?,
        (pm, _) => first.time(pm)?,
    };
    Some((start, Some(end)))
}
