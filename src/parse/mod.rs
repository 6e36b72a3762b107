//! Turns raw bytes into an owned [`Inbound`] with mail-parser: addresses, decoded subject and
//! text (HTML converted when there is no text part), thread ids, attachments under a size limit,
//! and the auto-reply signals. Pure: no I/O, never panics on input (the parser runs under
//! `catch_unwind`), and every refusal is a [`ParseError`] that says why, for the quarantine.
//!
//! Linear in the message's size: every list a sender controls (recipients, references,
//! bounced ids, envelope recipients, attachments) is kept up to a cap and the cut recorded in
//! [`Inbound::capped`], and the HTML converter gets one budget for all parts of a message.

pub mod authres;
pub mod event;
pub mod quote;
pub mod rating;
pub mod signals;
pub mod thanks;

use std::borrow::Cow;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use mail_parser::{Addr, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::model::{Attachment, Capped, Inbound, Mailbox};

/// At most this many addresses of each of To, Cc and the envelope recipients are kept: enough
/// for any real list of people; a message naming thousands is cut, not refused.
pub const MAX_ADDRESSES: usize = 100;
/// At most this many ids of References (the newest), In-Reply-To and of a bounce report.
pub const MAX_IDS: usize = 100;
/// At most this many attachments are extracted; the rest stay only in the raw message.
pub const MAX_ATTACHMENTS: usize = 100;
/// At most this many bytes of decoded text are kept (and stored, quoted in notifications,
/// searched for quotes and commands); the raw message keeps all of it.
pub const MAX_TEXT: usize = 1 << 20;

/// Limits that apply while parsing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Larger messages are refused (and quarantined by the caller).
    pub max_message_size: u64,
    /// Larger attachments are described but their bytes are not extracted.
    pub max_attachment_size: u64,
}

/// Why bytes could not become an [`Inbound`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Over `max_message_size`.
    #[error("message is {size} bytes, over inbound.max_message_size ({limit} bytes)")]
    TooLarge {
        /// The message's size.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// Not an RFC 5322 message at all.
    #[error("not an email message: {0}")]
    NotAMessage(&'static str),
    /// No address to answer or attribute the case to.
    #[error("no usable sender address: {0}")]
    NoSender(String),
    /// The parser itself failed; a bug to report upstream, the message is kept.
    #[error("the MIME parser failed on this message (internal error)")]
    ParserPanicked,
}

/// Parses one message.
///
/// `own_address` is the support address, so mail we sent ourselves is recognised.
///
/// # Errors
/// See [`ParseError`]; the caller quarantines the raw bytes with the message.
pub fn parse(raw: &[u8], limits: Limits, own_address: &str) -> Result<Inbound, ParseError> {
    if raw.len() as u64 > limits.max_message_size {
        return Err(ParseError::TooLarge {
            size: raw.len() as u64,
            limit: limits.max_message_size,
        });
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::NotAMessage("it is empty"));
    }
    // mail-parser is fuzzed upstream, but one hostile message must never take the daemon down.
    catch_unwind(AssertUnwindSafe(|| {
        let message = MessageParser::default()
            .parse(raw)
            .ok_or(ParseError::NotAMessage("no header section could be read"))?;
        to_inbound(&message, limits, own_address)
    }))
    .unwrap_or(Err(ParseError::ParserPanicked))
}

fn to_inbound(m: &Message<'_>, limits: Limits, own: &str) -> Result<Inbound, ParseError> {
    let known_headers = m.headers().iter().filter(|h| !h.name.is_other()).count();
    if known_headers == 0 {
        return Err(ParseError::NotAMessage("it has no standard header fields"));
    }
    let from = sender(m)?;
    let (text, text_from_html) = body_text(m);
    let mut caps = Caps::default();
    let text = caps.text(text, MAX_TEXT);
    let to = m
        .all_to()
        .flat_map(|a| a.iter())
        .filter_map(mailbox)
        .collect();
    let cc = m
        .all_cc()
        .flat_map(|a| a.iter())
        .filter_map(mailbox)
        .collect();
    let mut inbound = Inbound {
        reply_to: m.reply_to().and_then(|a| a.first()).and_then(mailbox),
        to: caps.first("to", to, MAX_ADDRESSES),
        cc: caps.first("cc", cc, MAX_ADDRESSES),
        delivered_to: caps.first("delivered_to", delivered_to(m), MAX_ADDRESSES),
        authentication: caps.first(
            "authentication_results",
            authentication_results(m),
            MAX_ADDRESSES,
        ),
        subject: m.subject().map(clean_subject).unwrap_or_default(),
        text,
        text_from_html,
        message_id: m.message_id().map(strip_id).filter(|id| !id.is_empty()),
        in_reply_to: caps.last("in_reply_to", ids(m.in_reply_to()), MAX_IDS),
        // The newest references are the last: those are kept.
        references: caps.last("references", ids(m.references()), MAX_IDS),
        date: m
            .date()
            // A Date outside the representable range is as good as none.
            .and_then(|d| jiff::Timestamp::from_second(d.to_timestamp()).ok())
            .map(|t| t.to_string()),
        auto_signals: Vec::new(),
        bounced_ids: Vec::new(),
        attachments: attachments(m, limits.max_attachment_size, &mut caps),
        from,
        capped: Vec::new(),
    };
    #[cfg(debug_assertions)]
    test_hook(&inbound.subject);
    inbound.auto_signals = signals::detect(m, &inbound, own);
    if inbound.is_bounce() {
        let ids = signals::bounced_ids(m, &inbound.text);
        inbound.bounced_ids = caps.first("bounced_ids", ids, MAX_IDS);
    }
    inbound.capped = caps.0;
    Ok(inbound)
}

/// The lists cut while parsing one message.
#[derive(Default)]
struct Caps(Vec<Capped>);

impl Caps {
    /// The first `max` entries of `all`, recording the cut.
    fn first<T>(&mut self, list: &str, mut all: Vec<T>, max: usize) -> Vec<T> {
        self.record(list, all.len(), max);
        all.truncate(max);
        all
    }

    /// The last `max` entries of `all`, recording the cut.
    fn last<T>(&mut self, list: &str, mut all: Vec<T>, max: usize) -> Vec<T> {
        self.record(list, all.len(), max);
        all.drain(..all.len().saturating_sub(max));
        all
    }

    /// The first `max` bytes of `text` (back to a character boundary) and a line saying the
    /// rest is in the raw message, recording the cut.
    fn text(&mut self, mut text: String, max: usize) -> String {
        let found = text.len();
        if found <= max {
            return text;
        }
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        self.record("text", found, end);
        text.push_str(&format!(
            "\n\n[text cut after {end} of {found} bytes; the raw message keeps all of it]"
        ));
        text
    }

    fn record(&mut self, list: &str, found: usize, max: usize) {
        if found > max {
            self.0.push(Capped {
                list: list.to_owned(),
                found,
                kept: max,
            });
        }
    }
}

/// Test hooks, compiled into debug builds only: parsing a message whose subject is the value
/// of `HELPDESK_TEST_CRASH_ON_SUBJECT` aborts the process, and one whose subject is the value
/// of `HELPDESK_TEST_STALL_ON_SUBJECT` never returns (or returns after
/// `HELPDESK_TEST_STALL_SECONDS`), so the integration tests can show that a message which kills
/// or stalls the worker is quarantined after two attempts, and hold intake mid-batch.
#[cfg(debug_assertions)]
fn test_hook(subject: &str) {
    let matches = |var: &str| std::env::var(var).is_ok_and(|s| !s.is_empty() && s == subject);
    if matches("HELPDESK_TEST_CRASH_ON_SUBJECT") {
        eprintln!("helpdesk: HELPDESK_TEST_CRASH_ON_SUBJECT matched; aborting (test hook)");
        std::process::abort();
    }
    if matches("HELPDESK_TEST_STALL_ON_SUBJECT") {
        eprintln!("helpdesk: HELPDESK_TEST_STALL_ON_SUBJECT matched; stalling (test hook)");
        if let Some(seconds) = std::env::var("HELPDESK_TEST_STALL_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            std::thread::sleep(std::time::Duration::from_secs(seconds));
            return;
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// The From address: the one identity a message has. `Sender:` and `Return-Path:` are never
/// used instead (anyone can write them, and an empty From such as `undisclosed-recipients:;`
/// must not borrow another header's address); a message without a usable From is refused.
fn sender(m: &Message<'_>) -> Result<Mailbox, ParseError> {
    if let Some(mb) = m.from().and_then(|a| a.iter().find_map(mailbox)) {
        return Ok(mb);
    }
    let written = m.header_raw("From").map(str::trim).unwrap_or("");
    Err(ParseError::NoSender(if written.is_empty() {
        "the message has no From header".into()
    } else {
        format!("From: {written:?} holds no valid address")
    }))
}

/// Every Authentication-Results field's verdicts, each with the number of `Received` fields
/// above it, so the caller can tell the receiving server's own fields from those written
/// further down the path (or by the sender).
fn authentication_results(m: &Message<'_>) -> Vec<crate::model::AuthResult> {
    let mut hops = 0u32;
    let mut out = Vec::new();
    for h in m.headers() {
        let name = h.name.as_str();
        if name.eq_ignore_ascii_case("Received") {
            hops = hops.saturating_add(1);
        } else if name.eq_ignore_ascii_case("Authentication-Results") {
            if let Some(raw) = m
                .raw_message()
                .get(h.offset_start as usize..h.offset_end as usize)
            {
                out.extend(authres::parse_at(&String::from_utf8_lossy(raw), hops));
            }
        }
    }
    out
}

/// The envelope recipients that receiving servers wrote into trace fields, each once.
fn delivered_to(m: &Message<'_>) -> Vec<String> {
    const FIELDS: &[&str] = &[
        "Delivered-To",
        "X-Original-To",
        "Envelope-To",
        "X-Envelope-To",
    ];
    let mut out: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for h in m.headers() {
        if !FIELDS
            .iter()
            .any(|f| h.name.as_str().eq_ignore_ascii_case(f))
        {
            continue;
        }
        let Some(raw) = m
            .raw_message()
            .get(h.offset_start as usize..h.offset_end as usize)
        else {
            continue;
        };
        let value = String::from_utf8_lossy(raw);
        let value = value.trim().trim_start_matches('<').trim_end_matches('>');
        if let Some(a) = crate::model::parse_address(value) {
            if seen.insert(a.clone()) {
                out.push(a);
            }
        }
    }
    out
}

fn mailbox(a: &Addr<'_>) -> Option<Mailbox> {
    let address = crate::model::parse_address(a.address()?)?;
    let name = a
        .name()
        .map(display_name)
        .filter(|n| !n.is_empty() && *n != address);
    Some(Mailbox { name, address })
}

/// A display name fit for a header or a template: control characters (CR, LF, NUL, ESC, …)
/// and bidirectional overrides become spaces, quotes are trimmed, runs of spaces collapse.
pub fn display_name(name: &str) -> String {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let cleaned: String = name
        .chars()
        .map(|c| if unsafe_char(c) { ' ' } else { c })
        .collect();
    cleaned
        .trim()
        .trim_matches('"')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Subjects keep their words but lose folding and control characters.
fn clean_subject(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strip_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match v {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(Cow::as_ref).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .map(strip_id)
        .filter(|s| !s.is_empty())
        .collect()
}

/// All text bodies joined; HTML-only bodies are converted to text, all of them within one
/// [`HtmlBudget`].
fn body_text(m: &Message<'_>) -> (String, bool) {
    let mut from_html = false;
    let mut parts = Vec::new();
    let mut budget = HtmlBudget::default();
    for pos in 0..m.text_body_count() {
        let part = m.text_part(pos as u32);
        let text = match part.map(|p| &p.body) {
            Some(PartType::Html(html)) => {
                from_html = true;
                Some(
                    html_to_text(html, &mut budget)
                        .map_or_else(|| m.body_text(pos).unwrap_or_default(), Cow::Owned),
                )
            }
            _ => m.body_text(pos),
        };
        if let Some(text) = text {
            parts.push(normalize_text(&text));
        }
    }
    let text = parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let from_html = from_html && !text.is_empty();
    (text, from_html)
}

/// What html2text may still convert of one message: its cost grows with size, superlinearly
/// with nesting (150k nested divs: minutes) and steeply with tables (about 1 ms each in a
/// debug build). Personal mail stays far inside these bounds; past them mail-parser's linear
/// conversion keeps one message from stalling intake. One budget serves all HTML parts of a
/// message, so sixty parts each just under the bounds cost no more than one.
#[derive(Debug, Clone, Copy)]
struct HtmlBudget {
    /// Bytes of HTML.
    bytes: usize,
    /// `<table` tags, in any letter case.
    tables: usize,
}

impl Default for HtmlBudget {
    fn default() -> Self {
        HtmlBudget {
            bytes: 512 << 10,
            tables: 200,
        }
    }
}

/// Elements nested deeper than this in one part send it to the linear converter.
const MAX_HTML_DEPTH: usize = 256;

/// Converts HTML with html2text, keeping paragraphs, lists and links (as footnotes), and
/// charges it to `budget`; `None` when the part does not fit what is left of the budget (or
/// the converter fails), so the caller falls back to mail-parser's plainer conversion.
fn html_to_text(html: &str, budget: &mut HtmlBudget) -> Option<String> {
    if html.len() > budget.bytes {
        return None;
    }
    let tables = count_tags(html, "table");
    if tables > budget.tables || nesting_depth(html) > MAX_HTML_DEPTH {
        return None;
    }
    budget.bytes -= html.len();
    budget.tables -= tables;
    html2text::config::plain()
        .link_footnotes(true)
        .string_from_read(html.as_bytes(), HTML_TEXT_WIDTH)
        .ok()
}

/// How many start tags named `name` (lower case) `html` has, in any letter case: `<table`,
/// `<TABLE` and `<TaBlE` alike. One linear pass.
fn count_tags(html: &str, name: &str) -> usize {
    let bytes = html.as_bytes();
    html.match_indices('<')
        .filter(|(i, _)| {
            bytes
                .get(i + 1..i + 1 + name.len())
                .is_some_and(|tag| tag.eq_ignore_ascii_case(name.as_bytes()))
        })
        .count()
}

/// An upper estimate of how deeply the elements of `html` nest, in one linear pass.
fn nesting_depth(html: &str) -> usize {
    const VOID: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    ];
    let bytes = html.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    for (i, _) in html.match_indices('<') {
        match bytes.get(i + 1) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(c) if c.is_ascii_alphabetic() => {
                // No void element's name is longer; a longer name is not one.
                let name: String = html[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .take(8)
                    .map(|c| c.to_ascii_lowercase())
                    .collect();
                if !VOID.contains(&name.as_str()) {
                    depth += 1;
                    max = max.max(depth);
                }
            }
            _ => {}
        }
    }
    max
}

/// Line width for HTML converted to text; wide enough that prose is rarely re-wrapped.
const HTML_TEXT_WIDTH: usize = 100;

/// LF line endings, no trailing blanks, no runs of more than two empty lines.
fn normalize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    let text: Cow<'_, str> = if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    };
    for line in text.lines() {
        let line = line.trim_end();
        blank_run = if line.is_empty() { blank_run + 1 } else { 0 };
        if blank_run <= 2 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.trim_matches('\n').to_owned()
}

/// The first [`MAX_ATTACHMENTS`] attachments, each extracted up to `max_size`.
fn attachments(m: &Message<'_>, max_size: u64, caps: &mut Caps) -> Vec<Attachment> {
    let found = m.attachments().count();
    caps.record("attachments", found, MAX_ATTACHMENTS);
    m.attachments()
        .take(MAX_ATTACHMENTS)
        .map(|part| {
            let content = file_bytes(m.raw_message(), part);
            let size = content.len() as u64;
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase();
            let keep = size <= max_size;
            Attachment {
                filename: part.attachment_name().map(|n| n.trim().to_owned()),
                content_type,
                size,
                sha256: hex::encode(Sha256::digest(&content)),
                content: keep.then(|| content.to_vec()),
                omitted: (!keep).then(|| {
                    format!(
                        "{size} bytes is over inbound.max_attachment_size ({max_size} bytes); \
                         kept only in the raw message"
                    )
                }),
            }
        })
        .collect()
}

/// The bytes of attachment `index` (0-based, in the order [`parse`] lists them) of the raw
/// message, decoded: for a file whose bytes were too large to keep apart at intake.
pub fn attachment_bytes(raw: &[u8], index: usize) -> Option<Vec<u8>> {
    let m = MessageParser::default().parse(raw)?;
    let bytes = m
        .attachments()
        .nth(index)
        .map(|p| file_bytes(raw, p).into_owned());
    bytes
}

/// A file's bytes as its sender attached them. The parser hands a text part over as text,
/// converted from its charset; a file is kept as it was: decoded from its transfer encoding
/// only (a Latin-1 log stays Latin-1). Other parts are the parser's bytes.
fn file_bytes<'a>(raw: &'a [u8], part: &'a mail_parser::MessagePart<'_>) -> Cow<'a, [u8]> {
    use mail_parser::decoders::{base64::base64_decode, quoted_printable::quoted_printable_decode};
    use mail_parser::{Encoding, PartType};
    if !matches!(part.body, PartType::Text(_) | PartType::Html(_)) {
        return Cow::Borrowed(part.contents());
    }
    let (start, end) = (
        part.raw_body_offset() as usize,
        part.raw_end_offset() as usize,
    );
    let decoded = raw.get(start..end).and_then(|body| match part.encoding {
        Encoding::None => Some(body.to_vec()),
        Encoding::Base64 => base64_decode(body),
        Encoding::QuotedPrintable => quoted_printable_decode(body),
    });
    decoded.map_or(Cow::Borrowed(part.contents()), Cow::Owned)
}

/// A hash of the message without the trace fields that each delivery prepends (`Received`,
/// `Delivered-To`, `Return-Path`, …), so one message delivered twice hashes the same.
pub fn content_hash(raw: &[u8]) -> String {
    const TRACE: &[&str] = &[
        "received",
        "return-path",
        "delivered-to",
        "x-original-to",
        "envelope-to",
        "x-envelope-to",
        "authentication-results",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
        "received-spf",
        "x-spam-status",
        "x-spam-score",
        "x-spam-level",
        "x-spam-checker-version",
    ];
    let mut rest = raw;
    let mut in_trace = false;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |p| p + 1);
        let line = &rest[..end];
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        let name = line.iter().position(|&b| b == b':').map(|p| {
            String::from_utf8_lossy(&line[..p])
                .trim()
                .to_ascii_lowercase()
        });
        let is_trace = if continuation {
            in_trace
        } else {
            name.as_deref().is_some_and(|n| TRACE.contains(&n))
        };
        if !is_trace {
            break;
        }
        in_trace = true;
        rest = &rest[end..];
    }
    hex::encode(Sha256::digest(rest))
}

#[cfg(test)]
mod tests;
