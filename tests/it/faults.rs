//! Faults the daemon must ride out without losing mail: here, a full disk under the database.
//! The database lives on a small tmpfs the test mounts (root only: CI runs as root; elsewhere the
//! test says it is skipped, and under `CI=true` a mount that fails is a failure).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{fixture, wait_until, Desk};

/// A tmpfs of `size` at `dir`, unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(dir.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The message `plain.eml` made unique by `n` and padded so the database grows.
fn message(n: usize) -> String {
    let text = String::from_utf8(fixture("plain.eml")).unwrap();
    let padding: String = (0..200)
        .map(|i| format!("line {i} of message {n}: the quick brown fox jumps over the lazy dog\n"))
        .collect();
    text.replacen("Message-ID: <", &format!("Message-ID: <disk{n}."), 1)
        .replacen("Subject: ", &format!("Subject: disk {n} "), 1)
        + &padding
}

/// Issue 12: a full disk under the database gives a clear log line, loses nothing (no message is
/// quarantined or taken twice), and intake resumes by itself when space returns.
#[test]
fn a_full_disk_under_the_database_loses_nothing_and_intake_resumes() {
    let desk = Desk::new("auto_reply_limit = 1000\nauto_reply_global_limit = 100000");
    let Some(_disk) = SmallDisk::mount(&desk.path("state"), "8m") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI=true: cannot mount a tmpfs (this test needs root)"
        );
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let log = desk.path("daemon.log");
    let mut daemon = desk
        .command(&["run"])
        .env(
            "HELPDESK_LOG",
            std::env::var("FAULTS_LOG").unwrap_or("info".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(30), || desk
            .path("Maildir/new")
            .is_dir()),
        "daemon did not start: {}",
        log_text()
    );
    let cases = |desk: &Desk| {
        desk.json(&["cases", "list", "--all"])
            .as_array()
            .unwrap()
            .len()
    };
    for n in 0..3 {
        desk.deliver(&format!("{n}.a"), message(n).as_bytes());
    }
    assert!(
        wait_until(Duration::from_secs(30), || desk
            .files("Maildir/new")
            .is_empty()),
        "{}",
        log_text()
    );
    // Fill the disk to the last byte.
    let filler = desk.path("state/filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 64 << 10];
    while std::io::Write::write_all(&mut f, &block).is_ok() {}
    let _ = std::io::Write::write_all(&mut f, &[0u8; 1]);
    drop(f);
    let total = 40;
    for n in 3..total {
        desk.deliver(&format!("{n}.a"), message(n).as_bytes());
    }
    assert!(
        wait_until(Duration::from_secs(30), || log_text()
            .contains("the disk under the database is full")),
        "no clear log line: {}",
        log_text()
    );
    assert!(!desk.files("Maildir/new").is_empty(), "mail waits in new/");
    // Space returns: everything is taken in, once.
    std::fs::remove_file(&filler).unwrap();
    let all_in = wait_until(Duration::from_secs(60), || {
        desk.files("Maildir/new").is_empty() && cases(&desk) == total
    });
    let _ = daemon.kill();
    let _ = daemon.wait();
    let text = log_text();
    assert!(all_in, "{} cases of {total}; log:\n{text}", cases(&desk));
    assert_eq!(desk.files("Maildir/cur").len(), total);
    let quarantined = desk.json(&["quarantine", "list"]);
    assert_eq!(
        quarantined.as_array().map(Vec::len),
        Some(0),
        "{quarantined}"
    );
    assert!(
        !text.contains("quarantin"),
        "nothing is quarantined for a full disk:\n{text}"
    );
}
