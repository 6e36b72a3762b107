//! Technicians and customers in conversation through real Dovecot and Postfix: the team's
//! notification, a technician's reply relayed to the customer in the customer's thread, a note
//! that never reaches the customer, a refused command and its error reply, a customer's reply
//! forwarded to the team, a stranger who copies a tag, and threading by References alone, by the
//! subject tag alone and by plus-address. Each test has its own mailboxes on the shared stack.

use mail_parser::MessageParser;

use crate::live::{header, request, stdout, LiveDesk, Options, WAIT};
use crate::stack;

/// Address of a stack user.
pub(crate) fn at(user: &str) -> String {
    format!("{user}@example.test")
}

/// The decoded text of a message (our mail is multipart/alternative, maybe quoted-printable).
pub(crate) fn text(raw: &[u8]) -> String {
    let m = MessageParser::default().parse(raw).expect("a message");
    m.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
}

/// A reply to `original` from `from` (a stack user), as a mail client writes one: Re: subject,
/// In-Reply-To and References, the new text on top and the original quoted below.
pub(crate) fn reply(original: &[u8], from: &str, to: &str, body: &str) -> Vec<u8> {
    let id = header(original, "Message-ID").expect("Message-ID");
    let refs = header(original, "References").unwrap_or("");
    let subject = header(original, "Subject").expect("Subject");
    let quoted: String = text(original)
        .lines()
        .map(|l| format!("> {l}\r\n"))
        .collect();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: {subject}\r\n\
         Message-ID: <{}@client.example.test>\r\nIn-Reply-To: {id}\r\nReferences: {refs} {id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         {}\r\n\r\nOn Tue, 1 Dec 2026 at 10:02, IT Service Desk <{to}> wrote:\r\n{quoted}",
        uuid::Uuid::new_v4().simple(),
        body.replace('\n', "\r\n")
    )
    .into_bytes()
}

/// `run --once`, asserting the counts it prints start with `expect`.
pub(crate) fn run_once(desk: &LiveDesk, expect: &str) {
    let out = stdout(&desk.desk.run(&["run", "--once"]));
    assert!(
        out.starts_with(expect),
        "expected {expect:?}, got {out}\n{}",
        desk.log()
    );
}

/// A customer's request through SMTP into the support mailbox, taken in by `run --once`:
/// returns the acknowledgment as the customer received it.
pub(crate) async fn open_case(
    stack: &stack::Stack,
    desk: &LiveDesk,
    (support, customer): (&str, &str),
    id: &str,
    subject: &str,
    body: &str,
) -> Vec<u8> {
    let raw = request(customer, support, id, subject, body);
    stack.send(&at(customer), &at(support), &raw).await;
    stack.wait_for(support, "INBOX", 1, WAIT).await;
    run_once(desk, "created 1,");
    stack.wait_for(customer, "INBOX", 1, WAIT).await.remove(0)
}

/// A desk whose `desk` team is the mailbox `team` and whose member `member` is a technician.
fn desk_with_team(stack: &stack::Stack, support: &str, team: &str, member: &str) -> LiveDesk {
    let teams = format!(
        "[teams.desk]\naddress = \"{}\"\nmembers = [\"{}\"]\n",
        at(team),
        at(member)
    );
    // Send every case to the desk team, whatever the rules say.
    let rules = "rules = \"rules.toml\"";
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            helpdesk_extra: rules,
            outbound_extra: &teams,
            ..Options::default()
        },
    );
    let shipped = desk.desk.ok(&["rules", "default"]);
    let mine = shipped.replace("team = \"", "team = \"desk\" # was \"");
    std::fs::write(desk.desk.path("rules.toml"), mine).expect("write rules");
    desk
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_technician_round_trip_and_the_customer_reply_forwarded_to_the_team() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, team, tech) = ("support8", "customer8", "customer9", "customer10");
    let desk = desk_with_team(stack, support, team, tech);
    let ack = open_case(
        stack,
        &desk,
        (support, customer),
        "rt-1",
        "Printer jam on floor 3",
        "It jams on every page.",
    )
    .await;
    let notice = stack.wait_for(team, "INBOX", 1, WAIT).await.remove(0);
    let subject = header(&notice, "Subject").unwrap();
    assert!(subject.starts_with("[HD-000001] New case:"), "{subject}");
    assert_eq!(
        header(&notice, "Reply-To"),
        Some(format!("\"IT Service Desk\" <{}>", at(support)).as_str())
    );
    assert!(
        text(&notice).contains("It jams on every page."),
        "{}",
        text(&notice)
    );

    // The technician answers the notification from their mail client.
    let answer = reply(
        &notice,
        &format!("Terry Tech <{}>", at(tech)),
        &at(support),
        "/priority 2\n\nThe toner was empty; I replaced it. Try again please.",
    );
    stack.send(&at(tech), &at(support), &answer).await;
    stack.wait_for(support, "INBOX", 2, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let got = stack.wait_for(customer, "INBOX", 2, WAIT).await;
    let relayed = &got[1];
    let body = text(relayed);
    assert!(
        body.contains("The toner was empty; I replaced it."),
        "{body}"
    );
    assert!(
        !body.contains("New case") && !body.contains("> "),
        "no quote relayed: {body}"
    );
    assert!(
        !String::from_utf8_lossy(relayed).contains(tech),
        "the technician stays hidden"
    );
    assert!(header(relayed, "From").unwrap().contains(&at(support)));
    // Threaded in the customer's conversation: it answers the acknowledgment.
    assert_eq!(header(relayed, "In-Reply-To"), header(&ack, "Message-ID"));
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["priority"], 2, "{shown:#}");
    assert_eq!(shown["case"]["status"], "in_progress");

    // The customer answers the relay: the reply joins the case and goes to the team.
    let answer = reply(
        relayed,
        &format!("Customer <{}>", at(customer)),
        &at(support),
        "Works now, but it is slow.",
    );
    stack.send(&at(customer), &at(support), &answer).await;
    stack.wait_for(support, "INBOX", 3, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let team_mail = stack.wait_for(team, "INBOX", 2, WAIT).await;
    let forwarded = &team_mail[1];
    assert!(header(forwarded, "Subject")
        .unwrap()
        .contains("Customer reply"));
    let body = text(forwarded);
    assert!(body.contains("Works now, but it is slow."), "{body}");
    assert!(
        !body.contains("toner was empty"),
        "the quote is not forwarded: {body}"
    );
    assert!(header(forwarded, "From")
        .unwrap()
        .starts_with("\"Customer via IT Service Desk\""));
    assert_eq!(
        header(forwarded, "In-Reply-To"),
        header(&notice, "Message-ID"),
        "team thread"
    );

    // The record: every message with who wrote it, every mail, every event.
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    let roles: Vec<&str> = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["customer", "technician", "customer"]);
    let kinds: Vec<&str> = shown["outgoing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["auto_reply", "notification", "relay", "notification"]
    );
    let text_view = desk.desk.ok(&["cases", "show", "HD-000001"]);
    for needle in [
        "(technician; via",
        "reply_relayed",
        "priority_changed",
        "notification_queued",
    ] {
        assert!(text_view.contains(needle), "{needle} in\n{text_view}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_never_reaches_the_customer_and_an_unknown_command_gets_an_error_reply() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, team, tech) = ("support9", "customer12", "customer6", "tech");
    let desk = desk_with_team(stack, support, team, tech);
    open_case(
        stack,
        &desk,
        (support, customer),
        "note-1",
        "VPN drops every hour",
        "Since Monday.",
    )
    .await;
    let notice = stack.wait_for(team, "INBOX", 1, WAIT).await.remove(0);

    let note = reply(
        &notice,
        &at(tech),
        &at(support),
        "/status pending vendor firewall firmware\n/note\nThe vendor admits a bug; do not tell the customer yet.",
    );
    stack.send(&at(tech), &at(support), &note).await;
    stack.wait_for(support, "INBOX", 2, WAIT).await;
    // Nothing goes out: no mail to the customer, nobody else to tell.
    run_once(
        &desk,
        "created 0, joined 1, duplicates 0, quarantined 0, mail sent 0,",
    );
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["status"], "pending");
    assert_eq!(shown["case"]["pending_reason"], "vendor: firewall firmware");
    let noted = &shown["messages"][1];
    assert_eq!(
        (noted["role"].as_str(), noted["visibility"].as_str()),
        (Some("technician"), Some("internal"))
    );
    assert!(noted["body"]
        .as_str()
        .unwrap()
        .contains("vendor admits a bug"));

    let bad = reply(
        &notice,
        &at(tech),
        &at(support),
        "/priority 1\n/escalate now\n\nLooking into it.",
    );
    stack.send(&at(tech), &at(support), &bad).await;
    stack.wait_for(support, "INBOX", 3, WAIT).await;
    run_once(
        &desk,
        "created 0, joined 1, duplicates 0, quarantined 0, mail sent 1,",
    );
    let error = stack.wait_for(tech, "INBOX", 1, WAIT).await;
    let error = error
        .iter()
        .find(|m| header(m, "Subject").is_some_and(|s| s.contains("VPN drops")))
        .expect("the error reply");
    let body = text(error);
    assert!(
        body.contains("/escalate now") && body.contains("unknown command /escalate"),
        "{body}"
    );
    assert!(
        body.contains("/template <name>"),
        "it lists the valid commands: {body}"
    );
    assert_eq!(header(error, "In-Reply-To"), header(&bad, "Message-ID"));
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["priority"], 4, "nothing changed");
    // The customer got the acknowledgment and nothing else: no note, no "Looking into it".
    let customer_mail = stack.fetch_all(customer, "INBOX").await;
    assert_eq!(customer_mail.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_who_copies_a_tag_gets_a_case_of_their_own() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, stranger) = ("support13", "customer13", "customer14");
    let desk = LiveDesk::new(stack, support, Options::default());
    open_case(
        stack,
        &desk,
        (support, customer),
        "own-1",
        "Salary spreadsheet access",
        "Please grant me access.",
    )
    .await;

    let guess = request(
        stranger,
        support,
        "guess-1",
        "Re: [HD-000001] Salary spreadsheet access",
        "Send me the file too.",
    );
    stack.send(&at(stranger), &at(support), &guess).await;
    stack.wait_for(support, "INBOX", 2, WAIT).await;
    run_once(&desk, "created 1, joined 0,");
    let ack = stack.wait_for(stranger, "INBOX", 1, WAIT).await.remove(0);
    let subject = header(&ack, "Subject").unwrap();
    assert!(
        subject.starts_with("[HD-000002]") && !subject.contains("HD-000001"),
        "{subject}"
    );
    assert!(!text(&ack).contains("HD-000001"), "{}", text(&ack));
    let first = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(
        first["messages"].as_array().unwrap().len(),
        1,
        "nothing added to it"
    );
    let second = desk.desk.json(&["cases", "show", "HD-000002"]);
    assert_eq!(second["case"]["requester"], at(stranger));
    assert_eq!(second["events"][0]["detail"]["refused_thread"], "HD-000001");
    assert_eq!(
        stack.fetch_all(customer, "INBOX").await.len(),
        1,
        "the owner is not told anything"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_find_their_case_by_references_alone_by_tag_alone_and_by_plus_address() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer) = ("support10", "customer11");
    let desk = LiveDesk::new(stack, support, Options::default());
    let ack = open_case(
        stack,
        &desk,
        (support, customer),
        "thr-1",
        "Monitor flickers",
        "Since the update.",
    )
    .await;
    let ack_id = header(&ack, "Message-ID").unwrap().to_owned();
    let plain = |id: &str, to: &str, subject: &str, extra: &str| {
        format!(
            "From: Customer <{}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}@client.example.test>\r\n\
             {extra}\r\nMore detail.\r\n",
            at(customer)
        )
        .into_bytes()
    };
    // References alone: the subject was rewritten and lost the tag.
    let by_refs = plain(
        "thr-2",
        &at(support),
        "another thing",
        &format!("References: {ack_id}\r\n"),
    );
    stack.send(&at(customer), &at(support), &by_refs).await;
    // The tag alone: a new mail, no In-Reply-To or References.
    let by_tag = plain("thr-3", &at(support), "[HD-000001] screenshot", "");
    stack.send(&at(customer), &at(support), &by_tag).await;
    // The plus-address alone: no tag, no references.
    let plus = format!("{support}+HD-000001@example.test");
    let by_plus = plain("thr-4", &plus, "one more", "");
    stack.send(&at(customer), &plus, &by_plus).await;
    stack.wait_for(support, "INBOX", 4, WAIT).await;
    run_once(&desk, "created 0, joined 3,");
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    let via: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message_added")
        .map(|e| e["detail"]["via"].as_str().unwrap())
        .collect();
    let mut sorted = via.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["plus_address", "references", "subject_tag"],
        "{via:?}"
    );
    assert_eq!(desk.cases().len(), 1);
}

/// Issue 12, end to end: a mail `From:` a technician with the case's tag and nothing else (what
/// anyone can write) once resolved the case and mailed its text to the customer from the support
/// address. Now the case is unchanged, the customer gets nothing, and the technician's own
/// mailbox (not the Reply-To) gets a note saying how to act; answering that note works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_technician_mail_reaches_nobody_but_the_technician() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, team, tech, mallory) = (
        "support20",
        "customer20",
        "customer21",
        "customer22",
        "customer23",
    );
    let desk = desk_with_team(stack, support, team, tech);
    open_case(
        stack,
        &desk,
        (support, customer),
        "forge-1",
        "Cannot log in to the portal",
        "My password stopped working.",
    )
    .await;
    stack.wait_for(team, "INBOX", 1, WAIT).await;
    let forged = format!(
        "From: Terry Tech <{}>\r\nReply-To: {}\r\nTo: {}\r\nSubject: Re: [HD-000001] Cannot log in\r\n\
         Message-ID: <forged-1@evil.example.test>\r\n\r\n/resolve\r\nConfirm your password at https://evil.test/login\r\n",
        at(tech),
        at(mallory),
        at(support)
    );
    stack
        .send(&at(mallory), &at(support), forged.as_bytes())
        .await;
    stack.wait_for(support, "INBOX", 2, WAIT).await;
    run_once(
        &desk,
        "created 0, joined 1, duplicates 0, quarantined 0, mail sent 1,",
    );
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["status"], "open");
    let told = stack.wait_for(tech, "INBOX", 1, WAIT).await.remove(0);
    let body = text(&told);
    assert!(
        body.contains("answer") && body.contains("notification"),
        "{body}"
    );
    assert!(stack.fetch_all(mallory, "INBOX").await.is_empty());
    // The real technician answers the note: proof enough.
    let answer = reply(
        &told,
        &at(tech),
        &at(support),
        "/resolve Your account was unlocked.",
    );
    stack.send(&at(tech), &at(support), &answer).await;
    stack.wait_for(support, "INBOX", 3, WAIT).await;
    run_once(
        &desk,
        "created 0, joined 1, duplicates 0, quarantined 0, mail sent 1,",
    );
    let got = stack.wait_for(customer, "INBOX", 2, WAIT).await;
    assert_eq!(got.len(), 2, "the acknowledgment and the resolution notice");
    let notice = text(&got[1]);
    assert!(notice.contains("Your account was unlocked."), "{notice}");
    assert!(!notice.contains("evil.test"), "{notice}");
    assert_eq!(
        desk.desk.json(&["cases", "show", "HD-000001"])["case"]["status"],
        "resolved"
    );
}
