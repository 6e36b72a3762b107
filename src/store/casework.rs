//! What technicians change on a case: its working state (status, assignment, priority,
//! category, type, resolution), read and written whole, plus links between cases
//! and what a merge moves.

use serde::Serialize;
use sqlx::Row;

use super::due::{self, active, Due};
use super::{Error, Store, Tx};
use crate::classify::Level;
use crate::lifecycle::Life;
use crate::model::{ms_of, span_of_ms};
use crate::model::{CaseId, CaseType, Millis, Status, TicketNo};
use crate::sla::{self, Target};

/// The working state of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    /// The case.
    pub id: CaseId,
    pub ticket: TicketNo,
    /// The customer's subject.
    pub subject: String,
    /// The requester's address.
    pub requester: String,
    /// The requester's name.
    pub requester_name: Option<String>,
    pub status: Status,
    /// Why it is pending (`vendor: part ordered`).
    pub pending_reason: Option<String>,
    /// ITIL type.
    pub case_type: CaseType,
    /// Category id.
    pub category: String,
    /// Priority level.
    pub priority: u8,
    /// Resolution target.
    pub target: Option<Target>,
    pub team: Option<String>,
    /// The technician it is assigned to.
    pub assignee: Option<String>,
    /// The resolution text.
    pub resolution: Option<String>,
    /// When it was last resolved.
    pub resolved_at: Option<Millis>,
    /// When a resolved case closes by itself.
    pub close_at: Option<Millis>,
    /// When it closed.
    pub closed_at: Option<Millis>,
    /// The resolution clock.
    pub clock: sla::Resolution,
    /// The first-response clock.
    pub first_response: sla::FirstResponse,
    /// When the next weekly status note is due.
    pub follow_up_at: Option<Millis>,
    /// When it was opened.
    pub created_at: Millis,
    /// How widely it hurts.
    pub impact: Option<Level>,
    /// How soon it hurts.
    pub urgency: Option<Level>,
    /// The priority was chosen by hand (`/priority`): impact and urgency no longer move it.
    pub priority_override: bool,
}

impl CaseState {
    /// The parts the status machine works on.
    pub fn life(&self) -> Life {
        Life {
            status: self.status,
            pending_reason: self.pending_reason.clone(),
            resolution: self.resolution.clone(),
            resolved_at: self.resolved_at,
            close_at: self.close_at,
            closed_at: self.closed_at,
        }
    }

    /// Takes the priority impact × urgency gave, if it moved.
    pub fn assessed(&mut self, priority: Option<(u8, Option<Target>)>) {
        if let Some((level, target)) = priority {
            self.priority = level;
            self.target = target;
        }
    }

    /// Takes the status machine's result.
    pub fn set_life(&mut self, life: Life) {
        self.status = life.status;
        self.pending_reason = life.pending_reason;
        self.resolution = life.resolution;
        self.resolved_at = life.resolved_at;
        self.close_at = life.close_at;
        self.closed_at = life.closed_at;
    }
}

/// The columns [`state`] reads, in order.
const STATE_COLUMNS: &str =
    "id, ticket, subject, requester, requester_name, status, pending_reason,
    case_type, category, priority, target_secs, team, assignee, resolution, target_clock,
    resolved_at, close_at, closed_at, clock_since, clock_used_real_ms, clock_used_work_ms, due_at,
    warn_at, sla_stage, breached_at, first_response_due_at, first_response_warn_at,
    first_response_at, first_response_stage, first_response_breached_at, follow_up_at, created_at,
    impact, urgency, priority_override";

/// A case's working state from a row of [`STATE_COLUMNS`].
///
/// # Errors
/// A stored value that does not parse.
pub fn state_of(r: &sqlx::any::AnyRow) -> Result<CaseState, Error> {
    let status: String = r.try_get(5)?;
    let case_type: String = r.try_get(7)?;
    let priority: i64 = r.try_get(9)?;
    let clock: Option<String> = r.try_get(14)?;
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
        target: Target::from_columns(r.try_get(10)?, clock.as_deref()).map_err(Error::Corrupt)?,
        team: r.try_get(11)?,
        assignee: r.try_get(12)?,
        resolution: r.try_get(13)?,
        resolved_at: r.try_get(15)?,
        close_at: r.try_get(16)?,
        closed_at: r.try_get(17)?,
        clock: sla::Resolution {
            since: r.try_get(18)?,
            used_real: span(r, 19)?,
            used_work: span(r, 20)?,
            due_at: r.try_get(21)?,
            warn_at: r.try_get(22)?,
            stage: stage(r, 23)?,
            breached_at: r.try_get(24)?,
        },
        first_response: sla::FirstResponse {
            due_at: r.try_get(25)?,
            warn_at: r.try_get(26)?,
            at: r.try_get(27)?,
            stage: stage(r, 28)?,
            breached_at: r.try_get(29)?,
        },
        follow_up_at: r.try_get(30)?,
        created_at: r.try_get(31)?,
        impact: level(r, 32)?,
        urgency: level(r, 33)?,
        priority_override: r.try_get::<i64, _>(34)? != 0,
    })
}

/// An impact or urgency in column `i`.
fn level(r: &sqlx::any::AnyRow, i: usize) -> Result<Option<Level>, Error> {
    r.try_get::<Option<String>, _>(i)?
        .map(|t| t.parse().map_err(Error::Corrupt))
        .transpose()
}

/// The SLA stage in column `i`.
fn stage(r: &sqlx::any::AnyRow, i: usize) -> Result<sla::Stage, Error> {
    sla::Stage::from_stored(r.try_get(i)?).map_err(Error::Corrupt)
}

/// A stored span in milliseconds; a negative one is corrupt.
fn span(r: &sqlx::any::AnyRow, i: usize) -> Result<std::time::Duration, Error> {
    let ms: i64 = r.try_get(i)?;
    if ms < 0 {
        return Err(Error::Corrupt(format!("a negative span of {ms} ms")));
    }
    Ok(span_of_ms(ms))
}

/// Reads a case's working state.
///
/// # Errors
/// Database failure, or a stored value that does not parse.
pub async fn state(tx: &mut Tx, case: CaseId) -> Result<CaseState, Error> {
    let sql = format!("SELECT {STATE_COLUMNS} FROM cases WHERE id = $1");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case.0)
        .fetch_one(&mut **tx)
        .await?;
    state_of(&r)
}

/// The working state of every case `due` selects (its condition SQL written by the program,
/// never from input, on `cases` with `$1` bound to `now` and `$2`… to `binds`), oldest first,
/// at most `limit`: what the scheduler works through, read from the condition's own index.
///
/// # Errors
/// Database failure, or a stored value that does not parse.
pub async fn due(
    store: &Store,
    due: &Due<impl AsRef<str>>,
    binds: &[&str],
    now: Millis,
    limit: i64,
) -> Result<Vec<CaseState>, Error> {
    // `+id`: the order is the case's, but not to be read along the primary key, which would
    // walk every case looking for the few due; the condition's own index finds them.
    let sql = format!(
        "SELECT {STATE_COLUMNS} FROM cases {} WHERE {} ORDER BY +id LIMIT {limit}",
        store.indexed_by(due.index),
        due.condition.as_ref()
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_all(&store.pool)
        .await?
        .iter()
        .map(state_of)
        .collect()
}

/// The active cases of `category` (the uncategorized queue), oldest first.
///
/// # Errors
/// Database failure, or a stored value that does not parse.
pub async fn uncategorized(tx: &mut Tx, category: &str) -> Result<Vec<CaseState>, Error> {
    let sql = format!(
        "SELECT {STATE_COLUMNS} FROM cases WHERE category = $1 AND {} ORDER BY id",
        active!()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(category)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(state_of)
        .collect()
}

/// The earliest time any clock of any case runs out: a reopen deadline, an SLA warning or
/// target not yet sent, a follow-up of a case in `follow_up_scope` (SQL written by the program,
/// with `binds` from `$1`: the scheduler's own follow-up condition, so a case it would never
/// claim is never waited for). `None` when nothing waits.
///
/// # Errors
/// Database failure.
pub async fn next_due(
    store: &Store,
    follow_up_scope: &str,
    binds: &[&str],
) -> Result<Option<Millis>, Error> {
    let by = |d: Due| store.indexed_by(d.index);
    let sql = format!(
        r#"SELECT
             (SELECT MIN(close_at) FROM cases {close} WHERE status = 'resolved'),
             (SELECT MIN(warn_at) FROM cases {warn} WHERE sla_stage < 1),
             (SELECT MIN(due_at) FROM cases {breach} WHERE sla_stage < 2),
             (SELECT MIN(first_response_warn_at) FROM cases {fr_warn}
               WHERE first_response_at IS NULL AND first_response_stage < 1 AND {active}),
             (SELECT MIN(first_response_due_at) FROM cases {fr_breach}
               WHERE first_response_at IS NULL AND first_response_stage < 2 AND {active}),
             (SELECT MIN(follow_up_at) FROM cases {follow_up} WHERE {follow_up_scope})"#,
        close = by(due::CLOSE),
        warn = by(due::RESOLUTION_WARNING),
        breach = by(due::RESOLUTION_BREACH),
        fr_warn = by(due::FIRST_RESPONSE_WARNING),
        fr_breach = by(due::FIRST_RESPONSE_BREACH),
        follow_up = store.indexed_by(due::FOLLOW_UP_INDEX),
        active = active!()
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(*b);
    }
    let r = q.fetch_one(&store.pool).await?;
    let mut next: Option<Millis> = None;
    for i in 0..6 {
        if let Some(at) = r.try_get::<Option<Millis>, _>(i)? {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    Ok(next)
}

/// Writes a case's working state back, and marks it changed now.
///
/// # Errors
/// Database failure.
pub async fn save(tx: &mut Tx, c: &CaseState, now: Millis) -> Result<(), Error> {
    sqlx::query(
        r#"UPDATE cases SET status = $2, pending_reason = $3, case_type = $4, category = $5,
               priority = $6, target_secs = $7, team = $8, assignee = $9, resolution = $10,
               updated_at = $11, target_clock = $12, resolved_at = $13, close_at = $14,
               closed_at = $15, clock_since = $16, clock_used_real_ms = $17, clock_used_work_ms = $18,
               due_at = $19, warn_at = $20, sla_stage = $21, breached_at = $22,
               first_response_due_at = $23, first_response_warn_at = $24,
               first_response_at = $25, first_response_stage = $26,
               first_response_breached_at = $27, follow_up_at = $28, impact = $29,
               urgency = $30, priority_override = $31
           WHERE id = $1"#,
    )
    .bind(c.id.0)
    .bind(c.status.as_str())
    .bind(c.pending_reason.as_deref())
    .bind(c.case_type.as_str())
    .bind(c.category.as_str())
    .bind(i64::from(c.priority))
    .bind(c.target.map(|t| t.secs()))
    .bind(c.team.as_deref())
    .bind(c.assignee.as_deref())
    .bind(c.resolution.as_deref())
    .bind(now)
    .bind(c.target.map(|t| t.clock.as_str()))
    .bind(c.resolved_at)
    .bind(c.close_at)
    .bind(c.closed_at)
    .bind(c.clock.since)
    .bind(ms_of(c.clock.used_real))
    .bind(ms_of(c.clock.used_work))
    .bind(c.clock.due_at)
    .bind(c.clock.warn_at)
    .bind(c.clock.stage.stored())
    .bind(c.clock.breached_at)
    .bind(c.first_response.due_at)
    .bind(c.first_response.warn_at)
    .bind(c.first_response.at)
    .bind(c.first_response.stage.stored())
    .bind(c.first_response.breached_at)
    .bind(c.follow_up_at)
    .bind(c.impact.map(Level::as_str))
    .bind(c.urgency.map(Level::as_str))
    .bind(i64::from(c.priority_override))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The ticket of a case.
///
/// # Errors
/// Database failure.
pub async fn ticket_of(tx: &mut Tx, case: CaseId) -> Result<TicketNo, Error> {
    let ticket: String = sqlx::query(r#"SELECT ticket FROM cases WHERE id = $1"#)
        .bind(case.0)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    Ok(TicketNo::from_string(ticket))
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

/// Links two cases both ways (`related`, `duplicate`, or `problem`/`incident` for a problem and
/// its incident), with why when helpdesk found the link itself; an existing link is kept.
///
/// # Errors
/// Database failure.
pub async fn link(
    tx: &mut Tx,
    (a, a_kind): (CaseId, &str),
    (b, b_kind): (CaseId, &str),
    why: Option<&str>,
    now: Millis,
) -> Result<(), Error> {
    // Each row says what the linked case is to this one.
    for (case, linked, kind) in [(a, b, b_kind), (b, a, a_kind)] {
        sqlx::query(
            r#"INSERT INTO case_links (case_id, linked_id, kind, created_at, why)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (case_id, linked_id) DO NOTHING"#,
        )
        .bind(case.0)
        .bind(linked.0)
        .bind(kind)
        .bind(now)
        .bind(why)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// What a problem case records about its cause (the incident SOP's known errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// `/rootcause`.
    RootCause,
    /// `/workaround`.
    Workaround,
}

/// Records a problem case's root cause or workaround, replacing the one before.
///
/// # Errors
/// Database failure.
pub async fn record(tx: &mut Tx, case: CaseId, what: Finding, text: &str) -> Result<(), Error> {
    let sql = match what {
        Finding::RootCause => "UPDATE cases SET root_cause = $2 WHERE id = $1",
        Finding::Workaround => "UPDATE cases SET workaround = $2 WHERE id = $1",
    };
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case.0)
        .bind(text)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Folds case `from` into `into`: its messages and open tasks move there, its requester and
/// participants become the survivor's participants, and it points at the survivor, so later
/// replies to its thread join the survivor. Returns how many messages moved. The caller closes
/// `from` and records the merge.
///
/// # Errors
/// Database failure.
pub async fn merge(tx: &mut Tx, from: CaseId, into: CaseId, now: Millis) -> Result<u64, Error> {
    let moved = sqlx::query(r#"UPDATE messages SET case_id = $2 WHERE case_id = $1"#)
        .bind(from.0)
        .bind(into.0)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    sqlx::query(
        r#"INSERT INTO participants (case_id, address)
           SELECT $2, p.address FROM (
               SELECT address FROM participants WHERE case_id = $1
               UNION SELECT requester FROM cases WHERE id = $1
           ) AS p WHERE true
           ON CONFLICT (case_id, address) DO NOTHING"#,
    )
    .bind(from.0)
    .bind(into.0)
    .execute(&mut **tx)
    .await?;
    super::requests::move_open_tasks(tx, from, into).await?;
    sqlx::query(r#"UPDATE cases SET merged_into = $2, updated_at = $3 WHERE id = $1"#)
        .bind(from.0)
        .bind(into.0)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    link(tx, (from, "merged"), (into, "survivor"), None, now).await?;
    Ok(moved)
}

/// The case a merged case was folded into, if it was.
///
/// # Errors
/// Database failure.
pub async fn merged_into(tx: &mut Tx, case: CaseId) -> Result<Option<CaseId>, Error> {
    Ok(
        sqlx::query(r#"SELECT merged_into FROM cases WHERE id = $1"#)
            .bind(case.0)
            .fetch_one(&mut **tx)
            .await?
            .try_get::<Option<i64>, _>(0)?
            .map(CaseId),
    )
}

/// The newest open case linked as `kind` (what it is to them: `major`, `problem`) to any of
/// `cases` that satisfies `condition` (SQL written by the program, on `m`), with its subject
/// and workaround: the major incident or problem a new report joins. One statement.
///
/// # Errors
/// Database failure.
pub async fn open_parent(
    tx: &mut Tx,
    cases: &[CaseId],
    kind: &str,
    condition: &str,
) -> Result<Option<(CaseId, TicketNo, String, Option<String>)>, Error> {
    if cases.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT m.id, m.ticket, m.subject, m.workaround FROM case_links l
         JOIN cases m ON m.id = l.linked_id
         WHERE l.case_id IN ({}) AND l.kind = $1 AND m.{} AND {condition}
         ORDER BY m.id DESC LIMIT 1",
        super::placeholders_from(2, cases.len()),
        active!()
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(kind);
    for c in cases {
        q = q.bind(c.0);
    }
    q.fetch_optional(&mut **tx)
        .await?
        .map(|r| {
            Ok((
                CaseId(r.try_get(0)?),
                TicketNo::from_string(r.try_get::<String, _>(1)?),
                r.try_get(2)?,
                r.try_get(3)?,
            ))
        })
        .transpose()
}

/// The active cases linked to `case` as `kinds`, with who asked and when: the reports a major
/// incident may be raised from. One statement.
///
/// # Errors
/// Database failure.
pub async fn linked_reports(
    tx: &mut Tx,
    case: CaseId,
    kinds: &[&str],
) -> Result<Vec<(CaseId, String, Millis)>, Error> {
    let sql = format!(
        "SELECT c.id, c.requester, c.created_at FROM case_links l JOIN cases c ON c.id = l.linked_id
         WHERE l.case_id = $1 AND l.kind IN ({}) AND c.{} ORDER BY c.id",
        super::placeholders_from(2, kinds.len()),
        active!()
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(case.0);
    for k in kinds {
        q = q.bind(*k);
    }
    q.fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((CaseId(r.try_get(0)?), r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// Marks a case as a major incident.
///
/// # Errors
/// Database failure.
pub async fn mark_major(tx: &mut Tx, case: CaseId) -> Result<(), Error> {
    sqlx::query(r#"UPDATE cases SET major = 1 WHERE id = $1"#)
        .bind(case.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The open major incident `case` is, or belongs to (linked as one of its incidents), if any.
///
/// # Errors
/// Database failure.
pub async fn open_major(tx: &mut Tx, case: CaseId) -> Result<Option<(CaseId, TicketNo)>, Error> {
    let sql = format!(
        "SELECT m.id, m.ticket FROM cases m
         WHERE m.major = 1 AND m.{active} AND (m.id = $1 OR m.id IN (
             SELECT l.linked_id FROM case_links l WHERE l.case_id = $1 AND l.kind = 'major'))
         ORDER BY m.id LIMIT 1",
        active = active!()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case.0)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| {
            Ok((
                CaseId(r.try_get(0)?),
                TicketNo::from_string(r.try_get::<String, _>(1)?),
            ))
        })
        .transpose()
}

/// Whether a case is a major incident.
///
/// # Errors
/// Database failure.
pub async fn is_major(tx: &mut Tx, case: CaseId) -> Result<bool, Error> {
    let major: i64 = sqlx::query(r#"SELECT major FROM cases WHERE id = $1"#)
        .bind(case.0)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    Ok(major != 0)
}

/// The cases linked to `case` as `kinds` (what they are to it), oldest first, with only the
/// active ones when `active_only`.
///
/// # Errors
/// Database failure.
pub async fn linked(
    tx: &mut Tx,
    case: CaseId,
    kinds: &[&str],
    active_only: bool,
) -> Result<Vec<CaseId>, Error> {
    let sql = format!(
        "SELECT c.id FROM case_links l JOIN cases c ON c.id = l.linked_id
         WHERE l.case_id = $1 AND l.kind IN ({}) {} ORDER BY c.id",
        super::placeholders_from(2, kinds.len()),
        if active_only {
            concat!("AND c.", active!())
        } else {
            ""
        }
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(case.0);
    for k in kinds {
        q = q.bind(*k);
    }
    q.fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok(CaseId(r.try_get(0)?)))
        .collect()
}

/// An open case that a new one may repeat: who asked, when, and what they wrote first.
#[derive(Debug, Clone)]
pub struct Recent {
    pub id: CaseId,
    pub ticket: TicketNo,
    /// The requester, lower-case.
    pub requester: String,
    /// When it was opened.
    pub created_at: Millis,
    /// Its terms as stored when it was opened, or (opened before they were) its subject and
    /// first message's text to work them out from.
    pub terms: Result<String, (String, String)>,
}

/// The active cases of `category` opened since `since`, newest first, at most `limit`, but
/// `except` and major incidents (which are not reports of their own).
///
/// Each new case is compared with these, so they come as one row, not one row each: rows cost
/// more than the work of finding them. The subject and first message are read only for cases
/// opened before terms were stored, in a second statement.
///
/// # Errors
/// Database failure.
pub async fn recent(
    tx: &mut Tx,
    category: &str,
    since: Millis,
    except: CaseId,
    limit: i64,
) -> Result<Vec<Recent>, Error> {
    // Each case: `id created_at ticket n requester flag terms`, n being the requester's length
    // in bytes (an address may hold any character) and flag `+` when terms are stored; a line
    // apiece (neither a ticket nor terms holds a line break).
    let sql = format!(
        "SELECT string_agg(
                    CAST(c.id AS TEXT) || ' ' || CAST(c.created_at AS TEXT) || ' ' || c.ticket
                    || ' ' || CAST(OCTET_LENGTH(c.requester) AS TEXT) || ' ' || c.requester || ' '
                    || COALESCE('+' || c.terms, '-'),
                    '\n' ORDER BY c.created_at DESC, c.id DESC)
         FROM (SELECT id, created_at, ticket, requester, terms FROM cases
               WHERE category = $1 AND created_at >= $2 AND id <> $3 AND major = 0 AND {}
               ORDER BY created_at DESC, id DESC LIMIT {limit}) c",
        active!()
    );
    let packed: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(category)
        .bind(since)
        .bind(except.0)
        .fetch_one(&mut **tx)
        .await?;
    let mut found = match packed.as_deref().map(unpack_recent) {
        None => return Ok(Vec::new()),
        Some(Some(found)) => found,
        Some(None) => {
            // Only a hand-edited row gets here; linking is a help, never a reason to stop.
            tracing::warn!(category, "the recent cases of this category could not be read back; the new case is not compared with them");
            return Ok(Vec::new());
        }
    };
    let legacy: Vec<i64> = found
        .iter()
        .filter(|r| r.terms.is_err())
        .map(|r| r.id.0)
        .collect();
    if legacy.is_empty() {
        return Ok(found);
    }
    let sql = format!(
        "SELECT c.id, c.subject,
                (SELECT m.body FROM messages m WHERE m.case_id = c.id ORDER BY m.id LIMIT 1)
         FROM cases c WHERE c.id IN ({})",
        super::placeholders(legacy.len())
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in &legacy {
        q = q.bind(id);
    }
    for r in q.fetch_all(&mut **tx).await? {
        let id: i64 = r.try_get(0)?;
        let text = (
            r.try_get(1)?,
            r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
        );
        if let Some(f) = found.iter_mut().find(|f| f.id.0 == id) {
            f.terms = Err(text);
        }
    }
    Ok(found)
}

/// The cases [`recent`]'s one row packs, in order; `None` when it is not such a row.
fn unpack_recent(mut rest: &str) -> Option<Vec<Recent>> {
    let mut found = Vec::new();
    while !rest.is_empty() {
        let mut field = || {
            let (f, tail) = rest.split_once(' ')?;
            rest = tail;
            Some(f)
        };
        let id = CaseId(field()?.parse().ok()?);
        let created_at = Millis(field()?.parse().ok()?);
        let ticket = TicketNo::from_string(field()?.to_owned());
        let bytes: usize = field()?.parse().ok()?;
        let requester = rest.get(..bytes)?.to_owned();
        let tail = rest.get(bytes..)?.strip_prefix(' ')?;
        let (line, next) = tail.split_once('\n').unwrap_or((tail, ""));
        rest = next;
        let terms = match line.split_at_checked(1)? {
            ("+", terms) => Ok(terms.to_owned()),
            ("-", "") => Err((String::new(), String::new())),
            _ => return None,
        };
        found.push(Recent {
            id,
            ticket,
            requester,
            created_at,
            terms,
        });
    }
    Some(found)
}

/// Links `case` both ways with each of `others` (its id, what the two are to each other, and
/// why), in one statement; existing links are kept.
///
/// # Errors
/// Database failure.
pub async fn link_many(
    tx: &mut Tx,
    case: CaseId,
    others: &[(CaseId, &str, &str)],
    now: Millis,
) -> Result<(), Error> {
    if others.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = (0..others.len() * 2)
        .map(|i| {
            format!(
                "(${}, ${}, ${}, $1, ${})",
                4 * i + 2,
                4 * i + 3,
                4 * i + 4,
                4 * i + 5
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO case_links (case_id, linked_id, kind, created_at, why) VALUES {}
         ON CONFLICT (case_id, linked_id) DO NOTHING",
        values.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for (other, kind, why) in others {
        q = q.bind(case.0).bind(other.0).bind(*kind).bind(*why);
        q = q.bind(other.0).bind(case.0).bind(*kind).bind(*why);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// A linked case as shown.
#[derive(Debug, Clone, Serialize)]
pub struct LinkRow {
    /// The other case's ticket.
    pub ticket: String,
    /// What it is to this case: `related`, `duplicate`, `problem` or `incident`.
    pub kind: String,
    pub status: String,
    /// Why helpdesk linked them, when it did: the shared terms and the time apart.
    pub why: Option<String>,
}

/// The cases linked to `case`.
///
/// # Errors
/// Database failure.
pub async fn links(pool: &sqlx::AnyPool, case: CaseId) -> Result<Vec<LinkRow>, Error> {
    sqlx::query(
        r#"SELECT c.ticket, l.kind, c.status, l.why FROM case_links l
           JOIN cases c ON c.id = l.linked_id WHERE l.case_id = $1 ORDER BY c.id"#,
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
            why: r.try_get(3)?,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::cases::{self, NewCase};
    use crate::store::testing::stores;

    /// The recent cases come back whole from their one packed row, whatever their requesters'
    /// addresses hold (spaces, line breaks, a NUL, the row's own separators, non-ASCII), newest
    /// first, without the case asking, without cases of other categories or outside the window;
    /// a case stored without terms comes with its subject and first message's text instead.
    #[tokio::test]
    async fn recent_cases_come_back_whole_from_one_row() {
        for t in stores().await {
            let mut tx = t.store.pool.begin().await.unwrap();
            // PostgreSQL's text holds no NUL.
            let nul = match t.store.backend {
                crate::store::Backend::Sqlite => "nul\0inside 12 + - @x.test",
                crate::store::Backend::Postgres => "no nul 12 + - @x.test",
            };
            let requesters = [
                "plain@customer.example.test",
                "with space\nand line@x.test",
                nul,
                "zoë@exämple.test",
                "older@customer.example.test",
            ];
            let mut ids = Vec::new();
            for (i, requester) in requesters.iter().enumerate() {
                let ticket = TicketNo::new("HD", i as i64 + 1);
                let legacy = i == 1;
                let new = NewCase {
                    ticket: &ticket,
                    subject: "VPN down",
                    requester,
                    requester_name: None,
                    case_type: CaseType::Incident,
                    category: if i == 2 { "network" } else { "break_fix" },
                    priority: 3,
                    team: None,
                    rule: None,
                    target: None,
                    previous: None,
                    clock: sla::Resolution::default(),
                    first_response: sla::FirstResponse::default(),
                    follow_up_at: None,
                    impact: None,
                    urgency: None,
                    terms: (!legacy).then_some("disconnect vpn ~network"),
                };
                // The last is the oldest, opened before the window.
                let at = Millis(if i == 4 { 1_000 } else { 10_000 + i as i64 });
                ids.push(cases::insert(&mut tx, &new, at).await.unwrap());
            }
            let found = recent(&mut tx, "break_fix", Millis(5_000), CaseId(-1), 50)
                .await
                .unwrap();
            let seen: Vec<(CaseId, &str, &str)> = found
                .iter()
                .map(|r| (r.id, r.ticket.as_str(), r.requester.as_str()))
                .collect();
            assert_eq!(
                seen,
                [
                    (ids[3], "HD-000004", requesters[3]),
                    (ids[1], "HD-000002", requesters[1]),
                    (ids[0], "HD-000001", requesters[0]),
                ]
            );
            assert_eq!(found[0].created_at, Millis(10_003));
            assert_eq!(found[0].terms, Ok("disconnect vpn ~network".to_owned()));
            assert_eq!(found[1].terms, Err(("VPN down".to_owned(), String::new())));
            let network = recent(&mut tx, "network", Millis(0), CaseId(-1), 50)
                .await
                .unwrap();
            assert_eq!(network.len(), 1);
            assert_eq!(network[0].requester, requesters[2]);
            let asking = recent(&mut tx, "break_fix", Millis(5_000), ids[3], 1)
                .await
                .unwrap();
            assert_eq!(asking.len(), 1, "the limit holds");
            assert_eq!(asking[0].id, ids[1], "the case asking is left out");
            let none = recent(&mut tx, "hardware", Millis(0), CaseId(-1), 50)
                .await
                .unwrap();
            assert!(none.is_empty());
            drop(tx);
            t.cleanup().await;
        }
    }

    #[test]
    fn a_row_that_is_not_packed_cases_reads_as_none() {
        assert!(
            unpack_recent("1 2 HD-1 9 a@b +x").is_none(),
            "length past the end"
        );
        assert!(
            unpack_recent("1 2 HD-1 5 a@b.c ?x").is_none(),
            "unknown flag"
        );
        assert!(
            unpack_recent("x 2 HD-1 5 a@b.c +x").is_none(),
            "id not a number"
        );
        assert!(
            unpack_recent("1 2 HD-1 5 a@b.c -x").is_none(),
            "legacy with terms"
        );
        let one = unpack_recent("7 9 HD-000001 5 a@b.c +x y").unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].terms, Ok("x y".to_owned()));
    }
}
