//! The SLA as people read it: `helpdesk report sla` (targets met and missed per category and
//! priority, median response and resolution times), and the SLA lines of `cases show`. Times
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
    let report = queues::sla_report(&app.store.pool, since_ms)
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
    match since {
        Some(d) => writeln!(out, "cases created since {d} ({})", calendar.tz_name())?,
        None => writeln!(out, "all cases")?,
    }
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
