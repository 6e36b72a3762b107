//! Raw messages that could not become a case or a case message, kept with the reason so an
//! admin can inspect and re-ingest them. Keyed by content hash: quarantining twice is a no-op.

use serde::Serialize;
use sqlx::Row;

use super::messages::Raw;
use super::{format_ms, Error, Tx};

/// A quarantined message as listed.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantineRow {
    /// Row id.
    pub id: i64,
    /// RFC 3339: when it was quarantined.
    pub received_at: String,
    /// Where it came from.
    pub origin: String,
    /// Why it was quarantined.
    pub error: String,
    /// Bytes.
    pub size: i64,
}

/// Stores the raw message with the error; returns its row id (the existing one if the same
/// bytes were quarantined before).
///
/// # Errors
/// Database failure.
pub async fn insert(tx: &mut Tx, raw: &Raw<'_>, error: &str) -> Result<i64, Error> {
    sqlx::query(
        r#"INSERT INTO quarantine (content_hash, origin, error, size, raw, received_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (content_hash) DO NOTHING"#,
    )
    .bind(raw.content_hash)
    .bind(raw.origin)
    .bind(error)
    .bind(raw.bytes.len() as i64)
    .bind(super::packed::pack(raw.bytes, None)?)
    .bind(raw.received_at)
    .execute(&mut **tx)
    .await?;
    let id: i64 = sqlx::query(r#"SELECT id FROM quarantine WHERE content_hash = $1"#)
        .bind(raw.content_hash)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    Ok(id)
}

/// Every quarantined message, newest first, without the raw bytes.
///
/// # Errors
/// Database failure.
pub async fn list(pool: &sqlx::AnyPool) -> Result<Vec<QuarantineRow>, Error> {
    sqlx::query(r#"SELECT id, received_at, origin, error, size FROM quarantine ORDER BY id DESC"#)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(QuarantineRow {
                id: r.try_get(0)?,
                received_at: format_ms(r.try_get(1)?),
                origin: r.try_get(2)?,
                error: r.try_get(3)?,
                size: r.try_get(4)?,
            })
        })
        .collect()
}

/// The raw bytes of one quarantined message.
///
/// # Errors
/// Database failure.
pub async fn raw(pool: &sqlx::AnyPool, id: i64) -> Result<Option<Vec<u8>>, Error> {
    let row = sqlx::query(r#"SELECT raw FROM quarantine WHERE id = $1"#)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some(r) => Some(super::packed::unpack(r.try_get(0)?)?),
        None => None,
    })
}
