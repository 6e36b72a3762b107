//! The other details of a request, read from its sentences: the place (a "Location:" line, a
//! venue name, a street address or a room), travel sentences, the hardware named (as
//! normalised nouns) and the sentence saying what the technician is to do. Heuristic by
//! design: what is not found is asked for, so a miss costs a question, not a wrong booking.

use std::sync::LazyLock;

use regex::Regex;

use super::{pattern, push_new};

/// Longest phrase kept for place, travel and tasks; a longer one is cut at a word.
const MAX_PHRASE_CHARS: usize = 240;

/// Words in a capitalised name that make it a department, not a venue ("IT Service Center").
const NOT_VENUE_WORDS: &[&str] = &[
    "IT",
    "Help",
    "Service",
    "Services",
    "Support",
    "Data",
    "Call",
    "Operations",
    "Desk",
];

/// Words stripped from the front of a capitalised venue name ("The Hilton Hotel").
const VENUE_LEAD_WORDS: &[&str] = &[
    "The", "At", "In", "On", "For", "To", "From", "Our", "A", "An", "Please", "We", "Held",
    "Location", "Venue", "Place", "Where",
];

/// Travel words; "drive" only as a verb of motion, not a disk ("shared drive").
pub(super) static TRAVEL_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"\b(?:travel\w*|fly(?:ing)?\s+(?:in|out|to|back|there|down|up)|flights?|airfare|",
        r"plane\s+tickets?|airport|driv(?:e|ing)\s+(?:to|there|down|up|over|out|back|",
        r"from)|driving\s+distance|mileage|per\s+diem|lodging|accommodations?|",
        r"hotel\s+rooms?|(?:book|booked|reserve|reserved)\s+(?:a\s+|the\s+)?hotel|",
        r"rental\s+car|car\s+rental|carpool\w*|shuttle|by\s+train|train\s+tickets?|",
        r"overnight|stay\s+the\s+night)\b",
    ))
});

/// Words that say what the technician is to do.
static TASK_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"\b(?:technicians?|techs?|(?:someone|somebody|anyone|a\s+person)\s+(?:to|be|",
        r"there|available|on\s+site)|set(?:ting)?\s*-?\s*up|run(?:ning)?\s+(?:the|our|a)|",
        r"operat(?:e|ing)|staff(?:ed|ing)?|on\s+hand|on-?\s?site\s+support|",
        r"monitor(?:ing)?|troubleshoot\w*|tear\s*-?\s*down|stand\s*-?\s*by|standing\s+by|",
        r"help\s+(?:with|us)|assist\w*|support\s+(?:the|our|during|for)|need\s+(?:you|",
        r"someone|somebody|help))\b",
    ))
});

/// "Location: …", "Venue: …" lines of a form.
static FIELD_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"(?m)^[ \t]*(?:location|venue|place|where|address)[ \t]*:[ \t]*(\S[^\n]*)$")
});

/// Capitalised venue names: case-sensitive, so "the convention center" does not qualify.
static VENUE_RE: LazyLock<Regex> = LazyLock::new(|| {
    let re = concat!(
        r"\b(?:(?:<CAP>[ \t]+){0,5}(?:Convention|Conference|Civic|Events?|Expo|Exhibition|",
        r"Community)[ \t]+(?:Center|Centre|Hall)|(?:<CAP>[ \t]+){1,5}(?:Hotel|Resort|Inn|",
        r"Suites|Arena|Stadium|Center|Centre|Hall|Auditorium|Ballroom|Theater|Theatre|",
        r"Museum|Library|Fairgrounds|Pavilion|Lodge|Church|Club|Campus|Casino|Coliseum|",
        r"Complex|Park)|Hotel(?:[ \t]+<CAP>){1,4})\b",
    );
    let capitalised = r"[A-Z][\w'’&.-]*";
    Regex::new(&re.replace("<CAP>", capitalised)).expect("the built-in venue pattern is valid")
});

/// A street address: "100 Main Street".
static ADDRESS_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b\d{1,5}[ \t]+(?:[A-Z][a-z]+[ \t]+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|",
        r"Boulevard|Blvd|Drive|Dr|Lane|Ln|Way|Parkway|Pkwy|Place|Pl|Court|Ct)\b\.?",
    ))
    .expect("the built-in address pattern is valid")
});

/// A numbered room ("Room 204", "Hall 3") or a named one ("the board room").
static ROOM_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"\b(?:(?:room|rm\.?|suite|studio|classroom|lab|hall|building|",
        r"bldg\.?)[ \t]*#?[ \t]*(?-i:[A-Z])?\d{1,4}(?-i:[A-Z])?\b|(?:the|",
        r"our)[ \t]+(?:(?:main|large|small|big|new|old|upstairs|downstairs|front|back|",
        r"east|west|north|south|executive|first|second|third|",
        r"ground)[ \t]+)?(?:board[ \t]?room|conference[ \t]room|meeting[ \t]room|",
        r"training[ \t]room|auditorium|ballroom|cafeteria|lobby|gym(?:nasium)?|chapel|",
        r"sanctuary|fellowship[ \t]hall|break[ \t]?room|lecture[ \t]hall|lounge|atrium|",
        r"multipurpose[ \t]room|community[ \t]room|great[ \t]hall|main[ \t]hall|",
        r"library)(?:[ \t]+(?-i:[A-Z0-9])\b)?)",
    ))
});

/// Hardware: regex alternatives and the normalised noun each stands for. At one position the
/// first listed alternative wins ("document camera" before "camera", "speakerphone" before
/// "speakers"); "projector screen" is two matches, so it names both.
const HARDWARE: &[(&str, &str)] = &[
    (r"document\s+cameras?|doc\s*cams?|elmos?", "document camera"),
    (
        r"speaker\s*phones?|conference\s+phones?|polycoms?|meeting\s+owls?",
        "speakerphone",
    ),
    (
        r"wi-?fi|wireless\s+(?:internet|network|access)|wlan|access\s+points?",
        "wifi",
    ),
    (
        r"(?:wireless|handheld|lapel|lavalier)\s+mics?|microphones?|mics?|lavaliers?|lavs?",
        "microphone",
    ),
    (
        r"(?:bluetooth|portable|external|wireless|powered|usb|computer)\s+speakers?|speakers",
        "speakers",
    ),
    (
        r"pa\s+system|p\.a\.\s+system|sound\s+system|audio\s+system",
        "sound system",
    ),
    (r"projectors?|beamers?", "projector"),
    (r"screens?", "screen"),
    (r"laptops?|notebooks?|macbooks?|chromebooks?", "laptop"),
    (r"computers?|desktops?|pcs?", "computer"),
    (r"ipads?|tablets?", "tablet"),
    (r"video\s+cameras?|cameras?|webcams?|camcorders?", "camera"),
    (
        r"live\s*-?\s*stream\w*|webcast\w*|streaming|stream\s+(?:it|the\s+\w+)",
        "livestream",
    ),
    (
        concat!(
            r"zoom|webex|microsoft\s+teams|teams\s+(?:meeting|call)s?|google\s+meet|",
            r"video\s*conferenc\w*|video\s+calls?",
        ),
        "video conference",
    ),
    (
        concat!(
            r"record(?:ing)?\s+(?:the\s+)?(?:sessions?|event|talks?|presentations?|conference|",
            r"video|audio)",
        ),
        "recording",
    ),
    (
        r"networks?|ethernet|internet|wired\s+connections?|lan|routers?",
        "network",
    ),
    (r"(?:mobile\s+)?hot\s*spots?|mifi|jetpacks?", "hotspot"),
    (r"(?:badge\s+)?printers?", "printer"),
    (r"(?:badge\s+)?scanners?", "scanner"),
    (r"tvs?|televisions?", "tv"),
    (
        r"monitors|(?:a|an|the|extra|second|external|large|big|confidence|dual|two)\s+monitor",
        "monitor",
    ),
    (
        r"smart\s*boards?|interactive\s+(?:white)?boards?",
        "smartboard",
    ),
    (
        concat!(
            r"clickers?|slide\s+(?:advancer|remote|clicker)s?|present(?:ation|er)\s+remotes?|",
            r"laser\s+pointers?",
        ),
        "clicker",
    ),
    (
        r"(?:audio\s+|sound\s+)?mixers?|mixing\s+(?:board|desk|console)s?|sound\s*boards?",
        "mixer",
    ),
    (r"headsets?|headphones?|earpieces?", "headset"),
    (r"cables?|cabling|hdmi|vga|displayport", "cables"),
    (r"adapt[eo]rs?|dongles?", "adapters"),
    (
        r"extension\s+cords?|power\s+strips?|power\s+cords?|surge\s+protectors?",
        "extension cords",
    ),
];

static HARDWARE_RE: LazyLock<Regex> = LazyLock::new(|| {
    let groups: Vec<String> = HARDWARE.iter().map(|(re, _)| format!("({re})")).collect();
    pattern(&format!(r"\b(?:{})\b", groups.join("|")))
});

/// A "speakers" match that means people: "keynote speakers", "speakers will present".
static SPEAKER_PEOPLE_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\b(?:keynote|guest|featured|invited|panel|main|plenary|event|session|student)\s+$")
});

static SPEAKER_PEOPLE_AFTER_RE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^\s*(?:will|are|is|who|include|list|from|at|and\s+panelists|'s|’s)\b")
});

static SCREEN_NOT_RE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*(?:shar\w*|reader|saver|time|name|lock)\b"));

/// Sentences and lines, as byte ranges. The subject is one; otherwise a break is a "." "!" "?"
/// or newline followed by whitespace and a capital, a non-letter or the end, so "Sept. 3" and
/// wrapped lines stay whole.
pub(super) fn sentences(text: &str) -> Vec<(usize, usize)> {
    let subject_end = text.find('\n');
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if !matches!(c, '.' | '!' | '?' | '\n') {
            continue;
        }
        let end = i + c.len_utf8();
        let rest = &text[end..];
        let next = rest.trim_start().chars().next();
        let spaced = c == '\n' || rest.starts_with(char::is_whitespace);
        let capital = next.is_none_or(|n| n.is_uppercase() || !n.is_alphanumeric());
        if subject_end == Some(i) || (spaced && capital) {
            if !text[start..end].trim().is_empty() {
                out.push((start, end));
            }
            start = end;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push((start, text.len()));
    }
    out
}

/// The place: a "Location:" line, a venue name, a street address or a room, looked for in the
/// body first, then in the subject (title case there makes names unreliable).
pub(super) fn place(text: &str) -> Option<String> {
    let (subject, body) = text.split_at(text.find('\n').unwrap_or(text.len()));
    [body, subject].into_iter().find_map(|part| {
        let field = FIELD_RE
            .captures(part)
            .and_then(|c| c.get(1))
            .map(|m| phrase(m.as_str()));
        field
            .or_else(|| VENUE_RE.find_iter(part).find_map(|m| venue(m.as_str())))
            .or_else(|| ADDRESS_RE.find(part).map(|m| phrase(m.as_str())))
            .or_else(|| ROOM_RE.find(part).map(|m| phrase(m.as_str())))
            .filter(|p| !p.is_empty())
    })
}

/// A venue name without leading filler ("The", "At"), or `None` if it names a department.
fn venue(name: &str) -> Option<String> {
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.iter().any(|w| NOT_VENUE_WORDS.contains(w)) {
        return None;
    }
    let lead = words
        .iter()
        .take_while(|w| VENUE_LEAD_WORDS.contains(w))
        .count();
    (words.len() > lead + 1 || name.starts_with("Hotel")).then(|| words[lead..].join(" "))
}

/// Normalised hardware nouns, in order of appearance.
pub(super) fn hardware(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for c in HARDWARE_RE.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let Some(index) = c.iter().skip(1).position(|g| g.is_some()) else {
            continue;
        };
        let Some((_, noun)) = HARDWARE.get(index) else {
            continue;
        };
        let (before, after) = (&text[..m.start()], &text[m.end()..]);
        let people = *noun == "speakers"
            && m.as_str().eq_ignore_ascii_case("speakers")
            && (SPEAKER_PEOPLE_RE.is_match(before) || SPEAKER_PEOPLE_AFTER_RE.is_match(after));
        let not_screen = *noun == "screen" && SCREEN_NOT_RE.is_match(after);
        if !people && !not_screen {
            push_new(&mut out, noun.to_string());
        }
    }
    out
}

/// The first body sentence saying what the technician is to do, else the subject's.
pub(super) fn tasks(text: &str, sentences: &[(usize, usize)]) -> Option<String> {
    let subject_end = text.find('\n').unwrap_or(text.len());
    let matching = |&&(s, e): &&(usize, usize)| TASK_RE.is_match(&text[s..e]);
    let body = sentences
        .iter()
        .filter(|(s, _)| *s >= subject_end)
        .find(matching);
    body.or_else(|| sentences.iter().find(matching))
        .map(|(s, e)| phrase(&text[*s..*e]))
}

/// Whitespace collapsed, list bullets dropped, cut at a word past [`MAX_PHRASE_CHARS`].
pub(super) fn phrase(text: &str) -> String {
    let text = text.trim().trim_start_matches(['-', '*', '•', '>']);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() <= MAX_PHRASE_CHARS {
        return words;
    }
    let cut: String = words.chars().take(MAX_PHRASE_CHARS).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut} …")
}
