//! Reply stripping: keeps what the author of an email reply wrote and cuts the quoted thread
//! and the signature. Lines are scanned in order for the first one that starts an earlier
//! message without `>` prefixes, and the text is cut there:
//! - an attribution in many languages: "On … wrote:", date-first ones ("01.12.2026 10:02,
//!   Name пишет:", "2026/12/01 10:02 に Name さんは書きました:"), "Name wrote on <date>:", ones
//!   ending in the address ("… <a@x>:"); also wrapped over up to three lines, an address split
//!   anywhere by the wrap. An addressed one cuts wherever it stands; one that is only dated cuts
//!   where it ends its paragraph (so a log line "01.12.2026 02:05 job wrote:" stays);
//! - a header block: From with Sent/Date/Subject below it, or Sent/Date first with an addressed
//!   From below it (GMX, Hotmail), in many languages;
//! - a forwarded or original-message marker (`-----Original Message-----`, "-------- Message
//!   d'origine --------", BlackBerry's bare "Original Message" above a From header), an
//!   attribution between dashes (Zoho "---- On … wrote ----", Notes "-----Name wrote: -----"),
//!   and GroupWise's `>>> Name <a@x> 12/1/2026 10:02 AM >>>` line.
//!
//! `>` lines are dropped wherever they stand, so inline answers survive; an attribution right
//! above a `>` or `|` block goes with it, and after one above a `|` block, `|` lines are quote
//! too (mutt-style `| ` quoting; a `|` table with no such attribution stays). When nothing was
//! cut, a block indented throughout at the very end, after the author's text and a blank line,
//! is a quote without header, unless it reads as the author's code block or list (introduced by
//! a colon, a list item first, one paragraph only, or uneven indentation). Last, a `-- `
//! signature and mobile "Sent from …" lines at the end are dropped.

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
/// How many lines after a From header may hold the Sent/Date/Subject line of a block (and
/// after a Sent/Date line, the From line of a block that starts with it).
const HEADER_WINDOW: usize = 3;

/// Words that end an attribution before its colon, each after a space (not `\b`, which keeps
/// the regex off its fast path for non-ASCII text): en, de, fr, es, it, nl, pt, sv/da/no, pl,
/// ru, cs, fi, tr. "wrote on <date>" is Thunderbird's and Notes' "Name wrote on <date>:".
const ATTRIBUTION_ENDINGS: &str =
    "wrote(?:\\s+on\\s.*)?|writes|schrieb(?:\\s.*)?|geschrieben|a\\s+écrit|\
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

/// Titles written between dashes: "-----Original Message-----", "-- Forwarded message --",
/// Zimbra's "----- Ursprüngliche Mail -----", Samsung's "-------- Oprindelig besked --------".
const DASHED_MARKERS: &str = "original message|forwarded message|ursprüngliche nachricht|\
    weitergeleitete nachricht|message d['’]origine|message transféré|mensaje original|\
    mensaje reenviado|messaggio originale|messaggio inoltrato|oorspronkelijk bericht|\
    doorgestuurd bericht|mensagem original|mensagem encaminhada|ursprungligt meddelande|\
    originalmeddelande|vidarebefordrat meddelande|oprindelig meddelelse|oprindelig besked|\
    opprinnelig melding|ursprüngliche mail|\
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
    web\\.de|gmx)|outlook für (?:ios|android) beziehen|envoyé (?:de|depuis|à partir de) (?:mon|ma|\
    l['’]application|outlook|yahoo|courrier)|obtenir outlook pour (?:ios|android)|\
    enviado (?:desde|con|do|pelo|a partir do) (?:mi|meu|o meu|outlook|yahoo|correo|email|\
    e-mail)|obtener outlook para (?:ios|android)|obter o outlook para (?:ios|android)|\
    inviato da (?:iphone|ipad|il mio|outlook|yahoo|posta|samsung|smartphone)|\
    scarica outlook per (?:ios|android)|(?:verzonden|verstuurd) (?:vanaf|met|van) (?:mijn|outlook|\
    yahoo|mail)|outlook voor (?:ios|android) downloaden|skickat från (?:min|outlook|yahoo|e-post)|\
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
/// Gmail's Japanese and Russian attributions end in the address alone: "… <a@x>:"; a wrap
/// may have split the address anywhere, so the joined line can read "<a@ x>:".
static ADDRESS_END: LazyLock<Regex> =
    LazyLock::new(|| compile(r"<\s*[^<>\s@]+\s*@\s*[^<>\s]+\s*>\s*[:：]$"));
static OPENER: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"(?i)^(?:{ATTRIBUTION_OPENERS})\s")));
/// A time of day: "10:02", or "kl. 10.02" / "klo 10.02" / "kello 10.02" (da, no, sv, fi).
static TIME: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\d{1,2}:\d{2}|(?:kl\.?|klo|kello)\s*\d{1,2}\.\d{2}"));
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
/// A marker title standing alone, as BlackBerry 10 writes "  Original Message" above the
/// From header of the quoted message.
static BARE_MARKER: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"(?i)^\s*(?:{DASHED_MARKERS})\s*$")));
/// GroupWise's line above the unprefixed earlier message: `>>> Name <a@x> 12/1/2026 10:02 AM >>>`
/// (its date and time are checked apart).
static GROUPWISE: LazyLock<Regex> = LazyLock::new(|| compile(r"^\s*>>>\s*\S.*\s>>>\s*$"));
/// The first line of a list item: "- a", "* a", "• a", "1. a", "2) a", "a) a".
static LIST_ITEM: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^(?:[-*+•–]|\d{1,3}[.)]|[a-zA-Z][.)])\s"));
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
    let (mut kept, mut quote_removed, cut) = drop_quoted(body);
    if !cut {
        quote_removed |= drop_indented_tail(&mut kept);
    }
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

/// How sure a (joined) line is an attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    /// It carries an address: it starts an earlier message wherever it stands.
    Addressed,
    /// It is dated and opens like one ("On …", "01.12.2026 10:02, …"): it starts an earlier
    /// message where it ends its paragraph, so a log line inside the author's text stays.
    Dated,
    /// It counts only right above a `>` or `|` block.
    Weak,
}

/// The prefix of the quote block below an attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteMark {
    /// `>`, dropped wherever it stands.
    Angle,
    /// `|` (mutt's or a newsreader's indent string), dropped only below such an attribution.
    Pipe,
}

/// Keeps the author's lines up to the first unprefixed earlier message, dropping `>` lines
/// and the attributions of `>` and `|` blocks on the way (and `|` lines once such a block was
/// seen); returns them, whether anything was removed, and whether the text was cut.
fn drop_quoted<'a>(lines: &[&'a str]) -> (Vec<&'a str>, bool, bool) {
    let mut kept = Vec::with_capacity(lines.len());
    let mut removed = false;
    let mut after_cut = false;
    let mut pipe_quotes = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if !is_command(line) {
            if starts_earlier_message(lines, i) {
                drop_trailing_separators(&mut kept);
                return (kept, true, true);
            }
            if let Some((end, strength)) = attribution_at(lines, i) {
                if let Some(mark) = quote_mark_after(lines, end + 1) {
                    pipe_quotes |= mark == QuoteMark::Pipe;
                    (removed, after_cut, i) = (true, true, end + 1);
                    continue;
                }
                let cuts = match strength {
                    Strength::Addressed => true,
                    Strength::Dated => ends_paragraph(lines, end + 1),
                    Strength::Weak => false,
                };
                if cuts {
                    drop_trailing_separators(&mut kept);
                    return (kept, true, true);
                }
            }
            if is_quoted(line) || (pipe_quotes && is_pipe_quoted(line)) {
                (removed, after_cut, i) = (true, true, i + 1);
                continue;
            }
        }
        keep_line(&mut kept, line, &mut after_cut);
        i += 1;
    }
    (kept, removed, false)
}

/// Technician commands (`/status …`) are always the author's content.
fn is_command(line: &str) -> bool {
    line.trim_start().starts_with('/')
}

/// A line of a `>` quote block.
fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// A line of a `|` quote block (or of a table: which one, the attribution above decides).
fn is_pipe_quoted(line: &str) -> bool {
    line.trim_start().starts_with('|')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// A line that starts with a space or a tab.
fn is_indented(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

/// The quote mark of the first non-blank line from `from` on, if it is a `>` or `|` line.
fn quote_mark_after(lines: &[&str], from: usize) -> Option<QuoteMark> {
    let next = lines.iter().skip(from).find(|l| !is_blank(l))?;
    if is_quoted(next) {
        Some(QuoteMark::Angle)
    } else if is_pipe_quoted(next) {
        Some(QuoteMark::Pipe)
    } else {
        None
    }
}

/// Whether line `next` ends a paragraph above it: it is blank or past the end.
fn ends_paragraph(lines: &[&str], next: usize) -> bool {
    lines.get(next).is_none_or(|l| is_blank(l))
}

/// Whether line `i` opens an earlier message that is not `>`-prefixed: a forwarded or
/// original-message marker (also BlackBerry's bare one above a From header), an attribution
/// between dashes, a GroupWise `>>> … >>>` line, or a header block.
fn starts_earlier_message(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    if is_groupwise_header(line) {
        return true;
    }
    if is_quoted(line) {
        return false;
    }
    MESSAGE_MARKER.is_match(line)
        || (BARE_MARKER.is_match(line)
            && lines
                .iter()
                .skip(i + 1)
                .find(|l| !is_blank(l))
                .is_some_and(|l| FROM_HEADER.is_match(l)))
        || is_dashed_attribution(line)
        || header_block_at(lines, i)
}

/// A header block starts at line `i`: a From header closely followed by a Sent/Date/Subject
/// one (Outlook, Samsung, …), or a Sent/Date/Subject header right above an addressed From
/// header in the same block (GMX's "Gesendet:" first, Hotmail's "Date:" first).
fn header_block_at(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    if is_quoted(line) {
        return false;
    }
    let below = lines.iter().skip(i + 1).take(HEADER_WINDOW);
    if FROM_HEADER.is_match(line) {
        return below.clone().any(|l| MESSAGE_HEADER.is_match(l));
    }
    MESSAGE_HEADER.is_match(line)
        && below
            .take_while(|l| !is_blank(l))
            .any(|l| FROM_HEADER.is_match(l) && l.contains('@'))
}

/// GroupWise's `>>> "Name" <a@x> 12/1/2026 10:02 AM >>>`, which stands above the earlier
/// message without prefixing it.
fn is_groupwise_header(line: &str) -> bool {
    line.len() < MAX_ATTRIBUTION_LEN
        && GROUPWISE.is_match(line)
        && TIME.is_match(line)
        && DATE.is_match(line)
}

/// An attribution between dashes: Zoho's "---- On … Name <a@x> wrote ----", Notes'
/// `-----"Name" <a@x> wrote: -----`.
fn is_dashed_attribution(line: &str) -> bool {
    let t = line.trim();
    if t.len() >= MAX_ATTRIBUTION_LEN || !t.starts_with("--") || !t.ends_with("--") {
        return false;
    }
    let inner = t.trim_matches('-').trim();
    let inner = inner.strip_suffix([':', '：']).unwrap_or(inner).trim_end();
    !inner.is_empty() && attribution_strength(&format!("{inner}:")).is_some()
}

/// If an attribution starts at line `i`: its last line and its [`Strength`].
fn attribution_at(lines: &[&str], i: usize) -> Option<(usize, Strength)> {
    let first = lines[i].trim();
    if first.is_empty() || is_quoted(first) || first.len() >= MAX_ATTRIBUTION_LEN {
        return None;
    }
    if let Some(strength) = attribution_strength(first) {
        return Some((i, strength));
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
        if let Some(strength) = attribution_strength(&joined) {
            let plausible =
                wrapped_start_plausible(first) && !ends_shorter_attribution(lines, i + 1, j);
            return plausible.then_some((j, strength));
        }
    }
    None
}

/// Classifies one (joined) line as an attribution (see [`Strength`]), or `None` when it is
/// not one ("My colleague wrote:", "In the 10:00 call they wrote:").
fn attribution_strength(s: &str) -> Option<Strength> {
    if s.len() > MAX_ATTRIBUTION_LEN || !s.ends_with([':', '：']) {
        return None;
    }
    let time = TIME.is_match(s);
    if ATTRIBUTION_END.is_match(s) {
        if s.contains('@') {
            Some(Strength::Addressed)
        } else if starts_like_attribution(s) && (time || DATE.is_match(s)) {
            Some(Strength::Dated)
        } else if OPENER.is_match(s) || (time && DATE.is_match(s)) {
            Some(Strength::Weak)
        } else {
            None
        }
    } else {
        (time && ADDRESS_END.is_match(s)).then_some(Strength::Addressed)
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

/// Drops a block indented throughout at the end of the kept lines: a quote without `>` and
/// without header, after the author's text and a blank line, or right below an attribution
/// that did not cut by itself ("Desk wrote:"), which then goes too. The block stays when it
/// reads as the author's own: introduced by another line ending in a colon, a list item first,
/// a single paragraph, uneven indentation, or a command in it. Returns whether a block went.
fn drop_indented_tail(kept: &mut Vec<&str>) -> bool {
    let Some(last) = kept.iter().rposition(|l| !is_blank(l)) else {
        return false;
    };
    let Some(author_end) = kept[..=last]
        .iter()
        .rposition(|l| !is_blank(l) && !is_indented(l))
    else {
        return false;
    };
    let block = &kept[author_end + 1..=last];
    let Some(first) = block.iter().find(|l| !is_blank(l)) else {
        return false;
    };
    let indent = &first[..first.len() - first.trim_start().len()];
    let mut paragraphs = 0;
    let mut in_paragraph = false;
    for line in block {
        if is_blank(line) {
            in_paragraph = false;
        } else if !line.starts_with(indent) || is_command(line) {
            return false;
        } else if !in_paragraph {
            (paragraphs, in_paragraph) = (paragraphs + 1, true);
        }
    }
    if paragraphs < 2 || LIST_ITEM.is_match(first.trim_start()) {
        return false;
    }
    let intro = kept[author_end].trim_end();
    let cut = if !intro.ends_with([':', '：']) {
        if !block.first().is_some_and(|l| is_blank(l)) {
            return false; // the author's paragraph goes on indented
        }
        author_end + 1
    } else if intro.len() < MAX_ATTRIBUTION_LEN && ATTRIBUTION_END.is_match(intro) {
        author_end
    } else {
        return false; // the author's "The output is:" above a code block
    };
    kept.truncate(cut);
    drop_trailing_separators(kept);
    true
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
        // ~1 MB of lines that each look like the start of a rule, and one huge line of each
        for line in [
            "01.12.2026 10:02 x wrote:\n| a\n",
            ">>> x 1.12.2026 10:02 >>>\n",
            "---- On 1.12.2026 10:02 x wrote ----\n",
            "Date: 1.12.2026\nFrom: a@x\n",
            "x <a@\nb>:\n",
            "    a\n\n",
        ] {
            let _ = strip(&("a\n\n".to_owned() + &line.repeat((1 << 20) / line.len())));
            let long = line.replace('\n', " ").repeat((1 << 20) / line.len());
            let _ = strip(&format!("a\n\n{long}\n{line}"));
        }
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

    #[test]
    fn date_first_attributions_cut_in_several_languages() {
        for attribution in [
            "01.12.2026 10:02 IT Service Desk wrote:",
            "01.12.2026 10:02 IT-Service-Desk schrieb:",
            "01/12/2026 10:02, Service Desk a écrit :",
            "01/12/2026 10:02, Service Desk escribió:",
            "01.12.2026 10:02, IT Service Desk kirjoitti:",
            "01.12.2026 10:02, IT Service Desk пишет:",
            "2026/12/01 10:02、ITサービスデスク のメール:",
            "2026/12/01 10:02 に ITサービスデスク さんは書きました:",
        ] {
            for quote in ["> Hello Alice,", "\nHello Alice,\n\nKind regards"] {
                let s = strip(&format!("Done, thanks.\n\n{attribution}\n{quote}"));
                assert_eq!(s.text, "Done, thanks.", "{attribution:?} above {quote:?}");
                assert!(s.quote_removed);
            }
        }
    }

    #[test]
    fn date_first_line_inside_a_paragraph_is_the_authors() {
        let text = "From the job log:\n\n01.12.2026 02:00 backup job wrote: 0 files\n\
                    01.12.2026 02:05 cleanup job wrote:\nnothing to clean up\n\nThanks, Bob";
        let s = strip(text);
        assert_eq!(s.text, text);
        assert!(!s.quote_removed);
        let text = "Log:\n\n01.12.2026 02:05 cleanup job wrote:\n    nothing to clean up";
        assert_eq!(strip(text).text, text);
        let s = strip("Ok.\n\nAm 01.12.26 um 10:02 schrieb Desk:\n    Hallo,\n\n    Gruß");
        assert_eq!(s.text, "Ok.");
    }

    #[test]
    fn wrote_on_date_attributions() {
        let s = strip("Fixed.\n\nIT Service Desk wrote on 12/1/26 10:02 AM:\n> Hello");
        assert_eq!(s.text, "Fixed.");
        let s =
            strip("Fixed.\n\nDesk <desk@example.com> wrote on 12/01/2026 10:02:15 AM:\n\nHello");
        assert_eq!(s.text, "Fixed.");
        let text = "I wrote on the ticket:\nplease call me.";
        assert_eq!(strip(text).text, text);
    }

    #[test]
    fn evolution_attribution_with_a_dotted_time() {
        let s = strip("Ok.\n\nfr., 17.09.2026 kl. 11.35 +0200, skrev IT Service Desk:\n> Hello");
        assert_eq!(s.text, "Ok.");
    }

    #[test]
    fn address_split_by_a_wrap() {
        for attribution in [
            "On Tue, Dec 1, 2026 at 10:02 AM IT Service Desk <servicedesk@\nexample.com> wrote:",
            "On Tue, Dec 1, 2026 at 10:02 AM IT Service Desk <servicedesk@\nexample.com>\nwrote:",
            "вт, 1 дек. 2026 г. в 10:02, IT Service Desk <servicedesk@\nexample.com>:",
            "2026-12-01 10:02 GMT+01:00 IT Service Desk <\nservicedesk@example.com>:",
            "Em 1 de dezembro de 2026 às 10:02:15, Service Desk (\n\
             servicedesk@example.com) escreveu:",
        ] {
            let s = strip(&format!(
                "Done.\n\n{attribution}\n\nHello Alice,\nthe case is open."
            ));
            assert_eq!(s.text, "Done.", "{attribution:?}");
            assert!(s.quote_removed);
        }
    }

    #[test]
    fn pipe_quote_below_an_attribution_goes_and_inline_answers_stay() {
        let s = strip(
            "On Tue, Dec 01, 2026 at 10:02:15AM +0100, IT Service Desk wrote:\n| Which host?\n\n\
             build-07\n\n| Since when?\n|\n| Desk\n\nSince Monday.",
        );
        assert_eq!(s.text, "build-07\n\nSince Monday.");
        assert!(s.quote_removed);
        let s =
            strip("Done.\n\nAm 01.12.26 um 10:02 schrieb Desk:\n| Hallo,\n| der Fall ist offen.");
        assert_eq!(s.text, "Done.");
    }

    #[test]
    fn pipe_lines_without_such_an_attribution_are_the_authors() {
        let table = "| Host | Result |\n|------|--------|\n| fs01 | failed |";
        let text =
            format!("Results:\n\n{table}\n\nI ran: cat log | grep error\n| error: lock file");
        let s = strip(&text);
        assert_eq!(s.text, text);
        assert!(!s.quote_removed);
        let s = strip(&format!(
            "Results:\n\n{table}\n\nOn 12/1/26 10:02 AM, Desk wrote:\n> Hello"
        ));
        assert_eq!(s.text, format!("Results:\n\n{table}"));
    }

    #[test]
    fn indented_quote_goes_from_its_attribution_or_header() {
        let s = strip(
            "Works now.\n\nMary\n\nOn Tuesday, December 1, 2026, 10:02 AM, Desk <desk@example.com> \
             wrote:\n\n    Hello Mary,\n\n    Kind regards",
        );
        assert_eq!(s.text, "Works now.\n\nMary");
        let s = strip(
            "Works now.\n\n\t-----Original Message-----\n\tFrom: Desk <desk@example.com>\n\
             \tSent: Tuesday, December 1, 2026 10:02 AM\n\n\tHello Mary,",
        );
        assert_eq!(s.text, "Works now.");
    }

    #[test]
    fn indented_block_at_the_end_without_header_is_a_quote() {
        let s = strip(
            "Works now, thanks.\n\nMary\n\n    Hello Mary,\n\n    the case is open.\n\n\
             \x20   Kind regards,\n    Desk",
        );
        assert_eq!(s.text, "Works now, thanks.\n\nMary");
        assert!(s.quote_removed);
        let s = strip("Works now.\n\nSent from my iPhone\n\n\tHello Mary,\n\n\tKind regards");
        assert_eq!(s.text, "Works now.");
        let s = strip("Works now.\n\nDesk wrote:\n\n    Hello Mary,\n\n    Kind regards");
        assert_eq!(s.text, "Works now.");
        let text = "Hi,\n\n    Hello Mary,\n\n    the case is open.\n\nThanks";
        assert_eq!(strip(text).text, text);
        let text = "    Hello Mary,\n\n    the case is open.";
        assert_eq!(strip(text).text, text);
    }

    #[test]
    fn authors_indented_code_and_lists_stay() {
        for text in [
            "The output is:\n\n    ERROR: lock file\n\n    Exit code: 53",
            "These are broken\n\n  - printer\n\n  - scanner",
            "These are broken\n\n  1. printer\n\n  2. scanner",
            "I ran this\n\n    ping fs01\n    ping fs02",
            "My config\n\n    [a]\n      x = 1\n\n  [b]\n    y = 2",
            "Notes\n\n    /status pending\n\n    call back",
        ] {
            let s = strip(text);
            assert_eq!(s.text, text);
            assert!(!s.quote_removed, "{text:?}");
        }
        let s =
            strip("The output is:\n\n    ERROR 1\n\n    ERROR 2\n\nOn 12/1/26, Desk wrote:\n> Hi");
        assert_eq!(s.text, "The output is:\n\n    ERROR 1\n\n    ERROR 2");
    }

    #[test]
    fn groupwise_header_cuts_the_unprefixed_message_below() {
        let s = strip(
            "Thursday works.\n\n>>> \"Desk\" <desk@example.com> 12/1/2026 10:02 AM >>>\n\
             Hello Alice,\nthe case is open.",
        );
        assert_eq!(s.text, "Thursday works.");
        let s = strip("Visit us\n>>> >>>  http://www.example.com <<<\nThanks");
        assert_eq!(s.text, "Visit us\nThanks");
    }

    #[test]
    fn attributions_between_dashes() {
        for line in [
            "---- On Tue, 01 Dec 2026 10:02:15 +0100 Desk <desk@example.com> wrote ----",
            "-----\"Desk\" <desk@example.com> wrote: -----",
        ] {
            let s = strip(&format!("Done.\n\n{line}\nTo: Alice\n\nHello Alice,"));
            assert_eq!(s.text, "Done.", "{line:?}");
        }
        let text = "Done.\n\n---- see the notes below ----\n\nHello";
        assert_eq!(strip(text).text, text);
    }

    #[test]
    fn header_block_that_starts_with_sent_or_date() {
        for block in [
            "Gesendet: Dienstag, 01. Dezember 2026 um 10:02 Uhr\nVon: \"Desk\" <desk@example.com>\n\
             An: Klaus\nBetreff: Drucker",
            "Date: Tue, 1 Dec 2026 10:02:15 +0100\nFrom: desk@example.com\nTo: alice@example.com",
        ] {
            let s = strip(&format!("Done.\n\n{block}\n\nHello"));
            assert_eq!(s.text, "Done.", "{block:?}");
        }
        let text = "Done.\n\nDate: Monday 4 January\nFrom: 9:00\nTo: 12:00";
        assert_eq!(strip(text).text, text);
    }

    #[test]
    fn blackberry_bare_original_message_title() {
        let s = strip(
            "Yes.\n\nSent from my BlackBerry 10 smartphone.\n  Original Message\nFrom: Desk\n\
             Sent: Tuesday, December 1, 2026 10:02\n\nHello",
        );
        assert_eq!(s.text, "Yes.");
        assert!(s.signature_removed);
        let text = "The original message was lost:\nOriginal message\nThanks";
        assert_eq!(strip(text).text, text);
    }
}
