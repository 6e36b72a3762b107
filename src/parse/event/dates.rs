//! Dates in prose: every date expression of a text, found by regexes tried from the most
//! specific (ranges, lists) to the least (a weekday alone). Each claims its span of text, so
//! "Friday, March 12" is one date and the "12" in it is never a time or a second date; two
//! dates joined by "-", "to" or "through" become a range. A year not written is inferred
//! forward from the day the message arrived.

use std::ops::RangeInclusive;
use std::sync::LazyLock;

use jiff::civil::{Date, Weekday};
use regex::{Captures, Regex};

use super::pattern;

/// Days a range may span and still be expanded; a longer one keeps only its two ends.
const MAX_RANGE_DAYS: usize = 31;

/// Years searched for a month and day without a year: 8 finds the next 29 February.
const YEAR_SEARCH: i16 = 8;

/// A four-digit number after a date is its year only in this range ("March 12 1500 chairs").
const YEARS: RangeInclusive<i16> = 1900..=2199;

/// Words before a number that make it a label, not a day ("Windows 10 May update", "Room 12").
const LABELS: &[&str] = &[
    "room", "rm", "suite", "floor", "level", "windows", "win", "version", "ver", "v", "office",
    "no", "number", "ticket", "building", "bldg", "hall", "gate", "booth", "table", "iphone",
    "ios", "android", "step", "page", "chapter", "item", "unit", "apt", "box", "ext", "model",
    "vol", "part", "phase", "section", "row", "seat", "build", "release",
];

/// Template pieces, spliced into the date patterns by [`pattern`](super::pattern).
pub(super) const PIECES: &[(&str, &str)] = &[
    (
        "<MONTH>",
        concat!(
            "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|",
            "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?",
        ),
    ),
    // A weekday before a date is dropped: the date wins.
    ("<WDP>", r"(?:(?:<WDA>)\.?,?\s+)?"),
    // A weekday after a date, in brackets: "March 12 (Friday)".
    ("<WDS>", r"(?:,?\s*\(\s*(?:<WDA>)\.?\s*\))?"),
    (
        "<WDA>",
        concat!(
            "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|",
            "thu(?:rs?)?|fri|sat|sun",
        ),
    ),
    ("<YEAR>", r"(?:,?\s+(\d{4})\b)?"),
    ("<ORD>", "(?:st|nd|rd|th)?"),
    ("<TO>", "(?:-|–|—|to|through|thru|until|till)"),
];

/// "2027-03-12".
static ISO_RE: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"));

/// "12-14 March", "Fri 12 to Sun 14 March 2027".
static RANGE_DM_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\b<WDP>(\d{1,2})<ORD>\s*<TO>\s*<WDP>(\d{1,2})<ORD>\s+(?:of\s+)?(<MONTH>)\b\.?<YEAR>")
});

/// "March 12-14", "March 12 through 14, 2027".
static RANGE_MD_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\b<WDP>(<MONTH>)(?:\.\s*|\s+)(\d{1,2})<ORD>\s*<TO>\s*(\d{1,2})<ORD>\b<YEAR>")
});

/// "12 and 13 March", "5, 6 and 7 May".
static LIST_DM_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"\b(\d{1,2})<ORD>(?:\s*,\s*\d{1,2}<ORD>)*\s*,?\s*(?:and|",
        r"&)\s*\d{1,2}<ORD>\s+(?:of\s+)?(<MONTH>)\b\.?<YEAR>",
    ))
});

/// "March 12 and 13", "May 5, 6 and 7".
static LIST_MD_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"\b<WDP>(<MONTH>)(?:\.\s*|\s+)\d{1,2}<ORD>(?:\s*,\s*\d{1,2}<ORD>)*\s*,?\s*(?:and|",
        r"&)\s*(\d{1,2})<ORD>\b<YEAR>",
    ))
});

/// "12 March 2027", "Fri 12th of March", "the 12th of March".
static DM_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\b<WDP>(?:the\s+)?(\d{1,2})(<ORD>)\s+(of\s+)?(<MONTH>)\b\.?<YEAR><WDS>")
});

/// "March 12", "Friday, March 12th, 2027", "Sept. 3".
static MD_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\b<WDP>(<MONTH>)(?:\.\s*|\s+)(?:the\s+)?(\d{1,2})<ORD>\b<YEAR><WDS>")
});

/// US order: "3/12", "3/12/27", "Fri 3/12/2027".
static NUM_RE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\b<WDP>(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b"));

/// A weekday alone, full names only: "sat" and "sun" are words too.
static WEEKDAY_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"\b(?:(next|this|coming|last)\s+)?(monday|tuesday|wednesday|thursday|friday|",
        r"saturday|sunday)\b",
    ))
});

/// "tomorrow", "the day after tomorrow"; "today" is left out, as emails use it as filler.
static TOMORROW_RE: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b(day\s+after\s+)?tomorrow\b"));

/// The day numbers inside a list such as "5, 6 and 7".
static DIGITS_RE: LazyLock<Regex> = LazyLock::new(|| pattern(r"\d{1,2}"));

/// What may stand between two dates or times of a range.
pub(super) static CONNECTOR_RE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*(?:-|–|—|to|through|thru|until|till)\s*$"));

/// What after a number makes it a quantity or a time, not a day.
static UNIT_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"^\s*(?:[ap]\.?m\b|o'?clock\b|(?:people|persons|guests|attendees|participants|",
        r"families|members|users|students|kids|children|adults|mics?|microphones?|",
        r"laptops?|projectors?|screens?|tables?|chairs?|rooms?|seats?|hours?|hrs?|",
        r"minutes?|mins?|days?|weeks?|months?|years?|percent|pcs|units|devices|computers?|",
        r"tvs?|feet|ft|inch(?:es)?|miles?|gb|mb|tb)\b)",
    ))
});

/// What after "N/M" makes it a fraction ("3/4 of the room", "1/2 day").
static FRACTION_RE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*(?:of|the|a|an|off|price|cups?|inch(?:es)?)\b"));

/// Reads one pattern's match: what it names, or `None` to refuse it.
type Reader = fn(&Captures, &str, Date) -> Option<Kind>;

/// Finds the date expressions, most specific pattern first, then joins "X to Y" into ranges.
pub(super) fn date_spans(text: &str, today: Date) -> Vec<DateSpan> {
    let readers: [(&Regex, Reader); 10] = [
        (&ISO_RE, iso),
        (&RANGE_DM_RE, range_day_month),
        (&RANGE_MD_RE, range_month_day),
        (&LIST_DM_RE, list_day_month),
        (&LIST_MD_RE, list_month_day),
        (&DM_RE, day_month),
        (&MD_RE, month_day),
        (&NUM_RE, numeric),
        (&WEEKDAY_RE, weekday),
        (&TOMORROW_RE, tomorrow),
    ];
    let mut found = Vec::new();
    for (re, reader) in readers {
        scan(re, text, today, reader, &mut found);
    }
    found.sort_by_key(|f| f.start);
    let spans = join_ranges(text, found).into_iter().map(|f| DateSpan {
        start: f.start,
        end: f.end,
        dates: resolve(&f.kind, today),
    });
    spans.filter(|s| !s.dates.is_empty()).collect()
}

/// "2027-03-12".
fn iso(c: &Captures, _: &str, _: Date) -> Option<Kind> {
    let year = num(c, 1).filter(|y| YEARS.contains(y))?;
    Some(Kind::One(Partial::new(Some(year), num(c, 2)?, num(c, 3)?)))
}

/// "12-14 March".
fn range_day_month(c: &Captures, _: &str, _: Date) -> Option<Kind> {
    let (month, year) = (month(c, 3)?, year(c, 4));
    let from = Partial::new(year, month, num(c, 1)?);
    Some(Kind::Range(from, Partial::new(year, month, num(c, 2)?)))
}

/// "March 12-14".
fn range_month_day(c: &Captures, text: &str, _: Date) -> Option<Kind> {
    let (month, year) = (month(c, 1)?, year(c, 4));
    if year.is_none() && !clean_end(text, c.get(3)?.end()) {
        return None;
    }
    let from = Partial::new(year, month, num(c, 2)?);
    Some(Kind::Range(from, Partial::new(year, month, num(c, 3)?)))
}

/// "12 and 13 March".
fn list_day_month(c: &Captures, text: &str, _: Date) -> Option<Kind> {
    let days = text.get(c.get(0)?.start()..c.get(2)?.start())?;
    Some(Kind::List(list(days, month(c, 2)?, year(c, 3))))
}

/// "March 12 and 13".
fn list_month_day(c: &Captures, text: &str, _: Date) -> Option<Kind> {
    let days = text.get(c.get(1)?.end()..c.get(2)?.end())?;
    if year(c, 3).is_none() && !clean_end(text, c.get(2)?.end()) {
        return None;
    }
    Some(Kind::List(list(days, month(c, 1)?, year(c, 3))))
}

/// "12 March 2027"; "we may", "we march": a lower-case verb month needs "12th", "of" or a year.
fn day_month(c: &Captures, _: &str, _: Date) -> Option<Kind> {
    let year = year(c, 5);
    let plain = c.get(2)?.as_str().is_empty() && c.get(3).is_none() && year.is_none();
    if plain && matches!(c.get(4)?.as_str(), "may" | "march") {
        return None;
    }
    Some(Kind::One(Partial::new(year, month(c, 4)?, num(c, 1)?)))
}

/// "March 12", "Sept. 3".
fn month_day(c: &Captures, text: &str, _: Date) -> Option<Kind> {
    let year = year(c, 3);
    if year.is_none() && !clean_end(text, c.get(2)?.end()) {
        return None;
    }
    Some(Kind::One(Partial::new(year, month(c, 1)?, num(c, 2)?)))
}

/// "3/12", "3/12/27", "3/12/2027", but not "3/4 of" or "1/2 day".
fn numeric(c: &Captures, text: &str, _: Date) -> Option<Kind> {
    let end = c.get(0)?.end();
    if !clean_end(text, end) || FRACTION_RE.is_match(&text[end..]) {
        return None;
    }
    let year = match c.get(3).map(|y| y.as_str()) {
        Some(y) if y.len() == 2 => Some(2000 + y.parse::<i16>().ok()?),
        Some(y) => Some(y.parse::<i16>().ok().filter(|y| YEARS.contains(y))?),
        None => None,
    };
    Some(Kind::One(Partial::new(year, num(c, 1)?, num(c, 2)?)))
}

/// "Thursday", "next Tuesday": the next such day after today.
fn weekday(c: &Captures, text: &str, today: Date) -> Option<Kind> {
    let name = c.get(2)?;
    // Retried one character later, "last Friday" would be found as "Friday".
    if previous_word(&text[..name.start()]) == "last" {
        return None;
    }
    let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let lower = name.as_str().to_lowercase();
    let offset = names.iter().position(|n| lower.starts_with(n))?;
    let day = Weekday::from_monday_zero_offset(i8::try_from(offset).ok()?).ok()?;
    Some(Kind::One(today.nth_weekday(1, day).ok()?.into()))
}

/// "tomorrow", "the day after tomorrow".
fn tomorrow(c: &Captures, _: &str, today: Date) -> Option<Kind> {
    let tomorrow = today.tomorrow().ok()?;
    let day = if c.get(1).is_some() {
        tomorrow.tomorrow().ok()?
    } else {
        tomorrow
    };
    Some(Kind::One(day.into()))
}

/// A month and day, with the year if the text gave one.
#[derive(Debug, Clone, Copy)]
struct Partial {
    year: Option<i16>,
    month: i8,
    day: i8,
}

impl Partial {
    fn new(year: Option<i16>, month: i8, day: i8) -> Partial {
        Partial { year, month, day }
    }
}

impl From<Date> for Partial {
    fn from(date: Date) -> Partial {
        Partial {
            year: Some(date.year()),
            month: date.month(),
            day: date.day(),
        }
    }
}

/// What one matched piece of text names.
#[derive(Debug, Clone)]
enum Kind {
    One(Partial),
    Range(Partial, Partial),
    List(Vec<Partial>),
}

/// A matched piece of text, by byte offsets.
#[derive(Debug, Clone)]
struct Found {
    start: usize,
    end: usize,
    kind: Kind,
}

/// Dates found in a text, with the byte range each was read from.
#[derive(Debug)]
pub(super) struct DateSpan {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) dates: Vec<Date>,
}

/// Runs `re` over `text`, keeping each match that `reader` accepts and that overlaps no
/// earlier find. A refused match is retried one character later, so it cannot hide a shorter
/// one.
fn scan(re: &Regex, text: &str, today: Date, reader: Reader, found: &mut Vec<Found>) {
    let mut at = 0;
    while let Some(c) = re.captures_at(text, at) {
        let Some(m) = c.get(0) else { break };
        let free = !found.iter().any(|f| f.start < m.end() && m.start() < f.end);
        let accepted = free && clean_start(text, m.start()) && !m.is_empty();
        match accepted.then(|| reader(&c, text, today)).flatten() {
            Some(kind) => {
                found.push(Found {
                    start: m.start(),
                    end: m.end(),
                    kind,
                });
                at = m.end();
            }
            None => at = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8),
        }
        if at >= text.len() {
            break;
        }
    }
}

/// Joins two single dates with "-", "to", "through" or "between … and" between them.
fn join_ranges(text: &str, found: Vec<Found>) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::with_capacity(found.len());
    for next in found {
        if let Some(last) = out.last_mut() {
            if let (Kind::One(a), Kind::One(b)) = (&last.kind, &next.kind) {
                let between = text.get(last.end..next.start).unwrap_or("");
                let after_between = text.get(..last.start).unwrap_or("").trim_end();
                let between_and = between.trim().eq_ignore_ascii_case("and")
                    && after_between.to_lowercase().ends_with("between");
                if CONNECTOR_RE.is_match(between) || between_and {
                    last.kind = Kind::Range(*a, *b);
                    last.end = next.end;
                    continue;
                }
            }
        }
        out.push(next);
    }
    out
}

/// The dates a find names: a year is inferred forward from `today`.
fn resolve(kind: &Kind, today: Date) -> Vec<Date> {
    match kind {
        Kind::One(p) => on_or_after(*p, today).into_iter().collect(),
        Kind::List(days) => days.iter().filter_map(|p| on_or_after(*p, today)).collect(),
        Kind::Range(a, b) => range(*a, *b, today),
    }
}

/// A range's days: its end is inferred forward (so a running event keeps this year) and its
/// start is the last such day on or before the end; a range longer than 31 days keeps its ends.
fn range(a: Partial, b: Partial, today: Date) -> Vec<Date> {
    let ends = match (a.year, b.year) {
        (Some(_), _) => on_or_after(a, today).and_then(|s| Some((s, on_or_after(b, s)?))),
        (None, _) => on_or_after(b, today).and_then(|e| Some((on_or_before(a, e)?, e))),
    };
    let Some((start, end)) = ends else {
        return Vec::new();
    };
    let mut days = vec![start];
    let mut day = start;
    while day < end && days.len() < MAX_RANGE_DAYS {
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
        days.push(day);
    }
    if day == end {
        days
    } else {
        vec![start, end]
    }
}

/// The date itself if it has a year, else the first such day on or after `from`.
fn on_or_after(p: Partial, from: Date) -> Option<Date> {
    if let Some(year) = p.year {
        return Date::new(year, p.month, p.day).ok();
    }
    let first = from.year();
    (first..=first.saturating_add(YEAR_SEARCH))
        .filter_map(|y| Date::new(y, p.month, p.day).ok())
        .find(|d| *d >= from)
}

/// The date itself if it has a year, else the last such day on or before `until`.
fn on_or_before(p: Partial, until: Date) -> Option<Date> {
    if let Some(year) = p.year {
        return Date::new(year, p.month, p.day).ok();
    }
    let last = until.year();
    (last.saturating_sub(YEAR_SEARCH)..=last)
        .rev()
        .filter_map(|y| Date::new(y, p.month, p.day).ok())
        .find(|d| *d <= until)
}

/// The days of "12, 13 and 14" in one month.
fn list(days: &str, month: i8, year: Option<i16>) -> Vec<Partial> {
    let days = DIGITS_RE
        .find_iter(days)
        .filter_map(|d| d.as_str().parse().ok());
    days.map(|day| Partial::new(year, month, day)).collect()
}

/// Whether the number at `start` stands alone: not inside another number, a version, an
/// address or a path, and not labelled ("Room 12", "Windows 10").
fn clean_start(text: &str, start: usize) -> bool {
    if !text[start..].starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    let before = &text[..start];
    let mut chars = before.chars().rev();
    match chars.next() {
        Some(c) if c.is_ascii_digit() || ".:/#$£€_,".contains(c) => return false,
        Some('-') if chars.next().is_some_and(|c| c.is_ascii_digit()) => return false,
        _ => {}
    }
    !LABELS.contains(&previous_word(before).as_str())
}

/// The last word of `before`, lower-cased, skipping spaces and a dot ("No. 12").
fn previous_word(before: &str) -> String {
    let trimmed = before.trim_end_matches([' ', '\t', '.']);
    let word: String = trimmed
        .chars()
        .rev()
        .take_while(|c| c.is_alphabetic())
        .collect();
    word.chars().rev().collect::<String>().to_lowercase()
}

/// Whether a day number ending at `end` is not a time, a quantity or part of a longer number.
fn clean_end(text: &str, end: usize) -> bool {
    let rest = &text[end..];
    let mut chars = rest.chars();
    let bad_next = match chars.next() {
        Some(c) if c.is_ascii_digit() || "/:%".contains(c) => true,
        Some('.' | ',') => chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    !bad_next && !UNIT_RE.is_match(rest)
}

/// A month's number from its name or abbreviation.
fn month(c: &Captures, group: usize) -> Option<i8> {
    let name = c.get(group)?.as_str().to_lowercase();
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let index = months.iter().position(|m| name.starts_with(m))?;
    i8::try_from(index + 1).ok()
}

/// A written year, if it is a plausible one.
fn year(c: &Captures, group: usize) -> Option<i16> {
    num(c, group).filter(|y| YEARS.contains(y))
}

/// A captured number.
pub(super) fn num<T: std::str::FromStr>(c: &Captures, group: usize) -> Option<T> {
    c.get(group)?.as_str().parse().ok()
}
