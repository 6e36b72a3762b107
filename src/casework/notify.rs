//! The conversation's outgoing mail, queued in the transaction that changes the case: notifications to a case's
//! team or technician (From the customer's name "via" the help desk, Reply-To the support
//! address, threaded per recipient), technician replies relayed to the customer (threaded in
//! the customer's conversation), the error reply for refused commands, and the reply to a
//! technician address whose mail proved nothing.

use super::Pipeline;
use crate::attach;
use crate::commands::{self, Problem};
use crate::config::Settings;
use crate::model::{CaseType, Inbound, Millis, Status};
use crate::parse::signals;
use crate::store::casework::{self, CaseState};
use crate::store::events::Event;
use crate::store::outbox::{self, Audience, NewMail};
use crate::store::{self, cases, Work};
use crate::templates::contexts::{
    CommandErrorContext, RedirectContext, StaffContext, UpdateContext,
};
use crate::templates::render::{
    COMMAND_ERROR, COMMAND_RECEIPT, RESOLUTION_NOTICE, TEAM_NOTIFICATION, UNVERIFIED_TECHNICIAN,
};

/// The actor recorded for the daemon's own events.
use super::SYSTEM_ACTOR;

/// References kept on outgoing mail: the newest ones suffice for every client's threading.
const MAX_REFERENCES: usize = 20;

/// What a notification says.
#[derive(Debug, Default)]
pub(crate) struct Notice {
    /// Who caused it: never told about their own doing.
    pub author: String,
    pub headline: String,
    pub text: String,
    /// The files of the message it reports: those it carries, and every one as listed.
    pub files: attach::Choice,
    /// The template; `team_notification` when `None`.
    pub template: Option<&'static str>,
    /// For SLA and follow-up mail: the due time and the target, as shown.
    pub due: Option<String>,
    pub target: Option<String>,
    /// A stored inbound message (its row) to attach whole: the original of a redirected case.
    pub attach_message: Option<i64>,
    /// Where answers go instead of the support address (a forward: to the customer).
    pub reply_to: Option<String>,
    /// The task or approval the mail asks its recipient to answer.
    pub about: Option<outbox::About>,
    /// A task mail: the task's label and team.
    pub task: Option<(String, String)>,
}

/// Who of `to` a notice by `author` on `state` goes to: everyone but the author, nobody while
/// importing. `Err` says why nobody is left, for the record. Pure.
fn addressees<'a>(
    to: &'a [String],
    author: &str,
    importing: bool,
    state: &CaseState,
    settings: &Settings,
) -> Result<Vec<&'a String>, String> {
    let to: Vec<&String> = to
        .iter()
        .filter(|r| !r.eq_ignore_ascii_case(author) && !importing)
        .collect();
    if !to.is_empty() {
        return Ok(to);
    }
    Err(match (&state.assignee, &state.team) {
        _ if importing => super::IMPORTED.to_owned(),
        (Some(_), _) => "the case's technician did it".to_owned(),
        (None, Some(t)) if settings.team(t).is_some() => format!("{author} is all of team `{t}`"),
        (None, Some(t)) => format!("no [teams.{t}] is configured"),
        (None, None) => "the case has no team or technician".to_owned(),
    })
}

/// What [`Pipeline::answer_sender`] says: the template, and the refused lines or the changes.
pub(crate) struct Answer<'a> {
    pub template: &'static str,
    pub problems: &'a [Problem],
    pub changes: &'a [String],
}

/// Mail for the customer in their conversation: a technician's reply, a canned reply, or a
/// lifecycle notice.
pub(crate) struct Relay<'a> {
    pub template: &'a str,
    pub text: &'a str,
    pub technician: Option<String>,
    pub actor: &'a str,
    /// The desk a `redirect` mail names.
    pub desk: Option<&'a crate::config::Desk>,
    /// The case a `merged` mail names.
    pub merged_into: Option<&'a crate::model::TicketNo>,
    /// The Quick Assist code a `remote_assistance` mail gives.
    pub remote_code: Option<&'a str>,
    /// The technician's files it carries (a reply the customer may see).
    pub files: Option<&'a attach::Choice>,
}

/// Most people a relay is copied to besides the requester: a Cc list of a hundred addresses
/// must not turn one reply into a hundred mails.
const MAX_COPIES: usize = 20;

/// What `check` says of the mail around a reply: who gets the relays, what files go with mail,
/// whether technicians get receipts.
pub(crate) fn describe(settings: &Settings) -> String {
    let copies = match settings.reply_all {
        true => format!(
            "relays to the requester and everyone on the customer's side of the thread (at most {MAX_COPIES} copies)"
        ),
        false => "relays to the requester only (reply_all = false)".to_owned(),
    };
    let files = match settings.max_attachments_size {
        0 => "no files forwarded (listed only)".to_owned(),
        n => format!("files forwarded up to {} per mail", attach::human_size(n)),
    };
    let receipts = match settings.command_receipts {
        true => "receipts for commands",
        false => "no receipts for commands",
    };
    format!("{copies}; {files}; {receipts}")
}

/// Who gets a copy of a relay besides the requester: the case's `participants` on the
/// customer's side, without the requester, its author, the help desk's own addresses
/// (`staff`), and addresses that take no mail; each once, at most [`MAX_COPIES`]. Pure.
fn copies(
    requester: &str,
    participants: &[String],
    author: &str,
    staff: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in participants {
        let skip = signals::same_mailbox(p, requester)
            || p.eq_ignore_ascii_case(author)
            || staff(p)
            || signals::is_system_address(p)
            || out.iter().any(|o| o.eq_ignore_ascii_case(p));
        if !skip && out.len() < MAX_COPIES {
            out.push(p.clone());
        }
    }
    out
}

impl Pipeline {
    /// Who hears about a case: its technician, else its team.
    pub(crate) fn staff_of(&self, state: &CaseState) -> Vec<String> {
        match (&state.assignee, &state.team) {
            (Some(a), _) => vec![a.clone()],
            (None, Some(team)) => self.team_recipients(team),
            (None, None) => Vec::new(),
        }
    }

    /// Queues `notice` to whoever has the case: its technician, else its team.
    pub(crate) async fn notify_staff(
        &self,
        tx: &mut Work,
        state: &CaseState,
        notice: &Notice,
        now: Millis,
    ) -> Result<(), store::Error> {
        let to = self.staff_of(state);
        self.notify(tx, state, &to, notice, now).await
    }

    /// The files of message `m`, stored as `row` on `case`, that a mail about it carries,
    /// within `outbound.max_attachments_size`, and the rest listed (nothing to read for a
    /// message without files).
    pub(crate) async fn files_of(
        &self,
        tx: &mut Work,
        case: crate::model::CaseId,
        (row, m): (i64, &crate::model::Inbound),
    ) -> Result<attach::Choice, store::Error> {
        if m.attachments.is_empty() {
            return Ok(attach::Choice::default());
        }
        let stored = crate::store::messages::files(tx, case, row).await?;
        Ok(attach::choose(&stored, self.settings.max_attachments_size))
    }

    /// A configured team's recipients; none for a team the config does not define.
    pub(crate) fn team_recipients(&self, team: &str) -> Vec<String> {
        self.settings
            .team(team)
            .map(|t| t.recipients().into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Queues `notice` to each of `to`, or records that nobody could be told.
    pub(crate) async fn notify(
        &self,
        tx: &mut Work,
        state: &CaseState,
        to: &[String],
        notice: &Notice,
        now: Millis,
    ) -> Result<(), store::Error> {
        let importing = self.import.is_some();
        let mut to = addressees(to, &notice.author, importing, state, &self.settings);
        // One sender's flood of new cases or replies must not become a flood of notifications:
        // staff and the scheduler are not capped, customers and strangers are.
        let author = &notice.author;
        if to.is_ok() && author != SYSTEM_ACTOR && !self.settings.is_technician(author) {
            let since = now - crate::caps::WINDOW;
            let caused = outbox::notifications_caused_since(tx, author, since).await?;
            if let Some(capped) = crate::caps::notifications(author, caused, self.settings.caps) {
                let cap = crate::telemetry::AUTO_MAIL_CAPPED;
                tx.count(cap, "cap", "notifications".to_owned());
                to = Err(capped);
            }
        }
        let to = match to {
            Ok(to) => to,
            Err(why) => {
                let skipped = Event::NotificationSkipped {
                    headline: &notice.headline,
                    reason: &why,
                };
                cases::add_event(tx, state.id, now, SYSTEM_ACTOR, &skipped);
                return Ok(());
            }
        };
        let s = &self.settings;
        let helpdesk_name = s.helpdesk_name();
        let requester_name = state
            .requester_name
            .clone()
            .unwrap_or_else(|| state.requester.clone());
        let context = StaffContext {
            helpdesk_name: helpdesk_name.clone(),
            helpdesk_address: s.address.address.clone(),
            ticket: state.ticket.to_string(),
            headline: notice.headline.clone(),
            subject: state.subject.clone(),
            requester: state.requester.clone(),
            requester_name: requester_name.clone(),
            category: state.category.clone(),
            priority: state.priority,
            status: state.status.to_string(),
            team: state.team.clone(),
            assignee: state.assignee.clone(),
            text: notice.text.clone(),
            attachments: notice.files.listed.clone(),
            due: notice.due.clone(),
            target: notice.target.clone(),
            task: notice.task.as_ref().map(|(label, _)| label.clone()),
            task_team: notice.task.as_ref().map(|(_, team)| team.clone()),
        };
        let context = to_json(&context)?;
        let template = notice.template.unwrap_or(TEAM_NOTIFICATION);
        let from_name = format!("{requester_name} via {helpdesk_name}");
        for recipient in to {
            let thread = outbox::thread_ids(tx, state.id, Audience::Staff(recipient)).await?;
            let message_id = super::new_message_id(&s.address.address);
            let mail = NewMail {
                case: Some(state.id),
                kind: outbox::KIND_NOTIFICATION,
                template,
                context: context.clone(),
                recipient,
                recipient_name: None,
                message_id: &message_id,
                in_reply_to: thread.last().map(String::as_str),
                references: newest(&thread),
                from_name: Some(&from_name),
                reply_to: Some(notice.reply_to.as_deref().unwrap_or(&s.address.address)),
                cause: Some(&notice.author),
                attach_message: notice.attach_message,
                about: notice.about,
                headers: None,
                files: &notice.files.attached,
            };
            let row = outbox::enqueue(tx, &mail, now).await?;
            let queued = Event::NotificationQueued {
                to: recipient,
                headline: &notice.headline,
                outbox: row,
            };
            cases::add_event(tx, state.id, now, SYSTEM_ACTOR, &queued);
        }
        Ok(())
    }

    /// Queues a technician's reply (or canned reply) to the customer, in the customer's thread,
    /// and copies to the others on the customer's side (`helpdesk.reply_all`); says who got it.
    pub(crate) async fn relay(
        &self,
        tx: &mut Work,
        state: &CaseState,
        relay: &Relay<'_>,
        now: Millis,
    ) -> Result<super::receipt::Sent, store::Error> {
        let to = &state.requester;
        let unreachable = signals::is_system_address(to)
            || signals::same_mailbox(to, &self.settings.address.address);
        if unreachable || to.eq_ignore_ascii_case(relay.actor) || self.import.is_some() {
            let reason = if self.import.is_some() {
                super::IMPORTED.to_owned()
            } else if unreachable {
                format!("{to} does not take replies")
            } else {
                "the requester wrote it".to_owned()
            };
            let skipped = Event::RelaySkipped { reason: &reason };
            cases::add_event(tx, state.id, now, relay.actor, &skipped);
            return Ok(super::receipt::Sent::default());
        }
        let s = &self.settings;
        let mut update = self.update_context(state, relay.text, relay.technician.clone());
        update.merged_into = relay.merged_into.map(ToString::to_string);
        update.remote_code = relay.remote_code.map(str::to_owned);
        // Every template shows the text: the files too large to send are named there.
        if let Some(note) = relay.files.and_then(|f| attach::kept_back(&f.listed)) {
            update.text = match update.text.is_empty() {
                true => note,
                false => format!("{}\n\n{note}", update.text),
            };
        }
        // An incident resolved while its problem is open, with a workaround: the customer
        // learns it is a workaround and where the cause is tracked.
        if relay.template == RESOLUTION_NOTICE && state.case_type == CaseType::Incident {
            let ids = [state.id];
            let with_workaround = "m.workaround IS NOT NULL";
            let problem = casework::open_parent(tx, &ids, "problem", with_workaround).await?;
            if let Some((_, problem, _, workaround)) = problem {
                update.problem_ticket = Some(problem.to_string());
                update.workaround = workaround;
            }
        }
        let context = match relay.desk {
            Some(desk) => to_json(&RedirectContext {
                update,
                desk: desk.clone(),
            })?,
            None => to_json(&update)?,
        };
        let participants = match s.reply_all {
            true => cases::copied(tx, state.id).await?,
            false => Vec::new(),
        };
        let cc = copies(to, &participants, relay.actor, |a| s.is_staff_address(a));
        let thread = outbox::thread_ids(tx, state.id, Audience::Customer).await?;
        let message_id = super::new_message_id(&s.address.address);
        let no_files = attach::Choice::default();
        let files = relay.files.unwrap_or(&no_files);
        // One row per recipient, alike but for the envelope and the Message-ID (each copy is a
        // mail of its own): one refused Cc costs nobody else their copy.
        let headers = outbox::Headers {
            to,
            to_name: state.requester_name.as_deref(),
            cc: &cc,
        };
        let mut first = None;
        for recipient in std::iter::once(to).chain(&cc) {
            let id = match first {
                None => message_id.clone(),
                Some(_) => super::new_message_id(&s.address.address),
            };
            let mail = NewMail {
                case: Some(state.id),
                kind: outbox::KIND_RELAY,
                template: relay.template,
                context: context.clone(),
                recipient,
                recipient_name: state.requester_name.as_deref().filter(|_| recipient == to),
                message_id: &id,
                in_reply_to: thread.last().map(String::as_str),
                references: newest(&thread),
                from_name: None,
                reply_to: None,
                cause: None,
                attach_message: None,
                about: None,
                headers: (!cc.is_empty()).then_some(headers),
                files: &files.attached,
            };
            let row = outbox::enqueue(tx, &mail, now).await?;
            first.get_or_insert(row);
        }
        let relayed = Event::ReplyRelayed {
            to,
            template: relay.template,
            outbox: first.unwrap_or_default(),
            message_id: &message_id,
            cc: &cc,
            files: files.attached.len(),
        };
        cases::add_event(tx, state.id, now, relay.actor, &relayed);
        Ok(super::receipt::Sent {
            to: Some(to.clone()),
            files: files.attached.len(),
            kept_back: files.listed.len() - files.attached.len(),
            cc,
        })
    }

    /// What the customer's mail about `state` says: `text` from `technician`.
    pub(crate) fn update_context(
        &self,
        state: &CaseState,
        text: &str,
        technician: Option<String>,
    ) -> UpdateContext {
        let s = &self.settings;
        UpdateContext {
            helpdesk_name: s.helpdesk_name(),
            helpdesk_address: s.address.address.clone(),
            ticket: state.ticket.to_string(),
            subject: state.subject.clone(),
            requester_name: state
                .requester_name
                .clone()
                .unwrap_or_else(|| state.requester.clone()),
            text: text.to_owned(),
            technician,
            status: state.status.to_string(),
            resolution: state
                .resolution
                .clone()
                .filter(|_| matches!(state.status, Status::Resolved | Status::Closed)),
            reopen_deadline: state
                .close_at
                .filter(|_| state.status == Status::Resolved)
                .map(|at| s.calendar.format(at)),
            reopen_window: crate::classify::describe(s.reopen_window),
            resolution_due: state
                .clock
                .due_at
                .filter(|_| {
                    state.target.is_some()
                        && matches!(
                            state.status,
                            Status::Open | Status::InProgress | Status::Assigned
                        )
                })
                .map(|at| s.calendar.format_day(at)),
            paused: state
                .pending_reason
                .clone()
                .filter(|_| state.target.is_some() && state.status == Status::Pending),
            workaround: None,
            problem_ticket: None,
            merged_into: None,
            remote_code: None,
        }
    }

    /// Queues the error reply to a technician whose commands were refused, within the hourly
    /// caps on automatic mail. It goes to the From address (a configured technician's), never
    /// to Reply-To.
    pub(super) async fn command_error(
        &self,
        tx: &mut Work,
        state: &CaseState,
        m: &Inbound,
        problems: &[Problem],
        now: Millis,
    ) -> Result<(), store::Error> {
        let answer = Answer {
            template: COMMAND_ERROR,
            problems,
            changes: &[],
        };
        self.answer_sender(tx, state, m, answer, now).await
    }

    /// Queues the receipt for a technician's commands (`helpdesk.command_receipts`), threaded
    /// under their reply, within the hourly caps on automatic mail.
    pub(super) async fn command_receipt(
        &self,
        tx: &mut Work,
        state: &CaseState,
        m: &Inbound,
        changes: &[String],
        now: Millis,
    ) -> Result<(), store::Error> {
        let answer = Answer {
            template: COMMAND_RECEIPT,
            problems: &[],
            changes,
        };
        self.answer_sender(tx, state, m, answer, now).await
    }

    /// Tells a technician address whose mail proved nothing how to act on the case (answer its
    /// notification), within the hourly caps; the case is unchanged.
    pub(super) async fn unproven_technician(
        &self,
        tx: &mut Work,
        state: &CaseState,
        m: &Inbound,
        why: &str,
        now: Millis,
    ) -> Result<(), store::Error> {
        let problem = Problem {
            line: format!("From: {}", m.from.address),
            error: why.to_owned(),
        };
        let answer = Answer {
            template: UNVERIFIED_TECHNICIAN,
            problems: &[problem],
            changes: &[],
        };
        self.answer_sender(tx, state, m, answer, now).await
    }

    /// Answers the sender of `m` with `answer`, within the hourly caps on automatic mail: a
    /// technician whose commands were refused or carried out, an approver whose answer was not
    /// counted.
    pub(super) async fn answer_sender(
        &self,
        tx: &mut Work,
        state: &CaseState,
        m: &Inbound,
        answer: Answer<'_>,
        now: Millis,
    ) -> Result<(), store::Error> {
        let Answer {
            template,
            problems,
            changes,
        } = answer;
        let to = &m.from.address;
        let why_not = match self.import {
            Some(_) => Some(super::IMPORTED.to_owned()),
            None => self.automatic_mail_capped(tx, to, now).await?,
        };
        if let Some(reason) = why_not {
            let suppressed = Event::CommandErrorSuppressed {
                reason: &reason,
                template,
            };
            cases::add_event(tx, state.id, now, SYSTEM_ACTOR, &suppressed);
            return Ok(());
        }
        let s = &self.settings;
        let context = CommandErrorContext {
            helpdesk_name: s.helpdesk_name(),
            helpdesk_address: s.address.address.clone(),
            ticket: state.ticket.to_string(),
            subject: state.subject.clone(),
            problems: problems.iter().map(Into::into).collect(),
            valid_commands: commands::help(),
            changes: changes.to_vec(),
        };
        let kind = match template {
            COMMAND_RECEIPT => outbox::KIND_RECEIPT,
            _ => outbox::KIND_COMMAND_ERROR,
        };
        let message_id = super::new_message_id(&s.address.address);
        let mut references = m.references.clone();
        references.extend(m.message_id.clone());
        let mail = NewMail {
            case: Some(state.id),
            kind,
            template,
            context: to_json(&context)?,
            recipient: to,
            recipient_name: m.from.name.as_deref(),
            message_id: &message_id,
            in_reply_to: m.message_id.as_deref(),
            references: newest(&references),
            from_name: None,
            reply_to: None,
            cause: None,
            attach_message: None,
            about: None,
            headers: None,
            files: &[],
        };
        let row = outbox::enqueue(tx, &mail, now).await?;
        if kind == outbox::KIND_RECEIPT {
            let queued = Event::ReceiptQueued { to, outbox: row };
            cases::add_event(tx, state.id, now, SYSTEM_ACTOR, &queued);
        } else {
            let queued = Event::CommandErrorQueued {
                to,
                outbox: row,
                template,
            };
            cases::add_event(tx, state.id, now, SYSTEM_ACTOR, &queued);
        }
        Ok(())
    }
}

fn newest(ids: &[String]) -> &[String] {
    &ids[ids.len().saturating_sub(MAX_REFERENCES)..]
}

pub(crate) fn to_json(context: &impl serde::Serialize) -> Result<String, store::Error> {
    serde_json::to_string(context).map_err(|e| store::Error::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::casework::testing;

    fn to(addresses: &[&str]) -> Vec<String> {
        addresses.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn copies_go_to_the_customers_side_once_each_within_the_cap() {
        let staff = |a: &str| a.ends_with("@it.example.org") || a == "support@example.test";
        let people = to(&[
            "alice@example.com",
            "Alice+work@example.com",
            "bob@example.com",
            "BOB@example.com",
            "tech@it.example.org",
            "support@example.test",
            "noreply@example.com",
            "carol@example.com",
        ]);
        assert_eq!(
            copies("alice@example.com", &people, "carol@example.com", staff),
            ["bob@example.com"]
        );
        assert!(copies(
            "alice@example.com",
            &to(&["alice@example.com"]),
            "x@y",
            staff
        )
        .is_empty());
        let many: Vec<String> = (0..50).map(|i| format!("p{i}@example.com")).collect();
        let capped = copies("alice@example.com", &many, "tech@it.example.org", staff);
        assert_eq!(capped.len(), MAX_COPIES);
        assert_eq!(capped[0], "p0@example.com");
    }

    #[test]
    fn a_notice_goes_to_everyone_but_its_author_and_says_why_when_nobody_is_left() {
        let settings = crate::config::testing::settings(
            r#"
            [helpdesk]
            address = "support@example.test"
            [teams.network]
            members = ["ann@example.org", "bob@example.org"]
            "#,
        );
        let mut state = testing::case_state(Status::Open);
        state.team = Some("network".into());
        let team = to(&["ann@example.org", "bob@example.org"]);
        let sent = addressees(&team, "BOB@example.org", false, &state, &settings).unwrap();
        assert_eq!(sent, ["ann@example.org"]);
        let alone = to(&["ann@example.org"]);
        let why = addressees(&alone, "ann@example.org", false, &state, &settings);
        assert_eq!(
            why,
            Err("ann@example.org is all of team `network`".to_owned())
        );
        assert_eq!(
            addressees(&team, "cust@example.com", true, &state, &settings),
            Err(crate::casework::IMPORTED.to_owned())
        );
        state.team = Some("nosuchteam".into());
        assert_eq!(
            addressees(&[], "cust@example.com", false, &state, &settings),
            Err("no [teams.nosuchteam] is configured".to_owned())
        );
        state.assignee = Some("ann@example.org".into());
        assert_eq!(
            addressees(&alone, "ann@example.org", false, &state, &settings),
            Err("the case's technician did it".to_owned())
        );
        state.assignee = None;
        state.team = None;
        assert_eq!(
            addressees(&[], "cust@example.com", false, &state, &settings),
            Err("the case has no team or technician".to_owned())
        );
    }
}
