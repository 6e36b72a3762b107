//! `helpdesk import`: a backlog from an mbox file or a Maildir backup becomes cases without
//! mail (or with acknowledgments only, when asked); importing again finds only duplicates.

use std::path::{Path, PathBuf};

use crate::util::{fixture, Desk, ALL_FIXTURES};

/// A message whose body has lines an mbox writer must escape.
const FROM_LINES: &[u8] = b"From: Dana <dana@customer.example.test>\n\
To: support@example.test\n\
Subject: Printer on floor 2 jams\n\
Message-ID: <from-lines.1@customer.example.test>\n\
Date: Mon, 12 Jan 2026 09:00:00 +0000\n\
\n\
The printer jams on every job.\n\
\n\
From the second floor, Dana\n\
>From a quoted line\n";

/// `messages` as an mboxrd file: a `From ` line before each, `>` added to every `>*From `
/// line, a blank line after each.
fn mboxrd(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(b"From someone@example.test Mon Jan 12 09:00:00 2026\n");
        for line in m.split_inclusive(|&b| b == b'\n') {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if line[quotes..].starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        if !m.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out
}

fn all_messages() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = ALL_FIXTURES.iter().map(|f| fixture(f)).collect();
    all.push(FROM_LINES.to_vec());
    all
}

fn write_mbox(desk: &Desk) -> PathBuf {
    let path = desk.path("backlog.mbox");
    std::fs::write(&path, mboxrd(&all_messages())).unwrap();
    path
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn count(desk: &Desk, args: &[&str]) -> usize {
    desk.json(args).as_array().expect("a JSON list").len()
}

#[test]
fn import_mbox_creates_cases_without_mail_and_a_second_run_finds_duplicates() {
    let desk = Desk::new("");
    let mbox = write_mbox(&desk);
    let mbox = mbox.to_str().unwrap();
    let out = stdout(&desk.run(&["import", "mbox", mbox]));
    assert_eq!(
        out,
        "imported 22: created 18, joined 1, duplicates 0, quarantined 3\n"
    );
    assert_eq!(count(&desk, &["cases", "list"]), 18);
    assert_eq!(
        count(&desk, &["outbox", "list"]),
        0,
        "no mail for old messages"
    );
    assert_eq!(count(&desk, &["quarantine", "list"]), 3);

    // The origin names the file and the message's place in it; escaped lines are restored.
    let quarantine = desk.json(&["quarantine", "list"]);
    let origins: Vec<&str> = quarantine
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["origin"].as_str().unwrap())
        .collect();
    assert!(
        origins.contains(&format!("mbox:{mbox}#15").as_str()),
        "{origins:?}"
    );
    let list = desk.json(&["cases", "list"]);
    let printer = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "Printer on floor 2 jams")
        .expect("the case of the message with From lines");
    let ticket = printer["ticket"].as_str().unwrap();
    let shown = desk.ok(&["cases", "show", ticket]);
    assert!(
        shown.contains("\nFrom the second floor, Dana\n>From a quoted line\n"),
        "{shown}"
    );
    assert!(
        shown.contains("imported: no mail for old messages"),
        "{shown}"
    );

    let again = stdout(&desk.run(&["import", "mbox", mbox]));
    assert_eq!(
        again,
        "imported 22: created 0, joined 0, duplicates 22, quarantined 0\n"
    );
    assert_eq!(count(&desk, &["cases", "list"]), 18);
    assert_eq!(count(&desk, &["quarantine", "list"]), 3);
    assert_eq!(count(&desk, &["outbox", "list"]), 0);
}

#[test]
fn import_with_acknowledge_queues_only_the_acknowledgments() {
    let desk = Desk::new("");
    let mbox = write_mbox(&desk);
    let out = stdout(&desk.run(&["import", "mbox", mbox.to_str().unwrap(), "--acknowledge"]));
    assert!(out.starts_with("imported 22: created 18,"), "{out}");
    let outbox = desk.json(&["outbox", "list"]);
    let rows = outbox.as_array().unwrap();
    assert!(!rows.is_empty(), "acknowledgments are queued");
    for row in rows {
        assert!(
            row["template"]
                .as_str()
                .unwrap()
                .ends_with("acknowledgment"),
            "only acknowledgments go out: {row}"
        );
        assert_eq!(row["status"], "pending");
    }
    let mut tickets: Vec<&str> = rows.iter().map(|r| r["ticket"].as_str().unwrap()).collect();
    tickets.dedup();
    assert_eq!(tickets.len(), rows.len(), "one acknowledgment per case");
    // Auto-replies and list mail are not acknowledged even then (no reply loops).
    assert!(rows.len() < 18, "{}", rows.len());
}

#[test]
fn import_maildir_backup_reads_new_and_cur_in_place() {
    let desk = Desk::new("");
    let backup = desk.path("backup");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(backup.join(sub)).unwrap();
    }
    let files = [
        ("new", "1700000001.M1.host", "plain.eml"),
        ("cur", "1700000002.M2.host:2,S", "network_outage.eml"),
        (
            "cur",
            "1700000003.M3.host:2,RS",
            "reply_with_references.eml",
        ),
        ("tmp", "1700000004.M4.host", "conference.eml"),
        ("new", ".hidden", "conference.eml"),
    ];
    for (sub, name, fixture_name) in files {
        std::fs::write(backup.join(sub).join(name), fixture(fixture_name)).unwrap();
    }
    let dir = backup.to_str().unwrap();
    let out = stdout(&desk.run(&["import", "maildir", dir]));
    assert_eq!(
        out, "imported 3: created 2, joined 1, duplicates 0, quarantined 0\n",
        "tmp/ and hidden files are not mail"
    );
    assert_eq!(count(&desk, &["outbox", "list"]), 0);
    for (sub, name, _) in files {
        assert!(
            backup.join(sub).join(name).is_file(),
            "{sub}/{name} stays where it was"
        );
    }
    let list = desk.json(&["cases", "list"]);
    let outage = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["priority"] == 1)
        .expect("the outage case");
    let shown = desk.ok(&["cases", "show", outage["ticket"].as_str().unwrap()]);
    let origin = format!(
        "via maildir:{}",
        Path::new(dir).join("cur/1700000002.M2.host:2,S").display()
    );
    assert!(shown.contains(&origin), "{origin}: {shown}");

    let again = stdout(&desk.run(&["import", "maildir", dir]));
    assert_eq!(
        again,
        "imported 3: created 0, joined 0, duplicates 3, quarantined 0\n"
    );
}

#[test]
fn import_of_an_unreadable_backlog_fails_with_a_clear_error() {
    let desk = Desk::new("");
    std::fs::write(desk.path("notes.txt"), "Subject: not an mbox\n\nhello\n").unwrap();
    std::fs::create_dir_all(desk.path("empty-dir")).unwrap();
    let cases = [
        (
            vec!["import", "mbox", "missing.mbox"],
            "cannot read the mbox file missing.mbox: No such file",
        ),
        (
            vec!["import", "mbox", "notes.txt"],
            "not an mbox file: it does not start with a \"From \" line",
        ),
        (vec!["import", "mbox", "empty-dir"], "is not a file"),
        (
            vec!["import", "maildir", "empty-dir"],
            "is not a Maildir: it has neither new/ nor cur/",
        ),
        (
            vec!["import", "maildir", "missing"],
            "cannot read the Maildir missing",
        ),
    ];
    for (args, expected) in cases {
        let out = desk
            .command(&args)
            .current_dir(desk.dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert!(
        !desk.path("state/helpdesk.db").exists(),
        "the backlog is checked before the database is touched"
    );
}

#[test]
fn import_exits_75_while_the_database_is_locked_and_a_rerun_resumes() {
    let desk = Desk::new("");
    let all = all_messages();
    let first = desk.path("first.mbox");
    std::fs::write(&first, mboxrd(&all[..5])).unwrap();
    let out = stdout(&desk.run(&["import", "mbox", first.to_str().unwrap()]));
    assert_eq!(
        out,
        "imported 5: created 5, joined 0, duplicates 0, quarantined 0\n"
    );
    let mbox = write_mbox(&desk);
    let mbox = mbox.to_str().unwrap();

    // Another writer holds the SQLite write lock while the import runs.
    let url = format!("sqlite://{}", desk.path("state/helpdesk.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(async {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut lock = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut lock)
            .await
            .unwrap();
        let out = desk.run(&["import", "mbox", mbox]);
        sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
        lock.close().await.unwrap();
        out
    });
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "EX_TEMPFAIL: {err}");
    assert!(
        err.contains("the import stopped after 0 message(s)")
            && err.contains("run the same import again to resume"),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "imported 0: created 0, joined 0, duplicates 0, quarantined 0\n"
    );

    let out = stdout(&desk.run(&["import", "mbox", mbox]));
    assert_eq!(
        out,
        "imported 22: created 13, joined 1, duplicates 5, quarantined 3\n"
    );
    assert_eq!(count(&desk, &["outbox", "list"]), 0);
}
