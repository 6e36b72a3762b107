//! Where rendered mail goes. SMTP submits through lettre's SMTP connections (rustls; up to
//! `outbound.connections` at once, each kept open between mails and reused). A connection
//! sends the next mail's envelope while the previous mail's "sent" mark is being committed,
//! but holds that mail's final dot until the mark is in (see [`Unrecorded`]). Failures are
//! classified from the server's reply: 5xx is permanent except for authentication trouble,
//! which is the configuration's fault and not the message's, and everything else (4xx,
//! connection, TLS, timeouts) is retried. The file transport writes one
//! `.eml` per outbox row (0600), named after the row, atomically and durably (temporary file,
//! fsync, rename, fsync of the directory), so a resend after a crash replaces the same file
//! instead of adding a second one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use std::fmt;
use std::time::Instant;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::{ClientId, Extension, ServerInfo};
use tokio::sync::{oneshot, Semaphore};
use tokio_rustls::TlsConnector;

use crate::config::{Security, ServerSettings, TransportSettings};
use crate::net::{self, Cause, Peer, Protocol, ServerError, Step, Stream};

/// How long one SMTP exchange may take before the attempt counts as failed (and is retried).
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a connection to be ready (TCP, TLS, greeting, login).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A kept connection unused for this long is closed and replaced (servers drop idle clients).
const MAX_IDLE: Duration = Duration::from_secs(30);

/// A failed send, classified.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// What went wrong, with advice where there is some.
    pub message: String,
    /// Whether a later attempt may succeed.
    pub transient: bool,
}

/// A configured transport, built once and reused by the worker.
#[derive(Debug, Clone)]
pub enum Transport {
    /// One `.eml` file per mail in this directory.
    File {
        /// The directory, created when missing.
        dir: PathBuf,
    },
    /// An SMTP server.
    Smtp(Arc<SmtpClient>),
}

impl Transport {
    /// Delivers one formatted message for outbox row `row_id`. The caller holds the returned
    /// [`Unrecorded`] until the mail is recorded as sent.
    ///
    /// # Errors
    /// I/O failures, classified as transient (a full disk may be emptied).
    pub async fn send(&self, mail: &Outgoing<'_>) -> Result<Unrecorded, SendError> {
        match self {
            Transport::File { dir } => {
                write_file(dir, mail.row_id, mail.ticket, mail.bytes).await?;
                // A file sent again replaces itself: nothing to hold back.
                Ok(Unrecorded::default())
            }
            Transport::Smtp(client) => {
                let parse = |a: &str| {
                    a.parse().map_err(|e| SendError {
                        message: format!("invalid address {a:?}: {e}"),
                        transient: false,
                    })
                };
                let envelope = Envelope::new(Some(parse(mail.from)?), vec![parse(mail.to)?])
                    .map_err(|e| SendError {
                        message: format!("invalid envelope: {e}"),
                        transient: false,
                    })?;
                client.send(&envelope, mail.bytes).await
            }
        }
    }

    /// Builds the configured transport once; SMTP connections open on first use.
    ///
    /// # Errors
    /// The CA file cannot be read or TLS cannot be set up ([`Step::Setup`]).
    pub fn build(
        settings: &TransportSettings,
        connections: usize,
    ) -> Result<Transport, ServerError> {
        match settings {
            TransportSettings::File { dir } => Ok(Transport::File { dir: dir.clone() }),
            TransportSettings::Smtp(server) => {
                Ok(Transport::Smtp(Arc::new(smtp_client(server, connections)?)))
            }
        }
    }

    /// Human description for logs and `check`.
    pub fn describe(&self) -> String {
        match self {
            Transport::File { dir } => format!("file transport into {}", dir.display()),
            Transport::Smtp(client) => client.describe().to_owned(),
        }
    }
}

/// One formatted mail and its envelope.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The outbox row.
    pub row_id: i64,
    /// Its case's ticket, for the file name.
    pub ticket: Option<&'a str>,
    /// Envelope sender.
    pub from: &'a str,
    /// Envelope recipient.
    pub to: &'a str,
    /// The RFC 5322 message.
    pub bytes: &'a [u8],
}

/// An SMTP client for `server`, not yet connected: TLS prepared (the bundled roots plus
/// `ca_file`), the login and the description for logs and `check`.
///
/// # Errors
/// The CA file cannot be read or TLS cannot be set up ([`Step::Setup`]).
pub fn smtp_client(server: &ServerSettings, connections: usize) -> Result<SmtpClient, ServerError> {
    let peer = Peer {
        protocol: Protocol::Smtp,
        host: server.host.clone(),
        port: server.port,
        step_timeout: CONNECT_TIMEOUT,
    };
    let ca_problem = |reason: String| {
        let file = server.ca_file.clone().unwrap_or_default();
        let reason = format!("outbound.ca_file {}: {reason}", file.display());
        peer.fail(Step::Setup, "TLS setup", Cause::Setup(reason))
    };
    let mut tls = TlsParameters::builder(server.host.clone());
    if let Some(path) = &server.ca_file {
        let pem = std::fs::read(path).map_err(|e| ca_problem(e.to_string()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| ca_problem(e.to_string()))?;
        tls = tls.add_root_certificate(cert);
    }
    let starttls = tls.build_rustls().map_err(|e| ca_problem(e.to_string()))?;
    let config = net::client_config(server.ca_file.as_deref()).map_err(ca_problem)?;
    let mode = server.security.label();
    let mut describe = format!("smtp://{}:{} ({mode}", server.host, server.port);
    if let Some((user, _)) = &server.login {
        describe.push_str(&format!(", as {user}"));
    }
    describe.push(')');
    Ok(SmtpClient {
        peer,
        security: server.security,
        credentials: server
            .login
            .as_ref()
            .map(|(u, p)| Credentials::new(u.clone(), p.expose().to_owned())),
        starttls,
        tls: TlsConnector::from(Arc::new(config)),
        hello: ClientId::default(),
        describe,
        free: std::sync::Mutex::new(empty_slots(connections)),
        slots: Semaphore::new(connections.max(1)),
        connections: connections.max(1),
    })
}

/// Held from the server's acceptance of a mail until the mail is recorded as sent; dropping it
/// says the mail is recorded (or never will be). Until then the connection that carried it
/// sends no other mail's final dot: it may send the next envelope and wait at `DATA`, so a
/// crash leaves at most one accepted and unrecorded mail per connection (each sent again
/// after the restart), while no connection idles for the database's commit.
#[derive(Debug, Default)]
#[must_use = "hold it until the mail is recorded as sent"]
pub struct Unrecorded {
    /// Only dropped: its receiver, in the slot, wakes then.
    _recorded: Option<oneshot::Sender<()>>,
}

/// One of the `outbound.connections` places a connection can be in, whether or not one is
/// open: the limit of one unrecorded mail holds for the place, across reconnections.
#[derive(Default)]
struct Slot {
    /// The open connection, when it is not in use, with when it was last used.
    conn: Option<(Open, Instant)>,
    /// The last mail accepted here, until it is recorded.
    previous: Option<oneshot::Receiver<()>>,
}

/// An open connection ready for mail, and whether its server takes commands in batches.
struct Open {
    conn: AsyncSmtpConnection,
    /// The server offers PIPELINING (RFC 2920): the envelope goes out in one write.
    pipelining: bool,
}

fn empty_slots(connections: usize) -> Vec<Slot> {
    (0..connections.max(1)).map(|_| Slot::default()).collect()
}

/// A slot in use, handed back to the free ones when dropped (a send that is cancelled or
/// times out leaves no connection half-way through a mail in it: the connection is taken out
/// while it is used and put back only between mails).
struct Taken<'a> {
    client: &'a SmtpClient,
    slot: Slot,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let slot = std::mem::take(&mut self.slot);
        self.client.free().push(slot);
    }
}

/// How one mail's exchange on an open connection ended, when it did not end in acceptance.
enum Failure {
    /// The first command failed without an answer: a kept connection the server had closed,
    /// or a fresh one that broke; no part of the mail reached the server.
    Unused(lettre::transport::smtp::Error),
    /// The server refused, or the connection failed once the mail had started.
    Smtp(lettre::transport::smtp::Error),
    /// The server does not offer an extension this mail needs.
    Unsupported(String),
    TimedOut,
}

/// An SMTP client with up to `connections` sessions at once, each kept open between mails
/// and replaced when it is broken or has been idle too long.
pub struct SmtpClient {
    peer: Peer,
    security: Security,
    credentials: Option<Credentials>,
    /// For STARTTLS, which lettre performs.
    starttls: TlsParameters,
    /// For implicit TLS, which we perform before lettre reads the greeting.
    tls: TlsConnector,
    hello: ClientId,
    describe: String,
    /// The slots not in use (one per connection that may be open).
    free: std::sync::Mutex<Vec<Slot>>,
    /// One permit per free slot.
    slots: Semaphore,
    connections: usize,
}

impl fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe)
    }
}

impl SmtpClient {
    async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<Unrecorded, SendError> {
        // Never closed: acquiring only waits for a slot to be free, and a permit means one is.
        let _permit = self.slots.acquire().await;
        let slot = self.free().pop().unwrap_or_default();
        let mut taken = Taken { client: self, slot };
        let (mut conn, mut reused) = match taken.slot.conn.take() {
            Some((c, used)) if !c.conn.has_broken() && used.elapsed() < MAX_IDLE => (c, true),
            Some((mut c, _)) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), c.conn.quit()).await;
                (self.connect().await?, false)
            }
            None => (self.connect().await?, false),
        };
        loop {
            let exchange = Self::mail(&mut conn, envelope, bytes, &mut taken.slot.previous);
            let failure = match tokio::time::timeout(SMTP_TIMEOUT, exchange).await {
                Ok(Ok(())) => {
                    let (recorded, previous) = oneshot::channel();
                    taken.slot.previous = Some(previous);
                    taken.slot.conn = Some((conn, Instant::now()));
                    return Ok(Unrecorded {
                        _recorded: Some(recorded),
                    });
                }
                Ok(Err(failure)) => failure,
                Err(_) => Failure::TimedOut,
            };
            let e = match failure {
                // The server may have closed a kept connection meanwhile: one fresh try.
                Failure::Unused(_) if reused => {
                    reused = false;
                    conn = self.connect().await?;
                    continue;
                }
                Failure::Unused(e) | Failure::Smtp(e) => e,
                Failure::Unsupported(message) => return Err(self.retry_later(&message)),
                Failure::TimedOut => return Err(self.retry_later(&no_answer(""))),
            };
            if e.is_response() {
                // Refused: say goodbye rather than leave the server waiting.
                let _ = tokio::time::timeout(Duration::from_secs(5), conn.conn.abort()).await;
            }
            return Err(classify(&self.describe, &e));
        }
    }

    /// One mail on an open connection: the envelope (`MAIL`, `RCPT`, `DATA`, with the
    /// parameters lettre's own `send` gives; in one write when the server offers PIPELINING),
    /// then, once the connection's previous mail is recorded, the message and its final dot in
    /// one write.
    async fn mail(
        open: &mut Open,
        envelope: &Envelope,
        bytes: &[u8],
        previous: &mut Option<oneshot::Receiver<()>>,
    ) -> Result<(), Failure> {
        use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
        use lettre::transport::smtp::extension::{MailBodyParameter, MailParameter};
        let conn = &mut open.conn;
        let info = conn.server_info();
        let mut options = Vec::new();
        let non_ascii = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(Failure::Unsupported(
                    "the envelope has non-ASCII addresses and the server does not offer SMTPUTF8"
                        .into(),
                ));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !bytes.is_ascii() {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(Failure::Unsupported(
                    "the message is not ASCII and the server does not offer 8BITMIME".into(),
                ));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let from = Mail::new(envelope.from().cloned(), options);
        let first = |e: lettre::transport::smtp::Error| {
            if e.is_response() {
                Failure::Smtp(e)
            } else {
                Failure::Unused(e)
            }
        };
        if open.pipelining {
            let mut commands = from.to_string();
            for to in envelope.to() {
                commands.push_str(&Rcpt::new(to.clone(), vec![]).to_string());
            }
            commands.push_str(&Data.to_string());
            // Each command's answer in turn; the first refusal ends the mail (and the
            // connection, so the answers left unread do not matter).
            conn.command(Verbatim(&commands)).await.map_err(first)?;
            for _ in envelope.to() {
                conn.read_response().await.map_err(Failure::Smtp)?;
            }
            conn.read_response().await.map_err(Failure::Smtp)?;
        } else {
            conn.command(from).await.map_err(first)?;
            for to in envelope.to() {
                conn.command(Rcpt::new(to.clone(), vec![]))
                    .await
                    .map_err(Failure::Smtp)?;
            }
            conn.command(Data).await.map_err(Failure::Smtp)?;
        }
        // Awaited in place, not taken: a send cancelled while it waits leaves the wait in the
        // slot for the next mail.
        if let Some(previous) = previous.as_mut() {
            // Recorded, or given up on (its holder dropped it either way).
            let _ = previous.await;
        }
        *previous = None;
        let data = transparent(bytes);
        match std::str::from_utf8(&data) {
            Ok(text) => conn.command(Verbatim(text)).await,
            // Bytes that are not text: lettre's own writer, the message and the dot apart.
            Err(_) => conn.message(bytes).await,
        }
        .map_err(Failure::Smtp)?;
        Ok(())
    }

    /// A failure worth another attempt later, named after the server.
    fn retry_later(&self, what: &str) -> SendError {
        SendError {
            message: format!("{}: {what}", self.describe),
            transient: true,
        }
    }

    /// The free slots (a panic elsewhere cannot leave them half-changed: each change is one
    /// push or pop).
    fn free(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An open connection for mail, and whether the server offers PIPELINING (lettre does not
    /// keep that keyword: a second EHLO, which RFC 5321 allows at any time, reads it).
    async fn connect(&self) -> Result<Open, SendError> {
        let mut conn = self.open().await.map_err(|e| {
            let transient = match &e.cause {
                Cause::Smtp(smtp) => classify("", smtp).transient,
                _ => true,
            };
            SendError {
                message: e.to_string(),
                transient,
            }
        })?;
        let ehlo = lettre::transport::smtp::commands::Ehlo::new(self.hello.clone());
        let pipelining = match tokio::time::timeout(SMTP_TIMEOUT, conn.command(ehlo)).await {
            Ok(Ok(reply)) => reply
                .message()
                .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING")),
            Ok(Err(e)) => return Err(classify(&self.describe, &e)),
            Err(_) => return Err(self.retry_later(&no_answer(" to EHLO"))),
        };
        Ok(Open { conn, pipelining })
    }

    /// `smtp://host:port (STARTTLS, as user)`, for logs and `check`.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// The same client with another limit on each opening step (`check` waits less).
    pub fn with_step_timeout(&self, timeout: Duration) -> SmtpClient {
        SmtpClient {
            peer: Peer {
                step_timeout: timeout,
                ..self.peer.clone()
            },
            security: self.security,
            credentials: self.credentials.clone(),
            starttls: self.starttls.clone(),
            tls: self.tls.clone(),
            hello: self.hello.clone(),
            describe: self.describe.clone(),
            free: std::sync::Mutex::new(empty_slots(self.connections)),
            slots: Semaphore::new(self.connections),
            connections: self.connections,
        }
    }

    /// Opens a connection ready for mail: TCP, TLS, greeting and EHLO, STARTTLS when
    /// configured, AUTH when a login is. Each step has the step timeout and names itself
    /// when it fails; STARTTLS and AUTH that the server does not offer fail before they are
    /// tried, with what it offers instead.
    ///
    /// # Errors
    /// The step that failed and why.
    pub async fn open(&self) -> Result<AsyncSmtpConnection, ServerError> {
        let peer = &self.peer;
        let wait = peer.step_timeout;
        let tcp = peer.connect().await?;
        let stream = match self.security {
            Security::Tls => Stream::Tls(Box::new(peer.handshake(&self.tls, tcp).await?)),
            Security::None | Security::Starttls => Stream::Plain(tcp),
        };
        let greeting = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello);
        let mut conn = peer
            .within(wait, Step::Greeting, "greeting", greeting)
            .await?
            .map_err(|e| peer.fail(Step::Greeting, "greeting or EHLO", Cause::Smtp(e)))?;
        if self.security == Security::Starttls {
            if !conn.can_starttls() {
                let offers = features(conn.server_info());
                conn.abort().await;
                return Err(peer.fail(Step::Starttls, "STARTTLS", Cause::NotOffered(offers)));
            }
            let upgrade = conn.starttls(self.starttls.clone(), &self.hello);
            if let Err(e) = peer
                .within(wait, Step::Starttls, "STARTTLS", upgrade)
                .await?
            {
                // lettre sends STARTTLS and shakes hands in one call: an error without a reply
                // code is the handshake's.
                let step = match e.status() {
                    Some(_) => Step::Starttls,
                    None => Step::Tls,
                };
                return Err(peer.fail(step, "STARTTLS", Cause::Smtp(e)));
            }
        }
        if let Some(credentials) = &self.credentials {
            if conn.server_info().get_auth_mechanism(&MECHANISMS).is_none() {
                let offers = features(conn.server_info());
                conn.abort().await;
                return Err(peer.fail(Step::Auth, "AUTH", Cause::NotOffered(offers)));
            }
            let auth = conn.auth(&MECHANISMS, credentials);
            if let Err(e) = peer.within(wait, Step::Auth, "AUTH", auth).await? {
                conn.abort().await;
                return Err(peer.fail(Step::Auth, "AUTH", Cause::Smtp(e)));
            }
        }
        Ok(conn)
    }
}

/// `no answer{what} within 60 s`.
fn no_answer(what: &str) -> String {
    format!("no answer{what} within {} s", SMTP_TIMEOUT.as_secs())
}

/// Text sent as it is (lettre's `command` writes what it is given and reads one answer).
struct Verbatim<'a>(&'a str);

impl fmt::Display for Verbatim<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A message as `DATA` carries it (RFC 5321 4.5.2): a dot starting a line gets another, and
/// the final `CRLF . CRLF` ends it, byte for byte what lettre's own writer sends, in one piece.
fn transparent(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    let mut line_start = true;
    let mut after_cr = false;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = after_cr && b == b'\n';
        after_cr = b == b'\r';
    }
    out.extend_from_slice(b"\r\n.\r\n");
    out
}

/// The login mechanisms helpdesk uses, in order of preference.
const MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

/// The EHLO keywords helpdesk cares about, e.g. `STARTTLS, AUTH PLAIN LOGIN, 8BITMIME`.
pub fn features(info: &ServerInfo) -> String {
    let mut out = Vec::new();
    if info.supports_feature(Extension::StartTls) {
        out.push("STARTTLS".to_owned());
    }
    let auth: Vec<&str> = [
        (Mechanism::Plain, "PLAIN"),
        (Mechanism::Login, "LOGIN"),
        (Mechanism::Xoauth2, "XOAUTH2"),
    ]
    .into_iter()
    .filter(|(m, _)| info.supports_auth_mechanism(*m))
    .map(|(_, name)| name)
    .collect();
    if !auth.is_empty() {
        out.push(format!("AUTH {}", auth.join(" ")));
    }
    if info.supports_feature(Extension::EightBitMime) {
        out.push("8BITMIME".to_owned());
    }
    if info.supports_feature(Extension::SmtpUtfEight) {
        out.push("SMTPUTF8".to_owned());
    }
    if out.is_empty() {
        "no extensions".to_owned()
    } else {
        out.join(", ")
    }
}

/// Sorts an SMTP failure into retry or give up, with the server's answer in the message.
fn classify(server: &str, e: &lettre::transport::smtp::Error) -> SendError {
    let code = e.status().map(|c| c.to_string());
    // 530/534/535/538: authentication required or refused: a configuration problem that every
    // message would hit, so no message is given up on for it.
    let auth = code
        .as_deref()
        .is_some_and(|c| matches!(c, "530" | "534" | "535" | "538"));
    let mut message = format!("{server}: {e}");
    if auth {
        message.push_str(" (check outbound.username and outbound.password)");
    } else if e.is_tls() || e.to_string().contains("certificate") {
        message.push_str(" (check outbound.security, outbound.host and outbound.ca_file)");
    }
    SendError {
        message,
        transient: !e.is_permanent() || auth,
    }
}

async fn write_file(
    dir: &Path,
    row_id: i64,
    ticket: Option<&str>,
    message: &[u8],
) -> Result<(), SendError> {
    use std::io::Write;
    let name = match ticket {
        Some(t) => format!("{row_id:08}-{t}.eml"),
        None => format!("{row_id:08}.eml"),
    };
    let dir = dir.to_path_buf();
    let message = message.to_vec();
    // Blocking file calls (a handful per mail, each an fsync or close to it): off the async
    // workers in one hop rather than one per call.
    tokio::task::spawn_blocking(move || {
        let io = |what: &str, e: std::io::Error| SendError {
            message: format!("cannot {what} in {}: {e}", dir.display()),
            transient: true,
        };
        crate::files::create_dir_all(&dir).map_err(|e| io("create the outbox directory", e))?;
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut file = crate::files::write_options()
            .open(&tmp)
            .map_err(|e| io("create a file", e))?;
        file.write_all(&message).map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("sync", e))?;
        drop(file);
        std::fs::rename(&tmp, dir.join(&name)).map_err(|e| io("rename", e))?;
        // The rename is on disk before the row is marked sent.
        crate::files::sync_dir(&dir).map_err(|e| io("sync the directory", e))
    })
    .await
    .map_err(|e| SendError {
        message: format!("the file transport's task failed: {e}"),
        transient: true,
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_doubles_each_leading_dot_and_ends_with_the_final_dot() {
        let cases: [(&[u8], &[u8]); 5] = [
            (b"Hi\r\n", b"Hi\r\n\r\n.\r\n"),
            (b".start\r\nx", b"..start\r\nx\r\n.\r\n"),
            (b"a\r\n.\r\n..b\r\n", b"a\r\n..\r\n...b\r\n\r\n.\r\n"),
            // A dot after a bare CR or LF does not start a line.
            (b"a\r.b\n.c", b"a\r.b\n.c\r\n.\r\n"),
            (b"", b"\r\n.\r\n"),
        ];
        for (message, expected) in cases {
            assert_eq!(
                transparent(message),
                expected,
                "{:?}",
                String::from_utf8_lossy(message)
            );
        }
    }
}
