//! The service-request steps of a case: tasks handed to other teams and answered by reply
//! (`/task`, then `/done` or `/reject` on the task's own mail, the liaison told), and approvals
//! asked of named people (by a rule or `/approval`) that hold the request until their replies
//! decide it; unanswered approvals are reminded. What an answer means is decided by pure
//! functions here ([`answer`], [`decide`]); the rest records, saves and queues mail.

use std::sync::LazyLock;

use regex::Regex;

use super::notify::{Notice, Relay};
use super::{Pipeline, SYSTEM_ACTOR};
use crate::lifecycle;
use crate::model::Needs;
use crate::model::{Inbound, Millis, Role, Status, Visibility};
use crate::parse::quote;
use crate::store::casework::{self, CaseState};
use crate::store::events::Event;
use crate::store::messages::{self, Kept, Raw};
use crate::store::outbox::{self, About};
use crate::store::requests::{self, Approval, Task};
use crate::store::{self, cases, Work};
use crate::templates::render::{APPROVAL_REQUEST, RESOLUTION_NOTICE, TASK, UPDATE};

/// The rejecting word among the first three of a line, and what follows it.
static REJECT_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\W*(?:\w+\W+){0,2}?(?:rejects?|rejected|deny|denied|declined?)\b\W*(.*)$")
        .expect("a valid pattern")
});

/// The pending reason of a request that waits for its approvers.
pub(crate) const APPROVAL_REASON: &str = "approval";

/// What an approver's reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// APPROVE (approved, yes, ok…).
    Approve,
    /// REJECT with the reason, if one was given.
    Reject(Option<String>),
    /// Neither: the reply is not counted, and the approver is told how to answer.
    Unclear,
}

/// Reads an approver's reply (quotes stripped): the first line that says something decides.
/// `APPROVE`, `APPROVED`, `Approve.`, `yes, approved`, `I approve` approve; `REJECT reason`,
/// `REJECTED: reason`, `Reject - reason`, `denied: reason` reject, the reason being the rest of
/// that line or, when the line holds only the word, the next lines. Anything else is unclear:
/// never a guess, an approval moves money and access. Pure.
pub fn answer(text: &str) -> Answer {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .collect();
    let Some(first) = lines.first() else {
        return Answer::Unclear;
    };
    let words: Vec<String> = first
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';' | '.' | '!' | '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let lead = |w: &[&str]| words.iter().take(3).any(|x| w.contains(&x.as_str()));
    let negated = words.iter().take(3).any(|w| {
        matches!(
            w.as_str(),
            "not" | "don't" | "dont" | "cannot" | "can't" | "no"
        )
    });
    const YES: &[&str] = &["approve", "approved", "approves", "accept", "accepted"];
    const NO: &[&str] = &[
        "reject", "rejected", "rejects", "deny", "denied", "decline", "declined",
    ];
    if lead(NO) {
        // The reason: what follows the word on its line, else the next lines.
        let after = REJECT_WORD
            .captures(first)
            .and_then(|c| c.get(1))
            .map_or("", |m| m.as_str());
        let reason = if after.trim().is_empty() {
            lines[1..].join("\n").trim().to_owned()
        } else {
            after.trim().to_owned()
        };
        return Answer::Reject((!reason.is_empty()).then_some(reason));
    }
    if lead(YES) && !negated {
        return Answer::Approve;
    }
    Answer::Unclear
}

/// Where a round of approvals stands, from its answers so far (withdrawn ones excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Still waiting for someone.
    Waiting,
    /// The request may go ahead.
    Approved,
    /// The request is refused.
    Rejected,
}

/// `all`: one rejection rejects, every approval approves. `any`: one approval approves, and it
/// is rejected only when everyone rejected. Pure.
pub fn decide(needs: Needs, statuses: &[&str]) -> Decision {
    let count = |s: &str| statuses.iter().filter(|x| **x == s).count();
    let (approved, rejected) = (count(requests::APPROVED), count(requests::REJECTED));
    match needs {
        Needs::All if rejected > 0 => Decision::Rejected,
        Needs::All if approved == statuses.len() && approved > 0 => Decision::Approved,
        Needs::Any if approved > 0 => Decision::Approved,
        Needs::Any if rejected == statuses.len() && rejected > 0 => Decision::Rejected,
        _ => Decision::Waiting,
    }
}

impl Pipeline {
    /// The task or approval mail of ours that `m` answers, with the recipient it went to: the
    /// mail its In-Reply-To (or, lacking one, its last reference) names. Looked up once per
    /// message.
    pub(crate) async fn answered_mail(
        &self,
        tx: &mut Work,
        m: &Inbound,
    ) -> Result<Option<(About, String)>, store::Error> {
        match m.in_reply_to.last().or(m.references.last()) {
            Some(id) => outbox::about(tx, id).await,
            None => Ok(None),
        }
    }

    /// The open or answered task on `state`'s case whose mail `m` answers (`answers`, from
    /// [`Pipeline::answered_mail`]): a task mail we sent to the sender or to a team they are a
    /// member of.
    pub(crate) async fn answering_task(
        &self,
        tx: &mut Work,
        state: &CaseState,
        m: &Inbound,
        answers: Option<&(About, String)>,
    ) -> Result<Option<Task>, store::Error> {
        let Some((About::Task(task), recipient)) = answers else {
            return Ok(None);
        };
        let (task, recipient) = (*task, recipient.as_str());
        let sender = &m.from.address;
        let to_them = recipient.eq_ignore_ascii_case(sender)
            || self.settings.teams.values().any(|t| {
                t.address
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(recipient))
                    && t.members.contains(&sender.to_ascii_lowercase())
            });
        if !to_them {
            return Ok(None);
        }
        Ok(requests::task(tx, task)
            .await?
            .filter(|t| t.case == state.id))
    }

    /// `/task`: records the task and sends each of the team's recipients the task mail, which
    /// a `/done` or `/reject` answers.
    pub(crate) async fn create_task(
        &self,
        tx: &mut Work,
        state: &CaseState,
        (team, text, due): (&str, &str, Option<jiff::civil::Date>),
        actor: &str,
        now: Millis,
    ) -> Result<(), store::Error> {
        let calendar = &self.settings.calendar;
        let due_at = due.map(|d| calendar.end_of(d));
        let task = requests::add_task(tx, state.id, (team, text, due_at), actor, now).await?;
        let label = task.label();
        let created = Event::TaskCreated {
            task: task.id,
            label: &label,
            team,
            text,
            due: due_at,
        };
        cases::add_event(tx, state.id, now, actor, &created);
        let to = self.team_recipients(team);
        let notice = Notice {
            author: actor.to_owned(),
            headline: format!("Task {label} for {team}"),
            text: text.to_owned(),
            template: Some(TASK),
            due: due_at.map(|at| calendar.format_day(at)),
            about: Some(About::Task(task.id)),
            task: Some((label, team.to_owned())),
            ..Default::default()
        };
        self.notify(tx, state, &to, &notice, now).await
    }

    /// `/done` or `/reject` on a task mail: records the answer and tells the case's liaison
    /// (its technician, else its team), and whether every task is now finished. `text` is the
    /// rest of the team member's reply: it goes to the liaison, never to the customer.
    pub(crate) async fn answer_task(
        &self,
        tx: &mut Work,
        state: &CaseState,
        task: &Task,
        (outcome, note, text): (&str, Option<&str>, &str),
        actor: &str,
        now: Millis,
    ) -> Result<(), store::Error> {
        if !requests::finish_task(tx, task.id, (outcome, note), actor, now).await? {
            return Ok(());
        }
        let all = requests::tasks_of(tx, state.id).await?;
        let open = all
            .iter()
            .filter(|t| t.status == requests::TASK_OPEN)
            .count();
        let label = task.label();
        let answered = Event::TaskAnswered {
            task: &label,
            team: &task.team,
            outcome,
            note,
            open,
        };
        cases::add_event(tx, state.id, now, actor, &answered);
        let mut headline = format!("Task {label} {outcome} by {actor}");
        if open == 0 {
            let done = all
                .iter()
                .filter(|t| t.status == requests::TASK_DONE)
                .count();
            let rejected = all.len() - done;
            headline = format!(
                "{headline}; all tasks finished ({done} done{})",
                if rejected > 0 {
                    format!(", {rejected} rejected")
                } else {
                    String::new()
                }
            );
        }
        let mut body = format!("{label} ({}): {}", task.team, task.text);
        if let Some(note) = note {
            body.push_str(&format!(
                "\n\n{}: {note}",
                if outcome == requests::TASK_DONE {
                    "Note"
                } else {
                    "Reason"
                }
            ));
        }
        if !text.trim().is_empty() {
            body.push_str(&format!("\n\n{}", text.trim()));
        }
        let notice = Notice {
            author: actor.to_owned(),
            headline,
            text: body,
            ..Default::default()
        };
        self.notify_staff(tx, state, &notice, now).await
    }

    /// Asks each approver to approve the request and holds it (pending, reason `approval`, its
    /// resolution clock paused). Approvals still pending from an earlier round are withdrawn.
    pub(crate) async fn ask_approval(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        (approvers, needs): (&[String], Needs),
        actor: &str,
        now: Millis,
    ) -> Result<(), store::Error> {
        for old in requests::approvals_of(tx, state.id).await? {
            if old.status == requests::APPROVAL_PENDING {
                requests::answer_approval(tx, old.id, (requests::WITHDRAWN, None), now).await?;
            }
        }
        let requested = Event::ApprovalRequested {
            approvers,
            needs: needs.as_str(),
        };
        cases::add_event(tx, state.id, now, actor, &requested);
        let waiting = format!("{APPROVAL_REASON}: waiting for {}", approvers.join(", "));
        let hold = lifecycle::Event::Set(Status::Pending, Some(waiting));
        self.life_event(tx, state, &hold, actor, now);
        let remind_at = self.settings.approvals.remind_after.map(|d| now + d);
        let text = messages::first_body(tx, state.id)
            .await?
            .unwrap_or_default();
        for approver in approvers {
            let row = requests::add_approval(
                tx,
                state.id,
                (approver, needs.as_str()),
                actor,
                (now, remind_at),
            )
            .await?;
            let notice = Notice {
                // The approver hears of it even when they asked for it themselves.
                author: SYSTEM_ACTOR.to_owned(),
                headline: "Approval needed".to_owned(),
                text: text.clone(),
                template: Some(APPROVAL_REQUEST),
                about: Some(About::Approval(row.id)),
                ..Default::default()
            };
            self.notify(tx, state, std::slice::from_ref(approver), &notice, now)
                .await?;
        }
        Ok(())
    }

    /// A reply to one of our approval requests (`answers`, from [`Pipeline::answered_mail`])
    /// from the approver it went to, if `m` is one: recorded on the case and counted, or refused
    /// with the reason told to the approver. `None`: not such a reply, thread it as any other
    /// mail.
    pub(crate) async fn approval_reply(
        &self,
        tx: &mut Work,
        (m, raw): (&Inbound, &Raw<'_>),
        answers: Option<&(About, String)>,
    ) -> Result<Option<crate::model::TicketNo>, store::Error> {
        let Some((About::Approval(row), recipient)) = answers else {
            return Ok(None);
        };
        let row = *row;
        if !recipient.eq_ignore_ascii_case(&m.from.address) {
            return Ok(None);
        }
        let Some(approval) = requests::approval(tx, row).await? else {
            return Ok(None);
        };
        let now = raw.received_at;
        let mut state = casework::state(tx, approval.case).await?;
        let stripped = quote::strip_reply(&m.text);
        let body = stripped.kept(&m.text);
        let kept = Kept {
            body,
            role: Role::Approver,
            visibility: Visibility::Internal,
        };
        messages::insert(tx, state.id, m, raw, kept).await?;
        if m.is_auto_generated() {
            // An out-of-office is no answer; it stays on the record.
            return Ok(Some(state.ticket));
        }
        let approver = approval.approver.as_str();
        let refusal = match (self.approver_unproven(m), answer(body), approval.status.as_str()) {
            (Some(why), _, _) => Some(why),
            (None, _, status) if status != requests::APPROVAL_PENDING => Some(already(&approval, &self.settings.calendar)),
            (None, Answer::Unclear, _) => Some(
                "your reply says neither APPROVE nor REJECT on its first line, so it was not counted".to_owned(),
            ),
            (None, Answer::Reject(None), _) => Some(
                "a rejection needs a reason: the requester and the team are told why (e.g. REJECT not in this year's budget)".to_owned(),
            ),
            (None, _, _) => None,
        };
        if let Some(why) = refusal {
            let refused = Event::ApprovalRefused {
                approver,
                why: &why,
            };
            cases::add_event(tx, state.id, now, approver, &refused);
            self.refuse_answer(tx, &state, m, &why, now).await?;
            return Ok(Some(state.ticket));
        }
        let (status, reason) = match answer(body) {
            Answer::Reject(reason) => (requests::REJECTED, reason),
            _ => (requests::APPROVED, None),
        };
        requests::answer_approval(tx, approval.id, (status, reason.as_deref()), now).await?;
        let answered = Event::ApprovalAnswered {
            approver,
            answer: status,
            reason: reason.as_deref(),
        };
        cases::add_event(tx, state.id, now, approver, &answered);
        let round: Vec<Approval> = requests::approvals_of(tx, state.id)
            .await?
            .into_iter()
            .filter(|a| a.status != requests::WITHDRAWN)
            .collect();
        let statuses: Vec<&str> = round.iter().map(|a| a.status.as_str()).collect();
        let needs = approval.needs.parse().unwrap_or_default();
        let decision = decide(needs, &statuses);
        let waiting: Vec<&str> = round
            .iter()
            .filter(|a| a.status == requests::APPROVAL_PENDING)
            .map(|a| a.approver.as_str())
            .collect();
        let word = if status == requests::APPROVED {
            "Approved"
        } else {
            "Rejected"
        };
        let headline = match decision {
            Decision::Waiting => {
                format!("{word} by {approver}; waiting for {}", waiting.join(", "))
            }
            _ => format!("{word} by {approver}"),
        };
        let text = match &reason {
            Some(r) => format!("{approver}: REJECT {r}"),
            None => format!("{approver}: APPROVE"),
        };
        if decision != Decision::Waiting {
            self.decided(
                tx,
                &mut state,
                (decision, approver, reason.as_deref()),
                &round,
                now,
            )
            .await?;
        }
        let notice = Notice {
            author: approver.to_owned(),
            headline,
            text,
            ..Default::default()
        };
        self.notify_staff(tx, &state, &notice, now).await?;
        Ok(Some(state.ticket))
    }

    /// The approvals decided the request: the others are withdrawn, the requester is told, and a
    /// request still held for them resumes, or is resolved as rejected.
    async fn decided(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        (decision, by, reason): (Decision, &str, Option<&str>),
        round: &[Approval],
        now: Millis,
    ) -> Result<(), store::Error> {
        for a in round
            .iter()
            .filter(|a| a.status == requests::APPROVAL_PENDING)
        {
            requests::answer_approval(tx, a.id, (requests::WITHDRAWN, None), now).await?;
        }
        let outcome = if decision == Decision::Approved {
            "approved"
        } else {
            "rejected"
        };
        let decided = Event::ApprovalDecided { outcome, by };
        cases::add_event(tx, state.id, now, by, &decided);
        let held = state.status == Status::Pending
            && state
                .pending_reason
                .as_deref()
                .is_some_and(|r| r.starts_with(APPROVAL_REASON));
        let (template, text) = if decision == Decision::Approved {
            if held {
                let resume = lifecycle::Event::Set(Status::InProgress, None);
                self.life_event(tx, state, &resume, SYSTEM_ACTOR, now);
            }
            (
                UPDATE,
                format!("Your request was approved by {by}. We will now carry it out."),
            )
        } else {
            let resolution = format!(
                "Not approved: {by} rejected the request{}",
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            );
            let effects = if matches!(state.status, Status::Resolved | Status::Closed) {
                Vec::new()
            } else {
                let resolve = lifecycle::Event::Resolve(Some(resolution.clone()));
                self.life_event(tx, state, &resolve, SYSTEM_ACTOR, now)
            };
            if effects.contains(&lifecycle::Effect::ResolutionNotice) {
                (RESOLUTION_NOTICE, String::new())
            } else {
                (UPDATE, resolution)
            }
        };
        self.settle(tx, state, now).await?;
        let relay = Relay {
            template,
            text: &text,
            technician: None,
            actor: SYSTEM_ACTOR,
            desk: None,
            merged_into: None,
            remote_code: None,
            files: None,
        };
        self.relay(tx, state, &relay, now).await.map(drop)
    }

    /// Why an approver's reply proves nothing more than the reply to our mail it is, when the
    /// configuration demands more: with `require_authenticated_technicians`, approvers too need
    /// the receiving server's Authentication-Results for their domain.
    fn approver_unproven(&self, m: &Inbound) -> Option<String> {
        let crate::config::TechnicianAuth::Authenticated { authserv_id } =
            &self.settings.technician_auth
        else {
            return None;
        };
        let domain = m.from.address.rsplit_once('@').map_or("", |(_, d)| d);
        (!crate::thread::authenticated(&m.authentication, authserv_id, domain)).then(|| {
            format!(
                "no DMARC pass, aligned DKIM pass or SPF pass for {domain} in the Authentication-Results of {authserv_id}: an answer counts only from mail the receiving server verified"
            )
        })
    }

    /// Tells an approver why their reply did not count (within the hourly caps).
    async fn refuse_answer(
        &self,
        tx: &mut Work,
        state: &CaseState,
        m: &Inbound,
        why: &str,
        now: Millis,
    ) -> Result<(), store::Error> {
        let first = m.text.lines().map(str::trim).find(|l| !l.is_empty());
        let problem = crate::commands::Problem {
            line: first.unwrap_or("(empty reply)").chars().take(120).collect(),
            error: why.to_owned(),
        };
        let answer = super::notify::Answer {
            template: crate::templates::render::APPROVAL_REFUSED,
            problems: &[problem],
            changes: &[],
        };
        self.answer_sender(tx, state, m, answer, now).await
    }

    /// Reminds an approver who has not answered, if the reminder is still theirs to send (in
    /// a cluster, another instance may have sent it); the next one follows after the same
    /// interval, up to the configured number. True when it was sent.
    pub(crate) async fn remind_approver(
        &self,
        tx: &mut Work,
        a: &Approval,
        now: Millis,
    ) -> Result<bool, store::Error> {
        let s = &self.settings.approvals;
        let reminder = a.reminders + 1;
        let next = s
            .remind_after
            .filter(|_| reminder < i64::from(s.reminders))
            .map(|d| now + d);
        if !requests::reminded(tx, a, next).await? {
            return Ok(false);
        }
        let state = casework::state(tx, a.case).await?;
        let reminded = Event::ApprovalReminded {
            approver: &a.approver,
            reminder,
        };
        cases::add_event(tx, state.id, now, SYSTEM_ACTOR, &reminded);
        let text = messages::first_body(tx, state.id)
            .await?
            .unwrap_or_default();
        let notice = Notice {
            author: SYSTEM_ACTOR.to_owned(),
            headline: "Reminder: approval needed".to_owned(),
            text,
            template: Some(APPROVAL_REQUEST),
            due: Some(self.settings.calendar.format(a.asked_at)),
            about: Some(About::Approval(a.id)),
            ..Default::default()
        };
        self.notify(tx, &state, std::slice::from_ref(&a.approver), &notice, now)
            .await?;
        Ok(true)
    }
}

/// Why an answer to a decided approval does not count: the first answer stands.
fn already(a: &Approval, calendar: &crate::calendar::Calendar) -> String {
    let when = a
        .answered_at
        .map(|at| calendar.format(at))
        .unwrap_or_default();
    match a.status.as_str() {
        requests::APPROVED => {
            format!("you approved this already ({when}); the first answer stands")
        }
        requests::REJECTED => format!(
            "you rejected this already ({when}{}); the first answer stands",
            a.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        _ => format!(
            "the request was decided without your answer ({when}); nothing waits for it now"
        ),
    }
}

#[cfg(test)]
mod tests;
