//! The supervisor behind `helpdesk run`: the intake loop (Maildir or IMAP → ingest → ack) and
//! the outbox worker as tasks under one [`CancellationToken`] and [`TaskTracker`]. Stopping
//! means: tell (cancel), wait (the batch and the send in hand finish), and give up after a
//! bounded grace period. `run --once` drains the mailbox and the outbox and returns.
//!
//! Intake works in batches: up to [`BATCH`] messages (at most [`BATCH_BYTES`]) are committed in
//! one transaction, together with the IMAP position, and only then moved or flagged on the
//! server (or moved to `cur/`). A lost IMAP connection is retried with capped exponential
//! backoff; the log says so once, and once more when it is back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ingest::{Checkpoint, Item, Outcome, Pipeline};
use crate::mailbox::imap::{ImapSession, Waiting, Woken, IDLE_REFRESH};
use crate::mailbox::{Imap, Maildir};
use crate::outbox::{Delivery, Outbox};
use crate::scheduler::{Scheduler, Tally};
use crate::store::{self, imap::Position};

/// How long stopping may take before the daemon exits anyway; below systemd's default
/// `TimeoutStopSec` of 90 s.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Longest pause after repeated failures (database or mail server).
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

/// Messages per intake transaction.
pub const BATCH: usize = 256;
/// Bytes per intake batch: bounds memory when messages are large.
pub const BATCH_BYTES: u64 = 16 << 20;

/// Who is told that intake stored something: the outbox (mail may wait) and the scheduler (a
/// due time may have come closer).
#[derive(Debug)]
struct Wakes {
    outbox: Arc<Notify>,
    scheduler: Arc<Notify>,
}

impl Wakes {
    fn stored(&self) {
        self.outbox.notify_one();
        self.scheduler.notify_one();
    }
}

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
    /// What the clocks did (`run --once`).
    pub clocks: Tally,
    /// Time the clocks' due work took (`run --once`).
    pub clocks_time: Duration,
    /// Outgoing mail delivered.
    pub delivery: Delivery,
    /// Time spent draining the mailbox (`run --once`).
    pub intake_time: Duration,
    /// Time spent delivering the outbox (`run --once`).
    pub delivery_time: Duration,
}

impl Report {
    /// Messages taken from the mailbox.
    pub fn messages(&self) -> usize {
        self.created + self.joined + self.duplicates + self.quarantined
    }
}

/// Where the daemon reads mail.
#[derive(Debug, Clone)]
pub enum Source {
    /// A local Maildir.
    Maildir(Maildir),
    /// A folder on an IMAP server.
    Imap(Imap),
}

impl Source {
    /// For the log.
    pub fn describe(&self) -> String {
        match self {
            Source::Maildir(m) => format!("maildir {}", m.root().display()),
            Source::Imap(i) => i.describe(),
        }
    }
}

/// The daemon's parts.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// Ingest.
    pub pipeline: Pipeline,
    /// Outgoing mail.
    pub outbox: Outbox,
    /// The inbound mailbox.
    pub source: Source,
}

impl Daemon {
    /// Processes everything in the mailbox, then everything due in the outbox, and returns.
    ///
    /// # Errors
    /// The mailbox cannot be read, or the database fails.
    pub async fn run_once(&self) -> anyhow::Result<Report> {
        let never = CancellationToken::new();
        let mut report = Report::default();
        let started = Instant::now();
        match &self.source {
            Source::Maildir(m) => {
                self.drain_maildir(m, &never, &mut report).await?;
            }
            Source::Imap(imap) => {
                let (mut session, mut last) = self.open_imap(imap).await?;
                self.drain_imap(imap, &mut session, &mut last, &never, None, &mut report)
                    .await?;
                session.logout().await;
            }
        }
        report.intake_time = started.elapsed();
        let scheduler = Scheduler {
            pipeline: self.pipeline.clone(),
        };
        let started = Instant::now();
        report.clocks = scheduler.run_due(store::now_ms()).await?;
        report.clocks_time = started.elapsed();
        let started = Instant::now();
        report.delivery = self.outbox.deliver_due(&never).await?;
        report.delivery_time = started.elapsed();
        Ok(report)
    }

    /// Runs until `cancel` fires, then stops within [`SHUTDOWN_GRACE`].
    ///
    /// # Errors
    /// The mailbox cannot be read at start.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<Report> {
        let poll = self.pipeline.settings.poll_interval;
        let tracker = TaskTracker::new();
        let wake = Wakes {
            outbox: Arc::new(Notify::new()),
            scheduler: Arc::new(Notify::new()),
        };
        tracker.spawn(
            self.outbox
                .clone()
                .run(wake.outbox.clone(), cancel.clone(), poll),
        );
        let scheduler = Scheduler {
            pipeline: self.pipeline.clone(),
        };
        tracker.spawn(scheduler.run(wake.scheduler.clone(), wake.outbox.clone(), cancel.clone()));
        tracing::info!(inbound = %self.source.describe(), outbound = %self.outbox.transport.describe(), "helpdesk running");
        let report = match &self.source {
            Source::Maildir(m) => self.watch_maildir(m, &cancel, &wake).await,
            Source::Imap(imap) => self.watch_imap(imap, &cancel, &wake).await,
        };
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

    async fn watch_maildir(
        &self,
        maildir: &Maildir,
        cancel: &CancellationToken,
        wake: &Wakes,
    ) -> Report {
        let poll = self.pipeline.settings.poll_interval;
        // Capacity 1: a pending wake-up already means "scan again"; more carry no information.
        let (wake_tx, mut wake_rx) = mpsc::channel(1);
        let _watcher = match maildir.watch(wake_tx) {
            Ok(w) => Some(w),
            Err(error) => {
                tracing::warn!(%error, every = ?poll, "cannot watch the Maildir; polling instead");
                None
            }
        };
        let mut report = Report::default();
        let mut failures = 0u32;
        while !cancel.is_cancelled() {
            let mut delay = poll;
            let result = self.drain_maildir(maildir, cancel, &mut report).await;
            if result.is_ok() && failures > 0 {
                tracing::info!(after = failures, "intake recovered");
                failures = 0;
            }
            match result {
                Ok(true) => wake.stored(),
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
        report
    }

    /// Ingests every file in `new/` in batches and moves each to `cur/` after its batch is
    /// committed. Returns whether anything was stored. Stops early on cancellation or on a
    /// transient database failure (the rest stays in `new/`).
    ///
    /// # Errors
    /// `new/` cannot be read, or the database is unavailable.
    async fn drain_maildir(
        &self,
        maildir: &Maildir,
        cancel: &CancellationToken,
        report: &mut Report,
    ) -> anyhow::Result<bool> {
        let mut stored = false;
        loop {
            let files = maildir.pending()?;
            if files.is_empty() {
                return Ok(stored);
            }
            for chunk in files.chunks(BATCH) {
                if cancel.is_cancelled() {
                    return Ok(stored);
                }
                let mut read = Vec::with_capacity(chunk.len());
                for path in chunk {
                    match tokio::fs::read(path).await {
                        Ok(raw) => {
                            let name = path.file_name().unwrap_or_default().to_string_lossy();
                            read.push((path, format!("maildir:{name}"), raw));
                        }
                        // Moved away by another reader between listing and reading.
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
                    }
                }
                let items: Vec<Item<'_>> = read
                    .iter()
                    .map(|(_, origin, raw)| Item {
                        raw,
                        origin,
                        refused: None,
                    })
                    .collect();
                let outcomes = match self
                    .pipeline
                    .ingest_batch(&items, store::now_ms(), None)
                    .await
                {
                    Ok(o) => o,
                    Err(e) => {
                        report.deferred += items.len();
                        return Err(anyhow::Error::new(e).context(format!(
                            "while ingesting {} message(s) from {}",
                            items.len(),
                            maildir.root().display()
                        )));
                    }
                };
                for ((path, origin, _), outcome) in read.iter().zip(&outcomes) {
                    log_outcome(origin, outcome);
                    count(report, outcome);
                    if let Err(e) = maildir.ack(path) {
                        // Committed already: a re-read is recognised as a duplicate.
                        tracing::warn!(file = %path.display(), error = %e, "cannot move the message to cur/");
                    }
                }
                stored = true;
            }
        }
    }

    /// Keeps an IMAP session open and drains the folder whenever it changes; reconnects with
    /// backoff when the connection or the database fails.
    async fn watch_imap(&self, imap: &Imap, cancel: &CancellationToken, wake: &Wakes) -> Report {
        let mut report = Report::default();
        let mut failures = 0u32;
        while !cancel.is_cancelled() {
            let result = self
                .imap_session(imap, cancel, wake, &mut failures, &mut report)
                .await;
            let Err(error) = result else { break };
            failures += 1;
            let delay = backoff(failures);
            if failures == 1 {
                tracing::error!(error = %format!("{error:#}"), retry_in = ?delay, "IMAP intake interrupted; reconnecting with backoff");
            } else {
                tracing::debug!(error = %format!("{error:#}"), attempt = failures, retry_in = ?delay, "IMAP reconnect failed");
            }
            tokio::select! {
                () = cancel.cancelled() => {}
                () = tokio::time::sleep(delay) => {}
            }
        }
        report
    }

    /// One connection's life: open, settle, then drain and wait until cancelled. Returns
    /// `Ok` only when cancelled.
    async fn imap_session(
        &self,
        imap: &Imap,
        cancel: &CancellationToken,
        wake: &Wakes,
        failures: &mut u32,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let (mut session, mut last) = self.open_imap(imap).await?;
        if *failures > 0 {
            tracing::info!(failed_attempts = *failures, "IMAP connection restored");
            *failures = 0;
        } else {
            tracing::info!(
                mailbox = imap.key(),
                idle = session.uses_idle(),
                uid_validity = session.uid_validity(),
                last_uid = last,
                "IMAP connected"
            );
        }
        let refresh = self.pipeline.settings.poll_interval.min(IDLE_REFRESH);
        loop {
            self.drain_imap(imap, &mut session, &mut last, cancel, Some(wake), report)
                .await?;
            if cancel.is_cancelled() {
                session.logout().await;
                return Ok(());
            }
            let (next, woken) = session.wait(refresh, cancel).await?;
            session = next;
            if woken == Woken::Cancelled {
                session.logout().await;
                return Ok(());
            }
        }
    }

    /// Opens a session, finds where intake stands, and finishes marking what was committed
    /// before a restart. Returns the session and the UID after which to read.
    async fn open_imap(&self, imap: &Imap) -> anyhow::Result<(ImapSession, u32)> {
        let mut session = imap.open().await?;
        let last = self.start_position(imap, &session).await?;
        let settled = session.settle(last).await?;
        if settled > 0 {
            tracing::info!(
                messages = settled,
                "finished marking messages committed before a restart"
            );
        }
        Ok((session, last))
    }

    /// The UID after which to read: the saved position, or 0 when there is none or the folder's
    /// UIDVALIDITY changed (a full re-scan, where duplicates are recognised and skipped).
    async fn start_position(&self, imap: &Imap, session: &ImapSession) -> anyhow::Result<u32> {
        let validity = session.uid_validity();
        Ok(
            match store::imap::position(&self.pipeline.store.pool, imap.key()).await? {
                Some(p) if p.uid_validity == validity => p.last_uid,
                Some(p) => {
                    tracing::warn!(mailbox = imap.key(), old = p.uid_validity, new = validity,
                        "UIDVALIDITY changed: re-scanning the folder; messages taken in before are recognised as duplicates");
                    0
                }
                None => 0,
            },
        )
    }

    /// Fetches and ingests everything after `last` in batches; each batch is committed with
    /// the new position, then marked processed on the server.
    async fn drain_imap(
        &self,
        imap: &Imap,
        session: &mut ImapSession,
        last: &mut u32,
        cancel: &CancellationToken,
        wake: Option<&Wakes>,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let max = self.pipeline.settings.max_message_size;
        loop {
            let waiting = session.waiting(*last).await?;
            if waiting.is_empty() {
                return Ok(());
            }
            for batch in batches(&waiting) {
                if cancel.is_cancelled() {
                    return Ok(());
                }
                let (big, normal): (Vec<&Waiting>, Vec<&Waiting>) =
                    batch.iter().partition(|w| u64::from(w.size) > max);
                let uids = |ws: &[&Waiting]| ws.iter().map(|w| w.uid).collect::<Vec<_>>();
                let mut fetched: Vec<(u32, Vec<u8>, Option<String>)> = session
                    .fetch(&uids(&normal), false)
                    .await?
                    .into_iter()
                    .map(|(uid, raw)| (uid, raw, None))
                    .collect();
                for (uid, header) in session.fetch(&uids(&big), true).await? {
                    let size = big.iter().find(|w| w.uid == uid).map_or(0, |w| w.size);
                    let reason = format!("message of {size} bytes is larger than inbound.max_message_size ({max} bytes); only its header was fetched; the full message stays on the server");
                    fetched.push((uid, header, Some(reason)));
                }
                fetched.sort_unstable_by_key(|(uid, _, _)| *uid);
                // A message expunged meanwhile has no body, and that is fine; one still there
                // without a body must not be skipped past: fail, keep the position, retry.
                let missing: Vec<u32> = batch
                    .iter()
                    .map(|w| w.uid)
                    .filter(|u| fetched.iter().all(|(f, _, _)| f != u))
                    .collect();
                let unfetchable = session.still_present(&missing).await?;
                if !unfetchable.is_empty() {
                    anyhow::bail!(
                        "the server returned no content for message(s) with UID {unfetchable:?} in {}; will retry",
                        imap.key()
                    );
                }
                let origins: Vec<String> = fetched
                    .iter()
                    .map(|(uid, _, _)| format!("imap:{};uid={uid}", imap.key()))
                    .collect();
                let items: Vec<Item<'_>> = fetched
                    .iter()
                    .zip(&origins)
                    .map(|((_, raw, refused), origin)| Item {
                        raw,
                        origin,
                        refused: refused.as_deref(),
                    })
                    .collect();
                let position = Position {
                    uid_validity: session.uid_validity(),
                    last_uid: batch.last().map_or(*last, |w| w.uid),
                };
                let checkpoint = Checkpoint {
                    mailbox: imap.key(),
                    position,
                };
                let outcomes = match self
                    .pipeline
                    .ingest_batch(&items, store::now_ms(), Some(checkpoint))
                    .await
                {
                    Ok(o) => o,
                    Err(e) => {
                        report.deferred += items.len();
                        return Err(anyhow::Error::new(e).context("while ingesting from IMAP"));
                    }
                };
                *last = position.last_uid;
                for (origin, outcome) in origins.iter().zip(&outcomes) {
                    log_outcome(origin, outcome);
                    count(report, outcome);
                }
                if let Some(wake) = wake {
                    wake.stored();
                }
                let all: Vec<u32> = batch.iter().map(|w| w.uid).collect();
                session.mark_processed(&all).await?;
            }
        }
    }
}

/// Splits waiting messages into batches of at most [`BATCH`] messages and [`BATCH_BYTES`].
fn batches(waiting: &[Waiting]) -> Vec<&[Waiting]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, w) in waiting.iter().enumerate() {
        let full = i - start >= BATCH || (i > start && bytes + u64::from(w.size) > BATCH_BYTES);
        if full {
            out.push(&waiting[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += u64::from(w.size);
    }
    if start < waiting.len() {
        out.push(&waiting[start..]);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_bound_count_and_bytes() {
        let w = |n: u32, size: u32| (1..=n).map(|uid| Waiting { uid, size }).collect::<Vec<_>>();
        let lens = |v: &[Waiting]| batches(v).iter().map(|b| b.len()).collect::<Vec<_>>();
        assert_eq!(lens(&w(0, 1)), Vec::<usize>::new());
        assert_eq!(lens(&w(600, 1000)), vec![256, 256, 88]);
        // 6 MiB each: two per 16 MiB batch.
        assert_eq!(lens(&w(5, 6 << 20)), vec![2, 2, 1]);
        // One message above the byte cap still goes alone.
        assert_eq!(lens(&w(2, 40 << 20)), vec![1, 1]);
    }
}
