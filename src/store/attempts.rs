//! The intake attempt counter: how many times intake began on a message (by content hash)
//! without finishing it. Raised and committed before the message is processed, deleted once it
//! is stored or quarantined; what is left after a crash or a watchdog kill is the evidence that
//! the message is poison. The decision on the count is `ingest::attempts`.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::{Error, Store, Tx};
use crate::model::Millis;

/// The unfinished attempts of each of these messages (by content hash) that has any.
///
/// # Errors
/// Database failure.
pub async fn unfinished(tx: &mut Tx, hashes: &[&str]) -> Result<HashMap<String, i64>, Error> {
    let mut out = HashMap::new();
    for chunk in hashes.chunks(256) {
        let marks = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT content_hash, attempts FROM intake_attempts WHERE content_hash IN ({marks})"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for h in chunk {
            query = query.bind(*h);
        }
        for r in query.fetch_all(&mut **tx).await? {
            out.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    Ok(out)
}

/// Counts one more attempt for each message (`(content_hash, origin)`). One statement; a hash
/// given twice is counted once.
///
/// # Errors
/// Database failure.
pub async fn begin(tx: &mut Tx, messages: &[(&str, &str)], now: Millis) -> Result<(), Error> {
    let mut seen = HashSet::new();
    let unique: Vec<&(&str, &str)> = messages.iter().filter(|(h, _)| seen.insert(*h)).collect();
    if unique.is_empty() {
        return Ok(());
    }
    let values = (0..unique.len())
        .map(|i| format!("(${}, ${}, 1, $1)", 2 * i + 2, 2 * i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO intake_attempts (content_hash, origin, attempts, updated_at) VALUES {values}
         ON CONFLICT (content_hash) DO UPDATE
         SET attempts = intake_attempts.attempts + 1, origin = excluded.origin,
             updated_at = excluded.updated_at"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for (hash, origin) in unique {
        query = query.bind(*hash).bind(*origin);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// The messages are done (stored, found duplicate, or quarantined): their counts go.
///
/// # Errors
/// Database failure.
pub async fn finish(tx: &mut Tx, hashes: &[&str]) -> Result<(), Error> {
    for chunk in hashes.chunks(256) {
        let marks = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("DELETE FROM intake_attempts WHERE content_hash IN ({marks})");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for h in chunk {
            query = query.bind(*h);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The attempt ended without a crash but without a result (the database failed, transiently):
/// it does not count against the messages.
///
/// # Errors
/// Database failure.
pub async fn release(tx: &mut Tx, hashes: &[&str]) -> Result<(), Error> {
    for h in hashes {
        sqlx::query(
            r#"UPDATE intake_attempts SET attempts = attempts - 1 WHERE content_hash = $1"#,
        )
        .bind(*h)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(r#"DELETE FROM intake_attempts WHERE attempts <= 0"#)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Remembers attempts [`release`] could not take back because the database had failed: they
/// are this process's own, not crashes, and must not count against their messages when the
/// database is back. [`repay`] takes them back before the next batch counts attempts.
pub fn owe(store: &Store, hashes: &[&str]) {
    let mut owed = store
        .owed_attempts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    owed.extend(hashes.iter().map(|h| (*h).to_owned()));
}

/// Takes back, inside `tx`, the attempts [`owe`] remembered; returns them, for [`repaid`] once
/// `tx` has committed.
///
/// # Errors
/// Database failure (they stay owed).
pub async fn repay(store: &Store, tx: &mut Tx) -> Result<Vec<String>, Error> {
    let owed = store
        .owed_attempts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if !owed.is_empty() {
        let hashes: Vec<&str> = owed.iter().map(String::as_str).collect();
        release(tx, &hashes).await?;
    }
    Ok(owed)
}

/// Forgets the attempts a committed [`repay`] took back.
pub fn repaid(store: &Store, hashes: &[String]) {
    if hashes.is_empty() {
        return;
    }
    let mut owed = store
        .owed_attempts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for h in hashes {
        if let Some(i) = owed.iter().position(|o| o == h) {
            owed.swap_remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[tokio::test]
    async fn attempts_count_up_until_finished_and_a_release_takes_one_back() {
        for t in testing::stores().await {
            let s = &t.store;
            let begin = |messages: Vec<(&'static str, &'static str)>| async move {
                let mut tx = s.begin().await.unwrap();
                super::begin(&mut tx, &messages, Millis(5)).await.unwrap();
                let hashes: Vec<&str> = messages.iter().map(|(h, _)| *h).collect();
                let counts = unfinished(&mut tx, &hashes).await.unwrap();
                tx.commit().await.unwrap();
                counts
            };
            let counts = begin(vec![("h1", "maildir:a"), ("h2", "maildir:b"), ("h1", "x")]).await;
            assert_eq!(counts, HashMap::from([("h1".into(), 1), ("h2".into(), 1)]));
            let counts = begin(vec![("h1", "maildir:a"), ("h3", "maildir:c")]).await;
            assert_eq!(counts, HashMap::from([("h1".into(), 2), ("h3".into(), 1)]));
            let mut tx = s.begin().await.unwrap();
            finish(&mut tx, &["h2", "h3"]).await.unwrap();
            release(&mut tx, &["h1"]).await.unwrap();
            tx.commit().await.unwrap();
            let counts = begin(vec![("h1", "a"), ("h2", "b")]).await;
            assert_eq!(counts, HashMap::from([("h1".into(), 2), ("h2".into(), 1)]));
            let mut tx = s.begin().await.unwrap();
            release(&mut tx, &["h2"]).await.unwrap();
            tx.commit().await.unwrap();
            let left: i64 = sqlx::query("SELECT COUNT(*) FROM intake_attempts")
                .fetch_one(&s.pool)
                .await
                .unwrap()
                .get(0);
            assert_eq!(left, 1, "a released first attempt leaves no row");
            t.cleanup().await;
        }
    }
}
