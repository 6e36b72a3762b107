//! Each shipped rule has a message that reaches it, and each load error has a test.

use super::*;
use crate::model::Mailbox;

/// A message from a customer with `subject` and `body`.
pub(super) fn msg(subject: &str, body: &str) -> Inbound {
    Inbound {
        from: Mailbox {
            name: None,
            address: "alice@customer.example.test".into(),
        },
        reply_to: None,
        to: vec![],
        cc: vec![],
        delivered_to: Vec::new(),
        authentication: Vec::new(),
        subject: subject.into(),
        text: body.into(),
        text_from_html: false,
        message_id: None,
        in_reply_to: vec![],
        references: vec![],
        date: None,
        auto_signals: vec![],
        bounced_ids: vec![],
        attachments: vec![],
        capped: vec![],
    }
}

fn shipped() -> Rules {
    Rules::load(None).expect("the shipped rules load")
}

#[test]
fn every_shipped_rule_is_reachable() {
    // (subject, body, rule, category, priority)
    let cases = [
        (
            "Conference support request",
            "200 attendees",
            "conference-support",
            "conference_support",
            3,
        ),
        (
            "URGENT: network is down in the whole district",
            "",
            "emergency-outage",
            "break_fix",
            1,
        ),
        (
            "Computer lab is down",
            "none of the PCs start",
            "high-campus-service-down",
            "break_fix",
            2,
        ),
        (
            "Stolen laptop",
            "it was taken from room 12",
            "stolen-equipment",
            "acquisition",
            1,
        ),
        (
            "Help with my personal phone",
            "mail does not sync",
            "personal-device",
            "break_fix",
            8,
        ),
        (
            "Donated computers",
            "please set them up",
            "donated-item",
            "break_fix",
            7,
        ),
        (
            "Password reset",
            "a student is locked out",
            "access-instructional",
            "security_access",
            3,
        ),
        (
            "Password reset for my account",
            "I am locked out",
            "access",
            "security_access",
            4,
        ),
        (
            "Order projectors",
            "for the classroom",
            "acquisition-instructional",
            "acquisition",
            3,
        ),
        (
            "Order a new laptop",
            "for our new colleague",
            "acquisition",
            "acquisition",
            4,
        ),
        (
            "Training on the new gradebook",
            "",
            "training",
            "training",
            4,
        ),
        (
            "Upgrade of the library system",
            "",
            "scheduled-maintenance",
            "scheduled_maintenance",
            4,
        ),
        ("Technology audit", "", "inventory-audit", "inventory", 2),
        (
            "Discrepancy form attached",
            "",
            "inventory-discrepancy",
            "inventory",
            3,
        ),
        (
            "Lost items report",
            "",
            "inventory-reconciliation",
            "inventory",
            4,
        ),
        (
            "Please move equipment",
            "to building C",
            "inventory-move",
            "inventory",
            6,
        ),
        (
            "Bar tag needed",
            "",
            "inventory-maintenance",
            "inventory",
            0,
        ),
        ("Inventory question", "", "inventory-query", "inventory", 1),
        ("Loaner needed", "for next week", "process", "process", 9),
        (
            "Projector broken",
            "in the classroom",
            "break-fix-instructional",
            "break_fix",
            3,
        ),
        (
            "Printer on 2nd floor not working",
            "",
            "break-fix",
            "break_fix",
            4,
        ),
        (
            "Question about my monitor",
            "",
            "break-fix-device",
            "break_fix",
            4,
        ),
        ("Imprimante en panne", "", "break-fix", "break_fix", 4),
        (
            "WLAN Problem",
            "unser WLAN funktioniert nicht",
            "break-fix",
            "break_fix",
            4,
        ),
    ];
    let rules = shipped();
    let mut seen = HashSet::new();
    for (subject, body, rule, category, priority) in cases {
        let c = rules.classify(&msg(subject, body));
        assert_eq!(c.rule.as_deref(), Some(rule), "{subject:?}");
        assert_eq!(
            (c.category.as_str(), c.priority.level),
            (category, priority),
            "{subject:?}"
        );
        assert!(!c.evidence.is_empty());
        seen.insert(rule);
    }
    let all: HashSet<&str> = rules.rules.iter().map(|r| r.name.as_str()).collect();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(missing.is_empty(), "rules without a test: {missing:?}");
}

#[test]
fn unmatched_mail_is_uncategorized() {
    let c = shipped().classify(&msg("Hello", "Just saying hi."));
    assert_eq!(c.rule, None);
    assert_eq!(c.category, UNCATEGORIZED);
    assert_eq!(c.team.as_deref(), Some("triage"));
    assert_eq!(c.template, DEFAULT_TEMPLATE);
}

#[test]
fn decision_carries_targets_and_evidence() {
    let c = shipped().classify(&msg("Our network is down", ""));
    assert_eq!(c.priority.target, Some(Duration::from_secs(4 * 3600)));
    assert_eq!(c.case_type, CaseType::Incident);
    assert_eq!(c.evidence[0].field, Field::Text);
    assert_eq!(c.evidence[0].matched, "network is down");
    assert_eq!(describe(c.priority.target.unwrap()), "4 hours");
    assert_eq!(describe(Duration::from_secs(86400)), "24 hours");
    assert_eq!(describe(Duration::from_secs(3 * 86400)), "3 days");
}

#[test]
fn rules_see_only_a_prefix_of_subject_and_body() {
    let rules = shipped();
    let filler = "Nothing to see here. ".repeat(BODY_SCAN / 21 + 1);
    // The same words inside the prefix decide; past it they are not seen.
    let near = msg("Hello", &format!("Our network is down.\n{filler}"));
    assert_eq!(
        rules.classify(&near).rule.as_deref(),
        Some("emergency-outage")
    );
    let far = msg("Hello", &format!("{filler}\nOur network is down."));
    assert_eq!(rules.classify(&far).rule, None);
    let subject = format!("{} network is down", "x".repeat(SUBJECT_SCAN));
    assert_eq!(rules.classify(&msg(&subject, "")).rule, None);
    // A cut inside a multi-byte character goes back to its start.
    assert_eq!(prefix("aé", 2), "a");
    assert_eq!(prefix("aé", 3), "aé");
    assert_eq!(prefix("ab", 64), "ab");
}

#[test]
fn sender_condition_and_all_of_list() {
    let rules = Rules::from_toml(
        "t",
        r#"
        first_response = "24h"
        [[category]]
        id = "uncategorized"
        name = "U"
        type = "request"
        default_priority = 1
        priorities = [{ level = 1, name = "P" }]
        [[rule]]
        name = "vip"
        category = "uncategorized"
        sender = '@vip\.example\.test$'
        subject = ['help', 'now']
        "#,
    )
    .unwrap();
    let mut m = msg("help me now", "");
    assert_eq!(rules.classify(&m).rule, None);
    m.from.address = "boss@vip.example.test".into();
    assert_eq!(rules.classify(&m).rule.as_deref(), Some("vip"));
    m.subject = "help me".into();
    assert_eq!(rules.classify(&m).rule, None);
}

#[test]
fn unless_keeps_a_rule_from_matching() {
    let rules = Rules::from_toml(
        "t",
        r#"
        first_response = "24h"
        [patterns]
        here = 'just (us|our building)'
        [[category]]
        id = "uncategorized"
        name = "U"
        type = "request"
        default_priority = 1
        priorities = [{ level = 1, name = "P" }, { level = 2, name = "Q" }]
        [[rule]]
        name = "everywhere"
        category = "uncategorized"
        text = 'down'
        unless = ['@{here}', '(?-i)Test']
        [[rule]]
        name = "somewhere"
        category = "uncategorized"
        priority = 2
        text = 'down'
        "#,
    )
    .unwrap();
    let decide = |subject: &str, body: &str| rules.classify(&msg(subject, body)).rule;
    assert_eq!(decide("Network down", "").as_deref(), Some("everywhere"));
    // A veto in the subject or the body hands the message to the next rule.
    assert_eq!(
        decide("Network down", "Seems to be just us.").as_deref(),
        Some("somewhere")
    );
    assert_eq!(
        decide("Just our building: down", "").as_deref(),
        Some("somewhere")
    );
    // Vetoes follow the rule's case sensitivity, and inline flags work.
    assert_eq!(decide("down", "a test").as_deref(), Some("everywhere"));
    assert_eq!(decide("down", "a Test").as_deref(), Some("somewhere"));
}

#[test]
fn load_errors_name_the_rule_and_problem() {
    let base = r#"
        first_response = "24h"
        [[category]]
        id = "uncategorized"
        name = "U"
        type = "request"
        default_priority = 1
        priorities = [{ level = 1, name = "P", target = "1d" }]
    "#;
    let cases = [
        (
            "[[rule]]\nname = \"r\"\ncategory = \"nope\"\ntext = 'x'",
            "unknown category `nope`",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\npriority = 7\ntext = 'x'",
            "priority 7",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\ntext = '(x'",
            "invalid regex",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"",
            "no condition",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\ntext = '@{nope}'",
            "unknown pattern",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\ntext = 'x'\nunless = '(y'",
            "unless = \"(y\": invalid regex",
        ),
    ];
    for (extra, expected) in cases {
        let err = Rules::from_toml("rules.toml", &format!("{base}\n{extra}")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("rules.toml: "), "{msg}");
        assert!(msg.contains(expected), "{msg}");
    }
    let no_uncat = base.replace("\"uncategorized\"", "\"other\"");
    let msg = Rules::from_toml("x", &no_uncat).unwrap_err().to_string();
    assert!(msg.contains("no category `uncategorized`"), "{msg}");
}
