//! What the clocks do to a case when they run out, in the caller's transaction: the reopen
//! window ends (the case closes and the customer is told), an SLA target nears or passes (the
//! case's technician or team is warned, then told of the breach), a pending case goes a week
//! without a status note (a reminder), and the triage team's digest of the uncategorized queue.
//! Each first claims its work with a conditional UPDATE, so two instances or a restart never
//! send the same mail twice. The scheduler decides when; this decides what.

use serde_json::json;

use super::notify::{to_json, Notice, Relay};
use super::{Pipeline, SYSTEM_ACTOR};
use crate::classify;
use crate::lifecycle::{self, Effect};
use crate::model::{CaseId, EventKind, Status};
use crate::sla::{Stage, Target};
use crate::store::casework::{self, CaseState};
use crate::store::due::{self, claim};
use crate::store::{self, cases, outbox, Work};
use crate::templates::contexts::{DigestCase, DigestContext};
use crate::templates::render::{
    AUTO_CLOSED, FOLLOW_UP_REMINDER, SLA_BREACH, SLA_WARNING, TRIAGE_DIGEST,
};

/// Which SLA mail is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// The first response is near its target.
    FirstResponseWarning,
    /// The first response missed its target.
    FirstResponseBreach,
    /// The resolution is near its target.
    ResolutionWarning,
    /// The resolution missed its target.
    ResolutionBreach,
}

impl Pipeline {
    /// Closes a resolved case whose reopen window is over and tells the customer. True when the
    /// case is closed afterwards (also when someone else closed it first).
    pub(crate) async fn close_expired(
        &self,
        tx: &mut Work,
        case: CaseId,
        now: i64,
    ) -> Result<bool, store::Error> {
        if !claim(tx, case, due::CLOSE, &[], now).await? {
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
            };
            self.relay(tx, &state, &relay, now).await?;
        }
        Ok(state.status == Status::Closed)
    }

    /// Sends an SLA warning or breach notice to the case's technician or team, once.
    pub(crate) async fn sla_alert(
        &self,
        tx: &mut Work,
        case: CaseId,
        alert: Alert,
        now: i64,
    ) -> Result<bool, store::Error> {
        let condition = match alert {
            Alert::FirstResponseWarning => due::FIRST_RESPONSE_WARNING,
            Alert::FirstResponseBreach => due::FIRST_RESPONSE_BREACH,
            Alert::ResolutionWarning => due::RESOLUTION_WARNING,
            Alert::ResolutionBreach => due::RESOLUTION_BREACH,
        };
        if !claim(tx, case, condition, &[], now).await? {
            return Ok(false);
        }
        let mut state = casework::state(tx, case).await?;
        let rules = self.rules();
        let first_response = Target {
            duration: rules.first_response,
            clock: rules.first_response_clock,
        };
        let (headline, template, due, target, kind) = match alert {
            Alert::FirstResponseWarning | Alert::FirstResponseBreach => {
                let fr = &mut state.first_response;
                let due = fr.due_at;
                if alert == Alert::FirstResponseBreach {
                    fr.stage = Stage::Breached;
                    fr.breached_at = fr.breached_at.or(due);
                } else {
                    fr.stage = Stage::Warned;
                }
                (
                    "first response to the customer",
                    alert,
                    due,
                    Some(first_response),
                    "first_response",
                )
            }
            Alert::ResolutionWarning | Alert::ResolutionBreach => {
                let c = &mut state.clock;
                let due = c.due_at;
                if alert == Alert::ResolutionBreach {
                    c.stage = Stage::Breached;
                    c.breached_at = c.breached_at.or(due);
                } else {
                    c.stage = Stage::Warned;
                }
                let what = if state.category == classify::UNCATEGORIZED {
                    "categorization"
                } else {
                    "resolution"
                };
                (what, alert, due, state.target, "resolution")
            }
        };
        let (template, event) = match template {
            Alert::FirstResponseWarning | Alert::ResolutionWarning => {
                (SLA_WARNING, EventKind::SlaWarning)
            }
            Alert::FirstResponseBreach | Alert::ResolutionBreach => {
                (SLA_BREACH, EventKind::SlaBreached { clock: kind })
            }
        };
        let shown_due = due.map(|d| self.settings.calendar.format(d));
        let detail = json!({ "clock": kind, "due": due.map(store::format_ms) });
        cases::add_event(tx, case, now, SYSTEM_ACTOR, event, &detail);
        casework::save(tx, &state, now).await?;
        let text = match template {
            SLA_WARNING => format!(
                "The {headline} of {} is due {}.",
                state.ticket,
                shown_due.as_deref().unwrap_or("-")
            ),
            _ => format!(
                "The {headline} of {} was due {} and has not happened.",
                state.ticket,
                shown_due.as_deref().unwrap_or("-")
            ),
        };
        let notice = Notice {
            author: SYSTEM_ACTOR.into(),
            headline: format!(
                "{headline} {}",
                if template == SLA_WARNING {
                    "due soon"
                } else {
                    "overdue"
                }
            ),
            text,
            template: Some(template),
            due: shown_due,
            target: target.map(describe),
            ..Notice::default()
        };
        let to = self.staff_of(&state);
        self.notify(tx, &state, &to, &notice, now).await?;
        Ok(true)
    }

    /// Reminds the case's technician or team that a pending or scheduled case is due its status
    /// note, and starts the next week.
    pub(crate) async fn follow_up(
        &self,
        tx: &mut Work,
        case: CaseId,
        now: i64,
    ) -> Result<bool, store::Error> {
        let (condition, categories) = self.follow_up_due();
        if !claim(tx, case, &condition, &categories, now).await? {
            return Ok(false);
        }
        let mut state = casework::state(tx, case).await?;
        let week = self.settings.sla.follow_up;
        let last = state
            .follow_up_at
            .map(|at| at.saturating_sub(super::millis(week)));
        state.follow_up_at = self.next_follow_up(now);
        casework::save(tx, &state, now).await?;
        let detail = json!({ "last_note": last.map(store::format_ms) });
        cases::add_event(
            tx,
            case,
            now,
            SYSTEM_ACTOR,
            EventKind::FollowUpReminded,
            &detail,
        );
        let why = match &state.pending_reason {
            Some(reason) => format!("pending ({reason})"),
            None => format!("{} work", state.category),
        };
        let notice = Notice {
            author: SYSTEM_ACTOR.into(),
            headline: format!("{why}, no status note for {}", classify::describe(week)),
            text: String::new(),
            template: Some(FOLLOW_UP_REMINDER),
            due: last.map(|at| self.settings.calendar.format(at)),
            target: Some(classify::describe(week)),
            ..Notice::default()
        };
        let to = self.staff_of(&state);
        self.notify(tx, &state, &to, &notice, now).await?;
        Ok(true)
    }

    /// Sends the digest of `waiting` (uncategorized cases) for the hour starting at `slot` to
    /// the uncategorized category's team. Returns how many mails were queued.
    pub(crate) async fn triage_digest(
        &self,
        tx: &mut Work,
        slot: i64,
        waiting: &[CaseState],
        now: i64,
    ) -> Result<usize, store::Error> {
        let cal = &self.settings.calendar;
        let rules = self.rules();
        let category = rules.category(classify::UNCATEGORIZED);
        let team = category.and_then(|c| c.team.as_deref());
        let to = team.map(|t| self.team_recipients(t)).unwrap_or_default();
        if to.is_empty() {
            tracing::warn!(
                team = team.unwrap_or("-"),
                cases = waiting.len(),
                "no triage digest: the uncategorized category's team has no [teams.*] address or members"
            );
            return Ok(0);
        }
        let target = category
            .and_then(|c| c.priority(c.default_priority))
            .and_then(|p| {
                p.target.map(|duration| Target {
                    duration,
                    clock: p.clock,
                })
            });
        let context = DigestContext {
            helpdesk_name: self.settings.helpdesk_name(),
            helpdesk_address: self.settings.address.address.clone(),
            slot: cal.format(slot),
            count: waiting.len(),
            plural: waiting.len() != 1,
            target: target.map_or_else(|| "none".into(), describe),
            cases: waiting
                .iter()
                .map(|c| DigestCase {
                    ticket: c.ticket.to_string(),
                    subject: c.subject.clone(),
                    requester: c.requester.clone(),
                    received: cal.format(c.created_at),
                    due: c.clock.due_at.map_or_else(|| "-".into(), |d| cal.format(d)),
                    overdue: c.clock.due_at.is_some_and(|d| d <= now)
                        || c.clock.breached_at.is_some(),
                })
                .collect(),
        };
        let context = to_json(&context)?;
        for recipient in &to {
            let message_id = super::new_message_id(&self.settings.address.address);
            let mail = outbox::NewMail {
                case: None,
                kind: outbox::KIND_NOTIFICATION,
                template: TRIAGE_DIGEST,
                context: context.clone(),
                recipient,
                recipient_name: None,
                message_id: &message_id,
                in_reply_to: None,
                references: &[],
                from_name: None,
                reply_to: Some(&self.settings.address.address),
                cause: None,
            };
            outbox::enqueue(tx, &mail, now).await?;
        }
        Ok(to.len())
    }

    /// The condition that makes a follow-up due, and the categories bound to it.
    pub(crate) fn follow_up_due(&self) -> (String, Vec<&str>) {
        let categories = self.follow_up_categories();
        (due::follow_up(categories.len()), categories)
    }

    /// The categories whose open cases get the weekly follow-up (`sla.follow_up_categories`).
    pub(crate) fn follow_up_categories(&self) -> Vec<&str> {
        self.settings
            .sla
            .follow_up_categories
            .iter()
            .map(String::as_str)
            .collect()
    }

    /// When a case whose technician wrote (or was reminded) at `now` is next due its weekly
    /// status note.
    pub(crate) fn next_follow_up(&self, now: i64) -> Option<i64> {
        Some(now.saturating_add(super::millis(self.settings.sla.follow_up)))
    }

    /// Brings the resolution clock in line with the status and saves the case.
    pub(crate) async fn settle(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        now: i64,
    ) -> Result<(), store::Error> {
        state.clock = self
            .clocks()
            .sync(state.clock, state.status, state.target, now);
        casework::save(tx, state, now).await
    }
}

/// A target as people read it: `4 hours (24x7)`, `3 days (business)`.
fn describe(t: Target) -> String {
    format!("{} ({})", classify::describe(t.duration), t.clock.as_str())
}
