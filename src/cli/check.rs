//! `helpdesk check`: validates the configuration, rules and templates (rendering each), then
//! opens the database, opens the mailbox (logging in to the IMAP server) and tries the outbound
//! transport (an SMTP connection with login, or a writable directory). Reports every check;
//! exits non-zero when any fails.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::config::{SourceSettings, TransportSettings};
use crate::mailbox::{Imap, Maildir};
use crate::outbox::transport::Transport;

use super::App;

pub(super) async fn check_command(config: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let mut report =
        |out: &mut dyn Write, what: &str, result: Result<String, String>| -> std::io::Result<()> {
            match result {
                Ok(ok) => writeln!(out, "ok      {what:<10} {ok}"),
                Err(e) => {
                    failed = true;
                    writeln!(out, "FAILED  {what:<10} {e}")
                }
            }
        };
    let statics = super::load_static(config).map_err(|e| format!("{e:#}"));
    let (settings, rules, templates) = match statics {
        Ok(s) => s,
        Err(e) => {
            report(out, "config", Err(e))?;
            return Ok(ExitCode::FAILURE);
        }
    };
    report(out, "config", Ok(config.display().to_string()))?;
    let where_rules = settings
        .rules_path
        .as_ref()
        .map_or("built-in chart".to_owned(), |p| p.display().to_string());
    report(
        out,
        "rules",
        Ok(format!(
            "{where_rules}: {} categories",
            rules.categories().len()
        )),
    )?;
    let unreached: Vec<&str> = rules
        .teams()
        .into_iter()
        .filter(|t| settings.team(t).is_none())
        .collect();
    let teams = match (settings.teams.len(), unreached.is_empty()) {
        (n, true) => format!("{n} configured; every team the rules name is reachable"),
        (n, false) => format!(
            "{n} configured; cases of {} notify nobody until [teams.NAME] gives an address or members",
            unreached.join(", ")
        ),
    };
    report(out, "teams", Ok(teams))?;
    report(out, "calendar", Ok(settings.calendar.describe()))?;
    let sla = &settings.sla;
    let warn = sla.warn_at.map_or("no warnings".to_owned(), |f| {
        format!("warn at {:.0}% of a target", f * 100.0)
    });
    let digest = match sla.digest {
        crate::config::Digest::Business => "triage digest at odd working hours",
        crate::config::Digest::Always => "triage digest at every odd hour",
        crate::config::Digest::Off => "no triage digest",
    };
    report(
        out,
        "sla",
        Ok(format!(
            "{warn}; {digest}; follow-up after {}; reopen window {}",
            crate::classify::describe(sla.follow_up),
            crate::classify::describe(settings.reopen_window)
        )),
    )?;
    report(
        out,
        "templates",
        templates
            .check_all(rules.templates())
            .map(|n| format!("{n} rendered with a sample case"))
            .map_err(|e| e.to_string()),
    )?;
    let source = settings.source.clone();
    let transport = settings.transport.clone();
    let db = match App::connect(settings, rules, templates).await {
        Ok(app) => {
            app.store.close().await;
            Ok(format!(
                "{:?} database opened and migrated",
                app.store.backend
            ))
        }
        Err(e) => Err(format!("{e:#}")),
    };
    report(out, "database", db)?;
    report(out, "inbound", inbound(&source).await)?;
    report(out, "outbound", outbound(&transport).await)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn inbound(source: &SourceSettings) -> Result<String, String> {
    match source {
        SourceSettings::Maildir { path } => Maildir::open(path)
            .and_then(|m| m.pending().map(|p| p.len()))
            .map(|n| format!("{}: {n} message(s) waiting", path.display()))
            .map_err(|e| format!("{}: {e}", path.display())),
        SourceSettings::Imap(settings) => {
            let imap = Imap::new(settings).map_err(|e| e.to_string())?;
            let mut session = imap.open().await.map_err(|e| e.to_string())?;
            let waiting = session.waiting(0).await.map_err(|e| e.to_string())?;
            let idle = if session.uses_idle() {
                "IDLE"
            } else {
                "polling"
            };
            session.logout().await;
            Ok(format!(
                "{}: logged in, {} message(s) in the folder, {idle}",
                imap.describe(),
                waiting.len()
            ))
        }
    }
}

async fn outbound(settings: &TransportSettings) -> Result<String, String> {
    match settings {
        TransportSettings::File { dir } => writable(dir),
        TransportSettings::Smtp(_) => {
            let t = Transport::build(settings).map_err(|e| e.to_string())?;
            t.probe().await.map_err(|e| e.to_string())?;
            Ok(format!("{}: connected and logged in", t.describe()))
        }
    }
}

fn writable(dir: &Path) -> Result<String, String> {
    let fail = |e: std::io::Error| format!("{}: not writable: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".helpdesk-check");
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(format!("{}: file transport, writable", dir.display()))
}
