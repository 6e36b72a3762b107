//! What the scheduler does when a clock runs out, in the caller's transaction: an SLA target
//! nears or passes (the case's technician or team is warned, then told of the breach), a
//! pending case goes a week without a status note (a reminder), and the triage team's digest of
//! the uncategorized queue. (The reopen window's end is casework's: a late reply closes the
//! case too.)
//! Each first claims its work with a conditional UPDATE, so two instances or a restart never
//! send the same mail twice. The scheduler decides when; this decides what.

use serde_json::json;

use crate::casework::notify::{to_json, Notice};
use crate::casework::{Pipeline, SYSTEM_ACTOR};
use crate::classify;
use crate::model::{CaseId, EventKind};
use crate::sla::{Stage, Target};
use crate::store::casework::{self, CaseState};
use crate::store::due::{self, claim};
use crate::store::{self, cases, outbox, Work};
use crate::templates::contexts::{DigestCase, DigestContext};
use crate::templates::render::{FOLLOW_UP_REMINDER, SLA_BREACH, SLA_WARNING, TRIAGE_DIGEST};

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
            .map(|at| at.saturating_sub(crate::casework::millis(week)));
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
            let message_id = crate::casework::new_message_id(&self.settings.address.address);
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
}

/// A target as people read it
/// A target as people read it: `4 hours (24x7)`, `3 days (business)`.
fn describe(t: Target) -> String {
    format!("{} ({})", classify::describe(t.duration), t.clock.as_str())
}
