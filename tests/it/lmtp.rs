//! LMTP intake end to end: the real Postfix delivers support46's mail over its `lmtp:unix:`
//! transport (tests/mailstack's LMTP_USERS) to the running daemon, which answers only after
//! the commit; several recipients of one transaction are one message.

use std::time::Duration;

use crate::live::{header, request, stdout, LiveDesk, Options, WAIT};
use crate::stack;
use crate::util::wait_until;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_delivers_over_lmtp_and_the_customer_is_acknowledged() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer) = ("support46", "customer50");
    let socket = stack.lmtp_socket(support);
    let inbound = format!(
        "kind = \"lmtp\"\nlisten = \"unix:{}\"\nsocket_group = \"postfix\"\n",
        socket.display()
    );
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            inbound: Some(&inbound),
            ..Options::default()
        },
    );
    let check = stdout(&desk.desk.run(&["check"]));
    assert!(check.contains("LMTP on unix:"), "{check}");
    let daemon = desk.start();
    assert!(
        wait_until(WAIT, || socket.exists()),
        "no socket at {}:\n{}",
        socket.display(),
        desk.log()
    );
    let to = format!("{support}@example.test");
    let from = format!("{customer}@example.test");
    let first = request(
        customer,
        support,
        "lmtp-1",
        "Scanner offline",
        "The scanner on floor 2 is offline.",
    );
    stack.send(&from, &to, &first).await;
    let acks = stack.wait_for(customer, "INBOX", 1, WAIT).await;
    let subject = header(&acks[0], "Subject").unwrap();
    assert!(subject.starts_with("[HD-000001]"), "{subject}");
    assert_eq!(
        header(&acks[0], "In-Reply-To"),
        Some("<lmtp-1@client.example.test>")
    );

    // Two recipients that both route to the socket, in one SMTP transaction: Postfix hands
    // them over in one LMTP transaction, and they are one message, one case, one reply.
    let second = request(
        customer,
        support,
        "lmtp-2",
        "Monitor flickers",
        "My second monitor flickers.",
    );
    let tagged = format!("{support}+it@example.test");
    stack.send_to_all(&from, &[&to, &tagged], &second).await;
    let acks = stack.wait_for(customer, "INBOX", 2, WAIT).await;
    assert!(
        acks.iter()
            .any(|a| header(a, "Subject").is_some_and(|s| s.starts_with("[HD-000002]"))),
        "no acknowledgment of the second case"
    );
    let cases = desk.cases();
    assert_eq!(cases.len(), 2, "{cases:#?}");
    let show = desk.desk.json(&["cases", "show", "HD-000002"]);
    let messages = show["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{show:#}");
    let origin = messages[0]["origin"].as_str().unwrap();
    assert!(
        origin.starts_with(&format!("lmtp:from=<{from}>;to=")),
        "{origin}"
    );
    // Nothing reached Dovecot's mailbox of the support address: LMTP took it.
    assert!(stack.fetch_all(support, "INBOX").await.is_empty());
    // Still exactly one acknowledgment per case after a while: no retry by Postfix.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stack.fetch_all(customer, "INBOX").await.len(), 2);
    let status = daemon.terminate();
    assert!(status.success(), "{status:?}\n{}", desk.log());
}
