//! What technicians change on a case: its working state (status, assignment, priority,
//! category, type, resolution), read and written whole, plus links between cases and tasks
//! for other teams.

use serde::Serialize;
use sqlx::Row;

use super::{format_ms, Error, Tx};
use crate::model::{CaseId, CaseType, Status, TicketNo};

/// The working state of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    /// The case.
    pub id: CaseId,
    /// Its ticket.
    pub ticket: TicketNo,
    /// The customer's subject.
    pub subject: String,
    /// The requester's address.
    pub requester: String,
    /// The requester's name.
    pub requester_name: Option<String>,
    /// Status.
    pub status: Status,
    /// Why it is pending (`vendor: part ordered`).
    pub pending_reason: Option<String>,
    /// ITIL type.
    pub case_type: CaseType,
    /// Category id.
    pub category: String,
    /// Priority level.
    pub priority: u8,
    /// Resolution target in seconds.
    pub target_secs: Option<i64>,
    /// The team.
    pub team: Option<String>,
    /// The technician it is assigned to.
    pub assignee: Option<String>,
    /// The resolution text.
    pub resolution: Option<String>,
}

/// Reads a case's working state.
///
/// # Errors
/// Database failure, or a stored value that does not parse.
pub async fn state(tx: &mut Tx, case: CaseId) -> Result<CaseState, Error> {
    let r = sqlx::query(
        r#"SELECT id, ticket, subject, requester, requester_name, status, pending_reason,
                  case_type, category, priority, target_secs, team, assignee, resolution
           FROM cases WHERE id = $1"#,
    )
    .bind(case.0)
    .fetch_one(&mut **tx)
    .await?;
    let status: String = r.try_get(5)?;
    let case_type: String = r.try_get(7)?;
    let priority: i64 = r.try_get(9)?;
    Ok(CaseState {
        id: CaseId(r.try_get(0)?),
        ticket: TicketNo::from_string(r.try_get::<String, _>(1)?),
        subject: r.try_get(2)?,
        requester: r.try_get(3)?,
        requester_name: r.try_get(4)?,
        status: status.parse().map_err(Error::Corrupt)?,
        pending_reason: r.try_get(6)?,
        case_type: case_type.parse().map_err(Error::Corrupt)?,
        category: r.try_get(8)?,
        priority: u8::try_from(priority).map_err(|e| Error::Corrupt(e.to_string()))?,
        target_secs: r.try_get(10)?,
        team: r.try_get(11)?,
        assignee: r.try_get(12)?,
        resolution: r.try_get(13)?,
    })
}

/// Writes a case's working state back, and marks it changed now.
///
/// # Errors
/// Database failure.
pub async fn save(tx: &mut Tx, c: &CaseState, now: i64) -> Result<(), Error> {
    sqlx::query(
        r#"UPDATE cases SET status = $2, pending_reason = $3, case_type = $4, category = $5,
               priority = $6, target_secs = $7, team = $8, assignee = $9, resolution = $10,
               updated_at = $11
           WHERE id = $1"#,
    )
    .bind(c.id.0)
    .bind(c.status.as_str())
    .bind(c.pending_reason.as_deref())
    .bind(c.case_type.as_str())
    .bind(c.category.as_str())
    .bind(i64::from(c.priority))
    .bind(c.target_secs)
    .bind(c.team.as_deref())
    .bind(c.assignee.as_deref())
    .bind(c.resolution.as_deref())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The id of the case with this ticket.
///
/// # Errors
/// Database failure.
pub async fn id_of(tx: &mut Tx, ticket: &TicketNo) -> Result<Option<CaseId>, Error> {
    Ok(sqlx::query(r#"SELECT id FROM cases WHERE ticket = $1"#)
        .bind(ticket.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get(0).map(CaseId))
        .transpose()?)
}

/// Links two cases both ways (`related`, or `problem`/`incident` for a problem and its
/// incident); an existing link is kept.
///
/// # Errors
/// Database failure.
pub async fn link(
    tx: &mut Tx,
    (a, a_kind): (CaseId, &str),
    (b, b_kind): (CaseId, &str),
    now: i64,
) -> Result<(), Error> {
    // Each row says what the linked case is to this one.
    for (case, linked, kind) in [(a, b, b_kind), (b, a, a_kind)] {
        sqlx::query(
            r#"INSERT INTO case_links (case_id, linked_id, kind, created_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (case_id, linked_id) DO NOTHING"#,
        )
        .bind(case.0)
        .bind(linked.0)
        .bind(kind)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Adds a task for `team`; returns its id.
///
/// # Errors
/// Database failure.
pub async fn add_task(
    tx: &mut Tx,
    case: CaseId,
    team: &str,
    text: &str,
    by: &str,
    now: i64,
) -> Result<i64, Error> {
    Ok(sqlx::query(
        r#"INSERT INTO tasks (case_id, team, text, status, created_by, created_at)
           VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id"#,
    )
    .bind(case.0)
    .bind(team)
    .bind(text)
    .bind(by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?)
}

/// A linked case as shown.
#[derive(Debug, Clone, Serialize)]
pub struct LinkRow {
    /// The other case's ticket.
    pub ticket: String,
    /// What it is to this case: `related`, `problem` or `incident`.
    pub kind: String,
    /// Its status.
    pub status: String,
}

/// A task as shown.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    /// Row id.
    pub id: i64,
    /// The team.
    pub team: String,
    /// What to do.
    pub text: String,
    /// `open`.
    pub status: String,
    /// Who created it.
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
}

/// The cases linked to `case`.
///
/// # Errors
/// Database failure.
pub async fn links(pool: &sqlx::AnyPool, case: CaseId) -> Result<Vec<LinkRow>, Error> {
    sqlx::query(
        r#"SELECT c.ticket, l.kind, c.status FROM case_links l JOIN cases c ON c.id = l.linked_id
           WHERE l.case_id = $1 ORDER BY c.id"#,
    )
    .bind(case.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(LinkRow {
            ticket: r.try_get(0)?,
            kind: r.try_get(1)?,
            status: r.try_get(2)?,
        })
    })
    .collect()
}

/// The tasks of `case`, oldest first.
///
/// # Errors
/// Database failure.
pub async fn tasks(pool: &sqlx::AnyPool, case: CaseId) -> Result<Vec<TaskRow>, Error> {
    sqlx::query(
        r#"SELECT id, team, text, status, created_by, created_at FROM tasks
           WHERE case_id = $1 ORDER BY id"#,
    )
    .bind(case.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(TaskRow {
            id: r.try_get(0)?,
            team: r.try_get(1)?,
            text: r.try_get(2)?,
            status: r.try_get(3)?,
            created_by: r.try_get(4)?,
            created_at: format_ms(r.try_get(5)?),
        })
    })
    .collect()
}
