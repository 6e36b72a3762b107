//! The real binary against a temporary help desk.

use std::process::Stdio;
use std::time::Duration;

use crate::util::{fixture, wait_until, Desk};

const ALL_FIXTURES: &[&str] = &[
    "plain.eml",
    "multipart_alternative.eml",
    "html_only.eml",
    "attachments.eml",
    "quoted_printable.eml",
    "base64.eml",
    "subject_latin1.eml",
    "subject_utf8_b.eml",
    "subject_shift_jis.eml",
    "subject_koi8r.eml",
    "subject_gb2312.eml",
    "subject_mixed_words.eml",
    "rfc2231_filename.eml",
    "malformed.eml",
    "not_a_message.eml",
    "auto_reply.eml",
    "bulk_list.eml",
    "mailer_daemon_dsn.eml",
    "reply_with_references.eml",
    "conference.eml",
    "network_outage.eml",
];

#[test]
fn ingest_prints_the_ticket_and_ignores_a_second_copy() {
    let desk = Desk::new("");
    let out = desk.run_with_stdin(&["ingest"], &fixture("plain.eml"));
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HD-000001\n");
    let path = crate::util::Desk::path(&desk, "copy.eml");
    std::fs::write(&path, fixture("plain.eml")).unwrap();
    assert_eq!(
        desk.ok(&["ingest", "--file", path.to_str().unwrap()]),
        "HD-000001\n"
    );
    let cases = desk.json(&["cases", "list"]);
    assert_eq!(cases.as_array().unwrap().len(), 1);
    let c = &cases[0];
    for key in [
        "ticket",
        "status",
        "subject",
        "requester",
        "category",
        "priority",
        "type",
        "created_at",
    ] {
        assert!(!c[key].is_null(), "case JSON lacks {key}: {c}");
    }
    assert_eq!(c["status"], "open");
    assert_eq!(c["requester"], "alice@customer.example.test");
    assert_eq!(c["category"], "break_fix");
    assert_eq!(
        desk.json(&["outbox", "list"]).as_array().unwrap().len(),
        1,
        "one acknowledgment"
    );
}

#[test]
fn unparseable_mail_is_quarantined_and_listed() {
    let desk = Desk::new("");
    let out = desk.run_with_stdin(&["ingest"], &fixture("not_a_message.eml"));
    assert!(
        out.status.success(),
        "a quarantined message is safely stored: exit 0"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("quarantined: not an email message"),
        "{stdout}"
    );
    let q = desk.json(&["quarantine", "list"]);
    assert_eq!(q[0]["size"], 300);
    assert!(q[0]["error"]
        .as_str()
        .unwrap()
        .contains("not an email message"));
    let raw = desk.run(&["quarantine", "show", &q[0]["id"].to_string()]);
    assert_eq!(
        raw.stdout,
        fixture("not_a_message.eml"),
        "the raw bytes are kept"
    );
}

#[test]
fn run_once_drains_the_maildir_and_writes_acknowledgments() {
    let desk = Desk::new("");
    for name in ALL_FIXTURES {
        desk.deliver(name, &fixture(name));
    }
    let summary = desk.ok(&["run", "--once"]);
    // 21 fixtures: 3 quarantined (malformed, garbage, DSN of an unknown case), 1 reply joined.
    assert_eq!(
        summary.trim(),
        "created 17, joined 1, duplicates 0, quarantined 3, mail sent 15, retrying 0, failed 0"
    );
    assert!(desk.files("Maildir/new").is_empty());
    assert_eq!(desk.files("Maildir/cur").len(), ALL_FIXTURES.len());
    assert!(desk
        .files("Maildir/cur")
        .iter()
        .all(|p| p.to_string_lossy().ends_with(":2,S")));
    let mails = desk.files("outbox");
    assert_eq!(
        mails.len(),
        15,
        "auto-reply and list mail get no acknowledgment"
    );
    let cases = desk.json(&["cases", "list"]);
    let plain = cases
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "Printer on 2nd floor not working")
        .unwrap();
    let ticket = plain["ticket"].as_str().unwrap();
    let ack = mails
        .iter()
        .find(|p| p.to_string_lossy().ends_with(&format!("{ticket}.eml")))
        .unwrap();
    let ack = std::fs::read_to_string(ack).unwrap();
    for expected in [
        &format!("Subject: [{ticket}] Received: Printer on 2nd floor not working"),
        "In-Reply-To: <plain.20260112.0001@customer.example.test>",
        "Auto-Submitted: auto-replied",
        "To: \"Alice Example\" <alice@customer.example.test>",
        "From: \"IT Service Desk\" <support@example.test>",
    ] {
        assert!(
            ack.contains(expected),
            "acknowledgment lacks {expected:?}:\n{ack}"
        );
    }
    assert!(
        ack.contains("Content-Type: multipart/alternative"),
        "text and HTML"
    );
    // Running again finds nothing new and sends nothing twice.
    let again = desk.ok(&["run", "--once"]);
    assert_eq!(
        again.trim(),
        "created 0, joined 0, duplicates 0, quarantined 0, mail sent 0, retrying 0, failed 0"
    );
}

#[test]
fn a_message_committed_before_a_crash_is_not_processed_twice() {
    // The crash window: committed to the database, not yet moved out of new/.
    let desk = Desk::new("");
    let file = desk.path("m.eml");
    std::fs::write(&file, fixture("network_outage.eml")).unwrap();
    assert_eq!(
        desk.ok(&["ingest", "--file", file.to_str().unwrap()]),
        "HD-000001\n"
    );
    desk.deliver("1.m", &fixture("network_outage.eml"));
    let summary = desk.ok(&["run", "--once"]);
    assert!(
        summary.starts_with("created 0, joined 0, duplicates 1"),
        "{summary}"
    );
    assert_eq!(desk.files("outbox").len(), 1, "one acknowledgment only");
}

#[test]
fn cases_show_documents_messages_mail_and_events() {
    let desk = Desk::new("");
    desk.deliver("1.a", &fixture("plain.eml"));
    desk.deliver("2.b", &fixture("reply_with_references.eml"));
    desk.ok(&["run", "--once"]);
    let shown = desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(shown["case"]["ticket"], "HD-000001");
    assert_eq!(
        shown["messages"].as_array().unwrap().len(),
        2,
        "request and reply"
    );
    assert_eq!(shown["outgoing"][0]["status"], "sent");
    let kinds: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    // No [teams.*] in this config: the record says nobody on the team could be told.
    assert_eq!(
        kinds,
        [
            "created",
            "acknowledgment_queued",
            "notification_skipped",
            "message_added",
            "notification_skipped"
        ]
    );
    let text = desk.ok(&["cases", "show", "hd-000001"]);
    assert!(
        text.contains("HD-000001  Printer on 2nd floor not working"),
        "{text}"
    );
    assert!(text.contains("It works again, thanks!"), "{text}");
    let missing = desk.run(&["cases", "show", "HD-999999"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no case HD-999999"));
}

#[test]
fn cases_list_filters_by_status() {
    let desk = Desk::new("");
    desk.run_with_stdin(&["ingest"], &fixture("plain.eml"));
    assert_eq!(
        desk.json(&["cases", "list", "--status", "open"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        desk.json(&["cases", "list", "--status", "closed"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let bad = desk.run(&["cases", "list", "--status", "done"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("open, in_progress, assigned, pending, resolved, closed"));
}

#[test]
fn rules_test_says_which_rule_matched_which_text() {
    let desk = Desk::new("");
    let path = desk.path("m.eml");
    std::fs::write(&path, fixture("network_outage.eml")).unwrap();
    let out = desk.ok(&["rules", "test", path.to_str().unwrap()]);
    assert!(out.contains("rule       emergency-outage"), "{out}");
    assert!(out.contains("text matched \"network is down\""), "{out}");
    assert!(
        out.contains("priority   1 Emergency (target 4 hours)"),
        "{out}"
    );
    assert!(
        !desk.path("state").exists(),
        "a dry run touches no database"
    );
    std::fs::write(&path, fixture("malformed.eml")).unwrap();
    let out = desk.ok(&["rules", "test", path.to_str().unwrap()]);
    assert!(
        out.starts_with("would be quarantined: no usable sender address"),
        "{out}"
    );
    let default = desk.ok(&["rules", "default"]);
    assert!(default.contains("[[category]]") && default.contains("id = \"inventory\""));
}

#[test]
fn check_passes_on_a_good_setup_and_names_what_is_wrong() {
    let desk = Desk::new("");
    let out = desk.ok(&["check"]);
    for what in [
        "config",
        "rules",
        "templates",
        "database",
        "inbound",
        "outbound",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with("ok") && l.contains(what)),
            "{what}: {out}"
        );
    }
    let bad = Desk::new("reopen_window = \"soon\"");
    let out = bad.run(&["check"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAILED") && text.contains("helpdesk.reopen_window = \"soon\""),
        "{text}"
    );
    let missing_template = Desk::new("rules = \"rules.toml\"");
    let rules =
        helpdesk::classify::DEFAULT_RULES.replace("conference_acknowledgment", "no_such_template");
    std::fs::write(missing_template.path("rules.toml"), rules).unwrap();
    let text = String::from_utf8_lossy(&missing_template.run(&["check"]).stdout).into_owned();
    assert!(text.contains("no_such_template"), "{text}");
}

#[test]
fn the_daemon_refuses_to_start_on_a_bad_config() {
    let desk = Desk::new("ticket_prefix = \"H D\"");
    let out = desk.run(&["run"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("helpdesk.ticket_prefix = \"H D\": expected 1 to 10 ASCII letters or digits"),
        "{err}"
    );
}

#[test]
fn ingest_exits_75_when_the_message_cannot_be_stored() {
    let desk = Desk::new("");
    let config = std::fs::read_to_string(&desk.config).unwrap();
    std::fs::write(
        &desk.config,
        config.replace("sqlite:state/helpdesk.db", "sqlite:/proc/helpdesk/x.db"),
    )
    .unwrap();
    let out = desk.run_with_stdin(&["ingest"], &fixture("plain.eml"));
    assert_eq!(
        out.status.code(),
        Some(75),
        "EX_TEMPFAIL makes the MTA retry"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("the message was not stored"));
}

#[test]
fn the_daemon_picks_up_new_mail_and_stops_cleanly_on_sigterm() {
    let desk = Desk::new("");
    let mut daemon = desk
        .command(&["run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The daemon creates the Maildir; deliver once it exists.
    assert!(
        wait_until(Duration::from_secs(30), || desk
            .path("Maildir/new")
            .is_dir()),
        "daemon did not start"
    );
    desk.deliver("1.a", &fixture("conference.eml"));
    let delivered = wait_until(Duration::from_secs(30), || desk.files("outbox").len() == 1);
    // If kill fails, the daemon keeps running and the `stopped` assertion reports it.
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(daemon.id().to_string())
        .status();
    let stopped = wait_until(Duration::from_secs(40), || {
        daemon.try_wait().unwrap().is_some()
    });
    if !stopped {
        daemon.kill().unwrap();
    }
    let out = daemon.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(delivered, "no acknowledgment was written; log:\n{log}");
    assert!(stopped, "the daemon did not stop on SIGTERM; log:\n{log}");
    assert!(
        out.status.success(),
        "exit status {:?}; log:\n{log}",
        out.status
    );
    assert!(
        log.contains("case opened") && log.contains("SIGTERM received"),
        "{log}"
    );
    let ack = std::fs::read_to_string(&desk.files("outbox")[0]).unwrap();
    assert!(ack.contains("Conference support request received"), "{ack}");
    assert!(desk.files("Maildir/cur").len() == 1);
}
