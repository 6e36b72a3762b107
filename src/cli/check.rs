//! `helpdesk check`: validates the configuration, rules and templates (rendering each), then
//! opens the database and the Maildir and checks the outbox directory is writable. Reports every
//! check; exits non-zero when any fails.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::mailbox::Maildir;

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
    report(
        out,
        "templates",
        templates
            .check_all()
            .map(|n| format!("{n} rendered with a sample case"))
            .map_err(|e| e.to_string()),
    )?;
    let maildir_path = settings.maildir.clone();
    let outbox_dir = settings.outbox_dir.clone();
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
    let maildir = Maildir::open(&maildir_path)
        .and_then(|m| m.pending().map(|p| p.len()))
        .map(|n| format!("{}: {n} message(s) waiting", maildir_path.display()))
        .map_err(|e| format!("{}: {e}", maildir_path.display()));
    report(out, "inbound", maildir)?;
    report(out, "outbound", writable(&outbox_dir))?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn writable(dir: &Path) -> Result<String, String> {
    let fail = |e: std::io::Error| format!("{}: not writable: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".helpdesk-check");
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(format!("{}: file transport, writable", dir.display()))
}
