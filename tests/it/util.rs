//! A temporary help desk (config, SQLite file, Maildir, file outbox) and ways to run the real
//! binary against it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A help desk in a temporary directory.
pub struct Desk {
    /// Removed on drop.
    pub dir: tempfile::TempDir,
    /// Its helpdesk.toml.
    pub config: PathBuf,
}

impl Desk {
    /// A desk with the default rules and templates; `extra` is appended to `[helpdesk]`.
    pub fn new(extra: &str) -> Desk {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("helpdesk.toml");
        std::fs::write(
            &config,
            format!(
                r#"[helpdesk]
address = "support@example.test"
name = "IT Service Desk"
technicians = ["tech@it.example.test"]
{extra}
[database]
url = "sqlite:state/helpdesk.db"
[inbound]
kind = "maildir"
path = "Maildir"
poll_interval = "1s"
[outbound]
kind = "file"
path = "outbox"
"#
            ),
        )
        .expect("write config");
        Desk { dir, config }
    }

    /// The path of a file in the desk's directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A `helpdesk --config … ARGS` command, ready to run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpdesk"));
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("HELPDESK_LOG")
            .env_remove("RUST_LOG")
            // The triage digest goes out at odd hours of the wall clock: never in tests that
            // count mail (the scheduler's own tests drive it with their own clock).
            .env("HELPDESK_SLA__DIGEST", "off");
        cmd
    }

    /// Runs the binary to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run helpdesk")
    }

    /// Runs the binary with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn helpdesk");
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs the binary, asserts success, and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "helpdesk {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs a `--json` subcommand and parses its output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(&args)).expect("JSON output")
    }

    /// Delivers a message into `Maildir/new/` the way an MDA does (write in tmp/, rename).
    pub fn deliver(&self, name: &str, bytes: &[u8]) {
        let tmp = self.path("Maildir/tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::create_dir_all(self.path("Maildir/new")).unwrap();
        std::fs::write(tmp.join(name), bytes).unwrap();
        std::fs::rename(tmp.join(name), self.path("Maildir/new").join(name)).unwrap();
    }

    /// Files in a subdirectory, sorted.
    pub fn files(&self, rel: &str) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.path(rel)) else {
            return Vec::new();
        };
        let mut v: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        v.sort();
        v
    }
}

/// A fixture message's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mail")
            .join(name),
    )
    .expect("fixture")
}

/// Polls `f` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// Every message fixture: 17 become cases, `reply_with_references` joins `plain`'s case, and
/// three are quarantined (an unattached bounce, a sender-less message and binary junk).
pub const ALL_FIXTURES: &[&str] = &[
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
