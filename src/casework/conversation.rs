//! A message that joins a case: a customer's reply is kept without its quote and forwarded to
//! the case's technician or team; a technician's reply runs its `/commands` (all or none), keeps
//! a `/note` internal, and relays the rest to the customer. Everything lands in the same
//! transaction and the same event log.

use super::Pipeline;
use crate::commands::{self, CaseNow, Change, Context, Problem};
use crate::config::TechnicianIdentity;
use crate::lifecycle::{self, Effect};
use crate::model::{CaseId, CaseType, Inbound, Millis, Role, Status, TicketNo, Visibility};
use crate::parse::{quote, rating, thanks};
use crate::sla;
use crate::store::casework::{self, CaseState};
use crate::store::events::Event;
use crate::store::messages::{Kept, Raw};
use crate::store::requests;
use crate::store::{self, cases, messages, Work};
use crate::templates::render::{
    MERGED, REDIRECT, REMOTE_ASSISTANCE, REOPENED, RESOLUTION_NOTICE, UPDATE,
};
use crate::thread::{Party, Technician, Via};

/// What a joining message is, once its sender is judged.
pub(crate) struct Joining<'a> {
    pub case: CaseId,
    pub via: Via,
    pub party: Party,
    pub m: &'a Inbound,
    pub raw: &'a Raw<'a>,
    pub technician: &'a Technician,
    /// The task or approval mail of ours it answers, if any.
    pub answers: Option<&'a (crate::store::outbox::About, String)>,
}

impl Pipeline {
    /// Adds a reply to its case and acts on it as its party may.
    pub(crate) async fn join(&self, tx: &mut Work, j: Joining<'_>) -> Result<(), store::Error> {
        let (m, now) = (j.m, j.raw.received_at);
        let stripped = quote::strip_reply(&m.text);
        // A reply that is all quote keeps its whole text: better too much than nothing.
        let body = stripped.kept(&m.text);
        // Only people already allowed on the case bring others in, and never by automatic mail.
        if j.party != Party::Record && !m.is_auto_generated() {
            cases::add_participants(tx, j.case, &self.participants(m)).await?;
        }
        let unproven = match j.technician {
            Technician::Unproven(why) => Some(why.as_str()),
            _ => None,
        };
        let added = Event::MessageAdded {
            via: j.via,
            party: j.party,
            subject: &m.subject,
            auto_signals: &m.auto_signals,
            quote_removed: stripped.quote_removed,
            signature_removed: stripped.signature_removed,
            unverified_technician: unproven,
        };
        cases::add_event(tx, j.case, now, &m.from.address, &added);
        let mut state = casework::state(tx, j.case).await?;
        match (j.party, unproven) {
            (Party::Technician, _) if m.is_auto_generated() => {
                // An out-of-office from a technician: on the record, never executed or relayed.
                let kept = kept(body, Role::Technician, Visibility::Internal);
                messages::insert(tx, j.case, m, j.raw, kept).await.map(drop)
            }
            (Party::Technician, _) => {
                // Commands and the relay read only what the technician wrote: a reply sent with
                // nothing above the quote changes nothing and relays nothing (the record keeps
                // the whole text).
                let reply = commands::parse(&stripped.text);
                self.technician_reply(tx, &mut state, (m, j.raw, j.answers), (body, reply))
                    .await
            }
            (Party::Record, Some(why)) if !m.is_auto_generated() => {
                // A technician address that proved nothing: kept for the record, acted on never,
                // and the technician's own address is told how to act.
                let kept = kept(body, Role::Technician, Visibility::Internal);
                messages::insert(tx, j.case, m, j.raw, kept).await?;
                self.unproven_technician(tx, &state, m, why, now).await
            }
            (_, unproven) => {
                self.customer_reply(tx, &mut state, m, j.raw, body).await?;
                let reply = commands::parse(&stripped.text);
                match unproven {
                    // A technician on the case as a customer: their commands did not run.
                    Some(why) if !reply.commands.is_empty() && !m.is_auto_generated() => {
                        self.unproven_technician(tx, &state, m, why, now).await
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    async fn customer_reply(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        m: &Inbound,
        raw: &Raw<'_>,
        body: &str,
    ) -> Result<(), store::Error> {
        let now = raw.received_at;
        let kept = kept(body, Role::Customer, Visibility::Public);
        let row = messages::insert(tx, state.id, m, raw, kept).await?;
        if m.is_auto_generated() {
            // Out-of-office and the like stay on the case; forwarding them would only add noise
            // (and, to a list that answers, a loop). Nor do they reopen a resolved case.
            return Ok(());
        }
        let mut plan = CustomerPlan::default();
        // The resolution notice asks for a rating: read it, and judge the rest of the reply.
        let rating = (state.status == Status::Resolved)
            .then(|| rating::read(body))
            .flatten();
        if let Some(r) = &rating {
            requests::rate(tx, state.id, r.score, now).await?;
            let rated = Event::Rated {
                score: r.score,
                written: &r.written,
            };
            cases::add_event(tx, state.id, now, &m.from.address, &rated);
        }
        if matches!(state.status, Status::Resolved | Status::Pending) {
            // Inside the reopen window a reply disputes the resolution, unless it only thanks
            // or rates; a case pending on the customer has its answer.
            let thanks = match &rating {
                Some(r) => only_rates(r, body),
                None => thanks::is_only_thanks(body),
            };
            let event = lifecycle::Event::CustomerReplied { thanks };
            let before = state.status;
            let effects = self.life_event(tx, state, &event, &m.from.address, now);
            if state.status != before {
                self.settle(tx, state, now).await?;
            }
            plan = customer_plan(before, state.status, &effects, thanks);
        }
        if plan.tell_reopened {
            let relay = super::notify::Relay {
                template: REOPENED,
                text: "",
                technician: None,
                actor: super::SYSTEM_ACTOR,
                desk: None,
                merged_into: None,
                remote_code: None,
                files: None,
            };
            self.relay(tx, state, &relay, now).await?;
        }
        if plan.thanks {
            let thanks = Event::ThanksReceived { reopened: false };
            cases::add_event(tx, state.id, now, &m.from.address, &thanks);
        }
        let mut text = body.to_owned();
        if state.category == self.settings.conference.category
            && matches!(
                state.status,
                Status::Open | Status::InProgress | Status::Assigned | Status::Pending
            )
        {
            let line = self.conference_reply(tx, state, body, now).await?;
            text = format!("{text}\n\n[{line}]");
        }
        let notice = super::notify::Notice {
            author: m.from.address.clone(),
            headline: match (&rating, plan.thanks) {
                (Some(r), true) => format!(
                    "Rated {}/5 by the customer (the case stays resolved)",
                    r.score
                ),
                (Some(r), false) => format!("{} (rated {}/5)", plan.headline, r.score),
                (None, _) => plan.headline.to_owned(),
            },
            text,
            files: self.files_of(tx, state.id, (row, m)).await?,
            ..Default::default()
        };
        self.notify_staff(tx, state, &notice, now).await
    }

    /// A customer's reply to a case that closed since its resolution notice, when it only rates
    /// the service (with thanks at most): the rating is kept on that case, with the message,
    /// instead of opening a new case. `None`: the reply says more, and opens a follow-up case.
    pub(crate) async fn late_rating(
        &self,
        tx: &mut Work,
        case: CaseId,
        (m, raw, via): (&Inbound, &Raw<'_>, Via),
    ) -> Result<Option<TicketNo>, store::Error> {
        if m.is_auto_generated() {
            return Ok(None);
        }
        let stripped = quote::strip_reply(&m.text);
        let Some(r) = rating::read(&stripped.text).filter(|r| only_rates(r, &stripped.text)) else {
            return Ok(None);
        };
        let now = raw.received_at;
        let state = casework::state(tx, case).await?;
        if state.resolution.is_none() {
            return Ok(None);
        }
        let kept = kept(&stripped.text, Role::Customer, Visibility::Public);
        messages::insert(tx, case, m, raw, kept).await?;
        let added = Event::MessageAdded {
            via,
            party: Party::Customer,
            subject: &m.subject,
            auto_signals: &m.auto_signals,
            quote_removed: stripped.quote_removed,
            signature_removed: stripped.signature_removed,
            unverified_technician: None,
        };
        cases::add_event(tx, case, now, &m.from.address, &added);
        requests::rate(tx, case, r.score, now).await?;
        let rated = Event::Rated {
            score: r.score,
            written: &r.written,
        };
        cases::add_event(tx, case, now, &m.from.address, &rated);
        let notice = super::notify::Notice {
            author: m.from.address.clone(),
            headline: format!("Rated {}/5 by the customer (after closing)", r.score),
            text: stripped.text.clone(),
            ..Default::default()
        };
        self.notify_staff(tx, &state, &notice, now).await?;
        Ok(Some(state.ticket))
    }

    async fn technician_reply(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        (m, raw, answers): (
            &Inbound,
            &Raw<'_>,
            Option<&(crate::store::outbox::About, String)>,
        ),
        (body, reply): (&str, commands::Reply),
    ) -> Result<(), store::Error> {
        let now = raw.received_at;
        let catalog = self.catalog.current();
        let canned = catalog.templates.canned(catalog.rules.templates());
        let task = self.answering_task(tx, state, m, answers).await?;
        // The open tasks matter only to a reply that resolves the case.
        let resolving = reply.commands.iter().any(|l| {
            matches!(
                l.command,
                commands::Command::Resolve(..)
                    | commands::Command::Redirect(..)
                    | commands::Command::Status(Status::Resolved, _)
            )
        });
        let open_tasks: Vec<String> = if resolving {
            requests::tasks_of(tx, state.id)
                .await?
                .iter()
                .filter(|t| t.status == requests::TASK_OPEN)
                .map(|t| format!("{} {}", t.label(), t.team))
                .collect()
        } else {
            Vec::new()
        };
        let (label, answered_at) = match &task {
            Some(t) => (
                t.label(),
                t.done_at.map(|at| self.settings.calendar.format(at)),
            ),
            None => (String::new(), None),
        };
        let answering = task.as_ref().map(|t| commands::TaskNow {
            label: &label,
            team: &t.team,
            status: &t.status,
            answered: t.done_by.as_deref().zip(answered_at.as_deref()),
        });
        let conference = state.category == self.settings.conference.category;
        // Who gets copies matters only to `/uncc`.
        let copied: Vec<String> = if reply
            .commands
            .iter()
            .any(|l| matches!(l.command, commands::Command::Uncc(_)))
        {
            cases::copied(tx, state.id)
                .await?
                .into_iter()
                .filter(|a| !a.eq_ignore_ascii_case(&state.requester))
                .collect()
        } else {
            Vec::new()
        };
        let ctx = Context {
            settings: &self.settings,
            rules: &catalog.rules,
            canned: &canned,
            case: CaseNow {
                ticket: &state.ticket,
                status: state.status,
                case_type: state.case_type,
                category: &state.category,
                priority: state.priority,
                team: state.team.as_deref(),
                impact: state.impact,
                urgency: state.urgency,
                priority_override: state.priority_override,
                open_tasks: &open_tasks,
                liaison: state.assignee.as_deref().filter(|_| conference),
                requester: &state.requester,
                copied: &copied,
            },
            actor: &m.from.address,
            today: self.settings.calendar.date_of(now),
            answering,
        };
        let changes = match commands::check(&reply.commands, &ctx) {
            Ok(changes) => changes,
            Err(problems) => return self.refuse(tx, state, m, raw, body, &problems).await,
        };
        // check() gives one change per command line, in order.
        // The cases /link and /merge name, in order: each must exist, and a merge's survivor
        // must be neither closed nor merged itself.
        let mut links = Vec::new();
        for (line, change) in reply.commands.iter().zip(&changes) {
            let (Change::Link(t) | Change::Merge(t)) = change else {
                continue;
            };
            let error = match casework::id_of(tx, t).await? {
                None => Some(format!("there is no case {t}")),
                Some(id) if matches!(change, Change::Merge(_)) => {
                    links.push(id);
                    let status = casework::state(tx, id).await?.status;
                    let next = match casework::merged_into(tx, id).await? {
                        Some(next) => Some(casework::ticket_of(tx, next).await?),
                        None => None,
                    };
                    merge_refusal(t, status, next.as_ref())
                }
                Some(id) => {
                    links.push(id);
                    None
                }
            };
            if let Some(error) = error {
                let problem = Problem {
                    line: line.text.clone(),
                    error,
                };
                return self.refuse(tx, state, m, raw, body, &[problem]).await;
            }
        }
        // /major on a case that is or belongs to one, /broadcast on one that is not.
        for (line, change) in reply.commands.iter().zip(&changes) {
            let error = match change {
                Change::Major(_) => match casework::open_major(tx, state.id).await? {
                    Some((id, _)) if id == state.id => {
                        Some(format!("{} is a major incident already", state.ticket))
                    }
                    Some((_, t)) => Some(format!(
                        "{} is an incident of major incident {t}: work it there",
                        state.ticket
                    )),
                    None => None,
                },
                Change::Broadcast(_) if !casework::is_major(tx, state.id).await? => Some(format!(
                    "{} is not a major incident: /broadcast goes on the major case (/major declares one)",
                    state.ticket
                )),
                _ => None,
            };
            if let Some(error) = error {
                let problem = Problem {
                    line: line.text.clone(),
                    error,
                };
                return self.refuse(tx, state, m, raw, body, &[problem]).await;
            }
        }
        let window = self.settings.reopen_window;
        let effects = match dry_run(state, &reply.commands, &changes, now, window) {
            Ok(effects) => effects,
            Err(problem) => return self.refuse(tx, state, m, raw, body, &[problem]).await,
        };
        let mut plan = reply_plan(&effects, &changes, &reply);
        if task.is_some() {
            // A reply to a task mail is for the case's liaison, never for the customer.
            plan.relay = None;
            plan.visibility = Visibility::Internal;
            plan.answered = false;
        }
        let broadcasts: Vec<String> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Broadcast(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        let kept = kept(body, Role::Technician, plan.visibility);
        let row = messages::insert(tx, state.id, m, raw, kept).await?;
        let receipt = self.settings.command_receipts && !reply.commands.is_empty();
        let before = receipt.then(|| self.picture(state));
        let done: Vec<Change> = match receipt {
            true => changes.clone(),
            false => Vec::new(),
        };
        let actor = m.from.address.as_str();
        let mut links = links.into_iter();
        let remote = changes.iter().rev().find_map(|c| match c {
            Change::Remote(code) => Some(code.clone()),
            _ => None,
        });
        // A word on a task mail without an answer to it: for the liaison.
        if let Some(task) = task.as_ref().filter(|_| changes.is_empty()) {
            if !reply.public.is_empty() {
                let notice = super::notify::Notice {
                    author: actor.to_owned(),
                    headline: format!("Reply on task {} from {actor}", task.label()),
                    text: reply.public.clone(),
                    ..Default::default()
                };
                self.notify_staff(tx, state, &notice, now).await?;
            }
        }
        for change in changes {
            match (change, &task) {
                (Change::Done(note), Some(task)) => {
                    let outcome = (requests::TASK_DONE, note.as_deref(), reply.public.as_str());
                    self.answer_task(tx, state, task, outcome, actor, now)
                        .await?;
                }
                (Change::Reject(why), Some(task)) => {
                    let outcome = (
                        requests::TASK_REJECTED,
                        Some(why.as_str()),
                        reply.public.as_str(),
                    );
                    self.answer_task(tx, state, task, outcome, actor, now)
                        .await?;
                }
                (change, _) => {
                    self.apply(tx, state, change, actor, &mut links, now)
                        .await?;
                }
            }
        }
        if let Some(note) = &reply.note {
            let length = note.chars().count();
            cases::add_event(tx, state.id, now, actor, &Event::NoteAdded { length });
        }
        if plan.answered {
            self.life_event(tx, state, &lifecycle::Event::Answered, actor, now);
        }
        if plan.stops_first_response() {
            state.first_response = sla::Clocks::answered(state.first_response, now);
        }
        // A technician's word on the case is its status note for the weekly follow-up.
        state.follow_up_at = self.next_follow_up(now);
        self.settle(tx, state, now).await?;
        let mut sent = super::receipt::Sent::default();
        if let Some(template) = &plan.relay {
            let technician = identity(m, self.settings.technician_identity);
            // `/redirect hr text`: the words on the line come first, then the reply's text.
            let said = plan.desk.as_ref().and_then(|(_, t)| t.as_deref());
            let text = match said {
                Some(t) if reply.public.is_empty() => t.to_owned(),
                Some(t) => format!("{t}\n\n{}", reply.public),
                None => reply.public.clone(),
            };
            // What the customer may see carries the technician's files; a note's never.
            let files = match plan.visibility {
                Visibility::Public => Some(self.files_of(tx, state.id, (row, m)).await?),
                Visibility::Internal => None,
            };
            let relay = super::notify::Relay {
                template,
                text: &text,
                technician,
                actor,
                desk: plan.desk.as_ref().and_then(|(d, _)| self.settings.desk(d)),
                merged_into: plan.merged_into.as_ref(),
                remote_code: remote.as_deref(),
                files: files.as_ref(),
            };
            sent = self.relay(tx, state, &relay, now).await?;
        }
        if let Some((desk, _)) = &plan.desk {
            self.forward_to_desk(tx, state, desk, actor, now).await?;
        }
        let technician = identity(m, self.settings.technician_identity);
        for text in &broadcasts {
            self.broadcast(tx, state, (text, technician.clone()), actor, now)
                .await?;
        }
        if effects.contains(&Effect::ResolutionNotice) && casework::is_major(tx, state.id).await? {
            let text = (reply.public.as_str(), technician);
            self.resolve_incidents(tx, state, text, actor, now).await?;
        }
        if let Some(before) = before {
            let after = self.picture(state);
            let ticket = state.ticket.to_string();
            let lines = super::receipt::lines(&ticket, &before, &after, &done, &sent);
            self.command_receipt(tx, state, m, &lines, now).await?;
        }
        Ok(())
    }

    /// The case as a receipt shows it.
    fn picture(&self, state: &CaseState) -> super::receipt::Picture {
        let status = match (&state.status, &state.pending_reason) {
            (Status::Pending, Some(reason)) => format!("pending ({reason})"),
            (status, _) => status.to_string(),
        };
        let running = !matches!(state.status, Status::Resolved | Status::Closed);
        super::receipt::Picture {
            status,
            priority: state.priority,
            due: state
                .clock
                .due_at
                .filter(|_| state.target.is_some() && running)
                .map(|at| self.settings.calendar.format(at)),
            team: state.team.clone(),
            assignee: state.assignee.clone(),
            category: state.category.clone(),
            case_type: state.case_type.to_string(),
            impact: state.impact.map(|l| l.to_string()),
            urgency: state.urgency.map(|l| l.to_string()),
        }
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
        let now = raw.received_at;
        let refused = Event::CommandsRefused { problems };
        cases::add_event(tx, state.id, now, &m.from.address, &refused);
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
        now: Millis,
    ) -> Result<(), store::Error> {
        let case = state.id;
        if let Change::Redirect {
            desk, resolution, ..
        } = &change
        {
            // Checked against the status machine before anything was applied.
            self.redirected(tx, state, (desk, resolution), None, actor, now);
            return Ok(());
        }
        if let Some(event) = event_of(&change) {
            if !matches!(event, lifecycle::Event::Assigned) {
                // Checked against the status machine before anything was applied.
                self.life_event(tx, state, &event, actor, now);
                return Ok(());
            }
        }
        let is_impact = matches!(change, Change::Impact(_));
        match change {
            Change::Status(..) | Change::Resolve(_) | Change::Reopen => {}
            Change::AssignTeam(team) => {
                state.team = Some(team.clone());
                state.assignee = None;
                let to = (Some(team.as_str()), None);
                self.assigned(tx, state, to, actor, now).await?;
            }
            Change::AssignTechnician(who) => {
                state.assignee = Some(who.clone());
                let to = (None, Some(who.as_str()));
                self.assigned(tx, state, to, actor, now).await?;
            }
            Change::Priority(level, target) => {
                let assessed = state.impact.is_some() || state.urgency.is_some();
                let rules = self.rules();
                let matrix = rules.category(&state.category).map(|c| &c.matrix);
                let changed = Event::PriorityChanged {
                    from: state.priority,
                    to: level,
                    over_matrix: matrix
                        .filter(|_| assessed)
                        .map(|m| m.priority(state.impact, state.urgency)),
                };
                state.priority = level;
                state.target = target;
                state.priority_override = true;
                cases::add_event(tx, case, now, actor, &changed);
            }
            Change::Impact(a) | Change::Urgency(a) => {
                let (from, to) = (a.from, a.to);
                let (priority, overridden) = (a.priority.map(|p| p.0), a.overridden);
                let changed = if is_impact {
                    state.impact = Some(to);
                    Event::ImpactChanged {
                        from,
                        to,
                        priority,
                        overridden,
                    }
                } else {
                    state.urgency = Some(to);
                    Event::UrgencyChanged {
                        from,
                        to,
                        priority,
                        overridden,
                    }
                };
                cases::add_event(tx, case, now, actor, &changed);
                state.assessed(a.priority);
            }
            // Handled above.
            Change::Redirect { .. } => {}
            Change::Category {
                id,
                priority,
                target,
                team,
            } => {
                let changed = Event::CategoryChanged {
                    from: &state.category,
                    to: &id,
                    priority,
                    team: team.as_deref(),
                };
                cases::add_event(tx, case, now, actor, &changed);
                state.category = id;
                state.priority = priority;
                state.target = target;
                if let Some(team) = team.filter(|t| state.team.as_deref() != Some(t)) {
                    state.team = Some(team.clone());
                    state.assignee = None;
                    let to = (Some(team.as_str()), None);
                    self.assigned(tx, state, to, actor, now).await?;
                }
            }
            Change::Type(t) => {
                let changed = Event::TypeChanged {
                    from: state.case_type,
                    to: t,
                };
                cases::add_event(tx, case, now, actor, &changed);
                state.case_type = t;
            }
            Change::Merge(ticket) => {
                // Found and checked with the links, before anything was applied.
                if let Some(into) = links.next() {
                    self.merge_into(tx, state, (into, &ticket), actor, now)
                        .await?;
                }
            }
            Change::Link(ticket) => {
                // check() found every linked case before anything was applied.
                if let Some(other) = links.next() {
                    casework::link(tx, (case, "related"), (other, "related"), None, now).await?;
                    let there = Event::Linked { ticket: &ticket };
                    cases::add_event(tx, case, now, actor, &there);
                    let back = Event::Linked {
                        ticket: &state.ticket,
                    };
                    cases::add_event(tx, other, now, actor, &back);
                }
            }
            Change::Problem => self.open_problem(tx, state, actor, now).await?,
            Change::Major(text) => {
                let mut incidents = vec![case];
                let related = ["related", "duplicate"];
                incidents.extend(casework::linked(tx, case, &related, true).await?);
                self.declare_major(tx, state, &incidents, (text.as_deref(), actor), now)
                    .await?;
            }
            // Sent after the changes, with the technician as the customer sees them.
            Change::Broadcast(_) => {}
            Change::RootCause(text) => {
                casework::record(tx, case, casework::Finding::RootCause, &text).await?;
                let recorded = Event::RootCauseRecorded { text: &text };
                cases::add_event(tx, case, now, actor, &recorded);
            }
            Change::Workaround(text) => {
                casework::record(tx, case, casework::Finding::Workaround, &text).await?;
                let recorded = Event::WorkaroundRecorded { text: &text };
                cases::add_event(tx, case, now, actor, &recorded);
            }
            Change::Task { team, text, due } => {
                self.create_task(tx, state, (&team, &text, due), actor, now)
                    .await?;
            }
            Change::Approval(approvers, needs) => {
                self.ask_approval(tx, state, (&approvers, needs), actor, now)
                    .await?;
            }
            // Answered with the task the reply answers, above; sent with the relay.
            Change::Done(_) | Change::Reject(_) | Change::Remote(_) => {}
            // Sent with the relay, as the reply's template.
            Change::Template(_) => {}
            Change::Cc(address) => {
                cases::copy(tx, case, &address).await?;
                cases::add_event(
                    tx,
                    case,
                    now,
                    actor,
                    &Event::CopyAdded { address: &address },
                );
            }
            Change::Uncc(address) => {
                cases::uncopy(tx, case, &address, now).await?;
                let dropped = Event::CopyDropped { address: &address };
                cases::add_event(tx, case, now, actor, &dropped);
            }
        }
        Ok(())
    }

    /// Runs a status-machine event that was checked to be allowed, and records what changed.
    pub(crate) fn life_event(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        event: &lifecycle::Event,
        actor: &str,
        now: Millis,
    ) -> Vec<Effect> {
        let (next, effects) =
            match lifecycle::step(&state.life(), event, now, self.settings.reopen_window) {
                Ok(done) => done,
                // Only the events that follow from something else get here unchecked: a
                // recategorized resolved case changes team but stays resolved.
                Err(why) => {
                    tracing::debug!(case = %state.ticket, ?event, why, "status unchanged");
                    return Vec::new();
                }
            };
        let before = state.life();
        if (next.status, &next.pending_reason) != (before.status, &before.pending_reason) {
            let changed = Event::StatusChanged {
                from: before.status,
                to: next.status,
                reason: next.pending_reason.as_deref(),
            };
            cases::add_event(tx, state.id, now, actor, &changed);
        }
        for effect in &effects {
            let event = match effect {
                Effect::ResolutionNotice => Event::Resolved {
                    resolution: next.resolution.as_deref(),
                    close_at: next.close_at,
                },
                Effect::Reopened { by_customer } => Event::Reopened {
                    by_customer: *by_customer,
                },
                Effect::ClosedNotice => Event::Closed {
                    reason: "the reopen window ended",
                },
            };
            cases::add_event(tx, state.id, now, actor, &event);
        }
        state.set_life(next);
        effects
    }

    /// Records an assignment, sets the status, and tells whoever has the case now.
    async fn assigned(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        (team, technician): (Option<&str>, Option<&str>),
        actor: &str,
        now: Millis,
    ) -> Result<(), store::Error> {
        let assigned = Event::Assigned { team, technician };
        cases::add_event(tx, state.id, now, actor, &assigned);
        self.life_event(tx, state, &lifecycle::Event::Assigned, actor, now);
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
            ..Default::default()
        };
        self.notify_staff(tx, state, &notice, now).await
    }

    /// `/merge`: folds the case into `into` (its messages, people and open tasks move there)
    /// and closes it with its clocks stopped; the caller saves it and sends its requester the
    /// one mail that names the survivor.
    async fn merge_into(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        (into, ticket): (CaseId, &TicketNo),
        actor: &str,
        now: Millis,
    ) -> Result<(), store::Error> {
        let moved = casework::merge(tx, state.id, into, now).await?;
        let closed = Event::StatusChanged {
            from: state.status,
            to: Status::Closed,
            reason: None,
        };
        cases::add_event(tx, state.id, now, actor, &closed);
        state.status = Status::Closed;
        state.pending_reason = None;
        state.resolution = Some(format!("Merged into {ticket}"));
        state.close_at = None;
        state.closed_at = Some(now);
        let merged = Event::Merged {
            into: ticket,
            messages: moved,
        };
        cases::add_event(tx, state.id, now, actor, &merged);
        let from = Event::MergedFrom {
            ticket: &state.ticket,
            messages: moved,
        };
        cases::add_event(tx, into, now, actor, &from);
        Ok(())
    }

    /// `/problem`: a problem case in the incident's category and team, linked to it.
    async fn open_problem(
        &self,
        tx: &mut Work,
        incident: &CaseState,
        actor: &str,
        now: Millis,
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
            target: incident.target,
            previous: None,
            clock: self.clocks().sync(
                sla::Resolution::default(),
                Status::Open,
                incident.target,
                now,
            ),
            first_response: sla::FirstResponse::default(),
            follow_up_at: self.next_follow_up(now),
            impact: incident.impact,
            urgency: incident.urgency,
            terms: None,
        };
        let problem = cases::insert(tx, &new, now).await?;
        casework::link(
            tx,
            (incident.id, "incident"),
            (problem, "problem"),
            None,
            now,
        )
        .await?;
        let created = Event::ProblemCreated {
            incident: &incident.ticket,
            by: actor,
            category: &incident.category,
        };
        cases::add_event(tx, problem, now, actor, &created);
        let opened = Event::ProblemOpened { ticket: &ticket };
        cases::add_event(tx, incident.id, now, actor, &opened);
        let state = casework::state(tx, problem).await?;
        let notice = super::notify::Notice {
            author: actor.to_owned(),
            headline: format!("New problem case (from {})", incident.ticket),
            text: format!(
                "Opened by {actor} for the root cause of {}: {}",
                incident.ticket, incident.subject
            ),
            ..Default::default()
        };
        self.notify_staff(tx, &state, &notice, now).await
    }
}

/// Why a case cannot be merged into `into` (its ticket, its status, and the case it was itself
/// merged into, if any), if it cannot: the survivor must be open or resolved and not merged
/// away. Pure.
fn merge_refusal(
    into: &TicketNo,
    status: Status,
    merged_into: Option<&TicketNo>,
) -> Option<String> {
    match (merged_into, status) {
        (Some(next), _) => Some(format!("{into} was merged into {next}: merge into {next}")),
        (None, Status::Closed) => Some(format!(
            "{into} is closed: reopen it first, or merge into an open case"
        )),
        (None, _) => None,
    }
}

/// The status changes of a technician's commands, tried on a copy of the case's life cycle
/// (the status machine may refuse one: resolving a closed case, closing an open one), so a
/// refusal changes nothing: the effects they would have, or the refused line. Pure.
fn dry_run(
    state: &CaseState,
    lines: &[commands::Line],
    changes: &[Change],
    now: Millis,
    window: std::time::Duration,
) -> Result<Vec<Effect>, Problem> {
    let mut life = state.life();
    let mut effects = Vec::new();
    for (line, change) in lines.iter().zip(changes) {
        let Some(event) = event_of(change) else {
            continue;
        };
        match lifecycle::step(&life, &event, now, window) {
            Ok((next, fx)) => {
                life = next;
                effects.extend(fx);
            }
            Err(error) => {
                return Err(Problem {
                    line: line.text.clone(),
                    error: format!("{}: {error}", state.ticket),
                })
            }
        }
    }
    Ok(effects)
}

/// What a technician's reply does beyond its commands: what reaches the customer, how the
/// reply is kept, and which clocks and statuses it moves.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReplyPlan {
    /// The template of the mail to the customer: the resolution notice, else the last
    /// `/template`, else `reopened` for a reopen, else the plain update when there is public
    /// text; `None`: nothing reaches the customer.
    relay: Option<String>,
    /// How the message is kept: public only when it relays and holds no note.
    visibility: Visibility,
    /// Public text answers the case (the SOPs: an answered case is in progress).
    answered: bool,
    /// The desk the case was redirected to, with what the technician wrote on the command line:
    /// the customer's mail names it (with the words), and the original is forwarded there when
    /// the desk asks for that.
    desk: Option<(String, Option<String>)>,
    /// The case this one was merged into: the customer's one mail names it.
    merged_into: Option<TicketNo>,
}

impl ReplyPlan {
    /// The customer hears from a technician: the first-response clock stops. A note or
    /// commands alone do not stop it.
    fn stops_first_response(&self) -> bool {
        self.relay.is_some()
    }
}

/// The plan for a technician's reply whose commands would have `effects`. Pure.
fn reply_plan(effects: &[Effect], changes: &[Change], reply: &commands::Reply) -> ReplyPlan {
    let resolves = effects.contains(&Effect::ResolutionNotice);
    let reopens = effects.contains(&Effect::Reopened { by_customer: false });
    // The last redirect stands, unless a later command reopened the case.
    let desk = changes
        .iter()
        .rev()
        .find_map(|c| match c {
            Change::Redirect { desk, text, .. } => Some((desk.clone(), text.clone())),
            _ => None,
        })
        .filter(|_| resolves);
    let merged_into = changes.iter().rev().find_map(|c| match c {
        Change::Merge(t) => Some(t.clone()),
        _ => None,
    });
    let template = if merged_into.is_some() {
        Some(MERGED.to_owned())
    } else if desk.is_some() {
        Some(REDIRECT.to_owned())
    } else if resolves {
        Some(RESOLUTION_NOTICE.to_owned())
    } else {
        changes.iter().rev().find_map(|c| match c {
            Change::Template(t) => Some(t.clone()),
            Change::Remote(_) => Some(REMOTE_ASSISTANCE.to_owned()),
            _ => None,
        })
    }
    .or_else(|| reopens.then(|| REOPENED.to_owned()));
    let answered = !reply.public.is_empty();
    let relay = template.or_else(|| answered.then(|| UPDATE.to_owned()));
    // A note makes the whole message staff-only; so do commands with nothing for the customer.
    let visibility = if relay.is_some() && reply.note.is_none() {
        Visibility::Public
    } else {
        Visibility::Internal
    };
    ReplyPlan {
        relay,
        visibility,
        answered,
        desk,
        merged_into,
    }
}

/// What a customer's reply does beyond being kept and forwarded, decided from the status
/// before and after its life-cycle step, the step's effects and whether it only thanks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CustomerPlan {
    /// The headline of the notification to the case's staff.
    headline: &'static str,
    /// The customer is told the case is open again (`reopened`).
    tell_reopened: bool,
    /// Thanks on a resolved case: recorded, and the case stays resolved.
    thanks: bool,
}

impl Default for CustomerPlan {
    /// A reply to an active case: forwarded, nothing else.
    fn default() -> Self {
        CustomerPlan {
            headline: "Customer reply",
            tell_reopened: false,
            thanks: false,
        }
    }
}

/// The plan for a customer's reply to a resolved or pending case. Pure.
fn customer_plan(before: Status, after: Status, effects: &[Effect], thanks: bool) -> CustomerPlan {
    if effects.contains(&Effect::Reopened { by_customer: true }) {
        CustomerPlan {
            headline: "Reopened by the customer",
            tell_reopened: true,
            thanks: false,
        }
    } else if after != before {
        CustomerPlan {
            headline: "Customer reply (no longer pending)",
            ..CustomerPlan::default()
        }
    } else if thanks && before == Status::Resolved {
        CustomerPlan {
            headline: "Customer thanks (the case stays resolved)",
            tell_reopened: false,
            thanks: true,
        }
    } else {
        CustomerPlan::default()
    }
}

/// Whether a reply with rating `r` says nothing else that disputes the resolution: around the
/// rating only thanks, or praise with a good rating ("5 - great job!"). Pure.
fn only_rates(r: &rating::Rating, text: &str) -> bool {
    let rest = rating::without(text);
    rest.trim().is_empty()
        || thanks::is_only_thanks(&rest)
        || (r.score >= 4 && thanks::says_nothing_wrong(&rest))
}

fn kept(body: &str, role: Role, visibility: Visibility) -> Kept<'_> {
    Kept {
        body,
        role,
        visibility,
    }
}

/// The status-machine event a change is, if any.
fn event_of(change: &Change) -> Option<lifecycle::Event> {
    Some(match change {
        Change::Status(s, reason) => lifecycle::Event::Set(*s, reason.clone()),
        Change::Resolve(text) => lifecycle::Event::Resolve(text.clone()),
        Change::Reopen => lifecycle::Event::Reopen,
        Change::Redirect { resolution, .. } => lifecycle::Event::Resolve(Some(resolution.clone())),
        Change::AssignTeam(_) | Change::AssignTechnician(_) => lifecycle::Event::Assigned,
        _ => return None,
    })
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
