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
    /// Status.
    pub status: String,
    /// The team.
    pub team: Option<String>,
    /// The technician it is assigned to.
    pub assignee: Option<String>,
    /// The customer's text (a reply without its quote), or the task.
    pub text: String,
    /// Names of the files the customer attached (kept on the case).
    pub attachments: Vec<String>,
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
            attachments: vec!["jam.jpg".into()],
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
        }
    }
}
