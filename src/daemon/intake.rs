//! Intake: the Maildir and IMAP loops of [`Daemon`], batch by batch into the pipeline, each
//! batch committed before its messages are moved (Maildir) or marked (IMAP). Both cut their
//! listings with [`batch::split`]; a message over `max_message_size` is read only in part (its
//! header from IMAP, its first [`HEAD_BYTES`] from a Maildir file, by [`limited::read_file`])
//! and quarantined with the reason. While an IMAP backlog drains, new conversations that arrive
//! meanwhile are taken in between its batches (the express lane), so they are not answered
//! only after the whole backlog.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::lease::{self, LeaseLost};
use super::{backoff, Daemon, Intake, Report};
use crate::ingest::{Checkpoint, Item, Outcome};
use crate::mailbox::batch;
use crate::mailbox::imap::{ImapSession, Waiting, Woken, IDLE_REFRESH};
use crate::mailbox::limited::{self, HEAD_BYTES};
use crate::mailbox::{Imap, Maildir};
use crate::service::Heartbeat;
use crate::store::{self, imap::Position};
use crate::telemetry;

impl Daemon {
    pub(super) async fn watch_maildir(
        &self,
        maildir: &Maildir,
        cancel: &CancellationToken,
        intake: &Intake<'_>,
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
            intake.beat.beat();
            if !may_read(intake).await {
                standby(intake, cancel).await;
                continue;
            }
            let mut delay = poll;
            let result = self
                .drain_maildir(maildir, cancel, intake, &mut report)
                .await;
            if result.is_ok() && failures > 0 {
                tracing::info!(after = failures, "intake recovered");
                failures = 0;
            }
            match result {
                Ok(true) => intake.stored(),
                Ok(false) => {}
                Err(error) => {
                    failures += 1;
                    delay = backoff(failures);
                    if failures == 1 {
                        tracing::error!(error = %format!("{error:#}"), retry_in = ?delay, "intake failed; retrying with backoff");
                    }
                }
            }
            intake
                .beat
                .waiting(async {
                    tokio::select! {
                        () = cancel.cancelled() => {}
                        _ = wake_rx.recv() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                })
                .await;
        }
        report
    }

    /// Ingests every file in `new/` in batches ([`batch::split`], counting what is read of
    /// each file) and moves each to `cur/` after its batch is committed; a file over `max_message_size`
    /// is read only up to [`HEAD_BYTES`] and quarantined. Returns whether anything was stored.
    /// Stops early on cancellation or on a transient database failure (the rest stays in
    /// `new/`).
    ///
    /// # Errors
    /// `new/` cannot be read, or the database is unavailable.
    pub(super) async fn drain_maildir(
        &self,
        maildir: &Maildir,
        cancel: &CancellationToken,
        intake: &Intake<'_>,
        report: &mut Report,
    ) -> anyhow::Result<bool> {
        let beat = intake.beat;
        let max = self.pipeline.settings.max_message_size;
        let mut stored = false;
        loop {
            let files = sized(maildir.pending()?)?;
            if files.is_empty() {
                return Ok(stored);
            }
            for chunk in batch::split(&files, |(_, size)| read_size(*size, max)) {
                if cancel.is_cancelled() || !may_read(intake).await {
                    return Ok(stored);
                }
                beat.beat();
                let read_at = std::time::Instant::now();
                // Each file whole, or only its head when it is over the limit.
                let paths: Vec<PathBuf> = chunk.iter().map(|(path, _)| path.clone()).collect();
                let files = tokio::task::spawn_blocking(move || {
                    paths
                        .iter()
                        .map(|path| limited::read_file(path, max))
                        .collect::<Vec<_>>()
                })
                .await?;
                let mut read = Vec::with_capacity(chunk.len());
                for ((path, _), file) in chunk.iter().zip(files) {
                    let name = path.file_name().unwrap_or_default().to_string_lossy();
                    match file {
                        Ok(file) => {
                            let refused = file.refused(max).map(|reason| {
                                format!("{reason}; the whole file is moved to cur/ unread")
                            });
                            read.push((path, format!("maildir:{name}"), file.bytes, refused));
                        }
                        // Moved away by another reader between listing and reading.
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
                    }
                }
                let items: Vec<Item<'_>> = read
                    .iter()
                    .map(|(_, origin, raw, refused)| Item {
                        raw,
                        origin,
                        refused: refused.as_deref(),
                    })
                    .collect();
                self.ingest_counted(&items, None, intake, read_at, report)
                    .await
                    .with_context(|| {
                        format!(
                            "while ingesting {} message(s) from {}",
                            items.len(),
                            maildir.root().display()
                        )
                    })?;
                for (path, _, _, _) in &read {
                    if let Err(e) = maildir.ack(path) {
                        // Committed already: a re-read is recognised as a duplicate.
                        tracing::warn!(file = %path.display(), error = %e, "cannot move the message to cur/");
                    }
                }
                if let Err(e) = maildir.sync_moves() {
                    tracing::warn!(error = %e, "cannot sync the Maildir after moving messages to cur/");
                }
                stored = true;
            }
        }
    }

    /// Keeps an IMAP session open and drains the folder whenever it changes; reconnects with
    /// backoff when the connection or the database fails.
    pub(super) async fn watch_imap(
        &self,
        imap: &Imap,
        cancel: &CancellationToken,
        intake: &Intake<'_>,
    ) -> Report {
        let mut report = Report::default();
        let mut failures = 0u32;
        while !cancel.is_cancelled() {
            intake.beat.beat();
            if !may_read(intake).await {
                standby(intake, cancel).await;
                continue;
            }
            let result = self
                .imap_session(imap, cancel, intake, &mut failures, &mut report)
                .await;
            let Err(error) = result else { break };
            if error.is::<LeaseLost>() {
                // Another instance reads the mailbox now; this one stands by.
                continue;
            }
            failures += 1;
            metrics::counter!(telemetry::IMAP_RECONNECTS).increment(1);
            let delay = backoff(failures);
            if failures == 1 {
                tracing::error!(error = %format!("{error:#}"), retry_in = ?delay, "IMAP intake interrupted; reconnecting with backoff");
            } else {
                tracing::debug!(error = %format!("{error:#}"), attempt = failures, retry_in = ?delay, "IMAP reconnect failed");
            }
            intake
                .beat
                .waiting(async {
                    tokio::select! {
                        () = cancel.cancelled() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                })
                .await;
        }
        report
    }

    /// One connection's life: open, settle, then drain and wait until cancelled. Returns
    /// `Ok` only when cancelled.
    async fn imap_session(
        &self,
        imap: &Imap,
        cancel: &CancellationToken,
        intake: &Intake<'_>,
        failures: &mut u32,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let (mut session, mut last) = self.open_imap(imap, intake.beat).await?;
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
        let mut refresh = self.pipeline.settings.poll_interval.min(IDLE_REFRESH);
        if intake.lease.is_some() {
            // IDLE is re-issued this often, and the lease renewed with it.
            refresh = refresh.min(lease::RENEW);
        }
        loop {
            intake.beat.beat();
            if let Some(l) = intake.lease {
                if let Err(lost) = l.check().await {
                    session.logout().await;
                    return Err(lost.into());
                }
            }
            self.drain_imap(imap, &mut session, &mut last, cancel, intake, report)
                .await?;
            if cancel.is_cancelled() {
                session.logout().await;
                return Ok(());
            }
            let (next, woken) = intake.beat.waiting(session.wait(refresh, cancel)).await?;
            session = next;
            if woken == Woken::Cancelled {
                session.logout().await;
                return Ok(());
            }
        }
    }

    /// Opens a session, finds where intake stands, and finishes marking what was committed
    /// before a restart. Returns the session and the UID after which to read.
    /// The IMAP calls beat `beat` while they wait: each has its own timeout.
    pub(super) async fn open_imap(
        &self,
        imap: &Imap,
        beat: &Heartbeat,
    ) -> anyhow::Result<(ImapSession, u32)> {
        let mut session = beat.waiting(imap.open()).await?;
        let last = self.start_position(imap, &session).await?;
        let settled = beat.waiting(session.settle(last)).await?;
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
    /// the new position, then marked processed on the server. Between the batches of a
    /// backlog, new conversations that arrived meanwhile go first (see [`Daemon::express`]).
    /// The IMAP calls beat while they wait (each has its own timeout); the database calls do
    /// not.
    pub(super) async fn drain_imap(
        &self,
        imap: &Imap,
        session: &mut ImapSession,
        last: &mut u32,
        cancel: &CancellationToken,
        intake: &Intake<'_>,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let beat = intake.beat;
        let mut lane = Express {
            frontier: *last,
            taken: BTreeSet::new(),
        };
        loop {
            beat.beat();
            let listed = beat.waiting(session.waiting(*last)).await?;
            let waiting: Vec<Waiting> = listed
                .iter()
                .filter(|w| !lane.taken.contains(&w.uid))
                .copied()
                .collect();
            let Some(top) = waiting.last().map(|w| w.uid) else {
                if let Some(top) = listed.last().map(|w| w.uid) {
                    // Everything above the position was taken in by the express lane.
                    *last = self.save_position(imap, session, top).await?;
                }
                return Ok(());
            };
            lane.frontier = lane.frontier.max(top);
            for (n, batch) in batch::split(&waiting, |w| u64::from(w.size))
                .into_iter()
                .enumerate()
            {
                if cancel.is_cancelled() {
                    return Ok(());
                }
                if n > 0 {
                    self.express(imap, session, &mut lane, intake, report)
                        .await?;
                }
                let position = Position {
                    uid_validity: session.uid_validity(),
                    last_uid: batch.last().map_or(*last, |w| w.uid),
                };
                self.take_in(imap, session, batch, Some(position), intake, report)
                    .await?;
                *last = position.last_uid;
            }
        }
    }

    /// The express lane: during a backlog, before each of its batches after the first, the
    /// messages that arrived meanwhile (above `lane.frontier`) and start a conversation are
    /// taken in first, one batch of them at a time, so a new request is acknowledged while the
    /// backlog drains. Replies keep their turn: what they answer may still be in the backlog.
    /// The position does not move for them; [`Daemon::drain_imap`] skips them when their turn
    /// comes, and after a restart they are recognised as duplicates.
    async fn express(
        &self,
        imap: &Imap,
        session: &mut ImapSession,
        lane: &mut Express,
        intake: &Intake<'_>,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let fresh = intake
            .beat
            .waiting(session.new_conversations(lane.frontier))
            .await?;
        let Some(first) = batch::split(&fresh, |w| u64::from(w.size))
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        tracing::debug!(
            messages = first.len(),
            "taking in new conversations ahead of the backlog"
        );
        self.take_in(imap, session, first, None, intake, report)
            .await?;
        lane.frontier = lane.frontier.max(first.last().map_or(0, |w| w.uid));
        lane.taken.extend(first.iter().map(|w| w.uid));
        Ok(())
    }

    /// Fetches one batch (the header only of a message over `max_message_size`), ingests it,
    /// with `position` saved in the same transaction when given, and marks it processed.
    async fn take_in(
        &self,
        imap: &Imap,
        session: &mut ImapSession,
        batch: &[Waiting],
        position: Option<Position>,
        intake: &Intake<'_>,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let max = self.pipeline.settings.max_message_size;
        let beat = intake.beat;
        if let Some(l) = intake.lease {
            l.check().await?;
        }
        beat.beat();
        let read_at = std::time::Instant::now();
        let (big, normal): (Vec<&Waiting>, Vec<&Waiting>) =
            batch.iter().partition(|w| u64::from(w.size) > max);
        let uids = |ws: &[&Waiting]| ws.iter().map(|w| w.uid).collect::<Vec<_>>();
        let mut fetched: Vec<(u32, Vec<u8>, Option<String>)> = beat
            .waiting(session.fetch(&uids(&normal), false))
            .await?
            .into_iter()
            .map(|(uid, raw)| (uid, raw, None))
            .collect();
        for (uid, header) in beat.waiting(session.fetch(&uids(&big), true)).await? {
            let size = big.iter().find(|w| w.uid == uid).map_or(0, |w| w.size);
            let reason = format!("message of {size} bytes is larger than inbound.max_message_size ({max} bytes); only its header was fetched; the full message stays on the server");
            fetched.push((uid, header, Some(reason)));
        }
        fetched.sort_unstable_by_key(|(uid, _, _)| *uid);
        // A message expunged meanwhile has no body, and that is fine; one still there without
        // a body must not be skipped past: fail, keep the position, retry.
        let missing: Vec<u32> = batch
            .iter()
            .map(|w| w.uid)
            .filter(|u| fetched.iter().all(|(f, _, _)| f != u))
            .collect();
        let unfetchable = beat.waiting(session.still_present(&missing)).await?;
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
        let checkpoint = position.map(|position| Checkpoint {
            mailbox: imap.key(),
            position,
        });
        self.ingest_counted(&items, checkpoint, intake, read_at, report)
            .await
            .context("while ingesting from IMAP")?;
        intake.stored();
        let all: Vec<u32> = batch.iter().map(|w| w.uid).collect();
        beat.waiting(session.mark_processed(&all)).await?;
        Ok(())
    }

    /// Ingests a batch read at `read_at` (with `checkpoint` in its transaction when given),
    /// logging and counting each outcome; when the database fails, the batch counts as deferred.
    pub(super) async fn ingest_counted(
        &self,
        items: &[Item<'_>],
        checkpoint: Option<Checkpoint<'_>>,
        intake: &Intake<'_>,
        read_at: std::time::Instant,
        report: &mut Report,
    ) -> Result<(), store::Error> {
        let now = store::now_ms();
        let beat = Some(intake.beat);
        let outcomes = match self
            .pipeline
            .ingest_batch_beating(items, now, checkpoint, beat)
            .await
        {
            Ok(o) => o,
            Err(e) => {
                report.deferred += items.len();
                return Err(e);
            }
        };
        let latency = read_at.elapsed().as_secs_f64();
        for (item, outcome) in items.iter().zip(&outcomes) {
            log_outcome(item.origin, outcome);
            count(report, outcome, latency);
        }
        Ok(())
    }

    /// Saves `last_uid` as the position of `imap`, on its own; returns it.
    async fn save_position(
        &self,
        imap: &Imap,
        session: &ImapSession,
        last_uid: u32,
    ) -> anyhow::Result<u32> {
        let position = Position {
            uid_validity: session.uid_validity(),
            last_uid,
        };
        let store = &self.pipeline.store;
        let mut tx = store.begin().await?;
        store::imap::save(&mut tx, imap.key(), position, store::now_ms()).await?;
        tx.commit().await?;
        Ok(last_uid)
    }
}

/// Where the express lane of one drain stands: the highest UID any listing has shown, and the
/// UIDs above the position it has taken in.
struct Express {
    frontier: u32,
    taken: BTreeSet<u32>,
}

/// The bytes intake reads of a Maildir file of `size`: all of it, or [`HEAD_BYTES`] of one
/// over `max` (`max_message_size`).
fn read_size(size: u64, max: u64) -> u64 {
    if size > max {
        HEAD_BYTES.min(size)
    } else {
        size
    }
}

/// Each file with its size; one gone meanwhile (taken by another reader) is left out.
fn sized(files: Vec<PathBuf>) -> anyhow::Result<Vec<(PathBuf, u64)>> {
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        match std::fs::metadata(&path) {
            Ok(meta) => out.push((path, meta.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        }
    }
    Ok(out)
}

/// Counts a committed message for the run's report and the metrics; `latency` is the seconds
/// from reading its batch off the mailbox to the commit.
fn count(report: &mut Report, outcome: &Outcome, latency: f64) {
    let label = match outcome {
        Outcome::Created { .. } => {
            report.created += 1;
            "created"
        }
        Outcome::Joined { .. } => {
            report.joined += 1;
            "joined"
        }
        Outcome::Bounce { .. } => {
            report.joined += 1;
            "bounce"
        }
        Outcome::Duplicate { .. } => {
            report.duplicates += 1;
            "duplicate"
        }
        Outcome::Quarantined { .. } => {
            report.quarantined += 1;
            metrics::counter!(telemetry::QUARANTINED).increment(1);
            "quarantined"
        }
    };
    metrics::counter!(telemetry::MESSAGES, "outcome" => label).increment(1);
    metrics::histogram!(telemetry::INGEST_SECONDS).record(latency);
}

/// Whether this instance may read the mailbox: always, unless it shares the database with
/// others and another holds the intake lease.
async fn may_read(intake: &Intake<'_>) -> bool {
    match intake.lease {
        Some(l) => l.hold().await,
        None => true,
    }
}

/// Waits a standby's turn before asking for the lease again.
async fn standby(intake: &Intake<'_>, cancel: &CancellationToken) {
    intake
        .beat
        .waiting(async {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = tokio::time::sleep(lease::STANDBY_POLL) => {}
            }
        })
        .await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::casework::testing;
    use crate::classify::Rules;
    use crate::outbox::{transport::Transport, Outbox};
    use crate::service::Heartbeats;
    use crate::store::testing::memory;

    /// An idle Maildir costs no scans: the daemon's own listing, reading and moving of files
    /// does not wake its watcher. Counted, not timed: with nothing arriving for a while after a
    /// message has been taken in, the scans stay within a small bound (they looped without end
    /// when every event woke the watcher).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_maildir_is_not_rescanned_by_its_own_events() {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "[helpdesk]\naddress = \"support@example.test\"\n[inbound]\nkind = \"maildir\"\n\
             path = \"{0}/Maildir\"\npoll_interval = \"1h\"\n[outbound]\nkind = \"file\"\npath = \"{0}/outbox\"\n",
            dir.path().display()
        );
        let store = memory().await;
        let pipeline = testing::pipeline(&store, &config, Rules::load(None).unwrap());
        let maildir = Maildir::open(&dir.path().join("Maildir")).unwrap();
        let daemon = super::Daemon {
            outbox: Outbox {
                store: store.clone(),
                catalog: pipeline.catalog.clone(),
                transport: Transport::File {
                    dir: dir.path().join("outbox"),
                },
                from: pipeline.settings.from.clone(),
                connections: 1,
            },
            pipeline,
            source: super::super::Source::Maildir(maildir.clone()),
        };
        let cancel = CancellationToken::new();
        let running = {
            let (daemon, maildir, cancel) = (daemon.clone(), maildir.clone(), cancel.clone());
            tokio::spawn(async move {
                let beat = Heartbeats::new().register("intake");
                let intake = Intake {
                    wake: None,
                    beat: &beat,
                    lease: None,
                };
                daemon.watch_maildir(&maildir, &cancel, &intake).await
            })
        };
        // One message, delivered as a delivery agent does, so the loop has read and moved a
        // file (the events that used to wake it) before it goes idle.
        let raw = "From: a@example.test\r\nTo: support@example.test\r\nSubject: printer\r\n\
                   Message-ID: <idle@example.test>\r\n\r\nIt jams.\r\n";
        std::fs::write(dir.path().join("Maildir/tmp/1.m"), raw).unwrap();
        std::fs::rename(
            dir.path().join("Maildir/tmp/1.m"),
            dir.path().join("Maildir/new/1.m"),
        )
        .unwrap();
        let moved = dir.path().join("Maildir/cur/1.m:2,S");
        while !moved.exists() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let taken = maildir.scans();
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let idle = maildir.scans() - taken;
        cancel.cancel();
        let report = running.await.unwrap();
        assert_eq!(report.created, 1);
        // The scan that found `new/` empty after the move, and at most one more for the
        // wake-up the arrival left pending.
        assert!(idle <= 2, "{idle} scans of an idle Maildir");
    }

    #[test]
    fn maildir_batches_count_what_is_read_of_each_file() {
        let max = 64 << 20;
        let files = |sizes: &[u64]| -> Vec<(PathBuf, u64)> {
            sizes.iter().map(|s| (PathBuf::from("f"), *s)).collect()
        };
        let lens = |f: &[(PathBuf, u64)]| {
            batch::split(f, |(_, size)| read_size(*size, max))
                .iter()
                .map(|b| b.len())
                .collect::<Vec<_>>()
        };
        // 6 MiB files: two to a batch, as on IMAP.
        assert_eq!(lens(&files(&[6 << 20; 5])), vec![2, 2, 1]);
        // Files over max_message_size are read only in part: many fit a batch.
        assert_eq!(lens(&files(&[100 << 20; 10])), vec![10]);
        assert_eq!(read_size(100 << 20, max), HEAD_BYTES);
        assert_eq!(read_size(1000, max), 1000);
        assert_eq!(read_size(max + 1, max), HEAD_BYTES);
    }
}
