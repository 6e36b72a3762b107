//! The real binary against a temporary help desk.

use std::process::Stdio;
use std::time::Duration;

use crate::util::{fixture, wait_until, Desk, ALL_FIXTURES};

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
        "created 17, joined 1, duplicates 0, quarantined 3, mail sent 15, retrying 0, failed 0; \
         closed 0, sla warnings 0, sla breaches 0, follow-ups 0, digests 0"
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
        "created 0, joined 0, duplicates 0, quarantined 0, mail sent 0, retrying 0, failed 0; \
         closed 0, sla warnings 0, sla breaches 0, follow-ups 0, digests 0"
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
    assert!(out.contains("text matched \"the whole district\""), "{out}");
    assert!(out.contains("text matched \"is down\""), "{out}");
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

/// `rules eval` scores a labelled corpus (a TSV file or a directory of .eml files with labels)
/// against the rules, lists each miss with the rule that decided it, gates on accuracy, recall
/// and emergency precision, and names a bad line or an unknown category.
#[test]
fn rules_eval_scores_a_labelled_corpus_and_gates_on_accuracy() {
    let desk = Desk::new("");
    let tsv = desk.path("corpus.tsv");
    std::fs::write(
        &tsv,
        "category\tpriority\tsubject\tbody\n\
         # the whole district is offline: an emergency\n\
         break_fix\t1\tNetwork is down\tThe network is down in every school.\n\
         break_fix\t\tPrinter broken\tThe printer on floor 2 jams.\\nPlease help.\n\
         uncategorized\t\tLunch menu\tWhat is for lunch on Friday?\n\
         conference_support\t\tProjector for the parent evening\tThe printer room projector is broken.\n",
    )
    .unwrap();
    let corpus = tsv.to_str().unwrap();
    let out = desk.ok(&["rules", "eval", corpus]);
    assert!(out.contains("category   3/4 right (75.0%)"), "{out}");
    assert!(out.contains("emergencies 1/1 real (100.0%)"), "{out}");
    assert!(out.contains("conference_support -> break_fix"), "{out}");
    assert!(
        out.contains("corpus.tsv:6") && out.contains("expected conference_support, got break_fix"),
        "{out}"
    );
    let json = desk.ok(&["rules", "eval", corpus, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v["total"].as_u64(), v["correct"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(v["misses"].as_array().map(Vec::len), Some(1));
    let gated = desk.run(&["rules", "eval", corpus, "--min-accuracy", "80"]);
    assert!(!gated.status.success());
    assert!(String::from_utf8_lossy(&gated.stderr)
        .contains("accuracy 75.0% is below --min-accuracy 80%"));
    assert!(desk
        .run(&["rules", "eval", corpus, "--min-accuracy", "75"])
        .status
        .success());
    // Every category's recall and the emergencies can be gated too, each shortfall named.
    let gated = desk.run(&[
        "rules",
        "eval",
        corpus,
        "--min-recall",
        "50",
        "--min-emergency-precision",
        "100",
    ]);
    assert!(!gated.status.success());
    let stderr = String::from_utf8_lossy(&gated.stderr);
    assert_eq!(
        stderr.trim(),
        "helpdesk: recall of conference_support 0.0% (0 of 1) is below --min-recall 50%",
        "{stderr}"
    );
    let bad = desk.run(&["rules", "eval", corpus, "--min-recall", "150"]);
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("--min-recall 150: expected a percentage from 0 to 100"));
    // --summary keeps the misses of a held-out split out of sight.
    let out = desk.ok(&["rules", "eval", corpus, "--summary"]);
    assert!(out.contains("category   3/4 right (75.0%)"), "{out}");
    assert!(out.contains("conference_support -> break_fix"), "{out}");
    assert!(
        !out.contains("misses") && !out.contains("corpus.tsv:6"),
        "{out}"
    );

    // A directory of .eml files, each with its label beside it.
    let dir = desk.path("mail");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("outage.eml"), fixture("network_outage.eml")).unwrap();
    std::fs::write(dir.join("outage.label"), "break_fix 1\n").unwrap();
    let out = desk.ok(&["rules", "eval", dir.to_str().unwrap()]);
    assert!(
        out.contains("1/1 right (100.0%)") && !out.contains("misses"),
        "{out}"
    );
    std::fs::remove_file(dir.join("outage.label")).unwrap();
    let err = desk.run(&["rules", "eval", dir.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&err.stderr).contains("outage.eml: no label beside it"));

    std::fs::write(&tsv, "break_fix\t1\tno body\n").unwrap();
    let err = desk.run(&["rules", "eval", corpus]);
    assert!(String::from_utf8_lossy(&err.stderr).contains("corpus.tsv:1: 3 field(s)"));
    std::fs::write(&tsv, "printing\t\ts\tb\n").unwrap();
    let err = desk.run(&["rules", "eval", corpus]);
    assert!(String::from_utf8_lossy(&err.stderr).contains("no category \"printing\" in the rules"));
}

/// The repository's corpus stays valid: every line of both splits parses, names a category of
/// the shipped rules, and the splits keep their sizes; the shipped rules keep their scores on the
/// held-out split and their precision linking repeated reports (the CI gates).
#[test]
fn the_shipped_corpus_evaluates() {
    let desk = Desk::new("");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // The held-out split is gated at the figures the issue asked for (README, "Measuring the
    // rules"), so that no change to the rules or the corpus makes them worse.
    let gates = [
        "--min-accuracy",
        "95",
        "--min-recall",
        "85",
        "--min-emergency-precision",
        "95",
    ];
    for (file, n, gated) in [("tune.tsv", 1816, false), ("holdout.tsv", 787, true)] {
        let path = root.join("corpus").join(file);
        let mut args = vec!["rules", "eval", path.to_str().unwrap(), "--json"];
        if gated {
            args.extend(&gates);
        }
        let json = desk.ok(&args);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["total"].as_u64(), Some(n), "{file}");
    }
    // The links between repeated reports on the labelled set (bench/similar/README.md), gated
    // at the precision the issue asked for: a false link costs a technician's attention.
    let set = root.join("bench/similar/cases.tsv");
    let set = set.to_str().unwrap();
    desk.ok(&["rules", "related", set, "--min-precision", "90"]);
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
    let daemon = desk
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
    let (stopped, out) = stop_with_sigterm(daemon);
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

/// A desk that shows times in UTC, with `fixtures` ingested as HD-000001, HD-000002, …
fn desk_with_cases(fixtures: &[&str]) -> Desk {
    let desk = Desk::new("[calendar]\ntimezone = \"UTC\"");
    for (i, name) in fixtures.iter().enumerate() {
        let out = desk.run_with_stdin(&["ingest"], &fixture(name));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("HD-{:06}\n", i + 1),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    desk
}

/// Runs SQL on the desk's SQLite file (the binary is not running), to set the clocks.
fn sql(desk: &Desk, statements: &[String]) {
    let url = format!("sqlite://{}", desk.path("state/helpdesk.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url)
            .await
            .expect("open the desk's database");
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(s.clone()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        pool.close().await;
    });
}

/// `UPDATE cases SET {set} WHERE ticket = 'HD-00000{n}'`, clearing every clock first.
fn set_clocks(n: u32, set: &str) -> String {
    format!(
        "UPDATE cases SET due_at = NULL, warn_at = NULL, breached_at = NULL,
             first_response_due_at = NULL, first_response_at = NULL,
             first_response_breached_at = NULL, close_at = NULL, {set}
         WHERE ticket = 'HD-{n:06}'"
    )
}

fn tickets(list: &serde_json::Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["ticket"].as_str().unwrap())
        .collect()
}

const HOUR_MS: i64 = 3_600_000;

#[test]
fn cases_list_puts_overdue_cases_first_and_filters_them() {
    let desk = desk_with_cases(&[
        "plain.eml",
        "network_outage.eml",
        "conference.eml",
        "attachments.eml",
    ]);
    let now = helpdesk::store::now_ms().0;
    sql(
        &desk,
        &[
            // Due in an hour, already answered.
            set_clocks(
                1,
                &format!("due_at = {}, first_response_at = {now}", now + HOUR_MS),
            ),
            // The resolution target passed an hour ago.
            set_clocks(2, &format!("due_at = {}, team = 'network'", now - HOUR_MS)),
            // Resolved: closes by itself in two days.
            set_clocks(
                3,
                &format!("status = 'resolved', close_at = {}", now + 48 * HOUR_MS),
            ),
            // Nobody answered, and the first response was due two hours ago.
            set_clocks(
                4,
                &format!(
                    "due_at = {}, first_response_due_at = {}",
                    now + 8 * HOUR_MS,
                    now - 2 * HOUR_MS
                ),
            ),
        ],
    );
    let all = desk.json(&["cases", "list"]);
    assert_eq!(
        tickets(&all),
        ["HD-000004", "HD-000002", "HD-000001", "HD-000003"],
        "most overdue first, then by due time, the resolved case last: {all:#}"
    );
    let flags: Vec<(bool, &str)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["overdue"].as_bool().unwrap(), c["due"].as_str().unwrap()))
        .collect();
    assert_eq!(
        flags,
        [
            (true, "first_response"),
            (true, "resolution"),
            (false, "resolution"),
            (false, "closes")
        ]
    );
    assert!(all[0]["due_at"].as_str().unwrap().ends_with('Z'), "{all:#}");

    let overdue = desk.json(&["cases", "list", "--overdue"]);
    assert_eq!(tickets(&overdue), ["HD-000004", "HD-000002"]);
    let network = desk.json(&["cases", "list", "--team", "network"]);
    assert_eq!(tickets(&network), ["HD-000002"]);
    let none = desk.ok(&["cases", "list", "--overdue", "--status", "resolved"]);
    assert_eq!(none, "no overdue cases\n");

    let text = desk.ok(&["cases", "list"]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("DUE"), "{text}");
    assert!(
        lines[1].starts_with("! HD-000004") && lines[1].contains("respond "),
        "{text}"
    );
    assert!(
        lines[2].starts_with("! HD-000002") && lines[2].contains("resolve "),
        "{text}"
    );
    assert!(lines[3].starts_with("  HD-000001"), "{text}");
    assert!(
        lines[4].starts_with("  HD-000003") && lines[4].contains("closes "),
        "{text}"
    );
    assert!(text.contains("! overdue: 2 of 4 cases"), "{text}");
}

#[test]
fn cases_show_prints_the_sla_clocks() {
    let desk = desk_with_cases(&["plain.eml", "network_outage.eml"]);
    let now = helpdesk::store::now_ms().0;
    sql(
        &desk,
        &[
            set_clocks(
                1,
                &format!(
                    "target_secs = 14400, target_clock = '24x7', due_at = {}, \
                     first_response_due_at = {}, first_response_at = {now}",
                    now + HOUR_MS,
                    now + HOUR_MS
                ),
            ),
            set_clocks(
                2,
                &format!(
                    "status = 'pending', target_secs = 86400, target_clock = 'business', \
                     breached_at = {}",
                    now - HOUR_MS
                ),
            ),
        ],
    );
    let text = desk.ok(&["cases", "show", "HD-000001"]);
    assert!(text.contains("  sla        target 4h (24x7)\n"), "{text}");
    assert!(text.contains("  due        "), "{text}");
    assert!(text.contains("  response   answered "), "{text}");
    let pending = desk.ok(&["cases", "show", "HD-000002"]);
    assert!(
        pending.contains("  sla        target 1d (business)\n"),
        "{pending}"
    );
    assert!(
        pending.contains("  due        stopped (pending)\n"),
        "{pending}"
    );
    assert!(pending.contains("  breached   "), "{pending}");
    let shown = desk.json(&["cases", "show", "HD-000002"]);
    assert_eq!(shown["sla"]["target_clock"], "business");
    assert!(shown["sla"]["due_at"].is_null());
    assert!(shown["sla"]["breached_at"].as_str().unwrap().ends_with('Z'));

    sql(&desk, &[set_clocks(2, "target_secs = NULL")]);
    let no_sla = desk.ok(&["cases", "show", "HD-000002"]);
    assert!(no_sla.contains("  sla        no SLA\n"), "{no_sla}");
}

#[test]
fn report_sla_counts_targets_and_medians_per_category_and_priority() {
    let desk = desk_with_cases(&[
        "plain.eml",
        "network_outage.eml",
        "conference.eml",
        "attachments.eml",
    ]);
    // 2026-02-01T00:00:00Z, and one case a year earlier.
    let feb = 1_769_904_000_000_i64;
    let created = |n: u32, at: i64, category: &str, priority: u32| {
        format!(
            "UPDATE cases SET created_at = {at}, category = '{category}', priority = {priority},
                 target_secs = 14400 WHERE ticket = 'HD-{n:06}'"
        )
    };
    sql(
        &desk,
        &[
            created(1, feb, "break_fix", 2),
            created(2, feb, "break_fix", 2),
            created(3, feb, "conference_support", 3),
            created(4, feb - 365 * 24 * HOUR_MS, "break_fix", 2),
            // Met: answered after 20 minutes, resolved after 2 hours.
            set_clocks(
                1,
                &format!(
                    "status = 'resolved', first_response_at = {}, resolved_at = {}",
                    feb + HOUR_MS / 3,
                    feb + 2 * HOUR_MS
                ),
            ),
            // Breached both targets: answered after 6 hours, closed after 2 days 4 hours.
            set_clocks(
                2,
                &format!(
                    "status = 'closed', breached_at = {b}, first_response_breached_at = {b},
                     first_response_at = {}, resolved_at = {}",
                    feb + 6 * HOUR_MS,
                    feb + 52 * HOUR_MS,
                    b = feb + 4 * HOUR_MS
                ),
            ),
            // No SLA, still open.
            set_clocks(3, "target_secs = NULL"),
            set_clocks(4, "status = 'open'"),
        ],
    );
    let report = desk.json(&["report", "sla", "--since", "2026-01-15"]);
    assert_eq!(report["since"], "2026-01-15T00:00:00Z");
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{report:#}");
    let bf = &groups[0];
    assert_eq!(
        (bf["category"].as_str(), bf["priority"].as_i64()),
        (Some("break_fix"), Some(2))
    );
    for (key, value) in [
        ("cases", 2),
        ("met", 1),
        ("breached", 1),
        ("open", 0),
        ("no_sla", 0),
        ("first_response_met", 1),
        ("first_response_breached", 1),
        ("median_first_response_secs", 11_400),
        ("median_resolution_secs", 97_200),
    ] {
        assert_eq!(bf[key], value, "{key}: {report:#}");
    }
    assert_eq!(groups[1]["category"], "conference_support");
    assert_eq!(
        (groups[1]["cases"].as_i64(), groups[1]["no_sla"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["total"]["cases"], 3);

    let all = desk.json(&["report", "sla"]);
    assert!(all["since"].is_null());
    assert_eq!(
        (
            all["total"]["cases"].as_i64(),
            all["total"]["open"].as_i64()
        ),
        (Some(4), Some(1))
    );

    let text = desk.ok(&["report", "sla", "--since", "2026-01-15"]);
    assert!(
        text.starts_with("cases created since 2026-01-15 (UTC)\n"),
        "{text}"
    );
    let header = text.lines().nth(1).unwrap();
    for column in [
        "CATEGORY",
        "PRI",
        "CASES",
        "MET",
        "BREACHED",
        "OPEN",
        "NO SLA",
        "FIRST RESPONSE",
        "RESOLUTION",
    ] {
        assert!(header.contains(column), "{column}: {text}");
    }
    let break_fix = text.lines().find(|l| l.starts_with("break_fix")).unwrap();
    // Medians: (20m + 6h) / 2 = 3h 10m; (2h + 2d 4h) / 2 = 1d 3h.
    assert!(
        break_fix.contains("3h 10m") && break_fix.ends_with("1d 3h"),
        "{text}"
    );
    assert!(text.lines().last().unwrap().starts_with("TOTAL"), "{text}");
    assert_eq!(
        desk.ok(&["report", "sla", "--since", "2099-01-01"]),
        "cases created since 2099-01-01 (UTC)\nno cases\n"
    );
}

#[test]
fn report_sla_refuses_a_since_that_is_not_a_date() {
    let desk = Desk::new("");
    for bad in ["31.01.2026", "2026-02-30", "last week"] {
        let out = desk.run(&["report", "sla", "--since", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: a usage error");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--since") && err.contains("expected a date YYYY-MM-DD"),
            "{err}"
        );
    }
}

#[test]
fn cases_status_runs_the_status_machine_and_refusals_change_nothing() {
    let desk = Desk::new("");
    assert_eq!(
        desk.ok(&["ingest", "--file", fixture_path("plain.eml").as_str()]),
        "HD-000001\n"
    );
    let refused = |args: &[&str], hint: &str| {
        let out = desk.run(args);
        assert!(!out.status.success(), "{args:?} should be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("refused, nothing changed") && err.contains(hint),
            "{err}"
        );
    };
    let status = || desk.json(&["cases", "show", "HD-000001"])["case"]["status"].clone();
    refused(&["cases", "status", "HD-000001", "closed"], "/resolve");
    refused(&["cases", "reopen", "HD-000001"], "resolved or closed");
    assert_eq!(status(), "open");
    let out = desk.run(&["cases", "status", "HD-000001", "pending"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("pending needs a reason"));
    assert_eq!(
        desk.ok(&[
            "cases",
            "status",
            "HD-000001",
            "pending",
            "vendor",
            "part",
            "ordered"
        ]),
        "HD-000001: pending\n"
    );
    assert_eq!(
        desk.ok(&["cases", "resolve", "HD-000001", "Replaced", "the", "toner."]),
        "HD-000001: resolved; the customer's notice is in the outbox\n"
    );
    let notice: Vec<serde_json::Value> = desk.json(&["outbox", "list"]).as_array().unwrap().clone();
    assert!(
        notice.iter().any(|m| m["template"] == "resolution_notice"),
        "{notice:?}"
    );
    refused(&["cases", "status", "HD-000001", "in_progress"], "/reopen");
    refused(&["cases", "resolve", "HD-000001"], "already resolved");
    assert_eq!(
        desk.ok(&["cases", "reopen", "HD-000001"]),
        "HD-000001: in_progress; the customer's notice is in the outbox\n"
    );
    let out = desk.run(&["cases", "resolve", "HD-999999"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no case HD-999999"));
}

fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/mail/{name}", env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------- check against real servers
//
// `helpdesk check` step by step against the shared Dovecot + Postfix stack. Every user of the
// stack receives mail in some other test, so these only log in as `support13` (or fail to) and
// never send or receive: EXAMINE is read-only and AUTH sends nothing.

/// The user these checks log in as.
const CHECK_USER: &str = "support13";

/// A live desk for `support13` whose config text `edit` rewrites; its `check` output and whether
/// it passed.
fn live_check(
    tls: crate::live::Tls,
    inbound_extra: &str,
    edit: impl Fn(String) -> String,
) -> Option<(String, bool)> {
    let stack = crate::stack::shared()?;
    let desk = crate::live::LiveDesk::new(
        stack,
        CHECK_USER,
        crate::live::Options {
            imap_tls: Some(tls),
            smtp_tls: Some(tls),
            inbound_extra,
            ..crate::live::Options::default()
        },
    );
    let config = std::fs::read_to_string(&desk.desk.config).unwrap();
    std::fs::write(&desk.desk.config, edit(config)).unwrap();
    let started = std::time::Instant::now();
    let out = desk.desk.run(&["check"]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "check took {:?}",
        started.elapsed()
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some((text, out.status.success()))
}

/// The line of `what` (`inbound`, `outbound`) and its hint line, if any.
fn check_line(text: &str, what: &str) -> String {
    let mut lines = text.lines().skip_while(|l| {
        !(l.starts_with("ok") || l.starts_with("FAILED")) || !l[8..].starts_with(what)
    });
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {what} line: {text}"));
    match lines.next() {
        Some(hint) if hint.trim_start().starts_with("hint:") => format!("{first}\n{hint}"),
        _ => first.to_owned(),
    }
}

/// Replaces the `port = …` line of the `[section]` table.
fn with_port(config: &str, section: &str, port: u16) -> String {
    let table = format!("[{section}]");
    let mut inside = false;
    config
        .lines()
        .map(|l| {
            if l.starts_with('[') {
                inside = l == table;
            }
            if inside && l.starts_with("port = ") {
                format!("port = {port}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn check_passes_against_the_real_servers_with_starttls_and_implicit_tls() {
    use crate::live::Tls;
    for tls in [Tls::Starttls, Tls::Implicit] {
        let extra = "processed_folder = \"NotCreatedByCheck\"";
        let Some((text, passed)) = live_check(tls, extra, |c| c) else {
            return;
        };
        assert!(passed, "{text}");
        let inbound = check_line(&text, "inbound");
        assert!(
            inbound.starts_with("ok")
                && inbound.contains("logged in as support13, INBOX holds")
                && inbound.contains("IDLE")
                && inbound.contains("processed folder NotCreatedByCheck does not exist yet"),
            "{inbound}"
        );
        let outbound = check_line(&text, "outbound");
        assert!(
            outbound.starts_with("ok")
                && outbound.contains("offers")
                && outbound.contains("logged in as support13"),
            "{outbound}"
        );
        if matches!(tls, Tls::Starttls) {
            assert!(outbound.contains("STARTTLS done"), "{outbound}");
        }
    }
}

#[test]
fn check_names_the_login_when_the_password_is_wrong() {
    let edit = |c: String| c.replace("password = \"support13pw\"", "password = \"wrong\"");
    let Some((text, passed)) = live_check(crate::live::Tls::Starttls, "", edit) else {
        return;
    };
    assert!(!passed, "{text}");
    let inbound = check_line(&text, "inbound");
    assert!(
        inbound.starts_with("FAILED")
            && inbound.contains("login as \"support13\" refused")
            && inbound.contains("hint: check inbound.username and inbound.password"),
        "{inbound}"
    );
    let outbound = check_line(&text, "outbound");
    assert!(
        outbound.starts_with("FAILED")
            && outbound.contains("login as \"support13\" refused")
            && outbound.contains("hint: check outbound.username and outbound.password"),
        "{outbound}"
    );
}

#[test]
fn check_names_a_missing_folder() {
    let extra = "folder = \"NoSuchFolder\"";
    let Some((text, passed)) = live_check(crate::live::Tls::None, extra, |c| c) else {
        return;
    };
    assert!(!passed, "{text}");
    let inbound = check_line(&text, "inbound");
    assert!(
        inbound.starts_with("FAILED")
            && inbound.contains("folder \"NoSuchFolder\" cannot be opened")
            && inbound.contains("fix inbound.folder"),
        "{inbound}"
    );
    assert!(check_line(&text, "outbound").starts_with("ok"), "{text}");
}

#[test]
fn check_gives_the_connection_hint_for_a_closed_port() {
    let (imap, smtp) = (closed_port(), closed_port());
    let edit = |c: String| with_port(&with_port(&c, "inbound", imap), "outbound", smtp);
    let Some((text, passed)) = live_check(crate::live::Tls::None, "", edit) else {
        return;
    };
    assert!(!passed, "{text}");
    for (what, port) in [("inbound", imap), ("outbound", smtp)] {
        let line = check_line(&text, what);
        assert!(
            line.starts_with("FAILED")
                && line.contains(&format!("localhost:{port}: connection refused"))
                && line.contains(&format!("hint: nothing listens on port {port}"))
                && line.contains(&format!("{what}.host and {what}.port"))
                && line.contains("firewall"),
            "{line}"
        );
    }
}

#[test]
fn check_gives_the_tls_hint_for_tls_to_a_plain_port() {
    let Some(stack) = crate::stack::shared() else {
        return;
    };
    // STARTTLS ports (IMAP 143-style, submission) spoken to with TLS from the first byte.
    let (imap, submission) = (stack.imap_port, stack.submission_port);
    let edit = |c: String| with_port(&with_port(&c, "inbound", imap), "outbound", submission);
    let Some((text, passed)) = live_check(crate::live::Tls::Implicit, "", edit) else {
        return;
    };
    assert!(!passed, "{text}");
    for (what, port, tls_port) in [("inbound", imap, 993), ("outbound", submission, 465)] {
        let line = check_line(&text, what);
        assert!(
            line.starts_with("FAILED")
                && line.contains(&format!("the server does not speak TLS on port {port}"))
                && line.contains(&format!(
                    "hint: port {port} speaks plain text first: use security = \"starttls\" there, \
                     or port {tls_port} (implicit TLS) with security = \"tls\""
                )),
            "{line}"
        );
    }
}

/// Runs the binary on `desk` under the usual umask 022, so only helpdesk's own choice of modes
/// can make what it creates private.
fn run_under_umask_022(desk: &Desk, args: &[&str], stdin: &[u8]) -> String {
    use std::io::Write;
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_helpdesk"))
        .arg("--config")
        .arg(&desk.config)
        .args(args)
        .env_remove("HELPDESK_LOG")
        .env_remove("RUST_LOG")
        .env("HELPDESK_SLA__DIGEST", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run helpdesk");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "helpdesk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    meta.permissions().mode() & 0o777
}

/// Asserts the database (and SQLite's companion files, where they remain) is 0600 in a 0700
/// directory.
fn assert_private_database(desk: &Desk, first: &str) {
    assert_eq!(mode(&desk.path("state")), 0o700, "state/ after {first}");
    for file in ["helpdesk.db", "helpdesk.db-wal", "helpdesk.db-shm"] {
        let path = desk.path("state").join(file);
        if file == "helpdesk.db" || path.exists() {
            assert_eq!(mode(&path), 0o600, "{file} after {first}");
        }
    }
}

/// Every command creates what holds mail private, whatever the umask: `ingest` (as an MTA
/// runs it), `import` and `run --once` each as the first command on a new desk; then the
/// Maildir `run` creates, the outbox directory and its mail.
#[test]
fn database_maildir_and_outbox_are_created_private_by_every_command() {
    let desk = Desk::new("");
    let out = run_under_umask_022(&desk, &["ingest"], &fixture("plain.eml"));
    assert!(out.starts_with("HD-000001"), "{out}");
    assert_private_database(&desk, "ingest");

    let desk = Desk::new("");
    let mbox = desk.path("backlog.mbox");
    let mut text = b"From customer@example.test Mon Dec  7 10:00:00 2026\n".to_vec();
    text.extend_from_slice(&fixture("plain.eml"));
    std::fs::write(&mbox, text).unwrap();
    run_under_umask_022(&desk, &["import", "mbox", mbox.to_str().unwrap()], b"");
    assert_private_database(&desk, "import");

    let desk = Desk::new("");
    run_under_umask_022(&desk, &["run", "--once"], b"");
    assert_private_database(&desk, "run --once");
    for dir in ["Maildir", "Maildir/new", "Maildir/cur", "Maildir/tmp"] {
        assert_eq!(mode(&desk.path(dir)), 0o700, "{dir}");
    }
    desk.deliver("plain.eml", &fixture("plain.eml"));
    let summary = run_under_umask_022(&desk, &["run", "--once"], b"");
    assert!(summary.starts_with("created 1,"), "{summary}");
    assert_eq!(mode(&desk.path("outbox")), 0o700, "outbox/");
    let mails = desk.files("outbox");
    assert!(!mails.is_empty());
    for mail in mails {
        assert_eq!(mode(&mail), 0o600, "{}", mail.display());
    }
}

/// With `kind = "stdin"` the daemon watches no mailbox: `helpdesk ingest` stores the mail and
/// the running daemon delivers its acknowledgment.
#[test]
fn a_stdin_fed_daemon_delivers_what_ingest_stored() {
    let desk = Desk::new("");
    let config = std::fs::read_to_string(&desk.config).unwrap().replace(
        "kind = \"maildir\"\npath = \"Maildir\"\npoll_interval = \"1s\"",
        "kind = \"stdin\"\npoll_interval = \"200ms\"",
    );
    assert!(config.contains("kind = \"stdin\""), "{config}");
    std::fs::write(&desk.config, config).unwrap();
    let daemon = desk
        .command(&["run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = desk.run_with_stdin(&["ingest"], &fixture("plain.eml"));
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let delivered = wait_until(Duration::from_secs(30), || !desk.files("outbox").is_empty());
    let (stopped, out) = stop_with_sigterm(daemon);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(delivered, "no acknowledgment was written; log:\n{log}");
    assert!(stopped, "the daemon did not stop on SIGTERM; log:\n{log}");
    assert!(out.status.success(), "{:?}; log:\n{log}", out.status);
    assert!(log.contains("stdin (helpdesk ingest)"), "{log}");
    assert!(!desk.path("Maildir").exists(), "no Maildir is created");
}

/// Sends SIGTERM and waits up to 40 s for the daemon to exit (killing it after that): whether
/// it stopped by itself, and its output.
fn stop_with_sigterm(mut daemon: std::process::Child) -> (bool, std::process::Output) {
    // If kill fails, the daemon keeps running and the caller's `stopped` assertion reports it.
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
    (stopped, daemon.wait_with_output().unwrap())
}
