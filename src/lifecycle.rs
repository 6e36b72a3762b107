//! The status machine of a case: `open → in_progress → assigned → pending(reason) → resolved →
//! closed`, with reopen. Pure: [`step`] takes the case's lifecycle, what happened and `now`, and
//! returns the new lifecycle and what must follow (mail to send), or why the transition is
//! refused. The SLA clocks follow the status ([`crate::sla`]).

use std::time::Duration;

use crate::model::{Millis, Status};

/// The parts of a case the status machine reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Life {
    /// Where the case stands.
    pub status: Status,
    /// Why it is pending (`vendor: part ordered`).
    pub pending_reason: Option<String>,
    /// The resolution text.
    pub resolution: Option<String>,
    /// When it was last resolved.
    pub resolved_at: Option<Millis>,
    /// When a resolved case closes by itself: the end of the reopen window.
    pub close_at: Option<Millis>,
    /// When it closed.
    pub closed_at: Option<Millis>,
}

/// What happened to the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A technician's `/status`; `pending` carries its reason.
    Set(Status, Option<String>),
    /// A technician's `/resolve [text]`.
    Resolve(Option<String>),
    /// A technician's `/reopen`.
    Reopen,
    /// The case was handed to a team or technician.
    Assigned,
    /// A technician answered the customer.
    Answered,
    /// The customer wrote; `thanks` when the reply only says thanks. Inside the reopen window a
    /// reply reopens a resolved case; a case pending on the customer goes back in progress.
    CustomerReplied {
        /// The reply says nothing but thanks.
        thanks: bool,
    },
    /// The scheduler found the reopen window over.
    WindowElapsed,
}

/// What must follow a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Send the customer the resolution notice with the reopen deadline.
    ResolutionNotice,
    /// The case was reopened; `by_customer` when the customer's reply did it (the team is told).
    Reopened {
        /// The customer's reply reopened it.
        by_customer: bool,
    },
    /// The case closed at the end of the reopen window: tell the customer.
    ClosedNotice,
}

/// Why a transition is refused, for the technician or the CLI user.
pub type Refusal = String;

/// Applies `event` at `now` with a reopen window of `window`.
///
/// # Errors
/// The transition is not allowed from the case's status, with what to do instead.
pub fn step(
    life: &Life,
    event: &Event,
    now: Millis,
    window: Duration,
) -> Result<(Life, Vec<Effect>), Refusal> {
    use Status::{Assigned, Closed, InProgress, Open, Pending, Resolved};
    let mut next = life.clone();
    let from = life.status;
    let active = matches!(from, Open | InProgress | Assigned | Pending);
    let set = |next: &mut Life, to: Status| {
        next.status = to;
        if to != Pending {
            next.pending_reason = None;
        }
    };
    let mut effects = Vec::new();
    match event {
        Event::Set(Open, _) => {
            return Err("use /reopen to open a resolved or closed case again".into());
        }
        Event::Set(Pending, None) => {
            return Err(
                "/status pending needs a reason: vendor, customer, district or scheduled".into(),
            );
        }
        Event::Set(Resolved, _) | Event::Resolve(_) if from == Resolved => {
            return Err(
                "the case is already resolved; /reopen it first to resolve it again".into(),
            );
        }
        Event::Set(to, _) if from == Closed => {
            return Err(format!(
                "the case is closed; /reopen it before setting it {to}"
            ));
        }
        Event::Resolve(_) if from == Closed => {
            return Err("the case is closed; /reopen it before resolving it again".into());
        }
        Event::Set(Closed, _) if active => {
            return Err(format!(
                "the case is {from}; /resolve it first: the customer gets the resolution notice and the case closes when the reopen window ends (or /status closed then, to close it at once)"
            ));
        }
        Event::Set(to @ (InProgress | Assigned), _) if from == Resolved => {
            return Err(format!(
                "the case is resolved; /reopen it before setting it {to}"
            ));
        }
        Event::Set(Pending, _) if from == Resolved => {
            return Err("the case is resolved; /reopen it before setting it pending".into());
        }
        Event::Set(Pending, reason) => {
            set(&mut next, Pending);
            next.pending_reason.clone_from(reason);
        }
        Event::Set(to @ (InProgress | Assigned), _) => set(&mut next, *to),
        Event::Set(Resolved, _) | Event::Resolve(_) => {
            set(&mut next, Resolved);
            if let Event::Resolve(text) = event {
                next.resolution.clone_from(text);
            }
            next.resolved_at = Some(now);
            next.close_at = Some(now + window);
            effects.push(Effect::ResolutionNotice);
        }
        Event::Set(Closed, _) => {
            // From resolved: the technician closes it before the window ends.
            set(&mut next, Closed);
            next.close_at = None;
            next.closed_at = Some(now);
        }
        Event::Reopen if active => {
            return Err(format!(
                "the case is {from}; /reopen is for resolved or closed cases"
            ));
        }
        Event::Reopen => {
            reopen(&mut next);
            effects.push(Effect::Reopened { by_customer: false });
        }
        Event::Assigned if active => set(&mut next, Assigned),
        Event::Assigned => {
            return Err(format!(
                "the case is {from}; /reopen it before handing it over"
            ));
        }
        Event::Answered => {
            if from == Open {
                set(&mut next, InProgress);
            }
        }
        Event::CustomerReplied { thanks } => {
            let in_window = from == Resolved && life.close_at.is_none_or(|c| now < c);
            if in_window && !thanks {
                reopen(&mut next);
                effects.push(Effect::Reopened { by_customer: true });
            }
            // The case waited on the customer, who has answered: back to work, clock running.
            let awaited = life
                .pending_reason
                .as_deref()
                .is_some_and(|r| r.split(':').next() == Some("customer"));
            if from == Pending && awaited && !thanks {
                set(&mut next, InProgress);
            }
        }
        Event::WindowElapsed => match life.close_at {
            Some(at) if from == Resolved && at <= now => {
                set(&mut next, Closed);
                next.close_at = None;
                next.closed_at = Some(now);
                effects.push(Effect::ClosedNotice);
            }
            _ => return Err(format!("the case is {from}; its reopen window is not over")),
        },
    }
    Ok((next, effects))
}

fn reopen(next: &mut Life) {
    next.status = Status::InProgress;
    next.pending_reason = None;
    next.resolution = None;
    next.close_at = None;
    next.closed_at = None;
}

#[cfg(test)]
mod tests;
