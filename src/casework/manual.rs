//! Status changes made from the command line (`helpdesk cases status|resolve|reopen`): the same
//! status machine, mail and clocks as a technician's `/commands`, in one transaction, with the
//! refusal returned to the terminal instead of mailed.

use super::notify::Relay;
use super::Pipeline;
use crate::lifecycle::{self, Effect};
use crate::model::{Millis, Status, TicketNo};
use crate::sla;
use crate::store::{self, casework};
use crate::templates::render::{REOPENED, RESOLUTION_NOTICE};

/// What a command-line change came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manual {
    /// Done: the case's status now, and whether the customer was mailed.
    Done {
        /// The status after the change.
        status: Status,
        /// A resolution or reopen notice was queued for the customer.
        customer_told: bool,
    },
    /// No such case.
    NoCase,
    /// The status machine refused it; nothing changed.
    Refused(String),
}

impl Pipeline {
    /// Applies `event` to the case `ticket` on behalf of `actor` (the CLI user) at `now`.
    ///
    /// # Errors
    /// Database failure; nothing changed then.
    pub async fn change_status(
        &self,
        ticket: &TicketNo,
        event: &lifecycle::Event,
        actor: &str,
        now: Millis,
    ) -> Result<Manual, store::Error> {
        let mut tx = self.store.work().await?;
        let Some(id) = casework::id_of(&mut tx, ticket).await? else {
            return Ok(Manual::NoCase);
        };
        let mut state = casework::state(&mut tx, id).await?;
        if let Err(why) = lifecycle::step(&state.life(), event, now, self.settings.reopen_window) {
            return Ok(Manual::Refused(format!("{ticket}: {why}")));
        }
        let effects = self.life_event(&mut tx, &mut state, event, actor, now);
        let template = if effects.contains(&Effect::ResolutionNotice) {
            Some(RESOLUTION_NOTICE)
        } else if effects.contains(&Effect::Reopened { by_customer: false }) {
            Some(REOPENED)
        } else {
            None
        };
        if template.is_some() {
            state.first_response = sla::Clocks::answered(state.first_response, now);
        }
        state.follow_up_at = self.next_follow_up(now);
        self.settle(&mut tx, &mut state, now).await?;
        if let Some(template) = template {
            let relay = Relay {
                template,
                text: "",
                technician: None,
                actor,
                desk: None,
                merged_into: None,
                remote_code: None,
                files: None,
            };
            self.relay(&mut tx, &state, &relay, now).await?;
        }
        tx.commit().await?;
        Ok(Manual::Done {
            status: state.status,
            customer_told: template.is_some(),
        })
    }
}
