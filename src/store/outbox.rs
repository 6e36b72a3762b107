//! The durable outbox: outgoing mail written in the same transaction as the case change, then
//! claimed, rendered and sent by the outbox worker, and marked sent or rescheduled. The
//! Message-ID is fixed when the row is written.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use std::collections::BTreeMap;

use super::{format_ms, Error, Tx, Work};
use crate::caps;
use crate::model::{CaseId, Millis};
use crate::parse::signals::{base_mailbox, domain_of};
use crate::thread::Answered;

/// What kind of mail a row is; `auto_reply`, `command_error` and `command_receipt` rows are
/// automatic mail and count against the hourly caps ([`crate::caps`]).
pub const KIND_AUTO_REPLY: &str = "auto_reply";
/// A technician's reply or a canned reply relayed to the customer.
pub const KIND_RELAY: &str = "relay";
/// Mail to a team or technician: new case, assignment, customer reply, task.
pub const KIND_NOTIFICATION: &str = "notification";
/// The answer to a technician whose commands were refused; counts against the hourly cap.
pub const KIND_COMMAND_ERROR: &str = "command_error";
/// A technician's receipt for the commands of their reply; counts against the hourly cap.
pub const KIND_RECEIPT: &str = "command_receipt";

/// A mail to enqueue.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    /// The case it belongs to.
    pub case: Option<CaseId>,
    /// `auto_reply`, …
    pub kind: &'a str,
    /// Template name.
    pub template: &'a str,
    /// The template context as JSON.
    pub context: String,
    /// Recipient address.
    pub recipient: &'a str,
    /// Recipient display name.
    pub recipient_name: Option<&'a str>,
    /// Our Message-ID, without angle brackets.
    pub message_id: &'a str,
    /// The message we answer.
    pub in_reply_to: Option<&'a str>,
    /// The thread, oldest first, without angle brackets.
    pub references: &'a [String],
    /// Display name in From instead of the help desk's (the support address stays).
    pub from_name: Option<&'a str>,
    /// Reply-To, when answers must go somewhere explicit.
    pub reply_to: Option<&'a str>,
    /// For a notification: who caused it (the sender of the mail it reports), counted against
    /// the per-sender hourly cap.
    pub cause: Option<&'a str>,
    /// A stored inbound message (its `messages` row) attached whole.
    pub attach_message: Option<i64>,
    /// The task or approval the mail asks about: a reply to it answers that one.
    pub about: Option<About>,
    /// The To and Cc of a mail sent to several people, a row (and a Message-ID) each:
    /// `recipient` is this row's envelope recipient, the headers name everyone.
    pub headers: Option<Headers<'a>>,
    /// Stored attachments (`attachments` rows) the mail carries, in order.
    pub files: &'a [i64],
}

/// To and Cc of a mail that goes to several people.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    /// To: the address.
    pub to: &'a str,
    /// To: the display name.
    pub to_name: Option<&'a str>,
    /// Cc, in order.
    pub cc: &'a [String],
}

/// What a mail asks its recipient to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    /// A task (its row id): `/done` or `/reject`.
    Task(i64),
    /// An approval (its row id): APPROVE or REJECT.
    Approval(i64),
}

/// A row the worker is to send.
#[derive(Debug, Clone)]
pub struct DueMail {
    /// Row id.
    pub id: i64,
    /// Ticket of its case, when it has one.
    pub ticket: Option<String>,
    /// Template name.
    pub template: String,
    /// Template context as JSON.
    pub context: String,
    /// Recipient address.
    pub recipient: String,
    /// Recipient display name.
    pub recipient_name: Option<String>,
    /// Our Message-ID.
    pub message_id: String,
    /// The message we answer.
    pub in_reply_to: Option<String>,
    /// The thread.
    pub references: Vec<String>,
    /// Attempts so far.
    pub attempts: i64,
    /// Display name in From, overriding the help desk's.
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    /// `auto_reply`, `relay`, `notification`, `command_error`.
    pub kind: String,
    /// A stored inbound message to attach whole (`message/rfc822`).
    pub attachment: Option<Vec<u8>>,
    /// To when it names someone else than `recipient` (a copy), with the name.
    pub header_to: Option<(String, Option<String>)>,
    /// Cc, in order.
    pub header_cc: Vec<String>,
    /// Files carried, in order.
    pub files: Vec<OutFile>,
}

/// A file an outgoing mail carries, as its sender named and typed it (made safe when the mail
/// is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    /// Its number on the case.
    pub number: usize,
    /// The name its sender gave.
    pub filename: Option<String>,
    /// The type its sender declared.
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// A row as listed and shown.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// Ticket of its case.
    pub ticket: Option<String>,
    /// Template name.
    pub template: String,
    /// `auto_reply`, `relay`, `notification` or `command_error`.
    pub kind: String,
    pub recipient: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Rendered subject (once sent).
    pub subject: Option<String>,
    /// Rendered text (once sent).
    pub body: Option<String>,
    /// Our Message-ID.
    pub message_id: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, once sent.
    pub sent_at: Option<String>,
    /// RFC 3339: when a pending row is tried next.
    pub next_attempt_at: Option<String>,
}

/// Adds a mail to the outbox, due now.
///
/// # Errors
/// Database failure.
pub async fn enqueue(tx: &mut Work, m: &NewMail<'_>, now: Millis) -> Result<i64, Error> {
    let id: i64 = sqlx::query(
        r#"INSERT INTO outbox (case_id, kind, template, context, recipient, recipient_name,
               message_id, in_reply_to, reference_ids, status, attempts, next_attempt_at, created_at,
               from_name, reply_to, recipient_key, recipient_domain, cause_key, attach_message,
               task_id, approval_id, header_to, header_to_name, header_cc)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $10, $11, $12, $13, $14,
                   $15, $16, $17, $18, $19, $20, $21)
           RETURNING id"#,
    )
    .bind(m.case.map(|c| c.0))
    .bind(m.kind)
    .bind(m.template)
    .bind(m.context.as_str())
    .bind(m.recipient)
    .bind(m.recipient_name)
    .bind(m.message_id)
    .bind(m.in_reply_to)
    .bind(m.references.join(" "))
    .bind(now)
    .bind(m.from_name)
    .bind(m.reply_to)
    .bind(base_mailbox(m.recipient))
    .bind(domain_of(m.recipient))
    .bind(m.cause.map(base_mailbox))
    .bind(m.attach_message)
    .bind(match m.about {
        Some(About::Task(id)) => Some(id),
        _ => None,
    })
    .bind(match m.about {
        Some(About::Approval(id)) => Some(id),
        _ => None,
    })
    .bind(m.headers.map(|h| h.to))
    .bind(m.headers.and_then(|h| h.to_name))
    .bind(m.headers.map(|h| h.cc.join(" ")))
    .fetch_one(&mut ***tx)
    .await?
    .try_get(0)?;
    tx.tallies.count(m, now);
    for file in m.files {
        sqlx::query(r#"INSERT INTO outbox_attachments (outbox_id, attachment_id) VALUES ($1, $2)"#)
            .bind(id)
            .bind(*file)
            .execute(&mut ***tx)
            .await?;
    }
    Ok(id)
}

/// Whether a mail of `kind` counts against the hourly caps on automatic mail.
fn automatic(kind: &str) -> bool {
    [KIND_AUTO_REPLY, KIND_COMMAND_ERROR, KIND_RECEIPT].contains(&kind)
}

/// The minute a time falls in, as `mail_counts` keys it.
fn minute(at: Millis) -> i64 {
    at.0.div_euclid(60_000)
}

/// The per-minute tallies of the mail a transaction queued, by scope, key and minute: written
/// to `mail_counts` when it commits ([`save_tallies`]), added to what the caps read before.
#[derive(Debug, Default)]
pub struct Tallies(BTreeMap<(&'static str, String, i64), i64>);

impl Tallies {
    /// Counts a queued mail: an automatic mail under its base mailbox, its domain and in all; a
    /// notification under the sender whose mail caused it.
    fn count(&mut self, m: &NewMail<'_>, now: Millis) {
        let keys: Vec<(&'static str, String)> = if automatic(m.kind) {
            vec![
                ("mailbox", base_mailbox(m.recipient)),
                ("domain", domain_of(m.recipient)),
                ("all", String::new()),
            ]
        } else if m.kind == KIND_NOTIFICATION {
            m.cause
                .map(|c| ("cause", base_mailbox(c)))
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        for (scope, key) in keys {
            *self.0.entry((scope, key, minute(now))).or_insert(0) += 1;
        }
    }

    /// What this transaction counted under `scope`/`key` in the minutes after `minute`.
    fn after(&self, scope: &'static str, key: &str, minute: i64) -> i64 {
        self.0
            .range((scope, key.to_owned(), minute + 1)..=(scope, key.to_owned(), i64::MAX))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Rows per `mail_counts` upsert (4 parameters each; see `cases::EVENTS_PER_STATEMENT`).
const TALLIES_PER_STATEMENT: usize = 50;

/// Adds a transaction's tallies to `mail_counts`, a few dozen per statement.
///
/// # Errors
/// Database failure.
pub(super) async fn save_tallies(tx: &mut Tx, tallies: &Tallies) -> Result<(), Error> {
    let all: Vec<_> = tallies.0.iter().collect();
    for chunk in all.chunks(TALLIES_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", super::placeholders_from(4 * i + 1, 4)))
            .collect();
        // Built from placeholders only; the values are bound. Each key once: a tally is summed.
        let sql = format!(
            "INSERT INTO mail_counts (scope, key, minute, n) VALUES {}
             ON CONFLICT (scope, key, minute) DO UPDATE SET n = mail_counts.n + excluded.n",
            rows.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((scope, key, minute), n) in chunk {
            q = q.bind(*scope).bind(key.as_str()).bind(*minute).bind(**n);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Forgets the per-minute tallies of mail queued before `before`: the caps look an hour back,
/// so the table holds about two hours of minutes.
///
/// # Errors
/// Database failure.
pub async fn forget_counts(pool: &sqlx::AnyPool, before: Millis) -> Result<u64, Error> {
    let done = sqlx::query(r#"DELETE FROM mail_counts WHERE minute < $1"#)
        .bind(minute(before))
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// How many mails of `scope`/key `$1` were queued at or after `since` ($4): the whole minutes
/// after the one `since` falls in ($3) from `mail_counts`, that minute itself from the outbox
/// rows (`boundary`, a condition on `outbox` with `$4` and `$5`, the next minute's start):
/// exact, and at most an hour of minutes and a minute of mail to read.
fn counted(scope: &str, key: &str, boundary: &str) -> String {
    format!(
        "(SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM mail_counts
          WHERE scope = '{scope}' AND key = {key} AND minute > $3)
         + (SELECT COUNT(*) FROM outbox WHERE {boundary} AND created_at >= $4 AND created_at < $5)"
    )
}

/// How much automatic mail (acknowledgments, command errors and receipts) went out since `since`: to the
/// base mailbox of `recipient`, to its domain, and in all.
///
/// # Errors
/// Database failure.
pub async fn automatic_since(
    tx: &mut Work,
    recipient: &str,
    since: Millis,
) -> Result<caps::Recent, Error> {
    let kinds = "kind IN ($6, $7, $8)";
    // Built from constants only; the values are bound.
    let sql = format!(
        "SELECT {}, {}, {}",
        counted("mailbox", "$1", &format!("recipient_key = $1 AND {kinds}")),
        counted(
            "domain",
            "$2",
            &format!("recipient_domain = $2 AND {kinds}")
        ),
        counted("all", "''", kinds),
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(base_mailbox(recipient))
        .bind(domain_of(recipient))
        .bind(minute(since))
        .bind(since)
        .bind(Millis((minute(since) + 1) * 60_000))
        .bind(KIND_AUTO_REPLY)
        .bind(KIND_COMMAND_ERROR)
        .bind(KIND_RECEIPT)
        .fetch_one(&mut ***tx)
        .await?;
    let (key, domain, after) = (base_mailbox(recipient), domain_of(recipient), minute(since));
    let t = &tx.tallies;
    Ok(caps::Recent {
        mailbox: row.try_get::<i64, _>(0)? + t.after("mailbox", &key, after),
        domain: row.try_get::<i64, _>(1)? + t.after("domain", &domain, after),
        all: row.try_get::<i64, _>(2)? + t.after("all", "", after),
    })
}

/// How many notifications the mail of `sender` (its base mailbox) caused since `since`.
///
/// # Errors
/// Database failure.
pub async fn notifications_caused_since(
    tx: &mut Work,
    sender: &str,
    since: Millis,
) -> Result<i64, Error> {
    // Built from constants only; the values are bound.
    let sql = format!(
        "SELECT {}",
        counted("cause", "$1", "cause_key = $1 AND kind = $2")
    );
    let key = base_mailbox(sender);
    let stored: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(key.as_str())
        .bind(KIND_NOTIFICATION)
        .bind(minute(since))
        .bind(since)
        .bind(Millis((minute(since) + 1) * 60_000))
        .fetch_one(&mut ***tx)
        .await?
        .try_get(0)?;
    Ok(stored + tx.tallies.after("cause", &key, minute(since)))
}

/// Our outgoing mails among `ids` (Message-IDs an inbound message names), with their case and
/// recipient: what a technician's reply proves it answers.
///
/// # Errors
/// Database failure.
pub async fn answered(tx: &mut Tx, ids: &[String]) -> Result<Vec<Answered>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT case_id, recipient FROM outbox WHERE message_id IN ({})",
        super::placeholders(ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id.as_str());
    }
    query
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok(Answered {
                case: r.try_get::<Option<i64>, _>(0)?.map(CaseId),
                recipient: r.try_get(1)?,
            })
        })
        .collect()
}

/// The task or approval the mail with Message-ID `id` (ours) asked about, with its recipient.
///
/// # Errors
/// Database failure.
pub async fn about(tx: &mut Tx, id: &str) -> Result<Option<(About, String)>, Error> {
    let row = sqlx::query(
        r#"SELECT task_id, approval_id, recipient FROM outbox
           WHERE message_id = $1 AND (task_id IS NOT NULL OR approval_id IS NOT NULL)"#,
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let task: Option<i64> = r.try_get(0)?;
    let approval: Option<i64> = r.try_get(1)?;
    let about = match (task, approval) {
        (Some(t), _) => About::Task(t),
        (None, Some(a)) => About::Approval(a),
        (None, None) => return Ok(None),
    };
    Ok(Some((about, r.try_get(2)?)))
}

/// How long a claimed row is left to the worker that claimed it (PostgreSQL): longer than one
/// send can take (connect and SMTP timeouts), so a live worker never loses its claim. A worker
/// that dies with a claim (kill -9 mid-send) loses it after this long, and another sends the
/// mail, with the same Message-ID: at least once.
pub const CLAIM: std::time::Duration = std::time::Duration::from_secs(2 * 60);

/// The pending rows whose time has come, oldest first, for this worker to send;
/// `mark_sent`/`mark_retry`/`mark_failed` settle each. The backend-specific statement of the
/// store. On PostgreSQL, where several instances share the outbox, it claims up to `limit` rows
/// (the worker asks for one per connection, so each claim is sent well within [`CLAIM`]): each
/// row's next attempt moves [`CLAIM`] ahead, rows another worker is claiming are skipped
/// (`FOR UPDATE SKIP LOCKED`) and the condition is re-checked on the row updated, so no two
/// workers send the same mail. On SQLite (one instance per database) it returns up to `limit`
/// rows unclaimed, and mail a killed daemon did not mark as sent goes out on restart at once.
///
/// # Errors
/// Database failure.
pub async fn claim_due(
    store: &super::Store,
    now: Millis,
    limit: i64,
) -> Result<Vec<DueMail>, Error> {
    let ids: Vec<i64> = match store.backend {
        super::Backend::Postgres => sqlx::query(
            r#"UPDATE outbox SET next_attempt_at = $2
               WHERE status = 'pending' AND next_attempt_at <= $1 AND id IN (
                   SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
                   ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
               RETURNING id"#,
        )
        .bind(now)
        .bind(now + CLAIM)
        .bind(limit),
        super::Backend::Sqlite => sqlx::query(
            r#"SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
               ORDER BY next_attempt_at, id LIMIT $2"#,
        )
        .bind(now)
        .bind(limit),
    }
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT o.id, c.ticket, o.template, o.context, o.recipient, o.recipient_name,
                o.message_id, o.in_reply_to, o.reference_ids, o.attempts, o.from_name, o.reply_to,
                o.kind, m.raw, o.header_to, o.header_to_name, o.header_cc
         FROM outbox o LEFT JOIN cases c ON c.id = o.case_id
              LEFT JOIN messages m ON m.id = o.attach_message
         WHERE o.id IN ({}) ORDER BY o.next_attempt_at, o.id",
        super::placeholders(ids.len())
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in &ids {
        q = q.bind(*id);
    }
    let mut files = files_of(&store.pool, &ids).await?;
    let rows = q.fetch_all(&store.pool).await?;
    for r in &rows {
        if let Some(raw) = r.try_get::<Option<Vec<u8>>, _>(13)? {
            super::packed::learn(&store.pool, &raw).await?;
        }
    }
    rows.iter()
        .map(|r| {
            let refs: String = r.try_get(8)?;
            let id: i64 = r.try_get(0)?;
            let cc: Option<String> = r.try_get(16)?;
            Ok(DueMail {
                id: r.try_get(0)?,
                ticket: r.try_get(1)?,
                template: r.try_get(2)?,
                context: r.try_get(3)?,
                recipient: r.try_get(4)?,
                recipient_name: r.try_get(5)?,
                message_id: r.try_get(6)?,
                in_reply_to: r.try_get(7)?,
                references: refs.split_whitespace().map(str::to_owned).collect(),
                attempts: r.try_get(9)?,
                from_name: r.try_get(10)?,
                reply_to: r.try_get(11)?,
                kind: r.try_get(12)?,
                attachment: r
                    .try_get::<Option<Vec<u8>>, _>(13)?
                    .map(super::packed::unpack)
                    .transpose()?,
                header_to: r
                    .try_get::<Option<String>, _>(14)?
                    .map(|to| Ok::<_, Error>((to, r.try_get(15)?)))
                    .transpose()?,
                header_cc: cc
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                files: files.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

/// The files the rows `ids` carry, by row, each in order, with its number on its case.
async fn files_of(
    pool: &sqlx::AnyPool,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<OutFile>>, Error> {
    let sql = format!(
        "SELECT oa.outbox_id, a.filename, a.content_type, a.content,
                (SELECT COUNT(*) FROM attachments a2 JOIN messages m2 ON m2.id = a2.message_row
                 WHERE m2.case_id = m.case_id AND (m2.id < m.id OR (m2.id = m.id AND a2.id <= a.id))),
                CASE WHEN a.content IS NULL THEN m.raw END,
                (SELECT COUNT(*) FROM attachments a3 WHERE a3.message_row = a.message_row
                 AND a3.id < a.id)
         FROM outbox_attachments oa JOIN attachments a ON a.id = oa.attachment_id
              JOIN messages m ON m.id = a.message_row
         WHERE oa.outbox_id IN ({}) AND (a.content IS NOT NULL OR a.omitted IS NULL)
         ORDER BY oa.outbox_id, a.id",
        super::placeholders(ids.len())
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    let mut out: std::collections::HashMap<i64, Vec<OutFile>> = std::collections::HashMap::new();
    for r in q.fetch_all(pool).await? {
        let number: i64 = r.try_get(4)?;
        let number = usize::try_from(number).unwrap_or(0);
        // Kept apart (rows from before raw messages held the only copy), or decoded again
        // from the raw message it came in.
        let content = match (r.try_get(3)?, r.try_get::<Option<Vec<u8>>, _>(5)?) {
            (Some(content), _) => content,
            (None, Some(raw)) => {
                let index: i64 = r.try_get(6)?;
                super::packed::learn(pool, &raw).await?;
                let raw = super::packed::unpack(raw)?;
                let index = usize::try_from(index).unwrap_or(0);
                let Some(content) = crate::parse::attachment_bytes(&raw, index) else {
                    tracing::warn!(
                        number,
                        "a file is no longer found in its raw message; the mail goes without it"
                    );
                    continue;
                };
                content
            }
            (None, None) => continue,
        };
        out.entry(r.try_get(0)?).or_default().push(OutFile {
            filename: r.try_get(1)?,
            content_type: r.try_get(2)?,
            content,
            number,
        });
    }
    Ok(out)
}

/// How many mails wait to be sent, and when the oldest of them was queued.
///
/// # Errors
/// Database failure.
pub async fn waiting(pool: &sqlx::AnyPool) -> Result<(i64, Option<Millis>), Error> {
    let r = sqlx::query(r#"SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'"#)
        .fetch_one(pool)
        .await?;
    Ok((r.try_get(0)?, r.try_get(1)?))
}

/// Gives claimed rows back, due at `now`: a worker stopping with mail it will not send.
///
/// # Errors
/// Database failure.
pub async fn release(pool: &sqlx::AnyPool, ids: &[i64], now: Millis) -> Result<(), Error> {
    for id in ids {
        sqlx::query(
            r#"UPDATE outbox SET next_attempt_at = $2 WHERE id = $1 AND status = 'pending'"#,
        )
        .bind(*id)
        .bind(now)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// The earliest time a pending row is due, for the worker's sleep.
///
/// # Errors
/// Database failure.
pub async fn next_due_at(pool: &sqlx::AnyPool) -> Result<Option<Millis>, Error> {
    Ok(
        sqlx::query(r#"SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'"#)
            .fetch_one(pool)
            .await?
            .try_get(0)?,
    )
}

/// A mail the transport accepted, with what was rendered for it.
#[derive(Debug, Clone)]
pub struct SentMail {
    /// Its outbox row.
    pub id: i64,
    pub subject: String,
    pub body: String,
    /// When the transport accepted it.
    pub at: Millis,
}

/// Records successful sends with what was rendered, in one statement (one commit, one fsync,
/// one trip to the database, however many mails: at most one per mail in flight, so a few
/// hundred values at most, far below either database's limit on them).
///
/// # Errors
/// Database failure; then none of them is recorded.
pub async fn mark_sent(pool: &sqlx::AnyPool, sent: &[&SentMail]) -> Result<(), Error> {
    if sent.is_empty() {
        return Ok(());
    }
    let values = (0..sent.len())
        .map(|i| {
            let n = 4 * i;
            format!(
                "(CAST(${} AS BIGINT), ${}, ${}, CAST(${} AS BIGINT))",
                n + 1,
                n + 2,
                n + 3,
                n + 4
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        r#"WITH v (id, subject, body, at) AS (VALUES {values})
           UPDATE outbox SET status = 'sent', subject = v.subject, body = v.body,
                  sent_at = v.at, attempts = attempts + 1, last_error = NULL
           FROM v WHERE outbox.id = v.id"#
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for m in sent {
        query = query.bind(m.id).bind(&m.subject).bind(&m.body).bind(m.at);
    }
    query.execute(pool).await?;
    Ok(())
}

/// Records a temporary failure and when to try again.
///
/// # Errors
/// Database failure.
pub async fn mark_retry(
    pool: &sqlx::AnyPool,
    id: i64,
    error: &str,
    next_at: Millis,
) -> Result<(), Error> {
    sqlx::query(
        r#"UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
           WHERE id = $1"#,
    )
    .bind(id)
    .bind(error)
    .bind(next_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a permanent failure; the row stays for `outbox list` and a manual retry.
///
/// # Errors
/// Database failure.
pub async fn mark_failed(pool: &sqlx::AnyPool, id: i64, error: &str) -> Result<(), Error> {
    sqlx::query(
        r#"UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1"#,
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

const ROW_COLUMNS: &str = r#"o.id, c.ticket, o.template, o.recipient, o.status, o.attempts,
    o.last_error, o.subject, o.body, o.message_id, o.created_at, o.sent_at, o.next_attempt_at,
    o.kind"#;

fn outbox_row(r: &AnyRow) -> Result<OutboxRow, Error> {
    Ok(OutboxRow {
        id: r.try_get(0)?,
        ticket: r.try_get(1)?,
        template: r.try_get(2)?,
        kind: r.try_get(13)?,
        recipient: r.try_get(3)?,
        status: r.try_get(4)?,
        attempts: r.try_get(5)?,
        last_error: r.try_get(6)?,
        subject: r.try_get(7)?,
        body: r.try_get(8)?,
        message_id: r.try_get(9)?,
        created_at: format_ms(r.try_get(10)?),
        sent_at: r.try_get::<Option<Millis>, _>(11)?.map(format_ms),
        next_attempt_at: {
            let status: String = r.try_get(4)?;
            let at: Millis = r.try_get(12)?;
            (status == "pending").then(|| format_ms(at))
        },
    })
}

/// The outgoing mail of one case, oldest first.
///
/// # Errors
/// Database failure.
pub async fn of_case(pool: &sqlx::AnyPool, case: CaseId) -> Result<Vec<OutboxRow>, Error> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM outbox o LEFT JOIN cases c ON c.id = o.case_id WHERE o.case_id = $1 ORDER BY o.id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case.0)
        .fetch_all(pool)
        .await?
        .iter()
        .map(outbox_row)
        .collect()
}

/// Every outbox row, newest first.
///
/// # Errors
/// Database failure.
pub async fn list(pool: &sqlx::AnyPool) -> Result<Vec<OutboxRow>, Error> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM outbox o LEFT JOIN cases c ON c.id = o.case_id ORDER BY o.id DESC"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?
        .iter()
        .map(outbox_row)
        .collect()
}

/// Which rows `outbox retry` re-queues.
#[derive(Debug, Clone, Copy)]
pub enum Requeue {
    /// One row, failed or waiting for its next attempt.
    One(i64),
    /// Every failed row.
    AllFailed,
}

/// Makes rows due now again: failed rows go back to pending with a fresh attempt count;
/// pending rows waiting out a backoff are due at once. Sent rows are never touched. Returns
/// the ids re-queued.
///
/// # Errors
/// Database failure.
pub async fn requeue(pool: &sqlx::AnyPool, which: Requeue, now: Millis) -> Result<Vec<i64>, Error> {
    let (filter, id) = match which {
        Requeue::One(id) => ("id = $2 AND status IN ('pending', 'failed')", id),
        Requeue::AllFailed => ("status = 'failed' AND $2 = $2", 0),
    };
    let sql = format!(
        "UPDATE outbox SET status = 'pending', next_attempt_at = $1,
             attempts = CASE WHEN status = 'failed' THEN 0 ELSE attempts END
         WHERE {filter} RETURNING id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// The status of one row, if it exists.
///
/// # Errors
/// Database failure.
pub async fn status_of(pool: &sqlx::AnyPool, id: i64) -> Result<Option<String>, Error> {
    Ok(sqlx::query(r#"SELECT status FROM outbox WHERE id = $1"#)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
}

/// The Message-IDs of a case's conversation with one audience, oldest first: for mail to the
/// customer, the customers' messages and the mail sent to customers; for mail to `staff`, the
/// notifications sent to that address. The newest is what the next mail answers.
///
/// # Errors
/// Database failure.
pub async fn thread_ids(
    tx: &mut Tx,
    case: CaseId,
    audience: Audience<'_>,
) -> Result<Vec<String>, Error> {
    let rows = match audience {
        Audience::Customer => {
            sqlx::query(
                r#"SELECT message_id, received_at AS at, id, 0 AS side FROM messages
                   WHERE case_id = $1 AND author_role = 'customer' AND message_id <> ''
                   UNION ALL
                   SELECT message_id, created_at AS at, id, 1 AS side FROM outbox
                   WHERE case_id = $1 AND kind IN ($2, $3)
                   ORDER BY at, side, id"#,
            )
            .bind(case.0)
            .bind(KIND_AUTO_REPLY)
            .bind(KIND_RELAY)
            .fetch_all(&mut **tx)
            .await?
        }
        Audience::Staff(address) => {
            sqlx::query(
                r#"SELECT message_id FROM outbox
                   WHERE case_id = $1 AND recipient = $2 AND kind = $3 ORDER BY id"#,
            )
            .bind(case.0)
            .bind(address)
            .bind(KIND_NOTIFICATION)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Whose side of a case's conversation [`thread_ids`] follows.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// The customer's thread.
    Customer,
    /// The notifications to one team or technician address.
    Staff(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn mail<'a>(kind: &'a str, recipient: &'a str, id: &'a str) -> NewMail<'a> {
        NewMail {
            case: None,
            kind,
            template: "acknowledgment",
            context: "{}".into(),
            recipient,
            recipient_name: None,
            message_id: id,
            in_reply_to: None,
            references: &[],
            from_name: None,
            reply_to: None,
            cause: Some("boss@corp.example"),
            attach_message: None,
            about: None,
            headers: None,
            files: &[],
        }
    }

    /// Mails 20 s apart over five minutes: to two people of one domain, one of another,
    /// automatic or not, each notification caused by the boss.
    fn at(i: i64) -> Millis {
        Millis(1_000_000_020_000 + 20_000 * i)
    }

    /// The caps' counts since each moment in `tx` are those of the 15 mails queued at [`at`].
    async fn counts_hold(tx: &mut Work) {
        for since in [
            at(0),
            Millis(at(3).0 - 1),
            at(3),
            Millis(at(3).0 + 1),
            at(7),
            at(14),
            at(15),
        ] {
            let recent = automatic_since(tx, "A@corp.example", since).await.unwrap();
            let caused = notifications_caused_since(tx, "Boss@corp.example", since)
                .await
                .unwrap();
            let want = |f: &dyn Fn(i64) -> bool| {
                (0..15).filter(|&i| at(i) >= since && f(i)).count() as i64
            };
            let auto = |i: i64| [0, 2].contains(&(i % 4));
            assert_eq!(
                recent.mailbox,
                want(&|i| auto(i) && i % 3 == 0),
                "since {since:?}"
            );
            assert_eq!(
                recent.domain,
                want(&|i| auto(i) && i % 3 != 2),
                "since {since:?}"
            );
            assert_eq!(recent.all, want(&|i| auto(i)), "since {since:?}");
            assert_eq!(caused, want(&|i| i % 4 == 1), "since {since:?}");
        }
    }

    /// The per-minute tallies give exactly what counting the outbox rows gave, whatever
    /// minute the window starts in: in the transaction that queued the mail (its tallies not
    /// written yet) and in any after it.
    #[tokio::test]
    async fn the_caps_count_exactly_the_mail_since_any_moment() {
        for t in testing::stores().await {
            let s = &t.store;
            let kinds = [
                KIND_AUTO_REPLY,
                KIND_NOTIFICATION,
                KIND_COMMAND_ERROR,
                KIND_RELAY,
            ];
            let people = ["a+x@corp.example", "b@corp.example", "c@other.example"];
            let mut tx = s.work().await.unwrap();
            for i in 0..15 {
                let id = format!("m{i}@example.test");
                let m = mail(kinds[i as usize % 4], people[i as usize % 3], &id);
                enqueue(&mut tx, &m, at(i)).await.unwrap();
            }
            counts_hold(&mut tx).await;
            tx.commit().await.unwrap();
            let mut tx = s.work().await.unwrap();
            counts_hold(&mut tx).await;
            tx.commit().await.unwrap();
            // Forgetting the minutes before a moment changes no count from that moment on.
            assert!(forget_counts(&s.pool, at(7)).await.unwrap() > 0);
            for since in [at(7), at(9), at(14)] {
                let mut tx = s.work().await.unwrap();
                let recent = automatic_since(&mut tx, "a@corp.example", since)
                    .await
                    .unwrap();
                let want = (7..15)
                    .filter(|&i| at(i) >= since && [0, 2].contains(&(i % 4)))
                    .count();
                assert_eq!(recent.all, want as i64, "since {since:?}");
            }
            t.cleanup().await;
        }
    }
}
