//! The acknowledgment of a new case: whether one may be sent at all (never to auto-generated
//! mail, never to system or own addresses, and within the hourly caps on automatic mail per
//! base mailbox, per domain and in all), the typed template context and threading (the pure
//! [`ack_plan`]), and the outbox row with our own Message-ID.

use crate::casework::notify::to_json;
use crate::casework::{new_message_id, Pipeline, IMPORTED, SYSTEM_ACTOR};
use crate::classify::{self, Classification};
use crate::config::Settings;
use crate::model::{CaseId, Inbound, Millis, TicketNo};
use crate::parse::signals;
use crate::store::events::Event;
use crate::store::{self, cases, outbox, Work};
use crate::templates::contexts::RedirectContext;
use crate::templates::render::{AckContext, KNOWN_ISSUE, REDIRECT};

impl Pipeline {
    /// Queues the acknowledgment, or records why none is sent.
    pub(super) async fn acknowledge(
        &self,
        tx: &mut Work,
        opened: Opened<'_>,
        m: &Inbound,
        c: &Classification,
        now: Millis,
    ) -> Result<bool, store::Error> {
        let case = opened.id;
        let to = m.reply_address();
        let mut why_not = suppression(m, &self.settings);
        if self.import.is_some_and(|i| !i.acknowledge) {
            why_not = Some(IMPORTED.to_owned());
        }
        // The hourly counts are a query: only ask them when nothing else already forbids a reply.
        if why_not.is_none() {
            why_not = self.automatic_mail_capped(tx, &to.address, now).await?;
        }
        if let Some(reason) = why_not {
            let suppressed = Event::AcknowledgmentSuppressed { reason: &reason };
            cases::add_event(tx, case, now, SYSTEM_ACTOR, &suppressed);
            return Ok(false);
        }
        let first_response = self.rules().first_response;
        let plan = ack_plan(&self.settings, first_response, opened, m, c, now);
        let (template, context) = match (opened.redirect, opened.major) {
            (Some(redirect), _) => (REDIRECT, to_json(redirect)?),
            (None, Some(_)) => (KNOWN_ISSUE, to_json(&plan.context)?),
            (None, None) => (c.template.as_str(), to_json(&plan.context)?),
        };
        let message_id = new_message_id(&self.settings.address.address);
        let references = plan.references;
        let mail = outbox::NewMail {
            case: Some(case),
            kind: outbox::KIND_AUTO_REPLY,
            template,
            context,
            recipient: &to.address,
            recipient_name: to.name.as_deref(),
            message_id: &message_id,
            in_reply_to: m.message_id.as_deref(),
            references: &references,
            from_name: None,
            reply_to: None,
            cause: None,
            attach_message: None,
            about: None,
            headers: None,
            files: &[],
        };
        let row = outbox::enqueue(tx, &mail, now).await?;
        let queued = Event::AcknowledgmentQueued {
            outbox: row,
            template,
            to: &to.address,
            message_id: &message_id,
        };
        cases::add_event(tx, case, now, SYSTEM_ACTOR, &queued);
        Ok(true)
    }
}

/// What the acknowledgment says and how it threads, decided without the database: its template
/// context, and References naming the customer's thread and message. Pure.
pub(super) struct AckPlan {
    /// The template's context.
    pub context: AckContext,
    /// The References of our mail: the customer's, then their message.
    pub references: Vec<String>,
}

/// The acknowledgment of `opened` for `m`, classified as `c`, received at `now`; `first_response`
/// is the rules' first-response target, as promised in the mail.
pub(super) fn ack_plan(
    s: &Settings,
    first_response: std::time::Duration,
    opened: Opened<'_>,
    m: &Inbound,
    c: &Classification,
    now: Millis,
) -> AckPlan {
    let mut references = m.references.clone();
    references.extend(m.message_id.clone());
    let context = AckContext {
        helpdesk_name: s.helpdesk_name(),
        helpdesk_address: s.address.address.clone(),
        ticket: opened.ticket.to_string(),
        subject: if opened.subject.is_empty() {
            "(no subject)".into()
        } else {
            opened.subject.to_owned()
        },
        requester_name: m
            .from
            .name
            .clone()
            .unwrap_or_else(|| m.from.address.clone()),
        category: c.category_name.clone(),
        category_id: c.category.clone(),
        priority: c.priority.level,
        priority_name: c.priority.name.clone(),
        case_type: c.case_type.to_string(),
        team: c.team.clone(),
        first_response: classify::describe(first_response),
        resolution_target: c.priority.target.map(classify::describe),
        received_at: s.calendar.format(now),
        first_response_due: opened
            .first_response_due
            .map(|at| s.calendar.format_day(at)),
        resolution_due: opened.resolution_due.map(|at| s.calendar.format_day(at)),
        previous_ticket: opened.previous.map(ToString::to_string),
        duplicate_of: opened.duplicate_of.map(ToString::to_string),
        major_ticket: opened.major.map(|(t, _)| t.to_string()),
        major_summary: opened.major.map(|(_, s)| s.to_owned()),
        known_error: opened.known_error.map(|(t, _)| t.to_string()),
        workaround: opened.known_error.map(|(_, w)| w.to_owned()),
        conference: opened.conference.cloned(),
        approval: opened.approval.map(str::to_owned),
    };
    AckPlan {
        context,
        references,
    }
}

/// The case just opened, as the acknowledgment names it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Opened<'a> {
    pub id: CaseId,
    pub ticket: &'a TicketNo,
    /// The case's subject (a refused tag removed), not necessarily the message's.
    pub subject: &'a str,
    /// The closed case it follows up.
    pub previous: Option<&'a TicketNo>,
    /// When the first response is due, if it has a target.
    pub first_response_due: Option<Millis>,
    /// When the resolution is due, if it has a target.
    pub resolution_due: Option<Millis>,
    /// The case belongs to another desk: the `redirect` mail goes instead of the
    /// acknowledgment, with this context.
    pub redirect: Option<&'a RedirectContext>,
    /// The open case the same requester already wrote about, when this repeats it.
    pub duplicate_of: Option<&'a TicketNo>,
    /// The open major incident this report belongs to, with its summary: the `known_issue`
    /// acknowledgment goes instead.
    pub major: Option<(&'a TicketNo, &'a str)>,
    /// The open problem whose incident this repeats, with its workaround.
    pub known_error: Option<(&'a TicketNo, &'a str)>,
    /// A conference request: what was read of its event.
    pub conference: Option<&'a crate::templates::contexts::ConferenceContext>,
    /// Whose approval the request waits for.
    pub approval: Option<&'a str>,
}

/// Why no automatic answer may go to the message at all, if so: mail loops are never allowed.
/// (The hourly caps are [`Pipeline::automatic_mail_capped`].)
pub(super) fn suppression(m: &Inbound, s: &Settings) -> Option<String> {
    if m.is_auto_generated() {
        let names: Vec<&str> = m.auto_signals.iter().map(|a| a.as_str()).collect();
        return Some(format!("auto-generated mail ({})", names.join(", ")));
    }
    let to = &m.reply_address().address;
    if signals::is_system_address(to) || signals::same_mailbox(to, &s.address.address) {
        return Some(format!("{to} does not take replies"));
    }
    None
}
