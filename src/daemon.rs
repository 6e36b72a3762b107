//! The supervisor behind `helpdesk run`: the intake loop (Maildir → ingest → ack) and the
//! outbox worker as tasks under one [`CancellationToken`] and [`TaskTracker`]. Stopping means:
//! tell (cancel), wait (the message and the send in hand finish), and give up after a bounded
//! grace period. `run --once` drains the mailbox and the outbox and returns.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ingest::{Outcome, Pipeline};
use crate::mailbox::Maildir;
use crate::outbox::{Delivery, Outbox};
use crate::store;

/// How long stopping may take before the daemon exits anyway; below systemd's default
/// `TimeoutStopSec` of 90 s.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Longest pause after repeated database failures.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

/// What a run did, for `run --once` and the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// New cases opened.
    pub created: usize,
    /// Messages added to existing cases (replies, bounces).
    pub joined: usize,
    /// Messages seen before.
    pub duplicates: usize,
    /// Messages quarantined.
    pub quarantined: usize,
    /// Messages left in the mailbox because the database was unavailable.
    pub deferred: usize,
    /// Outgoing mail delivered.
    pub delivery: Delivery,
}

/// The daemon's parts.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// Ingest.
    pub pipeline: Pipeline,
    /// Outgoing mail.
    pub outbox: Outbox,
    /// The inbound Maildir.
    pub maildir: Maildir,
}

impl Daemon {
    /// Processes everything in the mailbox, then everything due in the outbox, and returns.
    ///
    /// # Errors
    /// The mailbox cannot be read, or the database fails while delivering.
    pub async fn run_once(&self) -> anyhow::Result<Report> {
        let never = CancellationToken::new();
        let mut report = Report::default();
        self.drain_mailbox(&never, &mut report).await?;
        report.delivery = self.outbox.deliver_due(&never).await?;
        Ok(report)
    }

    /// Runs until `cancel` fires, then stops within [`SHUTDOWN_GRACE`].
    ///
    /// # Errors
    /// The mailbox cannot be read at start.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<Report> {
        let poll = self.pipeline.settings.poll_interval;
        let tracker = TaskTracker::new();
        let wake_outbox = Arc::new(Notify::new());
        tracker.spawn(
            self.outbox
                .clone()
                .run(wake_outbox.clone(), cancel.clone(), poll),
        );
        // Capacity 1: a pending wake-up already means "scan again"; more carry no information.
        let (wake_tx, mut wake_rx) = mpsc::channel(1);
        let _watcher = match self.maildir.watch(wake_tx) {
            Ok(w) => Some(w),
            Err(error) => {
                tracing::warn!(%error, every = ?poll, "cannot watch the Maildir; polling instead");
                None
            }
        };
        tracing::info!(maildir = %self.maildir.root().display(), outbound = %self.outbox.transport.describe(), "helpdesk running");
        let mut report = Report::default();
        let mut failures = 0u32;
        while !cancel.is_cancelled() {
            let mut delay = poll;
            let result = self.drain_mailbox(&cancel, &mut report).await;
            if result.is_ok() && failures > 0 {
                tracing::info!(after = failures, "intake recovered");
                failures = 0;
            }
            match result {
                Ok(true) => wake_outbox.notify_one(),
                Ok(false) => {}
                Err(error) => {
                    failures += 1;
                    delay = backoff(failures);
                    if failures == 1 {
                        tracing::error!(error = %format!("{error:#}"), retry_in = ?delay, "intake failed; retrying with backoff");
                    }
                }
            }
            tokio::select! {
                () = cancel.cancelled() => {}
                _ = wake_rx.recv() => {}
                () = tokio::time::sleep(delay) => {}
            }
        }
        tracing::info!("stopping: finishing the work in hand");
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "tasks did not stop in time; exiting anyway");
        }
        Ok(report)
    }

    /// Ingests every file in `new/` and acknowledges each after commit. Returns whether anything
    /// was stored. Stops early on cancellation or on a transient database failure (the rest
    /// stays in `new/`).
    ///
    /// # Errors
    /// `new/` cannot be read, or the database is unavailable.
    async fn drain_mailbox(
        &self,
        cancel: &CancellationToken,
        report: &mut Report,
    ) -> anyhow::Result<bool> {
        let mut stored = false;
        loop {
            let files = self.maildir.pending()?;
            if files.is_empty() {
                return Ok(stored);
            }
            for path in files {
                if cancel.is_cancelled() {
                    return Ok(stored);
                }
                let raw = match tokio::fs::read(&path).await {
                    Ok(raw) => raw,
                    // Moved away by another reader between listing and reading.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
                };
                let origin = format!(
                    "maildir:{}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                );
                let outcome = match self.pipeline.ingest(&raw, &origin, store::now_ms()).await {
                    Ok(o) => o,
                    Err(e) => {
                        report.deferred += 1;
                        return Err(anyhow::Error::new(e)
                            .context(format!("while ingesting {}", path.display())));
                    }
                };
                log_outcome(&origin, &outcome);
                count(report, &outcome);
                stored = true;
                if let Err(e) = self.maildir.ack(&path) {
                    // Committed already: a re-read is recognised as a duplicate.
                    tracing::warn!(file = %path.display(), error = %e, "cannot move the message to cur/");
                }
            }
        }
    }
}

fn count(report: &mut Report, outcome: &Outcome) {
    match outcome {
        Outcome::Created { .. } => report.created += 1,
        Outcome::Joined { .. } | Outcome::Bounce { .. } => report.joined += 1,
        Outcome::Duplicate { .. } => report.duplicates += 1,
        Outcome::Quarantined { .. } => report.quarantined += 1,
    }
}

fn log_outcome(origin: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Created {
            ticket,
            acknowledged,
        } => {
            tracing::info!(%ticket, origin, acknowledged, "case opened");
        }
        Outcome::Joined { ticket } => tracing::info!(%ticket, origin, "message added to case"),
        Outcome::Bounce { ticket } => tracing::info!(%ticket, origin, "bounce attached to case"),
        Outcome::Duplicate { ticket } => tracing::info!(%ticket, origin, "already ingested"),
        Outcome::Quarantined { .. } => {} // logged with its reason by ingest
    }
}

/// 1 s, 2 s, 4 s, … up to a minute.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(MAX_RETRY_DELAY)
}
