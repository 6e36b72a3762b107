//! The clocks' one task: do the work that is due, then sleep until the next due time (or until
//! intake wakes it, or a minute, whichever comes first). Everything it acts on is a due time in
//! the database: the reopen windows, the SLA warnings and breaches, the weekly follow-ups, the
//! reminders to approvers and the triage digest's hour, so a restart loses nothing, and each piece is claimed in its own
//! transaction (see `actions`, and the reopen window's end in [`crate::casework`]), so nothing
//! fires twice. [`Scheduler::run_due`] takes `now` as an argument: tests drive it with any clock
//! they like.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::casework::Pipeline;
use crate::classify;
use crate::config::Digest;
use crate::model::Millis;
use crate::service::Heartbeat;
use crate::store::due;
use crate::store::{self, casework, requests};
use actions::Alert;

/// Cases handled per kind of work per round; the next round picks up the rest at once.
const BATCH: i64 = 200;

/// The longest sleep: a configuration-independent heartbeat.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Cases closed at the end of their reopen window.
    pub closed: usize,
    /// SLA warnings sent.
    pub warnings: usize,
    /// SLA breach notices sent.
    pub breaches: usize,
    /// Follow-up reminders sent.
    pub reminders: usize,
    /// Triage digests queued (one per recipient).
    pub digests: usize,
    /// Approvers reminded.
    pub approvals: usize,
}

impl Tally {
    /// Whether anything was done (mail may be waiting in the outbox).
    pub fn any(&self) -> bool {
        *self != Tally::default()
    }
}

/// The clocks' task.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// The pipeline whose settings, rules and store it works with.
    pub pipeline: Pipeline,
}

impl Scheduler {
    /// Does everything due at `now`.
    ///
    /// # Errors
    /// Database failure; what was committed before it stays done, the rest is due again.
    pub async fn run_due(&self, now: Millis) -> Result<Tally, store::Error> {
        self.due_work(now, None).await
    }

    /// [`Scheduler::run_due`], beating `heartbeat` once per round: a large backlog takes
    /// many rounds, each of them progress.
    async fn due_work(
        &self,
        now: Millis,
        heartbeat: Option<&Heartbeat>,
    ) -> Result<Tally, store::Error> {
        let mut tally = Tally::default();
        loop {
            if let Some(h) = heartbeat {
                h.beat();
            }
            let round = self.round(now).await?;
            tally.closed += round.closed;
            tally.warnings += round.warnings;
            tally.breaches += round.breaches;
            tally.reminders += round.reminders;
            tally.digests += round.digests;
            tally.approvals += round.approvals;
            // A full batch may have left more behind; anything less means all is done.
            if !self.full(round) {
                break;
            }
        }
        tally.digests += self.digest(now).await?;
        // The caps' tallies older than twice their window are never read again.
        store::outbox::forget_counts(&self.pipeline.store.pool, now - 2 * crate::caps::WINDOW)
            .await?;
        // A desk that grew since the planner last looked gets its statistics renewed; best
        // effort: a writer holding the database meanwhile only postpones it to the next pass.
        if let Err(error) = self.pipeline.store.optimize().await {
            tracing::debug!(%error, "the planner's statistics were not renewed this time");
        }
        Ok(tally)
    }

    fn full(&self, round: Tally) -> bool {
        let full = usize::try_from(BATCH).unwrap_or(usize::MAX);
        [
            round.closed,
            round.warnings,
            round.breaches,
            round.reminders,
            round.approvals,
        ]
        .iter()
        .any(|n| *n >= full)
    }

    async fn round(&self, now: Millis) -> Result<Tally, store::Error> {
        // One set of rules per round, whatever a reload does meanwhile.
        let p = &self.pipeline.pinned();
        let pool = &p.store.pool;
        let mut tally = Tally::default();
        for state in casework::due(&p.store, &due::CLOSE, &[], now, BATCH).await? {
            let mut tx = p.store.work().await?;
            if p.close_expired(&mut tx, state.id, now).await? {
                tally.closed += 1;
            }
            tx.commit().await?;
        }
        // Breaches before warnings: a case that is past both gets the breach notice only.
        let alerts = [
            (due::FIRST_RESPONSE_BREACH, Alert::FirstResponseBreach),
            (due::RESOLUTION_BREACH, Alert::ResolutionBreach),
            (due::FIRST_RESPONSE_WARNING, Alert::FirstResponseWarning),
            (due::RESOLUTION_WARNING, Alert::ResolutionWarning),
        ];
        for (condition, alert) in alerts {
            for state in casework::due(&p.store, &condition, &[], now, BATCH).await? {
                let mut tx = p.store.work().await?;
                if p.sla_alert(&mut tx, state.id, alert, now).await? {
                    match alert {
                        Alert::FirstResponseBreach | Alert::ResolutionBreach => tally.breaches += 1,
                        _ => tally.warnings += 1,
                    }
                }
                tx.commit().await?;
            }
        }
        let (condition, categories) = p.follow_up_due();
        for state in casework::due(&p.store, &condition, &categories, now, BATCH).await? {
            let mut tx = p.store.work().await?;
            if p.follow_up(&mut tx, state.id, now).await? {
                tally.reminders += 1;
            }
            tx.commit().await?;
        }
        for approval in requests::reminders_due(pool, now, BATCH).await? {
            let mut tx = p.store.work().await?;
            if p.remind_approver(&mut tx, &approval, now).await? {
                tally.approvals += 1;
            }
            tx.commit().await?;
        }
        Ok(tally)
    }

    /// The triage digest of the hour that contains `now`, when that hour is odd (and in
    /// working time, unless `sla.digest = "always"`) and no digest went out for it yet.
    async fn digest(&self, now: Millis) -> Result<usize, store::Error> {
        let p = &self.pipeline;
        let Some(slot) = digest_slot(p, now) else {
            return Ok(0);
        };
        let mut tx = p.store.work().await?;
        if !store::schedule::claim(&mut tx, "triage_digest", slot).await? {
            return Ok(0);
        }
        let waiting = casework::uncategorized(&mut tx, classify::UNCATEGORIZED).await?;
        let sent = if waiting.is_empty() {
            tracing::debug!("triage digest: the uncategorized queue is empty");
            0
        } else {
            p.triage_digest(&mut tx, slot, &waiting, now).await?
        };
        tx.commit().await?;
        if sent > 0 {
            tracing::info!(
                cases = waiting.len(),
                recipients = sent,
                "triage digest queued"
            );
        }
        Ok(sent)
    }

    /// When the next piece of work is due after `now`, as far as the database knows: the
    /// earliest reopen deadline, warning, target or follow-up, and the next digest hour.
    ///
    /// # Errors
    /// Database failure.
    pub async fn next_due(&self, now: Millis) -> Result<Option<Millis>, store::Error> {
        let p = &self.pipeline;
        let categories = p.follow_up_categories();
        let scope = due::follow_up_scope(1, categories.len());
        let mut next = casework::next_due(&p.store, &scope, &categories).await?;
        if let Some(at) = requests::next_reminder(&p.store.pool).await? {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        if p.settings.sla.digest != Digest::Off {
            let mut at = now;
            // The next odd hour that is a digest hour, within a week.
            for _ in 0..24 * 7 {
                at = p.settings.calendar.next_hour(at);
                if digest_slot(p, at) == Some(at) {
                    next = Some(next.map_or(at, |n| n.min(at)));
                    break;
                }
            }
        }
        Ok(next)
    }

    /// Runs until `cancel` fires: due work, then sleep until the next due time, a wake-up from
    /// intake, or a minute. Mail it queues wakes the outbox. `heartbeat` beats at each round
    /// and while sleeping, for the watchdog.
    pub async fn run(
        self,
        wake: Arc<Notify>,
        outbox: Arc<Notify>,
        cancel: CancellationToken,
        heartbeat: Heartbeat,
    ) {
        let mut failures = 0u32;
        while !cancel.is_cancelled() {
            let now = store::now_ms();
            let mut sleep = MAX_SLEEP;
            match self.due_work(now, Some(&heartbeat)).await {
                Ok(tally) => {
                    if failures > 0 {
                        tracing::info!(after = failures, "scheduler: database reachable again");
                        failures = 0;
                    }
                    if tally.any() {
                        tracing::info!(?tally, "scheduler: due work done");
                        outbox.notify_one();
                    }
                    if let Ok(next) = self.next_due(store::now_ms()).await {
                        sleep = sleep_until(next, now, store::now_ms());
                    }
                }
                Err(error) => {
                    failures += 1;
                    sleep = Duration::from_secs(5u64.saturating_mul(u64::from(failures)))
                        .min(MAX_SLEEP);
                    if failures == 1 {
                        tracing::warn!(%error, "scheduler: database unavailable; retrying with backoff");
                    }
                }
            }
            let stop = heartbeat
                .waiting(async {
                    tokio::select! {
                        () = cancel.cancelled() => true,
                        () = wake.notified() => false,
                        () = tokio::time::sleep(sleep) => false,
                    }
                })
                .await;
            if stop {
                break;
            }
        }
    }
}

/// How long to sleep after a round run at `round_at`, it being `now`, when the next piece of
/// work is due at `next`: until then, at most [`MAX_SLEEP`], and at once when it came due
/// after the round started. A due time at or before `round_at` is work the round did not
/// claim (a bug: the next-due query and the claims disagree); sleeping 0 for it would run the
/// queries in a loop, so it is logged and waited out as if nothing were due.
fn sleep_until(next: Option<Millis>, round_at: Millis, now: Millis) -> Duration {
    match next {
        Some(at) if at <= round_at => {
            tracing::warn!(
                due = %store::format_ms(at),
                "scheduler: a due time the round did not take; not waiting for it"
            );
            MAX_SLEEP
        }
        Some(at) => at.since(now).min(MAX_SLEEP),
        None => MAX_SLEEP,
    }
}

/// The digest hour that `at` falls in, if it is one: an odd local hour, in working time unless
/// the digest goes out around the clock.
fn digest_slot(p: &Pipeline, at: Millis) -> Option<Millis> {
    let cal = &p.settings.calendar;
    let (start, hour) = cal.hour_slot(at);
    let wanted = match p.settings.sla.digest {
        Digest::Off => false,
        Digest::Always => hour % 2 == 1,
        Digest::Business => hour % 2 == 1 && cal.is_working(start),
    };
    wanted.then_some(start)
}

pub(crate) mod actions;
#[cfg(test)]
mod tests;
