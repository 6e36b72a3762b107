//! The SLA clocks of a case, as due times the scheduler can query: the resolution clock, which
//! runs while the case is open, in progress or assigned and stops while it is pending, resolved
//! or closed, and the first-response clock, which a technician's public reply stops. Pure: the
//! functions take the case's clocks, the calendar and `now`, and return new clocks.

use std::time::Duration;

use crate::calendar::{Calendar, ClockKind};
use crate::model::{Millis, Status};

/// What has been sent about a clock, in order. Stored as 0, 1 and 2, which the scheduler's due
/// conditions compare with (`sla_stage < 1`: not warned yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Stage {
    /// Nothing yet.
    #[default]
    None = 0,
    /// The warning at the configured fraction of the target.
    Warned = 1,
    /// The breach notice at the target.
    Breached = 2,
}

impl Stage {
    /// The stored number.
    pub fn stored(self) -> i64 {
        self as i64
    }

    /// From the stored number.
    ///
    /// # Errors
    /// Any other number: the row is corrupt.
    pub fn from_stored(n: i64) -> Result<Stage, String> {
        match n {
            0 => Ok(Stage::None),
            1 => Ok(Stage::Warned),
            2 => Ok(Stage::Breached),
            n => Err(format!("SLA stage {n} (0, 1 or 2 expected)")),
        }
    }
}

/// A resolution target and how it is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The target as the chart gives it.
    pub duration: Duration,
    /// Around the clock, or on the business calendar.
    pub clock: ClockKind,
}

impl Target {
    /// From the stored columns: no seconds, no target; no clock, the default for the
    /// duration.
    ///
    /// # Errors
    /// Negative seconds or an unknown clock: the row is corrupt (never read as "no target").
    pub fn from_columns(secs: Option<i64>, clock: Option<&str>) -> Result<Option<Target>, String> {
        let Some(secs) = secs else { return Ok(None) };
        let secs = u64::try_from(secs).map_err(|_| format!("SLA target of {secs} seconds"))?;
        let duration = Duration::from_secs(secs);
        let clock = match clock {
            Some(c) => ClockKind::parse(c).map_err(|e| format!("SLA clock {c:?}: {e}"))?,
            None => ClockKind::default_for(duration),
        };
        Ok(Some(Target { duration, clock }))
    }

    /// The target in whole seconds, for the `target_secs` column.
    pub fn secs(&self) -> i64 {
        i64::try_from(self.duration.as_secs()).unwrap_or(i64::MAX)
    }
}

/// The resolution clock, as stored on the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resolution {
    /// When the running stretch began; `None` while stopped.
    pub since: Option<Millis>,
    /// Real time used before `since` (to the millisecond: many short pauses must not each lose
    /// their fraction of a second).
    pub used_real: Duration,
    /// Working time used before `since`.
    pub used_work: Duration,
    /// When the target is reached; `None` without a target or while stopped.
    pub due_at: Option<Millis>,
    /// When the team is warned; `None` as `due_at`, or without warnings.
    pub warn_at: Option<Millis>,
    /// What has been sent.
    pub stage: Stage,
    /// When the target was first missed.
    pub breached_at: Option<Millis>,
}

/// The first-response clock, as stored on the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FirstResponse {
    /// When the first technician reply is due.
    pub due_at: Option<Millis>,
    /// When the team is warned.
    pub warn_at: Option<Millis>,
    /// When the first technician reply went out.
    pub at: Option<Millis>,
    /// What has been sent.
    pub stage: Stage,
    /// When the target was missed.
    pub breached_at: Option<Millis>,
}

/// Whether the resolution clock runs in `status`: pending, resolved and closed stop it.
pub fn runs(status: Status) -> bool {
    matches!(status, Status::Open | Status::InProgress | Status::Assigned)
}

/// The calendar and the warning fraction the clocks are computed with.
#[derive(Debug, Clone, Copy)]
pub struct Clocks<'a> {
    /// The business calendar.
    pub calendar: &'a Calendar,
    /// The fraction of a target at which the team is warned.
    pub warn_at: Option<f64>,
}

impl Clocks<'_> {
    /// The first-response clock of a case opened at `opened`.
    pub fn first_response(&self, target: Target, opened: Millis) -> FirstResponse {
        let units = self.calendar.units(target.clock, target.duration);
        FirstResponse {
            due_at: Some(self.calendar.add(target.clock, opened, units)),
            warn_at: self
                .warn_units(units)
                .map(|w| self.calendar.add(target.clock, opened, w)),
            ..FirstResponse::default()
        }
    }

    /// A technician answered the customer at `now`: the first-response clock stops, and if it
    /// was already past due, it stays breached.
    pub fn answered(fr: FirstResponse, now: Millis) -> FirstResponse {
        if fr.at.is_some() {
            return fr;
        }
        let late = fr.due_at.filter(|due| *due <= now);
        FirstResponse {
            at: Some(now),
            breached_at: fr.breached_at.or(late),
            ..fr
        }
    }

    /// Brings the resolution clock in line with the case at `now`: stops it when `status` stops
    /// it (counting the stretch), starts it when `status` runs it, and recomputes the due and
    /// warning times for `target` (which may have changed). A target already missed is recorded
    /// as breached. What was sent is kept unless the new times are later than `now` again.
    pub fn sync(
        &self,
        clock: Resolution,
        status: Status,
        target: Option<Target>,
        now: Millis,
    ) -> Resolution {
        let mut c = clock;
        // A target that passed while the clock ran is breached, whether or not the scheduler
        // got there first.
        if let Some(due) = c.due_at.filter(|d| *d <= now) {
            c.breached_at = c.breached_at.or(Some(due));
        }
        match (c.since, runs(status)) {
            (Some(since), false) => {
                let (real, work) = (ClockKind::Always, ClockKind::Business);
                c.used_real = (c.used_real).saturating_add(self.calendar.elapsed(real, since, now));
                c.used_work = (c.used_work).saturating_add(self.calendar.elapsed(work, since, now));
                c.since = None;
            }
            (None, true) => c.since = Some(now),
            _ => {}
        }
        let (due, warn) = match (c.since, target) {
            (Some(since), Some(t)) => {
                let units = self.calendar.units(t.clock, t.duration);
                let used = match t.clock {
                    ClockKind::Always => c.used_real,
                    ClockKind::Business => c.used_work,
                };
                let at = |u: Duration| self.calendar.add(t.clock, since, u.saturating_sub(used));
                (Some(at(units)), self.warn_units(units).map(at))
            }
            _ => (None, None),
        };
        if (due, warn) != (c.due_at, c.warn_at) {
            if warn.is_some_and(|w| w > now) || (warn.is_none() && due.is_some_and(|d| d > now)) {
                c.stage = Stage::None;
            } else if due.is_some_and(|d| d > now) {
                c.stage = c.stage.min(Stage::Warned);
            }
        }
        c.due_at = due;
        c.warn_at = warn;
        c
    }

    /// The working or real seconds of `units` at which the warning falls.
    fn warn_units(&self, units: Duration) -> Option<Duration> {
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        self.warn_at
            .map(|f| Duration::from_secs(((units.as_secs() as f64) * f).round() as u64))
    }
}

#[cfg(test)]
mod tests;
