//! The acknowledgment of a new case: whether one may be sent at all (never to auto-generated
//! mail, never to system or own addresses, at most `auto_reply_limit` per address per hour),
//! the typed template context, and the outbox row with our own Message-ID.

use serde_json::json;

use super::{Pipeline, SYSTEM_ACTOR};
use crate::classify::{self, Classification};
use crate::config::Settings;
use crate::model::{CaseId, Inbound, TicketNo};
use crate::outbox::render::AckContext;
use crate::parse::signals;
use crate::store::{self, cases, outbox, Work};

impl Pipeline {
    /// Queues the acknowledgment, or records why none is sent.
    pub(super) async fn acknowledge(
        &self,
        tx: &mut Work,
        case: Opened<'_>,
        m: &Inbound,
        c: &Classification,
        now: i64,
    ) -> Result<bool, store::Error> {
        let Opened {
            id: case,
            ticket,
            subject,
            previous,
        } = case;
        let to = m.reply_address();
        // The hourly count is a query: only ask it when nothing else already forbids a reply.
        let mut why_not = suppression(m, &self.settings, 0);
        if self.import.is_some_and(|i| !i.acknowledge) {
            why_not = Some(super::IMPORTED.to_owned());
        }
        if why_not.is_none() {
            let recent = outbox::auto_replies_since(tx, &to.address, now - 3_600_000).await?;
            why_not = suppression(m, &self.settings, recent);
        }
        if let Some(reason) = why_not {
            let detail = json!({ "reason": reason });
            cases::add_event(
                tx,
                case,
                now,
                SYSTEM_ACTOR,
                "acknowledgment_suppressed",
                &detail,
            );
            return Ok(false);
        }
        let context =
            serde_json::to_string(&self.ack_context((ticket, previous), subject, m, c, now))
                .map_err(|e| store::Error::Corrupt(e.to_string()))?;
        let message_id = new_message_id(&self.settings.address.address);
        let mut references = m.references.clone();
        references.extend(m.message_id.clone());
        let mail = outbox::NewMail {
            case: Some(case),
            kind: outbox::KIND_AUTO_REPLY,
            template: &c.template,
            context,
            recipient: &to.address,
            recipient_name: to.name.as_deref(),
            message_id: &message_id,
            in_reply_to: m.message_id.as_deref(),
            references: &references,
            from_name: None,
            reply_to: None,
        };
        let row = outbox::enqueue(tx, &mail, now).await?;
        let detail = json!({ "outbox": row, "template": c.template, "to": to.address, "message_id": message_id });
        cases::add_event(
            tx,
            case,
            now,
            SYSTEM_ACTOR,
            "acknowledgment_queued",
            &detail,
        );
        Ok(true)
    }

    fn ack_context(
        &self,
        (ticket, previous): (&TicketNo, Option<&TicketNo>),
        subject: &str,
        m: &Inbound,
        c: &Classification,
        now: i64,
    ) -> AckContext {
        let s = &self.settings;
        AckContext {
            helpdesk_name: s.helpdesk_name(),
            helpdesk_address: s.address.address.clone(),
            ticket: ticket.to_string(),
            subject: if subject.is_empty() {
                "(no subject)".into()
            } else {
                subject.to_owned()
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
            first_response: classify::describe(self.rules().first_response),
            resolution_target: c.priority.target.map(classify::describe),
            received_at: s.calendar.format(now),
            previous_ticket: previous.map(ToString::to_string),
        }
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
}

/// Why no acknowledgment may be sent, if any: mail loops are never allowed.
pub(super) fn suppression(m: &Inbound, s: &Settings, recent_auto_replies: i64) -> Option<String> {
    if m.is_auto_generated() {
        let names: Vec<&str> = m.auto_signals.iter().map(|a| a.as_str()).collect();
        return Some(format!("auto-generated mail ({})", names.join(", ")));
    }
    let to = &m.reply_address().address;
    if signals::is_system_address(to) || signals::same_mailbox(to, &s.address.address) {
        return Some(format!("{to} does not take replies"));
    }
    if recent_auto_replies >= i64::from(s.auto_reply_limit) {
        return Some(format!(
            "{recent_auto_replies} automatic replies to {to} in the last hour (helpdesk.auto_reply_limit = {})",
            s.auto_reply_limit
        ));
    }
    None
}

/// A fresh, unguessable Message-ID at the support address's domain.
pub fn new_message_id(own_address: &str) -> String {
    let domain = own_address
        .rsplit_once('@')
        .map_or("helpdesk.invalid", |(_, d)| d);
    format!("hd.{}@{domain}", uuid::Uuid::new_v4().simple())
}
