//! Incident management by mail through real Dovecot and Postfix (issue 15): a rule sends a
//! request to another help desk (the customer gets that desk's contact details, the desk gets
//! the original attached, a manager gets a copy); a technician sets impact and urgency and the
//! priority follows, and the customer's update says by when; a technician's `/redirect` to an
//! unknown desk is refused with an error reply, and to a known one resolves the case. Each
//! person's mail is checked in their own INBOX.

use mail_parser::{MessageParser, MimeHeaders};

use crate::conversation::{at, open_case, reply, run_once, text};
use crate::live::{header, request, LiveDesk, Options, WAIT};
use crate::stack;

/// The desk's configuration: the `desk` team, the HR desk that takes forwards, and rules
/// (the shipped ones, every team the `desk` team) with a payroll rule that redirects to HR and
/// copies the manager.
fn incident_desk(
    stack: &stack::Stack,
    (support, team, hr, manager): (&str, &str, &str, &str),
    more: &str,
) -> LiveDesk {
    let extra = format!(
        "[teams.desk]\naddress = \"{}\"\nmembers = [\"{}\"]\n\
         [desks.hr]\nname = \"HR Service Center\"\naddress = \"{}\"\n\
         phone = \"+1 555 0100\"\nhours = \"Mon-Fri 08:00-16:00\"\nforward = true\n{more}",
        at(team),
        at("tech"),
        at(hr)
    );
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            helpdesk_extra: "rules = \"rules.toml\"",
            outbound_extra: &extra,
            ..Options::default()
        },
    );
    let shipped = desk.desk.ok(&["rules", "default"]);
    let mine = shipped
        .replace("team = \"", "team = \"desk\" # was \"")
        .replacen(
            "[[rule]]",
            &format!(
                "[[rule]]\nname = \"payroll\"\ncategory = \"process\"\ntext = '\\bpayroll\\b'\n\
                 redirect = \"hr\"\nnotify = [\"{}\"]\n\n[[rule]]",
                at(manager)
            ),
            1,
        );
    std::fs::write(desk.desk.path("rules.toml"), mine).expect("write rules");
    desk
}

/// The decoded, unfolded subject of a message.
pub(crate) fn subject(raw: &[u8]) -> String {
    let m = MessageParser::default().parse(raw).expect("a message");
    m.subject().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_another_desk_is_sent_there_and_impact_and_urgency_set_the_priority() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, team, hr, manager) = (
        "support25",
        "customer25",
        "customer27",
        "customer26",
        "customer28",
    );
    let desk = incident_desk(stack, (support, team, hr, manager), "");
    assert!(
        desk.desk
            .ok(&["check"])
            .contains("desks      1 configured; rules redirect to hr"),
        "{}",
        desk.desk.ok(&["check"])
    );

    // 1. A payroll question: HR's, by the rule.
    let redirect = open_case(
        stack,
        &desk,
        (support, customer),
        "inc-payroll",
        "My payroll slip is wrong",
        "The overtime of November is missing.",
    )
    .await;
    assert_eq!(
        subject(&redirect),
        "[HD-000001] Please contact HR Service Center: My payroll slip is wrong"
    );
    let body = text(&redirect);
    for needle in [
        "HR Service Center",
        "+1 555 0100",
        "Mon-Fri 08:00-16:00",
        "forwarded",
    ] {
        assert!(body.contains(needle), "{needle} in {body}");
    }
    let forwarded = stack.wait_for(hr, "INBOX", 1, WAIT).await.remove(0);
    assert_eq!(
        header(&forwarded, "Reply-To").map(|r| r.contains(&at(customer))),
        Some(true)
    );
    let parsed = MessageParser::default().parse(&forwarded).unwrap();
    let original = parsed
        .attachments()
        .find(|a| a.content_type().is_some_and(|c| c.ctype() == "message"))
        .expect("the original, attached as message/rfc822");
    let inner = original.message().expect("a message inside");
    assert_eq!(inner.message_id(), Some("inc-payroll@client.example.test"));
    assert!(
        text(&forwarded).contains("overtime of November"),
        "{}",
        text(&forwarded)
    );
    let copy = stack.wait_for(manager, "INBOX", 1, WAIT).await.remove(0);
    assert!(
        subject(&copy).contains("New case (copy by rule payroll)"),
        "{:?}",
        subject(&copy)
    );
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["status"], "resolved");
    assert_eq!(
        shown["case"]["resolution"],
        "Redirected to HR Service Center"
    );
    for clock in ["target_secs", "due_at", "first_response_due_at"] {
        assert_eq!(
            shown["sla"][clock],
            serde_json::Value::Null,
            "no SLA: {:#}",
            shown["sla"]
        );
    }

    // 2. A broken printer: the team's. Its technician sets impact and urgency.
    let raw = request(
        customer,
        support,
        "inc-printer",
        "Printer on floor 3 is broken",
        "Nobody on the floor can print.",
    );
    stack.send(&at(customer), &at(support), &raw).await;
    stack.wait_for(support, "INBOX", 2, WAIT).await;
    run_once(&desk, "created 1,");
    let ack = stack.wait_for(customer, "INBOX", 2, WAIT).await.remove(1);
    assert!(subject(&ack).contains("HD-000002"));
    let notice = stack.wait_for(team, "INBOX", 1, WAIT).await.remove(0);
    assert!(
        subject(&notice).contains("HD-000002"),
        "only the printer reached the team"
    );
    let answer = reply(
        &notice,
        &at("tech"),
        &at(support),
        "/impact high\n/urgency high\n\nWe are on our way to floor 3.",
    );
    stack.send(&at("tech"), &at(support), &answer).await;
    stack.wait_for(support, "INBOX", 3, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let update = stack.wait_for(customer, "INBOX", 3, WAIT).await.remove(2);
    let body = text(&update);
    assert!(body.contains("We are on our way to floor 3."), "{body}");
    assert!(body.contains("We aim to resolve this by "), "{body}");
    let shown = desk.desk.json(&["cases", "show", "HD-000002"]);
    assert_eq!(shown["case"]["priority"], 1, "high × high in break/fix");
    assert_eq!(shown["case"]["impact"], "high");
    assert_eq!(shown["case"]["urgency"], "high");
    let view = desk.desk.ok(&["cases", "show", "HD-000002"]);
    assert!(view.contains("(impact high, urgency high)"), "{view}");
    assert!(
        view.contains("impact_changed") && view.contains("urgency_changed"),
        "{view}"
    );

    // 3. A redirect to a desk nobody configured changes nothing and says why.
    let wrong = reply(
        &notice,
        &at("tech"),
        &at(support),
        "/redirect facilities\n\nNot ours.",
    );
    stack.send(&at("tech"), &at(support), &wrong).await;
    stack.wait_for(support, "INBOX", 4, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let tech_mail = stack.wait_for("tech", "INBOX", 1, WAIT).await;
    let error = tech_mail
        .iter()
        .find(|m| subject(m).contains("Printer on floor 3"))
        .expect("the error reply");
    let body = text(error);
    assert!(body.contains("no desk `facilities`; desks: hr"), "{body}");
    assert!(body.contains("/redirect <desk> [text]"), "{body}");
    assert_eq!(
        desk.desk.json(&["cases", "show", "HD-000002"])["case"]["status"],
        "in_progress"
    );

    // 4. To HR after all: resolved, the customer told where to go, HR given the original.
    let right = reply(
        &notice,
        &at("tech"),
        &at(support),
        "/redirect hr badge printers are HR's",
    );
    stack.send(&at("tech"), &at(support), &right).await;
    stack.wait_for(support, "INBOX", 5, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let redirect = stack.wait_for(customer, "INBOX", 4, WAIT).await.remove(3);
    assert!(subject(&redirect).starts_with("[HD-000002] Please contact HR Service Center"));
    assert!(
        text(&redirect).contains("badge printers are HR's"),
        "{}",
        text(&redirect)
    );
    assert_eq!(
        header(&redirect, "In-Reply-To"),
        header(&update, "Message-ID"),
        "the customer's thread"
    );
    let forwarded = stack.wait_for(hr, "INBOX", 2, WAIT).await.remove(1);
    let parsed = MessageParser::default().parse(&forwarded).unwrap();
    let inner = parsed
        .attachments()
        .find_map(|a| a.message())
        .expect("the original");
    assert_eq!(inner.message_id(), Some("inc-printer@client.example.test"));
    let shown = desk.desk.json(&["cases", "show", "HD-000002"]);
    assert_eq!(shown["case"]["status"], "resolved");
    assert_eq!(
        shown["case"]["resolution"],
        "Redirected to HR Service Center: badge printers are HR's"
    );
    // The manager's copy came from the payroll rule alone; the team heard only of the printer.
    assert_eq!(stack.fetch_all(manager, "INBOX").await.len(), 1);
    assert_eq!(stack.fetch_all(team, "INBOX").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_report_reaches_the_first_cases_team_and_a_resend_is_told_its_case() {
    let Some(stack) = stack::shared() else { return };
    let (support, ann, bob, team) = ("support26", "customer29", "customer30", "customer31");
    let desk = incident_desk(stack, (support, team, "customer26", "customer28"), "");
    let send = |from: &'static str, id: &'static str, subject: &'static str, body: &'static str| {
        let raw = request(from, support, id, subject, body);
        async move { stack.send(&at(from), &at(support), &raw).await }
    };
    send(
        ann,
        "rel-1",
        "Wi-Fi down in the east wing",
        "The wireless in rooms 201-214 of the east wing dropped at 8am; no laptop connects.",
    )
    .await;
    stack.wait_for(support, "INBOX", 1, WAIT).await;
    run_once(&desk, "created 1,");
    send(
        bob,
        "rel-2",
        "no internet east wing",
        "Our laptops in room 207 cannot connect to the wireless since this morning. East wing only?",
    )
    .await;
    send(
        ann,
        "rel-3",
        "Did you get my mail? Wi-Fi east wing",
        "Still no wireless in the east wing rooms; the laptops do not connect.",
    )
    .await;
    stack.wait_for(support, "INBOX", 3, WAIT).await;
    run_once(&desk, "created 2,");
    // The team: the first case, the second as a repeat, the first told of it, the third.
    let team_mail = stack.wait_for(team, "INBOX", 4, WAIT).await;
    let subjects: Vec<String> = team_mail.iter().map(|m| subject(m)).collect();
    let told = team_mail
        .iter()
        .find(|m| subject(m).contains("Reported by others too: HD-000002"))
        .unwrap_or_else(|| panic!("{subjects:?}"));
    assert!(
        subject(told).starts_with("[HD-000001]"),
        "in the first case's thread"
    );
    let first = team_mail
        .iter()
        .find(|m| subject(m).starts_with("[HD-000001] New case"))
        .expect("the first notification");
    assert_eq!(header(told, "In-Reply-To"), header(first, "Message-ID"));
    assert!(text(told).contains("shared terms"), "{}", text(told));
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("New case (repeats HD-000001)")),
        "{subjects:?}"
    );
    // Ann's resend is acknowledged as a repeat of her first case.
    let ann_mail = stack.wait_for(ann, "INBOX", 2, WAIT).await;
    let second_ack = ann_mail
        .iter()
        .find(|m| subject(m).contains("HD-000003"))
        .expect("the acknowledgment of the resend");
    assert!(
        text(second_ack).contains("case HD-000001 holds your request"),
        "{}",
        text(second_ack)
    );
    let view = desk.desk.ok(&["cases", "show", "HD-000002"]);
    assert!(
        view.contains("linked     HD-000001 (related, open): same category; "),
        "{view}"
    );
    let shown = desk.desk.json(&["cases", "show", "HD-000003"]);
    let kinds: Vec<&str> = shown["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["duplicate", "related"], "{:#}", shown["links"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_case_tells_its_requester_once_and_its_thread_joins_the_survivor() {
    let Some(stack) = stack::shared() else { return };
    let (support, ann, bob, team) = ("support27", "customer32", "customer33", "customer34");
    let desk = incident_desk(stack, (support, team, "customer26", "customer28"), "");
    let raw = request(
        ann,
        support,
        "mrg-1",
        "Projector in room 12 dead",
        "No picture at all.",
    );
    stack.send(&at(ann), &at(support), &raw).await;
    let raw = request(
        bob,
        support,
        "mrg-2",
        "Beamer room twelve",
        "The beamer shows nothing.",
    );
    stack.send(&at(bob), &at(support), &raw).await;
    stack.wait_for(support, "INBOX", 2, WAIT).await;
    run_once(&desk, "created 2,");
    let team_mail = stack.wait_for(team, "INBOX", 2, WAIT).await;
    let bob_note = team_mail
        .iter()
        .find(|m| subject(m).starts_with("[HD-000002]"))
        .expect("Bob's case notification");
    let merge = reply(bob_note, &at("tech"), &at(support), "/merge HD-000001");
    stack.send(&at("tech"), &at(support), &merge).await;
    stack.wait_for(support, "INBOX", 3, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let bob_mail = stack.wait_for(bob, "INBOX", 2, WAIT).await;
    let told = &bob_mail[1];
    assert!(
        subject(told).starts_with("[HD-000002] Now handled as HD-000001"),
        "{}",
        subject(told)
    );
    assert!(text(told).contains("a reply to this message or to any earlier one reaches"));
    let shown = desk.desk.json(&["cases", "show", "HD-000002"]);
    assert_eq!(shown["case"]["status"], "closed");
    assert_eq!(shown["case"]["resolution"], "Merged into HD-000001");
    // Bob answers his first acknowledgment: it joins HD-000001 and reaches its team.
    let answer = reply(
        &bob_mail[0],
        &at(bob),
        &at(support),
        "It started after the storm.",
    );
    stack.send(&at(bob), &at(support), &answer).await;
    stack.wait_for(support, "INBOX", 4, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    let bodies: Vec<&str> = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("The beamer shows nothing.")),
        "{bodies:?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains("after the storm")),
        "{bodies:?}"
    );
    let team_mail = stack.wait_for(team, "INBOX", 3, WAIT).await;
    assert!(
        subject(&team_mail[2]).starts_with("[HD-000001] Customer reply"),
        "{}",
        subject(&team_mail[2])
    );
    // Ann heard only her acknowledgment: no burst of mail for a merge.
    assert_eq!(stack.fetch_all(ann, "INBOX").await.len(), 1);
    assert_eq!(stack.fetch_all(bob, "INBOX").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn related_reports_raise_a_major_incident_and_everyone_hears_once() {
    let Some(stack) = stack::shared() else { return };
    let support = "support28";
    let people = ["customer35", "customer36", "customer37", "customer38"];
    let (team, boss) = ("customer39", "customer40");
    let major = format!(
        "[major_incident]\nnotify = [\"{}\"]\ncount = 3\nwithin = \"30m\"\n",
        at(boss)
    );
    let desk = incident_desk(stack, (support, team, "customer26", "customer28"), &major);
    let bodies = [
        "The VPN disconnects every few minutes from home; remote staff cannot reach the gradebook.",
        "Working from home: the VPN disconnects every few minutes and the gradebook times out.",
        "From home the VPN disconnects constantly, every few minutes; gradebook unreachable for remote staff.",
        "The VPN disconnects every few minutes for me at home too, remote staff gradebook down.",
    ];
    for (i, (who, body)) in people.iter().zip(bodies).enumerate() {
        let id = format!("maj-{i}");
        let raw = request(who, support, &id, "VPN disconnects for remote staff", body);
        stack.send(&at(who), &at(support), &raw).await;
        stack.wait_for(support, "INBOX", i + 1, WAIT).await;
        run_once(&desk, "created ");
    }
    // The third report raised it: the list and the team were alerted.
    let alert = stack.wait_for(boss, "INBOX", 1, WAIT).await.remove(0);
    assert!(
        subject(&alert).starts_with("[HD-000004] Major incident, 3 reports"),
        "{}",
        subject(&alert)
    );
    let team_mail = stack.wait_for(team, "INBOX", 1, WAIT).await;
    let team_alert = team_mail
        .iter()
        .find(|m| subject(m).contains("Major incident"))
        .expect("the team's alert");
    // The third and fourth reporters were told it is known.
    for who in &people[2..] {
        let ack = stack.wait_for(who, "INBOX", 1, WAIT).await.remove(0);
        assert!(subject(&ack).contains("Known issue"), "{}", subject(&ack));
        assert!(
            text(&ack).contains("tracked as HD-000004"),
            "{}",
            text(&ack)
        );
    }
    // One broadcast, then the resolution: everyone hears each once, in their own thread.
    let answer = reply(
        team_alert,
        &at("tech"),
        &at(support),
        "/broadcast We are restarting the VPN concentrator.",
    );
    stack.send(&at("tech"), &at(support), &answer).await;
    stack.wait_for(support, "INBOX", 5, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let resolve = reply(
        team_alert,
        &at("tech"),
        &at(support),
        "/resolve The VPN concentrator was replaced.",
    );
    stack.send(&at("tech"), &at(support), &resolve).await;
    stack.wait_for(support, "INBOX", 6, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    for who in people {
        let got = stack.wait_for(who, "INBOX", 3, WAIT).await;
        assert_eq!(got.len(), 3, "{who}: acknowledgment, broadcast, resolution");
        assert!(
            text(&got[1]).contains("restarting the VPN concentrator"),
            "{}",
            text(&got[1])
        );
        assert!(
            subject(&got[2]).contains("Resolved"),
            "{}",
            subject(&got[2])
        );
        assert!(text(&got[2]).contains("The VPN concentrator was replaced."));
        assert_eq!(
            header(&got[1], "In-Reply-To"),
            header(&got[0], "Message-ID"),
            "{who}'s own thread"
        );
    }
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["status"], "resolved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_problems_workaround_reaches_new_reports_and_resolved_incidents() {
    let Some(stack) = stack::shared() else { return };
    let (support, ann, bob, team) = ("support29", "customer41", "customer42", "customer43");
    let desk = incident_desk(stack, (support, team, "customer26", "customer28"), "");
    let raw = request(
        ann,
        support,
        "ke-1",
        "Printer jams on every page",
        "The printer jams on every page.",
    );
    stack.send(&at(ann), &at(support), &raw).await;
    stack.wait_for(support, "INBOX", 1, WAIT).await;
    run_once(&desk, "created 1,");
    let note = stack.wait_for(team, "INBOX", 1, WAIT).await.remove(0);
    let problem = reply(&note, &at("tech"), &at(support), "/problem");
    stack.send(&at("tech"), &at(support), &problem).await;
    stack.wait_for(support, "INBOX", 2, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let problem_note = stack
        .wait_for(team, "INBOX", 2, WAIT)
        .await
        .into_iter()
        .find(|m| subject(m).starts_with("[HD-000002]"))
        .expect("the problem case's notification");
    let findings = reply(
        &problem_note,
        &at("tech"),
        &at(support),
        "/rootcause the fuser is worn\n/workaround print single-sided until the new fuser arrives",
    );
    stack.send(&at("tech"), &at(support), &findings).await;
    stack.wait_for(support, "INBOX", 3, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let view = desk.desk.ok(&["cases", "show", "HD-000002"]);
    assert!(view.contains("root cause the fuser is worn"), "{view}");
    assert!(
        view.contains("workaround print single-sided until the new fuser arrives"),
        "{view}"
    );
    // Bob reports the same: a known error, told the workaround at once.
    let raw = request(
        bob,
        support,
        "ke-2",
        "The printer jams on every page",
        "Printer jams, every page.",
    );
    stack.send(&at(bob), &at(support), &raw).await;
    stack.wait_for(support, "INBOX", 4, WAIT).await;
    run_once(&desk, "created 1,");
    let ack = stack.wait_for(bob, "INBOX", 1, WAIT).await.remove(0);
    let body = text(&ack);
    assert!(
        body.contains("known problem, tracked as HD-000002"),
        "{body}"
    );
    assert!(
        body.contains("print single-sided until the new fuser arrives"),
        "{body}"
    );
    // Ann's incident resolved while the problem is open: her notice says it is a workaround.
    let resolve = reply(
        &note,
        &at("tech"),
        &at(support),
        "/resolve single-sided works for now",
    );
    stack.send(&at("tech"), &at(support), &resolve).await;
    stack.wait_for(support, "INBOX", 5, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let notice = stack.wait_for(ann, "INBOX", 2, WAIT).await.remove(1);
    let body = text(&notice);
    assert!(body.contains("This is a workaround"), "{body}");
    assert!(body.contains("tracked as HD-000002"), "{body}");
}
