//! What the clocks change on a case, whoever notices first (the scheduler, or a reply that
//! arrives after the deadline): the reopen window's end closes the case and tells the customer;
//! and the clocks of a case brought in line with its status, and its next weekly follow-up.

use super::notify::Relay;
use super::{Pipeline, SYSTEM_ACTOR};
use crate::lifecycle::{self, Effect};
use crate::model::{CaseId, Millis, Status};
use crate::store::casework::{self, CaseState};
use crate::store::due::{self, claim};
use crate::store::{self, Work};
use crate::templates::render::AUTO_CLOSED;

impl Pipeline {
    /// Closes a resolved case whose reopen window is over and tells the customer. True when the
    /// case is closed afterwards (also when someone else closed it first).
    pub(crate) async fn close_expired(
        &self,
        tx: &mut Work,
        case: CaseId,
        now: Millis,
    ) -> Result<bool, store::Error> {
        if !claim(tx, case, due::CLOSE.condition, &[], now).await? {
            let state = casework::state(tx, case).await?;
            return Ok(state.status == Status::Closed);
        }
        let mut state = casework::state(tx, case).await?;
        let effects = self.life_event(
            tx,
            &mut state,
            &lifecycle::Event::WindowElapsed,
            SYSTEM_ACTOR,
            now,
        );
        self.settle(tx, &mut state, now).await?;
        if effects.contains(&Effect::ClosedNotice) {
            let relay = Relay {
                template: AUTO_CLOSED,
                text: "",
                technician: None,
                actor: SYSTEM_ACTOR,
                desk: None,
                merged_into: None,
                remote_code: None,
                files: None,
            };
            self.relay(tx, &state, &relay, now).await?;
        }
        Ok(state.status == Status::Closed)
    }

    /// When a case whose technician wrote (or was reminded) at `now` is next due its weekly
    /// status note.
    pub(crate) fn next_follow_up(&self, now: Millis) -> Option<Millis> {
        Some(now + self.settings.sla.follow_up)
    }

    /// Brings the resolution clock in line with the status and saves the case.
    pub(crate) async fn settle(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        now: Millis,
    ) -> Result<(), store::Error> {
        state.clock = self
            .clocks()
            .sync(state.clock, state.status, state.target, now);
        casework::save(tx, state, now).await
    }
}
