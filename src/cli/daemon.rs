//! `helpdesk run`: the daemon on the configured mailbox, stopped by SIGTERM or SIGINT and
//! reloaded by SIGHUP; with `--once`, one pass over the mailbox, the clocks and the outbox.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::App;
use crate::config::SourceSettings;
use crate::daemon::{Daemon, Source};
use crate::mailbox::{Imap, Maildir};

pub(super) async fn run_command(
    config: &Path,
    once: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let app = App::load(config).await?;
    app.keep_to_one_cpu();
    let source = match &app.settings.source {
        SourceSettings::Maildir { path } => Source::Maildir(
            Maildir::open(path).context("while opening the Maildir ([inbound] path)")?,
        ),
        SourceSettings::Imap(imap) => Source::Imap(Box::new(Imap::new(imap)?)),
        SourceSettings::Stdin => Source::Stdin,
        SourceSettings::Lmtp { listen, group } => Source::Lmtp {
            listen: listen.clone(),
            group: group.as_ref().map(|(_, gid)| *gid),
        },
    };
    let pipeline = app.pipeline();
    let daemon = Daemon {
        outbox: app.outbox(pipeline.catalog.clone())?,
        pipeline,
        source,
    };
    let report = if once {
        daemon.run_once().await?
    } else {
        let cancel = CancellationToken::new();
        let reload = Arc::new(Notify::new());
        spawn_signal_handler(cancel.clone(), reload.clone())?;
        if let Some(listen) = app.settings.metrics_listen {
            let handle = crate::telemetry::install()?;
            crate::telemetry::serve(listen, handle, cancel.clone()).await?;
        }
        daemon.run(cancel, reload).await?
    };
    app.store.close().await;
    if once {
        writeln!(
            out,
            "created {}, joined {}, duplicates {}, quarantined {}, mail sent {}, retrying {}, failed {}; \
             closed {}, sla warnings {}, sla breaches {}, follow-ups {}, digests {}",
            report.created, report.joined, report.duplicates, report.quarantined,
            report.delivery.sent, report.delivery.retried, report.delivery.failed,
            report.clocks.closed, report.clocks.warnings, report.clocks.breaches,
            report.clocks.reminders, report.clocks.digests
        )?;
        tracing::info!(
            messages = report.messages(),
            intake_secs = report.intake_time.as_secs_f64(),
            clocks_secs = report.clocks_time.as_secs_f64(),
            sent = report.delivery.sent,
            delivery_secs = report.delivery_time.as_secs_f64(),
            "run --once finished"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM and SIGINT cancel the daemon; SIGHUP asks it to reload the rules and templates.
/// Installed before the daemon reports ready: SIGHUP would otherwise end the process.
fn spawn_signal_handler(cancel: CancellationToken, reload: Arc<Notify>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term =
        signal(SignalKind::terminate()).context("while installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("while installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("while installing the SIGHUP handler")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
                _ = hup.recv() => {
                    tracing::info!("SIGHUP received: reloading the rules and templates");
                    reload.notify_one();
                    continue;
                }
            }
            cancel.cancel();
            return;
        }
    });
    Ok(())
}
