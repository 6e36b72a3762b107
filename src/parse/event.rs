//! Conference-support requests: reads from a request's text (subject + "\n" + body) what the
//! conference-support SOP needs — days and times of support, place, travel, hardware and the
//! technician's tasks — tells on-premises events from off-site ones, and lists what is still
//! missing so the reply can ask for it. Pure: `today` is a parameter, and no input panics.
//!
//! `dates` finds the dates, `times` the times of day, `details` the rest. Written by hand: the
//! English date crates (chrono-english, interim, two_timer) parse one whole expression
//! relative to now, not every date in prose, and would bring in chrono.

mod dates;
mod details;
mod times;

use std::sync::LazyLock;

use jiff::civil::{Date, Time};
use regex::Regex;
use serde_json::{Map, Value};

use dates::date_spans;
use details::{hardware, phrase, place, sentences, tasks, TRAVEL_RE};
use times::time_spans;

/// An explicit "off site", which wins over every other cue.
static OFF_SITE_RE: LazyLock<Regex> = LazyLock::new(|| pattern(r"\boff[- ]?site\b"));

/// Built-in on-premises cues; they win over venue cues ("in-house event at the hotel").
static ON_PREMISES_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"\b(?:on[- ]premises?|our\s+(?:office|offices|building|campus|headquarters|hq|",
        r"premises|facility)|in[- ]house)\b",
    ))
});

/// Built-in off-site cues: kinds of venue the organisation does not own.
static VENUE_CUE_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"\b(?:hotel|convention\s+cent(?:er|re)|resort|conference\s+cent(?:er|re)|venue|",
        r"expo|fairgrounds?|arena|civic\s+cent(?:er|re))s?\b",
    ))
});

/// "On site"/"onsite": the weakest cue, as it often means "at the venue".
static ON_SITE_RE: LazyLock<Regex> = LazyLock::new(|| pattern(r"\bon[- ]?site\b"));

/// What a request says about the event to support.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// Days of support, sorted, without duplicates (ranges expanded, at most 31 days each); a
    /// date in a sentence about travel is the travel's, not one of them.
    pub dates: Vec<Date>,
    /// Times of day ("9am-5pm", "at 6 pm", "18:30"): start and optional end, in order of
    /// appearance, without duplicates.
    pub times: Vec<(Time, Option<Time>)>,
    /// The place as written ("Oklahoma City Convention Center", "the board room", "Room 204").
    pub place: Option<String>,
    /// The first sentence about travel arrangements (flights, driving, lodging), if any.
    pub travel: Option<String>,
    /// Whether a sentence about travel also gives a date or time ("we fly out on 11 March at
    /// 7am"), so the travel times need not be asked.
    pub travel_times: bool,
    /// Hardware named, as normalised nouns ("projector", "microphone", "wifi", …), in order of
    /// appearance, without duplicates.
    pub hardware: Vec<String>,
    /// The sentence saying what the technician is to do (set up, run, staff, stand by), if any.
    pub tasks: Option<String>,
}

/// Where the event is, against the organisation's premises: on premises needs no travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// On premises; holds the configured premises name or the built-in cue that matched.
    OnPremises(String),
    /// Off site; holds the cue that matched, lower-cased ("off-site", "hotel").
    OffSite(String),
    /// Nothing in the text says.
    Unknown,
}

/// One of the details the SOP asks for before support is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The days and times of support.
    When,
    /// The venue or room.
    Place,
    /// The travel arrangements.
    Travel,
    /// The dates and times of the travel.
    TravelTimes,
    /// The equipment to bring or run.
    Hardware,
    /// What the technician is expected to do.
    Tasks,
}

impl Detail {
    /// The phrase that asks the customer for this detail, to be listed in a reply.
    pub fn ask(self) -> &'static str {
        match self {
            Detail::When => "the dates and times when support is expected",
            Detail::Place => "where the event takes place (venue, address and room)",
            Detail::Travel => "what travel is needed and how it is arranged (transport, lodging)",
            Detail::TravelTimes => "the dates and times of the travel there and back",
            Detail::Hardware => "what equipment is needed (projector, microphones, laptop, …)",
            Detail::Tasks => "what the technician is expected to do (set up, run, stand by, …)",
        }
    }

    /// A stable name for logs, templates and stored events.
    pub fn as_str(self) -> &'static str {
        match self {
            Detail::When => "when",
            Detail::Place => "place",
            Detail::Travel => "travel",
            Detail::TravelTimes => "travel_times",
            Detail::Hardware => "hardware",
            Detail::Tasks => "tasks",
        }
    }
}

/// Reads a request. `today` is the local date the message arrived: a date without a year is
/// the next one on or after `today`, a weekday alone ("on Thursday") the next one after it.
pub fn read(text: &str, today: Date) -> Event {
    let spans = date_spans(text, today);
    let times = time_spans(text, &spans);
    let sentences = sentences(text);
    let travel: Vec<&(usize, usize)> = sentences
        .iter()
        .filter(|(s, e)| TRAVEL_RE.is_match(&text[*s..*e]))
        .collect();
    let inside = |&&(s, e): &&(usize, usize), at: usize| s <= at && at < e;
    let travel_times = travel.iter().any(|sentence| {
        spans.iter().any(|d| inside(sentence, d.start))
            || times.iter().any(|t| inside(sentence, t.0))
    });
    // Dates and times in a sentence about travel are the travel's, not days or times of support
    // ("we fly out on 11 March at 7am"): they tell only that the travel times are known.
    let in_travel = |at: usize| travel.iter().any(|sentence| inside(sentence, at));
    let mut out_times = Vec::new();
    for (at, time) in times {
        if !in_travel(at) {
            push_new(&mut out_times, time);
        }
    }
    let days = spans
        .into_iter()
        .filter(|d| !in_travel(d.start))
        .flat_map(|s| s.dates);
    Event {
        dates: sorted(days.collect()),
        times: out_times,
        place: place(text),
        travel: travel.first().map(|(s, e)| phrase(&text[*s..*e])),
        travel_times,
        hardware: hardware(text),
        tasks: tasks(text, &sentences),
    }
}

/// Reads every date in a text, sorted and without duplicates (used by [`read`]; public for
/// reading a date in a command such as "/task av by 12 March").
pub fn dates(text: &str, today: Date) -> Vec<Date> {
    sorted(
        date_spans(text, today)
            .into_iter()
            .flat_map(|s| s.dates)
            .collect(),
    )
}

/// Reads one date expression that is the whole of `text` (trimmed, a final "." ignored), e.g.
/// "12 March", "2027-03-12", "Friday", "tomorrow", "3/12"; `None` if it is not exactly one date.
pub fn date(text: &str, today: Date) -> Option<Date> {
    let text = text.trim().trim_end_matches('.');
    match date_spans(text, today).as_slice() {
        [one] if one.start == 0 && one.end == text.len() && one.dates.len() == 1 => {
            one.dates.first().copied()
        }
        _ => None,
    }
}

/// On premises, off site or unknown. `premises` are the organisation's premises names and
/// keywords (case-insensitive, whole words). An explicit "off site" wins over everything, then
/// a configured premises name, then "on premises"/"our office"/"in-house", then venue cues
/// ("hotel", "convention center", "venue", …), and last a bare "on site"/"onsite", which in an
/// event request often means "at the venue".
pub fn site(text: &str, premises: &[String]) -> Site {
    if let Some(m) = OFF_SITE_RE.find(text) {
        return Site::OffSite(m.as_str().to_lowercase());
    }
    let lower = text.to_lowercase();
    for name in premises.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        if contains_words(&lower, &name.to_lowercase()) {
            return Site::OnPremises(name.to_string());
        }
    }
    if let Some(m) = ON_PREMISES_RE.find(text) {
        return Site::OnPremises(m.as_str().to_lowercase());
    }
    if let Some(m) = VENUE_CUE_RE.find(text) {
        return Site::OffSite(m.as_str().to_lowercase());
    }
    match ON_SITE_RE.find(text) {
        Some(m) => Site::OnPremises(m.as_str().to_lowercase()),
        None => Site::Unknown,
    }
}

impl Event {
    /// Adds what `later` (a customer's reply) knows: dates, times and hardware are unions,
    /// place, travel and tasks are filled only where still missing.
    pub fn merge(&mut self, later: Event) {
        self.dates.extend(later.dates);
        self.dates = sorted(std::mem::take(&mut self.dates));
        for time in later.times {
            push_new(&mut self.times, time);
        }
        for noun in later.hardware {
            push_new(&mut self.hardware, noun);
        }
        self.place = self.place.take().or(later.place);
        self.travel = self.travel.take().or(later.travel);
        self.tasks = self.tasks.take().or(later.tasks);
        self.travel_times |= later.travel_times;
    }

    /// What is still missing, in the order of [`Detail`]. The place is asked only when the
    /// site is unknown; travel and its times only when the event is not on premises.
    pub fn missing(&self, site: &Site) -> Vec<Detail> {
        let travels = !matches!(site, Site::OnPremises(_));
        [
            (Detail::When, self.dates.is_empty()),
            (
                Detail::Place,
                self.place.is_none() && *site == Site::Unknown,
            ),
            (Detail::Travel, travels && self.travel.is_none()),
            (Detail::TravelTimes, travels && !self.travel_times),
            (Detail::Hardware, self.hardware.is_empty()),
            (Detail::Tasks, self.tasks.is_none()),
        ]
        .into_iter()
        .filter_map(|(detail, missing)| missing.then_some(detail))
        .collect()
    }

    /// The event as JSON for the case's stored details: dates as "YYYY-MM-DD", times as
    /// `["HH:MM", "HH:MM" or null]`. jiff's serde feature is not needed for this.
    pub fn to_json(&self) -> Value {
        let hhmm = |t: &Time| Value::String(format!("{:02}:{:02}", t.hour(), t.minute()));
        let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
        let mut map = Map::new();
        let dates = self
            .dates
            .iter()
            .map(|d| Value::String(d.to_string()))
            .collect();
        map.insert("dates".into(), Value::Array(dates));
        let times = self
            .times
            .iter()
            .map(|(s, e)| Value::Array(vec![hhmm(s), e.as_ref().map_or(Value::Null, hhmm)]));
        map.insert("times".into(), Value::Array(times.collect()));
        map.insert("place".into(), text(&self.place));
        map.insert("travel".into(), text(&self.travel));
        map.insert("travel_times".into(), Value::Bool(self.travel_times));
        let hardware = self.hardware.iter().cloned().map(Value::String).collect();
        map.insert("hardware".into(), Value::Array(hardware));
        map.insert("tasks".into(), text(&self.tasks));
        Value::Object(map)
    }

    /// Reads what [`Event::to_json`] wrote. Absent keys are empty; `None` if a present value
    /// has the wrong shape or a date or time does not parse.
    pub fn from_json(value: &Value) -> Option<Event> {
        let map = value.as_object()?;
        let list = |key: &str| match map.get(key) {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(v) => v.as_array().cloned(),
        };
        let text = |key: &str| match map.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(v) => v.as_str().map(|s| Some(s.to_string())),
        };
        let time = |v: &Value| v.as_str()?.parse::<Time>().ok();
        let (dates, times, hardware) = (list("dates")?, list("times")?, list("hardware")?);
        let dates = dates.iter().map(|d| d.as_str()?.parse::<Date>().ok());
        let times = times.iter().map(|pair| match pair.as_array()?.as_slice() {
            [start] => Some((time(start)?, None)),
            [start, Value::Null] => Some((time(start)?, None)),
            [start, end] => Some((time(start)?, Some(time(end)?))),
            _ => None,
        });
        let hardware = hardware.iter().map(|h| h.as_str().map(String::from));
        Some(Event {
            dates: sorted(dates.collect::<Option<_>>()?),
            times: times.collect::<Option<_>>()?,
            place: text("place")?,
            travel: text("travel")?,
            travel_times: match map.get("travel_times") {
                None | Some(Value::Null) => false,
                Some(v) => v.as_bool()?,
            },
            hardware: hardware.collect::<Option<_>>()?,
            tasks: text("tasks")?,
        })
    }
}

/// Whether `needle` occurs in `haystack` as whole words.
fn contains_words(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(i, m)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Dates sorted, without duplicates.
fn sorted(mut dates: Vec<Date>) -> Vec<Date> {
    dates.sort();
    dates.dedup();
    dates
}

/// Appends `item` unless already present, keeping the order of first appearance.
fn push_new<T: PartialEq>(items: &mut Vec<T>, item: T) {
    if !items.contains(&item) {
        items.push(item);
    }
}

/// A case-insensitive regex from a template with the date pieces spliced in.
fn pattern(template: &str) -> Regex {
    let mut re = template.to_string();
    for (name, piece) in dates::PIECES {
        re = re.replace(name, piece);
    }
    Regex::new(&format!("(?i){re}")).expect("the built-in patterns are valid")
}

#[cfg(test)]
mod tests;
