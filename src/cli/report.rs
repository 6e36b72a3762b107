//! The SLA as people read it: `helpdesk report sla` (targets met and missed per category and
//! priority, median response and resolution times), and the SLA lines of `cases show`; and the
//! customers' verdicts: `helpdesk report satisfaction` (ratings per category and team). Times
//! are shown in the configured `[calendar]` zone, durations as `3h 12m` or `2d 4h`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::App;
use crate::calendar::Calendar;
use crate::model::{Millis, Status};
use crate::store::format_ms;
use crate::store::queues::{self, SlaFigures, SlaReport, SlaState};

/// Parses `--since`: a calendar date, `YYYY-MM-DD`.
///
/// # Errors
/// What was expected, for clap's message.
pub(super) fn parse_date(s: &str) -> Result<Date, String> {
    let s = s.trim();
    let expected = || format!("expected a date YYYY-MM-DD, e.g. 2026-01-31, not `{s}`");
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(expected());
    }
    s.parse::<Date>()
        .map_err(|e| format!("{} ({e})", expected()))
}

/// Midnight starting `date` in the calendar's zone, in ms.
fn start_of(date: Date, calendar: &Calendar) -> anyhow::Result<Millis> {
    // A zone the calendar names but the database cannot resolve is the system's own.
    let tz = TimeZone::get(calendar.tz_name()).unwrap_or_else(|_| TimeZone::system());
    let start = date.to_zoned(tz).with_context(|| {
        format!(
            "while finding the start of {date} in {}",
            calendar.tz_name()
        )
    })?;
    Ok(Millis(start.timestamp().as_millisecond()))
}

pub(super) async fn sla_command(
    app: &App,
    since: Option<Date>,
    as_json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let calendar = &app.settings.calendar;
    let since_ms = since.map(|d| start_of(d, calendar)).transpose()?;
    let report = queues::sla_report(&app.store, since_ms)
        .await
        .context("while reading the SLA figures")?;
    if as_json {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            since: Option<String>,
            #[serde(flatten)]
            report: &'a SlaReport,
        }
        let since = since_ms.map(format_ms);
        return super::output::json(
            out,
            &Json {
                since,
                report: &report,
            },
        );
    }
    period(out, since, calendar)?;
    if report.groups.is_empty() {
        writeln!(out, "no cases")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<21} {:>3} {:>6} {:>5} {:>9} {:>5} {:>7} {:>7} {:>12}  {:>14}  {:>10}",
        "CATEGORY",
        "PRI",
        "CASES",
        "MET",
        "BREACHED",
        "OPEN",
        "NO SLA",
        "FR MET",
        "FR BREACHED",
        "FIRST RESPONSE",
        "RESOLUTION"
    )?;
    for g in &report.groups {
        let pri = g.priority.to_string();
        figures_line(out, &super::output::cell(&g.category, 21), &pri, &g.figures)?;
    }
    figures_line(out, "TOTAL", "", &report.total)?;
    Ok(ExitCode::SUCCESS)
}

/// Ratings of one group: how many of each score, 1 to 5.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(super) struct Ratings {
    /// The category or team; `(no team)` for cases without one, `TOTAL` for all.
    pub name: String,
    /// Rated cases.
    pub count: i64,
    /// Cases rated 1, 2, 3, 4 and 5.
    pub distribution: [i64; 5],
}

impl Ratings {
    /// The mean score, when anyone rated.
    pub fn average(&self) -> Option<f64> {
        let sum: i64 = (1..=5).zip(self.distribution).map(|(s, n)| s * n).sum();
        #[allow(clippy::cast_precision_loss)]
        (self.count > 0).then(|| sum as f64 / self.count as f64)
    }
}

/// The ratings per category, per team and in total. Pure.
pub(super) fn satisfaction(
    rows: &[crate::store::requests::RatingCount],
) -> (Vec<Ratings>, Vec<Ratings>, Ratings) {
    use std::collections::BTreeMap;
    let mut categories: BTreeMap<&str, Ratings> = BTreeMap::new();
    let mut teams: BTreeMap<&str, Ratings> = BTreeMap::new();
    let mut total = Ratings {
        name: "TOTAL".into(),
        ..Ratings::default()
    };
    for r in rows.iter().filter(|r| (1..=5).contains(&r.score)) {
        let team = r.team.as_deref().unwrap_or("(no team)");
        for (map, key) in [(&mut categories, r.category.as_str()), (&mut teams, team)] {
            let g = map.entry(key).or_insert_with(|| Ratings {
                name: key.to_owned(),
                ..Ratings::default()
            });
            g.count += r.cases;
            g.distribution[usize::from(r.score - 1)] += r.cases;
        }
        total.count += r.cases;
        total.distribution[usize::from(r.score - 1)] += r.cases;
    }
    (
        categories.into_values().collect(),
        teams.into_values().collect(),
        total,
    )
}

pub(super) async fn satisfaction_command(
    app: &App,
    since: Option<Date>,
    as_json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let calendar = &app.settings.calendar;
    let from = since
        .map(|d| start_of(d, calendar))
        .transpose()?
        .unwrap_or(Millis(i64::MIN));
    let rows = crate::store::requests::rating_counts(&app.store.pool, (from, Millis(i64::MAX)))
        .await
        .context("while reading the ratings")?;
    let (categories, teams, total) = satisfaction(&rows);
    if as_json {
        let group = |g: &Ratings| {
            serde_json::json!({
                "name": g.name, "count": g.count, "average": g.average(),
                "distribution": g.distribution,
            })
        };
        let v = serde_json::json!({
            "since": since.map(|d| d.to_string()),
            "categories": categories.iter().map(group).collect::<Vec<_>>(),
            "teams": teams.iter().map(group).collect::<Vec<_>>(),
            "total": group(&total),
        });
        return super::output::json(out, &v);
    }
    period(out, since, calendar)?;
    if total.count == 0 {
        writeln!(
            out,
            "no ratings yet (customers rate by replying to the resolution notice)"
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    for (title, groups) in [("CATEGORY", &categories), ("TEAM", &teams)] {
        writeln!(
            out,
            "{title:<21} {:>6} {:>7}  {:>4} {:>4} {:>4} {:>4} {:>4}",
            "RATED", "AVERAGE", "1", "2", "3", "4", "5"
        )?;
        for g in groups.iter() {
            ratings_line(out, g)?;
        }
        writeln!(out)?;
    }
    ratings_line(out, &total)?;
    Ok(ExitCode::SUCCESS)
}

fn ratings_line(out: &mut impl Write, g: &Ratings) -> anyhow::Result<()> {
    let [a, b, c, d, e] = g.distribution;
    writeln!(
        out,
        "{:<21} {:>6} {:>7}  {a:>4} {b:>4} {c:>4} {d:>4} {e:>4}",
        super::output::cell(&g.name, 21),
        g.count,
        g.average()
            .map_or_else(|| "-".to_owned(), |avg| format!("{avg:.2}")),
    )?;
    Ok(())
}

/// The report's first line: which cases it covers.
fn period(out: &mut impl Write, since: Option<Date>, calendar: &Calendar) -> anyhow::Result<()> {
    match since {
        Some(d) => writeln!(out, "cases created since {d} ({})", calendar.tz_name())?,
        None => writeln!(out, "all cases")?,
    }
    Ok(())
}

fn figures_line(
    out: &mut impl Write,
    category: &str,
    priority: &str,
    f: &SlaFigures,
) -> anyhow::Result<()> {
    let median = |secs: Option<i64>| secs.map_or_else(|| "-".to_owned(), human_duration);
    writeln!(
        out,
        "{category:<21} {priority:>3} {:>6} {:>5} {:>9} {:>5} {:>7} {:>7} {:>12}  {:>14}  {:>10}",
        f.cases,
        f.met,
        f.breached,
        f.open,
        f.no_sla,
        f.first_response_met,
        f.first_response_breached,
        median(f.median_first_response_secs),
        median(f.median_resolution_secs),
    )?;
    Ok(())
}

/// A duration for people, in its two largest units: `45s`, `12m`, `3h 12m`, `2d 4h`.
pub(super) fn human_duration(secs: i64) -> String {
    if secs < 0 {
        return format!("-{}", human_duration(secs.saturating_neg()));
    }
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// The SLA lines of `cases show`: target and clock, resolution due (or why not), breach,
/// first response, and the auto-close of a resolved case.
pub(super) fn write_sla(
    out: &mut impl Write,
    calendar: &Calendar,
    status: Status,
    sla: &SlaState,
    now: Millis,
) -> anyhow::Result<()> {
    let at = |ms: Millis| calendar.format(ms);
    let late = |ms: Millis| if ms <= now { "  OVERDUE" } else { "" };
    match sla.target_secs {
        None => writeln!(out, "  sla        no SLA")?,
        Some(secs) => {
            let clock = sla.target_clock.as_deref().unwrap_or("24x7");
            writeln!(
                out,
                "  sla        target {} ({clock})",
                human_duration(secs)
            )?;
            // Pending, resolved and closed stop the resolution clock.
            let running = matches!(status, Status::Open | Status::InProgress | Status::Assigned);
            match (sla.due_at, running) {
                (Some(due), true) => writeln!(out, "  due        {}{}", at(due), late(due))?,
                (None, true) => writeln!(out, "  due        stopped")?,
                (_, false) => writeln!(out, "  due        stopped ({status})")?,
            }
        }
    }
    if let Some(b) = sla.breached_at {
        writeln!(out, "  breached   {}", at(b))?;
    }
    let missed = sla
        .first_response_breached_at
        .map(|b| format!(", target missed {}", at(b)))
        .unwrap_or_default();
    match (sla.first_response_at, sla.first_response_due_at) {
        (Some(a), _) => writeln!(out, "  response   answered {}{missed}", at(a))?,
        (None, Some(due)) => writeln!(out, "  response   due {}{}{missed}", at(due), late(due))?,
        (None, None) if !missed.is_empty() => writeln!(out, "  response   awaited{missed}")?,
        (None, None) => {}
    }
    if let (Status::Resolved, Some(c)) = (status, sla.close_at) {
        writeln!(out, "  closes     {}", at(c))?;
    }
    if let Some(c) = sla.closed_at.filter(|_| status == Status::Closed) {
        writeln!(out, "  closed     {}", at(c))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::requests::RatingCount;

    #[test]
    fn ratings_are_counted_averaged_and_spread_per_category_and_team() {
        let row = |category: &str, team: Option<&str>, score: u8, cases: i64| RatingCount {
            category: category.into(),
            team: team.map(Into::into),
            score,
            cases,
        };
        let rows = [
            row("break_fix", Some("network"), 5, 3),
            row("break_fix", Some("network"), 2, 1),
            row("break_fix", None, 4, 1),
            row("training", Some("instructional"), 1, 2),
            // Out of range: a stored score helpdesk never writes is left out.
            row("training", Some("instructional"), 9, 7),
        ];
        let (categories, teams, total) = satisfaction(&rows);
        let names: Vec<&str> = categories.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["break_fix", "training"]);
        assert_eq!(categories[0].count, 5);
        assert_eq!(categories[0].distribution, [0, 1, 0, 1, 3]);
        assert_eq!(categories[0].average(), Some(21.0 / 5.0));
        let teams: Vec<(&str, i64)> = teams.iter().map(|g| (g.name.as_str(), g.count)).collect();
        assert_eq!(
            teams,
            [("(no team)", 1), ("instructional", 2), ("network", 4)]
        );
        assert_eq!(total.count, 7);
        assert_eq!(total.distribution, [2, 1, 0, 1, 3]);
        assert_eq!(Ratings::default().average(), None);
    }

    #[test]
    fn durations_read_in_their_two_largest_units() {
        for (secs, text) in [
            (0, "0s"),
            (45, "45s"),
            (720, "12m"),
            (3600, "1h"),
            (3 * 3600 + 12 * 60 + 5, "3h 12m"),
            (86_400, "1d"),
            (2 * 86_400 + 4 * 3600 + 59, "2d 4h"),
            (-90, "-1m"),
        ] {
            assert_eq!(human_duration(secs), text, "{secs}");
        }
    }

    #[test]
    fn since_takes_a_plain_date_only() {
        assert_eq!(parse_date("2026-01-31"), Ok(jiff::civil::date(2026, 1, 31)));
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-1-31",
            "2026-01-31T10:00",
            "",
        ] {
            let err = parse_date(bad).unwrap_err();
            assert!(err.contains("expected a date YYYY-MM-DD"), "{bad}: {err}");
        }
    }
}
