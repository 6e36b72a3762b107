//! Cases, their participants and their append-only event log; ticket allocation; the lookups
//! threading needs.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::events::Event;
use super::{format_ms, Error, Tx};
use crate::model::{CaseId, CaseType, Millis, Status, TicketNo};
use crate::sla::{self, Target};
use crate::thread::Candidate;

/// Columns of a new case.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    /// Allocated with [`next_ticket`] in the same transaction.
    pub ticket: &'a TicketNo,
    /// The customer's subject.
    pub subject: &'a str,
    /// The customer's address.
    pub requester: &'a str,
    /// The customer's display name.
    pub requester_name: Option<&'a str>,
    /// ITIL type.
    pub case_type: CaseType,
    /// Category id.
    pub category: &'a str,
    /// Priority level.
    pub priority: u8,
    pub team: Option<&'a str>,
    /// The rule that classified it.
    pub rule: Option<&'a str>,
    /// Resolution target, when the chart has one.
    pub target: Option<Target>,
    /// A closed case this one follows up.
    pub previous: Option<CaseId>,
    /// Its resolution clock, started.
    pub clock: sla::Resolution,
    /// Its first-response clock.
    pub first_response: sla::FirstResponse,
    /// When the first weekly status note is due.
    pub follow_up_at: Option<Millis>,
    /// The impact its rule set.
    pub impact: Option<crate::classify::Level>,
    /// The urgency its rule set.
    pub urgency: Option<crate::classify::Level>,
    /// Its terms, as later cases are compared with them (`similar::Terms::stored`).
    pub terms: Option<&'a str>,
}

/// A case as listed and shown.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    /// Row id (internal).
    #[serde(skip)]
    pub id: CaseId,
    /// Ticket number.
    pub ticket: String,
    pub status: String,
    pub subject: String,
    /// Requester address.
    pub requester: String,
    /// Requester display name.
    pub requester_name: Option<String>,
    /// Category id.
    pub category: String,
    /// Priority level.
    pub priority: i64,
    /// ITIL type.
    #[serde(rename = "type")]
    pub case_type: String,
    pub team: Option<String>,
    /// The technician it is assigned to.
    pub assignee: Option<String>,
    /// Why it is pending.
    pub pending_reason: Option<String>,
    /// The resolution text.
    pub resolution: Option<String>,
    /// Classifying rule.
    pub rule: Option<String>,
    /// Resolution target in seconds.
    pub target_secs: Option<i64>,
    /// Ticket of the closed case this one follows up.
    pub previous_ticket: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// `high`, `medium` or `low`, once set.
    pub impact: Option<String>,
    /// `high`, `medium` or `low`, once set.
    pub urgency: Option<String>,
    /// The priority was chosen by hand (`/priority`) over impact and urgency.
    pub priority_override: bool,
    /// A problem case's root cause (`/rootcause`).
    pub root_cause: Option<String>,
    /// A problem case's workaround (`/workaround`).
    pub workaround: Option<String>,
    /// A major incident: its incidents are linked to it (`/major`, or raised by helpdesk).
    pub major: bool,
}

/// One entry of a case's event log.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    /// RFC 3339.
    pub at: String,
    /// Who did it: an address, or `helpdesk` for the daemon.
    pub actor: String,
    /// What happened, e.g. `created`, `message_added`.
    pub kind: String,
    /// Details as JSON.
    pub detail: serde_json::Value,
}

/// Allocates the next ticket number. The first allocation in a transaction bumps the counter
/// row, which locks it (PostgreSQL: the row; SQLite: the database) until commit; later ones in
/// the same transaction count on in memory, and [`super::Work::commit`] writes the last value.
///
/// # Errors
/// Database failure.
pub async fn next_ticket(work: &mut super::Work, prefix: &str) -> Result<TicketNo, Error> {
    let n = match work.tickets {
        Some((first, last)) => {
            work.tickets = Some((first, last + 1));
            last + 1
        }
        None => {
            let n: i64 = sqlx::query(
                r#"UPDATE counters SET value = value + 1 WHERE name = 'ticket' RETURNING value"#,
            )
            .fetch_one(&mut ***work)
            .await?
            .try_get(0)?;
            work.tickets = Some((n, n));
            n
        }
    };
    Ok(TicketNo::new(prefix, n))
}

/// Writes the last ticket number allocated in memory (see [`next_ticket`]).
///
/// # Errors
/// Database failure.
pub async fn save_ticket_counter(tx: &mut Tx, last: i64) -> Result<(), Error> {
    sqlx::query(r#"UPDATE counters SET value = $1 WHERE name = 'ticket'"#)
        .bind(last)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts a case with status `open`.
///
/// # Errors
/// Database failure (a duplicate ticket is a bug: tickets come from [`next_ticket`]).
pub async fn insert(tx: &mut Tx, c: &NewCase<'_>, now: Millis) -> Result<CaseId, Error> {
    let id: i64 = sqlx::query(
        r#"INSERT INTO cases (ticket, subject, requester, requester_name, status, case_type,
               category, priority, team, rule, target_secs, previous_case, created_at, updated_at,
               target_clock, clock_since, due_at, warn_at, first_response_due_at,
               first_response_warn_at, follow_up_at, impact, urgency, terms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13,
                   $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
           RETURNING id"#,
    )
    .bind(c.ticket.as_str())
    .bind(c.subject)
    .bind(c.requester)
    .bind(c.requester_name)
    .bind(Status::Open.as_str())
    .bind(c.case_type.as_str())
    .bind(c.category)
    .bind(i64::from(c.priority))
    .bind(c.team)
    .bind(c.rule)
    .bind(c.target.map(|t| t.secs()))
    .bind(c.previous.map(|p| p.0))
    .bind(now)
    .bind(c.target.map(|t| t.clock.as_str()))
    .bind(c.clock.since)
    .bind(c.clock.due_at)
    .bind(c.clock.warn_at)
    .bind(c.first_response.due_at)
    .bind(c.first_response.warn_at)
    .bind(c.follow_up_at)
    .bind(c.impact.map(crate::classify::Level::as_str))
    .bind(c.urgency.map(crate::classify::Level::as_str))
    .bind(c.terms)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    Ok(CaseId(id))
}

/// Marks a case as changed now.
///
/// # Errors
/// Database failure.
pub async fn touch(tx: &mut Tx, case: CaseId, now: Millis) -> Result<(), Error> {
    sqlx::query(r#"UPDATE cases SET updated_at = $2 WHERE id = $1"#)
        .bind(case.0)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records addresses allowed to write to the case; known ones are skipped. One statement.
///
/// # Errors
/// Database failure.
pub async fn add_participants(tx: &mut Tx, case: CaseId, addresses: &[&str]) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::with_capacity(addresses.len());
    let unique: Vec<&str> = addresses
        .iter()
        .copied()
        .filter(|a| seen.insert(*a))
        .collect();
    if unique.is_empty() {
        return Ok(());
    }
    let values = (0..unique.len())
        .map(|i| format!("($1, ${})", i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO participants (case_id, address) VALUES {values} ON CONFLICT (case_id, address) DO NOTHING"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(case.0);
    for a in unique {
        query = query.bind(a);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// The participants of a case who get copies of its relays (not dropped by `/uncc`), by
/// address; the requester among them.
///
/// # Errors
/// Database failure.
pub async fn copied(tx: &mut Tx, case: CaseId) -> Result<Vec<String>, Error> {
    sqlx::query(
        r#"SELECT address FROM participants WHERE case_id = $1 AND dropped_at IS NULL
           ORDER BY address"#,
    )
    .bind(case.0)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// `/cc`: `address` gets copies of the case's relays from now on.
///
/// # Errors
/// Database failure.
pub async fn copy(tx: &mut Tx, case: CaseId, address: &str) -> Result<(), Error> {
    add_participants(tx, case, &[address]).await?;
    sqlx::query(r#"UPDATE participants SET dropped_at = NULL WHERE case_id = $1 AND address = $2"#)
        .bind(case.0)
        .bind(address)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `/uncc`: `address` gets no more copies (it stays on the case, and may still write).
///
/// # Errors
/// Database failure.
pub async fn uncopy(tx: &mut Tx, case: CaseId, address: &str, now: Millis) -> Result<(), Error> {
    sqlx::query(
        r#"UPDATE participants SET dropped_at = $3 WHERE case_id = $1 AND LOWER(address) = $2"#,
    )
    .bind(case.0)
    .bind(address.to_ascii_lowercase())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An entry of a case's log, buffered by [`super::Work`] until commit.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub case: CaseId,
    /// When, in ms.
    pub at: Millis,
    /// Who: an address, or `helpdesk`.
    pub actor: String,
    /// What, e.g. `created`.
    pub kind: &'static str,
    /// Details as JSON.
    pub detail: String,
}

/// Records `event` on `case` (written with the transaction), and counts it in the metrics that
/// count events, with the labels its fields carry.
pub fn add_event(
    work: &mut super::Work,
    case: CaseId,
    now: Millis,
    actor: &str,
    event: &Event<'_>,
) {
    use crate::telemetry;
    match event {
        Event::Created { category, .. } | Event::ProblemCreated { category, .. } => {
            work.count(telemetry::CASES_OPENED, "category", (*category).to_owned());
        }
        Event::SlaBreached { clock, .. } => {
            work.count(telemetry::SLA_BREACHES, "clock", (*clock).to_owned());
        }
        Event::Closed { .. } => {
            work.count(telemetry::AUTO_CLOSED, "reason", "reopen_window".into())
        }
        _ => {}
    }
    work.event(NewEvent {
        case,
        at: now,
        actor: actor.to_owned(),
        kind: event.name(),
        detail: event.detail(),
    });
}

/// Rows per multi-row event insert (5 parameters each). Not more: SQLite finds each numbered
/// parameter by walking the statement's list of them, so binding costs the square of their
/// number, and 1,000 of them cost more than the round trips that 40 rows a statement add.
const EVENTS_PER_STATEMENT: usize = 40;

/// Inserts buffered events, in order, a few dozen per statement.
///
/// # Errors
/// Database failure.
pub async fn insert_events(tx: &mut Tx, events: &[NewEvent]) -> Result<(), Error> {
    for chunk in events.chunks(EVENTS_PER_STATEMENT) {
        let values = (0..chunk.len())
            .map(|i| format!("({})", super::placeholders_from(5 * i + 1, 5)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO events (case_id, at, actor, kind, detail) VALUES {values}");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            query = query
                .bind(e.case.0)
                .bind(e.at)
                .bind(e.actor.as_str())
                .bind(e.kind)
                .bind(e.detail.as_str());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The case that stored (inbound) or sent (outbound) any of these Message-IDs, newest first.
///
/// # Errors
/// Database failure.
pub async fn candidate_by_message_ids(
    tx: &mut Tx,
    ids: &[String],
) -> Result<Option<Candidate>, Error> {
    if ids.is_empty() {
        return Ok(None);
    }
    // One statement for all IDs; then the newest reference (last in References) wins.
    let marks = super::placeholders(ids.len());
    let sql = format!(
        "SELECT message_id, case_id FROM messages WHERE message_id IN ({marks})
         UNION ALL
         SELECT message_id, case_id FROM outbox WHERE message_id IN ({marks}) AND case_id IS NOT NULL"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id.as_str());
    }
    // The first row of an id wins (messages before outbox); a map keeps the lookup linear.
    let mut found = std::collections::HashMap::new();
    for r in query.fetch_all(&mut **tx).await? {
        let id: String = r.try_get(0)?;
        let case: i64 = r.try_get(1)?;
        found.entry(id).or_insert(case);
    }
    let newest = ids.iter().rev().find_map(|id| found.get(id).copied());
    match newest {
        Some(case) => candidate(tx, Key::Id(CaseId(case))).await,
        None => Ok(None),
    }
}

/// The case with this ticket, as a threading candidate.
///
/// # Errors
/// Database failure.
pub async fn candidate_by_ticket(
    tx: &mut Tx,
    ticket: &TicketNo,
) -> Result<Option<Candidate>, Error> {
    candidate(tx, Key::Ticket(ticket)).await
}

/// How a threading candidate is looked up.
enum Key<'a> {
    Id(CaseId),
    Ticket(&'a TicketNo),
}

/// How many merges a reply is followed through at most (a merged case's survivor may itself
/// have been merged since).
const MERGE_HOPS: usize = 8;

async fn candidate(tx: &mut Tx, key: Key<'_>) -> Result<Option<Candidate>, Error> {
    let query = match key {
        Key::Id(id) => sqlx::query(
            r#"SELECT id, ticket, status, requester, close_at, merged_into FROM cases WHERE id = $1"#,
        )
        .bind(id.0),
        Key::Ticket(t) => sqlx::query(
            r#"SELECT id, ticket, status, requester, close_at, merged_into FROM cases
               WHERE ticket = $1"#,
        )
        .bind(t.as_str()),
    };
    let Some(mut row) = query.fetch_optional(&mut **tx).await? else {
        return Ok(None);
    };
    // A merged case's mail belongs to the case it was folded into.
    for _ in 0..MERGE_HOPS {
        let Some(into) = row.try_get::<Option<i64>, _>(5)? else {
            break;
        };
        let next = sqlx::query(
            r#"SELECT id, ticket, status, requester, close_at, merged_into FROM cases WHERE id = $1"#,
        )
        .bind(into)
        .fetch_optional(&mut **tx)
        .await?;
        match next {
            Some(r) => row = r,
            None => break,
        }
    }
    let id = CaseId(row.try_get(0)?);
    let participants = sqlx::query(r#"SELECT address FROM participants WHERE case_id = $1"#)
        .bind(id.0)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    let status: String = row.try_get(2)?;
    Ok(Some(Candidate {
        id,
        ticket: TicketNo::from_string(row.try_get::<String, _>(1)?),
        status: status.parse().map_err(Error::Corrupt)?,
        requester: row.try_get(3)?,
        participants,
        close_at: row.try_get(4)?,
    }))
}

pub(super) const CASE_COLUMNS: &str = r#"c.id, c.ticket, c.status, c.subject, c.requester, c.requester_name,
    c.category, c.priority, c.case_type, c.team, c.rule, c.target_secs,
    (SELECT p.ticket FROM cases p WHERE p.id = c.previous_case), c.created_at, c.updated_at,
    c.assignee, c.pending_reason, c.resolution, c.impact, c.urgency, c.priority_override,
    c.root_cause, c.workaround, c.major"#;

pub(super) fn case_row(r: &AnyRow) -> Result<CaseRow, Error> {
    Ok(CaseRow {
        id: CaseId(r.try_get(0)?),
        ticket: r.try_get(1)?,
        status: r.try_get(2)?,
        subject: r.try_get(3)?,
        requester: r.try_get(4)?,
        requester_name: r.try_get(5)?,
        category: r.try_get(6)?,
        priority: r.try_get(7)?,
        case_type: r.try_get(8)?,
        team: r.try_get(9)?,
        assignee: r.try_get(15)?,
        pending_reason: r.try_get(16)?,
        resolution: r.try_get(17)?,
        rule: r.try_get(10)?,
        target_secs: r.try_get(11)?,
        previous_ticket: r.try_get(12)?,
        created_at: format_ms(r.try_get(13)?),
        updated_at: format_ms(r.try_get(14)?),
        impact: r.try_get(18)?,
        urgency: r.try_get(19)?,
        priority_override: r.try_get::<i64, _>(20)? != 0,
        root_cause: r.try_get(21)?,
        workaround: r.try_get(22)?,
        major: r.try_get::<i64, _>(23)? != 0,
    })
}

/// One case by ticket.
///
/// # Errors
/// Database failure.
pub async fn by_ticket(pool: &sqlx::AnyPool, ticket: &TicketNo) -> Result<Option<CaseRow>, Error> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.ticket = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ticket.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(case_row)
        .transpose()
}

/// The event log of a case, oldest first.
///
/// # Errors
/// Database failure.
pub async fn events(pool: &sqlx::AnyPool, case: CaseId) -> Result<Vec<EventRow>, Error> {
    sqlx::query(r#"SELECT at, actor, kind, detail FROM events WHERE case_id = $1 ORDER BY id"#)
        .bind(case.0)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            let detail: String = r.try_get(3)?;
            Ok(EventRow {
                at: format_ms(r.try_get(0)?),
                actor: r.try_get(1)?,
                kind: r.try_get(2)?,
                detail: serde_json::from_str(&detail).map_err(|e| Error::Corrupt(e.to_string()))?,
            })
        })
        .collect()
}
