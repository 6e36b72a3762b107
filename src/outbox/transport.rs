//! Where rendered mail goes. SMTP submits through lettre's SMTP connection (rustls; one
//! connection kept open between mails, built once and reused); its failures are classified from the server's reply: 5xx is permanent except
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
use lettre::transport::smtp::extension::ClientId;
use rustls_pki_types::ServerName;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;

use crate::config::{Security, ServerSettings, TransportSettings};
use crate::net::{self, Stream};

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

/// Why a transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The CA file could not be read.
    #[error("cannot read outbound.ca_file {path}: {source}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TLS setup failed (e.g. the CA file holds no certificate).
    #[error("outbound TLS setup failed: {0}")]
    Tls(lettre::transport::smtp::Error),
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
    /// The CA file cannot be read or TLS cannot be set up.
    pub fn build(settings: &TransportSettings) -> Result<Transport, BuildError> {
        match settings {
            TransportSettings::File { dir } => Ok(Transport::File { dir: dir.clone() }),
            TransportSettings::Smtp(server) => smtp(server),
        }
    }

    /// Human description for logs and `check`.
    pub fn describe(&self) -> String {
        match self {
            Transport::File { dir } => format!("file transport into {}", dir.display()),
            Transport::Smtp(client) => client.describe.clone(),
        }
    }

    /// Opens a connection (with TLS and login) and closes it: for `helpdesk check`.
    ///
    /// # Errors
    /// What the server or the network said.
    pub async fn probe(&self) -> Result<(), SendError> {
        match self {
            Transport::File { dir } => crate::files::create_dir_all(dir).map_err(|e| SendError {
                message: format!("cannot create {}: {e}", dir.display()),
                transient: true,
            }),
            Transport::Smtp(client) => client.probe().await,
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

fn smtp(server: &ServerSettings) -> Result<Transport, BuildError> {
    let mut tls = TlsParameters::builder(server.host.clone());
    if let Some(path) = &server.ca_file {
        let pem = std::fs::read(path).map_err(|source| BuildError::Ca {
            path: path.clone(),
            source,
        })?;
        tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(BuildError::Tls)?);
    }
    let starttls = tls.build_rustls().map_err(BuildError::Tls)?;
    let config =
        net::client_config(server.ca_file.as_deref()).map_err(|reason| BuildError::Ca {
            path: server.ca_file.clone().unwrap_or_default(),
            source: std::io::Error::other(reason),
        })?;
    let mode = match server.security {
        Security::None => "no TLS",
        Security::Starttls => "STARTTLS",
        Security::Tls => "TLS",
    };
    let mut describe = format!("smtp://{}:{} ({mode}", server.host, server.port);
    if let Some((user, _)) = &server.login {
        describe.push_str(&format!(", as {user}"));
    }
    describe.push(')');
    Ok(Transport::Smtp(Arc::new(SmtpClient {
        host: server.host.clone(),
        port: server.port,
        security: server.security,
        credentials: server
            .login
            .as_ref()
            .map(|(u, p)| Credentials::new(u.clone(), p.expose().to_owned())),
        starttls,
        tls: TlsConnector::from(Arc::new(config)),
        hello: ClientId::default(),
        describe,
        connection: Mutex::new(None),
    })))
}

/// An SMTP client that keeps one connection open between mails (the outbox worker sends one
/// at a time) and opens a new one when it is broken or has been idle too long.
pub struct SmtpClient {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    /// For STARTTLS, which lettre performs.
    starttls: TlsParameters,
    /// For implicit TLS, which we perform before lettre reads the greeting.
    tls: TlsConnector,
    hello: ClientId,
    describe: String,
    connection: Mutex<Option<(AsyncSmtpConnection, Instant)>>,
}

impl fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe)
    }
}

impl SmtpClient {
    async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), SendError> {
        let mut slot = self.connection.lock().await;
        let mut reused = false;
        let mut conn = match slot.take() {
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
                    *slot = Some((conn, Instant::now()));
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

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        tokio::time::timeout(CONNECT_TIMEOUT, self.connect_inner())
            .await
            .unwrap_or_else(|_| {
                Err(SendError {
                    message: format!(
                        "{}: no greeting within {} s (does outbound.security match the port? 465 speaks TLS from the start, 587 and 25 plain text or STARTTLS)",
                        self.describe,
                        CONNECT_TIMEOUT.as_secs()
                    ),
                    transient: true,
                })
            })
    }

    async fn connect_inner(&self) -> Result<AsyncSmtpConnection, SendError> {
        let transient = |message: String| SendError {
            message,
            transient: true,
        };
        let tcp = net::connect(&self.host, self.port)
            .await
            .map_err(|e| transient(format!("{}: cannot connect: {e}", self.describe)))?;
        let stream = match self.security {
            Security::Tls => {
                let name = ServerName::try_from(self.host.clone()).map_err(|e| {
                    transient(format!(
                        "{}: {:?} is not a TLS server name: {e}",
                        self.describe, self.host
                    ))
                })?;
                let tls = self.tls.connect(name, tcp).await.map_err(|e| {
                    transient(format!(
                        "{}: TLS failed: {e} (check outbound.security, outbound.host and outbound.ca_file)",
                        self.describe
                    ))
                })?;
                Stream::Tls(Box::new(tls))
            }
            Security::None | Security::Starttls => Stream::Plain(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
            .await
            .map_err(|e| classify(&self.describe, &e))?;
        if self.security == Security::Starttls {
            conn.starttls(self.starttls.clone(), &self.hello)
                .await
                .map_err(|e| classify(&self.describe, &e))?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| classify(&self.describe, &e))?;
        }
        Ok(conn)
    }

    async fn probe(&self) -> Result<(), SendError> {
        let mut conn = self.connect().await?;
        let _ = conn.quit().await;
        Ok(())
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
