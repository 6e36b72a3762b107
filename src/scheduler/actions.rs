//! What the scheduler does when a clock runs out, in the caller's transaction: an SLA target
//! nears or passes (the case's technician or team is warned, then told of the breach), a
//! pending case goes a week without a status note (a reminder), and the triage team's digest of
//! the uncategorized queue. (The reopen window's end is casework's: a late reply closes the
//! case too.)
//! Each first claims its work with a conditional UPDATE, so two instances or a restart never
//! send the same mail twice. The scheduler decides when; this decides what.

use crate::calendar::Calendar;
use crate::casework::notify::{to_json, Notice};
use crate::casework::{Pipeline, SYSTEM_ACTOR};
use crate::classify;
use crate::model::{CaseId, Millis};
use crate::sla::{Stage, Target};
use crate::store::casework::{self, CaseState};
use crate::store::due::{self, claim};
use crate::store::events::Event;
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
        now: Millis,
    ) -> Result<bool, store::Error> {
        let condition = match alert {
            Alert::FirstResponseWarning => due::FIRST_RESPONSE_WARNING,
            Alert::FirstResponseBreach => due::FIRST_RESPONSE_BREACH,
            Alert::ResolutionWarning => due::RESOLUTION_WARNING,
            Alert::ResolutionBreach => due::RESOLUTION_BREACH,
        }
        .condition;
        if !claim(tx, case, condition, &[], now).await? {
            return Ok(false);
        }
        let mut state = casework::state(tx, case).await?;
        let rules = self.rules();
        let first_response = Target {
            duration: rules.first_response,
            clock: rules.first_response_clock,
        };
        let plan = alert_plan(&mut state, alert, first_response, &self.settings.calendar);
        cases::add_event(tx, case, now, SYSTEM_ACTOR, &plan.event);
        casework::save(tx, &state, now).await?;
        let notice = plan.notice;
        self.notify_staff(tx, &state, &notice, now).await?;
        Ok(true)
    }

    /// Reminds the case's technician or team that a pending or scheduled case is due its status
    /// note, and starts the next week.
    pub(crate) async fn follow_up(
        &self,
        tx: &mut Work,
        case: CaseId,
        now: Millis,
    ) -> Result<bool, store::Error> {
        let (condition, categories) = self.follow_up_due();
        if !claim(tx, case, &condition.condition, &categories, now).await? {
            return Ok(false);
        }
        let mut state = casework::state(tx, case).await?;
        let week = self.settings.sla.follow_up;
        let last = state.follow_up_at.map(|at| at - week);
        state.follow_up_at = self.next_follow_up(now);
        casework::save(tx, &state, now).await?;
        let reminded = Event::FollowUpReminded { last_note: last };
        cases::add_event(tx, case, now, SYSTEM_ACTOR, &reminded);
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
        self.notify_staff(tx, &state, &notice, now).await?;
        Ok(true)
    }

    /// Sends the digest of `waiting` (uncategorized cases) for the hour starting at `slot` to
    /// the uncategorized category's team. Returns how many mails were queued.
    pub(crate) async fn triage_digest(
        &self,
        tx: &mut Work,
        slot: Millis,
        waiting: &[CaseState],
        now: Millis,
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
                attach_message: None,
                about: None,
                headers: None,
                files: &[],
            };
            outbox::enqueue(tx, &mail, now).await?;
        }
        Ok(to.len())
    }

    /// The condition that makes a follow-up due, and the categories bound to it.
    pub(crate) fn follow_up_due(&self) -> (due::Due<String>, Vec<&str>) {
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

/// What an SLA alert does, decided without the database: the clock's new stage (written into
/// the case's state), the event, and the notice to its technician or team.
#[derive(Debug)]
pub(crate) struct AlertPlan {
    /// The event to record: which clock (`first_response`, `resolution`) and when it was due.
    pub event: Event<'static>,
    /// The mail to the case's staff.
    pub notice: Notice,
}

/// Decides an SLA `alert` on `state`: advances the clock's stage (a breach keeps the first
/// time it was missed) and words the notice, with times shown on `calendar`. Pure.
pub(crate) fn alert_plan(
    state: &mut CaseState,
    alert: Alert,
    first_response: Target,
    calendar: &Calendar,
) -> AlertPlan {
    let breach = matches!(alert, Alert::FirstResponseBreach | Alert::ResolutionBreach);
    // The clock's stage moves on; a breach keeps the first time the clock ran out.
    let advance = |stage: &mut Stage, breached_at: &mut Option<Millis>, due: Option<Millis>| {
        *stage = if breach {
            Stage::Breached
        } else {
            Stage::Warned
        };
        if breach {
            *breached_at = breached_at.or(due);
        }
    };
    let (what, due, target, clock) = match alert {
        Alert::FirstResponseWarning | Alert::FirstResponseBreach => {
            let fr = &mut state.first_response;
            let due = fr.due_at;
            advance(&mut fr.stage, &mut fr.breached_at, due);
            let what = "first response to the customer";
            (what, due, Some(first_response), "first_response")
        }
        Alert::ResolutionWarning | Alert::ResolutionBreach => {
            let c = &mut state.clock;
            let due = c.due_at;
            advance(&mut c.stage, &mut c.breached_at, due);
            let what = if state.category == classify::UNCATEGORIZED {
                "categorization"
            } else {
                "resolution"
            };
            (what, due, state.target, "resolution")
        }
    };
    let shown_due = due.map(|d| calendar.format(d));
    let when = shown_due.as_deref().unwrap_or("-");
    let (template, event, text, headline) = if breach {
        (
            SLA_BREACH,
            Event::SlaBreached { clock, due },
            format!(
                "The {what} of {} was due {when} and has not happened.",
                state.ticket
            ),
            format!("{what} overdue"),
        )
    } else {
        (
            SLA_WARNING,
            Event::SlaWarning { clock, due },
            format!("The {what} of {} is due {when}.", state.ticket),
            format!("{what} due soon"),
        )
    };
    AlertPlan {
        event,
        notice: Notice {
            author: SYSTEM_ACTOR.into(),
            headline,
            text,
            template: Some(template),
            due: shown_due,
            target: target.map(describe),
            ..Notice::default()
        },
    }
}

/// A target as people read it
/// A target as people read it: `4 hours (24x7)`, `3 days (business)`.
fn describe(t: Target) -> String {
    format!("{} ({})", classify::describe(t.duration), t.clock.as_str())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::calendar::ClockKind;
    use crate::model::{Status, TicketNo};
    use crate::sla;

    /// 2026-12-07 09:00 UTC, a Monday.
    const DUE: Millis = Millis(1_796_634_000_000);
    /// One millisecond.
    const MS: Duration = Duration::from_millis(1);

    fn calendar() -> Calendar {
        let days: Vec<String> = ["mon", "tue", "wed", "thu", "fri"].map(String::from).into();
        Calendar::new(Some("UTC"), &days, "08:00-17:00", &[]).unwrap()
    }

    fn case(category: &str) -> CaseState {
        CaseState {
            ticket: TicketNo::new("HD", 7),
            subject: "VPN down".into(),
            category: category.into(),
            priority: 2,
            target: Some(Target {
                duration: Duration::from_secs(8 * 3600),
                clock: ClockKind::Always,
            }),
            team: Some("network".into()),
            clock: sla::Resolution {
                due_at: Some(DUE),
                ..sla::Resolution::default()
            },
            first_response: sla::FirstResponse {
                due_at: Some(DUE),
                ..sla::FirstResponse::default()
            },
            ..crate::casework::testing::case_state(Status::Open)
        }
    }

    fn first_response() -> Target {
        Target {
            duration: Duration::from_secs(24 * 3600),
            clock: ClockKind::Business,
        }
    }

    #[test]
    fn a_first_response_warning_advances_only_that_clock_and_says_when() {
        let mut state = case("network");
        let plan = alert_plan(
            &mut state,
            Alert::FirstResponseWarning,
            first_response(),
            &calendar(),
        );
        assert_eq!(state.first_response.stage, Stage::Warned);
        assert_eq!(state.first_response.breached_at, None);
        assert_eq!(
            state.clock.stage,
            Stage::None,
            "the resolution clock is untouched"
        );
        assert_eq!(
            plan.event,
            Event::SlaWarning {
                clock: "first_response",
                due: Some(DUE)
            }
        );
        let n = &plan.notice;
        assert_eq!(n.template, Some(SLA_WARNING));
        assert_eq!(n.headline, "first response to the customer due soon");
        assert_eq!(
            n.text,
            "The first response to the customer of HD-000007 is due Mon 7 Dec 2026 09:00 UTC."
        );
        assert_eq!(n.target.as_deref(), Some("24 hours (business)"));
        assert_eq!(n.author, SYSTEM_ACTOR);
    }

    #[test]
    fn a_resolution_breach_keeps_the_first_miss_and_names_categorization_when_uncategorized() {
        let mut state = case(classify::UNCATEGORIZED);
        state.clock.breached_at = Some(DUE - MS);
        let plan = alert_plan(
            &mut state,
            Alert::ResolutionBreach,
            first_response(),
            &calendar(),
        );
        assert_eq!(state.clock.stage, Stage::Breached);
        assert_eq!(
            state.clock.breached_at,
            Some(DUE - MS),
            "the first miss stays"
        );
        assert_eq!(state.first_response.stage, Stage::None);
        assert_eq!(
            plan.event,
            Event::SlaBreached {
                clock: "resolution",
                due: Some(DUE)
            }
        );
        let n = &plan.notice;
        assert_eq!(n.template, Some(SLA_BREACH));
        assert_eq!(n.headline, "categorization overdue");
        assert!(
            n.text
                .ends_with("was due Mon 7 Dec 2026 09:00 UTC and has not happened."),
            "{}",
            n.text
        );
        assert_eq!(n.target.as_deref(), Some("8 hours (24x7)"));
        // A first breach records when the clock ran out.
        let mut fresh = case("network");
        alert_plan(
            &mut fresh,
            Alert::ResolutionBreach,
            first_response(),
            &calendar(),
        );
        assert_eq!(fresh.clock.breached_at, Some(DUE));
    }
}
