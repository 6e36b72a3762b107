//! Leases: one holder at a time for work that must not run twice at once, such as reading the
//! mailbox when several instances share a database. A lease is taken when it is free or
//! expired, renewed by its holder before it expires, and given up on a clean stop; a holder
//! that dies loses it when it expires, and a standby takes over then.

use sqlx::Row;

use super::Error;
use crate::model::Millis;

/// Takes or renews lease `name` for `holder` until `now + ttl`: true when `holder` holds it
/// now. One statement, so two instances asking at once cannot both get it.
///
/// # Errors
/// Database failure.
pub async fn acquire(
    pool: &sqlx::AnyPool,
    name: &str,
    holder: &str,
    now: Millis,
    ttl: std::time::Duration,
) -> Result<bool, Error> {
    let row = sqlx::query(
        r#"INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
           RETURNING holder"#,
    )
    .bind(name)
    .bind(holder)
    .bind(now + ttl)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(r) => r.try_get::<String, _>(0)? == holder,
        None => false,
    })
}

/// Who holds lease `name` and until when, if anyone does at `now`.
///
/// # Errors
/// Database failure.
pub async fn holder(
    pool: &sqlx::AnyPool,
    name: &str,
    now: Millis,
) -> Result<Option<(String, Millis)>, Error> {
    sqlx::query(r#"SELECT holder, expires_at FROM leases WHERE name = $1 AND expires_at > $2"#)
        .bind(name)
        .bind(now)
        .fetch_optional(pool)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

/// Gives lease `name` up, if `holder` holds it: a clean stop hands over at once.
///
/// # Errors
/// Database failure.
pub async fn release(pool: &sqlx::AnyPool, name: &str, holder: &str) -> Result<(), Error> {
    sqlx::query(r#"DELETE FROM leases WHERE name = $1 AND holder = $2"#)
        .bind(name)
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;

    /// Half a second.
    const TTL: std::time::Duration = std::time::Duration::from_millis(500);

    #[tokio::test]
    async fn one_holder_at_a_time_until_it_expires_or_is_released() {
        for ts in stores().await {
            let pool = &ts.store.pool;
            let (a, b) = ("host-a:1", "host-b:2");
            assert!(acquire(pool, "intake", a, Millis(1_000), TTL)
                .await
                .unwrap());
            assert!(
                !acquire(pool, "intake", b, Millis(1_100), TTL)
                    .await
                    .unwrap(),
                "held by a"
            );
            assert_eq!(
                holder(pool, "intake", Millis(1_100)).await.unwrap(),
                Some((a.into(), Millis(1_500)))
            );
            // The holder renews; the other still cannot take it.
            assert!(acquire(pool, "intake", a, Millis(1_400), TTL)
                .await
                .unwrap());
            assert!(
                !acquire(pool, "intake", b, Millis(1_500), TTL)
                    .await
                    .unwrap(),
                "renewed to 1900"
            );
            // a dies: once expired, b takes over, and a cannot come back while b renews.
            assert!(acquire(pool, "intake", b, Millis(1_900), TTL)
                .await
                .unwrap());
            assert!(!acquire(pool, "intake", a, Millis(2_000), TTL)
                .await
                .unwrap());
            // Another lease is independent.
            assert!(acquire(pool, "other", a, Millis(2_000), TTL).await.unwrap());
            // A clean stop hands over at once; releasing someone else's lease does nothing.
            release(pool, "intake", a).await.unwrap();
            assert!(!acquire(pool, "intake", a, Millis(2_100), TTL)
                .await
                .unwrap());
            release(pool, "intake", b).await.unwrap();
            assert_eq!(holder(pool, "intake", Millis(2_100)).await.unwrap(), None);
            assert!(acquire(pool, "intake", a, Millis(2_100), TTL)
                .await
                .unwrap());
            ts.cleanup().await;
        }
    }
}
