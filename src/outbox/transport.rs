//! Where rendered mail goes. SMTP submits through lettre's SMTP connections (rustls; up to
//! `outbound.connections` at once, each kept open between mails and reused); its failures are classified from the server's reply: 5xx is permanent except
//! for authentication trouble, which is the configuration's fault and not the message's, and
//! everything else (4xx, connection, TLS, timeouts) is retried. The file transport writes one
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
use tokio::sync::Semaphore;
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
    /// Delivers one formatted message for outbox row `row_id`.
    ///
    /// # Errors
    /// I/O failures, classified as transient (a full disk may be emptied).
    pub async fn send(&self, mail: &Outgoing<'_>) -> Result<(), SendError> {
        match self {
            Transport::File { dir } => write_file(dir, mail.row_id, mail.ticket, mail.bytes).await,
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
        idle: std::sync::Mutex::new(Vec::new()),
        slots: Semaphore::new(connections.max(1)),
        connections: connections.max(1),
    })
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
    /// Connections not in use, with when each was last used.
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    /// One permit per connection that may be in use.
    slots: Semaphore,
    connections: usize,
}

impl fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe)
    }
}

impl SmtpClient {
    async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), SendError> {
        // Never closed: acquiring only waits for a connection to be free.
        let _slot = self.slots.acquire().await;
        let kept = self.idle().pop();
        let mut reused = false;
        let mut conn = match kept {
            Some((c, used)) if !c.has_broken() && used.elapsed() < MAX_IDLE => {
                reused = true;
                c
            }
            Some((mut c, _)) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), c.quit()).await;
                self.connect().await?
            }
            None => self.connect().await?,
        };
        loop {
            let result = tokio::time::timeout(SMTP_TIMEOUT, conn.send(envelope, bytes)).await;
            match result {
                Ok(Ok(_)) => {
                    self.idle().push((conn, Instant::now()));
                    return Ok(());
                }
                // The server may have closed a kept connection meanwhile: one fresh try.
                Ok(Err(e)) if reused && !e.is_response() => {
                    reused = false;
                    conn = self.connect().await?;
                }
                Ok(Err(e)) => return Err(classify(&self.describe, &e)),
                Err(_) => {
                    return Err(SendError {
                        message: format!(
                            "{}: no answer within {} s",
                            self.describe,
                            SMTP_TIMEOUT.as_secs()
                        ),
                        transient: true,
                    })
                }
            }
        }
    }

    /// The connections not in use (a panic elsewhere cannot leave them half-changed: each
    /// change is one push or pop).
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(AsyncSmtpConnection, Instant)>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        self.open().await.map_err(|e| {
            let transient = match &e.cause {
                Cause::Smtp(smtp) => classify("", smtp).transient,
                _ => true,
            };
            SendError {
                message: e.to_string(),
                transient,
            }
        })
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
            idle: std::sync::Mutex::new(Vec::new()),
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
