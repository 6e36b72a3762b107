//! The outbox worker: claims due rows, renders them, sends them through the transport, and
//! marks each sent, or reschedules it with capped exponential backoff on a temporary failure,
//! or marks it failed on a permanent one. A row is marked sent only after the transport
//! accepted it, so a crash in between re-sends the same message (same Message-ID, same file)
//! rather than losing it. The worker never changes case state.

mod lanes;
mod marks;
pub mod transport;

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, MultiPart, SinglePart};
use tokio_util::sync::CancellationToken;

use self::lanes::Lanes;
use self::marks::Marks;
use self::transport::{Outgoing, Transport};
use crate::attach;
use crate::model::Mailbox;
use crate::store::outbox::{DueMail, OutFile, SentMail};
use crate::store::{self, Store};
use crate::telemetry;
use crate::templates::catalog::LiveCatalog;
use crate::templates::render::Rendered;

/// Rows claimed per round.
const BATCH: i64 = 16;
/// First retry delay; doubles per attempt.
const BACKOFF_START: Duration = Duration::from_secs(5);
/// Longest retry delay.
const BACKOFF_CAP: Duration = Duration::from_secs(3600);

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Accepted by the transport.
    pub sent: usize,
    /// Rescheduled after a temporary failure.
    pub retried: usize,
    /// Given up on (permanent failure).
    pub failed: usize,
}

/// Everything the worker needs, built once.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// The database.
    pub store: Store,
    /// Templates used to render (the catalog's, which SIGHUP may replace; each mail is
    /// rendered with the templates current when it is taken up).
    pub catalog: LiveCatalog,
    /// Where mail goes.
    pub transport: Transport,
    /// From of every mail: the support address and name.
    pub from: Mailbox,
    /// SMTP connections at once (`outbound.connections`), each carrying another case's mail.
    pub connections: usize,
}

impl Outbox {
    /// Sends everything due now, until nothing is due or `cancel` fires: the mails of
    /// different cases over up to [`Outbox::connections`] connections at once, the mails of one
    /// case one after the other, in the order they were queued. A session that finishes takes
    /// the next waiting case at once, and more is claimed while the others are still sending
    /// (see [`Lanes`]), so no session waits for the slowest of a round.
    ///
    /// # Errors
    /// Database failures (send failures are recorded on their rows instead).
    pub async fn deliver_due(&self, cancel: &CancellationToken) -> Result<Delivery, store::Error> {
        use futures_util::stream::{FuturesUnordered, StreamExt};
        let mut done = Delivery::default();
        let connections = self.connections.max(1);
        // Enough rows that every connection has work while the next claim is read.
        let batch = BATCH.max(4 * connections as i64);
        // Twice as many mails in flight as connections: a mail whose "sent" mark is being
        // committed holds no connection, so the next mail's envelope goes out on it meanwhile
        // (its final dot waits for the mark: see `transport::Unrecorded`).
        let in_flight = 2 * connections;
        let marks = Marks::default();
        let mut lanes = Lanes::default();
        let mut sending = FuturesUnordered::new();
        // A claim found nothing new: claim again only once everything in flight is done.
        let mut drained = false;
        loop {
            while sending.len() < in_flight && !cancel.is_cancelled() {
                if let Some(group) = lanes.next() {
                    let ids: Vec<i64> = group.iter().map(|m| m.id).collect();
                    let ticket = group.first().and_then(|m| m.ticket.clone());
                    let marks = &marks;
                    sending.push(async move {
                        let sent = self.send_in_order(group, marks, cancel).await;
                        (sent, ids, ticket)
                    });
                    continue;
                }
                // Nothing can start: the waiting mails' cases are in flight. Claim more
                // for the free sessions, but hold no more than a batch waiting.
                if drained || lanes.waiting() >= batch as usize {
                    break;
                }
                let claim = if self.store.backend == store::Backend::Postgres {
                    // Each claim holds its rows for store::outbox::CLAIM: claim no more than
                    // the free places in flight take up now.
                    (in_flight - sending.len()) as i64
                } else {
                    // Unclaimed on SQLite: the rows waiting and in flight come back too.
                    batch + lanes.known() as i64
                };
                let due = store::outbox::claim_due(&self.store, store::now_ms(), claim).await?;
                if lanes.add(due) == 0 {
                    drained = true;
                }
            }
            let Some((sent, ids, ticket)) = sending.next().await else {
                if drained || cancel.is_cancelled() {
                    break;
                }
                continue;
            };
            lanes.finished(&ids, ticket.as_deref());
            done = done.plus(sent?);
            if sending.is_empty() && !lanes.has_waiting() {
                drained = false;
            }
        }
        // Stopped: what was claimed and not started goes back, due at once.
        let waiting = lanes.take_waiting();
        if !waiting.is_empty() {
            store::outbox::release(&self.store.pool, &waiting, store::now_ms()).await?;
        }
        Ok(done)
    }

    /// Sends `mails` (of one case) one after the other; hands back, due at once, what
    /// `cancel` leaves unsent.
    async fn send_in_order(
        &self,
        mails: Vec<DueMail>,
        marks: &Marks,
        cancel: &CancellationToken,
    ) -> Result<Delivery, store::Error> {
        let mut done = Delivery::default();
        for (i, mail) in mails.iter().enumerate() {
            if cancel.is_cancelled() {
                let rest: Vec<i64> = mails[i..].iter().map(|m| m.id).collect();
                store::outbox::release(&self.store.pool, &rest, store::now_ms()).await?;
                break;
            }
            let kind = mail.kind.clone();
            match self.send_one(mail, marks).await? {
                Outcome::Sent => {
                    done.sent += 1;
                    metrics::counter!(telemetry::MAIL_SENT, "kind" => kind).increment(1);
                }
                Outcome::Retry => {
                    done.retried += 1;
                    metrics::counter!(telemetry::MAIL_RETRIED, "kind" => kind).increment(1);
                }
                Outcome::Failed => {
                    done.failed += 1;
                    metrics::counter!(telemetry::MAIL_FAILED, "kind" => kind).increment(1);
                }
            }
        }
        Ok(done)
    }

    async fn send_one(&self, mail: &DueMail, marks: &Marks) -> Result<Outcome, store::Error> {
        let pool = &self.store.pool;
        let prepared = serde_json::from_str::<serde_json::Value>(&mail.context)
            .map_err(|e| format!("stored template context is not JSON: {e}"))
            .and_then(|ctx| {
                self.catalog
                    .current()
                    .templates
                    .render(&mail.template, &ctx)
                    .map_err(|e| e.to_string())
            })
            .and_then(|r| {
                let bytes = format_message(&self.from, mail, &r)?;
                Ok((r, bytes))
            });
        let (rendered, bytes) = match prepared {
            Ok(p) => p,
            Err(error) => {
                tracing::error!(outbox = mail.id, template = %mail.template, %error, "cannot build the mail; marked failed");
                store::outbox::mark_failed(pool, mail.id, &error).await?;
                return Ok(Outcome::Failed);
            }
        };
        let outgoing = Outgoing {
            row_id: mail.id,
            ticket: mail.ticket.as_deref(),
            from: &self.from.address,
            to: &mail.recipient,
            bytes: &bytes,
        };
        match self.transport.send(&outgoing).await {
            Ok(unrecorded) => {
                let sent = SentMail {
                    id: mail.id,
                    subject: rendered.subject,
                    body: rendered.text,
                    at: store::now_ms(),
                };
                marks.sent(pool, sent).await?;
                // Recorded: the connection may finish its next mail.
                drop(unrecorded);
                tracing::info!(outbox = mail.id, ticket = mail.ticket.as_deref().unwrap_or("-"), template = %mail.template, "mail sent");
                Ok(Outcome::Sent)
            }
            Err(e) if e.transient => {
                let delay = backoff(mail.attempts);
                let next = store::now_ms() + delay;
                tracing::warn!(outbox = mail.id, error = %e, retry_in = ?delay, "sending failed; will retry");
                store::outbox::mark_retry(pool, mail.id, &e.message, next).await?;
                Ok(Outcome::Retry)
            }
            Err(e) => {
                tracing::error!(outbox = mail.id, error = %e, "sending failed permanently; marked failed");
                store::outbox::mark_failed(pool, mail.id, &e.message).await?;
                Ok(Outcome::Failed)
            }
        }
    }
}

impl Delivery {
    fn plus(self, other: Delivery) -> Delivery {
        Delivery {
            sent: self.sent + other.sent,
            retried: self.retried + other.retried,
            failed: self.failed + other.failed,
        }
    }
}

enum Outcome {
    Sent,
    Retry,
    Failed,
}

/// 5 s, 10 s, 20 s, … up to an hour: a short outage costs seconds, a long one little traffic.
fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    BACKOFF_START
        .saturating_mul(2u32.saturating_pow(exp))
        .min(BACKOFF_CAP)
}

/// Builds the RFC 5322 message: our Message-ID, threading headers, loop protection, the ticket
/// tag in the subject, text or text+HTML.
fn format_message(from: &Mailbox, mail: &DueMail, r: &Rendered) -> Result<Vec<u8>, String> {
    let mailbox = |name: Option<&str>, address: &str| -> Result<LettreMailbox, String> {
        let addr = address
            .parse()
            .map_err(|e| format!("invalid address {address:?}: {e}"))?;
        Ok(LettreMailbox::new(name.map(str::to_owned), addr))
    };
    let mut subject = r.subject.clone();
    if let Some(t) = &mail.ticket {
        let tag = format!("[{t}]");
        // A task mail's `[HD-000123/T2]` is the case's tag too.
        if !subject.contains(&tag) && !subject.contains(&format!("[{t}/T")) {
            subject = format!("{tag} {subject}");
        }
    }
    let from_name = mail.from_name.as_deref().or(from.name.as_deref());
    // A copy to one of several people names them all; the envelope names this row's only.
    let to = match &mail.header_to {
        Some((address, name)) => mailbox(name.as_deref(), address)?,
        None => mailbox(mail.recipient_name.as_deref(), &mail.recipient)?,
    };
    let mut b = lettre::Message::builder()
        .from(mailbox(from_name, &from.address)?)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{}>", mail.message_id)))
        .date_now()
        .raw_header(raw_header("Auto-Submitted", "auto-replied"))
        .raw_header(raw_header("X-Auto-Response-Suppress", "All"));
    for cc in &mail.header_cc {
        b = b.cc(mailbox(None, cc)?);
    }
    if let Some(reply_to) = &mail.reply_to {
        b = b.reply_to(mailbox(from.name.as_deref(), reply_to)?);
    }
    if let Some(irt) = &mail.in_reply_to {
        b = b.in_reply_to(format!("<{irt}>"));
    }
    if !mail.references.is_empty() {
        let refs: Vec<String> = mail.references.iter().map(|r| format!("<{r}>")).collect();
        b = b.references(refs.join(" "));
    }
    let parts: Vec<SinglePart> = mail
        .files
        .iter()
        .map(file_part)
        .chain(mail.attachment.as_deref().map(enclosed))
        .collect();
    let message = match (&r.html, parts.is_empty()) {
        (Some(html), true) => b.multipart(MultiPart::alternative_plain_html(
            r.text.clone(),
            html.clone(),
        )),
        (None, true) => b.body(r.text.clone()),
        (html, false) => {
            let mut body = match html {
                Some(html) => MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
                    r.text.clone(),
                    html.clone(),
                )),
                None => MultiPart::mixed().singlepart(SinglePart::plain(r.text.clone())),
            };
            for part in parts {
                body = body.singlepart(part);
            }
            b.multipart(body)
        }
    }
    .map_err(|e| format!("cannot build the message: {e}"))?;
    Ok(message.formatted())
}

/// A stored file as an attachment, its name and type made safe for our headers, its bytes in
/// base64 (or quoted-printable for text, as lettre judges).
fn file_part(f: &OutFile) -> SinglePart {
    use lettre::message::header::{ContentDisposition, ContentType};
    let content_type = attach::content_type(&f.content_type);
    let name = attach::filename(f.filename.as_deref(), &content_type, f.number);
    let content_type = ContentType::parse(&content_type)
        .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("a valid type"));
    SinglePart::builder()
        .header(content_type)
        .header(ContentDisposition::attachment(&name))
        .body(f.content.clone())
}

/// A stored message as an attachment: `message/rfc822` as it came (RFC 2046 allows no
/// base64 there); one that 7bit or 8bit cannot carry (over-long lines, NULs) goes as an
/// `.eml` file in base64 instead.
fn enclosed(raw: &[u8]) -> SinglePart {
    use lettre::message::header::{ContentDisposition, ContentTransferEncoding, ContentType};
    use lettre::message::Body;
    let disposition = ContentDisposition::attachment("original.eml");
    let as_is = Body::new_with_encoding(raw.to_vec(), ContentTransferEncoding::SevenBit)
        .or_else(|raw| Body::new_with_encoding(raw, ContentTransferEncoding::EightBit));
    match as_is {
        Ok(body) => SinglePart::builder()
            .header(ContentType::parse("message/rfc822").expect("a valid content type"))
            .header(disposition)
            .body(body),
        Err(raw) => SinglePart::builder()
            .header(ContentType::parse("application/octet-stream").expect("a valid content type"))
            .header(disposition)
            .body(Body::new(raw)),
    }
}

fn raw_header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_owned())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(super) fn due(id: i64, ticket: Option<&str>) -> DueMail {
        DueMail {
            id,
            ticket: ticket.map(str::to_owned),
            template: "acknowledgment".into(),
            context: String::new(),
            recipient: "alice@example.test".into(),
            recipient_name: None,
            message_id: format!("hd.{id}@example.test"),
            in_reply_to: None,
            references: Vec::new(),
            attempts: 0,
            from_name: None,
            reply_to: None,
            kind: "auto_reply".into(),
            attachment: None,
            header_to: None,
            header_cc: Vec::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0), Duration::from_secs(5));
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(3), Duration::from_secs(40));
        assert_eq!(backoff(40), BACKOFF_CAP);
    }

    #[test]
    fn formatted_mail_threads_and_marks_itself_automatic() {
        let from = Mailbox {
            name: Some("IT Service Desk".into()),
            address: "support@example.test".into(),
        };
        let mail = DueMail {
            recipient_name: Some("Alice".into()),
            in_reply_to: Some("orig@example.test".into()),
            references: vec!["root@example.test".into(), "orig@example.test".into()],
            ..due(1, Some("HD-000001"))
        };
        let r = Rendered {
            subject: "Received: printer".into(),
            text: "hello".into(),
            html: None,
        };
        let text = String::from_utf8(format_message(&from, &mail, &r).unwrap()).unwrap();
        for expected in [
            "Subject: [HD-000001] Received: printer",
            "Message-ID: <hd.1@example.test>",
            "In-Reply-To: <orig@example.test>",
            "References: <root@example.test> <orig@example.test>",
            "Auto-Submitted: auto-replied",
            "X-Auto-Response-Suppress: All",
            "To: Alice <alice@example.test>",
            "From: \"IT Service Desk\" <support@example.test>",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(!text.contains("\nReply-To:"), "{text}");
        let team_mail = DueMail {
            from_name: Some("Alice via IT Service Desk".into()),
            reply_to: Some("support@example.test".into()),
            ..mail
        };
        let text = String::from_utf8(format_message(&from, &team_mail, &r).unwrap()).unwrap();
        for expected in [
            "From: \"Alice via IT Service Desk\" <support@example.test>",
            "Reply-To: \"IT Service Desk\" <support@example.test>",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
