//! Inbound messages with their raw bytes and attachments, and the duplicate check that makes
//! re-ingesting a message a no-op.

use serde::Serialize;
use sqlx::Row;

use super::{format_ms, Error, Tx, Work};
use crate::attach;
use crate::model::{CaseId, Inbound, Millis, Role, TicketNo, Visibility};

/// How a message is kept on its case: the text stored (a reply without its quote) and who may
/// see it.
#[derive(Debug, Clone, Copy)]
pub struct Kept<'a> {
    /// The text stored as the body.
    pub body: &'a str,
    /// Who wrote it.
    pub role: Role,
    /// Whether the customer saw it.
    pub visibility: Visibility,
}

impl<'a> Kept<'a> {
    /// A customer's message kept whole and public.
    pub fn whole(m: &'a Inbound) -> Kept<'a> {
        Kept {
            body: &m.text,
            role: Role::Customer,
            visibility: Visibility::Public,
        }
    }
}

/// An inbound message's raw form and where and when it arrived: what is kept of every message,
/// whether it becomes a case message or a quarantine entry.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    /// The bytes as received.
    pub bytes: &'a [u8],
    /// [`crate::parse::content_hash`] of the bytes: with the Message-ID, the duplicate key.
    pub content_hash: &'a str,
    /// Where it came from: `maildir:FILE`, `stdin`, `file:PATH`.
    pub origin: &'a str,
    /// When it arrived, in ms since the epoch.
    pub received_at: Millis,
}

/// An inbound message as shown in `cases show`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    /// RFC 3339: when it was stored.
    pub received_at: String,
    /// `inbound`.
    pub direction: &'static str,
    /// `customer` or `technician`.
    pub role: String,
    /// `public`, or `internal` (never sent to the customer).
    pub visibility: String,
    /// Sender address.
    pub from: String,
    pub subject: String,
    /// Decoded text.
    pub body: String,
    pub message_id: String,
    /// Auto-reply signals, comma-separated.
    pub auto_signals: String,
    /// Where it came from (Maildir file, stdin).
    pub origin: String,
    pub attachments: Vec<AttachmentRow>,
}

/// An attachment as shown in `cases show`.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentRow {
    /// Decoded file name.
    pub filename: Option<String>,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Why the content is only in the raw message.
    pub omitted: Option<String>,
}

/// The ticket of the case that already holds this message, if it was ingested before.
///
/// # Errors
/// Database failure.
pub async fn find_duplicate(
    tx: &mut Tx,
    message_id: &str,
    content_hash: &str,
) -> Result<Option<TicketNo>, Error> {
    let row = sqlx::query(
        r#"SELECT c.ticket FROM messages m JOIN cases c ON c.id = m.case_id
           WHERE m.message_id = $1 AND m.content_hash = $2"#,
    )
    .bind(message_id)
    .bind(content_hash)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some(r) => Some(TicketNo::from_string(r.try_get::<String, _>(0)?)),
        None => None,
    })
}

/// Pairs per statement of [`find_duplicates`] (two parameters each).
const DUPLICATES_PER_STATEMENT: usize = 200;

/// [`find_duplicate`] for a batch of `(message_id, content_hash)` pairs, a few hundred per
/// statement: the tickets of those ingested before, by pair.
///
/// # Errors
/// Database failure.
pub async fn find_duplicates(
    tx: &mut Tx,
    keys: &[(&str, &str)],
) -> Result<std::collections::HashMap<(String, String), TicketNo>, Error> {
    let mut found = std::collections::HashMap::new();
    for chunk in keys.chunks(DUPLICATES_PER_STATEMENT) {
        let values = (0..chunk.len())
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        // Joined from the pairs, so each is one probe of the dedupe index.
        let sql = format!(
            "WITH k (message_id, content_hash) AS (VALUES {values})
             SELECT m.message_id, m.content_hash, c.ticket FROM k
             JOIN messages m ON m.message_id = k.message_id AND m.content_hash = k.content_hash
             JOIN cases c ON c.id = m.case_id"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, hash) in chunk {
            query = query.bind(*id).bind(*hash);
        }
        for r in query.fetch_all(&mut **tx).await? {
            let key = (r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?);
            found.insert(key, TicketNo::from_string(r.try_get::<String, _>(2)?));
        }
    }
    Ok(found)
}

/// Stores an inbound message, its raw bytes and its attachments on a case; returns its row.
///
/// # Errors
/// Database failure; a unique violation means a concurrent ingest stored it first.
pub async fn insert(
    tx: &mut Work,
    case: CaseId,
    m: &Inbound,
    raw: &Raw<'_>,
    kept: Kept<'_>,
) -> Result<i64, Error> {
    let signals: Vec<&str> = m.auto_signals.iter().map(|s| s.as_str()).collect();
    let row_id: i64 = sqlx::query(
        r#"INSERT INTO messages (case_id, message_id, content_hash, sender, sender_name, subject,
               body, auto_signals, origin, sent_date, raw, received_at, author_role, visibility)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           RETURNING id"#,
    )
    .bind(case.0)
    .bind(m.message_id.as_deref().unwrap_or(""))
    .bind(raw.content_hash)
    .bind(m.from.address.as_str())
    .bind(m.from.name.as_deref())
    .bind(m.subject.as_str())
    .bind(kept.body)
    .bind(signals.join(","))
    .bind(raw.origin)
    .bind(m.date.as_deref())
    .bind(super::packed::pack(raw.bytes, tx.dictionary.as_deref())?)
    .bind(raw.received_at)
    .bind(kept.role.as_str())
    .bind(kept.visibility.as_str())
    .fetch_one(&mut ***tx)
    .await?
    .try_get(0)?;
    for a in &m.attachments {
        sqlx::query(
            r#"INSERT INTO attachments (message_row, filename, content_type, size, sha256, content, omitted)
               VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        )
        .bind(row_id)
        .bind(a.filename.as_deref())
        .bind(a.content_type.as_str())
        .bind(i64::try_from(a.size).unwrap_or(i64::MAX))
        .bind(a.sha256.as_str())
        // The bytes are in the raw message; kept once, there.
        .bind(None::<Vec<u8>>)
        .bind(a.omitted.as_deref())
        .execute(&mut ***tx)
        .await?;
    }
    Ok(row_id)
}

/// The attachments of message `row` (on `case`), each with its number on the case.
///
/// # Errors
/// Database failure.
pub async fn files(tx: &mut Tx, case: CaseId, row: i64) -> Result<Vec<attach::Stored>, Error> {
    let before: i64 = sqlx::query(
        r#"SELECT COUNT(*) FROM attachments a JOIN messages m ON m.id = a.message_row
           WHERE m.case_id = $1 AND m.id < $2"#,
    )
    .bind(case.0)
    .bind(row)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    let rows = sqlx::query(
        r#"SELECT id, filename, content_type, size,
                  CASE WHEN omitted IS NULL THEN 1 ELSE 0 END FROM attachments
           WHERE message_row = $1 ORDER BY id"#,
    )
    .bind(row)
    .fetch_all(&mut **tx)
    .await?;
    let first = usize::try_from(before).unwrap_or(0) + 1;
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let size: i64 = r.try_get(3)?;
            Ok(attach::Stored {
                id: r.try_get(0)?,
                number: first + i,
                filename: r.try_get(1)?,
                content_type: r.try_get(2)?,
                size: u64::try_from(size).unwrap_or(0),
                kept: r.try_get::<i64, _>(4)? == 1,
            })
        })
        .collect()
}

/// Attachment number `n` (1-based, oldest message first) of a case, as `cases attachment`
/// writes it out.
#[derive(Debug, Clone)]
pub struct CaseFile {
    /// The name its sender gave.
    pub filename: Option<String>,
    /// The type its sender declared.
    pub content_type: String,
    /// The bytes, when they were kept apart from the raw message.
    pub content: Option<Vec<u8>>,
    /// The raw message it came in, for bytes that were not kept apart.
    pub raw: Vec<u8>,
    /// Its place among its message's attachments (0-based).
    pub index: usize,
}

/// Attachment number `n` of `case`, if it has that many.
///
/// # Errors
/// Database failure.
pub async fn case_file(
    pool: &sqlx::AnyPool,
    case: CaseId,
    n: usize,
) -> Result<Option<CaseFile>, Error> {
    let Some(offset) = n.checked_sub(1).and_then(|o| i64::try_from(o).ok()) else {
        return Ok(None);
    };
    let row = sqlx::query(
        r#"SELECT a.filename, a.content_type, a.content, m.raw,
                  (SELECT COUNT(*) FROM attachments a2 WHERE a2.message_row = a.message_row
                   AND a2.id < a.id)
           FROM attachments a JOIN messages m ON m.id = a.message_row
           WHERE m.case_id = $1 ORDER BY m.id, a.id LIMIT 1 OFFSET $2"#,
    )
    .bind(case.0)
    .bind(offset)
    .fetch_optional(pool)
    .await?;
    if let Some(r) = &row {
        super::packed::learn(pool, &r.try_get::<Vec<u8>, _>(3)?).await?;
    }
    row.map(|r| {
        let index: i64 = r.try_get(4)?;
        Ok(CaseFile {
            filename: r.try_get(0)?,
            content_type: r.try_get(1)?,
            content: r.try_get(2)?,
            raw: super::packed::unpack(r.try_get(3)?)?,
            index: usize::try_from(index).unwrap_or(0),
        })
    })
    .transpose()
}

/// The body of the first message of a case (the request), if it has one: the text a
/// notification about an existing case (an assignment) shows.
///
/// # Errors
/// Database failure.
pub async fn first_body(tx: &mut Tx, case: CaseId) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query(r#"SELECT body FROM messages WHERE case_id = $1 ORDER BY id LIMIT 1"#)
            .bind(case.0)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

/// The row and body of the first message of a case (the request), if it has one: what a
/// forward to another desk attaches and quotes.
///
/// # Errors
/// Database failure.
pub async fn first(tx: &mut Tx, case: CaseId) -> Result<Option<(i64, String)>, Error> {
    sqlx::query(r#"SELECT id, body FROM messages WHERE case_id = $1 ORDER BY id LIMIT 1"#)
        .bind(case.0)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

/// The inbound messages of a case, oldest first, without raw bytes.
///
/// # Errors
/// Database failure.
pub async fn of_case(pool: &sqlx::AnyPool, case: CaseId) -> Result<Vec<MessageRow>, Error> {
    let rows = sqlx::query(
        r#"SELECT id, received_at, sender, subject, body, message_id, auto_signals, origin,
                  author_role, visibility
           FROM messages WHERE case_id = $1 ORDER BY id"#,
    )
    .bind(case.0)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let attachments = sqlx::query(
            r#"SELECT filename, content_type, size, omitted FROM attachments
               WHERE message_row = $1 ORDER BY id"#,
        )
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|a| {
            Ok(AttachmentRow {
                filename: a.try_get(0)?,
                content_type: a.try_get(1)?,
                size: a.try_get(2)?,
                omitted: a.try_get(3)?,
            })
        })
        .collect::<Result<_, Error>>()?;
        out.push(MessageRow {
            received_at: format_ms(r.try_get(1)?),
            direction: "inbound",
            role: r.try_get(8)?,
            visibility: r.try_get(9)?,
            from: r.try_get(2)?,
            subject: r.try_get(3)?,
            body: r.try_get(4)?,
            message_id: r.try_get(5)?,
            auto_signals: r.try_get(6)?,
            origin: r.try_get(7)?,
            attachments,
        });
    }
    Ok(out)
}
