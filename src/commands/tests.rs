//! Each command: how it parses, what it becomes when valid, and the error that names the line
//! when not.

use super::*;

const CONFIG: &str = r#"
    [helpdesk]
    address = "support@example.test"
    technicians = ["tech@it.example.test"]
    [teams.network]
    address = "network@it.example.test"
    [teams.service-desk]
    members = ["sam@it.example.test"]
    [desks.hr]
    name = "HR Service Center"
    phone = "+1 555 0100"
"#;

fn settings() -> Settings {
    crate::config::testing::settings(CONFIG)
}

fn one(line: &str) -> Command {
    let reply = parse(line);
    assert_eq!(reply.commands.len(), 1, "{line}: {reply:?}");
    reply.commands[0].command.clone()
}

/// Checks `text`'s commands against a break/fix case at priority 4 with the service desk.
fn checked(text: &str) -> Result<Vec<Change>, Vec<Problem>> {
    checked_on(text, Status::InProgress, CaseType::Incident)
}

fn checked_on(
    text: &str,
    status: Status,
    case_type: CaseType,
) -> Result<Vec<Change>, Vec<Problem>> {
    checked_with(text, status, case_type, |_| {})
}

/// [`checked_on`], with the whole context changed by `adjust` first.
fn checked_in(
    text: &str,
    adjust: impl FnOnce(&mut Context<'_>),
) -> Result<Vec<Change>, Vec<Problem>> {
    let s = settings();
    let rules = Rules::load(None).unwrap();
    let ticket = TicketNo::new("HD", 5);
    let canned = vec!["remote_assistance".to_owned()];
    let open = vec!["T1 network".to_owned(), "T3 service-desk".to_owned()];
    let mut ctx = context(
        &s,
        &rules,
        &ticket,
        &canned,
        Status::InProgress,
        CaseType::Request,
    );
    ctx.case.open_tasks = &open;
    adjust(&mut ctx);
    check(&parse(text).commands, &ctx)
}

fn context<'a>(
    s: &'a Settings,
    rules: &'a Rules,
    ticket: &'a TicketNo,
    canned: &'a [String],
    status: Status,
    case_type: CaseType,
) -> Context<'a> {
    Context {
        settings: s,
        rules,
        canned,
        case: CaseNow {
            ticket,
            status,
            case_type,
            category: "break_fix",
            priority: 4,
            team: Some("service-desk"),
            impact: None,
            urgency: None,
            priority_override: false,
            open_tasks: &[],
            liaison: None,
            requester: "alice@example.test",
            copied: &[],
        },
        actor: "tech@it.example.test",
        today: jiff::civil::date(2026, 12, 7),
        answering: None,
    }
}

/// [`checked_on`], with the case changed by `adjust` first.
fn checked_with(
    text: &str,
    status: Status,
    case_type: CaseType,
    adjust: impl FnOnce(&mut CaseNow<'_>),
) -> Result<Vec<Change>, Vec<Problem>> {
    let s = settings();
    let rules = Rules::load(None).unwrap();
    let ticket = TicketNo::new("HD", 5);
    let canned = vec!["remote_assistance".to_owned()];
    let ctx = context(&s, &rules, &ticket, &canned, status, case_type);
    let mut ctx = ctx;
    adjust(&mut ctx.case);
    check(&parse(text).commands, &ctx)
}

fn error(text: &str) -> String {
    let problems = checked(text).expect_err(text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, text.lines().next().unwrap().trim());
    problems[0].error.clone()
}

#[test]
fn commands_are_the_lines_at_the_top_and_the_rest_is_public() {
    let r = parse("\n/priority 2\n\n/assign network\nThe switch is being replaced.\n");
    assert_eq!(r.commands.len(), 2);
    assert_eq!(r.commands[1].text, "/assign network");
    assert_eq!(r.public, "The switch is being replaced.");
    assert_eq!(r.note, None);
    // Paths and slashes in prose are text, not commands.
    let r = parse("Run this:\n/usr/bin/fix --all\n/ also a slash\nand/or that");
    assert!(r.commands.is_empty(), "{:?}", r.commands);
    assert_eq!(
        r.public,
        "Run this:\n/usr/bin/fix --all\n/ also a slash\nand/or that"
    );
    assert_eq!(parse(""), Reply::default());
}

/// Issue 12: no `/command` line from a technician ever reaches a customer, wherever it stands.
#[test]
fn a_command_below_the_text_refuses_the_reply_and_a_late_note_is_internal() {
    let r = parse("The switch is being replaced.\n/status closed\nThanks.");
    assert_eq!(r.commands.len(), 1);
    assert_eq!(r.commands[0].text, "/status closed");
    assert!(
        matches!(&r.commands[0].command, Command::Invalid(e) if e.contains("below the text")),
        "{:?}",
        r.commands[0]
    );
    let problems = checked("Words first.\n  /priority 1").unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, "/priority 1");
    // A /note anywhere makes the rest internal: public text above it, nothing below it.
    let r = parse("/priority 2\nThe part ships Monday.\n\n/note vendor says Tuesday\ninternal only\n/resolve x");
    assert_eq!(r.commands.len(), 1);
    assert_eq!(r.public, "The part ships Monday.");
    assert_eq!(
        r.note.as_deref(),
        Some("vendor says Tuesday\ninternal only\n/resolve x")
    );
}

#[test]
fn note_makes_the_rest_internal() {
    let r = parse("/priority 2\n/note called the vendor\nThey ship Monday.\n/resolve x");
    assert_eq!(r.commands.len(), 1);
    assert_eq!(r.public, "");
    assert_eq!(
        r.note.as_deref(),
        Some("called the vendor\nThey ship Monday.\n/resolve x")
    );
    assert_eq!(parse("/NOTE").note.as_deref(), Some(""));
}

#[test]
fn status_takes_the_listed_values_and_pending_needs_a_reason() {
    assert_eq!(
        one("/status in_progress"),
        Command::Status(Status::InProgress, None)
    );
    assert_eq!(
        one("/Status In-Progress"),
        Command::Status(Status::InProgress, None)
    );
    assert_eq!(
        one("/status pending vendor part on order"),
        Command::Status(Status::Pending, Some("vendor: part on order".into()))
    );
    assert_eq!(
        one("/status pending Customer"),
        Command::Status(Status::Pending, Some("customer".into()))
    );
    assert!(error("/status pending").contains("vendor, customer, district, scheduled"));
    assert!(error("/status pending later").contains("needs a reason"));
    assert!(error("/status done").contains("not `done`"));
    assert!(error("/status open").contains("/reopen"));
    assert!(error("/status resolved now").contains("no further text"));
    assert_eq!(
        checked("/status closed").unwrap(),
        [Change::Status(Status::Closed, None)]
    );
}

#[test]
fn assign_takes_a_team_or_a_technician() {
    assert_eq!(
        checked("/assign Network").unwrap(),
        [Change::AssignTeam("network".into())]
    );
    assert_eq!(
        checked("/assign tech@it.example.test").unwrap(),
        [Change::AssignTechnician("tech@it.example.test".into())]
    );
    // Team members are technicians.
    assert_eq!(
        checked("/assign sam@it.example.test").unwrap(),
        [Change::AssignTechnician("sam@it.example.test".into())]
    );
    assert!(error("/assign alice@customer.test").contains("not a technician"));
    assert!(error("/assign printers").contains("teams: network, service-desk"));
    assert!(error("/assign").contains("needs a team"));
}

#[test]
fn priority_must_exist_in_the_category() {
    let Change::Priority(1, Some(target)) = checked("/priority 1").unwrap()[0] else {
        panic!("priority 1 of break_fix has a target");
    };
    assert_eq!(target.duration, std::time::Duration::from_secs(4 * 3600));
    assert_eq!(
        target.clock,
        crate::calendar::ClockKind::Always,
        "hours run 24x7"
    );
    assert_eq!(checked("/priority 5").unwrap(), [Change::Priority(5, None)]);
    let e = error("/priority 9");
    assert!(
        e.contains("break_fix has no priority 9") && e.contains("1 Emergency"),
        "{e}"
    );
    assert!(error("/priority high").contains("priority number"));
}

#[test]
fn category_by_id_or_number_keeps_or_resets_the_priority_and_moves_the_default_team() {
    let changes = checked("/category security_access").unwrap();
    let Change::Category {
        id, priority, team, ..
    } = &changes[0]
    else {
        panic!("{changes:?}");
    };
    assert_eq!((id.as_str(), *priority), ("security_access", 4));
    // The case was with break/fix's default team, so it follows the category.
    assert_eq!(team.as_deref(), Some("security-access"));
    let changes = checked("/category 4").unwrap();
    let Change::Category { id, priority, .. } = &changes[0] else {
        panic!("{changes:?}");
    };
    assert_eq!(id, "training");
    assert!(*priority == 3 || *priority == 4, "{priority}");
    assert!(error("/category printers").contains("categories: break_fix"));
}

#[test]
fn type_resolve_reopen_link_problem_task_template() {
    assert_eq!(
        checked("/type problem").unwrap(),
        [Change::Type(CaseType::Problem)]
    );
    assert!(error("/type bug").contains("request, incident, problem"));
    assert_eq!(
        checked("/resolve Replaced the toner").unwrap(),
        [Change::Resolve(Some("Replaced the toner".into()))]
    );
    assert_eq!(checked("/resolve").unwrap(), [Change::Resolve(None)]);
    // Whether the status allows a reopen is the status machine's to say (crate::lifecycle).
    assert_eq!(checked("/reopen").unwrap(), [Change::Reopen]);
    assert_eq!(
        checked_on("/reopen", Status::Resolved, CaseType::Incident).unwrap(),
        [Change::Reopen]
    );
    assert!(error("/reopen now").contains("takes no argument"));
    assert_eq!(
        checked("/link hd-124").unwrap(),
        [Change::Link(TicketNo::new("HD", 124))]
    );
    assert!(error("/link HD-000005").contains("itself"));
    assert!(error("/link 124").contains("not a ticket"));
    assert_eq!(checked("/problem").unwrap(), [Change::Problem]);
    assert!(checked_on("/problem", Status::Open, CaseType::Problem).is_err());
    assert_eq!(
        checked("/task network: replace the switch in room 4").unwrap(),
        [Change::Task {
            team: "network".into(),
            text: "replace the switch in room 4".into(),
            due: None
        }]
    );
    assert!(error("/task network").contains("a team and the task"));
    assert!(error("/task printers: x").contains("no team `printers`"));
    assert_eq!(
        checked("/template remote_assistance").unwrap(),
        [Change::Template("remote_assistance".into())]
    );
    assert!(error("/template update").contains("available: remote_assistance"));
}

#[test]
fn one_bad_line_refuses_them_all_and_each_is_named() {
    let problems = checked("/priority 2\n/priorty 3\n/assign nobody\n/resolve").unwrap_err();
    let lines: Vec<&str> = problems.iter().map(|p| p.line.as_str()).collect();
    assert_eq!(lines, ["/priorty 3", "/assign nobody"]);
    assert_eq!(problems[0].error, "unknown command /priorty");
}

#[test]
fn help_lists_every_command() {
    let help = help();
    for name in [
        "/status",
        "/assign",
        "/priority",
        "/category",
        "/type",
        "/resolve",
        "/reopen",
        "/note",
        "/link",
        "/problem",
        "/task",
        "/template",
    ] {
        assert!(help.contains(name), "{name}");
    }
}

/// Issue 15 item 2: impact × urgency through the category's matrix (break/fix: the ITIL default
/// over its targets), each command seeing the ones before it, and a hand-chosen priority standing.
#[test]
fn impact_and_urgency_set_the_priority_unless_it_was_chosen_by_hand() {
    use crate::classify::Level::{High, Low, Medium};
    let changes = checked("/impact high\n/urgency high").unwrap();
    let [Change::Impact(i), Change::Urgency(u)] = &changes[..] else {
        panic!("{changes:?}");
    };
    // High impact, urgency unknown (medium): 2; then high × high: 1, with its 4 h target.
    assert_eq!(
        (i.from, i.to, i.priority.map(|p| p.0)),
        (None, High, Some(2))
    );
    assert_eq!((u.to, u.priority.map(|p| p.0)), (High, Some(1)));
    assert_eq!(
        u.priority.unwrap().1.map(|t| t.duration.as_secs()),
        Some(4 * 3600)
    );
    // Low × low in break/fix is its lowest priority with a target: 4, where the case is.
    let same = checked("/impact low\n/urgency low").unwrap();
    assert!(
        matches!(&same[1], Change::Urgency(a) if a.priority.is_none() && a.overridden.is_none())
    );
    // After /priority, the matrix no longer moves the case; what it would give is recorded.
    let kept = checked("/priority 3\n/impact high").unwrap();
    assert!(
        matches!(&kept[1], Change::Impact(a) if a.priority.is_none() && a.overridden == Some(2)),
        "{kept:?}"
    );
    let earlier = checked_with(
        "/urgency high",
        Status::InProgress,
        CaseType::Incident,
        |c| {
            c.impact = Some(Medium);
            c.priority_override = true;
        },
    )
    .unwrap();
    assert!(
        matches!(&earlier[0], Change::Urgency(a) if a.from.is_none() && a.overridden == Some(2))
    );
    assert_eq!(one("/impact HIGH"), Command::Impact(High));
    assert_eq!(one("/urgency 3"), Command::Urgency(Low));
    assert!(error("/impact severe").contains("`severe` is not a level"));
    assert!(error("/urgency").contains("high, medium or low"));
}

/// A recategorized case keeps its impact and urgency: the new category's matrix gives its
/// priority.
#[test]
fn a_new_category_reads_impact_and_urgency_through_its_own_matrix() {
    use crate::classify::Level::High;
    let moved = checked_with(
        "/category acquisition",
        Status::InProgress,
        CaseType::Incident,
        |c| {
            c.impact = Some(High);
            c.urgency = Some(High);
            c.priority = 1;
        },
    )
    .unwrap();
    // Acquisition's shortest target is priority 1 (1 day).
    assert!(
        matches!(&moved[0], Change::Category { priority: 1, .. }),
        "{moved:?}"
    );
}

/// Issue 15 item 1: `/redirect` names a configured desk; the resolution says where the case went.
#[test]
fn redirect_names_a_configured_desk_and_resolves_with_it() {
    assert_eq!(
        one("/redirect HR Please call them about payroll"),
        Command::Redirect("hr".into(), Some("Please call them about payroll".into()))
    );
    let changes = checked("/redirect hr payroll is theirs").unwrap();
    assert_eq!(
        changes,
        [Change::Redirect {
            desk: "hr".into(),
            resolution: "Redirected to HR Service Center: payroll is theirs".into(),
            text: Some("payroll is theirs".into()),
        }]
    );
    assert_eq!(
        error("/redirect facilities"),
        "no desk `facilities`; desks: hr"
    );
    assert!(error("/redirect").contains("needs a desk"));
}

/// `/task TEAM by DATE: text` reads the date forward from today; a conference request's tasks
/// are its account manager's to create.
#[test]
fn a_task_may_have_a_date_and_on_a_conference_request_only_its_liaison_creates_one() {
    let due = checked("/task network by Friday: cable the stage").unwrap();
    assert_eq!(
        due,
        [Change::Task {
            team: "network".into(),
            text: "cable the stage".into(),
            due: Some(jiff::civil::date(2026, 12, 11)),
        }]
    );
    let dated = checked("/task network by 12 March: bring two microphones").unwrap();
    assert!(
        matches!(&dated[0], Change::Task { due: Some(d), .. } if *d == jiff::civil::date(2027, 3, 12))
    );
    assert!(error("/task network by someday: x").contains("`someday` is not a date"));
    assert!(error("/task network soon: x").contains("`by <date>`"));
    assert!(error("/task network by 2026-12-01: x").contains("has passed"));
    let refused = checked_in("/task network: set up the hall", |c| {
        c.case.liaison = Some("tam@it.example.test");
    })
    .unwrap_err();
    assert!(
        refused[0]
            .error
            .contains("tam@it.example.test as its account manager"),
        "{refused:?}"
    );
    let by_liaison = checked_in("/task network: set up the hall", |c| {
        c.case.liaison = Some("tech@it.example.test");
    });
    assert!(by_liaison.is_ok(), "{by_liaison:?}");
}

/// `/done` and `/reject` work only in a reply to a task mail, once, and nothing else does there.
#[test]
fn done_and_reject_answer_the_task_mail_they_reply_to_and_only_once() {
    assert!(
        error("/done").contains("reply to the task's own mail (its subject reads [HD-000005/T1])")
    );
    let task = TaskNow {
        label: "T1",
        team: "network",
        status: "open",
        answered: None,
    };
    let on_task =
        |text: &str, task: TaskNow<'static>| checked_in(text, move |c| c.answering = Some(task));
    assert_eq!(
        on_task("/done cabled", task).unwrap(),
        [Change::Done(Some("cabled".into()))]
    );
    assert_eq!(on_task("/done", task).unwrap(), [Change::Done(None)]);
    assert_eq!(
        on_task("/reject no one free", task).unwrap(),
        [Change::Reject("no one free".into())]
    );
    let bare = on_task("/reject", task).unwrap_err();
    assert!(
        bare[0].error.contains("/reject needs the reason"),
        "{bare:?}"
    );
    let other = on_task("/done\n/priority 2", task).unwrap_err();
    assert!(
        other[0]
            .error
            .contains("only /done [note] and /reject <reason> work here"),
        "{other:?}"
    );
    let twice = TaskNow {
        status: "done",
        answered: Some(("ann@it.example.test", "Mon 7 Dec 2026 10:00 UTC")),
        ..task
    };
    let again = on_task("/done", twice).unwrap_err();
    assert!(
        again[0]
            .error
            .contains("answered already (done by ann@it.example.test"),
        "{again:?}"
    );
}

/// Open tasks keep a case from being resolved, unless the technician says --force.
#[test]
fn open_tasks_block_resolving_until_forced() {
    let refused = checked_in("/resolve all set up", |_| {}).unwrap_err();
    assert!(
        refused[0]
            .error
            .contains("has 2 open tasks (T1 network, T3 service-desk)")
            && refused[0].error.contains("/resolve --force"),
        "{refused:?}"
    );
    assert!(checked_in("/status resolved", |_| {}).is_err());
    assert_eq!(
        checked_in("/resolve --force all set up", |_| {}).unwrap(),
        [Change::Resolve(Some("all set up".into()))]
    );
    assert_eq!(
        checked("/resolve fixed").unwrap(),
        [Change::Resolve(Some("fixed".into()))]
    );
    assert_eq!(
        one("/resolve --forced"),
        Command::Resolve(Some("--forced".into()), false)
    );
}

/// `/approval` takes addresses and `any` or `all`; `/remote` a Quick Assist code.
#[test]
fn approvals_name_their_approvers_and_remote_takes_a_code() {
    assert_eq!(
        checked("/approval Boss@Example.org, cfo@example.org boss@example.org").unwrap(),
        [Change::Approval(
            vec!["boss@example.org".into(), "cfo@example.org".into()],
            Needs::All
        )]
    );
    assert_eq!(
        checked("/approval any <boss@example.org> cfo@example.org").unwrap(),
        [Change::Approval(
            vec!["boss@example.org".into(), "cfo@example.org".into()],
            Needs::Any
        )]
    );
    assert!(error("/approval").contains("the approvers' addresses"));
    assert!(error("/approval boss").contains("`boss` is not an address"));
    let closed = checked_on(
        "/approval boss@example.org",
        Status::Resolved,
        CaseType::Request,
    );
    assert!(closed.unwrap_err()[0]
        .error
        .contains("/reopen it before asking for approval"));
    assert_eq!(
        checked("/remote 493 201").unwrap(),
        [Change::Remote("493201".into())]
    );
    assert_eq!(
        checked("/remote ab-12cd").unwrap(),
        [Change::Remote("AB12CD".into())]
    );
    assert!(error("/remote").contains("the Quick Assist code"));
    assert!(error("/remote 12").contains("is not a Quick Assist code"));
    assert!(error("/remote <script>").contains("is not a Quick Assist code"));
}

#[test]
fn cc_and_uncc_name_people_on_the_customers_side() {
    let copied = ["bob@example.test".to_owned()];
    let s = settings();
    let rules = Rules::load(None).unwrap();
    let ticket = TicketNo::new("HD", 5);
    let mut ctx = context(&s, &rules, &ticket, &[], Status::Open, CaseType::Incident);
    ctx.case.copied = &copied;
    let check = |text: &str| check(&parse(text).commands, &ctx);
    assert_eq!(
        check("/cc <Carol@Example.test>"),
        Ok(vec![Change::Cc("carol@example.test".into())])
    );
    assert_eq!(
        check("/uncc BOB@example.test"),
        Ok(vec![Change::Uncc("bob@example.test".into())])
    );
    let refused = |text: &str| check(text).unwrap_err()[0].error.clone();
    assert!(
        refused("/cc").contains("needs an address"),
        "{}",
        refused("/cc")
    );
    assert!(refused("/cc not-an-address").contains("is not an address"));
    assert!(refused("/cc alice@example.test").contains("is the requester"));
    assert!(refused("/cc tech@it.example.test").contains("help desk's own"));
    assert!(refused("/cc noreply@example.com").contains("does not take replies"));
    assert!(refused("/uncc alice@example.test").contains("always gets the replies"));
    assert_eq!(
        refused("/uncc dave@example.test"),
        "dave@example.test gets no copies; those who do: bob@example.test"
    );
}
