//! The commands that change the store by hand: `cases status|resolve|reopen` (through the
//! status machine, as a technician's mail would) and `outbox retry`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::App;
use crate::casework::Manual;
use crate::lifecycle;
use crate::model::{Status, TicketNo};
use crate::store::outbox;

pub(super) async fn outbox_retry(
    app: &App,
    id: Option<i64>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let pool = &app.store.pool;
    let which = id.map_or(outbox::Requeue::AllFailed, outbox::Requeue::One);
    let ids = outbox::requeue(pool, which, crate::store::now_ms())
        .await
        .context("while re-queueing outgoing mail")?;
    if let Some(id) = id {
        if ids.is_empty() {
            let status = outbox::status_of(pool, id).await?;
            match status {
                None => anyhow::bail!("there is no outbox row {id} (see `helpdesk outbox list`)"),
                Some(s) => anyhow::bail!(
                    "outbox row {id} is {s}; only failed or waiting mail can be retried"
                ),
            }
        }
    }
    writeln!(
        out,
        "re-queued {} mail; a running daemon sends it within its poll interval",
        ids.len()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The status-machine event for `helpdesk cases status TICKET STATUS [REASON…]`.
///
/// # Errors
/// A pending status without a known reason, or a reason given to another status.
pub(super) fn status_event(status: Status, reason: &[String]) -> anyhow::Result<lifecycle::Event> {
    let words = reason.join(" ");
    let words = words.trim();
    match status {
        Status::Pending => {
            let (why, text) = words.split_once(char::is_whitespace).unwrap_or((words, ""));
            let why = why.to_ascii_lowercase();
            if !crate::commands::PENDING_REASONS.contains(&why.as_str()) {
                anyhow::bail!(
                    "pending needs a reason: {} (then optional text), e.g. `helpdesk cases status HD-000123 pending vendor part ordered`",
                    crate::commands::PENDING_REASONS.join(", ")
                );
            }
            let text = text.trim();
            let reason = if text.is_empty() {
                why
            } else {
                format!("{why}: {text}")
            };
            Ok(lifecycle::Event::Set(Status::Pending, Some(reason)))
        }
        s if !words.is_empty() => anyhow::bail!("only pending takes a reason, not {s}"),
        s => Ok(lifecycle::Event::Set(s, None)),
    }
}

/// Applies a status change from the command line and reports it; a refused transition is an
/// error that says why and changes nothing.
pub(super) async fn change_status(
    app: &App,
    ticket: &str,
    event: &lifecycle::Event,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let ticket = TicketNo::from_string(ticket.trim());
    let actor = format!(
        "cli:{}",
        std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "admin".into())
    );
    let done = app
        .pipeline()
        .change_status(&ticket, event, &actor, crate::store::now_ms())
        .await
        .context("while changing the case")?;
    match done {
        Manual::Done {
            status,
            customer_told,
        } => {
            let told = if customer_told {
                "; the customer's notice is in the outbox"
            } else {
                ""
            };
            writeln!(out, "{ticket}: {status}{told}")?;
            Ok(ExitCode::SUCCESS)
        }
        Manual::NoCase => anyhow::bail!("no case {ticket} (list them with `helpdesk cases list`)"),
        Manual::Refused(why) => anyhow::bail!("refused, nothing changed: {why}"),
    }
}
