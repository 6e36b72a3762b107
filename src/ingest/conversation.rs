//! A message that joins a case: a customer's reply is kept without its quote and forwarded to
//! the case's technician or team; a technician's reply runs its `/commands` (all or none), keeps
//! a `/note` internal, and relays the rest to the customer. Everything lands in the same
//! transaction and the same event log.

use serde_json::json;

use super::Pipeline;
use crate::commands::{self, CaseNow, Change, Context, Problem};
use crate::config::TechnicianIdentity;
use crate::model::{CaseId, CaseType, Inbound, Role, Status, Visibility};
use crate::parse::quote;
use crate::store::casework::{self, CaseState};
use crate::store::messages::{Kept, Raw};
use crate::store::{self, cases, messages, Work};
use crate::thread::{Technician, Via};

/// What a joining message is, once its sender is judged.
pub(super) struct Joining<'a> {
    pub case: CaseId,
    pub via: Via,
    pub m: &'a Inbound,
    pub raw: &'a Raw<'a>,
    pub technician: &'a Technician,
}

impl Pipeline {
    /// Adds a reply to its case and acts on it.
    pub(super) async fn join(&self, tx: &mut Work, j: Joining<'_>) -> Result<(), store::Error> {
        let (m, now) = (j.m, j.raw.received_at);
        let stripped = quote::strip_reply(&m.text);
        // A reply that is all quote keeps its whole text: better too much than nothing.
        let body = if stripped.text.is_empty() {
            m.text.as_str()
        } else {
            stripped.text.as_str()
        };
        cases::add_participants(tx, j.case, &self.participants(m)).await?;
        let unverified = match j.technician {
            Technician::Unverified(why) => Some(why.as_str()),
            _ => None,
        };
        let detail = json!({
            "via": j.via, "subject": m.subject, "auto_signals": m.auto_signals,
            "quote_removed": stripped.quote_removed, "signature_removed": stripped.signature_removed,
            "unverified_technician": unverified,
        });
        cases::add_event(tx, j.case, now, &m.from.address, "message_added", &detail);
        let mut state = casework::state(tx, j.case).await?;
        if *j.technician != Technician::Yes {
            return self.customer_reply(tx, &state, m, j.raw, body).await;
        }
        if m.is_auto_generated() {
            // An out-of-office from a technician: on the record, never executed or relayed.
            let kept = kept(body, Role::Technician, Visibility::Internal);
            return messages::insert(tx, j.case, m, j.raw, kept).await;
        }
        // Commands and the relay read only what the technician wrote: a reply sent with nothing
        // above the quote changes nothing and relays nothing (the record keeps the whole text).
        let reply = commands::parse(&stripped.text);
        self.technician_reply(tx, &mut state, m, j.raw, (body, reply))
            .await
    }

    async fn customer_reply(
        &self,
        tx: &mut Work,
        state: &CaseState,
        m: &Inbound,
        raw: &Raw<'_>,
        body: &str,
    ) -> Result<(), store::Error> {
        let kept = kept(body, Role::Customer, Visibility::Public);
        messages::insert(tx, state.id, m, raw, kept).await?;
        if m.is_auto_generated() {
            // Out-of-office and the like stay on the case; forwarding them would only add noise
            // (and, to a list that answers, a loop).
            return Ok(());
        }
        let notice = super::notify::Notice {
            author: m.from.address.clone(),
            headline: "Customer reply".into(),
            text: body.to_owned(),
            attachments: m.attachment_names(),
        };
        let to = self.staff_of(state);
        self.notify(tx, state, &to, &notice, raw.received_at).await
    }

    async fn technician_reply(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        m: &Inbound,
        raw: &Raw<'_>,
        (body, reply): (&str, commands::Reply),
    ) -> Result<(), store::Error> {
        let now = raw.received_at;
        let canned = self.templates.canned(self.rules.templates());
        let ctx = Context {
            settings: &self.settings,
            rules: &self.rules,
            canned: &canned,
            case: CaseNow {
                ticket: &state.ticket,
                status: state.status,
                case_type: state.case_type,
                category: &state.category,
                priority: state.priority,
                team: state.team.as_deref(),
            },
        };
        let changes = match commands::check(&reply.commands, &ctx) {
            Ok(changes) => changes,
            Err(problems) => return self.refuse(tx, state, m, raw, body, &problems).await,
        };
        // check() gives one change per command line, in order.
        let mut links = Vec::new();
        for (line, change) in reply.commands.iter().zip(&changes) {
            if let Change::Link(t) = change {
                match casework::id_of(tx, t).await? {
                    Some(id) => links.push(id),
                    None => {
                        let problem = Problem {
                            line: line.text.clone(),
                            error: format!("there is no case {t}"),
                        };
                        return self.refuse(tx, state, m, raw, body, &[problem]).await;
                    }
                }
            }
        }
        let template = changes.iter().rev().find_map(|c| match c {
            Change::Template(t) => Some(t.clone()),
            _ => None,
        });
        let resolves = changes
            .iter()
            .any(|c| matches!(c, Change::Resolve(_) | Change::Status(Status::Resolved, _)));
        let relays = !reply.public.is_empty() || template.is_some() || resolves;
        // A note makes the whole message staff-only; so do commands with nothing for the customer.
        let visibility = if relays && reply.note.is_none() {
            Visibility::Public
        } else {
            Visibility::Internal
        };
        messages::insert(
            tx,
            state.id,
            m,
            raw,
            kept(body, Role::Technician, visibility),
        )
        .await?;
        let actor = m.from.address.as_str();
        let mut links = links.into_iter();
        for change in changes {
            self.apply(tx, state, change, actor, &mut links, now)
                .await?;
        }
        if let Some(note) = &reply.note {
            let detail = json!({ "length": note.chars().count() });
            cases::add_event(tx, state.id, now, actor, "note_added", &detail);
        }
        if !reply.public.is_empty() && state.status == Status::Open {
            // The SOPs: a case a technician answers is in progress.
            self.set_status(tx, state, Status::InProgress, None, actor, now);
        }
        casework::save(tx, state, now).await?;
        if relays {
            let technician = identity(m, self.settings.technician_identity);
            let relay = super::notify::Relay {
                template: template.as_deref().unwrap_or(crate::outbox::render::UPDATE),
                text: &reply.public,
                technician,
                actor,
            };
            self.relay(tx, state, &relay, now).await?;
        }
        Ok(())
    }

    /// Keeps the reply as an internal record, changes nothing, and tells the technician why.
    async fn refuse(
        &self,
        tx: &mut Work,
        state: &CaseState,
        m: &Inbound,
        raw: &Raw<'_>,
        body: &str,
        problems: &[Problem],
    ) -> Result<(), store::Error> {
        let kept = kept(body, Role::Technician, Visibility::Internal);
        messages::insert(tx, state.id, m, raw, kept).await?;
        let detail = json!({ "problems": problems });
        let now = raw.received_at;
        cases::add_event(
            tx,
            state.id,
            now,
            &m.from.address,
            "commands_refused",
            &detail,
        );
        self.command_error(tx, state, m, problems, now).await
    }

    /// Applies one validated change to `state` (saved by the caller) and records it.
    async fn apply(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        change: Change,
        actor: &str,
        links: &mut impl Iterator<Item = CaseId>,
        now: i64,
    ) -> Result<(), store::Error> {
        let case = state.id;
        match change {
            Change::Status(Status::Resolved, _) | Change::Resolve(_)
                if state.status == Status::Resolved => {}
            Change::Status(Status::Resolved, _) => self.resolve(tx, state, None, actor, now),
            Change::Resolve(text) => self.resolve(tx, state, text, actor, now),
            Change::Status(to, reason) => self.set_status(tx, state, to, reason, actor, now),
            Change::Reopen => {
                state.resolution = None;
                self.set_status(tx, state, Status::InProgress, None, actor, now);
                cases::add_event(tx, case, now, actor, "reopened", &json!({}));
            }
            Change::AssignTeam(team) => {
                state.team = Some(team.clone());
                state.assignee = None;
                self.assigned(tx, state, &json!({ "team": team }), actor, now)
                    .await?;
            }
            Change::AssignTechnician(who) => {
                state.assignee = Some(who.clone());
                self.assigned(tx, state, &json!({ "technician": who }), actor, now)
                    .await?;
            }
            Change::Priority(level, target) => {
                let detail = json!({ "from": state.priority, "to": level });
                state.priority = level;
                state.target_secs = target.map(secs);
                cases::add_event(tx, case, now, actor, "priority_changed", &detail);
            }
            Change::Category {
                id,
                priority,
                target,
                team,
            } => {
                let detail =
                    json!({ "from": state.category, "to": id, "priority": priority, "team": team });
                state.category = id;
                state.priority = priority;
                state.target_secs = target.map(secs);
                cases::add_event(tx, case, now, actor, "category_changed", &detail);
                if let Some(team) = team.filter(|t| state.team.as_deref() != Some(t)) {
                    state.team = Some(team.clone());
                    state.assignee = None;
                    self.assigned(tx, state, &json!({ "team": team }), actor, now)
                        .await?;
                }
            }
            Change::Type(t) => {
                let detail = json!({ "from": state.case_type, "to": t });
                state.case_type = t;
                cases::add_event(tx, case, now, actor, "type_changed", &detail);
            }
            Change::Link(ticket) => {
                // check() found every linked case before anything was applied.
                if let Some(other) = links.next() {
                    casework::link(tx, (case, "related"), (other, "related"), now).await?;
                    let detail = json!({ "ticket": ticket });
                    cases::add_event(tx, case, now, actor, "linked", &detail);
                    let back = json!({ "ticket": state.ticket });
                    cases::add_event(tx, other, now, actor, "linked", &back);
                }
            }
            Change::Problem => self.open_problem(tx, state, actor, now).await?,
            Change::Task(team, text) => {
                let id = casework::add_task(tx, case, &team, &text, actor, now).await?;
                let detail = json!({ "task": id, "team": team, "text": text });
                cases::add_event(tx, case, now, actor, "task_created", &detail);
                let to = self.team_recipients(&team);
                let notice = super::notify::Notice {
                    author: actor.to_owned(),
                    headline: format!("Task for {team}"),
                    text,
                    attachments: Vec::new(),
                };
                self.notify(tx, state, &to, &notice, now).await?;
            }
            // Sent with the relay, as the reply's template.
            Change::Template(_) => {}
        }
        Ok(())
    }

    fn set_status(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        to: Status,
        reason: Option<String>,
        actor: &str,
        now: i64,
    ) {
        if state.status == to && state.pending_reason == reason {
            return;
        }
        let detail = json!({ "from": state.status, "to": to, "reason": reason });
        state.status = to;
        state.pending_reason = reason;
        cases::add_event(tx, state.id, now, actor, "status_changed", &detail);
    }

    fn resolve(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        text: Option<String>,
        actor: &str,
        now: i64,
    ) {
        self.set_status(tx, state, Status::Resolved, None, actor, now);
        let detail = json!({ "resolution": text });
        state.resolution = text;
        cases::add_event(tx, state.id, now, actor, "resolved", &detail);
    }

    /// Records an assignment, sets the status, and tells whoever has the case now.
    async fn assigned(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        detail: &serde_json::Value,
        actor: &str,
        now: i64,
    ) -> Result<(), store::Error> {
        cases::add_event(tx, state.id, now, actor, "assigned", detail);
        self.set_status(tx, state, Status::Assigned, None, actor, now);
        let headline = match &state.assignee {
            Some(_) => "Assigned to you".to_owned(),
            None => format!("Assigned to {}", state.team.as_deref().unwrap_or("-")),
        };
        let text = messages::first_body(tx, state.id)
            .await?
            .unwrap_or_default();
        let notice = super::notify::Notice {
            author: actor.to_owned(),
            headline,
            text,
            attachments: Vec::new(),
        };
        let to = self.staff_of(state);
        self.notify(tx, state, &to, &notice, now).await
    }

    /// `/problem`: a problem case in the incident's category and team, linked to it.
    async fn open_problem(
        &self,
        tx: &mut Work,
        incident: &CaseState,
        actor: &str,
        now: i64,
    ) -> Result<(), store::Error> {
        let ticket = cases::next_ticket(tx, &self.settings.ticket_prefix).await?;
        let subject = format!("Problem: {}", incident.subject);
        let new = cases::NewCase {
            ticket: &ticket,
            subject: &subject,
            requester: actor,
            requester_name: None,
            case_type: CaseType::Problem,
            category: &incident.category,
            priority: incident.priority,
            team: incident.team.as_deref(),
            rule: None,
            target_secs: incident.target_secs,
            previous: None,
        };
        let problem = cases::insert(tx, &new, now).await?;
        casework::link(tx, (incident.id, "incident"), (problem, "problem"), now).await?;
        let detail = json!({ "incident": incident.ticket, "by": actor });
        cases::add_event(tx, problem, now, actor, "created", &detail);
        let detail = json!({ "ticket": ticket });
        cases::add_event(tx, incident.id, now, actor, "problem_opened", &detail);
        let state = casework::state(tx, problem).await?;
        let notice = super::notify::Notice {
            author: actor.to_owned(),
            headline: format!("New problem case (from {})", incident.ticket),
            text: format!(
                "Opened by {actor} for the root cause of {}: {}",
                incident.ticket, incident.subject
            ),
            attachments: Vec::new(),
        };
        let to = self.staff_of(&state);
        self.notify(tx, &state, &to, &notice, now).await
    }
}

fn kept(body: &str, role: Role, visibility: Visibility) -> Kept<'_> {
    Kept {
        body,
        role,
        visibility,
    }
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// What the customer is told of the technician who answered.
fn identity(m: &Inbound, shown: TechnicianIdentity) -> Option<String> {
    let name = || {
        m.from
            .name
            .clone()
            .unwrap_or_else(|| m.from.address.split('@').next().unwrap_or("").to_owned())
    };
    match shown {
        TechnicianIdentity::Hidden => None,
        TechnicianIdentity::Name => Some(name()),
        TechnicianIdentity::Address => Some(format!("{} <{}>", name(), m.from.address)),
    }
}

#[cfg(test)]
mod tests;
