//! Domain types shared by every stage of the pipeline: ids, ticket numbers, statuses, case types,
//! and the owned [`Inbound`] message that `parse` produces. No I/O lives here; the enums carry
//! their TEXT form for the database (the Any driver carries only ints, floats, text and blobs).

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An instant: milliseconds since the Unix epoch, UTC, as the database stores it. Spans are
/// [`Duration`]s: an instant plus or minus a span is an instant (saturating at the ends of
/// time), and [`Millis::since`] gives the span between two instants, so a count of seconds can
/// never be added where milliseconds were meant.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Millis(pub i64);

impl Millis {
    /// The span from `earlier` to this instant; zero when `earlier` is not earlier.
    pub fn since(self, earlier: Millis) -> Duration {
        span_of_ms(self.0.saturating_sub(earlier.0))
    }
}

/// A span in whole milliseconds, as instants count (saturating; spans that long do not occur).
pub fn ms_of(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

/// Milliseconds as a span; a negative count (an end before its start) is none.
pub fn span_of_ms(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl fmt::Display for Millis {
    /// RFC 3339 in UTC to the second (`2026-12-06T12:00:00Z`), as logs and JSON show instants;
    /// the bare count outside jiff's range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(t) => match t.round(jiff::Unit::Second) {
                Ok(rounded) => rounded.fmt(f),
                Err(_) => t.fmt(f),
            },
            Err(_) => self.0.fmt(f),
        }
    }
}

/// Serializes an optional instant as RFC 3339 (`null` when absent), as the JSON output and the
/// event log show times; for `#[serde(serialize_with = "…")]`.
///
/// # Errors
/// The serializer's.
pub fn rfc3339<S: serde::Serializer>(at: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&at.to_string()),
        None => s.serialize_none(),
    }
}

impl Add<Duration> for Millis {
    type Output = Millis;
    fn add(self, span: Duration) -> Millis {
        Millis(self.0.saturating_add(ms_of(span)))
    }
}

impl Sub<Duration> for Millis {
    type Output = Millis;
    fn sub(self, span: Duration) -> Millis {
        Millis(self.0.saturating_sub(ms_of(span)))
    }
}

impl AddAssign<Duration> for Millis {
    fn add_assign(&mut self, span: Duration) {
        *self = *self + span;
    }
}

/// Row id of a case. Never shown to people: they see the [`TicketNo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CaseId(pub i64);

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A human-friendly ticket number such as `HD-000123`: a configurable prefix and a sequence
/// number of at least six digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketNo(String);

impl TicketNo {
    /// Formats sequence number `n` with `prefix`.
    pub fn new(prefix: &str, n: i64) -> Self {
        TicketNo(format!("{prefix}-{n:06}"))
    }

    /// Wraps a ticket string read back from the store or typed by a user.
    pub fn from_string(s: impl Into<String>) -> Self {
        TicketNo(s.into().to_ascii_uppercase())
    }

    /// The ticket as text, e.g. `HD-000123`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag that goes into subjects: `[HD-000123]`.
    pub fn tag(&self) -> String {
        format!("[{}]", self.0)
    }
}

impl fmt::Display for TicketNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares a TEXT-backed enum with `as_str`, `FromStr` (listing the valid values in its error)
/// and serde in snake_case.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and displayed form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "`{other}` is not a valid {}; expected one of: {}",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

text_enum! {
    /// Where a case stands. The full state machine lives in the lifecycle issue; the foundation
    /// opens cases and records every change as an event.
    Status {
        /// New, not yet worked.
        Open => "open",
        /// A technician is working on it.
        InProgress => "in_progress",
        /// Handed to a team or technician.
        Assigned => "assigned",
        /// Waiting on a vendor, the customer, or a schedule; the SLA clock pauses.
        Pending => "pending",
        /// Resolution notice sent; the reopen window runs.
        Resolved => "resolved",
        /// Done.
        Closed => "closed",
    }
}

text_enum! {
    /// ITIL case type.
    CaseType {
        /// Fulfilment: accounts, hardware, training, …
        Request => "request",
        /// An interruption of a service.
        Incident => "incident",
        /// The root cause behind several incidents.
        Problem => "problem",
    }
}

text_enum! {
    /// Whose approval a request needs: every approver's, or any one's.
    Needs {
        /// Every approver must approve; one rejection rejects.
        All => "all",
        /// One approval suffices; it is rejected only when every approver rejected.
        Any => "any",
    }
}

impl Default for Needs {
    /// All of them: the careful reading of "needs approval".
    fn default() -> Needs {
        Needs::All
    }
}

text_enum! {
    /// Who wrote a stored message.
    Role {
        /// The requester or another participant.
        Customer => "customer",
        /// A technician (verified as configured).
        Technician => "technician",
        /// Someone asked to approve the request, answering by reply.
        Approver => "approver",
    }
}

text_enum! {
    /// Whether the customer saw a message.
    Visibility {
        /// Part of the conversation with the customer.
        Public => "public",
        /// Staff only: a note, or a reply whose commands were refused.
        Internal => "internal",
    }
}

/// An email address, lower-cased for comparison, with the display name kept for templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// Display name as the sender wrote it, decoded.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// The address, lower-cased (local parts are case-insensitive in practice).
    pub address: String,
}

/// Why a message is considered auto-generated (RFC 3834 and common practice). Any signal means:
/// never answer it automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoSignal {
    /// `Auto-Submitted` other than `no`.
    AutoSubmitted,
    /// `Precedence: bulk | junk | list`.
    Precedence,
    /// `X-Autoreply`, `X-Autorespond` or `X-Auto-Response-Suppress: All/AutoReply`.
    AutoReplyHeader,
    /// `List-Id` or `List-Unsubscribe`: mailing-list traffic.
    ListMail,
    /// `MAILER-DAEMON`, `postmaster`, `no-reply` style senders, or an empty Return-Path.
    SystemSender,
    /// A delivery-status notification (`multipart/report; report-type=delivery-status`).
    DeliveryStatus,
    /// Sent from our own support address: answering would loop.
    FromSelf,
}

impl AutoSignal {
    /// The stored and displayed form (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            AutoSignal::AutoSubmitted => "auto_submitted",
            AutoSignal::Precedence => "precedence",
            AutoSignal::AutoReplyHeader => "auto_reply_header",
            AutoSignal::ListMail => "list_mail",
            AutoSignal::SystemSender => "system_sender",
            AutoSignal::DeliveryStatus => "delivery_status",
            AutoSignal::FromSelf => "from_self",
        }
    }
}

/// One verdict of an `Authentication-Results` header (RFC 8601).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResult {
    /// The server that wrote it, lower-cased.
    pub authserv_id: String,
    /// `dkim`, `spf`, `dmarc`, …
    pub method: String,
    /// `pass`, `fail`, `softfail`, `none`, …
    pub result: String,
    /// The domain the verdict is about (`header.d`, the domain of `smtp.mailfrom`, …).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub domain: Option<String>,
    /// How many `Received` fields stand above the field it came from: the receiving server's
    /// own results have the fewest.
    #[serde(default)]
    pub hop: u32,
}

/// A file attached to an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Decoded file name (RFC 2047/2231 handled by the parser); `None` when the sender gave none.
    pub filename: Option<String>,
    /// `type/subtype` from Content-Type.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: u64,
    /// SHA-256 of the decoded content, hex: lets tests and admins compare without the bytes.
    pub sha256: String,
    /// The decoded bytes, unless the attachment exceeds `max_attachment_size` (then only the raw
    /// message holds them, and `omitted` says why).
    #[serde(skip)]
    pub content: Option<Vec<u8>>,
    /// Why `content` was not kept, for the record and for `cases show`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub omitted: Option<String>,
}

/// An inbound email, owned and decoded: everything later stages need, nothing borrowed from the
/// parser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    /// The author (`From`), or `Sender`/`Return-Path` when `From` has no usable address.
    pub from: Mailbox,
    /// `Reply-To`, when present: where answers to the customer go.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reply_to: Option<Mailbox>,
    /// `To` addresses.
    pub to: Vec<Mailbox>,
    /// `Cc` addresses.
    pub cc: Vec<Mailbox>,
    /// Envelope recipients the receiving servers recorded (`Delivered-To`, `X-Original-To`,
    /// `Envelope-To`), lower-cased: where a plus-addressed copy was really sent.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub delivered_to: Vec<String>,
    /// Verdicts of the `Authentication-Results` headers, topmost first.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub authentication: Vec<AuthResult>,
    /// Decoded subject; empty when missing.
    pub subject: String,
    /// Decoded text body; HTML converted to text when there is no text part.
    pub text: String,
    /// Whether `text` came from an HTML part.
    pub text_from_html: bool,
    /// `Message-ID` without angle brackets, when present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message_id: Option<String>,
    /// `In-Reply-To` ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// `References` ids, without angle brackets, oldest first.
    pub references: Vec<String>,
    /// `Date` as an RFC 3339 UTC timestamp, when present and valid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date: Option<String>,
    /// Why the message counts as auto-generated; empty for mail written by a person.
    pub auto_signals: Vec<AutoSignal>,
    /// For delivery-status notifications: the Message-IDs of the original message they report
    /// on, read from the attached headers.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub bounced_ids: Vec<String>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// The lists of this message that were longer than parsing keeps (recipients, references,
    /// bounced ids, attachments, …, and the text): each says how many there were and how many
    /// were kept.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub capped: Vec<Capped>,
}

/// A list of an inbound message cut at its cap while parsing, so one message cannot make
/// threading, storing or notifying slow. Recorded in the case's event and the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capped {
    /// Which list: `to`, `cc`, `references`, `in_reply_to`, `delivered_to`, `bounced_ids`,
    /// `attachments`; or `text`, the decoded text, counted in bytes.
    pub list: String,
    /// How many entries (bytes of text) the message had.
    pub found: usize,
    /// How many were kept.
    pub kept: usize,
}

impl Inbound {
    /// True when nothing should ever answer this message automatically.
    pub fn is_auto_generated(&self) -> bool {
        !self.auto_signals.is_empty()
    }

    /// True for delivery-status notifications, whether RFC 3464 reports or the plain-text
    /// notices some MTAs send from `MAILER-DAEMON`/`postmaster`.
    pub fn is_bounce(&self) -> bool {
        let local = self.from.address.split('@').next().unwrap_or("");
        self.auto_signals.contains(&AutoSignal::DeliveryStatus)
            || local == "mailer-daemon"
            || local == "postmaster"
    }

    /// The Message-IDs the message answers: References, then In-Reply-To (the newest last).
    pub fn thread_ids(&self) -> Vec<String> {
        self.references
            .iter()
            .chain(&self.in_reply_to)
            .cloned()
            .collect()
    }

    /// Where an automatic answer goes: `From`, or `Reply-To` when it is in From's domain. A
    /// stranger's Reply-To elsewhere is ignored, so nobody can point our mail at a third party.
    pub fn reply_address(&self) -> &Mailbox {
        let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        self.reply_to
            .as_ref()
            .filter(|r| domain(&r.address) == domain(&self.from.address))
            .unwrap_or(&self.from)
    }
}

/// Parses a bare address (`user@domain`), lower-cased: the one check of an address, for the
/// configuration, the parser and the commands alike.
pub fn parse_address(s: &str) -> Option<String> {
    let s = s.trim();
    let (local, domain) = s.rsplit_once('@')?;
    let ok = !local.is_empty()
        && (domain.contains('.') || domain == "localhost")
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "<>()[],;:\"".contains(c));
    ok.then(|| s.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Instants and spans meet only through the types: a span moves an instant (saturating at
    /// the ends of time), two instants give a span (never negative), and an instant reads as
    /// RFC 3339 in logs and JSON but is stored and serialized as its count.
    #[test]
    fn instants_move_by_spans_and_read_as_rfc3339() {
        let noon = Millis(1_796_558_400_000);
        let hour = Duration::from_secs(3600);
        assert_eq!(noon + hour, Millis(1_796_562_000_000));
        assert_eq!(noon - hour, Millis(1_796_554_800_000));
        assert_eq!((noon + hour).since(noon), hour);
        assert_eq!(noon.since(noon + hour), Duration::ZERO);
        assert_eq!(Millis(i64::MAX) + hour, Millis(i64::MAX));
        assert_eq!(Millis(i64::MIN) - hour, Millis(i64::MIN));
        assert_eq!(Millis(0) + Duration::MAX, Millis(i64::MAX));
        let mut t = noon;
        t += Duration::from_millis(1_499);
        assert_eq!(t.to_string(), "2026-12-06T12:00:01Z");
        assert_eq!(Millis(i64::MAX).to_string(), i64::MAX.to_string());
        assert_eq!(serde_json::to_string(&noon).unwrap(), "1796558400000");
    }

    #[test]
    fn ticket_is_zero_padded_and_tagged() {
        let t = TicketNo::new("HD", 123);
        assert_eq!(t.as_str(), "HD-000123");
        assert_eq!(t.tag(), "[HD-000123]");
        assert_eq!(TicketNo::new("IT", 1234567).as_str(), "IT-1234567");
    }

    #[test]
    fn enums_round_trip_and_list_valid_values() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
        }
        let err = "solved".parse::<Status>().unwrap_err();
        assert!(err.contains("open, in_progress, assigned, pending, resolved, closed"));
        assert_eq!(" Incident ".parse::<CaseType>(), Ok(CaseType::Incident));
    }
}
