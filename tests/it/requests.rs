//! Service requests by mail through real Dovecot and Postfix (issue 16): a conference request
//! with too little notice (the acknowledgment says so, with the earliest day, and asks only what
//! is missing; the customer's account manager becomes the liaison), a task round trip (the
//! liaison's `/task`, the team's `/done` on the task mail, the liaison told; resolving with the
//! task open is refused), a rated resolution (the customer's "5" kept and reported), and an
//! approval rejected first without and then with a reason. Each person's mail is checked in
//! their own INBOX.

use crate::conversation::{at, reply, run_once, text};
use crate::incidents::subject;
use crate::live::{header, request, LiveDesk, Options, WAIT};
use crate::stack;

/// Sends `raw` from `from` to the support mailbox, waits until it holds `n` mails, and has the
/// desk take it in as a reply to a case.
async fn answer(
    stack: &stack::Stack,
    desk: &LiveDesk,
    (from, support): (&str, &str),
    raw: &[u8],
    n: usize,
) {
    stack.send(&at(from), &at(support), raw).await;
    stack.wait_for(support, "INBOX", n, WAIT).await;
    run_once(desk, "created 0, joined 1,");
}

/// The `n`-th mail (1-based) of `user`'s INBOX, once it has arrived.
async fn nth(stack: &stack::Stack, user: &str, n: usize) -> Vec<u8> {
    stack.wait_for(user, "INBOX", n, WAIT).await.remove(n - 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conference_request_with_too_little_notice_a_task_round_trip_and_a_rated_resolution() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, manager, av) = ("support30", "customer44", "support31", "support32");
    let extra = format!(
        "[teams.customer-service]\nmembers = [\"{m}\"]\n\
         [teams.av]\naddress = \"{a}\"\nmembers = [\"{t}\"]\n\
         [conference]\npremises = [\"board room\"]\n\
         [accounts]\n\"{c}\" = \"{m}\"\n",
        m = at(manager),
        a = at(av),
        t = at("tech"),
        c = at(customer),
    );
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            outbound_extra: &extra,
            ..Options::default()
        },
    );
    // Three days from now: far less than 10 business days of notice.
    let day = jiff::Zoned::now()
        .date()
        .checked_add(jiff::Span::new().days(3))
        .unwrap();
    let written = jiff::fmt::strtime::format("%-d %B %Y", day).unwrap();
    let body = format!(
        "We are hosting our board retreat in the board room on {written}, 9am-4pm. We need a \
         projector and two microphones, and a technician to set up and stay during the sessions."
    );
    let raw = request(customer, support, "conf-1", "Board retreat support", &body);
    stack.send(&at(customer), &at(support), &raw).await;
    stack.wait_for(support, "INBOX", 1, WAIT).await;
    run_once(&desk, "created 1,");

    // The acknowledgment: what was read, the notice too short with the earliest day, nothing
    // asked that the request gave, and the account manager named.
    let ack = nth(stack, customer, 1).await;
    let said = text(&ack);
    for needle in [
        "your account manager,",
        &at(manager),
        "The notice is too short.",
        "needs at least 10 business days of notice",
        "The earliest day we could support is",
        "Place:   the board room (on premises)",
        "Times:   09:00–16:00",
        "Your request tells us everything we need to plan",
    ] {
        assert!(said.contains(needle), "{needle:?} in {said}");
    }
    assert!(!said.contains("what equipment is needed"), "{said}");
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["category"], "conference_support");
    assert_eq!(shown["case"]["assignee"], at(manager), "the liaison");
    assert_eq!(shown["event"]["site"], "on premises");
    assert_eq!(shown["event"]["dates"][0], day.to_string());
    let view = desk.desk.ok(&["cases", "show", "HD-000001"]);
    assert!(view.contains("conference_read"), "{view}");

    // The liaison hears of the case and gives the AV team a task.
    let notice = nth(stack, manager, 1).await;
    assert!(
        subject(&notice).contains("HD-000001"),
        "{}",
        subject(&notice)
    );
    let task_line = format!("/task av by {written}: bring the projector and the microphones");
    let create = reply(&notice, &at(manager), &at(support), &task_line);
    answer(stack, &desk, (manager, support), &create, 2).await;
    let task = nth(stack, av, 1).await;
    assert_eq!(
        subject(&task),
        "[HD-000001/T1] Task for av: bring the projector and the microphones"
    );
    assert!(text(&task).contains("/done [note]"), "{}", text(&task));

    // Resolving with the task open is refused, and the liaison is told why.
    let early = reply(&notice, &at(manager), &at(support), "/resolve all set");
    answer(stack, &desk, (manager, support), &early, 3).await;
    let refusal = nth(stack, manager, 2).await;
    let why = text(&refusal);
    assert!(
        why.contains("has 1 open task (T1 av)") && why.contains("/resolve --force"),
        "{why}"
    );

    // The team's member answers the task mail: done, and the liaison hears all are finished.
    let done = reply(
        &task,
        &at("tech"),
        &at(support),
        "/done projector and mics are in the board room\n\nThe spare mic is in the cupboard.",
    );
    answer(stack, &desk, ("tech", support), &done, 4).await;
    let finished = nth(stack, manager, 3).await;
    assert!(
        subject(&finished)
            .contains("Task T1 done by tech@example.test; all tasks finished (1 done)"),
        "{}",
        subject(&finished)
    );
    let told = text(&finished);
    assert!(
        told.contains("projector and mics are in the board room"),
        "{told}"
    );
    assert!(told.contains("The spare mic is in the cupboard."), "{told}");
    let view = desk.desk.ok(&["cases", "show", "HD-000001"]);
    assert!(
        view.contains("task T1    av [done") && view.contains("done by tech@example.test"),
        "{view}"
    );
    // Nothing of the task's answer reached the customer.
    assert_eq!(stack.fetch_all(customer, "INBOX").await.len(), 1);

    // Now it resolves; the notice asks for a rating, and the customer gives one.
    let resolve = reply(&notice, &at(manager), &at(support), "/resolve all set up");
    answer(stack, &desk, (manager, support), &resolve, 5).await;
    let resolved = nth(stack, customer, 2).await;
    assert!(
        text(&resolved).contains("reply with a number from 1 (poor) to 5 (excellent)"),
        "{}",
        text(&resolved)
    );
    let rating = reply(&resolved, &at(customer), &at(support), "5 - thanks!");
    answer(stack, &desk, (customer, support), &rating, 6).await;
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(
        shown["case"]["status"], "resolved",
        "a rating does not reopen"
    );
    assert_eq!(shown["rating"], 5);
    let report = desk.desk.ok(&["report", "satisfaction"]);
    let line = report
        .lines()
        .find(|l| l.starts_with("conference_support"))
        .unwrap_or_else(|| panic!("{report}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells,
        ["conference_support", "1", "5.00", "0", "0", "0", "0", "1"]
    );
    let rated = nth(stack, manager, 4).await;
    assert!(
        subject(&rated).contains("Rated 5/5 by the customer"),
        "{}",
        subject(&rated)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_rejected_without_a_reason_is_refused_and_with_one_resolves_the_request() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, approver, team) = ("support33", "customer18", "support35", "support34");
    let extra = format!(
        "[teams.desk]\naddress = \"{}\"\nmembers = [\"{}\"]\n",
        at(team),
        at("tech")
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
    let mine = shipped.replace("team = \"", "team = \"desk\" # was \"");
    std::fs::write(desk.desk.path("rules.toml"), mine).expect("write rules");
    let raw = request(
        customer,
        support,
        "appr-1",
        "New laptop for our intern",
        "Please order a laptop for our new intern starting in January.",
    );
    stack.send(&at(customer), &at(support), &raw).await;
    stack.wait_for(support, "INBOX", 1, WAIT).await;
    run_once(&desk, "created 1,");
    let notice = nth(stack, team, 1).await;

    // The technician asks the customer's manager.
    let ask = reply(
        &notice,
        &at("tech"),
        &at(support),
        &format!("/approval {}", at(approver)),
    );
    answer(stack, &desk, ("tech", support), &ask, 2).await;
    let request_mail = nth(stack, approver, 1).await;
    assert!(
        subject(&request_mail).contains("[HD-000001] Approval needed"),
        "{}",
        subject(&request_mail)
    );
    let asked = text(&request_mail);
    assert!(
        asked.contains("reply to this message with APPROVE"),
        "{asked}"
    );
    assert!(asked.contains("laptop for our new intern"), "{asked}");
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["status"], "pending");
    assert_eq!(
        shown["case"]["pending_reason"],
        format!("approval: waiting for {}", at(approver))
    );
    assert_eq!(
        shown["sla"]["due_at"],
        serde_json::Value::Null,
        "the clock is paused"
    );

    // REJECT without a reason: not counted, and the approver is told why.
    let bare = reply(&request_mail, &at(approver), &at(support), "REJECT");
    answer(stack, &desk, (approver, support), &bare, 3).await;
    let refused = nth(stack, approver, 2).await;
    assert!(
        subject(&refused).contains("Your answer was not recorded"),
        "{}",
        subject(&refused)
    );
    assert!(
        text(&refused).contains("a rejection needs a reason"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        header(&refused, "In-Reply-To"),
        header(&bare, "Message-ID"),
        "threaded under the approver's reply"
    );
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["status"], "pending");
    assert_eq!(shown["approvals"][0]["status"], "pending");

    // REJECT with a reason: the request is resolved as rejected, the requester told why.
    let reason = reply(
        &request_mail,
        &at(approver),
        &at(support),
        "REJECT interns use the shared pool laptops",
    );
    answer(stack, &desk, (approver, support), &reason, 4).await;
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["status"], "resolved");
    assert_eq!(
        shown["case"]["resolution"],
        format!(
            "Not approved: {} rejected the request (interns use the shared pool laptops)",
            at(approver)
        )
    );
    assert_eq!(shown["approvals"][0]["status"], "rejected");
    let resolved = nth(stack, customer, 2).await;
    assert!(
        text(&resolved).contains("interns use the shared pool laptops"),
        "{}",
        text(&resolved)
    );
    let team_told = nth(stack, team, 2).await;
    assert!(
        subject(&team_told).contains(&format!("Rejected by {}", at(approver))),
        "{}",
        subject(&team_told)
    );
    let events: Vec<String> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_owned())
        .collect();
    for kind in [
        "approval_requested",
        "approval_refused",
        "approval_answered",
        "approval_decided",
    ] {
        assert!(events.iter().any(|e| e == kind), "{kind} in {events:?}");
    }

    // A second answer changes nothing: the first stands, and the approver is told.
    let again = reply(&request_mail, &at(approver), &at(support), "APPROVE");
    answer(stack, &desk, (approver, support), &again, 5).await;
    let first_stands = nth(stack, approver, 3).await;
    assert!(
        text(&first_stands).contains("you rejected this already"),
        "{}",
        text(&first_stands)
    );
    assert_eq!(
        desk.desk.json(&["cases", "show", "HD-000001"])["case"]["status"],
        "resolved"
    );
}
