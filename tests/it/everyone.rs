//! The whole conversation through real Dovecot and Postfix (issue 17): a customer's screenshot
//! reaches the team's INBOX as an attachment (a file over the per-mail size is listed and
//! written out by `cases attachment`); a technician's PDF reaches the customer and the colleague
//! she put in Cc, one mail each naming both; a late `/cc` brings in a third person; `/uncc`
//! drops one; and with `command_receipts = true` the technician gets a receipt for each reply,
//! threaded under it. Each person's mail is checked in their own INBOX.

use lettre::message::{header::ContentType, Attachment, MultiPart, SinglePart};
use mail_parser::{MessageParser, MimeHeaders};

use crate::conversation::{at, run_once, text};
use crate::live::{header, LiveDesk, Options, WAIT};
use crate::stack;

/// A mail with `files` (name, type, bytes) attached, as a client writes one.
fn with_files(
    (from, to, cc): (&str, &str, Option<&str>),
    subject: &str,
    thread: Option<&[u8]>,
    body: &str,
    files: &[(&str, &str, Vec<u8>)],
) -> Vec<u8> {
    let mut b = lettre::Message::builder()
        .from(from.parse().unwrap())
        .to(to.parse().unwrap())
        .subject(subject)
        .message_id(Some(format!(
            "<{}@client.example.test>",
            uuid::Uuid::new_v4().simple()
        )));
    if let Some(cc) = cc {
        b = b.cc(cc.parse().unwrap());
    }
    if let Some(original) = thread {
        let id = header(original, "Message-ID").unwrap().to_owned();
        let refs = header(original, "References").unwrap_or("").to_owned();
        b = b.in_reply_to(id.clone()).references(format!("{refs} {id}"));
    }
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(body.to_owned()));
    for (name, kind, bytes) in files {
        let kind = ContentType::parse(kind).unwrap();
        parts = parts.singlepart(Attachment::new((*name).to_owned()).body(bytes.clone(), kind));
    }
    b.multipart(parts).unwrap().formatted()
}

/// The attachments of a received mail: (file name, bytes).
fn files(raw: &[u8]) -> Vec<(String, Vec<u8>)> {
    let m = MessageParser::default().parse(raw).expect("a message");
    m.attachments()
        .map(|p| {
            let name = p.attachment_name().unwrap_or("").to_owned();
            (name, p.contents().to_vec())
        })
        .collect()
}

/// `n` bytes that look like a file of that kind.
fn bytes(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| seed.wrapping_add(u8::try_from(i % 251).unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_both_ways_everyone_on_the_thread_and_receipts() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, team, tech) = ("support45", "customer45", "customer46", "customer47");
    let (colleague, manager) = ("customer48", "customer49");
    let teams = format!(
        "max_attachments_size = \"8KB\"\n[teams.desk]\naddress = \"{}\"\nmembers = [\"{}\"]\n",
        at(team),
        at(tech)
    );
    let helpdesk = "rules = \"rules.toml\"\ncommand_receipts = true";
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            helpdesk_extra: helpdesk,
            outbound_extra: &teams,
            ..Options::default()
        },
    );
    let shipped = desk.desk.ok(&["rules", "default"]);
    let mine = shipped.replace("team = \"", "team = \"desk\" # was \"");
    std::fs::write(desk.desk.path("rules.toml"), mine).expect("write rules");

    // The customer writes with a colleague in Cc, a screenshot and a log too large to forward.
    let screenshot = bytes(7, 3000);
    let log: Vec<u8> = (0..800)
        .flat_map(|i| format!("{i:05} spooler: job failed\r\n").into_bytes())
        .collect();
    let request = with_files(
        (
            &format!("Customer <{}>", at(customer)),
            &at(support),
            Some(&format!("Colleague <{}>", at(colleague))),
        ),
        "Error dialog when printing",
        None,
        "The print dialog shows an error, screenshot attached.",
        &[
            ("error dialog.png", "image/png", screenshot.clone()),
            ("spooler.log", "text/plain", log.clone()),
        ],
    );
    stack.send(&at(customer), &at(support), &request).await;
    stack.wait_for(support, "INBOX", 1, WAIT).await;
    run_once(&desk, "created 1,");

    // The team's notification carries the screenshot; the log is listed with its number.
    let notice = stack.wait_for(team, "INBOX", 1, WAIT).await.remove(0);
    assert_eq!(
        files(&notice),
        [("error dialog.png".to_owned(), screenshot.clone())]
    );
    let said = text(&notice);
    assert!(
        said.contains("Attached:  error dialog.png (3 KB)"),
        "{said}"
    );
    assert!(
        said.contains(
            "On case:   spooler.log (22 KB, too large for mail): helpdesk cases attachment HD-000001 2"
        ),
        "{said}"
    );
    let written = desk.desk.path("spooler-copy.log");
    let out = desk.desk.ok(&[
        "cases",
        "attachment",
        "HD-000001",
        "2",
        "-o",
        written.to_str().unwrap(),
    ]);
    assert!(out.contains("attachment 2 of HD-000001"), "{out}");
    let back = std::fs::read(&written).unwrap();
    assert!(
        back == log,
        "{} bytes written back, {} sent",
        back.len(),
        log.len()
    );
    let refused = desk.desk.run(&["cases", "attachment", "HD-000001", "3"]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        err.contains("HD-000001 has no attachment 3: it has 2"),
        "{err}"
    );

    // The technician answers with a PDF: the customer gets it, and so does her colleague.
    let pdf = bytes(3, 5000);
    let answer = with_files(
        (&format!("Terry Tech <{}>", at(tech)), &at(support), None),
        &format!("Re: {}", header(&notice, "Subject").unwrap()),
        Some(&notice),
        "/priority 2\n\nThe driver was outdated: the attached steps fix it.",
        &[("fix-steps.pdf", "application/pdf", pdf.clone())],
    );
    stack.send(&at(tech), &at(support), &answer).await;
    stack.wait_for(support, "INBOX", 2, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let relayed = stack.wait_for(customer, "INBOX", 2, WAIT).await.remove(1);
    let copy = stack.wait_for(colleague, "INBOX", 1, WAIT).await.remove(0);
    for mail in [&relayed, &copy] {
        assert!(
            text(mail).contains("the attached steps fix it"),
            "{}",
            text(mail)
        );
        assert_eq!(files(mail), [("fix-steps.pdf".to_owned(), pdf.clone())]);
        assert_eq!(
            header(mail, "To"),
            Some(format!("Customer <{}>", at(customer)).as_str())
        );
        assert_eq!(header(mail, "Cc"), Some(at(colleague).as_str()));
    }

    // The receipt, threaded under the technician's reply.
    let receipt = stack.wait_for(tech, "INBOX", 1, WAIT).await.remove(0);
    assert_eq!(
        header(&receipt, "In-Reply-To"),
        header(&answer, "Message-ID")
    );
    let said = text(&receipt);
    assert!(
        said.contains("HD-000001: status in_progress, priority 2 → target "),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "reply sent to {} (cc {}), 1 file attached",
            at(customer),
            at(colleague)
        )),
        "{said}"
    );

    // A late /cc: the manager gets this reply and the next, with the others.
    let late = with_files(
        (&format!("Terry Tech <{}>", at(tech)), &at(support), None),
        &format!("Re: {}", header(&notice, "Subject").unwrap()),
        Some(&notice),
        &format!(
            "/cc {}\n\nLooping in your manager, who asked about the outage.",
            at(manager)
        ),
        &[],
    );
    stack.send(&at(tech), &at(support), &late).await;
    stack.wait_for(support, "INBOX", 3, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let looped = stack.wait_for(manager, "INBOX", 1, WAIT).await.remove(0);
    assert!(text(&looped).contains("Looping in your manager"));
    let cc = header(&looped, "Cc").unwrap();
    assert!(
        cc.contains(&at(colleague)) && cc.contains(&at(manager)),
        "{cc}"
    );
    let receipt = stack.wait_for(tech, "INBOX", 2, WAIT).await.remove(1);
    let said = text(&receipt);
    assert!(
        said.contains("HD-000001: unchanged")
            && said.contains(&format!("{} gets copies of the replies", at(manager))),
        "{said}"
    );

    // /uncc drops the colleague from what follows; the requester cannot be dropped.
    let drop = with_files(
        (&format!("Terry Tech <{}>", at(tech)), &at(support), None),
        &format!("Re: {}", header(&notice, "Subject").unwrap()),
        Some(&notice),
        &format!(
            "/uncc {}\n\nThe fix is rolled out to every printer.",
            at(colleague)
        ),
        &[],
    );
    stack.send(&at(tech), &at(support), &drop).await;
    stack.wait_for(support, "INBOX", 4, WAIT).await;
    run_once(&desk, "created 0, joined 1,");
    let last = stack.wait_for(manager, "INBOX", 2, WAIT).await.remove(1);
    assert!(text(&last).contains("rolled out to every printer"));
    assert_eq!(header(&last, "Cc"), Some(at(manager).as_str()));
    let shown = desk.desk.json(&["cases", "show", "HD-000001"]);
    let to_colleague = shown["outgoing"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["recipient"] == at(colleague))
        .count();
    assert_eq!(
        to_colleague, 2,
        "the first relay and the /cc one: {shown:#}"
    );
}
