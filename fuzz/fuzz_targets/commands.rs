//! Text → `commands::parse` → `commands::check` against the fuzz configuration and the shipped
//! rules, for a case in every status. Any panic or an input slower than the timeout is a finding.

#![no_main]

use helpdesk::classify::Level;
use helpdesk::commands::{self, CaseNow, Context};
use helpdesk::model::{CaseType, Status, TicketNo};
use helpdesk_fuzz::{rules, settings, PREFIX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let reply = commands::parse(text);
    let ticket = TicketNo::new(PREFIX, 5);
    let canned = vec!["remote_assistance".to_owned()];
    for (i, status) in Status::ALL.iter().enumerate() {
        // Every status, with and without impact and urgency and a hand-chosen priority.
        let assessed = i % 2 == 1;
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
            },
        };
        match commands::check(&reply.commands, &ctx) {
            Ok(changes) => assert_eq!(changes.len(), reply.commands.len()),
            Err(problems) => assert!(!problems.is_empty()),
        }
    }
});
