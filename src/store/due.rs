//! When a case's clocks make work due: the SQL conditions on `cases` (`$1` being now) that the
//! scheduler selects with and [`claim`] re-checks under the row lock, with the list of active
//! statuses written once (`active!`). The SLA stages compare with the numbers
//! [`crate::sla::Stage`] stores (`< 1`: not warned yet; `< 2`: no breach notice yet).

use super::{Error, Work};
use crate::model::{CaseId, Millis};

/// The statuses whose clocks run or wait, as an SQL condition on `cases`; a macro, so that
/// `concat!` can build the constant conditions from it.
macro_rules! active {
    () => {
        "status IN ('open', 'in_progress', 'assigned', 'pending')"
    };
}
pub(crate) use active;

/// Work a clock makes due: the condition on `cases` (`$1` being now) and the index holding
/// the cases it can select. SQLite is told to read that index ([`Store::indexed_by`]): its
/// planner, once it has statistics, takes the status index for the active statuses instead
/// and reads every open case, half a second a round at a million cases.
///
/// [`Store::indexed_by`]: super::Store::indexed_by
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due<C = &'static str> {
    /// The SQL condition.
    pub condition: C,
    /// Its index (partial ones hold exactly the cases the condition's static part admits).
    pub index: &'static str,
}

/// The reopen window is over.
pub const CLOSE: Due = Due {
    condition: "status = 'resolved' AND close_at IS NOT NULL AND close_at <= $1",
    index: "cases_resolved_close",
};
/// The first-response warning is due.
pub const FIRST_RESPONSE_WARNING: Due = Due {
    condition: concat!(
        "first_response_at IS NULL AND first_response_stage < 1 AND first_response_warn_at <= $1 \
         AND first_response_due_at > $1 AND ",
        active!()
    ),
    index: "cases_first_response_warn_pending",
};
/// The first response is overdue.
pub const FIRST_RESPONSE_BREACH: Due = Due {
    condition: concat!(
        "first_response_at IS NULL AND first_response_stage < 2 AND first_response_due_at <= $1 \
         AND ",
        active!()
    ),
    index: "cases_first_response_due_pending",
};
/// The resolution warning is due (the clock runs: due_at is set).
pub const RESOLUTION_WARNING: Due = Due {
    condition: "sla_stage < 1 AND warn_at <= $1 AND due_at > $1",
    index: "cases_warn_pending",
};
/// The resolution is overdue.
pub const RESOLUTION_BREACH: Due = Due {
    condition: "sla_stage < 2 AND due_at <= $1",
    index: "cases_due_pending",
};
/// The index of [`follow_up`].
pub const FOLLOW_UP_INDEX: &str = "cases_follow_up";

/// A follow-up reminder is due: `follow_up_at` has come, for a case [`follow_up_scope`]
/// covers, with its `n` categories bound from `$2`.
pub fn follow_up(n: usize) -> Due<String> {
    Due {
        condition: format!("follow_up_at <= $1 AND {}", follow_up_scope(2, n)),
        index: FOLLOW_UP_INDEX,
    }
}

/// The cases that get weekly follow-ups: pending cases, and active cases of the `n`
/// categories that need weekly notes, bound from `$first`. The scheduler's next due time
/// uses the same scope, so a case outside it is never waited for.
pub fn follow_up_scope(first: usize, n: usize) -> String {
    if n == 0 {
        return "status = 'pending'".to_owned();
    }
    let marks: Vec<String> = (first..first + n).map(|i| format!("${i}")).collect();
    format!(
        "(status = 'pending' OR ({} AND category IN ({})))",
        active!(),
        marks.join(", ")
    )
}

/// Claims the work on `case` that `condition` describes: true when the condition still held
/// and this transaction now holds the row (PostgreSQL re-checks the condition after waiting
/// for another instance's lock, so only one of them gets `true`).
///
/// # Errors
/// Database failure.
pub async fn claim(
    tx: &mut Work,
    case: CaseId,
    condition: &str,
    binds: &[&str],
    now: Millis,
) -> Result<bool, Error> {
    let id_mark = binds.len() + 2;
    let sql =
        format!("UPDATE cases SET updated_at = updated_at WHERE {condition} AND id = ${id_mark}");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for b in binds {
        q = q.bind(*b);
    }
    let done = q.bind(case.0).execute(&mut ***tx).await?;
    Ok(done.rows_affected() == 1)
}
