//! Text → `commands::parse` → `commands::check` against the fuzz configuration and the shipped
//! rules, for a case in every status. Any panic or an input slower than the timeout is a finding.

#![no_main]

use helpdesk::classify::Level;
use helpdesk::commands::{self, CaseNow, Context, TaskNow};
use helpdesk::model::{CaseType, Status, TicketNo};
use helpdesk_fuzz::{rules, settings, PREFIX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: helpdesk_fuzz::warm(), |text: &str| {
    let reply = commands::parse(text);
    let ticket = TicketNo::new(PREFIX, 5);
    let canned = vec!["remote_assistance".to_owned()];
    let open_tasks = vec!["T1 network".to_owned()];
    // A date: parsed, so the fuzz crate needs no jiff of its own.
    let today = "2026-12-06".parse().expect("a date");
    let task = TaskNow {
        label: "T1",
        team: "network",
        status: "open",
        answered: None,
    };
    for (i, status) in Status::ALL.iter().enumerate() {
        // Every status, with and without impact and urgency and a hand-chosen priority.
        let assessed = i % 2 == 1;
        let copied = ["bob@example.test".to_owned()];
        let ctx = Context {
            settings: settings(),
            rules: rules(),
            canned: &canned,
            case: CaseNow {
                ticket: &ticket,
                status: *status,
                case_type: CaseType::Incident,
                category: "break_fix",
                priority: 4,
                team: Some("service-desk"),
                impact: assessed.then_some(Level::High),
                urgency: None,
                priority_override: i % 3 == 0,
                open_tasks: &open_tasks[..i % 2],
                liaison: (i % 3 == 1).then_some("tech@it.example.test"),
                requester: "alice@example.test",
                copied: &copied[..i % 2],
            },
            actor: "tech@it.example.test",
            today,
            // Every other status answers a task mail: /done and /reject then apply.
            answering: (i % 2 == 0).then_some(task),
        };
        match commands::check(&reply.commands, &ctx) {
            Ok(changes) => assert_eq!(changes.len(), reply.commands.len()),
            Err(problems) => assert!(!problems.is_empty()),
        }
    }
});
