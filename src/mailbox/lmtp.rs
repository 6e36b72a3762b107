//! LMTP server (RFC 2033): accepts messages from the local MTA and hands each
//! completed DATA transaction to the helpdesk as one [`Delivery`], answering
//! every recipient with the receiver's single [`Verdict`].
//!
//! Layout: pure decision code (command parsing, session state machine, DATA
//! accounting, reply formatting) sits at the top and is unit-tested; the async
//! I/O shell (binding, accepting, reading lines, writing replies) is thin and
//! sits at the bottom.

use std::fs::Permissions;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[cfg(test)]
mod tests;

/// Longest command line accepted, in bytes, not counting the line end.
pub const MAX_COMMAND_LINE: usize = 4096;

/// Longest reason text copied from a [`Verdict`] into a reply, in characters.
const MAX_REASON_CHARS: usize = 200;

/// Longest piece of client input echoed back in an error reply, in characters.
const MAX_ECHO_CHARS: usize = 64;

/// How long a busy-rejection (`421`) write may take before it is abandoned.
const REJECT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after a failed `accept` (e.g. out of file descriptors) before retrying.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// Where the server listens: the configuration's `[inbound] listen`.
pub use crate::config::Listen;

/// Server settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Largest message accepted, in bytes of dot-unstuffed DATA (the
    /// prepended `Return-Path:` line is not counted). Advertised as `SIZE`.
    pub max_message_size: u64,
    /// Most recipients accepted in one transaction; more get `452 4.5.3`.
    pub max_recipients: usize,
    /// Most concurrent sessions; connections beyond it are greeted with `421`.
    pub max_sessions: usize,
    /// How long to wait for a command or a DATA line before closing with `421`.
    pub idle_timeout: Duration,
    /// Name used in the greeting and the LHLO reply.
    pub hostname: String,
}

impl Default for Options {
    /// 25 MiB messages, 100 recipients, 64 sessions, 300 s idle, `localhost`.
    fn default() -> Self {
        Options {
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            max_sessions: 64,
            idle_timeout: Duration::from_secs(300),
            hostname: "localhost".to_string(),
        }
    }
}

/// One message handed over by the MTA: the bytes exactly as the DATA phase
/// carried them, dot-unstuffed, CRLF line ends kept, with a
/// `Return-Path: <sender>\r\n` line prepended (empty `<>` for the null
/// sender), plus the envelope.
#[derive(Debug)]
pub struct Delivery {
    /// `Return-Path:` line followed by the dot-unstuffed message bytes.
    pub raw: Vec<u8>,
    /// Envelope sender from `MAIL FROM`; empty for the null sender `<>`.
    pub sender: String,
    /// Accepted envelope recipients, in RCPT order.
    pub recipients: Vec<String>,
    /// Where the receiver sends its decision; the LMTP replies wait for it.
    /// Dropping it unanswered makes every recipient get `451 4.3.0`.
    pub reply: oneshot::Sender<Verdict>,
}

/// What the receiver decided about a delivery: one answer for the whole
/// message, given to every recipient of the transaction (several recipients
/// are ONE message, ingested once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Stored: each recipient gets `250 2.0.0`.
    Accepted,
    /// Try again later: each recipient gets `451 4.3.0 <reason>`. (A message helpdesk will
    /// never take is refused before its verdict: over the size limit, 552. Anything else it
    /// takes: as a case, a case message, or into quarantine with the reason.)
    Transient(String),
}

/// A bound LMTP socket, ready to [`serve`](Listener::serve).
#[derive(Debug)]
pub struct Listener {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// Binds (for Unix: removes a stale socket file first, creates the socket,
/// sets mode 0o660) and returns a server handle. Binding errors are returned
/// with the path/address in the message.
///
/// A path that exists but is not a socket, or a socket another process is
/// still listening on, is left alone and reported as an error.
pub async fn bind(listen: &Listen) -> io::Result<Listener> {
    let inner = match listen {
        Listen::Unix(path) => Inner::Unix(
            bind_unix(path)
                .await
                .map_err(|e| annotate(e, &format!("LMTP socket {}", path.display())))?,
        ),
        Listen::Tcp(addr) => Inner::Tcp(
            TcpListener::bind(addr)
                .await
                .map_err(|e| annotate(e, &format!("LMTP address {addr}")))?,
        ),
    };
    Ok(Listener { inner })
}

impl Listener {
    /// The bound TCP address (the tests bind port 0). Fails with
    /// `InvalidInput` for a Unix socket listener.
    #[cfg(test)]
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        match &self.inner {
            Inner::Tcp(l) => l.local_addr(),
            Inner::Unix(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Unix socket listener has no socket address",
            )),
        }
    }

    /// Serves sessions until `cancel` fires; each completed DATA is sent on
    /// `tx`; the reply for it is written only after `Verdict` arrives on the
    /// oneshot (if the oneshot is dropped without an answer, reply 451 4.3.0
    /// to each recipient). On cancel: stop accepting, let sessions in DATA
    /// finish their current message, then close others with 421.
    ///
    /// Returns once every session has ended. The receiver of `tx` must keep
    /// answering (or drop its end) until then, or sessions in DATA wait for it.
    pub async fn serve(
        self,
        options: Options,
        tx: mpsc::Sender<Delivery>,
        cancel: CancellationToken,
    ) -> io::Result<()> {
        let permits = Arc::new(Semaphore::new(
            options.max_sessions.min(Semaphore::MAX_PERMITS),
        ));
        let ctx = Arc::new(Ctx {
            options,
            tx,
            cancel: cancel.clone(),
        });
        let tracker = TaskTracker::new();
        let mut next_id: u64 = 0;
        loop {
            let accepted = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                accepted = self.accept() => accepted,
            };
            match accepted {
                Ok(stream) => {
                    next_id = next_id.wrapping_add(1);
                    let permit = Arc::clone(&permits).try_acquire_owned().ok();
                    spawn_connection(&tracker, stream, Arc::clone(&ctx), permit, next_id);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "LMTP accept failed");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(ACCEPT_RETRY_DELAY) => {}
                    }
                }
            }
        }
        tracing::debug!("LMTP listener stopped accepting; waiting for sessions");
        tracker.close();
        tracker.wait().await;
        Ok(())
    }

    async fn accept(&self) -> io::Result<Stream> {
        match &self.inner {
            Inner::Unix(l) => l.accept().await.map(|(s, _)| Stream::Unix(s)),
            Inner::Tcp(l) => l.accept().await.map(|(s, _)| Stream::Tcp(s)),
        }
    }
}

// ---------------------------------------------------------------------------
// Replies (pure)
// ---------------------------------------------------------------------------

/// One SMTP/LMTP reply: a code and one or more text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    /// A single-line reply; `text` normally starts with the enhanced code.
    fn new(code: u16, text: impl Into<String>) -> Self {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    /// Appends the wire form (`250-a\r\n250 b\r\n`) to `out`.
    fn render(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        if self.lines.is_empty() {
            out.extend_from_slice(format!("{}\r\n", self.code).as_bytes());
        }
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{sep}{line}\r\n", self.code).as_bytes());
        }
    }
}

fn greeting(hostname: &str) -> Reply {
    Reply::new(220, format!("{} LMTP helpdesk ready", printable(hostname)))
}

fn busy_reply() -> Reply {
    Reply::new(421, "4.3.2 too many connections, try later")
}

fn idle_reply() -> Reply {
    Reply::new(421, "4.4.2 idle timeout")
}

fn shutdown_reply(hostname: &str) -> Reply {
    Reply::new(
        421,
        format!("4.3.2 {} shutting down, try later", printable(hostname)),
    )
}

fn start_data_reply() -> Reply {
    Reply::new(354, "start mail input; end with <CRLF>.<CRLF>")
}

fn lhlo_reply(hostname: &str, max_message_size: u64) -> Reply {
    Reply {
        code: 250,
        lines: vec![
            printable(hostname),
            "PIPELINING".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "8BITMIME".to_string(),
            format!("SIZE {max_message_size}"),
        ],
    }
}

fn too_big_reply(size: u64, limit: u64) -> Reply {
    Reply::new(
        552,
        format!("5.3.4 message of {size} bytes exceeds the limit of {limit} bytes"),
    )
}

/// Makes a receiver-supplied reason safe for one reply line: control
/// characters (CR, LF, ...) and runs of whitespace become single spaces, the
/// result is capped at [`MAX_REASON_CHARS`]; empty input yields `fallback`.
fn sanitize_reason(reason: &str, fallback: &str) -> String {
    let cleaned: String = reason
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_REASON_CHARS)
        .collect();
    if cleaned.is_empty() {
        fallback.to_string()
    } else {
        cleaned
    }
}

/// Client input made safe to echo in a reply: no control characters, capped.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(MAX_ECHO_CHARS)
        .collect()
}

/// How a finished DATA transaction ended, before replies are written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DataOutcome {
    /// The body grew past the limit; nothing was delivered.
    TooBig { size: u64, limit: u64 },
    /// The receiver answered.
    Decided(Verdict),
    /// The receiver dropped the delivery (or the channel) without answering.
    NoAnswer,
}

/// The reply for one recipient after DATA.
fn recipient_reply(outcome: &DataOutcome, recipient: &str) -> Reply {
    match outcome {
        DataOutcome::TooBig { size, limit } => too_big_reply(*size, *limit),
        DataOutcome::Decided(Verdict::Accepted) => {
            Reply::new(250, format!("2.0.0 <{recipient}> delivered"))
        }
        DataOutcome::Decided(Verdict::Transient(r)) => Reply::new(
            451,
            format!("4.3.0 {}", sanitize_reason(r, "temporary failure")),
        ),
        DataOutcome::NoAnswer => Reply::new(451, "4.3.0 message not processed, try again later"),
    }
}

/// One reply per accepted recipient, in RCPT order (RFC 2033 section 4.2).
fn data_replies(outcome: &DataOutcome, recipients: &[String]) -> Vec<Reply> {
    recipients
        .iter()
        .map(|r| recipient_reply(outcome, r))
        .collect()
}

// ---------------------------------------------------------------------------
// Command parsing (pure)
// ---------------------------------------------------------------------------

/// A syntactically valid command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Lhlo(String),
    /// HELO or EHLO: wrong protocol.
    Helo,
    Mail {
        from: String,
        size: Option<u64>,
    },
    Rcpt {
        to: String,
    },
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
}

/// Why a command line was refused before reaching the session state machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum CommandError {
    #[error("line too long")]
    TooLong,
    #[error("command is not valid UTF-8")]
    NotUtf8,
    #[error("empty command line")]
    Empty,
    #[error("unknown command {0}")]
    Unknown(String),
    /// Bad syntax: `501 5.5.4`.
    #[error("{0}")]
    Syntax(String),
    /// Parameter we do not support: `555 5.5.4`.
    #[error("{0}")]
    Unsupported(String),
}

impl CommandError {
    fn reply(&self) -> Reply {
        let code = match self {
            CommandError::TooLong
            | CommandError::NotUtf8
            | CommandError::Empty
            | CommandError::Unknown(_) => 500,
            CommandError::Syntax(_) => 501,
            CommandError::Unsupported(_) => 555,
        };
        let enhanced = if code == 500 { "5.5.2" } else { "5.5.4" };
        Reply::new(code, format!("{enhanced} {self}"))
    }
}

fn syntax(msg: impl Into<String>) -> CommandError {
    CommandError::Syntax(msg.into())
}

/// Removes one trailing `\r\n` or `\n`.
fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses one raw command line (line end included or not).
fn parse_line(raw: &[u8]) -> Result<Command, CommandError> {
    let line = strip_eol(raw);
    if line.len() > MAX_COMMAND_LINE {
        return Err(CommandError::TooLong);
    }
    let text = std::str::from_utf8(line).map_err(|_| CommandError::NotUtf8)?;
    parse_command(text)
}

/// Parses a command line without its line end. Command words and the
/// `FROM:`/`TO:` keywords are case-insensitive.
fn parse_command(line: &str) -> Result<Command, CommandError> {
    let line = line.trim_end_matches([' ', '\t']);
    if line.trim().is_empty() {
        return Err(CommandError::Empty);
    }
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word.to_ascii_uppercase().as_str() {
        "LHLO" => parse_lhlo(rest),
        "HELO" | "EHLO" => Ok(Command::Helo),
        "MAIL" => parse_mail(rest),
        "RCPT" => parse_rcpt(rest),
        "DATA" => no_arguments("DATA", rest, Command::Data),
        "RSET" => no_arguments("RSET", rest, Command::Rset),
        "NOOP" => Ok(Command::Noop),
        "QUIT" => Ok(Command::Quit),
        "VRFY" => Ok(Command::Vrfy),
        _ => Err(CommandError::Unknown(printable(word))),
    }
}

fn no_arguments(name: &str, rest: &str, cmd: Command) -> Result<Command, CommandError> {
    if rest.trim().is_empty() {
        Ok(cmd)
    } else {
        Err(syntax(format!("{name} takes no arguments")))
    }
}

fn parse_lhlo(rest: &str) -> Result<Command, CommandError> {
    match rest.trim() {
        "" => Err(syntax("LHLO needs a host name")),
        host => Ok(Command::Lhlo(host.to_string())),
    }
}

fn parse_mail(rest: &str) -> Result<Command, CommandError> {
    let path =
        strip_prefix_ci(rest, "FROM:").ok_or_else(|| syntax("expected MAIL FROM:<address>"))?;
    let (from, params) = parse_path(path.trim_start())?;
    let size = parse_mail_params(params)?;
    Ok(Command::Mail {
        from: from.to_string(),
        size,
    })
}

fn parse_rcpt(rest: &str) -> Result<Command, CommandError> {
    let path = strip_prefix_ci(rest, "TO:").ok_or_else(|| syntax("expected RCPT TO:<address>"))?;
    let (to, params) = parse_path(path.trim_start())?;
    if to.is_empty() {
        return Err(syntax("recipient address must not be empty"));
    }
    if let Some(param) = params.split_whitespace().next() {
        return Err(CommandError::Unsupported(format!(
            "RCPT parameter {} not supported",
            printable(param)
        )));
    }
    Ok(Command::Rcpt { to: to.to_string() })
}

/// `s` without a case-insensitive `prefix`, or `None` when it is absent.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Splits `<address> params` into the address (source route removed) and the
/// trimmed parameter text.
fn parse_path(s: &str) -> Result<(&str, &str), CommandError> {
    let inner = s
        .strip_prefix('<')
        .ok_or_else(|| syntax("address must be enclosed in <>"))?;
    let end = inner
        .find('>')
        .ok_or_else(|| syntax("missing > after the address"))?;
    let (addr, rest) = (&inner[..end], &inner[end + 1..]);
    if addr.chars().any(char::is_whitespace) {
        return Err(syntax("address must not contain spaces"));
    }
    if addr.chars().any(|c| c.is_control() || c == '<') {
        return Err(syntax("address contains invalid characters"));
    }
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(syntax("expected a space after the address"));
    }
    Ok((strip_source_route(addr), rest.trim()))
}

/// Drops an obsolete source route (`@a,@b:user@c` → `user@c`, RFC 5321 4.1.2).
fn strip_source_route(addr: &str) -> &str {
    match (addr.starts_with('@'), addr.split_once(':')) {
        (true, Some((_, mailbox))) => mailbox,
        _ => addr,
    }
}

/// Parses MAIL parameters; only `SIZE=n` and `BODY=7BIT|8BITMIME` are known.
fn parse_mail_params(params: &str) -> Result<Option<u64>, CommandError> {
    let mut size = None;
    let mut body_seen = false;
    for param in params.split_whitespace() {
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        match (key.to_ascii_uppercase().as_str(), value) {
            ("SIZE", Some(v)) if size.is_none() => size = Some(parse_size(v)?),
            ("BODY", Some(v)) if !body_seen => {
                check_body(v)?;
                body_seen = true;
            }
            ("SIZE", Some(_)) | ("BODY", Some(_)) => {
                return Err(syntax(format!(
                    "duplicate {} parameter",
                    key.to_ascii_uppercase()
                )))
            }
            ("SIZE", None) | ("BODY", None) => {
                return Err(syntax(format!(
                    "{} needs a value",
                    key.to_ascii_uppercase()
                )))
            }
            _ => {
                return Err(CommandError::Unsupported(format!(
                    "unknown MAIL parameter {}",
                    printable(key)
                )))
            }
        }
    }
    Ok(size)
}

fn parse_size(v: &str) -> Result<u64, CommandError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax(format!("SIZE={} is not a number", printable(v))));
    }
    // All digits but too large for u64: treat as "huge", caught by the limit.
    Ok(v.parse::<u64>().unwrap_or(u64::MAX))
}

fn check_body(v: &str) -> Result<(), CommandError> {
    if v.eq_ignore_ascii_case("7BIT") || v.eq_ignore_ascii_case("8BITMIME") {
        Ok(())
    } else {
        Err(CommandError::Unsupported(format!(
            "BODY={} not supported",
            printable(v)
        )))
    }
}

// ---------------------------------------------------------------------------
// Session state machine (pure)
// ---------------------------------------------------------------------------

/// What the I/O shell must do after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// Queue this reply and read the next command.
    Reply(Reply),
    /// Send this reply and close the connection.
    Close(Reply),
    /// Send 354 and read the message body.
    StartData,
}

/// Per-connection protocol state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Session {
    greeted: bool,
    sender: Option<String>,
    recipients: Vec<String>,
}

impl Session {
    /// Clears the envelope, keeping the LHLO state.
    fn reset_transaction(&mut self) {
        self.sender = None;
        self.recipients.clear();
    }

    /// Decides what a parsed (or refused) command line leads to.
    fn step(&mut self, cmd: Result<Command, CommandError>, opts: &Options) -> Action {
        let cmd = match cmd {
            Ok(cmd) => cmd,
            Err(e) => return Action::Reply(e.reply()),
        };
        if !self.greeted && needs_lhlo(&cmd) {
            return Action::Reply(Reply::new(503, "5.5.1 send LHLO first"));
        }
        match cmd {
            Command::Lhlo(_) => {
                self.greeted = true;
                self.reset_transaction();
                Action::Reply(lhlo_reply(&opts.hostname, opts.max_message_size))
            }
            Command::Helo => Action::Reply(Reply::new(500, "5.5.1 this is LMTP: say LHLO")),
            Command::Mail { from, size } => Action::Reply(self.mail(from, size, opts)),
            Command::Rcpt { to } => Action::Reply(self.rcpt(to, opts)),
            Command::Data => self.data(),
            Command::Rset => {
                self.reset_transaction();
                Action::Reply(Reply::new(250, "2.0.0 OK"))
            }
            Command::Noop => Action::Reply(Reply::new(250, "2.0.0 OK")),
            Command::Quit => Action::Close(Reply::new(
                221,
                format!("2.0.0 {} closing connection", printable(&opts.hostname)),
            )),
            Command::Vrfy => Action::Reply(Reply::new(
                252,
                "2.5.0 cannot VRFY user, but will accept message",
            )),
        }
    }

    fn mail(&mut self, from: String, size: Option<u64>, opts: &Options) -> Reply {
        if self.sender.is_some() {
            return Reply::new(503, "5.5.1 nested MAIL command");
        }
        if let Some(size) = size.filter(|s| *s > opts.max_message_size) {
            return too_big_reply(size, opts.max_message_size);
        }
        let reply = Reply::new(250, format!("2.1.0 <{from}> sender OK"));
        self.sender = Some(from);
        reply
    }

    fn rcpt(&mut self, to: String, opts: &Options) -> Reply {
        if self.sender.is_none() {
            return Reply::new(503, "5.5.1 need MAIL before RCPT");
        }
        if self.recipients.len() >= opts.max_recipients {
            return Reply::new(452, "4.5.3 too many recipients");
        }
        let reply = Reply::new(250, format!("2.1.5 <{to}> recipient OK"));
        self.recipients.push(to);
        reply
    }

    fn data(&self) -> Action {
        if self.sender.is_none() {
            Action::Reply(Reply::new(503, "5.5.1 need MAIL before DATA"))
        } else if self.recipients.is_empty() {
            Action::Reply(Reply::new(503, "5.5.1 no valid recipients"))
        } else {
            Action::StartData
        }
    }
}

/// Commands that are refused with 503 until LHLO has been seen.
fn needs_lhlo(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Mail { .. } | Command::Rcpt { .. } | Command::Data | Command::Vrfy
    )
}

// ---------------------------------------------------------------------------
// DATA accounting (pure)
// ---------------------------------------------------------------------------

/// A line as read from the wire: at most `cap` bytes kept, `total` counted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CappedLine {
    /// The first bytes of the line, line end included if it fit.
    stored: Vec<u8>,
    /// Full length of the line on the wire, line end included.
    total: u64,
}

impl CappedLine {
    fn is_complete(&self) -> bool {
        self.stored.len() as u64 == self.total
    }
}

/// Whether a complete DATA line is the terminating `.` line.
fn is_end_of_data(line: &[u8]) -> bool {
    line == b".\r\n" || line == b".\n"
}

/// Removes the transparency dot (RFC 5321 4.5.2) from a DATA line.
fn unstuff(line: &[u8]) -> &[u8] {
    line.strip_prefix(b".").unwrap_or(line)
}

/// Whether DATA reading goes on after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataStep {
    More,
    End,
}

/// Accumulates a message body with size accounting. Once the limit is passed
/// the body is dropped, but the size keeps counting for the 552 reply.
#[derive(Debug)]
struct DataBody {
    raw: Vec<u8>,
    size: u64,
    limit: u64,
    too_big: bool,
}

impl DataBody {
    fn new(prefix: Vec<u8>, limit: u64) -> Self {
        DataBody {
            raw: prefix,
            size: 0,
            limit,
            too_big: false,
        }
    }

    /// How many bytes of the next line are worth keeping: enough for the whole
    /// line while it could still fit, and enough to spot the end dot.
    fn line_cap(&self) -> usize {
        if self.too_big {
            return 3;
        }
        let room = self.limit.saturating_sub(self.size);
        usize::try_from(room)
            .unwrap_or(usize::MAX)
            .saturating_add(3)
    }

    fn push(&mut self, line: &CappedLine) -> DataStep {
        let complete = line.is_complete();
        if complete && is_end_of_data(&line.stored) {
            return DataStep::End;
        }
        let stuffed = line.stored.first() == Some(&b'.');
        self.size = self
            .size
            .saturating_add(line.total.saturating_sub(u64::from(stuffed)));
        if !complete || self.size > self.limit {
            self.mark_too_big();
        } else if !self.too_big {
            self.raw.extend_from_slice(unstuff(&line.stored));
        }
        DataStep::More
    }

    fn mark_too_big(&mut self) {
        self.too_big = true;
        self.raw = Vec::new();
    }
}

/// The `Return-Path:` line prepended to every delivery.
fn return_path_line(sender: &str) -> Vec<u8> {
    format!("Return-Path: <{sender}>\r\n").into_bytes()
}

/// Whether queued replies must go out now: the next command is not already
/// fully buffered, so reading it may block on the client.
fn must_flush(buffered: &[u8]) -> bool {
    !buffered.contains(&b'\n')
}

// ---------------------------------------------------------------------------
// I/O shell
// ---------------------------------------------------------------------------

fn annotate(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

async fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    remove_stale_socket(path).await?;
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, Permissions::from_mode(0o660))?;
    Ok(listener)
}

/// Removes a leftover socket file nobody listens on; refuses other files.
async fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "path exists and is not a socket",
        ));
    }
    if UnixStream::connect(path).await.is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another server is listening on this socket",
        ));
    }
    std::fs::remove_file(path)
}

/// An accepted connection of either kind.
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

/// State shared by all sessions of one `serve` call.
struct Ctx {
    options: Options,
    tx: mpsc::Sender<Delivery>,
    cancel: CancellationToken,
}

fn spawn_connection(
    tracker: &TaskTracker,
    stream: Stream,
    ctx: Arc<Ctx>,
    permit: Option<OwnedSemaphorePermit>,
    id: u64,
) {
    match stream {
        Stream::Unix(s) => tracker.spawn(handle_connection(s, ctx, permit, id)),
        Stream::Tcp(s) => tracker.spawn(handle_connection(s, ctx, permit, id)),
    };
}

async fn handle_connection<S>(
    stream: S,
    ctx: Arc<Ctx>,
    permit: Option<OwnedSemaphorePermit>,
    id: u64,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(_permit) = permit else {
        tracing::warn!(
            session = id,
            "LMTP session limit reached; refusing connection"
        );
        reject_busy(stream).await;
        return;
    };
    tracing::debug!(session = id, "LMTP session opened");
    match run_session(stream, &ctx).await {
        Ok(()) => tracing::debug!(session = id, "LMTP session closed"),
        Err(e) => tracing::debug!(session = id, error = %e, "LMTP session ended by I/O error"),
    }
}

async fn reject_busy<S: AsyncWrite + Unpin>(mut stream: S) {
    let mut out = Vec::new();
    busy_reply().render(&mut out);
    let write = async {
        stream.write_all(&out).await?;
        stream.shutdown().await
    };
    if let Err(e) = tokio::time::timeout(REJECT_WRITE_TIMEOUT, write).await {
        tracing::debug!(error = %e, "LMTP busy reply timed out");
    }
}

/// One connection: buffered reader plus a queue of unsent replies.
struct Conn<S> {
    io: BufReader<S>,
    outbox: Vec<u8>,
    idle: Duration,
}

/// Result of waiting for a line.
enum Input {
    Line(CappedLine),
    Eof,
    Idle,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn queue(&mut self, reply: &Reply) {
        reply.render(&mut self.outbox);
    }

    async fn flush(&mut self) -> io::Result<()> {
        let idle = self.idle;
        let write = async {
            let stream = self.io.get_mut();
            stream.write_all(&self.outbox).await?;
            stream.flush().await
        };
        match tokio::time::timeout(idle, write).await {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")),
        }
        self.outbox.clear();
        Ok(())
    }

    async fn flush_if_waiting(&mut self) -> io::Result<()> {
        if must_flush(self.io.buffer()) {
            self.flush().await?;
        }
        Ok(())
    }

    async fn send_now(&mut self, reply: &Reply) -> io::Result<()> {
        self.queue(reply);
        self.flush().await
    }

    async fn read_line(&mut self, cap: usize) -> io::Result<Input> {
        match tokio::time::timeout(self.idle, read_line_capped(&mut self.io, cap)).await {
            Err(_) => Ok(Input::Idle),
            Ok(Ok(Some(line))) => Ok(Input::Line(line)),
            Ok(Ok(None)) => Ok(Input::Eof),
            Ok(Err(e)) => Err(e),
        }
    }
}

/// Reads one line up to and including `\n`, keeping at most `cap` bytes and
/// discarding the rest. `None` at end of input (a partial last line is lost).
async fn read_line_capped<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    cap: usize,
) -> io::Result<Option<CappedLine>> {
    let mut line = CappedLine {
        stored: Vec::new(),
        total: 0,
    };
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(None);
        }
        let (len, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = cap.saturating_sub(line.stored.len());
        line.stored.extend_from_slice(&buf[..len.min(room)]);
        line.total = line.total.saturating_add(len as u64);
        reader.consume(len);
        if done {
            return Ok(Some(line));
        }
    }
}

async fn run_session<S: AsyncRead + AsyncWrite + Unpin>(stream: S, ctx: &Ctx) -> io::Result<()> {
    let opts = &ctx.options;
    let mut conn = Conn {
        io: BufReader::new(stream),
        outbox: Vec::new(),
        idle: opts.idle_timeout,
    };
    conn.send_now(&greeting(&opts.hostname)).await?;
    let mut session = Session::default();
    loop {
        conn.flush_if_waiting().await?;
        let input = tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => None,
            input = conn.read_line(MAX_COMMAND_LINE + 2) => Some(input?),
        };
        let line = match input {
            None => return conn.send_now(&shutdown_reply(&opts.hostname)).await,
            Some(Input::Line(line)) => line,
            Some(Input::Eof) => return conn.flush().await,
            Some(Input::Idle) => return conn.send_now(&idle_reply()).await,
        };
        let parsed = if line.is_complete() {
            parse_line(&line.stored)
        } else {
            Err(CommandError::TooLong)
        };
        match session.step(parsed, opts) {
            Action::Reply(reply) => conn.queue(&reply),
            Action::Close(reply) => return conn.send_now(&reply).await,
            Action::StartData => {
                conn.send_now(&start_data_reply()).await?;
                if !receive_message(&mut conn, &mut session, ctx).await? {
                    return Ok(());
                }
            }
        }
    }
}

/// Reads the body, hands it over, queues the per-recipient replies and resets
/// the transaction. Returns `false` when the session must end.
async fn receive_message<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    session: &mut Session,
    ctx: &Ctx,
) -> io::Result<bool> {
    let sender = session.sender.clone().unwrap_or_default();
    let mut body = DataBody::new(return_path_line(&sender), ctx.options.max_message_size);
    loop {
        match conn.read_line(body.line_cap()).await? {
            Input::Line(line) => {
                if body.push(&line) == DataStep::End {
                    break;
                }
            }
            Input::Eof => return Ok(false),
            Input::Idle => {
                conn.send_now(&idle_reply()).await?;
                return Ok(false);
            }
        }
    }
    let recipients = std::mem::take(&mut session.recipients);
    let outcome = if body.too_big {
        DataOutcome::TooBig {
            size: body.size,
            limit: body.limit,
        }
    } else {
        conn.flush().await?;
        deliver(ctx, body.raw, sender, recipients.clone()).await
    };
    for reply in data_replies(&outcome, &recipients) {
        conn.queue(&reply);
    }
    session.reset_transaction();
    Ok(true)
}

/// Hands one message to the receiver and waits for its verdict.
async fn deliver(ctx: &Ctx, raw: Vec<u8>, sender: String, recipients: Vec<String>) -> DataOutcome {
    let (reply, verdict) = oneshot::channel();
    let delivery = Delivery {
        raw,
        sender,
        recipients,
        reply,
    };
    if ctx.tx.send(delivery).await.is_err() {
        tracing::warn!("LMTP delivery receiver is gone; answering 451");
        return DataOutcome::NoAnswer;
    }
    match verdict.await {
        Ok(v) => DataOutcome::Decided(v),
        Err(_) => {
            tracing::warn!("LMTP delivery dropped without a verdict; answering 451");
            DataOutcome::NoAnswer
        }
    }
}
