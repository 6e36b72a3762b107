//! Periodic work that is not tied to one case (the triage digest): the last slot done, claimed
//! with a conditional UPDATE so that a restart or a second instance never does a slot twice.

use super::{Error, Tx};
use crate::model::Millis;

/// Claims `slot` (the start of the hour it is for) of periodic job `name`: true when no
/// slot at or after it was done before. The row stays locked until the transaction ends, and
/// a rollback gives the slot back.
///
/// # Errors
/// Database failure.
pub async fn claim(tx: &mut Tx, name: &str, slot: Millis) -> Result<bool, Error> {
    let done = sqlx::query(
        r#"UPDATE schedule_runs SET last_slot = $2 WHERE name = $1 AND last_slot < $2"#,
    )
    .bind(name)
    .bind(slot)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
