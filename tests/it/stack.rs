//! Real mail servers for end-to-end tests: Dovecot (IMAP) and Postfix (SMTP) on 127.0.0.1, started
//! by `tests/mailstack/start.sh` under a temporary directory.
//!
//! [`shared`] is one stack per test binary, for tests that only send and read mail: tests run in
//! parallel against it, so each test uses its own users (`support1`..`support52`,
//! `customer1`..`customer52`, `tech`) or unique subjects. [`dedicated`] is a private stack for
//! tests that stop and start the servers. Every user `u` is `u@example.test` with password
//! [`password`]`(u)` = `"{u}pw"`.
//!
//! Without Dovecot installed, both return `None` after a one-line "skipped: …" on stderr, except
//! under `CI=true`, where they panic with the install command.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::net::TcpStream;

/// The domain of every user of a stack.
pub const DOMAIN: &str = "example.test";

/// The only address any server of a stack listens on.
const HOST: &str = "127.0.0.1";
/// The Dovecot binary; its absence means "mail servers not installed".
const DOVECOT: &str = "/usr/sbin/dovecot";
/// Postfix's master daemon, started directly as start.sh does (no `postfix start` checks).
const POSTFIX_MASTER: &str = "/usr/lib/postfix/sbin/master";
/// How to install the servers, for the skip and failure messages.
const INSTALL_HINT: &str = "bash tests/mailstack/install-deps.sh (as root)";
/// Longest wait for a server to start or stop.
const SERVER_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for one IMAP or SMTP exchange of a helper.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// An IMAP session over plain TCP (LOGIN is allowed without TLS on the stack's IMAP port).
type Session = async_imap::Session<TcpStream>;

/// The password of a stack user.
pub fn password(user: &str) -> String {
    format!("{user}pw")
}

/// The stack of this test binary, started on first use and stopped by start.sh's watchdog when the
/// test process exits. `None` (after a "skipped" line) when Dovecot is not installed.
pub fn shared() -> Option<&'static Stack> {
    static SHARED: OnceLock<Option<Stack>> = OnceLock::new();
    SHARED.get_or_init(|| Stack::start(false)).as_ref()
}

/// A private stack for tests that stop and start servers; stopped and deleted on drop. `None`
/// (after a "skipped" line) when Dovecot is not installed.
pub fn dedicated() -> Option<Stack> {
    Stack::start(true)
}

/// A running mail stack: its ports, its CA and its directory, plus helpers.
pub struct Stack {
    /// The stack's directory (configs, logs, mail under `mail/<user>/Maildir`, `stack.env`).
    pub dir: PathBuf,
    /// IMAP, plain or STARTTLS.
    pub imap_port: u16,
    /// IMAP over implicit TLS.
    pub imaps_port: u16,
    /// SMTP like an MX: unauthenticated mail from loopback accepted, STARTTLS and AUTH optional.
    pub smtp_port: u16,
    /// Submission: STARTTLS, then AUTH, both required.
    pub submission_port: u16,
    /// SMTP over implicit TLS, AUTH required.
    pub smtps_port: u16,
    /// The CA that signed the servers' certificate (for TLS name `localhost`).
    pub ca_cert: PathBuf,
    /// The values of `stack.env`, as start.sh wrote them.
    env: HashMap<String, String>,
    /// The servers' current PIDs, which change when a test restarts them.
    pids: Mutex<Pids>,
    /// Whether this stack belongs to one test (may be restarted; stopped on drop).
    dedicated: bool,
}

/// PIDs of a stack's servers.
struct Pids {
    /// Dovecot's master.
    dovecot: u32,
    /// Postfix's master, or the SMTP bridge.
    mta: u32,
    /// The bridge's command line, kept while it is stopped.
    bridge_argv: Option<Vec<String>>,
}

impl Stack {
    /// Runs start.sh in a new temporary directory, or reports the servers as missing.
    fn start(dedicated: bool) -> Option<Stack> {
        if !Path::new(DOVECOT).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{DOVECOT} is missing and CI=true: install the mail servers with `{INSTALL_HINT}`"
            );
            eprintln!("skipped: mail-stack test ({DOVECOT} missing; install: {INSTALL_HINT})");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("mailstack")
            .tempdir()
            .expect("temp dir for a mail stack")
            // The stack outlives this value: stop.sh --purge (on drop or from the watchdog)
            // deletes it.
            .keep();
        let mut users: Vec<String> = (1..=52)
            .flat_map(|i| [format!("support{i}"), format!("customer{i}")])
            .collect();
        users.push("tech".into());
        let mail_users: Vec<String> = users
            .iter()
            .map(|u| format!("{u}:{}", password(u)))
            .collect();
        let out = std::process::Command::new("bash")
            .arg(mailstack_script("start.sh"))
            .arg(&dir)
            .env("PORT_BASE", "auto")
            .env("WATCH_PID", std::process::id().to_string())
            .env("MAIL_USERS", mail_users.join(" "))
            // tests/it/lmtp.rs: Postfix delivers support46's mail to helpdesk over LMTP.
            .env("LMTP_USERS", "support46")
            .env("MAIL_DOMAIN", DOMAIN)
            // Fixed ports or reused certificates from the caller's shell would defeat PORT_BASE.
            .env_remove("IMAP_PORT")
            .env_remove("IMAPS_PORT")
            .env_remove("SMTP_PORT")
            .env_remove("SUBMISSION_PORT")
            .env_remove("SMTPS_PORT")
            .env_remove("MAILSTACK_TLS_SRC")
            .stdin(Stdio::null())
            .output()
            .expect("run tests/mailstack/start.sh");
        if !out.status.success() {
            // start.sh stopped whatever it had started; only the directory is left.
            let _ = fs::remove_dir_all(&dir);
            panic!(
                "tests/mailstack/start.sh {} failed ({}):\n{}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let env: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect();
        let get = |key: &str| -> &str {
            env.get(key)
                .unwrap_or_else(|| panic!("start.sh printed no {key}: {env:?}"))
        };
        let port = |key: &str| -> u16 {
            get(key)
                .parse()
                .unwrap_or_else(|e| panic!("start.sh printed {key}={}: {e}", get(key)))
        };
        let pid = |key: &str| -> u32 {
            get(key)
                .parse()
                .unwrap_or_else(|e| panic!("start.sh printed {key}={}: {e}", get(key)))
        };
        Some(Stack {
            dir: PathBuf::from(get("MAILSTACK_DIR")),
            imap_port: port("IMAP_PORT"),
            imaps_port: port("IMAPS_PORT"),
            smtp_port: port("SMTP_PORT"),
            submission_port: port("SUBMISSION_PORT"),
            smtps_port: port("SMTPS_PORT"),
            ca_cert: PathBuf::from(get("CA_CERT")),
            pids: Mutex::new(Pids {
                dovecot: pid("DOVECOT_PID"),
                mta: pid("MTA_PID"),
                bridge_argv: None,
            }),
            dedicated,
            env,
        })
    }

    /// The address every server listens on: "127.0.0.1".
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The LMTP socket Postfix delivers `user`'s mail to when the user is in `LMTP_USERS`.
    pub fn lmtp_socket(&self, user: &str) -> PathBuf {
        PathBuf::from(self.env("RUN_DIR")).join(format!("lmtp-{user}.sock"))
    }

    /// A `stack.env` value.
    fn env(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("stack.env of {} has no {key}", self.dir.display()))
    }

    // ---------------------------------------------------------------- SMTP

    /// Injects `raw` from `from` to `to` through the plain SMTP port (no TLS, no AUTH), as a
    /// remote MX would. Postfix queues it: use [`Stack::wait_for`] to see it delivered.
    pub async fn send(&self, from: &str, to: &str, raw: &[u8]) {
        self.send_to_all(from, &[to], raw).await;
    }

    /// [`Stack::send`] to several recipients in one SMTP transaction.
    pub async fn send_to_all(&self, from: &str, recipients: &[&str], raw: &[u8]) {
        let to = recipients.join(", ");
        let envelope = Envelope::new(
            Some(
                from.parse()
                    .unwrap_or_else(|e| panic!("sender {from:?}: {e}")),
            ),
            recipients
                .iter()
                .map(|r| r.parse().unwrap_or_else(|e| panic!("recipient {r:?}: {e}")))
                .collect(),
        )
        .unwrap_or_else(|e| panic!("envelope {from} -> {to}: {e}"));
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(HOST)
            .port(self.smtp_port)
            .timeout(Some(IO_TIMEOUT))
            .build();
        if let Err(e) = mailer.send_raw(&envelope, raw).await {
            panic!("SMTP {HOST}:{} {from} -> {to}: {e}", self.smtp_port);
        }
    }

    // ---------------------------------------------------------------- IMAP

    /// Appends `raw` to `user`'s `folder`.
    pub async fn append(&self, user: &str, folder: &str, raw: &[u8]) {
        let what = format!("APPEND to {user}'s {folder}");
        let mut s = self.session(user).await;
        within(&what, s.append(folder, None, None, raw)).await;
        logout(s).await;
    }

    /// Every message of `user`'s `folder` (`BODY.PEEK[]`, so nothing is marked seen), in UID order.
    pub async fn fetch_all(&self, user: &str, folder: &str) -> Vec<Vec<u8>> {
        let mut s = self.session(user).await;
        let all = tokio::time::timeout(IO_TIMEOUT, fetch_in(&mut s, folder))
            .await
            .unwrap_or_else(|_| panic!("fetching {user}'s {folder}: no answer in {IO_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("fetching {user}'s {folder}: {e}"));
        logout(s).await;
        all
    }

    /// Polls `user`'s `folder` every 50 ms until it holds at least `count` messages, and returns
    /// them all (as [`Stack::fetch_all`]). Rides out connection failures (a test may be restarting
    /// Dovecot); on timeout, panics with what it saw.
    pub async fn wait_for(
        &self,
        user: &str,
        folder: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Vec<u8>> {
        let start = Instant::now();
        let mut session: Option<Session> = None;
        let mut last = String::from("no answer yet");
        loop {
            if session.is_none() {
                match tokio::time::timeout(IO_TIMEOUT, self.try_session(user)).await {
                    Ok(Ok(s)) => session = Some(s),
                    Ok(Err(e)) => last = e,
                    Err(_) => last = format!("login: no answer in {IO_TIMEOUT:?}"),
                }
            }
            if let Some(s) = session.as_mut() {
                match tokio::time::timeout(IO_TIMEOUT, fetch_if(s, folder, count)).await {
                    Ok(Ok(Ok(all))) => {
                        logout(session.take().expect("session")).await;
                        return all;
                    }
                    Ok(Ok(Err(n))) => last = format!("{n} message(s)"),
                    Ok(Err(e)) => (last, session) = (e, None),
                    Err(_) => (last, session) = (format!("no answer in {IO_TIMEOUT:?}"), None),
                }
            }
            if start.elapsed() >= timeout {
                let seen = match tokio::time::timeout(IO_TIMEOUT, self.try_fetch_all(user, folder))
                    .await
                {
                    Ok(Ok(all)) => summary(&all),
                    Ok(Err(e)) => e,
                    Err(_) => format!("no answer in {IO_TIMEOUT:?}"),
                };
                panic!(
                    "waited {timeout:?} for {count} message(s) in {user}'s {folder}; \
                     last poll: {last}; now: {seen}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates `folder` for `user`.
    pub async fn create_folder(&self, user: &str, folder: &str) {
        let mut s = self.session(user).await;
        within(&format!("CREATE {folder} for {user}"), s.create(folder)).await;
        logout(s).await;
    }

    /// Deletes `user`'s `folder` and the messages in it.
    pub async fn delete_folder(&self, user: &str, folder: &str) {
        let mut s = self.session(user).await;
        within(&format!("DELETE {user}'s {folder}"), s.delete(folder)).await;
        logout(s).await;
    }

    /// The UIDVALIDITY of `user`'s `folder` (STATUS).
    pub async fn uid_validity(&self, user: &str, folder: &str) -> u32 {
        let what = format!("STATUS (UIDVALIDITY) of {user}'s {folder}");
        let mut s = self.session(user).await;
        let mailbox = within(&what, s.status(folder, "(UIDVALIDITY)")).await;
        logout(s).await;
        mailbox
            .uid_validity
            .unwrap_or_else(|| panic!("{what}: no UIDVALIDITY in the answer"))
    }

    /// A logged-in session for `user`; panics with the reason if there is none.
    async fn session(&self, user: &str) -> Session {
        tokio::time::timeout(IO_TIMEOUT, self.try_session(user))
            .await
            .unwrap_or_else(|_| panic!("IMAP login as {user}: no answer in {IO_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Connects to the IMAP port, reads the greeting and logs in as `user`.
    async fn try_session(&self, user: &str) -> Result<Session, String> {
        let port = self.imap_port;
        let tcp = TcpStream::connect((HOST, port))
            .await
            .map_err(|e| format!("connect to IMAP {HOST}:{port}: {e}"))?;
        let mut client = async_imap::Client::new(tcp);
        match client.read_response().await {
            Ok(Some(_greeting)) => {}
            Ok(None) => return Err(format!("IMAP {HOST}:{port} closed before its greeting")),
            Err(e) => return Err(format!("IMAP {HOST}:{port} greeting: {e}")),
        }
        client
            .login(user, password(user))
            .await
            .map_err(|(e, _)| format!("IMAP LOGIN as {user} on {HOST}:{port}: {e}"))
    }

    /// [`Stack::fetch_all`] that reports failures instead of panicking.
    async fn try_fetch_all(&self, user: &str, folder: &str) -> Result<Vec<Vec<u8>>, String> {
        let mut s = self.try_session(user).await?;
        let all = fetch_in(&mut s, folder).await?;
        logout(s).await;
        Ok(all)
    }

    // ------------------------------------------------------ server control

    /// Stops Dovecot (IMAP and LMTP are gone until [`Stack::start_dovecot`]); takes about 1.1 s.
    /// Only on a [`dedicated`] stack. SMTP goes down with it: Postfix authenticates through
    /// Dovecot, so new SMTP connections are closed (the bridge answers 451 to DATA instead), and
    /// queued mail waits; both recover within about a second of [`Stack::start_dovecot`].
    pub async fn stop_dovecot(&self) {
        self.assert_dedicated("stop_dovecot");
        let pid = self.pids.lock().unwrap().dovecot;
        let conf = self.env("DOVECOT_CONF").to_string();
        assert!(
            running(pid, &[&format!("dovecot -c {conf}")]),
            "stop_dovecot: Dovecot (pid {pid}) is not running"
        );
        terminate(pid, "Dovecot").await;
        let ports = [self.imap_port, self.imaps_port];
        wait_until("Dovecot's IMAP ports to close", || {
            !ports.iter().any(|&p| listening(p))
        })
        .await;
    }

    /// Starts the stopped Dovecot again with the same configuration, and waits until it listens.
    pub async fn start_dovecot(&self) {
        self.assert_dedicated("start_dovecot");
        let old = self.pids.lock().unwrap().dovecot;
        assert!(!alive(old), "start_dovecot: Dovecot (pid {old}) still runs");
        let run_dir = PathBuf::from(self.env("RUN_DIR"));
        let pid_file = run_dir.join("master.pid");
        // Stale after an unclean exit; Dovecot refuses to start while its PID is alive.
        let _ = fs::remove_file(&pid_file);
        let conf = self.env("DOVECOT_CONF");
        // As root, start.sh runs Dovecot as the `dovecot` user ("rootless" config).
        let mut cmd = if is_root() {
            let mut c = tokio::process::Command::new("runuser");
            c.args(["-u", "dovecot", "--", DOVECOT]);
            c
        } else {
            tokio::process::Command::new(DOVECOT)
        };
        cmd.arg("-c").arg(conf);
        // Dovecot binds its listeners, then daemonizes: the command returns once it listens.
        self.run_daemon(cmd, "dovecot.stderr", "Dovecot").await;
        let pid = wait_for_pid_file(&pid_file, "Dovecot").await;
        let ports = [self.imap_port, self.imaps_port];
        wait_until("Dovecot's IMAP ports to listen", || {
            ports.iter().all(|&p| p == 0 || listening(p))
        })
        .await;
        wait_until("Dovecot's LMTP and auth sockets", || {
            run_dir.join("lmtp").exists() && run_dir.join("auth-smtp").exists()
        })
        .await;
        self.pids.lock().unwrap().dovecot = pid;
        self.record_pid("DOVECOT_PID", pid);
    }

    /// Stops the SMTP server (Postfix, or the bridge when not root): all three SMTP ports close.
    /// Only on a [`dedicated`] stack.
    pub async fn stop_smtp(&self) {
        self.assert_dedicated("stop_smtp");
        let pid = self.pids.lock().unwrap().mta;
        if self.env("MTA") == "postfix" {
            let pf_conf = self.env("PF_CONF");
            assert!(
                running(pid, &[&format!("/master -c {pf_conf} ")]),
                "stop_smtp: Postfix (pid {pid}) is not running"
            );
        } else {
            let users = format!("{}/etc/users", self.dir.display());
            assert!(
                running(pid, &["smtp_bridge.py", &users]),
                "stop_smtp: the SMTP bridge (pid {pid}) is not running"
            );
            let argv = fs::read(format!("/proc/{pid}/cmdline"))
                .unwrap_or_else(|e| panic!("command line of the SMTP bridge (pid {pid}): {e}"));
            let argv = argv
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            self.pids.lock().unwrap().bridge_argv = Some(argv);
        }
        terminate(pid, "the SMTP server").await;
        let ports = self.smtp_ports();
        wait_until("the SMTP ports to close", || {
            !ports.iter().any(|&p| listening(p))
        })
        .await;
    }

    /// Starts the stopped SMTP server again and waits until its ports listen. Dovecot must run
    /// (Postfix's smtpd needs its auth socket, or it is throttled for 60 s).
    pub async fn start_smtp(&self) {
        self.assert_dedicated("start_smtp");
        let (old, dovecot) = {
            let pids = self.pids.lock().unwrap();
            (pids.mta, pids.dovecot)
        };
        assert!(
            !alive(old),
            "start_smtp: the SMTP server (pid {old}) still runs"
        );
        assert!(
            alive(dovecot),
            "start_smtp: start Dovecot first (Postfix needs its auth socket)"
        );
        let pid = if self.env("MTA") == "postfix" {
            let pid_file = Path::new(self.env("PF_QUEUE")).join("pid/master.pid");
            let _ = fs::remove_file(&pid_file);
            let mut cmd = tokio::process::Command::new(POSTFIX_MASTER);
            // The same command line as start.sh (stop.sh recognises Postfix by it); -w returns
            // once the master has initialised, non-zero on failure.
            cmd.arg("-c").arg(self.env("PF_CONF")).arg("-w");
            self.run_daemon(cmd, "postfix.stderr", "Postfix").await;
            wait_for_pid_file(&pid_file, "Postfix").await
        } else {
            let argv = self.pids.lock().unwrap().bridge_argv.take();
            let argv = argv.expect("start_smtp: the SMTP bridge was not stopped by stop_smtp");
            let pid_file = self.dir.join("bridge.pid");
            let _ = fs::remove_file(&pid_file);
            // setsid -f: the bridge runs detached in its own session, as start.sh starts it.
            let mut cmd = tokio::process::Command::new("setsid");
            cmd.arg("-f").args(&argv);
            self.run_daemon(cmd, "bridge.log", "the SMTP bridge").await;
            wait_for_pid_file(&pid_file, "the SMTP bridge").await
        };
        let ports = self.smtp_ports();
        wait_until("the SMTP ports to listen", || {
            ports.iter().all(|&p| listening(p))
        })
        .await;
        self.pids.lock().unwrap().mta = pid;
        self.record_pid("MTA_PID", pid);
    }

    /// The SMTP, submission and SMTPS ports that are turned on.
    fn smtp_ports(&self) -> Vec<u16> {
        [self.smtp_port, self.submission_port, self.smtps_port]
            .into_iter()
            .filter(|&p| p != 0)
            .collect()
    }

    /// Panics unless this stack is a [`dedicated`] one.
    fn assert_dedicated(&self, what: &str) {
        assert!(
            self.dedicated,
            "{what} on the shared stack would break the tests running beside it: use stack::dedicated()"
        );
    }

    /// Runs a daemon's start command with its output appended to `log` in the stack's log
    /// directory (never to our pipes), and panics with that log's tail if it fails.
    async fn run_daemon(&self, mut cmd: tokio::process::Command, log: &str, what: &str) {
        let log = Path::new(self.env("LOG_DIR")).join(log);
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log file handle");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let status = tokio::time::timeout(SERVER_TIMEOUT, cmd.status())
            .await
            .unwrap_or_else(|_| panic!("starting {what}: no exit in {SERVER_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
        if !status.success() {
            let text = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "starting {what} failed ({status}); {}:\n{}",
                log.display(),
                tail.join("\n")
            );
        }
    }

    /// Rewrites `key=` in stack.env, so stop.sh (on drop or from the watchdog) stops the new PID.
    fn record_pid(&self, key: &str, pid: u32) {
        let path = self.dir.join("stack.env");
        let text =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let prefix = format!("{key}=");
        let new: String = text
            .lines()
            .map(|l| {
                if l.starts_with(&prefix) {
                    format!("{key}={pid}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let tmp = self.dir.join("stack.env.new");
        fs::write(&tmp, new).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
        fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("replace {}: {e}", path.display()));
    }
}

impl Drop for Stack {
    /// Stops a dedicated stack and deletes its directory (about 1.1 s, Dovecot's shutdown).
    fn drop(&mut self) {
        if !self.dedicated {
            return;
        }
        let out = std::process::Command::new("bash")
            .arg(mailstack_script("stop.sh"))
            .arg(&self.dir)
            .arg("--purge")
            .env("MAILSTACK_QUIET", "1")
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            // No panic in drop (it may run during a panic); the watchdog retries at exit.
            Ok(o) => eprintln!(
                "stop.sh {} failed: {}",
                self.dir.display(),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("stop.sh {}: {e}", self.dir.display()),
        }
    }
}

/// A script of tests/mailstack.
fn mailstack_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mailstack")
        .join(name)
}

/// Awaits one IMAP command, panicking with `what` on an error or after [`IO_TIMEOUT`].
async fn within<T>(
    what: &str,
    fut: impl std::future::Future<Output = async_imap::error::Result<T>>,
) -> T {
    tokio::time::timeout(IO_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer in {IO_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Logs out; the helpers are done with the session, so a failure here changes nothing.
async fn logout(mut s: Session) {
    let _ = tokio::time::timeout(IO_TIMEOUT, s.logout()).await;
}

/// Every message of `folder` (EXAMINE, so read-only), in UID order.
async fn fetch_in(s: &mut Session, folder: &str) -> Result<Vec<Vec<u8>>, String> {
    match fetch_if(s, folder, 0).await? {
        Ok(all) => Ok(all),
        Err(n) => unreachable!("{n} >= 0 messages"),
    }
}

/// Every message of `folder` in UID order if it holds at least `min`, else `Err(count)`.
async fn fetch_if(
    s: &mut Session,
    folder: &str,
    min: usize,
) -> Result<Result<Vec<Vec<u8>>, usize>, String> {
    let mailbox = s
        .examine(folder)
        .await
        .map_err(|e| format!("EXAMINE {folder}: {e}"))?;
    let exists = mailbox.exists as usize;
    if exists < min {
        return Ok(Err(exists));
    }
    if exists == 0 {
        return Ok(Ok(Vec::new()));
    }
    let fetches: Vec<_> = s
        .uid_fetch("1:*", "(UID BODY.PEEK[])")
        .await
        .map_err(|e| format!("UID FETCH in {folder}: {e}"))?
        .try_collect()
        .await
        .map_err(|e| format!("UID FETCH in {folder}: {e}"))?;
    let mut by_uid: Vec<(u32, Vec<u8>)> = fetches
        .iter()
        // Unsolicited FETCH responses (flag changes by another session) carry no body.
        .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
        .collect();
    by_uid.sort_by_key(|(uid, _)| *uid);
    Ok(Ok(by_uid.into_iter().map(|(_, m)| m).collect()))
}

/// "N message(s): Subject, Subject, …" for a panic message.
fn summary(all: &[Vec<u8>]) -> String {
    let subjects: Vec<String> = all
        .iter()
        .map(|m| {
            String::from_utf8_lossy(m)
                .lines()
                .take_while(|l| !l.is_empty())
                .find_map(|l| l.strip_prefix("Subject:").map(|s| s.trim().to_string()))
                .unwrap_or_else(|| "(no subject)".into())
        })
        .collect();
    format!("{} message(s): {subjects:?}", all.len())
}

/// Whether this process runs as root (the owner of /proc/self is the effective user).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Whether `pid` is alive and its command line contains every one of `parts` (so a recycled PID
/// is never signalled).
fn running(pid: u32, parts: &[&str]) -> bool {
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    alive(pid) && parts.iter().all(|p| cmdline.contains(p))
}

/// Sends SIGTERM to `pid` and waits until it has exited.
async fn terminate(pid: u32, what: &str) {
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .unwrap_or_else(|e| panic!("kill -TERM {pid} ({what}): {e}"));
    assert!(
        status.success(),
        "kill -TERM {pid} ({what}) failed: {status}"
    );
    wait_until(&format!("{what} (pid {pid}) to exit"), || !alive(pid)).await;
}

/// Waits until a daemon's PID file names a live process, and returns that PID.
async fn wait_for_pid_file(path: &Path, what: &str) -> u32 {
    let read = || {
        fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    wait_until(&format!("{what}'s PID file {}", path.display()), || {
        read().is_some_and(alive)
    })
    .await;
    read().expect("PID file just read")
}

/// Whether something listens on TCP `port` (any address), read from /proc/net/tcp{,6} as
/// start.sh does, so no probe connection shows up in the server logs.
fn listening(port: u16) -> bool {
    let suffix = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 3 && fields[1].ends_with(&suffix) && fields[3] == "0A"
            })
        })
    })
}

/// Polls `done` every 20 ms until it holds, panicking after [`SERVER_TIMEOUT`].
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < SERVER_TIMEOUT,
            "timed out after {SERVER_TIMEOUT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The harness itself against real servers: the shared stack starts once and listens on every
/// port; a dedicated one delivers, appends, fetches, changes UIDVALIDITY with a re-created folder
/// and survives a restart of each server.
#[tokio::test]
async fn stack_smoke() {
    let Some(shared) = shared() else { return };
    assert!(
        std::ptr::eq(shared, self::shared().expect("started")),
        "one shared stack per test binary"
    );
    for port in [
        shared.imap_port,
        shared.imaps_port,
        shared.smtp_port,
        shared.submission_port,
        shared.smtps_port,
    ] {
        assert!(
            listening(port),
            "nothing listens on {}:{port}",
            shared.host()
        );
    }
    assert!(shared.ca_cert.is_file(), "{}", shared.ca_cert.display());

    let s = dedicated().expect("Dovecot is installed: the shared stack started");
    let wait = Duration::from_secs(10);
    let msg = |subject: &str| {
        format!(
            "From: customer1@{DOMAIN}\r\nTo: customer1@{DOMAIN}\r\nSubject: {subject}\r\n\
             Message-ID: <{subject}@smoke.test>\r\n\r\nbody of {subject}\r\n"
        )
        .into_bytes()
    };
    let addr = format!("customer1@{DOMAIN}");

    s.send(&addr, &addr, &msg("sent-1")).await;
    let got = s.wait_for("customer1", "INBOX", 1, wait).await;
    assert!(summary(&got).contains("sent-1"), "{}", summary(&got));

    s.append("customer2", "INBOX", &msg("appended-1")).await;
    s.append("customer2", "INBOX", &msg("appended-2")).await;
    assert_eq!(
        s.fetch_all("customer2", "INBOX").await,
        [msg("appended-1"), msg("appended-2")]
    );

    s.create_folder("customer2", "Smoke").await;
    let before = s.uid_validity("customer2", "Smoke").await;
    s.delete_folder("customer2", "Smoke").await;
    s.create_folder("customer2", "Smoke").await;
    assert_ne!(before, s.uid_validity("customer2", "Smoke").await);

    s.stop_dovecot().await;
    assert!(!listening(s.imap_port));
    s.start_dovecot().await;
    assert_eq!(s.fetch_all("customer2", "INBOX").await.len(), 2);

    s.stop_smtp().await;
    assert!(!listening(s.smtp_port));
    s.start_smtp().await;
    s.send(&addr, &addr, &msg("sent-2")).await;
    let got = s.wait_for("customer1", "INBOX", 2, wait).await;
    assert!(summary(&got).contains("sent-2"), "{}", summary(&got));
}
