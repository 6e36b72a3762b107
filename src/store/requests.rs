//! What service requests add to a case: tasks for other teams (numbered per case, due by a date,
//! done or rejected by reply), approvals asked of named people and answered by reply, the
//! customer's rating of a resolution, and what a conference request says about its event.

use serde::Serialize;
use sqlx::Row;

use super::{format_ms, Error, Tx};
use crate::model::{CaseId, Millis};

/// A task's state.
pub const TASK_OPEN: &str = "open";
/// A team member answered the task mail with `/done`.
pub const TASK_DONE: &str = "done";
/// A team member answered the task mail with `/reject reason`.
pub const TASK_REJECTED: &str = "rejected";

/// A task as the casework sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Row id.
    pub id: i64,
    /// Its case.
    pub case: CaseId,
    /// Its number on the case: the `2` of `[HD-000123/T2]`.
    pub number: i64,
    pub team: String,
    /// What to do.
    pub text: String,
    /// `open`, `done` or `rejected`.
    pub status: String,
    /// When it is due, if a date was given.
    pub due_at: Option<Millis>,
    /// Who created it: the case's liaison.
    pub created_by: String,
    /// Who answered it, when, and with what note or reason.
    pub done_by: Option<String>,
    pub done_at: Option<Millis>,
    pub outcome: Option<String>,
}

impl Task {
    /// `T2`.
    pub fn label(&self) -> String {
        format!("T{}", self.number)
    }
}

const TASK_COLUMNS: &str =
    "id, case_id, number, team, text, status, due_at, created_by, done_by, done_at, outcome";

fn task_of(r: &sqlx::any::AnyRow) -> Result<Task, Error> {
    Ok(Task {
        id: r.try_get(0)?,
        case: CaseId(r.try_get(1)?),
        number: r.try_get(2)?,
        team: r.try_get(3)?,
        text: r.try_get(4)?,
        status: r.try_get(5)?,
        due_at: r.try_get::<Option<i64>, _>(6)?.map(Millis),
        created_by: r.try_get(7)?,
        done_by: r.try_get(8)?,
        done_at: r.try_get::<Option<i64>, _>(9)?.map(Millis),
        outcome: r.try_get(10)?,
    })
}

/// Adds an open task for `team`, numbered after the case's others; returns it.
///
/// # Errors
/// Database failure.
pub async fn add_task(
    tx: &mut Tx,
    case: CaseId,
    (team, text, due_at): (&str, &str, Option<Millis>),
    by: &str,
    now: Millis,
) -> Result<Task, Error> {
    let sql = format!(
        r#"INSERT INTO tasks (case_id, number, team, text, status, due_at, created_by, created_at)
           VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM tasks WHERE case_id = $1),
                   $2, $3, 'open', $4, $5, $6)
           RETURNING {TASK_COLUMNS}"#
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case.0)
        .bind(team)
        .bind(text)
        .bind(due_at.map(|d| d.0))
        .bind(by)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    if due_at.is_some() {
        renew_task_due(tx, case).await?;
    }
    task_of(&row)
}

/// Sets the case's `task_due_at`, the earliest date among its open tasks, which the work queue
/// orders it by (`migrations/*/0013_queue_order.sql`); called whenever a task is added,
/// answered or moved.
async fn renew_task_due(tx: &mut Tx, case: CaseId) -> Result<(), Error> {
    sqlx::query(
        r#"UPDATE cases SET task_due_at = (SELECT MIN(due_at) FROM tasks
                                           WHERE case_id = $1 AND status = 'open')
           WHERE id = $1"#,
    )
    .bind(case.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The task with row id `id`.
///
/// # Errors
/// Database failure.
pub async fn task(tx: &mut Tx, id: i64) -> Result<Option<Task>, Error> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(task_of).transpose()
}

/// The tasks of `case`, in number order.
///
/// # Errors
/// Database failure.
pub async fn tasks_of(tx: &mut Tx, case: CaseId) -> Result<Vec<Task>, Error> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE case_id = $1 ORDER BY number, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case.0)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(task_of).collect()
}

/// Records the answer to an open task (`done` or `rejected`, with the note or reason); false
/// when it was answered already.
///
/// # Errors
/// Database failure.
pub async fn finish_task(
    tx: &mut Tx,
    id: i64,
    (status, outcome): (&str, Option<&str>),
    by: &str,
    now: Millis,
) -> Result<bool, Error> {
    let case: Option<i64> = sqlx::query_scalar(
        r#"UPDATE tasks SET status = $2, outcome = $3, done_by = $4, done_at = $5
           WHERE id = $1 AND status = 'open' RETURNING case_id"#,
    )
    .bind(id)
    .bind(status)
    .bind(outcome)
    .bind(by)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(case) = case else {
        return Ok(false);
    };
    renew_task_due(tx, CaseId(case)).await?;
    Ok(true)
}

/// Moves the open tasks of `from` to `into`, numbered after the survivor's own; returns how many
/// moved.
///
/// # Errors
/// Database failure.
pub async fn move_open_tasks(tx: &mut Tx, from: CaseId, into: CaseId) -> Result<u64, Error> {
    let last: i64 = sqlx::query(r#"SELECT COALESCE(MAX(number), 0) FROM tasks WHERE case_id = $1"#)
        .bind(into.0)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    let moved = sqlx::query(
        r#"UPDATE tasks SET case_id = $2, number = number + $3
           WHERE case_id = $1 AND status = 'open'"#,
    )
    .bind(from.0)
    .bind(into.0)
    .bind(last)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if moved > 0 {
        renew_task_due(tx, from).await?;
        renew_task_due(tx, into).await?;
    }
    Ok(moved)
}

/// A task as shown by `cases show`.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    /// `T2`.
    pub label: String,
    pub team: String,
    /// What to do.
    pub text: String,
    /// `open`, `done` or `rejected`.
    pub status: String,
    /// RFC 3339, when a date was given.
    pub due_at: Option<String>,
    /// An open task past its date.
    pub overdue: bool,
    /// Who created it.
    pub created_by: String,
    /// Who answered it, when (RFC 3339), with what note or reason.
    pub done_by: Option<String>,
    pub done_at: Option<String>,
    pub outcome: Option<String>,
}

/// The tasks of `case` as shown at `now`.
///
/// # Errors
/// Database failure.
pub async fn task_rows(
    pool: &sqlx::AnyPool,
    case: CaseId,
    now: Millis,
) -> Result<Vec<TaskRow>, Error> {
    let mut tx = pool.begin().await?;
    let tasks = tasks_of(&mut tx, case).await?;
    tx.commit().await?;
    Ok(tasks
        .into_iter()
        .map(|t| TaskRow {
            label: t.label(),
            overdue: t.status == TASK_OPEN && t.due_at.is_some_and(|d| d <= now),
            team: t.team,
            text: t.text,
            status: t.status,
            due_at: t.due_at.map(format_ms),
            created_by: t.created_by,
            done_by: t.done_by,
            done_at: t.done_at.map(format_ms),
            outcome: t.outcome,
        })
        .collect())
}

/// An approval's state.
pub const APPROVAL_PENDING: &str = "pending";
/// The approver answered APPROVE.
pub const APPROVED: &str = "approved";
/// The approver answered REJECT with a reason.
pub const REJECTED: &str = "rejected";
/// The request was decided without this approver's answer (`any`: another approved; `all`:
/// another rejected), or a new round of approvals replaced it.
pub const WITHDRAWN: &str = "withdrawn";

/// One approver's part in an approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// Row id.
    pub id: i64,
    #[serde(skip)]
    pub case: CaseId,
    pub approver: String,
    /// `any` or `all`.
    pub needs: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub status: String,
    /// The rejection's reason.
    pub reason: Option<String>,
    pub asked_by: String,
    #[serde(skip)]
    pub asked_at: Millis,
    #[serde(skip)]
    pub answered_at: Option<Millis>,
    /// When the next reminder is due, while pending.
    #[serde(skip)]
    pub remind_at: Option<Millis>,
    /// Reminders sent so far.
    pub reminders: i64,
}

const APPROVAL_COLUMNS: &str =
    "id, case_id, approver, needs, status, reason, asked_by, asked_at, answered_at, remind_at, reminders";

fn approval_of(r: &sqlx::any::AnyRow) -> Result<Approval, Error> {
    Ok(Approval {
        id: r.try_get(0)?,
        case: CaseId(r.try_get(1)?),
        approver: r.try_get(2)?,
        needs: r.try_get(3)?,
        status: r.try_get(4)?,
        reason: r.try_get(5)?,
        asked_by: r.try_get(6)?,
        asked_at: Millis(r.try_get(7)?),
        answered_at: r.try_get::<Option<i64>, _>(8)?.map(Millis),
        remind_at: r.try_get::<Option<i64>, _>(9)?.map(Millis),
        reminders: r.try_get(10)?,
    })
}

/// Asks `approver` to approve `case`; returns the new row.
///
/// # Errors
/// Database failure.
pub async fn add_approval(
    tx: &mut Tx,
    case: CaseId,
    (approver, needs): (&str, &str),
    by: &str,
    (now, remind_at): (Millis, Option<Millis>),
) -> Result<Approval, Error> {
    let sql = format!(
        r#"INSERT INTO approvals (case_id, approver, needs, status, asked_by, asked_at, remind_at)
           VALUES ($1, $2, $3, 'pending', $4, $5, $6) RETURNING {APPROVAL_COLUMNS}"#
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case.0)
        .bind(approver)
        .bind(needs)
        .bind(by)
        .bind(now)
        .bind(remind_at.map(|r| r.0))
        .fetch_one(&mut **tx)
        .await?;
    approval_of(&row)
}

/// The approval with row id `id`.
///
/// # Errors
/// Database failure.
pub async fn approval(tx: &mut Tx, id: i64) -> Result<Option<Approval>, Error> {
    let sql = format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(approval_of).transpose()
}

/// The approvals of `case`, oldest first.
///
/// # Errors
/// Database failure.
pub async fn approvals_of(tx: &mut Tx, case: CaseId) -> Result<Vec<Approval>, Error> {
    let sql = format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE case_id = $1 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case.0)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(approval_of).collect()
}

/// The approvals of `case` as `cases show` lists them.
///
/// # Errors
/// Database failure.
pub async fn approval_rows(pool: &sqlx::AnyPool, case: CaseId) -> Result<Vec<Approval>, Error> {
    let mut tx = pool.begin().await?;
    let rows = approvals_of(&mut tx, case).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Records an approver's answer, or that the request was decided without it; false when the
/// approval was no longer pending.
///
/// # Errors
/// Database failure.
pub async fn answer_approval(
    tx: &mut Tx,
    id: i64,
    (status, reason): (&str, Option<&str>),
    now: Millis,
) -> Result<bool, Error> {
    let done = sqlx::query(
        r#"UPDATE approvals SET status = $2, reason = $3, answered_at = $4, remind_at = NULL
           WHERE id = $1 AND status = 'pending'"#,
    )
    .bind(id)
    .bind(status)
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Pending approvals whose reminder is due at `now`, oldest first, at most `limit`.
///
/// # Errors
/// Database failure.
pub async fn reminders_due(
    pool: &sqlx::AnyPool,
    now: Millis,
    limit: i64,
) -> Result<Vec<Approval>, Error> {
    let sql = format!(
        r#"SELECT {APPROVAL_COLUMNS} FROM approvals
           WHERE status = 'pending' AND remind_at IS NOT NULL AND remind_at <= $1
           ORDER BY remind_at, id LIMIT $2"#
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(approval_of).collect()
}

/// Claims the reminder due for `a`: counts it and sets when the next is due (`None`: no more).
/// False when it is no longer due as read (answered, or another instance sent it).
///
/// # Errors
/// Database failure.
pub async fn reminded(tx: &mut Tx, a: &Approval, next: Option<Millis>) -> Result<bool, Error> {
    let claimed = sqlx::query(
        r#"UPDATE approvals SET reminders = reminders + 1, remind_at = $2
           WHERE id = $1 AND status = 'pending' AND remind_at = $3"#,
    )
    .bind(a.id)
    .bind(next.map(|n| n.0))
    .bind(a.remind_at.map(|r| r.0))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// When the next approval reminder is due, for the scheduler's sleep.
///
/// # Errors
/// Database failure.
pub async fn next_reminder(pool: &sqlx::AnyPool) -> Result<Option<Millis>, Error> {
    let at: Option<i64> = sqlx::query(
        r#"SELECT MIN(remind_at) FROM approvals WHERE status = 'pending' AND remind_at IS NOT NULL"#,
    )
    .fetch_one(pool)
    .await?
    .try_get(0)?;
    Ok(at.map(Millis))
}

/// Stores the customer's rating of the case's resolution (the last one counts).
///
/// # Errors
/// Database failure.
pub async fn rate(tx: &mut Tx, case: CaseId, score: u8, now: Millis) -> Result<(), Error> {
    sqlx::query(r#"UPDATE cases SET rating = $2, rated_at = $3 WHERE id = $1"#)
        .bind(case.0)
        .bind(i64::from(score))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The case's rating, if the customer gave one.
///
/// # Errors
/// Database failure.
pub async fn rating(pool: &sqlx::AnyPool, case: CaseId) -> Result<Option<u8>, Error> {
    let r: Option<i64> = sqlx::query(r#"SELECT rating FROM cases WHERE id = $1"#)
        .bind(case.0)
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    Ok(r.and_then(|r| u8::try_from(r).ok()))
}

/// How many cases of a category and team were rated each score, from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingCount {
    pub category: String,
    pub team: Option<String>,
    pub score: u8,
    pub cases: i64,
}

/// Rated cases counted per category, team and score, for those created in `[from, to)`.
///
/// # Errors
/// Database failure.
pub async fn rating_counts(
    pool: &sqlx::AnyPool,
    (from, to): (Millis, Millis),
) -> Result<Vec<RatingCount>, Error> {
    sqlx::query(
        r#"SELECT category, team, rating, COUNT(*) FROM cases
           WHERE rating IS NOT NULL AND created_at >= $1 AND created_at < $2
           GROUP BY category, team, rating ORDER BY category, team, rating"#,
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(RatingCount {
            category: r.try_get(0)?,
            team: r.try_get(1)?,
            score: u8::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
            cases: r.try_get(3)?,
        })
    })
    .collect()
}

/// Stores what is known of a conference request's event (JSON).
///
/// # Errors
/// Database failure.
pub async fn set_event(tx: &mut Tx, case: CaseId, event: &str) -> Result<(), Error> {
    sqlx::query(r#"UPDATE cases SET event = $2 WHERE id = $1"#)
        .bind(case.0)
        .bind(event)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What is known of a case's event (JSON), if it is a conference request.
///
/// # Errors
/// Database failure.
pub async fn event(tx: &mut Tx, case: CaseId) -> Result<Option<String>, Error> {
    Ok(sqlx::query(r#"SELECT event FROM cases WHERE id = $1"#)
        .bind(case.0)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?)
}
