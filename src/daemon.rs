//! The supervisor behind `helpdesk run`: the intake loop (Maildir or IMAP → ingest → ack) and
//! the outbox worker as tasks under one [`CancellationToken`] and [`TaskTracker`]. Stopping
//! means: tell (cancel), wait (the batch and the send in hand finish), and give up after a
//! bounded grace period. `run --once` drains the mailbox and the outbox and returns.
//!
//! Intake works in batches ([`crate::mailbox::batch`]): up to 256 messages (at most 16 MiB) are
//! committed in one transaction, together with the IMAP position, and only then moved or
//! flagged on the server (or moved to `cur/`). A lost IMAP connection is retried with capped exponential
//! backoff; the log says so once, and once more when it is back.
//!
//! Under systemd the supervisor reports readiness, status and stopping, and pings the watchdog
//! while every task beats (see [`crate::service`]). A reload signal (SIGHUP) loads the rules and
//! templates again and swaps them in; if they are invalid, the old ones stay.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::casework::Pipeline;
use crate::mailbox::{Imap, Maildir};
use crate::model::Millis;
use crate::outbox::{Delivery, Outbox};
use crate::scheduler::{Scheduler, Tally};
use crate::service::{self, Heartbeat, Heartbeats};
use crate::store;
use crate::templates::catalog::Catalog;

pub(crate) mod cpu;
mod intake;
mod lease;
mod lmtp;

/// How long stopping may take before the daemon exits anyway; below systemd's default
/// `TimeoutStopSec` of 90 s.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Longest pause after repeated failures (database or mail server): short enough that intake
/// resumes within seconds of the cause going away (a full disk freed, a server back), long
/// enough that a lasting outage costs nothing (one attempt per 10 s, logged once).
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);

/// How long one outbox round (a batch of sends, each bounded by the SMTP timeouts, and their
/// database updates) counts as progress for the watchdog; a longer one is taken as hung.
const OUTBOX_ROUND_LIMIT: Duration = Duration::from_secs(5 * 60);

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

/// What the intake loop reports to: the tasks it wakes (none for `run --once`) and its
/// heartbeat.
#[derive(Debug, Clone, Copy)]
struct Intake<'a> {
    wake: Option<&'a Wakes>,
    beat: &'a Heartbeat,
    /// With several instances: the lease this one must hold to read the mailbox.
    lease: Option<&'a lease::IntakeLease>,
}

impl Intake<'_> {
    fn stored(&self) {
        if let Some(wake) = self.wake {
            wake.stored();
        }
    }
}

/// What a run did, for `run --once` and the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Report {
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
pub(crate) enum Source {
    /// A local Maildir.
    Maildir(Maildir),
    /// A folder on an IMAP server.
    Imap(Box<Imap>),
    /// None: `helpdesk ingest` stores the mail; the daemon delivers and runs the clocks.
    Stdin,
    /// An LMTP listener the MTA delivers to, its Unix socket given to `group`.
    Lmtp {
        listen: crate::mailbox::lmtp::Listen,
        group: Option<u32>,
    },
}

impl Source {
    /// For the log.
    pub fn describe(&self) -> String {
        match self {
            Source::Maildir(m) => format!("maildir {}", m.root().display()),
            Source::Imap(i) => i.describe(),
            Source::Stdin => "stdin (helpdesk ingest)".into(),
            Source::Lmtp { listen, .. } => lmtp::describe(listen),
        }
    }
}

/// The daemon's parts.
#[derive(Debug, Clone)]
pub(crate) struct Daemon {
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
        // Nobody watches this one: `run --once` is not supervised.
        let beat = &Heartbeats::new().register("intake");
        let mut report = Report::default();
        let started = Instant::now();
        match &self.source {
            Source::Maildir(m) => {
                let intake = Intake {
                    wake: None,
                    beat,
                    lease: None,
                };
                self.drain_maildir(m, &never, &intake, &mut report).await?;
            }
            Source::Imap(imap) => {
                let (mut session, mut last) = self.open_imap(imap, beat).await?;
                let intake = Intake {
                    wake: None,
                    beat,
                    lease: None,
                };
                self.drain_imap(imap, &mut session, &mut last, &never, &intake, &mut report)
                    .await?;
                session.logout().await;
            }
            // The MTA delivers while the daemon runs; there is nothing to drain.
            Source::Stdin | Source::Lmtp { .. } => {}
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

    /// Runs until `cancel` fires, then stops within [`SHUTDOWN_GRACE`]. Each `reload` wake-up
    /// loads the rules and templates again.
    ///
    /// # Errors
    /// The mailbox cannot be read at start.
    pub async fn run(
        self,
        cancel: CancellationToken,
        reload: Arc<Notify>,
    ) -> anyhow::Result<Report> {
        let poll = self.pipeline.settings.poll_interval;
        let inbound = self.source.describe();
        let tracker = TaskTracker::new();
        let mut heartbeats = Heartbeats::new();
        let wake = Wakes {
            outbox: Arc::new(Notify::new()),
            scheduler: Arc::new(Notify::new()),
        };
        let worker = Worker {
            outbox: self.outbox.clone(),
            wake: wake.outbox.clone(),
            poll,
            beat: heartbeats.register("outbox"),
            inbound: inbound.clone(),
        };
        tracker.spawn(worker.run(cancel.clone()));
        let scheduler = Scheduler {
            pipeline: self.pipeline.clone(),
        };
        tracker.spawn(scheduler.run(
            wake.scheduler.clone(),
            wake.outbox.clone(),
            cancel.clone(),
            heartbeats.register("scheduler"),
        ));
        tracker.spawn(reload_on(self.pipeline.clone(), reload, cancel.clone()));
        let beat = heartbeats.register("intake");
        if let Some(timeout) = service::watchdog_timeout() {
            tracing::info!(
                ?timeout,
                "systemd watchdog on: pinging while every task makes progress"
            );
            tracker.spawn(service::watchdog(heartbeats, timeout, cancel.clone()));
        }
        tracing::info!(%inbound, outbound = %self.outbox.transport.describe(), "helpdesk running");
        service::ready();
        service::status(&format!("watching {inbound}"));
        let key = match &self.source {
            Source::Maildir(m) => Some(m.root().display().to_string()),
            Source::Imap(imap) => Some(imap.key().to_owned()),
            // Each delivery stands alone: several instances may all listen.
            Source::Stdin | Source::Lmtp { .. } => None,
        };
        let lease = key.and_then(|k| lease::IntakeLease::for_mailbox(&self.pipeline.store, &k));
        let intake = Intake {
            wake: Some(&wake),
            beat: &beat,
            lease: lease.as_ref(),
        };
        let report = match &self.source {
            Source::Maildir(m) => self.watch_maildir(m, &cancel, &intake).await,
            Source::Imap(imap) => self.watch_imap(imap, &cancel, &intake).await,
            Source::Stdin => {
                // Nothing to read: the intake task only waits, beating for the watchdog.
                beat.waiting(cancel.cancelled()).await;
                Report::default()
            }
            Source::Lmtp { listen, group } => {
                self.serve_lmtp((listen, *group), &cancel, &intake).await?
            }
        };
        if let Some(lease) = &lease {
            lease.release().await;
        }
        tracing::info!("stopping: finishing the work in hand");
        service::stopping();
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "tasks did not stop in time; exiting anyway");
        }
        Ok(report)
    }
}

/// The outbox worker as the daemon runs it: [`Outbox::deliver_due`] in rounds, with a heartbeat
/// for the watchdog and the backlog in systemd's status line.
struct Worker {
    outbox: Outbox,
    /// Intake and the scheduler ring this when they queue mail.
    wake: Arc<Notify>,
    /// The longest sleep: rows written by another process are found this late.
    poll: Duration,
    beat: Heartbeat,
    /// The inbound mailbox, for the status line.
    inbound: String,
}

impl Worker {
    /// Delivers what is due, then sleeps until the next row is due, a wake-up, `poll`, or
    /// `cancel`. A send in hand is finished before stopping.
    async fn run(self, cancel: CancellationToken) {
        let mut failures = 0u32;
        let mut sent = 0;
        let mut shown = String::new();
        while !cancel.is_cancelled() {
            self.beat.beat();
            let mut sleep = self.poll;
            let round = self
                .beat
                .waiting_up_to(OUTBOX_ROUND_LIMIT, self.outbox.deliver_due(&cancel))
                .await;
            let next = match round {
                Ok(done) => {
                    if failures > 0 {
                        tracing::info!(after = failures, "outbox: database reachable again");
                        failures = 0;
                    }
                    sent += done.sent;
                    self.backlog().await
                }
                Err(error) => Err(error),
            };
            match next {
                Ok((next, waiting)) => {
                    if let Some(at) = next {
                        sleep = sleep.min(at.since(store::now_ms()));
                    }
                    let status = format!(
                        "watching {}; outbox {waiting} waiting, {sent} sent since start",
                        self.inbound
                    );
                    if status != shown {
                        service::status(&status);
                        shown = status;
                    }
                }
                Err(error) => {
                    failures += 1;
                    sleep = backoff(failures);
                    if failures == 1 {
                        tracing::warn!(%error, "outbox: database unavailable; retrying with backoff");
                    }
                }
            }
            let stop = self
                .beat
                .waiting(async {
                    tokio::select! {
                        () = cancel.cancelled() => true,
                        () = self.wake.notified() => false,
                        () = tokio::time::sleep(sleep) => false,
                    }
                })
                .await;
            if stop {
                break;
            }
        }
    }

    /// When the next row is due, and how many wait.
    async fn backlog(&self) -> Result<(Option<Millis>, i64), store::Error> {
        let pool = &self.outbox.store.pool;
        let next = store::outbox::next_due_at(pool).await?;
        let (waiting, oldest) = store::outbox::waiting(pool).await?;
        crate::telemetry::outbox_waiting(waiting, oldest, store::now_ms());
        Ok((next, waiting))
    }
}

/// Loads the rules and templates again at each `reload` wake-up, until `cancel` fires.
async fn reload_on(pipeline: Pipeline, reload: Arc<Notify>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = reload.notified() => {}
        }
        service::reloading();
        let settings = pipeline.settings.clone();
        // File reads: off the async workers.
        let loaded = tokio::task::spawn_blocking(move || {
            Catalog::load(
                settings.rules_path.as_deref(),
                settings.templates_dir.as_deref(),
            )
        })
        .await
        .map_err(anyhow::Error::new)
        .and_then(|r| r.map_err(anyhow::Error::new));
        match loaded {
            Ok(catalog) => {
                tracing::info!(
                    categories = catalog.rules.categories().len(),
                    // One template name per rule.
                    rules = catalog.rules.templates().count(),
                    templates = catalog.templates.names().count(),
                    "reloaded rules and templates"
                );
                // The intake batch and the outbox mail in hand keep the catalog they took.
                pipeline.catalog.replace(catalog);
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "reload failed; keeping the previous rules and templates");
            }
        }
        service::ready();
    }
}

/// 1 s, 2 s, 4 s, 8 s, then every 10 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(MAX_RETRY_DELAY)
}
