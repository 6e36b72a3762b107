//! IMAP intake positions: per mailbox, its UIDVALIDITY and the highest committed UID. The
//! position is saved in the same transaction as the messages it covers.

use sqlx::Row;

use super::{Error, Tx};
use crate::model::Millis;

/// Where intake stands in one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The mailbox's UIDVALIDITY when the position was saved.
    pub uid_validity: u32,
    /// Every message up to this UID is committed.
    pub last_uid: u32,
}

/// The saved position of `mailbox` (`user@host:port/folder`), if any.
///
/// # Errors
/// Database failure, or a stored number out of range.
pub async fn position(pool: &sqlx::AnyPool, mailbox: &str) -> Result<Option<Position>, Error> {
    let row =
        sqlx::query(r#"SELECT uid_validity, last_uid FROM imap_mailboxes WHERE mailbox = $1"#)
            .bind(mailbox)
            .fetch_optional(pool)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let number = |i: usize| -> Result<u32, Error> {
        let v: i64 = row.try_get(i)?;
        u32::try_from(v).map_err(|_| Error::Corrupt(format!("IMAP position {v} of {mailbox}")))
    };
    Ok(Some(Position {
        uid_validity: number(0)?,
        last_uid: number(1)?,
    }))
}

/// Saves the position of `mailbox`.
///
/// # Errors
/// Database failure.
pub async fn save(tx: &mut Tx, mailbox: &str, p: Position, now: Millis) -> Result<(), Error> {
    sqlx::query(
        r#"INSERT INTO imap_mailboxes (mailbox, uid_validity, last_uid, updated_at)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (mailbox) DO UPDATE
           SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid,
               updated_at = excluded.updated_at"#,
    )
    .bind(mailbox)
    .bind(i64::from(p.uid_validity))
    .bind(i64::from(p.last_uid))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[tokio::test]
    async fn positions_round_trip_and_update() {
        for t in testing::stores().await {
            let s = &t.store;
            assert_eq!(position(&s.pool, "a@h:1/INBOX").await.unwrap(), None);
            for (v, u) in [(7, 10), (7, 12), (9, 0)] {
                let p = Position {
                    uid_validity: v,
                    last_uid: u,
                };
                let mut tx = s.begin().await.unwrap();
                save(&mut tx, "a@h:1/INBOX", p, Millis(1)).await.unwrap();
                tx.commit().await.unwrap();
                assert_eq!(position(&s.pool, "a@h:1/INBOX").await.unwrap(), Some(p));
            }
            assert_eq!(position(&s.pool, "b@h:1/INBOX").await.unwrap(), None);
            t.cleanup().await;
        }
    }
}
