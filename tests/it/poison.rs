//! Messages that kill or stall the worker, or are too large to read: each ends in the
//! quarantine with its reason, and the messages after it are taken in.

use crate::util::{fixture, Desk};

/// A message that makes a debug build abort while parsing it (the test hook
/// `HELPDESK_TEST_CRASH_ON_SUBJECT`).
const POISON: &str = "From: mallory@customer.example.test\r\nTo: support@example.test\r\n\
                      Subject: Poison pill\r\nMessage-ID: <poison@customer.example.test>\r\n\r\n\
                      This message crashes the parser (in tests).\r\n";

#[test]
fn a_message_that_crashes_the_worker_twice_is_quarantined_and_the_next_is_taken_in() {
    let desk = Desk::new("");
    desk.deliver("1.poison", POISON.as_bytes());
    desk.deliver("2.plain", &fixture("plain.eml"));
    let run = || {
        desk.command(&["run", "--once"])
            .env("HELPDESK_TEST_CRASH_ON_SUBJECT", "Poison pill")
            .output()
            .expect("run helpdesk")
    };
    // Two runs die on the poison: nothing is taken in, nothing moves.
    for attempt in 1..=2 {
        let out = run();
        assert!(!out.status.success(), "attempt {attempt} should crash");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("HELPDESK_TEST_CRASH_ON_SUBJECT"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(desk.files("Maildir/new").len(), 2, "attempt {attempt}");
    }
    // The third run quarantines it without parsing, and the next message becomes a case.
    let out = run();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        summary.starts_with("created 1, joined 0, duplicates 0, quarantined 1,"),
        "{summary}"
    );
    assert!(desk.files("Maildir/new").is_empty());
    let q = desk.json(&["quarantine", "list"]);
    let q = q.as_array().unwrap();
    assert_eq!(q.len(), 1);
    let reason = q[0]["error"].as_str().unwrap();
    assert!(
        reason.starts_with("stalled or crashed the worker twice"),
        "{reason}"
    );
    assert_eq!(q[0]["origin"], "maildir:1.poison");
    let cases = desk.json(&["cases", "list"]);
    assert_eq!(cases.as_array().unwrap().len(), 1);
    assert_eq!(cases[0]["subject"], "Printer on 2nd floor not working");
}

#[test]
fn an_mta_retrying_a_crashing_ingest_gets_a_quarantine_on_the_third_try() {
    let desk = Desk::new("");
    let ingest = || {
        let mut cmd = desk.command(&["ingest"]);
        cmd.env("HELPDESK_TEST_CRASH_ON_SUBJECT", "Poison pill")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn helpdesk");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(POISON.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(!ingest().status.success());
    assert!(!ingest().status.success());
    let out = ingest();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("quarantined: stalled or crashed the worker twice"),
        "{said}"
    );
}

#[test]
fn a_maildir_file_over_the_size_limit_is_quarantined_from_its_first_bytes() {
    let desk = Desk::new("");
    let mut big = fixture("plain.eml");
    big.extend(std::iter::repeat_n(b'x', 1 << 20));
    desk.deliver("1.big", &big);
    desk.deliver("2.plain", &fixture("network_outage.eml"));
    let out = desk
        .command(&["run", "--once"])
        .env("HELPDESK_INBOUND__MAX_MESSAGE_SIZE", "256KiB")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.starts_with("created 1, joined 0, duplicates 0, quarantined 1,"),
        "{summary}"
    );
    let q = desk.json(&["quarantine", "list"]);
    let reason = q[0]["error"].as_str().unwrap();
    assert!(
        reason.contains("larger than inbound.max_message_size"),
        "{reason}"
    );
    assert!(
        reason.contains("only its first 65536 bytes were read"),
        "{reason}"
    );
    assert_eq!(
        q[0]["size"], 65536,
        "only the head is kept in the quarantine"
    );
    // The whole file is kept in cur/, unread.
    let cur = desk.files("Maildir/cur");
    assert_eq!(cur.len(), 2);
    assert_eq!(std::fs::metadata(&cur[0]).unwrap().len(), big.len() as u64);
}
