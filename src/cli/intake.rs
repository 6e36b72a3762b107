//! `helpdesk ingest` (one message from an MTA's pipe or a file) and `helpdesk import` (a
//! backlog from an mbox file or a Maildir backup).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::{App, ImportCommand, EXIT_TEMPFAIL};
use crate::casework::Pipeline;
use crate::ingest::{Item, Outcome};
use crate::mailbox::limited;
use crate::store;

pub(super) async fn ingest_command(
    config: &Path,
    file: Option<&Path>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let result = async {
        let app = App::load(config).await?;
        let pipeline = app.pipeline();
        let max = pipeline.settings.max_message_size;
        // A message over the size limit is never held whole: its head goes to the quarantine.
        let read = match file {
            Some(f) => limited::read_file(f, max)
                .with_context(|| format!("while reading {}", f.display()))?,
            None => {
                limited::read_stream(std::io::stdin().lock(), max).context("while reading stdin")?
            }
        };
        let origin = file.map_or_else(|| "stdin".to_owned(), |f| format!("file:{}", f.display()));
        let refused = read.refused(max);
        let item = Item {
            raw: &read.bytes,
            origin: &origin,
            refused: refused.as_deref(),
        };
        let mut outcomes = pipeline
            .ingest_batch(&[item], store::now_ms(), None)
            .await?;
        app.store.close().await;
        anyhow::Ok(outcomes.pop().expect("one outcome per message"))
    }
    .await;
    match result {
        Ok(Outcome::Quarantined { reason, .. }) => writeln!(out, "quarantined: {reason}")?,
        Ok(outcome) => writeln!(
            out,
            "{}",
            outcome
                .ticket()
                .map(ToString::to_string)
                .unwrap_or_default()
        )?,
        Err(e) => {
            eprintln!("helpdesk: the message was not stored: {e:#}");
            return Ok(ExitCode::from(EXIT_TEMPFAIL));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn import_command(
    config: &Path,
    cmd: ImportCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    use crate::import::{self, Backlog};
    let (backlog, acknowledge) = match cmd {
        ImportCommand::Mbox { file, acknowledge } => (Backlog::Mbox(file), acknowledge),
        ImportCommand::Maildir { dir, acknowledge } => (Backlog::Maildir(dir), acknowledge),
    };
    backlog.check()?;
    let app = App::load(config).await?;
    app.keep_to_one_cpu();
    let pipeline = Pipeline {
        import: Some(crate::casework::Import { acknowledge }),
        ..app.pipeline()
    };
    let result = import::import(&pipeline, &backlog, &import::progress_bar()).await;
    // A backlog can be most of the database: the planner's statistics are renewed at once,
    // not at the daemon's next pass (best effort: the import itself is done).
    if let Err(error) = app.store.optimize().await {
        tracing::warn!(%error, "the planner's statistics were not renewed after the import");
    }
    app.store.close().await;
    match result {
        Ok(summary) => {
            writeln!(out, "{summary}")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(stopped) => {
            writeln!(out, "{}", stopped.done)?;
            eprintln!(
                "helpdesk: the import stopped after {} message(s): {:#}",
                stopped.done.messages(),
                stopped.error
            );
            if stopped.transient {
                eprintln!("helpdesk: run the same import again to resume: what is stored already counts as duplicates");
                Ok(ExitCode::from(EXIT_TEMPFAIL))
            } else {
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
