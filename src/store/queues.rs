//! Views over the SLA clocks, read-only: the work queue behind `helpdesk cases list` (overdue
//! cases first, then by the next deadline), one case's SLA state for `cases show`, and the
//! per-category and priority figures of `helpdesk report sla`. The deadline an active case is
//! queued by is a column the database derives from its clocks (`queue_at`,
//! `migrations/*/0013_queue_order.sql`), so each rank of the queue is read in order from an
//! index, in SQL both backends run, and a page of a million cases reads one page of rows.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::cases::{self, CaseRow};
use super::{Backend, Error, Store};
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

/// Open, in progress, assigned or pending: someone still owes the customer work. Written as
/// the queue's partial indexes are (`migrations/*/0013_queue_order.sql`), so the database
/// sees they apply.
const ACTIVE: &str = "c.status IN ('open', 'in_progress', 'assigned', 'pending')";

/// Which deadline an active case's `queue_at` is, read back from the columns it is the
/// earliest of (in the order the migration prefers them among equals); none of them: the
/// missed target.
const KIND: &str = "CASE WHEN c.queue_at = c.due_at THEN 'resolution'
    WHEN c.first_response_at IS NULL AND c.queue_at = c.first_response_due_at
        THEN 'first_response'
    WHEN c.queue_at = c.task_due_at THEN 'task' ELSE 'breached' END";

/// The filters of [`Filter`], bound as `$1` status or '', `$2` team or '', `$3` requester or
/// ''. A filter that is set is written as a plain comparison, so the database can read it
/// from an index (the requester's few cases, the closed ones); one that is not set still
/// names its parameter, so every text binds the same values.
fn filters(f: Filter<'_>) -> String {
    let set = |on: bool, column: &str, n: u8| {
        if on {
            format!("c.{column} = ${n}")
        } else {
            format!("${n} = ''")
        }
    };
    format!(
        "{} AND {} AND {}",
        set(f.status.is_some(), "status", 1),
        set(f.team.is_some(), "team", 2),
        set(f.requester.is_some(), "requester", 3)
    )
}

/// The queue's ranks, in order. Each is read in its own order straight from an index into a
/// page, so nothing is sorted and nothing read that the page does not reach:
///
/// 1. overdue: active and past its deadline (`queue_at <= now`, `$4`), then active, missed
///    its target once and ahead of the deadline now running; by deadline;
/// 2. active with a deadline ahead, by deadline;
/// 3. resolved and closing, by when they close;
/// 4. the rest, newest first: active without any deadline, and every other status.
///
/// Within each, the newest case first among equals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    Overdue,
    OverdueAhead,
    Dated,
    Closing,
    Rest,
}

impl Rank {
    const ALL: [Rank; 5] = [
        Rank::Overdue,
        Rank::OverdueAhead,
        Rank::Dated,
        Rank::Closing,
        Rank::Rest,
    ];

    /// Whether the rank can hold cases of this status (`None`: of any), so a filter on one
    /// status reads only the ranks that hold it.
    fn holds(self, status: Option<Status>) -> bool {
        let active = matches!(
            status,
            None | Some(Status::Open | Status::InProgress | Status::Assigned | Status::Pending)
        );
        match self {
            Rank::Overdue | Rank::OverdueAhead | Rank::Dated => active,
            Rank::Closing => matches!(status, None | Some(Status::Resolved)),
            Rank::Rest => true,
        }
    }

    /// Whether the cases of this rank are overdue.
    fn overdue(self) -> bool {
        matches!(self, Rank::Overdue | Rank::OverdueAhead)
    }

    /// Which cases it holds (it names `$4`, now, in every rank, so all bind alike).
    fn condition(self) -> String {
        match self {
            Rank::Overdue => format!("{ACTIVE} AND c.queue_at <= $4"),
            Rank::OverdueAhead => {
                format!("{ACTIVE} AND c.breached_at IS NOT NULL AND c.queue_at > $4")
            }
            Rank::Dated => format!("{ACTIVE} AND c.breached_at IS NULL AND c.queue_at > $4"),
            Rank::Closing => "c.status = 'resolved' AND c.close_at IS NOT NULL AND $4 = $4".into(),
            Rank::Rest => format!(
                "NOT (({ACTIVE} AND c.queue_at IS NOT NULL)
                      OR (c.status = 'resolved' AND c.close_at IS NOT NULL)) AND $4 = $4"
            ),
        }
    }

    /// Its order.
    fn order(self) -> &'static str {
        match self {
            Rank::Overdue | Rank::OverdueAhead | Rank::Dated => "c.queue_at, c.id DESC",
            Rank::Closing => "c.close_at, c.id DESC",
            Rank::Rest => "c.id DESC",
        }
    }

    /// Its cases' `overdue, kind, due` columns.
    fn due(self) -> String {
        let overdue = u8::from(self.overdue());
        match self {
            Rank::Overdue | Rank::OverdueAhead | Rank::Dated => {
                format!("{overdue}, {KIND}, c.queue_at")
            }
            Rank::Closing => "0, 'closes', c.close_at".into(),
            Rank::Rest => "0, CAST(NULL AS TEXT), CAST(NULL AS BIGINT)".into(),
        }
    }

    /// The index SQLite must read an active rank from, when no requester is asked for (whose
    /// few cases their own index finds). Without statistics (a database filled by an import
    /// and not yet analysed) SQLite's planner takes `status IN (…)` for a few rows and reads
    /// the 680,000 open cases of a million along a status index instead. PostgreSQL plans
    /// by its own statistics.
    fn hint(self, f: Filter<'_>, sqlite: bool) -> &'static str {
        if !sqlite || f.requester.is_some() {
            return "";
        }
        match self {
            Rank::Overdue | Rank::Dated => "INDEXED BY cases_queue",
            Rank::OverdueAhead => "INDEXED BY cases_queue_breached",
            Rank::Closing | Rank::Rest => "",
        }
    }

    /// A page of it (`$5` the limit, `$6` the offset within the rank). A page of `limit`
    /// cases has its ids cut from the index first, then reads only their cases; without a
    /// limit (`--all`) the cases are read along the index as they come: cut first, every id
    /// of the rank would be held and sorted again (185 MiB for `--all` at a million).
    fn page_sql(self, f: Filter<'_>, sqlite: bool, limited: bool) -> String {
        let (order, columns) = (self.order(), cases::CASE_COLUMNS);
        let (due, hint) = (self.due(), self.hint(f, sqlite));
        let (condition, filters) = (self.condition(), filters(f));
        if !limited {
            return format!(
                "SELECT {columns}, {due} FROM cases c {hint} WHERE {condition} AND {filters}
                 ORDER BY {order} LIMIT $5 OFFSET $6"
            );
        }
        format!(
            "SELECT {columns}, {due} FROM (
                SELECT c.id FROM cases c {hint} WHERE {condition} AND {filters}
                ORDER BY {order} LIMIT $5 OFFSET $6) p
             JOIN cases c ON c.id = p.id ORDER BY {order}"
        )
    }

    /// How many cases of it the filters select.
    fn count_sql(self, f: Filter<'_>, sqlite: bool) -> String {
        format!(
            "SELECT COUNT(*) FROM cases c {} WHERE {} AND {}",
            self.hint(f, sqlite),
            self.condition(),
            filters(f)
        )
    }
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

/// Calls `row` with each case of the queue at `now` in order (see [`Rank`]), the ones
/// `page` selects, as the database hands them over: memory stays flat however many cases
/// there are, and a page far down the queue skips whole ranks by their counts.
///
/// # Errors
/// Database failure, a row with an unknown due kind, or what `row` returns.
pub async fn each<E: From<Error>>(
    store: &Store,
    f: Filter<'_>,
    page: Page,
    now: Millis,
    mut row: impl FnMut(QueueRow) -> Result<(), E>,
) -> Result<(), E> {
    use futures_util::TryStreamExt;
    let sqlite = store.backend == Backend::Sqlite;
    let mut conn = store.pool.acquire().await.map_err(Error::from)?;
    let mut skip = page.offset;
    let mut left = page.limit;
    for rank in Rank::ALL {
        if left == Some(0) {
            break;
        }
        if (f.overdue_only && !rank.overdue()) || !rank.holds(f.status) {
            continue;
        }
        // Skip a whole rank when the page starts after it.
        if skip > 0 && rank != Rank::Rest {
            let n = count(&mut conn, &rank.count_sql(f, sqlite), f, now).await?;
            if skip >= n {
                skip -= n;
                continue;
            }
        }
        let limit = left.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let sql = rank.page_sql(f, sqlite, page.limit.is_some());
        let mut rows = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), f, now)
            .bind(limit)
            .bind(i64::try_from(skip).unwrap_or(i64::MAX))
            .fetch(&mut *conn);
        skip = 0;
        while let Some(r) = rows.try_next().await.map_err(Error::from)? {
            row(queue_row(&r)?)?;
            left = left.map(|l| l.saturating_sub(1));
        }
    }
    Ok(())
}

/// Runs a `COUNT(*)` text of the queue with the filter's values bound.
async fn count(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    f: Filter<'_>,
    now: Millis,
) -> Result<u64, Error> {
    let n: i64 = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), f, now)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Binds the filter's values `$1`–`$4` (see [`filters`], [`Rank::condition`]).
fn bind_filter<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    f: Filter<'q>,
    now: Millis,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(f.status.map_or("", Status::as_str))
        .bind(f.team.unwrap_or(""))
        .bind(f.requester.unwrap_or(""))
        .bind(now)
}

/// The cases of the queue `page` selects, in order (see [`each`]).
#[cfg(test)]
async fn queue(
    store: &Store,
    f: Filter<'_>,
    page: Page,
    now: Millis,
) -> Result<Vec<QueueRow>, Error> {
    let mut rows = Vec::new();
    each(store, f, page, now, |r| {
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

/// The counts of the queue at `now` under `f`, for the line under a page: the overdue ranks
/// counted on their indexes, the rest on the filters' own.
///
/// # Errors
/// Database failure.
pub async fn counts(store: &Store, f: Filter<'_>, now: Millis) -> Result<Counts, Error> {
    let sqlite = store.backend == Backend::Sqlite;
    let mut conn = store.pool.acquire().await?;
    let mut overdue = 0;
    for rank in [Rank::Overdue, Rank::OverdueAhead] {
        if rank.holds(f.status) {
            overdue += count(&mut conn, &rank.count_sql(f, sqlite), f, now).await?;
        }
    }
    let cases = if f.overdue_only {
        overdue
    } else {
        let sql = format!(
            "SELECT COUNT(*) FROM cases c WHERE {} AND $4 = $4",
            filters(f)
        );
        count(&mut conn, &sql, f, now).await?
    };
    Ok(Counts { cases, overdue })
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
pub async fn sla_report(store: &Store, since: Option<Millis>) -> Result<SlaReport, Error> {
    let pool = &store.pool;
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
        f.median_first_response_secs = median(store, column, (since, group), answered)
            .await?
            .map(secs);
        let column = "resolved_at";
        f.median_resolution_secs = median(store, column, (since, group), resolved)
            .await?
            .map(secs);
    }
    let (answered, resolved) = timed_total;
    total.median_first_response_secs = median(store, "first_response_at", (since, None), answered)
        .await?
        .map(secs);
    total.median_resolution_secs = median(store, "resolved_at", (since, None), resolved)
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
    store: &Store,
    column: &'static str,
    (since, group): (Option<Millis>, Option<(&str, i64)>),
    n: u64,
) -> Result<Option<i64>, Error> {
    if n == 0 {
        return Ok(None);
    }
    // SQLite's planner, its statistics sampled, may read a `--since` median from the
    // report's index and sort the group instead: it is told which index holds the order.
    let hint = match (store.backend, column, group.is_some()) {
        (Backend::Postgres, _, _) => "",
        (Backend::Sqlite, "first_response_at", true) => "INDEXED BY cases_first_response_time",
        (Backend::Sqlite, "first_response_at", false) => "INDEXED BY cases_first_response_time_all",
        (Backend::Sqlite, _, true) => "INDEXED BY cases_resolution_time",
        (Backend::Sqlite, _, false) => "INDEXED BY cases_resolution_time_all",
    };
    // Built from constants only; values are bound.
    let mut sql =
        format!("SELECT {column} - created_at FROM cases {hint} WHERE {column} IS NOT NULL");
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
        .fetch_all(&store.pool)
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
    use crate::store::{requests, testing};

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
        // L's own clock runs to 400000, but a task of it is due at 60000 (an answered one
        // was due at 20000); M's task is not due. Through the store, which keeps each case's
        // earliest open task date.
        seed(s, "L", "assigned", "due_at = 400000").await;
        seed(s, "M", "assigned", "target_secs = NULL").await;
        let (l, m) = (case_id(s, "L").await, case_id(s, "M").await);
        let mut tx = s.begin().await.unwrap();
        for (case, due, answered) in [(l, 60_000, false), (l, 20_000, true), (m, 500_000, false)] {
            let task = (("av", "bring mics", Some(Millis(due))), "tam@x", Millis(0));
            let t = requests::add_task(&mut tx, case, task.0, task.1, task.2)
                .await
                .unwrap();
            if answered {
                assert!(
                    requests::finish_task(&mut tx, t.id, ("done", None), "av@x", Millis(1))
                        .await
                        .unwrap()
                );
            }
        }
        tx.commit().await.unwrap();
    }

    async fn case_id(s: &Store, ticket: &str) -> CaseId {
        let id: i64 = sqlx::query_scalar("SELECT id FROM cases WHERE ticket = $1")
            .bind(ticket)
            .fetch_one(&s.pool)
            .await
            .unwrap();
        CaseId(id)
    }

    async fn tickets(s: &Store, f: Filter<'_>) -> Vec<String> {
        let rows = queue(s, f, Page::ALL, NOW).await.unwrap();
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
            let rows = queue(s, Filter::default(), Page::ALL, NOW).await.unwrap();
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
    async fn a_moved_task_takes_its_date_along() {
        for t in testing::stores().await {
            let s = &t.store;
            seed_queue(s).await;
            let (l, m) = (case_id(s, "L").await, case_id(s, "M").await);
            let mut tx = s.begin().await.unwrap();
            assert_eq!(requests::move_open_tasks(&mut tx, l, m).await.unwrap(), 1);
            tx.commit().await.unwrap();
            let rows = queue(s, Filter::default(), Page::ALL, NOW).await.unwrap();
            let by = |t: &str| rows.iter().find(|r| r.case.ticket == t).unwrap();
            assert_eq!(
                (by("L").overdue, by("L").due, by("L").due_at),
                (false, Some(DueKind::Resolution), Some(Millis(400_000))),
                "L's own clock, its task gone"
            );
            assert_eq!(
                (by("M").overdue, by("M").due, by("M").due_at),
                (true, Some(DueKind::Task), Some(Millis(60_000))),
                "M has L's task, and it is past its date"
            );
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
            for (status, want) in [(Status::Resolved, "H"), (Status::Closed, "I")] {
                let only = Filter {
                    status: Some(status),
                    ..Filter::default()
                };
                assert_eq!(tickets(s, only).await, [want], "{status}");
                assert_eq!(counts_of(s, only).await.cases, 1, "{status}");
            }
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
            let counts = counts(s, Filter::default(), NOW).await.unwrap();
            assert_eq!((counts.cases, counts.overdue), (13, 5));
            let counted = counts_of(s, overdue).await;
            assert_eq!((counted.cases, counted.overdue), (5, 5));
            t.cleanup().await;
        }
    }

    async fn counts_of(s: &Store, f: Filter<'_>) -> Counts {
        counts(s, f, NOW).await.unwrap()
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
                let got: Vec<String> = queue(s, Filter::default(), page, NOW)
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
            let rows = queue(s, overdue, page, NOW).await.unwrap();
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

            let report = sla_report(s, None).await.unwrap();
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

            let recent = sla_report(s, Some(Millis(9_000_000_000))).await.unwrap();
            assert_eq!(recent.groups.len(), 1);
            assert_eq!((recent.total.cases, recent.total.open), (1, 1));
            let none = sla_report(s, Some(Millis(9_000_000_001))).await.unwrap();
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
            let case = queue(s, Filter::default(), Page::ALL, NOW).await.unwrap()[0]
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
