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
    #[rustfmt::skip]
    let cases = [
        ("Special offer for your district", "20% off interactive displays this month", "not-a-request", "uncategorized", 4),
        ("Automatic reply: budget meeting", "I am out of the office until Monday.", "auto-reply", "uncategorized", 4),
        ("Scheduled maintenance Saturday", "The network will be down during the maintenance window.", "planned-downtime", "scheduled_maintenance", 4),
        ("Fiber cut on Main Street", "A contractor cut the fiber line this morning.", "emergency-fiber-cut", "break_fix", 1),
        ("Email down", "Email is down district-wide, nobody can send.", "emergency-outage", "break_fix", 1),
        ("Gradebook training", "Our new teachers need training on the gradebook.", "training", "training", 3),
        ("Excel", "Could the office staff get a training session on Excel?", "training-administrative", "training", 4),
        ("Is this legit?", "I got an email asking me to verify my account. Looks fake.", "suspicious-mail", "uncategorized", 4),
        ("Loaner", "My laptop is in for repair. Can I get a loaner?", "process", "process", 9),
        ("Status of INC0048821", "I submitted it on the 2nd and have not heard back.", "ticket-question", "process", 9),
        ("Home internet", "The internet at my house is down and I can't grade.", "personal-device", "break_fix", 8),
        ("Donated iPads", "The donated iPads won't connect to the wifi.", "donated-item", "break_fix", 7),
        ("Stolen laptop update", "The stolen laptop report: the investigation is still open.", "stolen-awaiting-investigation", "acquisition", 6),
        ("Stolen projector", "Our projector was stolen over the weekend.", "stolen-equipment", "acquisition", 4),
        ("Order status", "The projectors we ordered are on backorder. Any ETA?", "order-awaiting-vendor", "acquisition", 5),
        ("Chromebooks", "We would like to order 30 Chromebooks for 4th grade.", "order-instructional", "acquisition", 3),
        ("Toner", "Please order toner for the front office printer.", "order", "acquisition", 4),
        ("Old monitors", "Please schedule a pickup of obsolete monitors.", "delivery-or-pickup", "acquisition", 4),
        ("Graduation", "Graduation is May 31; we need a livestream and two mics.", "conference-support", "conference_support", 3),
        ("Audit", "Our technology audit is complete; the form is attached.", "inventory-completion", "inventory", 9),
        ("Audit discrepancy", "Attached is the discrepancy form for our campus.", "inventory-discrepancy", "inventory", 3),
        ("Devices", "How many laptops are listed for our campus?", "inventory-query", "inventory", 1),
        ("Loss report", "Attached is the property loss report for a laptop.", "inventory-reconciliation", "inventory", 4),
        ("Tags", "We are out of bar tags, please send a roll.", "tag-supplies", "acquisition", 4),
        ("Wrong room", "Tipweb shows the projector in the wrong room.", "inventory-maintenance", "inventory", 0),
        ("Audit week", "Scanning for the technology audit starts Monday.", "inventory-audit", "inventory", 2),
        ("Warehouse", "The new panels at the warehouse need to be transported to our campus.", "inventory-new-equipment-move", "inventory", 5),
        ("Move", "Please move the printer from the library to room 4.", "inventory-move", "inventory", 6),
        ("Inventory", "Question about our inventory.", "inventory-other", "inventory", 1),
        ("Lab down", "The computer lab is down, nobody can log in.", "campus-outage", "break_fix", 2),
        ("Superintendent", "The superintendent's laptop is frozen.", "executive-fault", "break_fix", 2),
        ("Copier", "The copier is still broken; we are waiting on the vendor.", "fault-awaiting-vendor", "break_fix", 5),
        ("Printer", "I will send you the model of the broken printer when I'm back.", "fault-awaiting-answer", "break_fix", 6),
        ("Outlook", "Outlook keeps asking for my password.", "password-prompt-fault", "break_fix", 4),
        ("Files", "Please migrate our department files to OneDrive.", "scheduled-project", "scheduled_maintenance", 4),
        ("Imaging", "Please re-image the lab computers this summer.", "scheduled-project-instructional", "scheduled_maintenance", 3),
        ("BYOT", "Can my own iPad get a password for the BYOT network?", "access-personal-device", "security_access", 8),
        ("Drive access", "I need access to the special ed shared drive; waiting on approval from my principal.", "access-awaiting-approval", "security_access", 6),
        ("Password", "A student in my class is locked out.", "access-instructional", "security_access", 3),
        ("Password", "Please reset my password.", "access", "security_access", 4),
        ("Minecraft", "Please install Minecraft on the lab computers.", "scheduled-maintenance-instructional", "scheduled_maintenance", 3),
        ("Kiosk", "Please install the visitor kiosk at the front desk.", "scheduled-maintenance", "scheduled_maintenance", 4),
        ("Domain", "Please add the new bookkeeper to the finance domain.", "access-other", "security_access", 4),
        ("Thursday in the gym", "On Thursday at 6 pm we expect 150 families and need a projector and mics.", "event-by-date-and-audience", "conference_support", 3),
        ("Projector", "The projector in room 114 won't turn on.", "break-fix-instructional", "break_fix", 3),
        ("Scanner", "The office scanner is not working.", "break-fix", "break_fix", 4),
        ("Vending", "The snack machine screen says error 12.", "facilities", "uncategorized", 4),
        ("Labels", "We need 6 rolls of thermal labels for the evidence printer.", "supplies", "acquisition", 4),
        ("Jam", "Paper jam in tray 2 again.", "break-fix-named-fault", "break_fix", 4),
        ("Smartboard", "Having trouble with the smartboard in room 12.", "device-trouble-instructional", "break_fix", 3),
        ("Monitor", "Having trouble with my monitor.", "device-trouble", "break_fix", 4),
        ("Headsets", "We need 5 more headsets.", "more-equipment", "acquisition", 4),
        ("Printer", "Please set up the new printer.", "new-setup", "scheduled_maintenance", 4),
        ("CCC", "Who at the customer care center handles this?", "desk-or-phone-question", "process", 9),
        ("Serial", "Ms. Cho needs the serial number on her laptop.", "asset-record", "inventory", 1),
        ("Imprimante en panne", "", "break-fix", "break_fix", 4),
        ("WLAN Problem", "unser WLAN funktioniert nicht", "break-fix", "break_fix", 4),
    ];
    // The rules alone: each one's conditions reach it (the model is tested on its own below).
    let mut rules = shipped();
    rules.model = None;
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

/// The kinds of request that used to go wrong: an intent wins over the device it names, events
/// under any name are conference support, and only a district-wide outage is an emergency.
#[test]
fn intent_wins_over_device_and_scope_decides_the_emergency() {
    // (subject, body, category, priority)
    #[rustfmt::skip]
    let cases = [
        ("Parent night", "Can I borrow a projector for parent night on Thursday?", "process", 9),
        ("Our conference", "We need guest Wi-Fi for 200 people at our conference in March.", "conference_support", 3),
        ("Carts", "Please re-image the laptop carts in June before summer school.", "scheduled_maintenance", 4),
        ("New hire", "A new teacher starts Monday and needs a network account.", "security_access", 3),
        ("Home", "The internet is down at one student's home.", "break_fix", 8),
        ("Summit", "The literacy summit is on May 3; we need two mics and a projector.", "conference_support", 3),
        ("Symposium", "For the science symposium we need the auditorium sound and a livestream.", "conference_support", 3),
        ("Retreat", "Could someone set up a speakerphone and projector for our leadership retreat?", "conference_support", 3),
        ("Annual meeting", "We are hosting the annual meeting and need audio and a technician.", "conference_support", 3),
        ("Board", "Please livestream the board meeting on the 16th.", "conference_support", 3),
        ("Loaner", "Can I get a loaner laptop while mine is repaired?", "process", 9),
        ("Calls", "Please forward my desk phone calls to the front office this week.", "process", 9),
        ("Tags", "The new monitors in the library need bar tags.", "inventory", 0),
        ("Transfer", "Please transfer 10 laptops from our campus to Lincoln and update the records.", "inventory", 6),
        ("Two campuses", "I teach at Carver and Lakeview; my login only works at Carver.", "security_access", 3),
        ("Site", "Students found a game site during class. Please block this site.", "security_access", 3),
        ("Outage", "The whole school has no internet. Other schools are fine.", "break_fix", 2),
        ("Outage", "No one in the district can reach email; every school is calling.", "break_fix", 1),
        ("Office", "The whole district office is down; I called Lakeview and they're fine.", "break_fix", 2),
        ("Resolved", "The internet outage affecting all campuses has been resolved.", "uncategorized", 4),
        ("Printer", "The printer in room 12 says paper jam but nothing is stuck.", "break_fix", 3),
        ("Monitor", "Question about my monitor", "uncategorized", 4),
    ];
    let rules = shipped();
    for (subject, body, category, priority) in cases {
        let c = rules.classify(&msg(subject, body));
        assert_eq!(
            (c.category.as_str(), c.priority.level),
            (category, priority),
            "{body:?} went by rule {:?}",
            c.rule
        );
    }
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
    let c = shipped().classify(&msg("The network is down district-wide", ""));
    assert_eq!(c.priority.target, Some(Duration::from_secs(4 * 3600)));
    assert_eq!(c.case_type, CaseType::Incident);
    assert_eq!(c.evidence[0].field, Field::Text);
    assert_eq!(c.evidence[0].matched, "district-wide");
    assert_eq!(c.evidence[1].matched, "is down");
    assert_eq!(describe(c.priority.target.unwrap()), "4 hours");
    assert_eq!(describe(Duration::from_secs(86400)), "24 hours");
    assert_eq!(describe(Duration::from_secs(3 * 86400)), "3 days");
}

#[test]
fn rules_see_only_a_prefix_of_subject_and_body() {
    let rules = shipped();
    let filler = "Nothing to see here. ".repeat(BODY_SCAN / 21 + 1);
    // The same words inside the prefix decide; past it they are not seen.
    let near = msg(
        "Hello",
        &format!("The network is down district-wide.\n{filler}"),
    );
    assert_eq!(
        rules.classify(&near).rule.as_deref(),
        Some("emergency-outage")
    );
    let far = msg(
        "Hello",
        &format!("{filler}\nThe network is down district-wide."),
    );
    assert_eq!(rules.classify(&far).rule, None);
    let subject = format!("{} network is down district-wide", "x".repeat(SUBJECT_SCAN));
    assert_eq!(rules.classify(&msg(&subject, "")).rule, None);
    // A cut inside a multi-byte character goes back to its start.
    assert_eq!(prefix("aé", 2), "a");
    assert_eq!(prefix("aé", 3), "aé");
    assert_eq!(prefix("ab", 64), "ab");
}

/// Rules with one category, `uncategorized` (priorities 1 and 2), top-level `settings` and
/// `tables` (`[[rule]]`s, `[patterns]`) after it.
pub(crate) fn minimal_rules(settings: &str, tables: &str) -> Rules {
    let text = format!(
        r#"
        first_response = "24h"
        {settings}
        [[category]]
        id = "uncategorized"
        name = "U"
        type = "request"
        default_priority = 1
        priorities = [{{ level = 1, name = "P" }}, {{ level = 2, name = "Q" }}]
        {tables}
        "#
    );
    Rules::from_toml("t", &text).unwrap()
}

#[test]
fn sender_condition_and_all_of_list() {
    let rules = minimal_rules(
        "",
        r#"
        [[rule]]
        name = "vip"
        category = "uncategorized"
        sender = '@vip\.example\.test$'
        subject = ['help', 'now']
        "#,
    );
    let mut m = msg("help me now", "");
    assert_eq!(rules.classify(&m).rule, None);
    m.from.address = "boss@vip.example.test".into();
    assert_eq!(rules.classify(&m).rule.as_deref(), Some("vip"));
    m.subject = "help me".into();
    assert_eq!(rules.classify(&m).rule, None);
}

#[test]
fn unless_keeps_a_rule_from_matching() {
    let rules = minimal_rules(
        "",
        r#"
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
        [patterns]
        here = 'just (us|our building)'
        "#,
    );
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

/// A rule's `approval` holds its requests for the approvers' replies.
#[test]
fn a_rule_may_need_approval_from_all_or_any_of_its_approvers() {
    let rules = Rules::from_toml(
        "rules.toml",
        r#"
        first_response = "24h"
        [[category]]
        id = "uncategorized"
        name = "U"
        type = "request"
        default_priority = 1
        priorities = [{ level = 1, name = "P", target = "1d" }]
        [[rule]]
        name = "software"
        category = "uncategorized"
        text = 'licen[cs]e'
        approval = ["Boss@Example.test", "cfo@example.test"]
        approval_needs = "any"
        [[rule]]
        name = "laptop"
        category = "uncategorized"
        text = 'laptop'
        approval = ["boss@example.test"]
        "#,
    )
    .unwrap();
    let c = rules.classify(&msg("A licence for Visio", "please"));
    assert_eq!(
        c.approval,
        Some((
            vec![
                "boss@example.test".to_owned(),
                "cfo@example.test".to_owned()
            ],
            crate::model::Needs::Any
        ))
    );
    let c = rules.classify(&msg("New laptop", "please"));
    assert_eq!(c.approval.map(|a| a.1), Some(crate::model::Needs::All));
    let c = rules.classify(&msg("Printer", "jammed"));
    assert_eq!(c.approval, None);
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
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\ntext = 'x'\nimpact = \"huge\"",
            "rule `r`: impact = \"huge\": `huge` is not a level",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\ntext = 'x'\nnotify = [\"boss\"]",
            "rule `r`: notify = \"boss\": expected email addresses",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\ntext = 'x'\nredirect = \"H R\"",
            "redirect = \"H R\": expected the name of a [desks.NAME]",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\ntext = 'x'\napproval = [\"boss\"]",
            "rule `r`: approval = \"boss\": expected email addresses",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\ntext = 'x'\napproval_needs = \"any\"",
            "approval_needs without approval",
        ),
        (
            "[[rule]]\nname = \"r\"\ncategory = \"uncategorized\"\ntext = 'x'\napproval = [\"a@b.c\"]\napproval_needs = \"most\"",
            "approval_needs = \"most\": `most` is not a valid Needs",
        ),
        (
            "matrix = [[1, 1, 1], [1, 1, 1]]",
            "category `uncategorized`: expected matrix = ",
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

/// A rules file with a model trained on `corpus.tsv` beside it: categories `uncategorized`,
/// `fault`, `howto` (with its own template) and `payroll` (which the corpus never names).
fn with_model(dir: &Path, model: &str, rules: &str) -> Result<Rules, Error> {
    let corpus = "category\tpriority\tsubject\tbody\n\
        fault\t\tPrinter jammed\tThe printer is jammed and shows an error.\n\
        fault\t\tScreen broken\tMy screen is cracked and flickers, it is broken.\n\
        fault\t\tNo sound\tThe speakers stopped working, there is an error.\n\
        howto\t\tHow do I\tCould you show us how to use the new board? We want to learn.\n\
        howto\t\tTraining\tPlease teach our staff how to use it, a short lesson.\n\
        howto\t\tShow me\tShow me how to learn the gradebook, please teach me.\n\
        fault\t3\tSite down\tThe whole site is down, nothing works anywhere, everyone is out.\n\
        fault\t3\tAll down\tEveryone at the site is out, the whole site is down.\n\
        uncategorized\t\tLunch menu\tThe lunch menu for next week is attached.\n";
    std::fs::write(dir.join("corpus.tsv"), corpus).unwrap();
    let text = format!(
        r#"
        first_response = "24h"
        {model}
        [[category]]
        id = "uncategorized"
        name = "U"
        type = "request"
        default_priority = 1
        priorities = [{{ level = 1, name = "P" }}]
        [[category]]
        id = "fault"
        name = "F"
        type = "incident"
        default_priority = 4
        priorities = [{{ level = 3, name = "High" }}, {{ level = 4, name = "Normal" }}]
        [[category]]
        id = "howto"
        name = "H"
        type = "request"
        template = "howto_ack"
        default_priority = 5
        priorities = [{{ level = 5, name = "Low" }}, {{ level = 6, name = "Lower" }}]
        [[category]]
        id = "payroll"
        name = "P"
        type = "request"
        default_priority = 2
        priorities = [{{ level = 2, name = "Pay" }}]
        {rules}
        "#
    );
    let path = dir.join("rules.toml");
    std::fs::write(&path, text).unwrap();
    Rules::load(Some(&path))
}

const MODEL_RULES: &str = r#"
    [[rule]]
    name = "boss"
    category = "fault"
    final = true
    sender = '^boss@'
    [[rule]]
    name = "device"
    category = "fault"
    priority = 3
    text = 'printer|board'
    [[rule]]
    name = "pay"
    category = "payroll"
    text = 'paycheck'
    [[rule]]
    name = "teach-quickly"
    category = "howto"
    priority = 6
    text = 'quickly'
"#;

#[test]
fn the_model_and_the_first_rule_decide_together() {
    let dir = tempfile::tempdir().unwrap();
    let rules = with_model(
        dir.path(),
        "[model]\ncorpus = \"corpus.tsv\"\nrule_weight = 1",
        MODEL_RULES,
    )
    .unwrap();
    assert_eq!(rules.model().map(|(c, _)| c), Some("corpus.tsv"));
    // A fault the rules and the words agree on: the rule decides, the model says why.
    let c = rules.classify(&msg("Printer jammed", "It is broken, error on screen."));
    assert_eq!(
        (c.category.as_str(), c.rule.as_deref()),
        ("fault", Some("device"))
    );
    let note = c.model.expect("the model was asked");
    assert_eq!((note.category.as_str(), &note.overruled), ("fault", &None));
    assert!(note.margin > 0.0 && !note.words.is_empty(), "{note:?}");
    // A device word in a request to be taught: the words overrule the device rule, and the
    // first matching rule of the chosen category sets the rest.
    let teach = msg(
        "Board",
        "Please show us how to use the board, teach us quickly.",
    );
    let c = rules.classify(&teach);
    assert_eq!(
        (c.category.as_str(), c.rule.as_deref(), c.priority.level),
        ("howto", Some("teach-quickly"), 6)
    );
    let note = c.model.unwrap();
    assert_eq!(note.overruled.as_deref(), Some("fault"));
    assert!(note.to_string().starts_with("howto over "), "{note}");
    assert!(
        note.to_string().contains("overruling the rules' fault"),
        "{note}"
    );
    // With no rule of that category matching, the category's defaults and template apply.
    let c = rules.classify(&msg(
        "Board",
        "Please show us how to use the board, teach us.",
    ));
    assert_eq!(
        (
            c.category.as_str(),
            c.rule,
            c.priority.level,
            c.template.as_str()
        ),
        ("howto", None, 5, "howto_ack")
    );
    // A final rule decides alone; so does a rule of a category the corpus never names.
    let mut boss = teach.clone();
    boss.from.address = "boss@customer.example.test".into();
    let c = rules.classify(&boss);
    assert_eq!((c.category.as_str(), c.model), ("fault", None));
    let c = rules.classify(&msg(
        "My paycheck",
        "Please show us how to learn the paycheck screen.",
    ));
    assert_eq!((c.category.as_str(), c.model), ("payroll", None));
    // Mail no rule matches is uncategorized unless the words say otherwise.
    let c = rules.classify(&msg(
        "Question",
        "Could you teach me how to learn this, show me?",
    ));
    assert_eq!(c.category, "howto");
    // A heavy rule weight lets the rules decide; without [model] the first rule always does.
    let heavy = with_model(
        dir.path(),
        "[model]\ncorpus = \"corpus.tsv\"\nrule_weight = 1000",
        MODEL_RULES,
    )
    .unwrap();
    assert_eq!(heavy.classify(&teach).category, "fault");
    let plain = with_model(dir.path(), "", MODEL_RULES).unwrap();
    assert_eq!(plain.classify(&teach).category, "fault");
    assert!(plain.model().is_none() && plain.classify(&teach).model.is_none());
    // The category template counts among the templates `check` verifies.
    assert!(plain.templates().any(|t| t == "howto_ack"));
}

#[test]
fn a_confirm_rule_stands_only_when_the_words_agree() {
    let dir = tempfile::tempdir().unwrap();
    let rules = r#"
        [[rule]]
        name = "site-down"
        category = "fault"
        priority = 3
        confirm = true
        text = 'down'
        [[rule]]
        name = "any-fault"
        category = "fault"
        text = 'down|broken'
    "#;
    let model = "[model]\ncorpus = \"corpus.tsv\"\nconfirm_margin = 0";
    let r = with_model(dir.path(), model, rules).unwrap();
    let c = r.classify(&msg("All down", "The whole site is down, everyone is out."));
    assert_eq!(
        (c.rule.as_deref(), c.priority.level),
        (Some("site-down"), 3)
    );
    assert!(c.model.unwrap().unconfirmed.is_empty());
    // The same keyword in words that speak of one broken screen: the next rule decides.
    let c = r.classify(&msg(
        "Screen",
        "My screen is cracked and down, it flickers, broken.",
    ));
    assert_eq!(
        (c.rule.as_deref(), c.priority.level),
        (Some("any-fault"), 4)
    );
    let note = c.model.unwrap();
    assert_eq!(note.unconfirmed, ["site-down"]);
    assert!(
        note.to_string().ends_with("not confirmed: site-down"),
        "{note}"
    );
    // A wide margin lets the rule stand.
    let wide = "[model]\ncorpus = \"corpus.tsv\"\nconfirm_margin = 1000";
    let r = with_model(dir.path(), wide, rules).unwrap();
    let c = r.classify(&msg(
        "Screen",
        "My screen is cracked and down, it flickers, broken.",
    ));
    assert_eq!(c.rule.as_deref(), Some("site-down"));
    // Without a model, or with a corpus that has no request at the rule's priority, the rules
    // file is refused.
    let msg = with_model(dir.path(), "", rules).unwrap_err().to_string();
    assert!(
        msg.contains("rule `site-down`: confirm = true needs a [model]"),
        "{msg}"
    );
    let p4 = rules.replace(
        "priority = 3\n        confirm",
        "priority = 4\n        confirm",
    );
    let msg = with_model(dir.path(), model, &p4).unwrap_err().to_string();
    assert!(
        msg.contains("the corpus has no request labelled fault 4"),
        "{msg}"
    );
}

#[test]
fn model_errors_name_the_setting_and_the_corpus_line() {
    let dir = tempfile::tempdir().unwrap();
    let err = |model: &str| {
        with_model(dir.path(), model, MODEL_RULES)
            .unwrap_err()
            .to_string()
    };
    assert!(err("[model]\ncorpus = \"missing.tsv\"").contains("[model] corpus: cannot read"));
    assert!(err("[model]\ncorpus = \"corpus.tsv\"\nrule_weight = -1").contains("rule_weight = -1"));
    assert!(err("[model]\ncorpus = \"corpus.tsv\"\nsmoothing = 0").contains("smoothing = 0"));
    assert!(err("[model]\ncorpus = \"corpus.tsv\"\nconfirm_margin = -2")
        .contains("confirm_margin = -2"));
    assert!(err("[model]\ncorpus = \"corpus.tsv\"\nweight = 1").contains("unknown field `weight`"));
    std::fs::write(dir.path().join("other.tsv"), "printing\t\ts\tb\n").unwrap();
    let msg = err("[model]\ncorpus = \"other.tsv\"");
    assert!(
        msg.contains("category `printing` is not a category of these rules"),
        "{msg}"
    );
    std::fs::write(dir.path().join("bad.tsv"), "fault\t1\tno body\n").unwrap();
    assert!(err("[model]\ncorpus = \"bad.tsv\"").contains("bad.tsv:1: 3 field(s)"));
}

#[test]
fn the_shipped_model_knows_every_category_and_says_why() {
    let rules = shipped();
    let (corpus, vocabulary) = rules.model().expect("the shipped rules have a model");
    assert_eq!(corpus, "builtin");
    assert!(vocabulary > 10_000, "{vocabulary}");
    let c = rules.classify(&msg(
        "projector for parent night",
        "Hi, could I borrow a projector for parent night on Thursday? Thanks, Ana",
    ));
    assert_eq!(c.category, "process");
    let note = c.model.expect("the model was asked");
    assert!(!note.words.is_empty(), "{note:?}");
}

#[test]
fn a_reader_checks_the_rules_but_leaves_the_corpus_unread() {
    let dir = tempfile::tempdir().unwrap();
    with_model(dir.path(), "[model]\ncorpus = \"corpus.tsv\"", MODEL_RULES).unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::remove_file(dir.path().join("corpus.tsv")).unwrap();
    let msg = Rules::load_as(Some(&path), Learn::Train)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("corpus"), "{msg}");
    let read = Rules::load_as(Some(&path), Learn::Skip).unwrap();
    assert!(read.model().is_none());
    assert_eq!(read.category("fault").map(|c| c.name.as_str()), Some("F"));
    // Everything but the corpus is still checked.
    let broken = std::fs::read_to_string(&path)
        .unwrap()
        .replace("category = \"payroll\"", "category = \"nope\"");
    std::fs::write(&path, broken).unwrap();
    assert!(Rules::load_as(Some(&path), Learn::Skip).is_err());
}
