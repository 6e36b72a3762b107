//! Read-only views of the store: `cases list|show`, `quarantine list|show`, `outbox list`, as
//! aligned text for people or JSON for scripts.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::output::{cell, json};
use super::report;
use super::App;
use crate::model::{Status, TicketNo};
use crate::store::queues::{self, DueKind, Filter, Page, QueueRow};
use crate::store::{self, cases, casework, messages, outbox, quarantine, requests};

pub(super) async fn cases_list(
    app: &App,
    (filter, page): (Filter<'_>, Page),
    as_json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let (store, now) = (&app.store, crate::store::now_ms());
    if as_json {
        return cases_json(store, (filter, page), now, out).await;
    }
    let (mut shown, mut overdue) = (0u64, 0u64);
    queues::each(store, filter, page, now, |r| {
        if shown == 0 {
            writeln!(
                out,
                "  {:<11} {:<11} {:<21} {:>3}  {:<35} {:<24} SUBJECT",
                "TICKET", "STATUS", "CATEGORY", "PRI", "DUE", "REQUESTER"
            )?;
        }
        shown += 1;
        overdue += u64::from(r.overdue);
        let c = &r.case;
        writeln!(
            out,
            "{} {:<11} {:<11} {:<21} {:>3}  {:<35} {:<24} {}",
            if r.overdue { '!' } else { ' ' },
            c.ticket,
            c.status,
            cell(&c.category, 21),
            c.priority,
            due_cell(app, &r),
            cell(&c.requester, 24),
            cell(&c.subject, 60)
        )?;
        Ok::<_, anyhow::Error>(())
    })
    .await
    .context("while listing cases")?;
    // The page holds them all: no need to count again.
    let whole = page.offset == 0 && page.limit.is_none_or(|l| shown < l);
    let counts = if whole {
        queues::Counts {
            cases: shown,
            overdue,
        }
    } else {
        queues::counts(store, filter, now)
            .await
            .context("while counting cases")?
    };
    if counts.cases == 0 {
        let what = if filter.overdue_only { "overdue " } else { "" };
        writeln!(out, "no {what}cases")?;
        return Ok(ExitCode::SUCCESS);
    }
    if counts.overdue > 0 {
        writeln!(
            out,
            "\n! overdue: {} of {} cases",
            counts.overdue, counts.cases
        )?;
    }
    if !whole {
        writeln!(out, "{}", page_line(page, shown, counts.cases))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Under a page that is not the whole list: which cases it showed and how to see more.
fn page_line(page: Page, shown: u64, total: u64) -> String {
    let first = page.offset + 1;
    let last = page.offset + shown;
    let mut line = if shown == 0 {
        format!("no cases from {first} on: there are {total}")
    } else {
        format!("cases {first}-{last} of {total}")
    };
    if let Some(limit) = page.limit.filter(|_| last < total) {
        line += &format!(" (next: --offset {last} --limit {limit}; every case: --all)");
    }
    line
}

/// `cases list --json`: one array, each case written as it is read.
async fn cases_json(
    store: &crate::store::Store,
    (filter, page): (Filter<'_>, Page),
    now: crate::model::Millis,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let mut first = true;
    write!(out, "[")?;
    queues::each(store, filter, page, now, |r| {
        let text = serde_json::to_string_pretty(&r)?;
        let sep = if first { "\n" } else { ",\n" };
        first = false;
        write!(out, "{sep}{text}")?;
        Ok::<_, anyhow::Error>(())
    })
    .await
    .context("while listing cases")?;
    writeln!(out, "{}]", if first { "" } else { "\n" })?;
    Ok(ExitCode::SUCCESS)
}

/// The DUE column: which deadline, and when in the configured zone.
fn due_cell(app: &App, r: &QueueRow) -> String {
    let (Some(kind), Some(at)) = (r.due, r.due_at) else {
        return "-".to_owned();
    };
    let label = match kind {
        DueKind::Resolution => "resolve",
        DueKind::FirstResponse => "respond",
        DueKind::Closes => "closes",
        DueKind::Breached => "breached",
        DueKind::Task => "task",
    };
    format!("{label:<8} {}", app.settings.calendar.format(at))
}

/// The case a command line names, or the error that says there is none.
async fn named_case(
    pool: &sqlx::AnyPool,
    ticket: &str,
) -> anyhow::Result<(TicketNo, cases::CaseRow)> {
    let ticket = TicketNo::from_string(ticket.trim());
    match cases::by_ticket(pool, &ticket).await? {
        Some(case) => Ok((ticket, case)),
        None => anyhow::bail!("no case {ticket} (list them with `helpdesk cases list`)"),
    }
}

/// `cases attachment TICKET N [-o FILE]`: writes out file `number` of the case.
pub(super) async fn cases_attachment(
    app: &App,
    ticket: &str,
    number: usize,
    output: Option<&std::path::Path>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let pool = &app.store.pool;
    let (ticket, case) = named_case(pool, ticket).await?;
    let Some(file) = messages::case_file(pool, case.id, number).await? else {
        let count = messages::of_case(pool, case.id)
            .await?
            .iter()
            .map(|m| m.attachments.len())
            .sum::<usize>();
        anyhow::bail!(
            "{ticket} has no attachment {number}: it has {count} (numbered from 1 in `helpdesk cases show {ticket}`)"
        );
    };
    let bytes = match file.content {
        Some(bytes) => bytes,
        None => crate::parse::attachment_bytes(&file.raw, file.index).with_context(|| {
            format!("attachment {number} of {ticket} cannot be read back from its raw message")
        })?,
    };
    let name = crate::attach::filename(file.filename.as_deref(), &file.content_type, number);
    let path = match output {
        Some(p) if p.as_os_str() == "-" => {
            out.write_all(&bytes)?;
            out.flush()?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(p) => p.to_owned(),
        None => std::path::PathBuf::from(&name),
    };
    let mut options = crate::files::write_options();
    if output.is_none() {
        // Its own name in the current directory: never over a file that is there.
        options.create_new(true);
    }
    let mut f = options
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(
        out,
        "wrote {} ({}, {} bytes): attachment {number} of {ticket}, {name}",
        path.display(),
        file.content_type,
        bytes.len()
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn cases_show(
    app: &App,
    ticket: &str,
    as_json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let pool = &app.store.pool;
    let (_, case) = named_case(pool, ticket).await?;
    let inbound = messages::of_case(pool, case.id).await?;
    let outgoing = outbox::of_case(pool, case.id).await?;
    let events = cases::events(pool, case.id).await?;
    let links = casework::links(pool, case.id).await?;
    let tasks = requests::task_rows(pool, case.id, store::now_ms()).await?;
    let approvals = requests::approval_rows(pool, case.id).await?;
    let rating = requests::rating(pool, case.id).await?;
    let event = {
        let mut tx = pool.begin().await?;
        let e = requests::event(&mut tx, case.id).await?;
        tx.commit().await?;
        e.and_then(|e| serde_json::from_str::<serde_json::Value>(&e).ok())
    };
    let sla = queues::sla_state(pool, case.id)
        .await?
        .context("the case disappeared while it was being shown")?;
    if as_json {
        let v = serde_json::json!({
            "case": case, "messages": inbound, "outgoing": outgoing, "events": events,
            "links": links, "tasks": tasks, "approvals": approvals, "rating": rating,
            "event": event, "sla": sla,
        });
        return json(out, &v);
    }
    writeln!(out, "{}  {}", case.ticket, case.subject)?;
    writeln!(
        out,
        "  status     {}{}",
        case.status,
        case.pending_reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "  requester  {}{}",
        case.requester,
        case.requester_name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    )?;
    let category = app.rules.category(&case.category);
    let priority =
        category.and_then(|c| c.priority(u8::try_from(case.priority).unwrap_or(u8::MAX)));
    writeln!(
        out,
        "  category   {}{}",
        case.category,
        category
            .map(|c| format!(" — {}", c.name))
            .unwrap_or_default()
    )?;
    let assessed = match (&case.impact, &case.urgency) {
        (None, None) => String::new(),
        (i, u) => format!(
            " (impact {}, urgency {}{})",
            i.as_deref().unwrap_or("-"),
            u.as_deref().unwrap_or("-"),
            if case.priority_override {
                "; set by hand with /priority"
            } else {
                ""
            }
        ),
    };
    writeln!(
        out,
        "  priority   {}{}{assessed}",
        case.priority,
        priority.map(|p| format!(" {}", p.name)).unwrap_or_default()
    )?;
    writeln!(
        out,
        "  type       {}{}",
        case.case_type,
        if case.major {
            " — major incident"
        } else {
            ""
        }
    )?;
    writeln!(out, "  team       {}", case.team.as_deref().unwrap_or("-"))?;
    if let Some(a) = &case.assignee {
        writeln!(out, "  assignee   {a}")?;
    }
    if let Some(r) = &case.resolution {
        writeln!(out, "  resolution {r}")?;
    }
    if let Some(r) = &case.root_cause {
        writeln!(out, "  root cause {r}")?;
    }
    if let Some(w) = &case.workaround {
        writeln!(out, "  workaround {w}")?;
    }
    for l in &links {
        let why = l
            .why
            .as_deref()
            .map(|w| format!(": {w}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  linked     {} ({}, {}){why}",
            l.ticket, l.kind, l.status
        )?;
    }
    let calendar = &app.settings.calendar;
    let shown = |at: &Option<String>| {
        at.as_deref()
            .and_then(|a| a.parse::<jiff::Timestamp>().ok())
            .map(|t| calendar.format(crate::model::Millis(t.as_millisecond())))
    };
    for t in &tasks {
        let due = match shown(&t.due_at) {
            Some(d) if t.overdue => format!(", due {d}, OVERDUE"),
            Some(d) => format!(", due {d}"),
            None => String::new(),
        };
        let answer = match (&t.done_by, shown(&t.done_at)) {
            (Some(by), Some(at)) => format!(
                "; {} by {by}, {at}{}",
                t.status,
                t.outcome
                    .as_deref()
                    .map(|o| format!(": {o}"))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        };
        writeln!(
            out,
            "  task {:<5} {} [{}{due}] {} (by {}){answer}",
            t.label, t.team, t.status, t.text, t.created_by
        )?;
    }
    for a in &approvals {
        writeln!(
            out,
            "  approval   {} [{}; needs {}]{}{}",
            a.approver,
            a.status,
            a.needs,
            a.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default(),
            if a.reminders > 0 {
                format!(
                    " ({} reminder{})",
                    a.reminders,
                    if a.reminders == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            }
        )?;
    }
    if let Some(r) = rating {
        writeln!(
            out,
            "  rating     {r}/5 (the customer's verdict on the resolution)"
        )?;
    }
    if let Some(e) = &event {
        let list = |key: &str| {
            e[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|s| !s.is_empty())
        };
        writeln!(
            out,
            "  event      {}; place {}; {}",
            list("dates").unwrap_or_else(|| "dates not given".into()),
            e["place"].as_str().unwrap_or("not given"),
            e["site"].as_str().unwrap_or("site unknown"),
        )?;
        if let Some(missing) = list("missing") {
            writeln!(out, "  still asked {missing}")?;
        }
    }
    writeln!(
        out,
        "  rule       {}",
        case.rule.as_deref().unwrap_or("(none matched)")
    )?;
    if let Some(prev) = &case.previous_ticket {
        writeln!(out, "  follows    {prev}")?;
    }
    writeln!(
        out,
        "  created    {}   updated {}",
        case.created_at, case.updated_at
    )?;
    let status: Status = case.status.parse().map_err(anyhow::Error::msg)?;
    report::write_sla(
        out,
        &app.settings.calendar,
        status,
        &sla,
        crate::store::now_ms(),
    )?;
    let mut number = 0;
    for m in &inbound {
        let internal = if m.visibility == "internal" {
            ", internal"
        } else {
            ""
        };
        writeln!(
            out,
            "\n--- inbound {} from {} ({}{internal}; via {})",
            m.received_at, m.from, m.role, m.origin
        )?;
        writeln!(out, "Subject: {}", m.subject)?;
        if !m.auto_signals.is_empty() {
            writeln!(out, "Auto-generated: {}", m.auto_signals)?;
        }
        for a in &m.attachments {
            number += 1;
            let name = a.filename.as_deref().unwrap_or("(unnamed)");
            let note = a
                .omitted
                .as_deref()
                .map(|o| format!(" — {o}"))
                .unwrap_or_default();
            writeln!(
                out,
                "Attachment {number}: {name} ({}, {} bytes){note}",
                a.content_type, a.size
            )?;
        }
        writeln!(out, "\n{}", m.body)?;
    }
    for o in &outgoing {
        let when = o.sent_at.as_deref().unwrap_or(&o.created_at);
        writeln!(
            out,
            "\n--- outbound {when} to {} [{} {}; template {}]",
            o.recipient, o.kind, o.status, o.template
        )?;
        if let Some(subject) = &o.subject {
            writeln!(
                out,
                "Subject: {subject}\n\n{}",
                o.body.as_deref().unwrap_or("")
            )?;
        } else if let Some(e) = &o.last_error {
            writeln!(out, "Last error: {e}")?;
        }
    }
    writeln!(out, "\n--- events")?;
    for e in &events {
        writeln!(
            out,
            "{}  {:<26} {:<30} {}",
            e.at,
            e.kind,
            cell(&e.actor, 30),
            e.detail
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn quarantine_list(
    app: &App,
    as_json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let rows = quarantine::list(&app.store.pool)
        .await
        .context("while listing the quarantine")?;
    if as_json {
        return json(out, &rows);
    }
    if rows.is_empty() {
        writeln!(out, "quarantine is empty")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:>5}  {:<20} {:>9}  {:<30} ERROR",
        "ID", "RECEIVED", "BYTES", "ORIGIN"
    )?;
    for q in rows {
        writeln!(
            out,
            "{:>5}  {:<20} {:>9}  {:<30} {}",
            q.id,
            q.received_at,
            q.size,
            cell(&q.origin, 30),
            q.error
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn quarantine_show(
    app: &App,
    id: i64,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let Some(raw) = quarantine::raw(&app.store.pool, id).await? else {
        anyhow::bail!("no quarantined message {id} (list them with `helpdesk quarantine list`)");
    };
    out.write_all(&raw)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn outbox_list(
    app: &App,
    as_json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let rows = outbox::list(&app.store.pool)
        .await
        .context("while listing the outbox")?;
    if as_json {
        return json(out, &rows);
    }
    if rows.is_empty() {
        writeln!(out, "outbox is empty")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:>5}  {:<11} {:<8} {:>3}  {:<28} {:<26} LAST ERROR",
        "ID", "TICKET", "STATUS", "TRY", "RECIPIENT", "TEMPLATE"
    )?;
    for o in rows {
        writeln!(
            out,
            "{:>5}  {:<11} {:<8} {:>3}  {:<28} {:<26} {}",
            o.id,
            o.ticket.as_deref().unwrap_or("-"),
            o.status,
            o.attempts,
            cell(&o.recipient, 28),
            cell(&o.template, 26),
            o.last_error.as_deref().unwrap_or("")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
