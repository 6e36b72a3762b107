//! Reply stripping: keeps what the author of an email reply wrote and cuts the quoted thread
//! and the signature. Lines are scanned in order for the first one that starts an earlier
//! message without `>` prefixes (an attribution such as "On … wrote:" in many languages, also
//! wrapped over up to three lines; an Outlook-style header block; a forwarded or original-message
//! marker) and the text is cut there. `>` lines are dropped wherever they stand, so inline answers
//! survive. Last, a `-- ` signature and mobile "Sent from …" lines at the end are dropped.

use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

/// The new part of a reply, and what was cut from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// The text the author wrote in this message, without the quoted thread and signature;
    /// trimmed of leading/trailing blank lines.
    pub text: String,
    /// Whether a quoted earlier message (attribution line, `>` block, or forwarded/original
    /// header block) was removed.
    pub quote_removed: bool,
    /// Whether a signature (after `-- `, or a mobile "Sent from …" footer) was removed.
    pub signature_removed: bool,
}

impl Stripped {
    /// What is kept of the reply: the author's text, or the whole `original` when the reply is
    /// all quote (better too much than nothing).
    pub fn kept<'a>(&'a self, original: &'a str) -> &'a str {
        if self.text.is_empty() {
            original
        } else {
            &self.text
        }
    }
}

/// Longest (joined) line that can still be an attribution, in bytes; longer ones are prose.
const MAX_ATTRIBUTION_LEN: usize = 400;
/// How many physical lines a wrapped attribution may span.
const ATTRIBUTION_LINES: usize = 3;
/// How many lines after a From header may hold the Sent/Date/Subject line of a block.
const HEADER_WINDOW: usize = 3;

/// Words that end an attribution before its colon, each after a space (not `\b`, which keeps
/// the regex off its fast path for non-ASCII text): en, de, fr, es, it, nl, pt, sv/da/no, pl,
/// ru, cs, fi, tr.
const ATTRIBUTION_ENDINGS: &str = "wrote|writes|schrieb(?:\\s.*)?|geschrieben|a\\s+écrit|\
    escribió|ha\\s+scritto|scrisse|schreef(?:\\s.*)?|escreveu|skrev(?:\\s.*)?|\
    napisał(?:\\(a\\)|a)?|pisze|пишет|написал(?:\\(а\\)|а)?|napsal(?:\\(a\\)|a)?|kirjoitti|yazdı";
/// Chinese and Japanese attribution endings, written without a space before them.
const CJK_ATTRIBUTION_ENDINGS: &str = "写道|寫道|のメール|書きました";
/// Words that open attributions: "On", "Am", "Le", "El", "Il giorno", "Op", "Em", "Den", …
const ATTRIBUTION_OPENERS: &str = "on|am|le|el|il|op|em|den|på|w\\s+dniu|dne|в";

/// Header names that open an Outlook-style block: "From" and its translations.
const FROM_NAMES: &str = "from|von|van|de|da|från|fra|od|от|lähettäjä|kimden|odesílatel|\
    差出人|送信者|发件人|寄件者|寄件人";
/// Sent, Date and Subject headers and their translations. To/Cc are left out: "From: 21 Dec"
/// over "To: 4 Jan" is a leave note, while every real block has one of these near its From.
const MESSAGE_HEADER_NAMES: &str = "sent|date|subject|gesendet|datum|betreff|envoyé|objet|\
    sujet|enviado|enviado el|fecha|asunto|inviato|data|oggetto|verzonden|onderwerp|assunto|\
    skickat|ämne|sendt|dato|emne|wysłano|temat|отправлено|дата|тема|lähetetty|päivämäärä|aihe|\
    gönderildi|tarih|konu|odesláno|předmět|送信日時|日付|件名|发送时间|日期|主题|主旨";

/// Titles written between dashes: "-----Original Message-----", "-- Forwarded message --".
const DASHED_MARKERS: &str = "original message|forwarded message|ursprüngliche nachricht|\
    weitergeleitete nachricht|message d['’]origine|message transféré|mensaje original|\
    mensaje reenviado|messaggio originale|messaggio inoltrato|oorspronkelijk bericht|\
    doorgestuurd bericht|mensagem original|mensagem encaminhada|ursprungligt meddelande|\
    originalmeddelande|vidarebefordrat meddelande|oprindelig meddelelse|opprinnelig melding|\
    videresendt (?:meddelelse|besked|melding)|oryginalna wiadomość|wiadomość oryginalna|\
    przekazana wiadomość|исходное сообщение|пересылаемое сообщение|alkuperäinen viesti|\
    välitetty viesti|původní zpráva|přeposlaná zpráva|orijinal ileti|iletilen ileti|\
    元のメッセージ|転送されたメッセージ|原始邮件|转发的邮件|原始郵件";
/// Lines ending in a colon that introduce a forwarded message (Apple Mail and others).
const COLON_MARKERS: &str = "begin forwarded message|anfang der weitergeleiteten nachricht|\
    début du message (?:réexpédié|transféré)|inicio del mensaje reenviado|\
    inizio messaggio inoltrato|begin doorgestuurd bericht|início da mensagem reencaminhada|\
    vidarebefordrat brev|начало переадресованного сообщения";

/// Lines that mobile clients and webmailers append ("Sent from my iPhone"), from line start.
const MOBILE_SIGNATURES: &str = "sent from my (?:iphone|ipad|ipod|android|samsung|galaxy|\
    blackberry|mobile|phone|smartphone|tablet|huawei|xiaomi|pixel|sony|nokia|htc|oneplus|\
    motorola|windows phone)|sent (?:from|with|via) (?:outlook|mail for windows|yahoo mail|\
    proton ?mail|the samsung|samsung|gmail|aol|aquamail|bluemail|spark|blackberry)|\
    get outlook for (?:ios|android)|von meinem (?:iphone|ipad|samsung|galaxy|android|\
    smartphone|handy|mobiltelefon).{0,40}gesendet|gesendet (?:von|mit|vom) (?:meinem |der )?\
    (?:iphone|ipad|samsung|galaxy|android|smartphone|handy|outlook|yahoo|mail für windows|\
    web\\.de|gmx)|outlook für (?:ios|android) beziehen|envoyé (?:de|depuis) (?:mon|ma|\
    l['’]application|outlook|yahoo|courrier)|obtenir outlook pour (?:ios|android)|\
    enviado (?:desde|con|do|pelo|a partir do) (?:mi|meu|o meu|outlook|yahoo|correo|email|\
    e-mail)|obtener outlook para (?:ios|android)|obter o outlook para (?:ios|android)|\
    inviato da (?:iphone|ipad|il mio|outlook|yahoo|posta|samsung)|\
    scarica outlook per (?:ios|android)|verzonden (?:vanaf|met|van) (?:mijn|outlook|yahoo|\
    mail)|outlook voor (?:ios|android) downloaden|skickat från (?:min|outlook|yahoo|e-post)|\
    hämta outlook för (?:ios|android)|sendt fra (?:min|outlook|yahoo|mail)|\
    wysłane z (?:iphone|ipad|mojego|outlook|yahoo|aplikacji|samsung)|\
    отправлено (?:с|из) (?:iphone|ipad|моего|outlook|yahoo|мобильного|почты)|\
    lähetetty (?:iphonesta|ipadista|outlook|android|yahoo)|iphone['’]umdan gönderildi|\
    odesláno z (?:iphonu|ipadu|mého|outlook)|(?:iphone|ipad)から送信|\
    (?:发自我的|从我的|來自我的)(?:iphone|ipad)";

/// Compiles a pattern that is part of this module (never input), so it cannot fail.
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("quote: built-in pattern compiles")
}

static ATTRIBUTION_END: LazyLock<Regex> = LazyLock::new(|| {
    let (words, cjk) = (ATTRIBUTION_ENDINGS, CJK_ATTRIBUTION_ENDINGS);
    compile(&format!(r"(?i)(?:(?:^|\s)(?:{words})|{cjk})\s*[:：]$"))
});
/// Gmail's Japanese and Russian attributions end in the address alone: "… <a@x>:".
static ADDRESS_END: LazyLock<Regex> =
    LazyLock::new(|| compile(r"<\s*[^<>\s]+@[^<>\s]+\s*>\s*[:：]$"));
static OPENER: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"(?i)^(?:{ATTRIBUTION_OPENERS})\s")));
static TIME: LazyLock<Regex> = LazyLock::new(|| compile(r"\d{1,2}:\d{2}"));
static DATE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?:^|\D)(?:19|20)\d{2}(?:\D|$)|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"));
static FROM_HEADER: LazyLock<Regex> = LazyLock::new(|| header_pattern(FROM_NAMES));
static MESSAGE_HEADER: LazyLock<Regex> = LazyLock::new(|| header_pattern(MESSAGE_HEADER_NAMES));
static MESSAGE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    let (dashed, colon) = (DASHED_MARKERS, COLON_MARKERS);
    compile(&format!(
        r"(?i)^\s*(?:-{{2,}}\s*(?:{dashed})\s*-*|(?:{colon})\s*[:：])\s*$"
    ))
});
/// A rule line left above a cut quote: Outlook's underscores, html2text's `<hr>`, dashes.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| compile(r"^\s*[_\-─━=]{5,}\s*$"));
static MOBILE: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"(?i)^\s*(?:{MOBILE_SIGNATURES}).{{0,80}}$")));
/// html2text's list of link targets at the end of a converted HTML body: `[1]: https://…`.
static FOOTNOTE: LazyLock<Regex> = LazyLock::new(|| compile(r"^\[(\d+)\]: \S"));
static FOOTNOTE_REF: LazyLock<Regex> = LazyLock::new(|| compile(r"\[(\d+)\]"));

/// A header line such as `From: …`, `**Von:** …`, `*De :* …` or `发件人：…`.
fn header_pattern(names: &str) -> Regex {
    compile(&format!(r"(?i)^\s*\*{{0,2}}(?:{names})\*{{0,2}}\s*[:：]"))
}

/// Removes the quoted thread and the signature from the text of a reply.
pub fn strip_reply(text: &str) -> Stripped {
    let lines: Vec<&str> = text.lines().collect();
    let (body, footnotes) = split_footnotes(&lines);
    let (mut kept, quote_removed) = drop_quoted(body);
    let signature_removed = drop_signature(&mut kept);
    let text = if quote_removed || signature_removed {
        with_cited_footnotes(join_trimmed(&kept), footnotes)
    } else {
        join_trimmed(&lines)
    };
    Stripped {
        text,
        quote_removed,
        signature_removed,
    }
}

/// Splits off the link footnotes that html2text puts after everything, quote included, so
/// they neither hide a trailing signature nor go with the quote.
fn split_footnotes<'a, 'b>(lines: &'b [&'a str]) -> (&'b [&'a str], &'b [&'a str]) {
    let start = lines.iter().rposition(|l| !FOOTNOTE.is_match(l));
    lines.split_at(start.map_or(0, |i| i + 1))
}

/// Appends the footnotes whose `[n]` the kept text still cites.
fn with_cited_footnotes(mut text: String, footnotes: &[&str]) -> String {
    let cited: Vec<&str> = {
        let refs: HashSet<&str> = FOOTNOTE_REF
            .captures_iter(&text)
            .filter_map(|c| c.get(1).map(|m| m.as_str()))
            .collect();
        footnotes
            .iter()
            .copied()
            .filter(|f| footnote_number(f).is_some_and(|n| refs.contains(n)))
            .collect()
    };
    if !cited.is_empty() {
        text.push_str("\n\n");
        text.push_str(&cited.join("\n"));
    }
    text
}

/// The `n` of a footnote line `[n]: …`.
fn footnote_number(line: &str) -> Option<&str> {
    FOOTNOTE.captures(line)?.get(1).map(|m| m.as_str())
}

/// Keeps the author's lines up to the first unprefixed earlier message, dropping `>` lines
/// and attributions of `>` blocks on the way; returns them and whether anything was cut.
fn drop_quoted<'a>(lines: &[&'a str]) -> (Vec<&'a str>, bool) {
    let mut kept = Vec::with_capacity(lines.len());
    let mut removed = false;
    let mut after_cut = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if !is_command(line) {
            if starts_earlier_message(lines, i) {
                drop_trailing_separators(&mut kept);
                return (kept, true);
            }
            if let Some((end, standalone)) = attribution_at(lines, i) {
                if quote_follows(lines, end + 1) {
                    (removed, after_cut, i) = (true, true, end + 1);
                    continue;
                }
                if standalone {
                    drop_trailing_separators(&mut kept);
                    return (kept, true);
                }
            }
            if is_quoted(line) {
                (removed, after_cut, i) = (true, true, i + 1);
                continue;
            }
        }
        keep_line(&mut kept, line, &mut after_cut);
        i += 1;
    }
    (kept, removed)
}

/// Technician commands (`/status …`) are always the author's content.
fn is_command(line: &str) -> bool {
    line.trim_start().starts_with('/')
}

/// A line of a `>` quote block.
fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Whether the first non-blank line from `from` on is a `>` line.
fn quote_follows(lines: &[&str], from: usize) -> bool {
    lines
        .iter()
        .skip(from)
        .find(|l| !is_blank(l))
        .is_some_and(|l| is_quoted(l))
}

/// Whether line `i` opens an earlier message that is not `>`-prefixed: a forwarded or
/// original-message marker, or a From header closely followed by a Sent/Date/Subject one.
fn starts_earlier_message(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    if is_quoted(line) {
        return false;
    }
    MESSAGE_MARKER.is_match(line)
        || (FROM_HEADER.is_match(line)
            && lines
                .iter()
                .skip(i + 1)
                .take(HEADER_WINDOW)
                .any(|l| MESSAGE_HEADER.is_match(l)))
}

/// If an attribution starts at line `i`: its last line and whether it stands alone (see
/// [`attribution_strength`]).
fn attribution_at(lines: &[&str], i: usize) -> Option<(usize, bool)> {
    let first = lines[i].trim();
    if first.is_empty() || is_quoted(first) || first.len() >= MAX_ATTRIBUTION_LEN {
        return None;
    }
    if let Some(standalone) = attribution_strength(first) {
        return Some((i, standalone));
    }
    if i > 0 && !is_blank(lines[i - 1]) {
        return None; // a wrapped attribution starts a paragraph
    }
    let mut joined = first.to_owned();
    for (j, next) in lines
        .iter()
        .enumerate()
        .take(i + ATTRIBUTION_LINES)
        .skip(i + 1)
    {
        let next = next.trim();
        if next.is_empty()
            || is_quoted(next)
            || is_command(next)
            || joined.len() + next.len() >= MAX_ATTRIBUTION_LEN
        {
            return None;
        }
        joined.push(' ');
        joined.push_str(next);
        if let Some(standalone) = attribution_strength(&joined) {
            let plausible =
                wrapped_start_plausible(first) && !ends_shorter_attribution(lines, i + 1, j);
            return plausible.then_some((j, standalone));
        }
    }
    None
}

/// Classifies one (joined) line: `Some(true)` an attribution that stands alone (addressed,
/// or dated and opening like one), `Some(false)` one that counts only before a `>` block,
/// `None` not one ("My colleague wrote:", "In the 10:00 call they wrote:").
fn attribution_strength(s: &str) -> Option<bool> {
    if s.len() > MAX_ATTRIBUTION_LEN || !s.ends_with([':', '：']) {
        return None;
    }
    let time = TIME.is_match(s);
    if ATTRIBUTION_END.is_match(s) {
        let date = DATE.is_match(s);
        let standalone = s.contains('@') || (starts_like_attribution(s) && (time || date));
        (standalone || OPENER.is_match(s) || (time && date)).then_some(standalone)
    } else {
        (time && ADDRESS_END.is_match(s)).then_some(true)
    }
}

/// Whether a line begins the way attributions do: a language's "On", or a date.
fn starts_like_attribution(line: &str) -> bool {
    OPENER.is_match(line) || line.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// The first line of a wrapped attribution opens like one or carries part of its date or
/// address, so an author's line ("Bob", "Thanks!") above an attribution is not taken in.
fn wrapped_start_plausible(first: &str) -> bool {
    starts_like_attribution(first)
        || first.contains(['@', '<'])
        || TIME.is_match(first)
        || DATE.is_match(first)
}

/// Whether an attribution already starts within lines `from..=to`, so the line before them
/// belongs to the author ("Paid on 1.12.2026." above "On … wrote:").
fn ends_shorter_attribution(lines: &[&str], from: usize, to: usize) -> bool {
    (from..=to).any(|k| {
        starts_like_attribution(lines[k].trim()) && {
            let tail: Vec<&str> = lines[k..=to].iter().map(|l| l.trim()).collect();
            attribution_strength(&tail.join(" ")).is_some()
        }
    })
}

/// Keeps an author line; right after dropped lines, a blank line is kept only if it is the
/// first one, so a cut quote leaves at most one blank line between paragraphs.
fn keep_line<'a>(kept: &mut Vec<&'a str>, line: &'a str, after_cut: &mut bool) {
    let blank = is_blank(line);
    if blank && *after_cut && kept.last().is_none_or(|l| is_blank(l)) {
        return;
    }
    if !blank {
        *after_cut = false;
    }
    kept.push(line);
}

/// Drops blank lines and rule lines left at the end, above a cut quote.
fn drop_trailing_separators(kept: &mut Vec<&str>) {
    while kept
        .last()
        .is_some_and(|l| is_blank(l) || SEPARATOR.is_match(l))
    {
        kept.pop();
    }
}

/// Drops mobile "Sent from …" lines at the end and everything from the last `-- ` delimiter,
/// unless a command follows it; returns whether anything was dropped.
fn drop_signature(kept: &mut Vec<&str>) -> bool {
    let mut removed = drop_mobile_lines(kept);
    if let Some(d) = kept.iter().rposition(|l| l.trim_end() == "--") {
        if !kept[d + 1..].iter().any(|l| is_command(l)) {
            kept.truncate(d);
            removed = true;
        }
    }
    drop_mobile_lines(kept) || removed
}

/// Drops trailing blank lines and mobile-client lines; returns whether such a line went.
fn drop_mobile_lines(kept: &mut Vec<&str>) -> bool {
    let mut removed = false;
    loop {
        while kept.last().is_some_and(|l| is_blank(l)) {
            kept.pop();
        }
        match kept.last() {
            Some(l) if MOBILE.is_match(l) => {
                kept.pop();
                removed = true;
            }
            _ => return removed,
        }
    }
}

/// The lines joined with `\n`, without leading and trailing blank lines.
fn join_trimmed(lines: &[&str]) -> String {
    let start = lines
        .iter()
        .position(|l| !is_blank(l))
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !is_blank(l))
        .map_or(start, |e| e + 1);
    lines[start..end.max(start)].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::{Path, PathBuf};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/replies");

    /// The input files of the corpus (`NAME.txt`, not `.expected.txt` or `.actual.txt`).
    fn fixture_inputs() -> Vec<PathBuf> {
        let mut inputs: Vec<PathBuf> = fs::read_dir(FIXTURES)
            .expect("fixture directory exists")
            .map(|e| e.expect("fixture directory entry").path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.ends_with(".txt")
                    && !name.ends_with(".expected.txt")
                    && !name.ends_with(".actual.txt")
            })
            .collect();
        inputs.sort();
        inputs
    }

    fn sibling(input: &Path, suffix: &str) -> PathBuf {
        let stem = input.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        input.with_file_name(format!("{stem}.{suffix}"))
    }

    #[test]
    fn corpus_matches_expected() {
        let mut mismatches = Vec::new();
        for input in fixture_inputs() {
            let name = input
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("?")
                .to_owned();
            let text = fs::read_to_string(&input).expect("fixture input is UTF-8");
            let Ok(expected) = fs::read_to_string(sibling(&input, "expected.txt")) else {
                mismatches.push(format!("{name} (no {name}.expected.txt)"));
                continue;
            };
            let actual = strip_reply(&text).text;
            let actual_path = sibling(&input, "actual.txt");
            if actual == expected.trim_end_matches('\n') {
                let _ = fs::remove_file(actual_path);
            } else {
                fs::write(&actual_path, format!("{actual}\n")).expect("write .actual.txt");
                mismatches.push(name);
            }
        }
        assert!(
            mismatches.is_empty(),
            "fixtures not matching (see NAME.actual.txt): {mismatches:?}"
        );
    }

    #[test]
    fn corpus_has_at_least_30_pairs() {
        let pairs = fixture_inputs()
            .iter()
            .filter(|p| sibling(p, "expected.txt").is_file())
            .count();
        assert!(pairs >= 30, "only {pairs} fixture pairs");
    }

    #[test]
    fn corpus_inputs_follow_the_parser_format() {
        for input in fixture_inputs() {
            let text = fs::read_to_string(&input).expect("fixture input is UTF-8");
            let name = input.display();
            let body = text.strip_suffix('\n').unwrap_or(&text);
            assert!(!body.contains('\r'), "{name}: CR in input");
            assert!(
                !body.contains("\n\n\n\n"),
                "{name}: more than 2 blank lines"
            );
            assert_eq!(
                body,
                body.trim_matches('\n'),
                "{name}: leading/trailing blank lines"
            );
            assert!(
                body.lines().all(|l| l == l.trim_end()),
                "{name}: trailing whitespace"
            );
        }
    }

    fn strip(text: &str) -> Stripped {
        strip_reply(text)
    }

    #[test]
    fn text_without_quote_is_unchanged() {
        let text = "Hi,\n\nthe printer works again.\n\n\nThanks, Bob\nIT dept";
        assert_eq!(
            strip(text),
            Stripped {
                text: text.to_owned(),
                quote_removed: false,
                signature_removed: false
            }
        );
    }

    #[test]
    fn technician_commands_first_are_kept() {
        let s = strip(
            "/status pending vendor\n/note waiting for Contoso\n\nHi Alice, we asked the vendor.\n\n\
             On Tue, Dec 1, 2026 at 10:02 AM Alice <alice@example.com> wrote:\n> It is broken.",
        );
        assert_eq!(
            s.text,
            "/status pending vendor\n/note waiting for Contoso\n\nHi Alice, we asked the vendor."
        );
        assert!(s.quote_removed);
    }

    #[test]
    fn command_lines_are_never_taken_for_quote_or_signature() {
        let s = strip("/note On 12/1/26 10:02 AM, Alice wrote:\n> old\n--\n/status resolved");
        assert_eq!(
            s.text,
            "/note On 12/1/26 10:02 AM, Alice wrote:\n--\n/status resolved"
        );
        assert!(!s.signature_removed);
    }

    #[test]
    fn empty_and_degenerate_inputs() {
        assert_eq!(strip("").text, "");
        assert!(!strip("").quote_removed);
        for odd in [
            ">",
            "\n\n",
            "--",
            " > ",
            "\u{feff}",
            "写道：",
            "**From:**",
            "\r\n>\r",
        ] {
            let _ = strip(odd);
        }
        assert!(strip(">").quote_removed);
        let huge = "On x wrote:\n".repeat(20_000) + &"a".repeat(1 << 20);
        assert!(strip(&huge).text.ends_with('a'));
    }

    #[test]
    fn message_that_is_only_a_quote_gives_empty_text() {
        let s =
            strip("On Tue, Dec 1, 2026 at 10:02 AM Alice <alice@example.com> wrote:\n\n> Hello");
        assert_eq!(s.text, "");
        assert!(s.quote_removed);
        let s = strip("---------- Forwarded message ---------\nFrom: Alice <alice@example.com>");
        assert_eq!((s.text.as_str(), s.quote_removed), ("", true));
    }

    #[test]
    fn signature_after_delimiter_is_removed() {
        let s = strip("Works now, thanks.\n\n--\nBob Example\nACME Corp | +1 555 0100");
        assert_eq!(s.text, "Works now, thanks.");
        assert!(s.signature_removed);
        assert!(!s.quote_removed);
    }

    #[test]
    fn sent_from_my_iphone_is_removed() {
        let s = strip(
            "Yes, please go ahead.\n\nSent from my iPhone\n\n\
             > On Dec 1, 2026, at 10:02, Desk <desk@example.com> wrote:\n>\n> Hello",
        );
        assert_eq!(s.text, "Yes, please go ahead.");
        assert!(s.quote_removed && s.signature_removed);
        assert!(!strip("I sent it from my iPhone yesterday.").signature_removed);
    }

    #[test]
    fn inline_answers_below_quoted_lines_are_kept() {
        let s = strip(
            "On 12/1/26 10:02 AM, Service Desk wrote:\n> Which model is it?\n\nHP LaserJet 4250.\n\n\
             > Since when?\n\nSince Monday.\n\n> Kind regards,\n> Service Desk",
        );
        assert_eq!(s.text, "HP LaserJet 4250.\n\nSince Monday.");
        assert!(s.quote_removed);
    }

    #[test]
    fn prose_that_looks_like_quote_markers_is_kept() {
        let text = "My colleague wrote:\nplease reset it.\nFrom: the vendor we heard nothing.\n\
                    In the 10:00 call he wrote: fine.";
        assert_eq!(strip(text).text, text);
        assert!(!strip(text).quote_removed);
    }

    #[test]
    fn wrapped_attribution_is_cut_at_its_first_line() {
        let s = strip(
            "Done.\n\nOn Tue, Dec 1, 2026 at 10:02 AM IT Service Desk <\n\
             servicedesk@example.com> wrote:\n\n> Hello",
        );
        assert_eq!(s.text, "Done.");
    }

    #[test]
    fn cited_link_footnotes_survive_the_cut() {
        let s = strip(
            "See the guide[1].\n\nFrom: Desk\nSent: Tuesday\n\nRead this[2].\n\n\
             [1]: https://a.example/\n[2]: https://b.example/",
        );
        assert_eq!(s.text, "See the guide[1].\n\n[1]: https://a.example/");
    }

    #[test]
    fn name_above_an_attribution_stays_with_the_author() {
        let s = strip("Thanks!\n\nBob\nOn 12/1/26 10:02 AM, Desk wrote:\n> Hello");
        assert_eq!(s.text, "Thanks!\n\nBob");
    }
}
