//! Raw bytes → `parse::parse` → the decisions taken on a parsed message: the ticket in the
//! subject and in a plus-address, the technician verdict (Authentication-Results), threading over
//! fixed candidates in every status, classification by the shipped rules, the auto-reply signals
//! and the reply address. Any panic or an input slower than the timeout is a finding.

#![no_main]

use helpdesk::model::CaseId;
use helpdesk::model::{Inbound, Status};
use helpdesk::parse::{self, signals};
use helpdesk::thread::{self, Answered, Pointers, Sender};
use helpdesk_fuzz::{candidate, rules, settings, LIMITS, OWN, PREFIX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: helpdesk_fuzz::warm(), |data: &[u8]| {
    let Ok(m) = parse::parse(data, LIMITS, OWN) else {
        return;
    };
    decisions(&m);
});

fn decisions(m: &Inbound) {
    let by_tag = thread::ticket_in_subject(&m.subject, PREFIX);
    let by_plus = thread::ticket_in_plus_address(m, OWN, PREFIX);
    if let Some(t) = by_tag.as_ref().or(by_plus.as_ref()) {
        let _ = thread::without_tag(&m.subject, t);
    }
    // As if each referenced Message-ID were ours: one to the sender, one to a team's address.
    let answered: Vec<Answered> = m
        .thread_ids()
        .iter()
        .enumerate()
        .map(|(i, _)| Answered {
            case: Some(CaseId(i as i64 % 3 + 1)),
            recipient: if i % 2 == 0 {
                m.from.address.clone()
            } else {
                "network@it.example.test".to_owned()
            },
        })
        .collect();
    let technician = thread::technician(settings(), m, &answered);
    let _ = thread::authenticated(&m.authentication, "mx.example.test", &m.from.address);
    let automatic = !m.auto_signals.is_empty();
    let from = m.from.address.as_str();
    for (i, status) in Status::ALL.iter().enumerate() {
        let id = i as i64 + 1;
        let pointers = Pointers {
            by_reference: (!m.references.is_empty() || !m.in_reply_to.is_empty())
                .then(|| candidate(id, *status, from)),
            by_plus_address: by_plus
                .as_ref()
                .map(|_| candidate(id + 10, *status, "x@y.test")),
            by_tag: by_tag.as_ref().map(|_| candidate(id + 20, *status, from)),
        };
        let sender = Sender {
            address: from,
            technician: &technician,
            automatic,
        };
        let _ = thread::decide(sender, &pointers);
    }
    let c = rules().classify(m);
    assert!(rules().category(&c.category).is_some(), "{c:?}");
    let _ = signals::is_system_address(from);
    let _ = signals::same_mailbox(from, OWN);
    let _ = m.is_bounce();
    // Whatever a sender names a file, our headers and `cases attachment` get a safe name.
    for (i, a) in m.attachments.iter().enumerate() {
        let name = helpdesk::attach::filename(a.filename.as_deref(), &a.content_type, i + 1);
        assert!(!name.is_empty() && name.chars().count() <= 100, "{name:?}");
        assert!(!name.contains(['/', '\\', '"']), "{name:?}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
        let kind = helpdesk::attach::content_type(&a.content_type);
        assert!(
            kind.contains('/') && !kind.contains([' ', ';', '\r', '\n']),
            "{kind:?}"
        );
    }
    let _ = m.reply_address();
}
