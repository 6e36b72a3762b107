//! Whether a new case repeats an open one (the incident SOP's step 5.6: "check whether others
//! reported the same issue"): the informative terms of a request, weighted by how rare each is
//! in the help desk's mail, and the decision to link two cases of the same category as
//! `related` (others reporting the same thing) or `duplicate` (the same person writing again),
//! with the reason in words a technician can check ("same category; 4 shared terms: vpn,
//! disconnect, office, morning; 18 min apart"). A false link costs a technician's attention, so
//! a link needs several rare terms in common, not one. Pure.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::model::Millis;

/// The terms of a request: its words without greetings, filler and signature words, each
/// stemmed once, sorted; held as stored (separated by spaces, a term holds none), so a case read
/// back is compared without taking its terms apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms(String);

/// How much of the body is read: a request says what it is about near its top.
const BODY_SCAN: usize = 4 << 10;

impl Terms {
    /// The terms of a request's subject and body (its own words: quote and signature removed).
    pub fn of(subject: &str, body: &str) -> Terms {
        let body = super::prefix(body, BODY_SCAN);
        let mut set: BTreeSet<String> = super::words(subject)
            .into_iter()
            .chain(super::words(body))
            .filter_map(|w| term(&w))
            .collect();
        // Each word of a concept adds the concept: "Wi-Fi", "wireless" and "SSID" meet.
        let concepts: Vec<String> = CONCEPTS
            .iter()
            .filter(|(_, words)| words.iter().any(|w| set.contains(*w)))
            .map(|(c, _)| format!("~{c}"))
            .collect();
        set.extend(concepts);
        Terms(set.into_iter().collect::<Vec<_>>().join(" "))
    }

    /// The terms as stored.
    pub fn stored(&self) -> &str {
        &self.0
    }

    /// Terms as [`Terms::stored`] wrote them.
    pub fn from_stored(text: String) -> Terms {
        Terms(text)
    }

    /// Each term, in order.
    fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.split_whitespace()
    }

    /// The terms the two have in common, in order: one walk along both sorted lists.
    fn shared<'a>(&'a self, other: &'a Terms) -> impl Iterator<Item = &'a str> + 'a {
        let (mut a, mut b) = (self.iter().peekable(), other.iter().peekable());
        std::iter::from_fn(move || loop {
            let (x, y) = (a.peek()?, b.peek()?);
            match x.cmp(y) {
                std::cmp::Ordering::Less => {
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                }
                std::cmp::Ordering::Equal => {
                    b.next();
                    return a.next();
                }
            }
        })
    }
}

/// A word as a term: `None` for stop words, filler and short words; otherwise lower-case with
/// a plural or verb ending cut (`disconnects`, `disconnecting` → `disconnect`).
fn term(word: &str) -> Option<String> {
    let w = word.trim_end_matches("'s").replace('\'', "");
    let has_digit = w.chars().any(|c| c.is_ascii_digit());
    if (w.chars().count() < 3 && !has_digit) || STOP.binary_search(&w.as_str()).is_ok() {
        return None;
    }
    if has_digit {
        // Room numbers and models count; single digits and long numbers (phones, order
        // numbers) are noise.
        return (2..=6).contains(&w.chars().count()).then_some(w);
    }
    Some(stem(&w))
}

/// A crude English stem: enough that the forms of one word meet, never a dictionary.
fn stem(w: &str) -> String {
    let n = w.chars().count();
    let cut = |suffix: &str, min: usize| -> Option<String> {
        (n >= min && w.ends_with(suffix)).then(|| w[..w.len() - suffix.len()].to_owned())
    };
    let stemmed = cut("ies", 5)
        .map(|s| s + "y")
        .or_else(|| cut("ing", 6))
        .or_else(|| cut("ed", 5))
        .or_else(|| cut("es", 5).filter(|s| s.ends_with(['s', 'x', 'z']) || s.ends_with("ch")))
        .or_else(|| cut("s", 4).filter(|s| !s.ends_with(['s', 'u', 'i'])))
        .unwrap_or_else(|| w.to_owned());
    // `dropped` → `dropp` → `drop`.
    let b = stemmed.as_bytes();
    if b.len() >= 4
        && b[b.len() - 1] == b[b.len() - 2]
        && !matches!(b[b.len() - 1], b'l' | b's' | b'z' | b'e' | b'o')
    {
        return stemmed[..stemmed.len() - 1].to_owned();
    }
    stemmed
}

/// What two requesters at one site (one mail domain) add to what they share, as if one more
/// term of middling rarity.
const SITE_WEIGHT: f64 = 2.0;

/// Words people use for the same thing in IT requests, as stemmed terms: a request using any
/// of them also has the concept (`~wifi`), weighted by its own rarity like any term.
const CONCEPTS: &[(&str, &[&str])] = &[
    (
        "wifi",
        &[
            "wifi",
            "wireless",
            "ssid",
            "internet",
            "network",
            "online",
            "offline",
            "connect",
            "connection",
            "reconnect",
            "router",
            "hotspot",
            "signal",
        ],
    ),
    (
        "badge",
        &[
            "badge", "card", "fob", "reader", "scanner", "door", "entrance", "entry", "beep",
        ],
    ),
    (
        "gradebook",
        &[
            "gradebook",
            "grade",
            "powerschool",
            "sis",
            "portal",
            "attendance",
            "report",
        ],
    ),
    (
        "mail",
        &[
            "outlook", "webmail", "gmail", "inbox", "mailbox", "calendar", "send", "receive",
        ],
    ),
    (
        "printer",
        &["printer", "print", "copier", "copy", "toner", "jam", "scan"],
    ),
    (
        "projector",
        &[
            "projector",
            "beamer",
            "display",
            "hdmi",
            "screen",
            "smartboard",
            "board",
        ],
    ),
    (
        "device",
        &[
            "chromebook",
            "laptop",
            "computer",
            "desktop",
            "ipad",
            "tablet",
            "cart",
        ],
    ),
    (
        "phone",
        &["phone", "voicemail", "extension", "dial", "handset", "call"],
    ),
    (
        "slow",
        &[
            "slow", "forever", "spin", "timeout", "hang", "freeze", "froze", "lag", "load",
            "crash", "crashe",
        ],
    ),
    (
        "login",
        &[
            "login",
            "log",
            "password",
            "sign",
            "locked",
            "lock",
            "credential",
            "account",
        ],
    ),
];

/// Words that say nothing about which problem a request is: function words, greetings and
/// thanks, filler of urgency and politeness, mail and phone boilerplate. Sorted.
const STOP: &[&str] = &[
    "able",
    "about",
    "above",
    "after",
    "again",
    "ago",
    "all",
    "already",
    "also",
    "always",
    "am",
    "an",
    "and",
    "android",
    "any",
    "anymore",
    "anyone",
    "anything",
    "appreciate",
    "appreciated",
    "are",
    "arent",
    "around",
    "asap",
    "ask",
    "asked",
    "at",
    "available",
    "back",
    "be",
    "because",
    "been",
    "before",
    "being",
    "best",
    "better",
    "both",
    "but",
    "by",
    "came",
    "can",
    "cannot",
    "cant",
    "come",
    "could",
    "couldnt",
    "day",
    "dear",
    "did",
    "didnt",
    "do",
    "does",
    "doesnt",
    "doing",
    "done",
    "dont",
    "each",
    "either",
    "else",
    "email",
    "emailed",
    "etc",
    "even",
    "ever",
    "every",
    "everyone",
    "fine",
    "first",
    "fix",
    "fixed",
    "follow",
    "for",
    "from",
    "fyi",
    "galaxy",
    "get",
    "getting",
    "give",
    "goes",
    "going",
    "good",
    "got",
    "great",
    "had",
    "has",
    "have",
    "having",
    "hello",
    "help",
    "helping",
    "her",
    "here",
    "hey",
    "hi",
    "him",
    "his",
    "hiya",
    "hope",
    "how",
    "however",
    "ipad",
    "iphone",
    "isnt",
    "issue",
    "issues",
    "its",
    "just",
    "keep",
    "keeps",
    "kept",
    "kind",
    "kindly",
    "know",
    "last",
    "let",
    "like",
    "look",
    "looked",
    "looking",
    "lot",
    "mail",
    "make",
    "many",
    "may",
    "maybe",
    "me",
    "message",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "need",
    "needed",
    "needs",
    "never",
    "new",
    "next",
    "nice",
    "not",
    "now",
    "off",
    "ok",
    "okay",
    "once",
    "one",
    "only",
    "other",
    "our",
    "out",
    "over",
    "please",
    "pls",
    "plz",
    "problem",
    "problems",
    "put",
    "quick",
    "quickly",
    "really",
    "regards",
    "right",
    "said",
    "same",
    "samsung",
    "say",
    "says",
    "see",
    "seem",
    "seemed",
    "seems",
    "sent",
    "she",
    "should",
    "show",
    "showing",
    "shows",
    "since",
    "some",
    "someone",
    "something",
    "soon",
    "sorry",
    "start",
    "started",
    "still",
    "stop",
    "stopped",
    "sure",
    "take",
    "team",
    "tell",
    "than",
    "thank",
    "thanks",
    "that",
    "thats",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "thx",
    "time",
    "today",
    "told",
    "too",
    "tried",
    "try",
    "trying",
    "unable",
    "under",
    "until",
    "upon",
    "urgent",
    "urgently",
    "use",
    "using",
    "very",
    "via",
    "want",
    "was",
    "wasnt",
    "way",
    "well",
    "went",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whole",
    "why",
    "will",
    "with",
    "without",
    "wondering",
    "wont",
    "work",
    "working",
    "works",
    "would",
    "wrote",
    "yes",
    "yet",
    "you",
    "your",
];

/// How rare each term is in a body of requests: the rarer, the more a shared one says.
#[derive(Debug, Default)]
pub struct Rarity {
    /// Requests holding each term.
    df: HashMap<String, u32>,
    /// Requests in all.
    docs: u32,
}

impl Rarity {
    /// The rarity of terms in `(subject, body)` texts.
    pub fn build<'a>(texts: impl IntoIterator<Item = (&'a str, &'a str)>) -> Rarity {
        let mut r = Rarity::default();
        for (subject, body) in texts {
            r.docs += 1;
            for t in Terms::of(subject, body).iter() {
                *r.df.entry(t.to_owned()).or_insert(0) += 1;
            }
        }
        r
    }

    /// A term's weight: the log of how many requests there are per request holding it (a term
    /// never seen weighs the most).
    pub fn weight(&self, term: &str) -> f64 {
        let df = self.df.get(term).copied().unwrap_or(0);
        (f64::from(self.docs + 1) / f64::from(df + 1)).ln().max(0.1)
    }
}

/// When two cases count as one matter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// How far apart two reports of one incident may arrive.
    pub window: Duration,
    /// How many terms they must share at least.
    pub min_terms: usize,
    /// How much of the shorter request's weight the shared terms must carry (0–1), at the end
    /// of the window; two requests arriving together need half of it, in between it grows
    /// with the time apart.
    pub min_score: f64,
    /// For the same requester writing again: the same, usually lower (a resend, a "did you get
    /// my mail about the projector?").
    pub duplicate_min_terms: usize,
    /// …and its score.
    pub duplicate_min_score: f64,
}

impl Default for Settings {
    /// The thresholds measured on `bench/similar/cases.tsv` (see the README).
    fn default() -> Self {
        Settings {
            window: Duration::from_secs(4 * 3600),
            min_terms: 4,
            min_score: 0.4,
            duplicate_min_terms: 2,
            duplicate_min_score: 0.3,
        }
    }
}

/// A case as compared: who asked, when, and its terms.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The requester's address, lower-case.
    pub requester: &'a str,
    /// When it arrived.
    pub at: Millis,
    /// Its terms.
    pub terms: &'a Terms,
}

/// What a link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Another person reporting the same thing.
    Related,
    /// The same person writing again.
    Duplicate,
}

impl Kind {
    /// The stored name (the link's kind).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Related => "related",
            Kind::Duplicate => "duplicate",
        }
    }
}

/// Why two cases were linked.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// Related or duplicate.
    pub kind: Kind,
    /// The shared terms, weightiest first.
    pub shared: Vec<String>,
    /// The share of the shorter request's weight they carry.
    pub score: f64,
    /// How far apart the two arrived.
    pub apart: Duration,
}

impl Link {
    /// The reason, as `cases show` prints it.
    pub fn explain(&self) -> String {
        let minutes = self.apart.as_secs() / 60;
        let apart = if minutes < 120 {
            format!("{minutes} min")
        } else {
            format!("{} h", minutes / 60)
        };
        format!(
            "same category; {} shared terms: {}; {apart} apart{}",
            self.shared.len(),
            self.shared.join(", "),
            if self.kind == Kind::Duplicate {
                "; same requester"
            } else {
                ""
            }
        )
    }
}

/// Whether `new` repeats `open` (a case of the same category that arrived before it), and how.
pub fn compare(
    new: &Request<'_>,
    open: &Request<'_>,
    rarity: &Rarity,
    s: &Settings,
) -> Option<Link> {
    let apart =
        Duration::from_millis(u64::try_from((new.at.0 - open.at.0).abs()).unwrap_or(u64::MAX));
    if apart > s.window {
        return None;
    }
    let same_person = new.requester.eq_ignore_ascii_case(open.requester);
    let (kind, min_terms, min_score) = if same_person {
        (
            Kind::Duplicate,
            s.duplicate_min_terms,
            s.duplicate_min_score,
        )
    } else {
        (Kind::Related, s.min_terms, s.min_score)
    };
    // Most open cases share too few terms: they are turned away before anything is weighed
    // (leaving out the requesters' names below only lowers the count).
    if new.terms.shared(open.terms).count() < min_terms {
        return None;
    }
    // The requesters' own names (a signature) say who wrote, not what about.
    let names: Vec<String> = [new.requester, open.requester]
        .iter()
        .flat_map(|a| super::words(a.split('@').next().unwrap_or("")))
        .collect();
    let mut shared: Vec<(&str, f64)> = new
        .terms
        .shared(open.terms)
        .filter(|t| !names.iter().any(|n| n == t))
        .map(|t| (t, rarity.weight(t)))
        .collect();
    let total = |t: &Terms| t.iter().map(|x| rarity.weight(x)).sum::<f64>();
    let shorter = total(new.terms).min(total(open.terms));
    if shorter <= 0.0 {
        return None;
    }
    // Two requesters at one site (one mail domain) more likely see one local outage.
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
    let same_site =
        domain(new.requester).is_some() && domain(new.requester) == domain(open.requester);
    let site_bonus = if same_site { SITE_WEIGHT } else { 0.0 };
    let score = (shared.iter().map(|(_, w)| w).sum::<f64>() + site_bonus) / (shorter + site_bonus);
    // Reports of one incident come close together: the nearer, the less must be shared.
    let nearness = 0.5 + 0.5 * (apart.as_secs_f64() / s.window.as_secs_f64().max(1.0));
    if shared.len() < min_terms || score < min_score * nearness.min(1.0) {
        return None;
    }
    shared.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    Some(Link {
        kind,
        shared: shared.into_iter().map(|(t, _)| t.to_owned()).collect(),
        score,
        apart,
    })
}

#[cfg(test)]
mod tests;

/// A labelled request of a test set: what it is, and which incident it belongs to (`None`:
/// none of the others).
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The requester.
    pub requester: String,
    /// When it arrived.
    pub at: Millis,
    /// Its category.
    pub category: String,
    /// The incident it reports, shared by every report of it.
    pub group: Option<String>,
    /// Its terms.
    pub terms: Terms,
}

/// How the links found on a labelled set compare with its labels.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Report {
    /// Pairs linked.
    pub linked: usize,
    /// …of which the labels say belong together.
    pub correct: usize,
    /// Pairs the labels say belong together (same category, within the window).
    pub labelled: usize,
    /// Linked pairs whose kind (related or duplicate) was right.
    pub kind_right: usize,
    /// Requests with an earlier report of their incident within the window.
    pub repeats: usize,
    /// …linked to at least one of those.
    pub repeats_found: usize,
}

impl Report {
    /// Correct links among all links.
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.linked)
    }

    /// Labelled pairs that were linked.
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.labelled)
    }

    /// Repeating requests linked to an earlier report of theirs: what a technician sees.
    pub fn request_recall(&self) -> f64 {
        ratio(self.repeats_found, self.repeats)
    }
}

/// Reads a labelled set: a TSV with the header `id at_min requester category group subject
/// body` (`group` `-` for none, `\n` for line breaks in the body), as `bench/similar/cases.tsv`.
///
/// # Errors
/// A line that is not seven fields, or an `at_min` that is not a number, naming the line.
pub fn read_set(text: &str) -> Result<Vec<Labelled>, String> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() != 7 {
                return Err(format!("line {}: {} fields, expected 7", n + 1, f.len()));
            }
            let minutes: i64 = f[1]
                .trim()
                .parse()
                .map_err(|_| format!("line {}: at_min {:?} is not a number", n + 1, f[1]))?;
            let body = f[6].replace("\\n", "\n");
            Ok(Labelled {
                requester: f[2].trim().to_ascii_lowercase(),
                at: Millis(minutes.saturating_mul(60_000)),
                category: f[3].trim().to_owned(),
                group: Some(f[4].trim())
                    .filter(|g| *g != "-" && !g.is_empty())
                    .map(str::to_owned),
                terms: Terms::of(f[5], &crate::parse::quote::strip_reply(&body).text),
            })
        })
        .collect()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Runs a labelled set through [`compare`] in order of arrival, each request against every
/// earlier one of its category (as if all were still open), and counts against the labels.
pub fn evaluate(set: &[Labelled], rarity: &Rarity, s: &Settings) -> Report {
    let mut r = Report::default();
    for (i, new) in set.iter().enumerate() {
        let mut found_one = false;
        let mut has_earlier = false;
        for old in &set[..i] {
            if old.category != new.category {
                continue;
            }
            let within =
                Duration::from_millis(u64::try_from(new.at.0 - old.at.0).unwrap_or(0)) <= s.window;
            let together = new.group.is_some() && new.group == old.group;
            if together && within {
                r.labelled += 1;
                has_earlier = true;
            }
            let a = Request {
                requester: &new.requester,
                at: new.at,
                terms: &new.terms,
            };
            let b = Request {
                requester: &old.requester,
                at: old.at,
                terms: &old.terms,
            };
            let Some(link) = compare(&a, &b, rarity, s) else {
                continue;
            };
            r.linked += 1;
            if together {
                r.correct += 1;
                found_one = true;
                let same = new.requester.eq_ignore_ascii_case(&old.requester);
                if (link.kind == Kind::Duplicate) == same {
                    r.kind_right += 1;
                }
            }
        }
        if has_earlier {
            r.repeats += 1;
            r.repeats_found += usize::from(found_one);
        }
    }
    r
}
