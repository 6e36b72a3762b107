//! Messages that kill or stall the worker, or are too large to read: each ends in the
//! quarantine with its reason, and the messages after it are taken in.

use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{fixture, wait_until, Desk};

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
    assert_poison_quarantined_and_plain_taken_in(&desk, "maildir:1.poison");
}

/// The poison message is the one quarantined, as poison; the plain one is the one case.
fn assert_poison_quarantined_and_plain_taken_in(desk: &Desk, origin: &str) {
    let q = desk.json(&["quarantine", "list"]);
    let q = q.as_array().unwrap();
    assert_eq!(q.len(), 1);
    let reason = q[0]["error"].as_str().unwrap();
    assert!(
        reason.starts_with("stalled or crashed the worker twice"),
        "{reason}"
    );
    assert_eq!(q[0]["origin"], origin);
    let cases = desk.json(&["cases", "list"]);
    assert_eq!(cases.as_array().unwrap().len(), 1);
    assert_eq!(cases[0]["subject"], "Printer on 2nd floor not working");
}

/// How systemd supervises the daemon (`WatchdogSec=`, `Restart=`), done by the test: starts
/// `helpdesk run` with a notification socket and a 2 s watchdog, and when no `WATCHDOG=1` has
/// arrived for 2 s after `READY=1`, kills it with SIGABRT (systemd's watchdog signal) and
/// starts it again. Returns how many times it had to, once `done` holds of the desk (then the
/// daemon is stopped with SIGTERM), or after `starts` starts.
fn supervise(desk: &Desk, stall_on: &str, starts: usize, done: impl Fn() -> bool) -> usize {
    const WATCHDOG: Duration = Duration::from_secs(2);
    let path = desk.path("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = || -> Child {
        let mut cmd: Command = desk.command(&["run"]);
        cmd.env("HELPDESK_TEST_STALL_ON_SUBJECT", stall_on)
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", WATCHDOG.as_micros().to_string())
            .env_remove("WATCHDOG_PID")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.spawn().expect("spawn helpdesk run")
    };
    let mut kills = 0;
    for _ in 0..starts {
        let mut child = start();
        let started = Instant::now();
        let mut ready = false;
        let mut last_sign = Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(n) = socket.recv(&mut buf) {
                let said = String::from_utf8_lossy(&buf[..n]);
                ready |= said.contains("READY=1");
                if said.contains("WATCHDOG=1") || said.contains("READY=1") {
                    last_sign = Instant::now();
                }
            }
            if ready && done() {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let status = child.wait().unwrap();
                assert!(status.success(), "the daemon stopped with {status:?}");
                return kills;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the daemon exited by itself"
            );
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("the daemon neither finished nor stalled within 60 s");
            }
            if ready && last_sign.elapsed() > WATCHDOG {
                let _ = Command::new("kill")
                    .args(["-ABRT", &child.id().to_string()])
                    .status();
                child.wait().unwrap();
                kills += 1;
                break;
            }
        }
    }
    kills
}

/// A message that stalls the parser without crashing it: the intake task stops beating, so
/// the watchdog pings stop and the supervisor (systemd, here the test) kills the daemon. After
/// the second such death the message is quarantined and the messages after it are taken in;
/// the daemon then keeps its watchdog fed.
#[test]
fn a_message_that_stalls_the_worker_twice_is_quarantined_under_the_watchdog() {
    let desk = Desk::new("");
    desk.deliver(
        "1.stall",
        POISON
            .replace("Poison pill", "Stalls the parser")
            .as_bytes(),
    );
    desk.deliver("2.plain", &fixture("plain.eml"));
    // How many rows `helpdesk LIST list` shows (0 while the database is busy or missing).
    let listed = |list: &str| {
        desk.command(&[list, "list", "--json"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0)
    };
    let kills = supervise(&desk, "Stalls the parser", 4, || {
        listed("quarantine") == 1 && listed("cases") == 1
    });
    assert_eq!(kills, 2, "the watchdog killed the daemon {kills} times");
    assert_poison_quarantined_and_plain_taken_in(&desk, "maildir:1.stall");
    assert!(wait_until(Duration::from_secs(1), || desk
        .files("Maildir/new")
        .is_empty()));
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

/// `helpdesk ingest` (an MTA's pipe, or `--file`) and `helpdesk import maildir` never hold a
/// message over `max_message_size` whole: its first 64 KiB go to the quarantine with its size.
#[test]
fn ingest_and_import_quarantine_an_oversized_message_from_its_head() {
    let desk = Desk::new("");
    let mut big = fixture("plain.eml");
    big.extend(std::iter::repeat_n(b'x', 3 << 20));
    let size = big.len();
    let limited = |args: &[&str]| {
        let mut cmd = desk.command(args);
        cmd.env("HELPDESK_INBOUND__MAX_MESSAGE_SIZE", "1MiB");
        cmd
    };
    let expected = format!("quarantined: message of {size} bytes is larger than inbound.max_message_size (1048576 bytes); only its first 65536 bytes were read");
    // From a pipe: the whole message is taken off the pipe, only its head is kept.
    let mut child = limited(&["ingest"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = {
        let big = big.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            stdin.write_all(&big)
        })
    };
    let out = child.wait_with_output().unwrap();
    writer
        .join()
        .unwrap()
        .expect("the whole message was read off the pipe");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.starts_with(&expected), "{said}");
    // From a file.
    let file = desk.path("big.eml");
    std::fs::write(&file, &big).unwrap();
    let out = limited(&["ingest", "--file", file.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with(&expected), "{said}");
    // From a Maildir backup, beside a message within the limit.
    let backup = desk.path("backup");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(backup.join(sub)).unwrap();
    }
    std::fs::write(backup.join("cur/1.big"), &big).unwrap();
    std::fs::write(backup.join("cur/2.ok"), fixture("network_outage.eml")).unwrap();
    let out = limited(&["import", "maildir", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q = desk.json(&["quarantine", "list"]);
    let q = q.as_array().unwrap();
    // The pipe, the file and the backup hold the same message: its head is quarantined once
    // (the quarantine keeps one row per content).
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0]["size"], 65536, "only the head is kept");
    assert_eq!(desk.json(&["cases", "list"]).as_array().unwrap().len(), 1);
}
