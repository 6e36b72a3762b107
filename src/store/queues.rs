//! Views over the SLA clocks, read-only: the work queue behind `helpdesk cases list` (overdue
//! cases first, then by the next deadline), one case's SLA state for `cases show`, and the
//! per-category and priority figures of `helpdesk report sla`. The SQL only selects; which case
//! is overdue, the order and the medians are decided in Rust, so both backends agree.

use std::cmp::Reverse;
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

/// The clock columns a queue row is judged by, in ms.
#[derive(Debug, Clone, Copy, Default)]
struct Clocks {
    due_at: Option<Millis>,
    breached_at: Option<Millis>,
    first_response_due_at: Option<Millis>,
    first_response_at: Option<Millis>,
    close_at: Option<Millis>,
    /// The earliest date among the case's open tasks.
    task_due_at: Option<Millis>,
}

impl Clocks {
    /// Whether a case in `status` is overdue at `now` (the definition in [`QueueRow::overdue`]).
    fn overdue(&self, status: Status, now: Millis) -> bool {
        is_active(status)
            && (self.due_at.is_some_and(|d| d <= now)
                || self.breached_at.is_some()
                || self.awaited_response().is_some_and(|d| d <= now)
                || self.task_due_at.is_some_and(|d| d <= now))
    }

    /// The first-response deadline while no technician has answered.
    fn awaited_response(&self) -> Option<Millis> {
        self.first_response_due_at
            .filter(|_| self.first_response_at.is_none())
    }

    /// The deadline to show: the earlier of the resolution and the awaited first response for
    /// an active case (when it was missed, if both clocks are stopped but it is overdue), the
    /// auto-close for a resolved one.
    fn next_due(&self, status: Status, overdue: bool) -> Option<(DueKind, Millis)> {
        if status == Status::Resolved {
            return self.close_at.map(|at| (DueKind::Closes, at));
        }
        if !is_active(status) {
            return None;
        }
        let resolution = self.due_at.map(|at| (DueKind::Resolution, at));
        let response = self
            .awaited_response()
            .map(|at| (DueKind::FirstResponse, at));
        let task = self.task_due_at.map(|at| (DueKind::Task, at));
        let earliest = [resolution, response, task]
            .into_iter()
            .flatten()
            .min_by_key(|(_, at)| *at);
        earliest.or_else(|| {
            self.breached_at
                .filter(|_| overdue)
                .map(|at| (DueKind::Breached, at))
        })
    }
}

/// Open, in progress, assigned or pending: someone still owes the customer work.
fn is_active(status: Status) -> bool {
    matches!(
        status,
        Status::Open | Status::InProgress | Status::Assigned | Status::Pending
    )
}

/// The clock columns that follow [`cases::CASE_COLUMNS`] in a queue row: the case's own, and
/// the earliest date of its open tasks.
const CLOCK_COLUMNS: &str =
    "c.due_at, c.breached_at, c.first_response_due_at, c.first_response_at, c.close_at,
     (SELECT MIN(t.due_at) FROM tasks t WHERE t.case_id = c.id AND t.status = 'open')";

fn queue_row(r: &AnyRow, now: Millis) -> Result<QueueRow, Error> {
    let case = cases::case_row(r)?;
    let clocks = Clocks {
        due_at: r.try_get(24)?,
        breached_at: r.try_get(25)?,
        first_response_due_at: r.try_get(26)?,
        first_response_at: r.try_get(27)?,
        close_at: r.try_get(28)?,
        task_due_at: r.try_get(29)?,
    };
    let status: Status = case.status.parse().map_err(Error::Corrupt)?;
    let overdue = clocks.overdue(status, now);
    let due = clocks.next_due(status, overdue);
    Ok(QueueRow {
        case,
        overdue,
        due: due.map(|(kind, _)| kind),
        due_at: due.map(|(_, at)| at),
    })
}

/// The queue at `now`: overdue cases first, the most overdue (earliest deadline) on top; then
/// active cases by deadline; then resolved cases by when they close; then the rest. Ties: the
/// newest case first.
///
/// # Errors
/// Database failure, or a row with an unknown status.
pub async fn queue(
    pool: &sqlx::AnyPool,
    f: Filter<'_>,
    now: Millis,
) -> Result<Vec<QueueRow>, Error> {
    // The column list is a constant; only values are bound.
    let sql = format!(
        "SELECT {}, {CLOCK_COLUMNS} FROM cases c
         WHERE ($1 = '' OR c.status = $1) AND ($2 = '' OR c.team = $2)",
        cases::CASE_COLUMNS
    );
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(f.status.map_or("", Status::as_str))
        .bind(f.team.unwrap_or(""))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| queue_row(r, now))
        .collect::<Result<Vec<_>, Error>>()?;
    rows.retain(|r| r.overdue || !f.overdue_only);
    rows.sort_by_key(|r| {
        let rank = match (r.overdue, r.due) {
            (true, _) => 0,
            (false, Some(DueKind::Closes)) => 2,
            (false, Some(_)) => 1,
            (false, None) => 3,
        };
        (rank, r.due_at.unwrap_or_default(), Reverse(r.case.id.0))
    });
    Ok(rows)
}

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

/// The facts of one case the report counts.
#[derive(Debug, Clone)]
struct Outcome {
    category: String,
    priority: i64,
    has_target: bool,
    done: bool,
    breached: bool,
    first_response_breached: bool,
    first_response_ms: Option<i64>,
    resolution_ms: Option<i64>,
}

/// The SLA report over cases created at or after `since` (ms; `None`: all cases).
///
/// # Errors
/// Database failure.
pub async fn sla_report(pool: &sqlx::AnyPool, since: Option<Millis>) -> Result<SlaReport, Error> {
    let outcomes = sqlx::query(
        r#"SELECT category, priority, target_secs, status, breached_at,
                  first_response_breached_at, first_response_at - created_at,
                  resolved_at - created_at
           FROM cases WHERE created_at >= $1"#,
    )
    .bind(since.unwrap_or(Millis(i64::MIN)))
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        let status: String = r.try_get(3)?;
        Ok(Outcome {
            category: r.try_get(0)?,
            priority: r.try_get(1)?,
            has_target: r.try_get::<Option<i64>, _>(2)?.is_some(),
            done: status == Status::Resolved.as_str() || status == Status::Closed.as_str(),
            breached: r.try_get::<Option<i64>, _>(4)?.is_some(),
            first_response_breached: r.try_get::<Option<i64>, _>(5)?.is_some(),
            first_response_ms: r.try_get(6)?,
            resolution_ms: r.try_get(7)?,
        })
    })
    .collect::<Result<Vec<_>, Error>>()?;
    Ok(tally(&outcomes))
}

/// Counts and medians in progress.
#[derive(Default)]
struct Tally {
    figures: SlaFigures,
    first_response_ms: Vec<i64>,
    resolution_ms: Vec<i64>,
}

impl Tally {
    fn add(&mut self, o: &Outcome) {
        let f = &mut self.figures;
        f.cases += 1;
        match (o.has_target, o.breached, o.done) {
            (false, _, _) => f.no_sla += 1,
            (true, true, _) => f.breached += 1,
            (true, false, true) => f.met += 1,
            (true, false, false) => f.open += 1,
        }
        if o.first_response_breached {
            f.first_response_breached += 1;
        } else if o.first_response_ms.is_some() {
            f.first_response_met += 1;
        }
        self.first_response_ms.extend(o.first_response_ms);
        self.resolution_ms.extend(o.resolution_ms);
    }

    fn finish(mut self) -> SlaFigures {
        self.figures.median_first_response_secs = median(&mut self.first_response_ms).map(secs);
        self.figures.median_resolution_secs = median(&mut self.resolution_ms).map(secs);
        self.figures
    }
}

fn tally(outcomes: &[Outcome]) -> SlaReport {
    let mut groups: BTreeMap<(&str, i64), Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for o in outcomes {
        groups
            .entry((o.category.as_str(), o.priority))
            .or_default()
            .add(o);
        total.add(o);
    }
    SlaReport {
        groups: groups
            .into_iter()
            .map(|((category, priority), t)| SlaGroup {
                category: category.to_owned(),
                priority,
                figures: t.finish(),
            })
            .collect(),
        total: total.finish(),
    }
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &mut [i64]) -> Option<i64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some(values[n / 2 - 1] + (values[n / 2] - values[n / 2 - 1]) / 2),
    }
}

fn secs(ms: i64) -> i64 {
    ms / 1000
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
        let rows = queue(&s.pool, f, NOW).await.unwrap();
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
            let rows = queue(&s.pool, Filter::default(), NOW).await.unwrap();
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
            };
            assert_eq!(tickets(s, all).await, ["A"]);
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
            let case = queue(&s.pool, Filter::default(), NOW).await.unwrap()[0]
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

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_two_middle_values() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3, 1, 2]), Some(2));
        assert_eq!(median(&mut [10, 1, 4, 7]), Some(5));
    }
}
