//! The typed contexts of the conversation's mail, beside [`super::render::AckContext`]: what
//! the customer gets when a technician answers ([`UpdateContext`], also for canned replies), what
//! a team or technician gets ([`StaffContext`]), and the answer to refused commands
//! ([`CommandErrorContext`]). Each has a filled-in sample for `helpdesk check` and tests.

use serde::{Deserialize, Serialize};

use crate::commands::Problem;

/// Mail to the customer on behalf of a technician: the `update` template and canned replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateContext {
    /// The help desk's display name.
    pub helpdesk_name: String,
    /// The support address.
    pub helpdesk_address: String,
    /// `HD-000123`.
    pub ticket: String,
    /// The case's subject.
    pub subject: String,
    /// The customer's name, or address.
    pub requester_name: String,
    /// The technician's words; empty for a canned reply sent alone.
    pub text: String,
    /// Who answered, as `helpdesk.technician_identity` allows; `None` when hidden.
    pub technician: Option<String>,
    /// The status after the reply, e.g. `pending`.
    pub status: String,
    /// The resolution, when the reply resolved the case.
    pub resolution: Option<String>,
    /// Until when a reply reopens the case, in the calendar's zone (resolution notice).
    pub reopen_deadline: Option<String>,
    /// The reopen window, e.g. `3 days`.
    pub reopen_window: String,
    /// While the case is worked on: when its resolution is due, in the calendar's zone
    /// (`Thursday 10 December, 17:00 UTC`); `None` without a target or while the clock stands.
    pub resolution_due: Option<String>,
    /// While the case waits with its resolution clock paused: why (`vendor: part ordered`).
    pub paused: Option<String>,
    /// The resolution notice of an incident whose problem is open: the problem's workaround.
    pub workaround: Option<String>,
    /// …and the problem case's ticket.
    pub problem_ticket: Option<String>,
    /// The `merged` mail: the case this one was folded into.
    pub merged_into: Option<String>,
    /// The `remote_assistance` mail: the Quick Assist code of `/remote`.
    pub remote_code: Option<String>,
}

impl UpdateContext {
    /// A filled-in context.
    pub fn sample() -> UpdateContext {
        UpdateContext {
            helpdesk_name: "IT Service Desk".into(),
            helpdesk_address: "support@example.test".into(),
            ticket: "HD-000123".into(),
            subject: "Printer <3rd floor> & scanner".into(),
            requester_name: "Alice Example".into(),
            text: "The toner was empty; I replaced it.".into(),
            technician: Some("Terry Tech".into()),
            status: "resolved".into(),
            resolution: Some("Replaced the toner.".into()),
            reopen_deadline: Some("Fri 4 Dec 2026 14:00 CET".into()),
            reopen_window: "3 days".into(),
            resolution_due: Some("Thursday 10 December, 17:00 UTC".into()),
            paused: Some("vendor: part ordered".into()),
            workaround: Some(
                "Use the wired port by the door until the access point is replaced.".into(),
            ),
            problem_ticket: Some("HD-000120".into()),
            merged_into: Some("HD-000119".into()),
            remote_code: Some("493201".into()),
        }
    }
}

/// The customer's mail when their case belongs to another help desk (`redirect`): everything of
/// [`UpdateContext`] (`resolution` says "Redirected to …"), and the desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedirectContext {
    /// The case and the words, as in any update.
    #[serde(flatten)]
    pub update: UpdateContext,
    /// The desk the request belongs to, as `[desks.NAME]` describes it (`forward`: the
    /// request was forwarded there).
    pub desk: crate::config::Desk,
}

impl RedirectContext {
    /// A filled-in context.
    pub fn sample() -> RedirectContext {
        let mut update = UpdateContext::sample();
        update.resolution = Some("Redirected to HR Service Center".into());
        update.text = "Payroll questions are answered by HR.".into();
        RedirectContext {
            update,
            desk: crate::config::Desk {
                name: "HR Service Center".into(),
                address: Some("hr@example.test".into()),
                phone: Some("+1 555 0100 <ext. 2>".into()),
                hours: Some("Mon–Fri 08:00–16:00".into()),
                url: Some("https://hr.example.test/ask".into()),
                note: Some("Have your employee number at hand.".into()),
                forward: true,
            },
        }
    }
}

/// What a conference request's acknowledgment says about the event (`conference` in
/// [`super::render::AckContext`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConferenceContext {
    /// The days of support as read, `Friday 12 March 2027`.
    pub dates: Vec<String>,
    /// Times of day as read, `09:00–17:00`.
    pub times: Vec<String>,
    /// The place as written.
    pub place: Option<String>,
    /// `on premises`, `off site` or `unknown`.
    pub site: String,
    /// Whether the notice is long enough; `None` while no date is known.
    pub notice_ok: Option<bool>,
    /// The lead time that applies: `10 business days` or `90 days`.
    pub lead: String,
    /// The first day that could be supported with that lead time, `Monday 21 December 2026`.
    pub earliest: String,
    /// What to ask the customer for: only what the request lacks.
    pub missing: Vec<String>,
    /// The customer's account manager, the case's liaison, when `[accounts]` names one.
    pub account_manager: Option<String>,
}

impl ConferenceContext {
    /// A filled-in context.
    pub fn sample() -> ConferenceContext {
        ConferenceContext {
            dates: vec![
                "Friday 12 March 2027".into(),
                "Saturday 13 March 2027".into(),
            ],
            times: vec!["09:00–17:00".into()],
            place: Some("Convention Center <Hall B> & lobby".into()),
            site: "off site".into(),
            notice_ok: Some(false),
            lead: "90 days".into(),
            earliest: "Monday 8 March 2027".into(),
            missing: vec!["the dates and times of the travel there and back".into()],
            account_manager: Some("tam@it.example.test".into()),
        }
    }
}

/// Mail to a team or technician about a case: new, assigned, a customer's reply, a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffContext {
    /// The help desk's display name.
    pub helpdesk_name: String,
    /// The support address: replies go there.
    pub helpdesk_address: String,
    /// `HD-000123`.
    pub ticket: String,
    /// What happened, e.g. `New case`, `Customer reply`, `Assigned to network`.
    pub headline: String,
    /// The case's subject.
    pub subject: String,
    /// The requester's address.
    pub requester: String,
    /// The requester's name, or address.
    pub requester_name: String,
    /// Category id.
    pub category: String,
    /// Priority level.
    pub priority: u8,
    pub status: String,
    pub team: Option<String>,
    /// The technician it is assigned to.
    pub assignee: Option<String>,
    /// The customer's text (a reply without its quote), or the task.
    pub text: String,
    /// The files of the message reported: attached, or too large and kept on the case.
    pub attachments: Vec<crate::attach::Listed>,
    /// For SLA and follow-up mail: when the target is (or was) due, in the calendar's zone.
    pub due: Option<String>,
    /// For SLA and follow-up mail: the target, e.g. `4 hours (24x7)`.
    pub target: Option<String>,
    /// A task mail: the task's label on the case, `T2`…
    pub task: Option<String>,
    /// …and the team it is for.
    pub task_team: Option<String>,
}

impl StaffContext {
    /// A filled-in context.
    pub fn sample() -> StaffContext {
        StaffContext {
            helpdesk_name: "IT Service Desk".into(),
            helpdesk_address: "support@example.test".into(),
            ticket: "HD-000123".into(),
            headline: "New case".into(),
            subject: "Printer <3rd floor> & scanner".into(),
            requester: "alice@example.test".into(),
            requester_name: "Alice Example".into(),
            category: "break_fix".into(),
            priority: 4,
            status: "open".into(),
            team: Some("service-desk".into()),
            assignee: None,
            text: "The printer jams on every page.".into(),
            attachments: vec![
                crate::attach::Listed {
                    number: 1,
                    name: "jam.jpg".into(),
                    size: "340 KB".into(),
                    attached: true,
                },
                crate::attach::Listed {
                    number: 2,
                    name: "scan <all pages>.pdf".into(),
                    size: "31.5 MB".into(),
                    attached: false,
                },
            ],
            due: Some("Thu 3 Dec 2026 14:00 CET".into()),
            target: Some("4 hours (24x7)".into()),
            task: Some("T2".into()),
            task_team: Some("av <events>".into()),
        }
    }
}

/// The answer to a technician whose command lines could not be carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandErrorContext {
    /// The help desk's display name.
    pub helpdesk_name: String,
    /// The support address.
    pub helpdesk_address: String,
    /// `HD-000123`.
    pub ticket: String,
    /// The case's subject.
    pub subject: String,
    /// Each refused line and why.
    pub problems: Vec<ProblemLine>,
    /// The valid commands, one per line with a description.
    pub valid_commands: String,
    /// A receipt: what the commands changed, one line each.
    #[serde(default)]
    pub changes: Vec<String>,
}

/// One refused command line, for the template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemLine {
    /// The line as written.
    pub line: String,
    /// Why it was refused.
    pub error: String,
}

impl From<&Problem> for ProblemLine {
    fn from(p: &Problem) -> Self {
        ProblemLine {
            line: p.line.clone(),
            error: p.error.clone(),
        }
    }
}

impl CommandErrorContext {
    /// A filled-in context.
    pub fn sample() -> CommandErrorContext {
        CommandErrorContext {
            helpdesk_name: "IT Service Desk".into(),
            helpdesk_address: "support@example.test".into(),
            ticket: "HD-000123".into(),
            subject: "Printer <3rd floor> & scanner".into(),
            problems: vec![ProblemLine {
                line: "/priorty 2".into(),
                error: "unknown command /priorty".into(),
            }],
            valid_commands: crate::commands::help(),
            changes: vec![
                "HD-000123: status pending (vendor), priority 2 → target Thu 10 Dec 2026 17:00 UTC"
                    .into(),
                "reply sent to alice@example.test (cc bob@example.test), 1 file attached".into(),
            ],
        }
    }
}

/// The triage team's digest of the uncategorized queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestContext {
    /// The help desk's display name.
    pub helpdesk_name: String,
    /// The support address.
    pub helpdesk_address: String,
    /// The hour it is for, in the calendar's zone: `Thu 3 Dec 2026 13:00 CET`.
    pub slot: String,
    /// How many cases wait.
    pub count: usize,
    /// More than one.
    pub plural: bool,
    /// The categorization target, e.g. `2 hours (business)`.
    pub target: String,
    /// The cases, oldest first.
    pub cases: Vec<DigestCase>,
}

/// One case of the digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestCase {
    /// `HD-000123`.
    pub ticket: String,
    /// The customer's subject.
    pub subject: String,
    /// The requester's address.
    pub requester: String,
    /// When it arrived, in the calendar's zone.
    pub received: String,
    /// When it must be categorized, or `-`.
    pub due: String,
    /// Past due.
    pub overdue: bool,
}

impl DigestContext {
    /// A filled-in context.
    pub fn sample() -> DigestContext {
        DigestContext {
            helpdesk_name: "IT Service Desk".into(),
            helpdesk_address: "support@example.test".into(),
            slot: "Thu 3 Dec 2026 13:00 CET".into(),
            count: 1,
            plural: false,
            target: "2 hours (business)".into(),
            cases: vec![DigestCase {
                ticket: "HD-000123".into(),
                subject: "Printer <3rd floor> & scanner".into(),
                requester: "alice@example.test".into(),
                received: "Thu 3 Dec 2026 10:40 CET".into(),
                due: "Thu 3 Dec 2026 12:40 CET".into(),
                overdue: true,
            }],
        }
    }
}
