//! What the fuzz targets share: the support address, small parse limits, a configuration with
//! technicians, teams and Authentication-Results checking, and the shipped default rules, each
//! built once per process so an execution spends its time on the input, not on set-up.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::Path;
use std::sync::OnceLock;

use helpdesk::classify::Rules;
use helpdesk::config::Settings;
use helpdesk::model::{CaseId, Status, TicketNo};
use helpdesk::parse::Limits;
use helpdesk::thread::Candidate;

/// The support address of the fuzzed configuration.
pub const OWN: &str = "support@example.test";

/// The ticket prefix of the fuzzed configuration (the default).
pub const PREFIX: &str = "HD";

/// Parse limits small enough that an execution stays fast; inputs are at most a few hundred KB.
pub const LIMITS: Limits = Limits {
    max_message_size: 512 * 1024,
    max_attachment_size: 16 * 1024,
};

const CONFIG: &str = r#"
[helpdesk]
address = "support@example.test"
technicians = ["tech@it.example.test"]
authserv_id = "mx.example.test"
[inbound]
kind = "maildir"
path = "Maildir"
[outbound]
kind = "file"
path = "outbox"
[teams.network]
address = "network@it.example.test"
members = ["tech@it.example.test"]
[teams.service-desk]
members = ["sam@it.example.test"]
[desks.hr]
name = "HR Service Center"
address = "hr@example.test"
forward = true
"#;

/// The configuration: loaded once from [`CONFIG`], without the process environment.
pub fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        helpdesk::config::load_str(Path::new("/fuzz/helpdesk.toml"), CONFIG, std::iter::empty())
            .expect("the fuzz configuration is valid")
    })
}

/// The shipped default rules (`src/default_rules.toml`), compiled once.
pub fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| Rules::load(None).expect("the shipped rules are valid"))
}

/// Builds [`settings`] and [`rules`] before the first input, from libFuzzer's init hook: the
/// first execution's timer (-timeout=1) must measure the input, not compiling the rules on a
/// slow machine.
pub fn warm() {
    settings();
    rules();
}

/// A case the store might have found, with `requester` as its requester.
pub fn candidate(id: i64, status: Status, requester: &str) -> Candidate {
    Candidate {
        id: CaseId(id),
        ticket: TicketNo::new(PREFIX, id),
        status,
        requester: requester.to_owned(),
        participants: vec!["bob@example.test".to_owned(), OWN.to_owned()],
        close_at: None,
    }
}
