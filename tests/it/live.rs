//! The real binary against real mail servers: Dovecot (IMAP) and Postfix (SMTP) on loopback,
//! started by [`crate::stack`]. Each test uses its own support and customer mailboxes, so tests
//! sharing a stack do not see each other's mail; tests that restart a server get a private one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::stack::{self, Stack};
use crate::util::{wait_until, Desk};

/// How the daemon reaches a server in a test config.
#[derive(Clone, Copy)]
pub(crate) enum Tls {
    /// Plain text (loopback only).
    None,
    /// STARTTLS, trusting the stack's CA.
    Starttls,
    /// Implicit TLS, trusting the stack's CA.
    Implicit,
}

/// A help desk whose mailbox is `support` on the stack and whose mail goes out via the stack.
pub(crate) struct LiveDesk {
    pub(crate) desk: Desk,
    stderr: PathBuf,
}

/// Extra config lines.
#[derive(Default)]
pub(crate) struct Options<'a> {
    pub(crate) imap_tls: Option<Tls>,
    pub(crate) smtp_tls: Option<Tls>,
    pub(crate) helpdesk_extra: &'a str,
    pub(crate) inbound_extra: &'a str,
    /// Also where `[teams.*]` tables go: they follow the last section.
    pub(crate) outbound_extra: &'a str,
    /// Replaces the SMTP port (a closed one simulates an outage).
    pub(crate) smtp_port: Option<u16>,
    pub(crate) trust_ca: Option<bool>,
    /// Replaces the IMAP `[inbound]` keys (e.g. `kind = "lmtp"` and its `listen`).
    pub(crate) inbound: Option<&'a str>,
}

impl LiveDesk {
    pub(crate) fn new(stack: &Stack, support: &str, o: Options<'_>) -> LiveDesk {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("helpdesk.toml");
        let ca = stack.ca_cert.display().to_string();
        let trust = if o.trust_ca.unwrap_or(true) {
            format!("ca_file = \"{ca}\"\n")
        } else {
            String::new()
        };
        let (imap_port, imap_security) = match o.imap_tls.unwrap_or(Tls::None) {
            Tls::None => (stack.imap_port, "none"),
            Tls::Starttls => (stack.imap_port, "starttls"),
            Tls::Implicit => (stack.imaps_port, "tls"),
        };
        let (smtp_port, smtp_security, smtp_login) = match o.smtp_tls.unwrap_or(Tls::None) {
            // The MX-style port takes mail for example.test from loopback without login.
            Tls::None => (stack.smtp_port, "none", String::new()),
            Tls::Starttls => (
                stack.submission_port,
                "starttls",
                format!("username = \"{support}\"\npassword = \"{support}pw\"\n"),
            ),
            Tls::Implicit => (
                stack.smtps_port,
                "tls",
                format!("username = \"{support}\"\npassword = \"{support}pw\"\n"),
            ),
        };
        let smtp_port = o.smtp_port.unwrap_or(smtp_port);
        let inbound = match o.inbound {
            Some(keys) => keys.to_owned(),
            None => format!(
                "kind = \"imap\"\nhost = \"localhost\"\nport = {imap_port}\n\
                 security = \"{imap_security}\"\nusername = \"{support}\"\n\
                 password = \"{support}pw\"\n{trust}"
            ),
        };
        let mut text = String::new();
        write!(
            text,
            r#"[helpdesk]
address = "{support}@example.test"
name = "IT Service Desk"
technicians = ["tech@example.test"]
{helpdesk_extra}
[database]
url = "sqlite:state/helpdesk.db"
[inbound]
{inbound}{inbound_extra}
[outbound]
kind = "smtp"
host = "localhost"
port = {smtp_port}
security = "{smtp_security}"
{smtp_login}{trust}{outbound_extra}
"#,
            helpdesk_extra = o.helpdesk_extra,
            inbound_extra = o.inbound_extra,
            outbound_extra = o.outbound_extra,
        )
        .unwrap();
        std::fs::write(&config, text).expect("write config");
        let stderr = dir.path().join("daemon.log");
        LiveDesk {
            desk: Desk { dir, config },
            stderr,
        }
    }

    /// `helpdesk run` in the background, its log in `daemon.log`.
    pub(crate) fn start(&self) -> Daemon {
        let log = std::fs::File::create(&self.stderr).expect("log file");
        let child = self
            .desk
            .command(&["run"])
            .env("HELPDESK_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn helpdesk run");
        Daemon {
            child,
            log: self.stderr.clone(),
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub(crate) fn cases(&self) -> Vec<serde_json::Value> {
        self.desk
            .json(&["cases", "list", "--all"])
            .as_array()
            .unwrap()
            .clone()
    }

    pub(crate) fn outbox(&self) -> Vec<serde_json::Value> {
        self.desk
            .json(&["outbox", "list"])
            .as_array()
            .unwrap()
            .clone()
    }

    fn wait_for_cases(&self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let mut cases = Vec::new();
        let ok = wait_until(timeout, || {
            cases = self.cases();
            cases.len() >= n
        });
        assert!(
            ok,
            "expected {n} case(s) within {timeout:?}, have {}; daemon log:\n{}",
            cases.len(),
            self.log()
        );
        cases
    }
}

/// A running `helpdesk run`, killed on drop if still running.
pub(crate) struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// SIGTERM, then waits for the exit.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        signal(&self.child, "TERM");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "helpdesk did not stop within 40 s of SIGTERM; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: the crash case.
    fn kill9(mut self) {
        signal(&self.child, "KILL");
        self.child.wait().unwrap();
    }

    /// Waits until the log contains `needle`.
    pub(crate) fn wait_log(&self, needle: &str, timeout: Duration) {
        let ok = wait_until(timeout, || {
            std::fs::read_to_string(&self.log).is_ok_and(|l| l.contains(needle))
        });
        assert!(
            ok,
            "log never said {needle:?}:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{sig} failed");
}

/// A customer's request, as a mail client writes it.
pub(crate) fn request(
    customer: &str,
    support: &str,
    id: &str,
    subject: &str,
    body: &str,
) -> Vec<u8> {
    format!(
        "From: Customer <{customer}@example.test>\r\nTo: {support}@example.test\r\n\
         Subject: {subject}\r\nMessage-ID: <{id}@client.example.test>\r\n\
         Date: Sun, 22 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

pub(crate) fn header<'a>(raw: &'a [u8], name: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(raw).ok()?;
    let head = text.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub(crate) fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "helpdesk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_becomes_a_case_its_ack_reaches_the_customer_and_the_reply_threads() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer) = ("support1", "customer1");
    let desk = LiveDesk::new(stack, support, Options::default());
    let to = format!("{support}@example.test");
    let from = format!("{customer}@example.test");
    stack
        .send(
            &from,
            &to,
            &request(
                customer,
                support,
                "req-1",
                "Printer jam on floor 3",
                "The printer on floor 3 jams on every page.",
            ),
        )
        .await;
    stack.wait_for(support, "INBOX", 1, WAIT).await;
    let out = stdout(&desk.desk.run(&["run", "--once"]));
    assert!(
        out.contains("created 1,") && out.contains("mail sent 1,"),
        "{out}"
    );

    let acks = stack.wait_for(customer, "INBOX", 1, WAIT).await;
    let ack = &acks[0];
    let subject = header(ack, "Subject").unwrap();
    assert!(subject.starts_with("[HD-000001]"), "{subject}");
    assert_eq!(
        header(ack, "In-Reply-To"),
        Some("<req-1@client.example.test>")
    );
    assert_eq!(header(ack, "Auto-Submitted"), Some("auto-replied"));
    let ack_id = header(ack, "Message-ID").unwrap().to_owned();

    // The customer answers the acknowledgment: the reply joins the case.
    let reply = format!(
        "From: Customer <{from}>\r\nTo: {to}\r\nSubject: Re: {subject}\r\n\
         Message-ID: <req-2@client.example.test>\r\nIn-Reply-To: {ack_id}\r\n\
         References: <req-1@client.example.test> {ack_id}\r\n\r\nIt is the HP one.\r\n"
    );
    stack.send(&from, &to, reply.as_bytes()).await;
    stack.wait_for(support, "INBOX", 2, WAIT).await;
    let out = stdout(&desk.desk.run(&["run", "--once"]));
    assert!(out.contains("created 0, joined 1,"), "{out}");
    assert_eq!(desk.cases().len(), 1);
    let case = desk.desk.json(&["cases", "show", "HD-000001"]);
    assert_eq!(case["messages"].as_array().unwrap().len(), 2, "{case:#}");

    // Nothing is taken twice: the position is saved and the messages are flagged \Seen.
    let out = stdout(&desk.desk.run(&["run", "--once"]));
    assert!(
        out.starts_with("created 0, joined 0, duplicates 0,"),
        "{out}"
    );
    assert_eq!(stack.fetch_all(customer, "INBOX").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_picks_up_new_mail_and_sigterm_stops_cleanly() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer) = ("support2", "customer2");
    // A poll interval of an hour: only IDLE can see the mail in time.
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            inbound_extra: "poll_interval = \"1h\"",
            ..Options::default()
        },
    );
    let daemon = desk.start();
    daemon.wait_log("IMAP connected", WAIT);
    let sent = Instant::now();
    stack
        .send(
            &format!("{customer}@example.test"),
            &format!("{support}@example.test"),
            &request(
                customer,
                support,
                "idle-1",
                "VPN drops every hour",
                "Since Monday.",
            ),
        )
        .await;
    // Dovecot announces new mail about 0.5 s after delivery; the benchmark measures latency.
    desk.wait_for_cases(1, Duration::from_secs(5));
    eprintln!("IDLE: case opened {:?} after the SMTP send", sent.elapsed());
    stack.wait_for(customer, "INBOX", 1, WAIT).await;
    let status = daemon.terminate();
    assert!(status.success(), "exit status {status:?}:\n{}", desk.log());
    let log = desk.log();
    assert!(log.contains("SIGTERM received"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_imap_server_restarts() {
    let Some(stack) = stack::dedicated() else {
        return;
    };
    let (support, customer) = ("support1", "customer1");
    let desk = LiveDesk::new(
        &stack,
        support,
        Options {
            inbound_extra: "poll_interval = \"1h\"",
            ..Options::default()
        },
    );
    let daemon = desk.start();
    daemon.wait_log("IMAP connected", WAIT);
    let (from, to) = (
        format!("{customer}@example.test"),
        format!("{support}@example.test"),
    );
    stack
        .send(
            &from,
            &to,
            &request(
                customer,
                support,
                "rs-1",
                "Laptop will not boot",
                "Black screen.",
            ),
        )
        .await;
    desk.wait_for_cases(1, WAIT);

    stack.stop_dovecot().await;
    daemon.wait_log("IMAP intake interrupted", WAIT);
    stack.start_dovecot().await;
    daemon.wait_log("IMAP connection restored", Duration::from_secs(90));
    stack
        .send(
            &from,
            &to,
            &request(
                customer,
                support,
                "rs-2",
                "Second laptop will not boot",
                "Same.",
            ),
        )
        .await;
    desk.wait_for_cases(2, WAIT);
    let status = daemon.terminate();
    assert!(status.success());
    // The outage is reported once, not once per attempt.
    assert_eq!(
        desk.log().matches("IMAP intake interrupted").count(),
        1,
        "{}",
        desk.log()
    );
    stack.wait_for(customer, "INBOX", 2, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_outage_keeps_mail_in_the_outbox_until_the_server_is_back() {
    let Some(stack) = stack::dedicated() else {
        return;
    };
    let (support, customer) = ("support1", "customer1");
    let desk = LiveDesk::new(&stack, support, Options::default());
    stack.stop_smtp().await;
    // SMTP is down, so the request arrives by IMAP APPEND (as a delivery agent would do).
    stack
        .append(
            support,
            "INBOX",
            &request(customer, support, "out-1", "Password reset", "Locked out."),
        )
        .await;
    let daemon = desk.start();
    let mut rows = Vec::new();
    let waited = wait_until(WAIT, || {
        rows = desk.outbox();
        rows.len() == 1 && rows[0]["attempts"].as_i64() >= Some(1)
    });
    assert!(
        waited,
        "no failed attempt recorded: {rows:?}\n{}",
        desk.log()
    );
    assert_eq!(rows[0]["status"], "pending", "{rows:?}");
    assert!(
        rows[0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{rows:?}"
    );
    assert!(stack.fetch_all(customer, "INBOX").await.is_empty());

    stack.start_smtp().await;
    // First retries come after 5 s, 10 s, 20 s.
    let acks = stack
        .wait_for(customer, "INBOX", 1, Duration::from_secs(60))
        .await;
    assert!(header(&acks[0], "Subject").unwrap().contains("[HD-000001]"));
    let rows = desk.outbox();
    assert_eq!(rows[0]["status"], "sent", "{rows:?}");
    // Exactly once: nothing more arrives while the daemon keeps running.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stack.fetch_all(customer, "INBOX").await.len(), 1);
    assert!(daemon.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_implicit_tls_with_a_test_ca() {
    let Some(stack) = stack::shared() else { return };
    for (n, tls) in [(3, Tls::Starttls), (4, Tls::Implicit)] {
        let (support, customer) = (format!("support{n}"), format!("customer{n}"));
        let desk = LiveDesk::new(
            stack,
            &support,
            Options {
                imap_tls: Some(tls),
                smtp_tls: Some(tls),
                inbound_extra: "processed_folder = \"Processed\"",
                ..Options::default()
            },
        );
        let check = stdout(&desk.desk.run(&["check"]));
        assert!(check.contains("logged in"), "{check}");
        stack
            .send(
                &format!("{customer}@example.test"),
                &format!("{support}@example.test"),
                &request(
                    &customer,
                    &support,
                    &format!("tls-{n}"),
                    "Email quota full",
                    "Cannot send.",
                ),
            )
            .await;
        stack.wait_for(&support, "INBOX", 1, WAIT).await;
        let out = stdout(&desk.desk.run(&["run", "--once"]));
        assert!(
            out.contains("created 1,") && out.contains("mail sent 1,"),
            "{out}"
        );
        stack.wait_for(&customer, "INBOX", 1, WAIT).await;
        // Processed mail moved out of the inbox.
        assert!(stack.fetch_all(&support, "INBOX").await.is_empty());
        assert_eq!(stack.fetch_all(&support, "Processed").await.len(), 1);

        // Without the test CA the certificate is refused, and the error says where to look.
        let untrusting = LiveDesk::new(
            stack,
            &support,
            Options {
                imap_tls: Some(tls),
                smtp_tls: Some(tls),
                trust_ca: Some(false),
                ..Options::default()
            },
        );
        let out = untrusting.desk.run(&["check"]);
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("inbound.ca_file") && text.contains("outbound.ca_file"),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_loses_nothing_and_acknowledges_each_case_once() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer) = ("support5", "customer5");
    const N: usize = 300;
    append_requests(stack, (support, customer), "k", N).await;
    // One customer, 300 requests: lift the per-address cap on automatic replies.
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            helpdesk_extra: "auto_reply_limit = 1000\nauto_reply_global_limit = 100000",
            ..Options::default()
        },
    );
    let daemon = desk.start();
    // Kill it while it is busy: some cases stored, not all.
    let ok = wait_until(WAIT, || {
        let n = desk.cases().len();
        n > 0
    });
    assert!(ok, "no case within {WAIT:?}:\n{}", desk.log());
    daemon.kill9();
    let after_kill = desk.cases().len();
    eprintln!("killed with {after_kill} of {N} cases stored");

    let out = stdout(&desk.desk.run(&["run", "--once"]));
    eprintln!("restart: {out}");
    let cases = desk.cases();
    assert_eq!(cases.len(), N, "every message is exactly one case");
    assert!(desk
        .desk
        .json(&["quarantine", "list"])
        .as_array()
        .unwrap()
        .is_empty());
    let rows = desk.outbox();
    assert_eq!(rows.len(), N, "one acknowledgment per case");
    assert!(rows.iter().all(|r| r["status"] == "sent"), "{rows:?}");

    // In the customer's mailbox: one acknowledgment per case. A send the kill interrupted
    // after the server accepted it and before it was recorded is sent again with the same
    // Message-ID; there is at most one such send in flight per connection.
    let acks = wait_for_acks(stack, customer, N, Duration::from_secs(60)).await;
    assert_one_ack_per_case(&acks, N);
}

/// The express lane: a new request that arrives while a backlog drains is taken in between
/// the backlog's batches, not after all of them; a reply that arrives with it keeps its turn,
/// so it still finds the backlog case it answers. The first batch is held for 5 s (the test
/// hook `HELPDESK_TEST_STALL_ON_SUBJECT`), so the arrival lands during the drain every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_arriving_during_a_backlog_goes_ahead_of_it_and_replies_keep_their_turn() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, probe) = ("support24", "customer24", "customer19");
    // Three batches: 256, 256, 88.
    const N: usize = 600;
    let hold = request(
        customer,
        support,
        "x-hold",
        "Hold the first batch",
        "Please.",
    );
    stack.append(support, "INBOX", &hold).await;
    append_requests(stack, (support, customer), "x", N - 1).await;
    let desk = LiveDesk::new(stack, support, Options::default());
    let mut cmd = desk.desk.command(&["run"]);
    let log = std::fs::File::create(desk.desk.path("daemon.log")).unwrap();
    cmd.env("HELPDESK_LOG", "info")
        .env("HELPDESK_TEST_STALL_ON_SUBJECT", "Hold the first batch")
        .env("HELPDESK_TEST_STALL_SECONDS", "5")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let daemon = Daemon {
        child: cmd.spawn().expect("spawn helpdesk run"),
        log: desk.desk.path("daemon.log"),
    };
    daemon.wait_log("IMAP connected", WAIT);
    // The customer answers request 400 (in the second batch) and someone else writes in.
    let mut reply = request(
        customer,
        support,
        "x-reply",
        "Re: Request 400: monitor flickers",
        "It flickers again.",
    );
    let at = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    reply.splice(
        at..at,
        b"\r\nIn-Reply-To: <x-400@client.example.test>"
            .iter()
            .copied(),
    );
    stack.append(support, "INBOX", &reply).await;
    let new = request(probe, support, "x-probe", "VPN down", "Cannot connect.");
    stack.append(support, "INBOX", &new).await;
    desk.wait_for_cases(N + 1, Duration::from_secs(120));
    let joined = || desk.log().matches("message added to case").count();
    assert!(
        wait_until(WAIT, || joined() == 1),
        "the reply was not added to a case:\n{}",
        desk.log()
    );
    daemon.terminate();
    assert_eq!(
        desk.cases().len(),
        N + 1,
        "the reply opened a case of its own"
    );
    let ticket_of = |subject: &str| {
        desk.cases()
            .iter()
            .find(|c| c["subject"] == subject)
            .and_then(|c| c["ticket"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no case {subject:?}"))
    };
    // The first batch holds UIDs 1..=256: the new request is the next case, before the
    // second batch.
    assert_eq!(ticket_of("VPN down"), "HD-000257");
    let log = desk.log();
    let joined = log
        .lines()
        .find(|l| l.contains("message added to case"))
        .unwrap();
    assert!(
        joined.contains(&ticket_of("Request 400: monitor flickers")),
        "{joined}"
    );
    // The new customer's acknowledgment arrives.
    let acks = stack.wait_for(probe, "INBOX", 1, WAIT).await;
    assert!(header(&acks[0], "Subject").unwrap().contains("HD-000257"));
}

/// `n` requests from `customer` appended straight into `support`'s INBOX, Message-IDs
/// `<prefix>-<i>`.
pub(crate) async fn append_requests(
    stack: &Stack,
    (support, customer): (&str, &str),
    prefix: &str,
    n: usize,
) {
    for i in 0..n {
        let raw = request(
            customer,
            support,
            &format!("{prefix}-{i}"),
            &format!("Request {i}: monitor flickers"),
            "Please help.",
        );
        stack.append(support, "INBOX", &raw).await;
    }
}

/// The acknowledgments of `n` cases in `user`'s INBOX, waiting up to `timeout`. A send a kill
/// interrupted after the server accepted it goes out again, so one of the first `n` mails may be
/// a second copy; then the last case's acknowledgment is the `n + 1`-th mail.
pub(crate) async fn wait_for_acks(
    stack: &Stack,
    user: &str,
    n: usize,
    timeout: Duration,
) -> Vec<Vec<u8>> {
    let acks = stack.wait_for(user, "INBOX", n, timeout).await;
    if ids_per_ticket(&acks).len() < n {
        return stack.wait_for(user, "INBOX", n + 1, timeout).await;
    }
    acks
}

/// Message-IDs by ticket number, from the acknowledgments' subjects (`[HD-000001] …`).
fn ids_per_ticket(acks: &[Vec<u8>]) -> BTreeMap<String, BTreeSet<String>> {
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ack in acks {
        let subject = header(ack, "Subject").unwrap();
        let ticket = subject[1..subject.find(']').unwrap()].to_owned();
        ids.entry(ticket)
            .or_default()
            .insert(header(ack, "Message-ID").unwrap().to_owned());
    }
    ids
}

/// Every one of `n` cases acknowledged, each under one Message-ID; at most one delivery more
/// (a send a kill interrupted after the server accepted it goes out again, same Message-ID).
/// Every case acknowledged once, by one Message-ID. A kill -9 may catch up to
/// `outbound.connections` (4) sends after the server accepted them and before they were
/// recorded; each goes again with its Message-ID, so at most that many extra deliveries.
pub(crate) fn assert_one_ack_per_case(acks: &[Vec<u8>], n: usize) {
    const IN_FLIGHT: usize = 4;
    let ids_per_ticket = ids_per_ticket(acks);
    assert_eq!(ids_per_ticket.len(), n, "every case acknowledged");
    assert!(
        ids_per_ticket.values().all(|ids| ids.len() == 1),
        "one Message-ID per case"
    );
    assert!(
        acks.len() <= n + IN_FLIGHT,
        "{} deliveries for {n} cases",
        acks.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_smtp_failure_is_listed_and_retry_requeues_it() {
    let Some(stack) = stack::shared() else { return };
    let support = "support6";
    let desk = LiveDesk::new(stack, support, Options::default());
    // nobody@example.test has no mailbox: Postfix answers 550 at RCPT.
    let raw = request(
        "nobody",
        support,
        "perm-1",
        "Scanner offline",
        "Nothing scans.",
    );
    stack.append(support, "INBOX", &raw).await;
    let out = stdout(&desk.desk.run(&["run", "--once"]));
    assert!(
        out.contains("created 1,") && out.contains("failed 1"),
        "{out}"
    );
    let rows = desk.outbox();
    assert_eq!(rows[0]["status"], "failed");
    let error = rows[0]["last_error"].as_str().unwrap();
    assert!(error.contains("550"), "{error}");

    let out = stdout(&desk.desk.run(&["outbox", "retry", "--all"]));
    assert!(out.contains("re-queued 1"), "{out}");
    let rows = desk.outbox();
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["attempts"].as_i64()),
        (Some("pending"), Some(0))
    );
    let missing = desk.desk.run(&["outbox", "retry", "999"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no outbox row 999"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_uidvalidity_rescans_without_duplicates() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer) = ("support7", "customer7");
    stack.create_folder(support, "Helpdesk").await;
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            inbound_extra: "folder = \"Helpdesk\"",
            ..Options::default()
        },
    );
    let msgs: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            request(
                customer,
                support,
                &format!("uv-{i}"),
                &format!("Software install {i}"),
                "Need Visio.",
            )
        })
        .collect();
    for m in &msgs {
        stack.append(support, "Helpdesk", m).await;
    }
    let out = stdout(&desk.desk.run(&["run", "--once"]));
    assert!(out.contains("created 3,"), "{out}");
    let before = stack.uid_validity(support, "Helpdesk").await;

    // Recreating the folder gives it a new UIDVALIDITY; the old messages come back with a new one.
    stack.delete_folder(support, "Helpdesk").await;
    stack.create_folder(support, "Helpdesk").await;
    assert_ne!(stack.uid_validity(support, "Helpdesk").await, before);
    for m in &msgs {
        stack.append(support, "Helpdesk", m).await;
    }
    stack
        .append(
            support,
            "Helpdesk",
            &request(
                customer,
                support,
                "uv-new",
                "Keyboard missing keys",
                "F and J.",
            ),
        )
        .await;
    let out = stdout(&desk.desk.run(&["run", "--once"]));
    assert!(
        out.contains("created 1,") && out.contains("duplicates 3,"),
        "{out}"
    );
    assert_eq!(desk.cases().len(), 4);
    assert_eq!(
        desk.outbox().len(),
        4,
        "no second acknowledgment for the re-scanned mail"
    );
}
