//! Running under systemd (`Type=notify`, see `systemd/helpdesk.service`): tells the service
//! manager when the daemon is ready, reloading or stopping and what it is doing (`STATUS=`),
//! and pings the watchdog, but only while every long-running task shows progress. Each task
//! holds a [`Heartbeat`] and beats at the top of every loop iteration and while it waits; a
//! task stuck (say, in a database call) stops beating, the pings stop, and systemd restarts the
//! service. Without `NOTIFY_SOCKET` (not under systemd, or in tests) notifications do nothing.
//! See sd_notify(3) and `WatchdogSec=` in systemd.service(5).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often a waiting task beats: well below any sensible `WatchdogSec=`.
pub const BEAT_WHILE_WAITING: Duration = Duration::from_secs(1);

/// Startup (or a reload) is done: the database is connected and migrated and the tasks run.
pub fn ready() {
    notify(&[NotifyState::Ready]);
}

/// A reload has begun; [`ready`] ends it. systemd 253 and later require the monotonic time
/// with `RELOADING=1`.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => notify(&[NotifyState::Reloading, now]),
        // Without the time, RELOADING=1 would fail the unit on new systemd: say nothing.
        Err(error) => tracing::debug!(%error, "cannot read the monotonic clock"),
    }
}

/// The daemon is stopping.
pub fn stopping() {
    notify(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: finishing the work in hand"),
    ]);
}

/// What the daemon is doing, for `systemctl status`.
pub fn status(text: &str) {
    notify(&[NotifyState::Status(text)]);
}

fn notify(states: &[NotifyState<'_>]) {
    // A failed notification is no reason to stop working; systemd notices by itself when
    // READY=1 or the pings do not arrive.
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "cannot notify systemd (NOTIFY_SOCKET)");
    }
}

/// The watchdog timeout systemd set (`WatchdogSec=`, passed as `WATCHDOG_USEC`), if any.
pub fn watchdog_timeout() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}

/// One task's sign of life: the time of its last beat.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// The task, for the log when it goes quiet.
    task: &'static str,
    /// The clock the beats are measured on (shared by all heartbeats of a [`Heartbeats`]).
    origin: Instant,
    /// Milliseconds after `origin` of the last beat.
    last: Arc<AtomicU64>,
}

impl Heartbeat {
    /// Records progress now.
    pub fn beat(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    /// Awaits `work`, beating every [`BEAT_WHILE_WAITING`] meanwhile: for waits that are
    /// healthy however long they last (a sleep, a wake-up, IMAP IDLE), never for database
    /// calls, whose hanging is what the watchdog is there to catch.
    pub async fn waiting<F: Future>(&self, work: F) -> F::Output {
        let mut work = std::pin::pin!(work);
        let mut tick = tokio::time::interval(BEAT_WHILE_WAITING);
        loop {
            tokio::select! {
                out = &mut work => {
                    self.beat();
                    return out;
                }
                _ = tick.tick() => self.beat(),
            }
        }
    }

    /// Like [`Heartbeat::waiting`], but beats for at most `limit`: for work that mixes
    /// bounded network waits with database calls (an outbox round), so a hang still shows.
    pub async fn waiting_up_to<F: Future>(&self, limit: Duration, work: F) -> F::Output {
        let mut work = std::pin::pin!(work);
        if let Ok(out) = tokio::time::timeout(limit, self.waiting(&mut work)).await {
            return out;
        }
        tracing::warn!(task = self.task, after = ?limit, "still working; no longer counted as progress");
        let out = work.await;
        self.beat();
        out
    }

    fn age(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }
}

/// The heartbeats of all long-running tasks, for the watchdog.
#[derive(Debug)]
pub struct Heartbeats {
    origin: Instant,
    beats: Vec<Heartbeat>,
}

impl Default for Heartbeats {
    fn default() -> Self {
        Heartbeats::new()
    }
}

impl Heartbeats {
    /// No tasks yet.
    pub fn new() -> Heartbeats {
        Heartbeats {
            origin: Instant::now(),
            beats: Vec::new(),
        }
    }

    /// A heartbeat for `task`, counted as having beaten now.
    pub fn register(&mut self, task: &'static str) -> Heartbeat {
        let beat = Heartbeat {
            task,
            origin: self.origin,
            last: Arc::new(AtomicU64::new(0)),
        };
        beat.beat();
        self.beats.push(beat.clone());
        beat
    }

    /// The tasks that have not beaten for `limit` or longer.
    pub fn stale(&self, limit: Duration) -> Vec<&'static str> {
        self.beats
            .iter()
            .filter(|b| b.age() >= limit)
            .map(|b| b.task)
            .collect()
    }
}

/// Pings the watchdog every `timeout / 2` while every heartbeat is younger than `timeout`,
/// until `cancel` fires. A quiet task is logged once, naming it; pings resume when it beats
/// again (if systemd has not restarted the service by then).
pub async fn watchdog(heartbeats: Heartbeats, timeout: Duration, cancel: CancellationToken) {
    watch(heartbeats, timeout, cancel, || {
        notify(&[NotifyState::Watchdog])
    })
    .await;
}

async fn watch(
    heartbeats: Heartbeats,
    timeout: Duration,
    cancel: CancellationToken,
    mut ping: impl FnMut(),
) {
    let mut every = tokio::time::interval(timeout / 2);
    let mut quiet = false;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = every.tick() => {}
        }
        let stale = heartbeats.stale(timeout);
        if stale.is_empty() {
            if quiet {
                tracing::info!("every task is making progress again; watchdog pings resumed");
                quiet = false;
            }
            ping();
        } else if !quiet {
            tracing::error!(tasks = ?stale, no_progress_for = ?timeout,
                "a task makes no progress; watchdog pings stopped, so systemd will restart the service");
            quiet = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_heartbeat_goes_stale_unless_it_beats_or_waits() {
        let mut all = Heartbeats::new();
        let intake = all.register("intake");
        let outbox = all.register("outbox");
        let limit = Duration::from_secs(30);
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(all.stale(limit).is_empty());
        intake.beat();
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(all.stale(limit), vec!["outbox"]);
        // A long healthy wait keeps it fresh.
        outbox
            .waiting(tokio::time::sleep(Duration::from_secs(120)))
            .await;
        assert_eq!(all.stale(limit), vec!["intake"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_pings_only_while_every_task_beats() {
        let mut all = Heartbeats::new();
        let worker = all.register("worker");
        let pings = Arc::new(AtomicUsize::new(0));
        let cancel = CancellationToken::new();
        let counted = pings.clone();
        let task = tokio::spawn(watch(
            all,
            Duration::from_secs(30),
            cancel.clone(),
            move || {
                counted.fetch_add(1, Ordering::Relaxed);
            },
        ));
        let count = || pings.load(Ordering::Relaxed);
        // Healthy for a minute: a ping every 15 s (the first at once).
        for _ in 0..4 {
            worker.beat();
            tokio::time::sleep(Duration::from_secs(15)).await;
        }
        let healthy = count();
        assert!(healthy >= 4, "{healthy} pings");
        // Stuck (no beats) for a minute: at most the ping or two before 30 s pass.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let stuck = count() - healthy;
        assert!(stuck <= 2, "{stuck} pings while stuck");
        let before = count();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(count(), before, "pinged while stuck");
        // Progress again: pings resume.
        worker.beat();
        tokio::time::sleep(Duration::from_secs(16)).await;
        assert!(count() > before);
        cancel.cancel();
        task.await.unwrap();
    }
}
