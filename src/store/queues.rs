//! Views over the SLA clocks, read-only: the work queue behind `helpdesk cases list` (overdue
//! cases first, then by the next deadline), one case's SLA state for `cases show`, and the
//! per-category and priority figures of `helpdesk report sla`. Which case is overdue, its
//! deadline and the order are decided in one SQL text both backends run, on the database's
//! side, so a page of a million cases reads one page of rows.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::cases::{self, CaseRow};
use super::Error;
use crate::model::{CaseId, Millis, Status};

/// Which cases the queue shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    /// Only cases with this status.
    pub status: Option<Status>,
    /// Only cases of this team.
    pub team: Option<&'a str>,
    /// Only cases of this requester.
    pub requester: Option<&'a str>,
    /// Only overdue cases (see [`QueueRow::overdue`]).
    pub overdue_only: bool,
}

/// Which deadline a queue row's `due_at` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    /// The resolution target.
    Resolution,
    /// A technician's first public reply, still awaited.
    FirstResponse,
    /// A resolved case closes by itself (the end of the reopen window).
    Closes,
    /// An overdue case whose clock is stopped: when it first missed its target.
    Breached,
    /// An open task of the case (`/task … by DATE`).
    Task,
}

/// A case in the queue: the listed case plus its next deadline.
#[derive(Debug, Clone, Serialize)]
pub struct QueueRow {
    /// The case as `cases list` always showed it.
    #[serde(flatten)]
    pub case: CaseRow,
    /// Active (open, in progress, assigned, pending) and past a target: the resolution target
    /// is due or was ever missed, or the first response is due and not given.
    pub overdue: bool,
    /// Which deadline `due_at` is; `None`: nothing is due (closed, or no targets).
    pub due: Option<DueKind>,
    /// The deadline, ms (UTC); serialized as RFC 3339.
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub due_at: Option<Millis>,
}

/// Open, in progress, assigned or pending: someone still owes the customer work.
const ACTIVE: &str = "c.status IN ('open', 'in_progress', 'assigned', 'pending')";

/// The earlier of two nullable times, in SQL both backends run (SQLite's `MIN(a, b)` is
/// PostgreSQL's `LEAST`).
fn earlier(a: &str, b: &str) -> String {
    format!("CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL OR {a} <= {b} THEN {a} ELSE {b} END")
}

/// The filters of [`Filter`]: `$1` status or '', `$2` team or '', `$3` requester or ''.
const FILTERS: &str =
    "($1 = '' OR c.status = $1) AND ($2 = '' OR c.team = $2) AND ($3 = '' OR c.requester = $3)";

/// The active cases under the filters (`$4` is now), judged: `id, a, b, r, k, overdue, e`.
///
/// The definitions of [`QueueRow`] live here and in [`PAGE`], and only there:
/// - `a` the resolution deadline, `b` when the target was missed, `r` the awaited first
///   response (its deadline while no technician has answered), `k` the earliest date among
///   the case's open tasks;
/// - overdue: active and past `a`, `r` or `k`, or `b` is set (the target was ever missed);
/// - `e`, the deadline shown: the earliest of `a`, `r` and `k` (resolution first among
///   equals); when the target was missed if an overdue case has none of them running.
///
/// Only active cases are judged (the status index finds them); the rest of a million cases is
/// read only as far as a page reaches.
fn active_sql() -> String {
    let e = earlier(&earlier("a", "r"), "k");
    format!(
        "active AS (
            SELECT c.id, c.due_at AS a, c.breached_at AS b,
                   CASE WHEN c.first_response_at IS NULL THEN c.first_response_due_at END AS r,
                   (SELECT MIN(t.due_at) FROM tasks t
                    WHERE t.case_id = c.id AND t.status = 'open') AS k
            FROM cases c WHERE {ACTIVE} AND {FILTERS}
         ), judged AS (
            SELECT id, a, b, r, k,
                   CASE WHEN a <= $4 OR b IS NOT NULL OR r <= $4 OR k <= $4
                        THEN 1 ELSE 0 END AS overdue,
                   {e} AS e
            FROM active
         )"
    )
}

/// Whether a case (`c`) has a deadline the queue orders it by: active with a resolution
/// deadline, a missed target, an awaited first response or an open task with a date (the
/// `judged` rows whose `e` is set or that are overdue), or resolved and closing.
const DATED: &str = "(({ACTIVE} AND (c.due_at IS NOT NULL OR c.breached_at IS NOT NULL
        OR (c.first_response_at IS NULL AND c.first_response_due_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = c.id AND t.status = 'open'
                   AND t.due_at IS NOT NULL)))
    OR (c.status = 'resolved' AND c.close_at IS NOT NULL))";

/// The queue's ranks, in order, each read in its own order straight into a page, so nothing
/// is sorted but the active cases with a deadline, and nothing read that the page does not
/// reach. Each selects the case's columns and `overdue, kind, due`; `$5` is 1 for overdue
/// cases only, `$6` and `$7` are the limit and offset within the rank.
///
/// 1. overdue (by deadline), then active with a deadline (by deadline): the `judged` rows;
/// 2. resolved and closing, by when they close (on `cases_close_at`);
/// 3. the rest, newest first (on the primary key): active without any deadline, and every
///    other status.
///
/// Within each, the newest case first among equals.
fn ranks() -> [String; 3] {
    let columns = cases::CASE_COLUMNS;
    let active = active_sql();
    let dated = DATED.replace("{ACTIVE}", ACTIVE);
    [
        format!(
            "WITH {active} SELECT {columns}, p.overdue, p.kind, p.due FROM (
                SELECT id, overdue,
                       CASE WHEN e IS NULL THEN 'breached' WHEN e = a THEN 'resolution'
                            WHEN e = r THEN 'first_response' ELSE 'task' END AS kind,
                       CASE WHEN e IS NULL THEN b ELSE e END AS due
                FROM judged WHERE (e IS NOT NULL OR overdue = 1) AND ($5 = 0 OR overdue = 1)
                ORDER BY 1 - overdue, 4, id DESC LIMIT $6 OFFSET $7) p
             JOIN cases c ON c.id = p.id ORDER BY 1 - p.overdue, p.due, c.id DESC"
        ),
        format!(
            "SELECT {columns}, 0, 'closes', c.close_at FROM cases c
             WHERE c.status = 'resolved' AND c.close_at IS NOT NULL AND {FILTERS}
               AND $5 = 0 AND $4 = $4
             ORDER BY c.close_at, c.id DESC LIMIT $6 OFFSET $7"
        ),
        format!(
            "SELECT {columns}, 0, CAST(NULL AS TEXT), CAST(NULL AS BIGINT) FROM cases c
             WHERE NOT {dated} AND {FILTERS} AND $5 = 0 AND $4 = $4
             ORDER BY c.id DESC LIMIT $6 OFFSET $7"
        ),
    ]
}

/// How many cases of a rank of [`ranks`] the filters select (binds as there, without the
/// limit and offset).
fn rank_counts() -> [String; 2] {
    [
        format!(
            "WITH {} SELECT COUNT(*) FROM judged
             WHERE (e IS NOT NULL OR overdue = 1) AND ($5 = 0 OR overdue = 1)",
            active_sql()
        ),
        format!(
            "SELECT COUNT(*) FROM cases c
             WHERE c.status = 'resolved' AND c.close_at IS NOT NULL AND {FILTERS}
               AND $5 = 0 AND $4 = $4"
        ),
    ]
}

/// How a page of the queue is cut.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// At most this many cases; `None`: every case from `offset` on.
    pub limit: Option<u64>,
    /// Skip this many first.
    pub offset: u64,
}

#[cfg(test)]
impl Page {
    /// Every case.
    pub const ALL: Page = Page {
        limit: None,
        offset: 0,
    };
}

/// Calls `row` with each case of the queue at `now` in order (see [`ranks`]), the ones
/// `page` selects, as the database hands them over: memory stays flat however many cases
/// there are, and a page far down the queue skips whole ranks by their counts.
///
/// # Errors
/// Database failure, a row with an unknown due kind, or what `row` returns.
pub async fn each<E: From<Error>>(
    pool: &sqlx::AnyPool,
    f: Filter<'_>,
    page: Page,
    now: Millis,
    mut row: impl FnMut(QueueRow) -> Result<(), E>,
) -> Result<(), E> {
    use futures_util::TryStreamExt;
    let mut conn = pool.acquire().await.map_err(Error::from)?;
    // A sort too large for memory (the active cases of a huge queue, in order) goes to a
    // temporary file, not into this process's memory; the daemon's own connections keep
    // their sorts in memory.
    let sqlite = conn.backend_name() == "SQLite";
    if sqlite {
        sqlx::query("PRAGMA temp_store = FILE")
            .execute(&mut *conn)
            .await
            .map_err(Error::from)?;
    }
    let counts = rank_counts();
    let mut skip = page.offset;
    let mut left = page.limit;
    for (rank, sql) in ranks().iter().enumerate() {
        if left == Some(0) {
            break;
        }
        // Skip a whole rank when the page starts after it.
        if skip > 0 {
            if let Some(count) = counts.get(rank) {
                let n: i64 = bind_filter(sqlx::query(sqlx::AssertSqlSafe(count.as_str())), f, now)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(Error::from)?
                    .try_get(0)
                    .map_err(Error::from)?;
                let n = u64::try_from(n).unwrap_or(0);
                if skip >= n {
                    skip -= n;
                    continue;
                }
            }
        }
        let limit = left.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let mut rows = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), f, now)
            .bind(limit)
            .bind(i64::try_from(skip).unwrap_or(i64::MAX))
            .fetch(&mut *conn);
        skip = 0;
        while let Some(r) = rows.try_next().await.map_err(Error::from)? {
            row(queue_row(&r)?)?;
            left = left.map(|l| l.saturating_sub(1));
        }
    }
    if sqlite {
        sqlx::query("PRAGMA temp_store = MEMORY")
            .execute(&mut *conn)
            .await
            .map_err(Error::from)?;
    }
    Ok(())
}

/// Binds the filter's values `$1`–`$5` (see [`FILTERS`], [`active_sql`]).
fn bind_filter<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    f: Filter<'q>,
    now: Millis,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(f.status.map_or("", Status::as_str))
        .bind(f.team.unwrap_or(""))
        .bind(f.requester.unwrap_or(""))
        .bind(now)
        .bind(i64::from(f.overdue_only))
}

/// The cases of the queue `page` selects, in order (see [`each`]).
#[cfg(test)]
async fn queue(
    pool: &sqlx::AnyPool,
    f: Filter<'_>,
    page: Page,
    now: Millis,
) -> Result<Vec<QueueRow>, Error> {
    let mut rows = Vec::new();
    each(pool, f, page, now, |r| {
        rows.push(r);
        Ok::<_, Error>(())
    })
    .await?;
    Ok(rows)
}

/// How many cases the filter selects, and how many of them are overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Cases selected.
    pub cases: u64,
    /// Of them overdue.
    pub overdue: u64,
}

/// The counts of the queue at `now` under `f`, for the line under a page.
///
/// # Errors
/// Database failure.
pub async fn counts(pool: &sqlx::AnyPool, f: Filter<'_>, now: Millis) -> Result<Counts, Error> {
    // Only the active cases are judged; the rest are counted on the filters' indexes.
    let sql = format!(
        "WITH {} SELECT CASE WHEN $5 = 1 THEN (SELECT COUNT(*) FROM judged WHERE overdue = 1)
                             ELSE (SELECT COUNT(*) FROM cases c WHERE {FILTERS}) END,
                        (SELECT COUNT(*) FROM judged WHERE overdue = 1)",
        active_sql()
    );
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(f.status.map_or("", Status::as_str))
        .bind(f.team.unwrap_or(""))
        .bind(f.requester.unwrap_or(""))
        .bind(now)
        .bind(i64::from(f.overdue_only))
        .fetch_one(pool)
        .await?;
    let count = |i: usize| -> Result<u64, Error> {
        Ok(u64::try_from(r.try_get::<i64, _>(i)?).unwrap_or(0))
    };
    Ok(Counts {
        cases: count(0)?,
        overdue: count(1)?,
    })
}

fn queue_row(r: &AnyRow) -> Result<QueueRow, Error> {
    let case = cases::case_row(r)?;
    let n = CASE_COLUMN_COUNT;
    let kind: Option<String> = r.try_get(n + 1)?;
    let due = match kind.as_deref() {
        None => None,
        Some("resolution") => Some(DueKind::Resolution),
        Some("first_response") => Some(DueKind::FirstResponse),
        Some("closes") => Some(DueKind::Closes),
        Some("breached") => Some(DueKind::Breached),
        Some("task") => Some(DueKind::Task),
        Some(other) => return Err(Error::Corrupt(format!("unknown due kind {other:?}"))),
    };
    Ok(QueueRow {
        case,
        overdue: r.try_get::<i64, _>(n)? == 1,
        due,
        due_at: r.try_get::<Option<i64>, _>(n + 2)?.map(Millis),
    })
}

/// How many columns [`cases::CASE_COLUMNS`] selects.
const CASE_COLUMN_COUNT: usize = 24;

/// One case's SLA clocks, for `cases show`. Times are ms (UTC), serialized as RFC 3339.
#[derive(Debug, Clone, Serialize)]
pub struct SlaState {
    /// Resolution target in seconds; `None`: the case has no SLA.
    pub target_secs: Option<i64>,
    /// `24x7` or `business`.
    pub target_clock: Option<String>,
    /// When the resolution target is reached; `None` while the clock is stopped.
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub due_at: Option<Millis>,
    /// When the team is warned.
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub warn_at: Option<Millis>,
    /// When the resolution target was first missed (kept after resolving).
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub breached_at: Option<Millis>,
    /// When a technician's first public reply is due.
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub first_response_due_at: Option<Millis>,
    /// When it came; `None` while awaited.
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub first_response_at: Option<Millis>,
    /// When the first response was missed.
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub first_response_breached_at: Option<Millis>,
    /// When the case was resolved.
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub resolved_at: Option<Millis>,
    /// When a resolved case closes by itself.
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub close_at: Option<Millis>,
    /// When it closed.
    #[serde(serialize_with = "crate::model::rfc3339")]
    pub closed_at: Option<Millis>,
}

/// The SLA clocks of one case; `None` when there is no such case.
///
/// # Errors
/// Database failure.
pub async fn sla_state(pool: &sqlx::AnyPool, case: CaseId) -> Result<Option<SlaState>, Error> {
    let Some(r) = sqlx::query(
        r#"SELECT target_secs, target_clock, due_at, warn_at, breached_at,
                  first_response_due_at, first_response_at, first_response_breached_at,
                  resolved_at, close_at, closed_at
           FROM cases WHERE id = $1"#,
    )
    .bind(case.0)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(SlaState {
        target_secs: r.try_get(0)?,
        target_clock: r.try_get(1)?,
        due_at: r.try_get(2)?,
        warn_at: r.try_get(3)?,
        breached_at: r.try_get(4)?,
        first_response_due_at: r.try_get(5)?,
        first_response_at: r.try_get(6)?,
        first_response_breached_at: r.try_get(7)?,
        resolved_at: r.try_get(8)?,
        close_at: r.try_get(9)?,
        closed_at: r.try_get(10)?,
    }))
}

/// How a group of cases fared against its targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SlaFigures {
    /// All cases of the group: `met + breached + open + no_sla`.
    pub cases: u64,
    /// With a target, resolved or closed, never breached.
    pub met: u64,
    /// With a target that was missed (whatever the status now).
    pub breached: u64,
    /// With a target, neither met nor breached yet.
    pub open: u64,
    /// Without a resolution target; in none of the three above.
    pub no_sla: u64,
    /// Answered by a technician without missing the first-response target.
    pub first_response_met: u64,
    /// The first-response target was missed.
    pub first_response_breached: u64,
    /// Median of first response minus creation, over the cases answered.
    pub median_first_response_secs: Option<i64>,
    /// Median of resolution minus creation, over the cases resolved.
    pub median_resolution_secs: Option<i64>,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaGroup {
    /// Category id.
    pub category: String,
    /// Priority level.
    pub priority: i64,
    #[serde(flatten)]
    pub figures: SlaFigures,
}

/// `helpdesk report sla`: one group per category and priority, sorted, and the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaReport {
    /// The groups, by category then priority.
    pub groups: Vec<SlaGroup>,
    /// Every case counted (its medians over all cases, not of the groups' medians).
    pub total: SlaFigures,
}

/// The SLA report over cases created at or after `since` (ms; `None`: all cases): counted and
/// its medians picked by the database, which hands over one row per group and median, never
/// one per case.
///
/// # Errors
/// Database failure.
pub async fn sla_report(pool: &sqlx::AnyPool, since: Option<Millis>) -> Result<SlaReport, Error> {
    let mut groups: BTreeMap<(String, i64), SlaFigures> = BTreeMap::new();
    let rows = sqlx::query(
        r#"SELECT category, priority, COUNT(*),
                  SUM(CASE WHEN target_secs IS NULL THEN 1 ELSE 0 END),
                  SUM(CASE WHEN target_secs IS NOT NULL AND breached_at IS NOT NULL
                      THEN 1 ELSE 0 END),
                  SUM(CASE WHEN target_secs IS NOT NULL AND breached_at IS NULL
                           AND status IN ('resolved', 'closed') THEN 1 ELSE 0 END),
                  SUM(CASE WHEN first_response_breached_at IS NOT NULL THEN 1 ELSE 0 END),
                  SUM(CASE WHEN first_response_breached_at IS NULL
                           AND first_response_at IS NOT NULL THEN 1 ELSE 0 END),
                  SUM(CASE WHEN first_response_at IS NOT NULL THEN 1 ELSE 0 END),
                  SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END)
           FROM cases WHERE created_at >= $1 GROUP BY category, priority"#,
    )
    .bind(since.unwrap_or(Millis(i64::MIN)))
    .fetch_all(pool)
    .await?;
    let mut total = SlaFigures::default();
    // How many values each median is over: (first response, resolution), by group and in all.
    let mut timed: BTreeMap<(String, i64), (u64, u64)> = BTreeMap::new();
    let mut timed_total = (0, 0);
    for r in &rows {
        let n = |i: usize| -> Result<u64, Error> {
            Ok(u64::try_from(r.try_get::<i64, _>(i)?).unwrap_or(0))
        };
        let (cases, no_sla, breached, met) = (n(2)?, n(3)?, n(4)?, n(5)?);
        let f = SlaFigures {
            cases,
            met,
            breached,
            open: cases - no_sla - breached - met,
            no_sla,
            first_response_met: n(7)?,
            first_response_breached: n(6)?,
            median_first_response_secs: None,
            median_resolution_secs: None,
        };
        total.add(&f);
        let key: (String, i64) = (r.try_get(0)?, r.try_get(1)?);
        let (answered, resolved) = (n(8)?, n(9)?);
        timed_total = (timed_total.0 + answered, timed_total.1 + resolved);
        timed.insert(key.clone(), (answered, resolved));
        groups.insert(key, f);
    }
    for (key, f) in &mut groups {
        let (answered, resolved) = timed[key];
        let group = Some((key.0.as_str(), key.1));
        let column = "first_response_at";
        f.median_first_response_secs = median(pool, column, (since, group), answered)
            .await?
            .map(secs);
        let column = "resolved_at";
        f.median_resolution_secs = median(pool, column, (since, group), resolved)
            .await?
            .map(secs);
    }
    let (answered, resolved) = timed_total;
    total.median_first_response_secs = median(pool, "first_response_at", (since, None), answered)
        .await?
        .map(secs);
    total.median_resolution_secs = median(pool, "resolved_at", (since, None), resolved)
        .await?
        .map(secs);
    Ok(SlaReport {
        groups: groups
            .into_iter()
            .map(|((category, priority), figures)| SlaGroup {
                category,
                priority,
                figures,
            })
            .collect(),
        total,
    })
}

impl SlaFigures {
    /// Adds the counts of `other` (medians are not additive: see [`median`]).
    fn add(&mut self, other: &SlaFigures) {
        self.cases += other.cases;
        self.met += other.met;
        self.breached += other.breached;
        self.open += other.open;
        self.no_sla += other.no_sla;
        self.first_response_met += other.first_response_met;
        self.first_response_breached += other.first_response_breached;
    }
}

fn secs(ms: i64) -> i64 {
    ms / 1000
}

/// The median of `column` minus the creation time over the `n` cases created since `since`
/// that have it, of one category and priority or of all: the middle one or two values, read
/// from the partial index on that difference (`migrations/*/0012`) by skipping to the middle,
/// never sorting the cases; the median of an even count is the mean of the two.
async fn median(
    pool: &sqlx::AnyPool,
    column: &'static str,
    (since, group): (Option<Millis>, Option<(&str, i64)>),
    n: u64,
) -> Result<Option<i64>, Error> {
    if n == 0 {
        return Ok(None);
    }
    // Built from constants only; values are bound.
    let mut sql = format!("SELECT {column} - created_at FROM cases WHERE {column} IS NOT NULL");
    let mut k = 0;
    let mut next = || {
        k += 1;
        k
    };
    if group.is_some() {
        sql += &format!(" AND category = ${} AND priority = ${}", next(), next());
    }
    if since.is_some() {
        sql += &format!(" AND created_at >= ${}", next());
    }
    sql += &format!(" ORDER BY {column} - created_at LIMIT 2 OFFSET ${}", next());
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    if let Some((category, priority)) = group {
        q = q.bind(category).bind(priority);
    }
    if let Some(since) = since {
        q = q.bind(since);
    }
    let skip = i64::try_from((n - 1) / 2).unwrap_or(i64::MAX);
    let values: Vec<i64> = q
        .bind(skip)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    Ok(match values[..] {
        [lo, hi] if n.is_multiple_of(2) => Some(lo + (hi - lo) / 2),
        [mid, ..] => Some(mid),
        [] => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;
    use crate::store::Store;

    /// Inserts a case (break_fix, priority 2, a 1-hour target, created at 0), then applies
    /// `set` (an SQL SET list) to it.
    async fn seed(s: &Store, ticket: &str, status: &str, set: &str) {
        sqlx::query(
            r#"INSERT INTO cases (ticket, subject, requester, status, case_type, category,
                   priority, target_secs, created_at, updated_at)
               VALUES ($1, 'subject', 'a@example.test', $2, 'incident', 'break_fix', 2, 3600,
                   0, 0)"#,
        )
        .bind(ticket)
        .bind(status)
        .execute(&s.pool)
        .await
        .unwrap();
        if !set.is_empty() {
            let sql = format!("UPDATE cases SET {set} WHERE ticket = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ticket)
                .execute(&s.pool)
                .await
                .unwrap();
        }
    }

    const NOW: Millis = Millis(100_000);

    /// Inserted in this order, so a later letter is a newer case.
    async fn seed_queue(s: &Store) {
        seed(s, "A", "open", "due_at = 90000, team = 'network'").await;
        seed(s, "B", "open", "due_at = 50000").await;
        seed(s, "C", "pending", "breached_at = 10000").await;
        seed(
            s,
            "D",
            "assigned",
            "first_response_due_at = 95000, due_at = 200000",
        )
        .await;
        seed(s, "E", "open", "due_at = 150000, team = 'network'").await;
        let answered = "first_response_due_at = 120000, first_response_at = 110000";
        seed(
            s,
            "F",
            "in_progress",
            &format!("{answered}, due_at = 300000"),
        )
        .await;
        seed(s, "G", "open", "target_secs = NULL").await;
        seed(s, "H", "resolved", "close_at = 130000, breached_at = 5000").await;
        seed(s, "I", "closed", "").await;
        seed(s, "J", "open", "target_secs = NULL").await;
        seed(s, "K", "open", "due_at = 150000").await;
        // L's own clock runs to 400000, but a task of it was due at 60000; M's task is not due.
        seed(s, "L", "assigned", "due_at = 400000").await;
        seed(s, "M", "assigned", "target_secs = NULL").await;
        for (ticket, due, status) in [
            ("L", 60_000, "open"),
            ("L", 20_000, "done"),
            ("M", 500_000, "open"),
        ] {
            sqlx::query(
                r#"INSERT INTO tasks (case_id, number, team, text, status, due_at, created_by, created_at)
                   SELECT id, 1, 'av', 'bring mics', $2, $3, 'tam@x', 0 FROM cases WHERE ticket = $1"#,
            )
            .bind(ticket)
            .bind(status)
            .bind(due)
            .execute(&s.pool)
            .await
            .unwrap();
        }
    }

    async fn tickets(s: &Store, f: Filter<'_>) -> Vec<String> {
        let rows = queue(&s.pool, f, Page::ALL, NOW).await.unwrap();
        rows.into_iter().map(|r| r.case.ticket).collect()
    }

    #[tokio::test]
    async fn the_queue_puts_the_most_overdue_first_and_undated_cases_last() {
        for t in testing::stores().await {
            let s = &t.store;
            seed_queue(s).await;
            assert_eq!(
                tickets(s, Filter::default()).await,
                ["C", "B", "L", "A", "D", "K", "E", "F", "M", "H", "J", "I", "G"]
            );
            let rows = queue(&s.pool, Filter::default(), Page::ALL, NOW)
                .await
                .unwrap();
            let by = |t: &str| rows.iter().find(|r| r.case.ticket == t).unwrap();
            assert_eq!(
                (by("C").overdue, by("C").due, by("C").due_at),
                (true, Some(DueKind::Breached), Some(Millis(10_000)))
            );
            assert_eq!(
                (by("D").overdue, by("D").due, by("D").due_at),
                (true, Some(DueKind::FirstResponse), Some(Millis(95_000)))
            );
            assert_eq!(
                (by("F").overdue, by("F").due, by("F").due_at),
                (false, Some(DueKind::Resolution), Some(Millis(300_000))),
                "an answered first response is no deadline"
            );
            assert_eq!(
                (by("H").overdue, by("H").due),
                (false, Some(DueKind::Closes)),
                "a resolved case is not overdue, even when it once breached"
            );
            assert_eq!((by("I").due, by("G").due), (None, None));
            assert_eq!(
                (by("L").overdue, by("L").due, by("L").due_at),
                (true, Some(DueKind::Task), Some(Millis(60_000))),
                "an open task past its date makes the case overdue; a done one does not count"
            );
            assert_eq!(
                (by("M").overdue, by("M").due, by("M").due_at),
                (false, Some(DueKind::Task), Some(Millis(500_000)))
            );
            let json = serde_json::to_value(by("B")).unwrap();
            assert_eq!(json["ticket"], "B");
            assert_eq!(json["overdue"], true);
            assert_eq!(json["due"], "resolution");
            assert_eq!(json["due_at"], "1970-01-01T00:00:50Z");
            t.cleanup().await;
        }
    }

    #[tokio::test]
    async fn the_queue_filters_by_overdue_status_and_team() {
        for t in testing::stores().await {
            let s = &t.store;
            seed_queue(s).await;
            let overdue = Filter {
                overdue_only: true,
                ..Filter::default()
            };
            assert_eq!(tickets(s, overdue).await, ["C", "B", "L", "A", "D"]);
            let open = Filter {
                status: Some(Status::Open),
                ..Filter::default()
            };
            assert_eq!(tickets(s, open).await, ["B", "A", "K", "E", "J", "G"]);
            let network = Filter {
                team: Some("network"),
                ..Filter::default()
            };
            assert_eq!(tickets(s, network).await, ["A", "E"]);
            let all = Filter {
                status: Some(Status::Open),
                team: Some("network"),
                overdue_only: true,
                requester: None,
            };
            assert_eq!(tickets(s, all).await, ["A"]);
            sqlx::query("UPDATE cases SET requester = 'b@example.test' WHERE ticket IN ('E', 'I')")
                .execute(&s.pool)
                .await
                .unwrap();
            let theirs = Filter {
                requester: Some("b@example.test"),
                ..Filter::default()
            };
            assert_eq!(tickets(s, theirs).await, ["E", "I"]);
            let counts = counts(&s.pool, Filter::default(), NOW).await.unwrap();
            assert_eq!((counts.cases, counts.overdue), (13, 5));
            let counted = counts_of(s, overdue).await;
            assert_eq!((counted.cases, counted.overdue), (5, 5));
            t.cleanup().await;
        }
    }

    async fn counts_of(s: &Store, f: Filter<'_>) -> Counts {
        counts(&s.pool, f, NOW).await.unwrap()
    }

    #[tokio::test]
    async fn a_page_is_a_slice_of_the_whole_queue_in_the_same_order() {
        for t in testing::stores().await {
            let s = &t.store;
            seed_queue(s).await;
            let whole = tickets(s, Filter::default()).await;
            for (limit, offset) in [(1, 0), (4, 0), (4, 4), (5, 10), (3, 12), (2, 13), (2, 50)] {
                let page = Page {
                    limit: Some(limit),
                    offset,
                };
                let got: Vec<String> = queue(&s.pool, Filter::default(), page, NOW)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.case.ticket)
                    .collect();
                let want: Vec<String> = whole
                    .iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .cloned()
                    .collect();
                assert_eq!(got, want, "limit {limit} offset {offset}");
            }
            let overdue = Filter {
                overdue_only: true,
                ..Filter::default()
            };
            let page = Page {
                limit: Some(2),
                offset: 1,
            };
            let rows = queue(&s.pool, overdue, page, NOW).await.unwrap();
            let got: Vec<&str> = rows.iter().map(|r| r.case.ticket.as_str()).collect();
            assert_eq!(got, ["B", "L"]);
            t.cleanup().await;
        }
    }

    #[tokio::test]
    async fn the_report_counts_targets_and_medians_per_category_and_priority() {
        for t in testing::stores().await {
            let s = &t.store;
            seed(
                s,
                "R1",
                "resolved",
                "first_response_at = 600000, resolved_at = 3600000",
            )
            .await;
            let breached = "breached_at = 1, first_response_breached_at = 1, \
                            first_response_at = 7200000, resolved_at = 10800000";
            seed(s, "R2", "closed", breached).await;
            seed(s, "R3", "open", "").await;
            seed(
                s,
                "R4",
                "open",
                "target_secs = NULL, first_response_at = 1200000",
            )
            .await;
            let request = "category = 'request', priority = 3";
            seed(
                s,
                "R5",
                "resolved",
                &format!("{request}, target_secs = NULL, resolved_at = 86400000"),
            )
            .await;
            seed(
                s,
                "R6",
                "pending",
                &format!("{request}, created_at = 9000000000"),
            )
            .await;

            let report = sla_report(&s.pool, None).await.unwrap();
            let break_fix = SlaFigures {
                cases: 4,
                met: 1,
                breached: 1,
                open: 1,
                no_sla: 1,
                first_response_met: 2,
                first_response_breached: 1,
                median_first_response_secs: Some(1200),
                median_resolution_secs: Some(7200),
            };
            let request = SlaFigures {
                cases: 2,
                open: 1,
                no_sla: 1,
                median_resolution_secs: Some(86_400),
                ..SlaFigures::default()
            };
            assert_eq!(
                report.groups,
                [
                    SlaGroup {
                        category: "break_fix".into(),
                        priority: 2,
                        figures: break_fix
                    },
                    SlaGroup {
                        category: "request".into(),
                        priority: 3,
                        figures: request
                    },
                ]
            );
            let total = SlaFigures {
                cases: 6,
                met: 1,
                breached: 1,
                open: 2,
                no_sla: 2,
                first_response_met: 2,
                first_response_breached: 1,
                median_first_response_secs: Some(1200),
                median_resolution_secs: Some(10_800),
            };
            assert_eq!(
                report.total, total,
                "medians over all cases, not of the groups"
            );

            let recent = sla_report(&s.pool, Some(Millis(9_000_000_000)))
                .await
                .unwrap();
            assert_eq!(recent.groups.len(), 1);
            assert_eq!((recent.total.cases, recent.total.open), (1, 1));
            let none = sla_report(&s.pool, Some(Millis(9_000_000_001)))
                .await
                .unwrap();
            assert_eq!((none.groups.len(), none.total), (0, SlaFigures::default()));
            t.cleanup().await;
        }
    }

    #[tokio::test]
    async fn sla_state_reads_the_clocks_of_one_case() {
        for t in testing::stores().await {
            let s = &t.store;
            seed(
                s,
                "S",
                "resolved",
                "target_clock = '24x7', resolved_at = 7, close_at = 9",
            )
            .await;
            let case = queue(&s.pool, Filter::default(), Page::ALL, NOW)
                .await
                .unwrap()[0]
                .case
                .id;
            let state = sla_state(&s.pool, case).await.unwrap().unwrap();
            assert_eq!(state.target_secs, Some(3600));
            assert_eq!(state.target_clock.as_deref(), Some("24x7"));
            assert_eq!(
                (state.resolved_at, state.close_at, state.due_at),
                (Some(Millis(7)), Some(Millis(9)), None)
            );
            assert!(sla_state(&s.pool, CaseId(case.0 + 1))
                .await
                .unwrap()
                .is_none());
            t.cleanup().await;
        }
    }
}
