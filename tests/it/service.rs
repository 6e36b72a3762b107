//! Running as a systemd service: the unit file, sd_notify (readiness, status, watchdog,
//! stopping), SIGHUP reloading the rules, and the log formats.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::{wait_until, Desk};

const UNIT: &str = include_str!("../../systemd/helpdesk.service");

/// The daemon's own stop deadline must fit in the unit's: systemd kills what is left after it.
#[test]
fn the_unit_file_has_what_the_daemon_relies_on() {
    let settings: Vec<&str> = UNIT
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .collect();
    for expected in [
        "Type=notify",
        "WatchdogSec=30",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ExecStart=/usr/local/bin/helpdesk --config /etc/helpdesk/helpdesk.toml run",
        "Restart=on-failure",
        "User=helpdesk",
        "StateDirectory=helpdesk",
        "ConfigurationDirectory=helpdesk",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=",
        "UMask=0077",
    ] {
        assert!(settings.contains(&expected), "missing {expected:?}");
    }
    let stop = settings
        .iter()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .expect("TimeoutStopSec=");
    let stop = Duration::from_secs(stop.parse().expect("TimeoutStopSec in seconds"));
    assert!(stop > helpdesk::daemon::SHUTDOWN_GRACE, "{stop:?}");
    assert!(UNIT.contains("/run/credentials/helpdesk.service/"));
}

/// `systemd-analyze verify` on the unit, with ExecStart pointed at the binary under test (the
/// installed path need not exist here).
#[test]
fn the_unit_file_passes_systemd_analyze_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: systemd-analyze is not installed (apt-get install systemd)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("helpdesk.service");
    let binary = env!("CARGO_BIN_EXE_helpdesk");
    std::fs::write(&unit, UNIT.replace("/usr/local/bin/helpdesk", binary)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{said}"
    );
    assert!(
        !said.contains("helpdesk.service:"),
        "systemd-analyze verify complained about the unit:\n{said}"
    );
}

/// The daemon's stderr, collected line by line while it runs.
struct Running {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn helpdesk run");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Running { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `text` `times` times.
    fn wait_for(&self, text: &str, times: usize) -> bool {
        wait_until(Duration::from_secs(30), || {
            self.log().matches(text).count() >= times
        })
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// SIGTERM, then asserts a clean exit within 40 s; returns the whole log.
    fn stop(mut self) -> String {
        self.signal("TERM");
        let stopped = wait_until(Duration::from_secs(40), || {
            self.child.try_wait().unwrap().is_some()
        });
        if !stopped {
            // The assertion below reports it; the kill only cleans up.
            let _ = self.child.kill();
        }
        let status = self.child.wait().unwrap();
        // The reader thread ends with the pipe; give it a moment to take the last lines.
        std::thread::sleep(Duration::from_millis(100));
        let log = self.log();
        assert!(stopped, "the daemon did not stop on SIGTERM; log:\n{log}");
        assert!(status.success(), "exit status {status:?}; log:\n{log}");
        log
    }
}

/// Two categories; `extra` adds rules.
fn rules(extra: &str) -> String {
    format!(
        r#"
first_response = "1d"
[[category]]
id = "hardware"
name = "Hardware"
type = "incident"
default_priority = 2
priorities = [{{ level = 2, name = "High", target = "1d" }}]
[[category]]
id = "uncategorized"
name = "Uncategorized"
type = "request"
default_priority = 4
priorities = [{{ level = 4, name = "Not yet categorized" }}]
{extra}
"#
    )
}

const PRINTER_RULE: &str = r#"
[[rule]]
name = "printer"
category = "hardware"
subject = 'printer'
"#;

fn mail(n: usize, subject: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@customer.example.test>\r\nTo: support@example.test\r\n\
         Subject: {subject}\r\nMessage-ID: <reload-{n}@customer.example.test>\r\n\r\nPlease help.\r\n"
    )
    .into_bytes()
}

/// Cases in ticket order: (subject, category). Read from the database, not with `cases list`,
/// which refuses to start while the rules file is broken.
fn cases(desk: &Desk) -> Vec<(String, String)> {
    use sqlx::Row;
    let url = format!(
        "sqlite://{}?mode=ro",
        desk.path("state/helpdesk.db").display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let Ok(pool) = sqlx::AnyPool::connect(&url).await else {
            return Vec::new();
        };
        let rows = sqlx::query("SELECT subject, category FROM cases ORDER BY id")
            .fetch_all(&pool)
            .await
            // Before the daemon has migrated the database there is no table: no cases yet.
            .unwrap_or_default();
        pool.close().await;
        rows.iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
            .collect()
    })
}

fn wait_for_cases(desk: &Desk, n: usize) -> bool {
    wait_until(Duration::from_secs(30), || cases(desk).len() >= n)
}

/// Issue 6: SIGHUP loads the rules again; broken rules are logged and the good ones kept; no
/// message is lost or taken twice across reloads; SIGTERM still stops the daemon cleanly.
#[test]
fn sighup_reloads_the_rules_and_keeps_the_old_ones_when_the_new_are_broken() {
    let desk = Desk::new("rules = \"rules.toml\"");
    let rules_file = desk.path("rules.toml");
    std::fs::write(&rules_file, rules("")).unwrap();
    let daemon = Running::start(desk.command(&["run"]));
    assert!(
        daemon.wait_for("helpdesk running", 1),
        "daemon did not start; log:\n{}",
        daemon.log()
    );

    desk.deliver("1.a", &mail(1, "printer jammed"));
    assert!(wait_for_cases(&desk, 1), "log:\n{}", daemon.log());
    assert_eq!(cases(&desk)[0].1, "uncategorized");

    std::fs::write(&rules_file, rules(PRINTER_RULE)).unwrap();
    daemon.signal("HUP");
    assert!(
        daemon.wait_for("reloaded rules and templates", 1),
        "log:\n{}",
        daemon.log()
    );
    desk.deliver("2.a", &mail(2, "printer jammed again"));
    assert!(wait_for_cases(&desk, 2), "log:\n{}", daemon.log());
    assert_eq!(cases(&desk)[1].1, "hardware", "new rules not applied");

    let broken = format!(
        "{}\n[[rule]]\nname = \"bad\"\ncategory = \"hardware\"\nsubject = '(unclosed'\n",
        rules(PRINTER_RULE)
    );
    std::fs::write(&rules_file, broken).unwrap();
    daemon.signal("HUP");
    assert!(
        daemon.wait_for("reload failed", 1),
        "log:\n{}",
        daemon.log()
    );
    let log = daemon.log();
    let failure = log.lines().find(|l| l.contains("reload failed")).unwrap();
    assert!(
        failure.contains("rules.toml") && failure.contains("bad"),
        "the error does not say what is wrong: {failure}"
    );
    assert!(failure.contains("keeping the previous rules"), "{failure}");
    desk.deliver("3.a", &mail(3, "printer on fire"));
    assert!(wait_for_cases(&desk, 3), "log:\n{}", daemon.log());
    assert_eq!(
        cases(&desk)[2].1,
        "hardware",
        "the good rules were not kept"
    );

    // Reloads while mail arrives: every message becomes exactly one case.
    std::fs::write(&rules_file, rules(PRINTER_RULE)).unwrap();
    for n in 4..24 {
        desk.deliver(&format!("{n}.a"), &mail(n, "printer"));
        if n % 4 == 0 {
            daemon.signal("HUP");
        }
    }
    assert!(wait_for_cases(&desk, 23), "log:\n{}", daemon.log());
    assert!(daemon.wait_for("reloaded rules and templates", 2));
    let log = daemon.stop();
    let all = cases(&desk);
    assert_eq!(all.len(), 23, "{all:?}");
    assert!(all[3..].iter().all(|(_, c)| c == "hardware"), "{all:?}");
    assert_eq!(desk.files("Maildir/new").len(), 0);
    assert_eq!(desk.files("Maildir/cur").len(), 23);
    assert!(
        !log.contains("already ingested"),
        "a message was taken twice:\n{log}"
    );
}

/// What arrives on the notification socket, one datagram per element.
fn notifications(socket: &UnixDatagram) -> Vec<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

/// sd_notify end to end: READY=1 after start, a STATUS= with the backlog, WATCHDOG=1 at half
/// the watchdog interval, RELOADING=1 and READY=1 around a reload, STOPPING=1 on SIGTERM.
#[test]
fn the_daemon_tells_systemd_ready_status_watchdog_reload_and_stopping() {
    let desk = Desk::new("");
    let path = desk.path("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut cmd = desk.command(&["run"]);
    cmd.env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "2000000")
        .env_remove("WATCHDOG_PID");
    let daemon = Running::start(cmd);
    let mut got = Vec::new();
    // Waits until `what` has arrived `times` times in all.
    let mut seen = |what: &str, times: usize| {
        let ok = wait_until(Duration::from_secs(30), || {
            got.extend(notifications(&socket));
            got.iter().filter(|m| m.contains(what)).count() >= times
        });
        assert!(ok, "no {what:?} ({times}x) in {got:?}");
    };
    seen("READY=1", 1);
    seen("outbox 0 waiting", 1);
    seen("WATCHDOG=1", 2);
    daemon.signal("HUP");
    seen("RELOADING=1", 1);
    seen("READY=1", 2);
    let log = daemon.stop();
    got.extend(notifications(&socket));
    assert!(got.iter().any(|m| m.contains("STOPPING=1")), "{got:?}");
    let ready = got.iter().position(|m| m.contains("READY=1")).unwrap();
    assert!(
        got[..ready].iter().all(|m| !m.contains("WATCHDOG=1")),
        "watchdog pings before READY=1: {got:?}"
    );
    assert!(log.contains("systemd watchdog on"), "{log}");
    assert!(
        got.iter().any(|m| m.starts_with("STATUS=watching maildir")),
        "{got:?}"
    );
}

/// `run --once` on an empty desk, with stderr in a file: its log lines.
fn once_log(desk: &Desk, configure: impl FnOnce(&mut Command, &Path)) -> Vec<String> {
    let file = desk.path("stderr.log");
    let stderr = std::fs::File::create(&file).unwrap();
    let mut cmd = desk.command(&["run", "--once"]);
    configure(&mut cmd, &file);
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .unwrap();
    let mut log = String::new();
    std::fs::File::open(&file)
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(status.success(), "{log}");
    log.lines().map(str::to_owned).collect()
}

#[test]
fn the_log_is_json_with_log_format_json() {
    let desk = Desk::new("");
    for configure in [
        (|cmd: &mut Command, _: &Path| {
            cmd.arg("--log-format").arg("json");
        }) as fn(&mut Command, &Path),
        |cmd, _| {
            cmd.env("HELPDESK_LOG_FORMAT", "json");
        },
    ] {
        let lines = once_log(&desk, configure);
        assert!(!lines.is_empty());
        for line in &lines {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(v["timestamp"].is_string(), "{line}");
            assert!(v["level"].is_string(), "{line}");
        }
        assert!(
            lines.iter().any(|l| l.contains("run --once finished")),
            "{lines:?}"
        );
    }
}

#[test]
fn the_text_log_has_no_timestamps_or_colours_when_journald_reads_it() {
    use std::os::unix::fs::MetadataExt;
    let desk = Desk::new("");
    let starts_with_year = |l: &String| l.get(..2) == Some("20");
    let plain = once_log(&desk, |_, _| {});
    assert!(plain.iter().all(starts_with_year), "{plain:?}");
    let journal = once_log(&desk, |cmd, file| {
        let meta = std::fs::metadata(file).unwrap();
        cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
    });
    assert!(!journal.is_empty());
    assert!(!journal.iter().any(starts_with_year), "{journal:?}");
    assert!(journal.iter().all(|l| !l.contains('\u{1b}')), "{journal:?}");
    assert!(
        journal
            .iter()
            .any(|l| l.starts_with(" INFO") || l.starts_with("INFO")),
        "{journal:?}"
    );
    // JOURNAL_STREAM naming another stream (inherited by a redirected child) is ignored.
    let redirected = once_log(&desk, |cmd, _| {
        cmd.env("JOURNAL_STREAM", "1:1");
    });
    assert!(redirected.iter().all(starts_with_year), "{redirected:?}");
}

/// `GET path` on the loopback metrics port; the whole answer.
fn http_get(port: u16, path: &str) -> String {
    use std::io::Write;
    let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = write!(conn, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    answer
}

/// Issue 6: `[metrics] listen` serves Prometheus text with what the daemon did.
#[test]
fn metrics_count_messages_cases_and_mail_on_the_loopback_port() {
    let desk = Desk::new("");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = std::fs::read_to_string(&desk.config).unwrap();
    config.push_str(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&desk.config, config).unwrap();
    let daemon = Running::start(desk.command(&["run"]));
    assert!(daemon.wait_for("metrics at http://", 1), "{}", daemon.log());
    desk.deliver("one.eml", &mail(1, "Printer broken"));
    desk.deliver("two.eml", b"not a message at all");
    let ok = wait_until(Duration::from_secs(30), || {
        let m = http_get(port, "/metrics");
        m.contains("helpdesk_messages_total{outcome=\"created\"} 1")
            && m.contains("helpdesk_mail_sent_total{kind=\"auto_reply\"} 1")
    });
    let metrics = http_get(port, "/metrics");
    assert!(ok, "{metrics}\n{}", daemon.log());
    assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
    for line in [
        "helpdesk_messages_quarantined_total 1",
        "helpdesk_cases_opened_total{category=\"break_fix\"} 1",
        "helpdesk_outbox_depth 0",
        "helpdesk_ingest_latency_seconds_count 2",
        "# TYPE helpdesk_ingest_latency_seconds histogram",
    ] {
        assert!(metrics.contains(line), "no {line:?} in\n{metrics}");
    }
    assert!(http_get(port, "/").starts_with("HTTP/1.1 404"));
    daemon.stop();
}

#[test]
fn metrics_must_listen_on_loopback() {
    let desk = Desk::new("");
    let mut config = std::fs::read_to_string(&desk.config).unwrap();
    config.push_str("[metrics]\nlisten = \"0.0.0.0:9187\"\n");
    std::fs::write(&desk.config, config).unwrap();
    let out = desk.run(&["check"]);
    assert!(!out.status.success());
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("metrics.listen") && said.contains("loopback"),
        "{said}"
    );
}
