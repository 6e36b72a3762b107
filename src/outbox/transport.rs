//! Where rendered mail goes. SMTP submits through lettre (rustls, pooled connections, built once
//! and reused); its failures are classified from the server's reply: 5xx is permanent except
//! for authentication trouble, which is the configuration's fault and not the message's, and
//! everything else (4xx, connection, TLS, timeouts) is retried. The file transport writes one
//! `.eml` per outbox row, named after the row, atomically (temporary file, fsync, rename), so a
//! resend after a crash replaces the same file instead of adding a second one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::io::AsyncWriteExt;

use crate::config::{Security, ServerSettings, TransportSettings};

/// How long one SMTP command may take before the attempt counts as failed (and is retried).
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

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
    Smtp {
        /// The pooled client.
        client: Arc<AsyncSmtpTransport<Tokio1Executor>>,
        /// `smtp://host:port (starttls, as user)` for logs.
        describe: String,
    },
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
            Transport::Smtp { client, describe } => {
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
                client
                    .send_raw(&envelope, mail.bytes)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(describe, &e))
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
            Transport::Smtp { describe, .. } => describe.clone(),
        }
    }

    /// Opens a connection (with TLS and login) and closes it: for `helpdesk check`.
    ///
    /// # Errors
    /// What the server or the network said.
    pub async fn probe(&self) -> Result<(), SendError> {
        match self {
            Transport::File { dir } => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| SendError {
                    message: format!("cannot create {}: {e}", dir.display()),
                    transient: true,
                })
            }
            Transport::Smtp { client, describe } => match client.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(SendError {
                    message: format!("{describe}: the server did not answer NOOP"),
                    transient: true,
                }),
                Err(e) => Err(classify(describe, &e)),
            },
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
    let tls = tls.build_rustls().map_err(BuildError::Tls)?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
        .port(server.port)
        .timeout(Some(SMTP_TIMEOUT));
    let (mode, builder_tls) = match server.security {
        Security::None => ("no TLS", Tls::None),
        Security::Starttls => ("STARTTLS", Tls::Required(tls)),
        Security::Tls => ("TLS", Tls::Wrapper(tls)),
    };
    builder = builder.tls(builder_tls);
    let mut describe = format!("smtp://{}:{} ({mode}", server.host, server.port);
    if let Some((user, password)) = &server.login {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        describe.push_str(&format!(", as {user}"));
    }
    describe.push(')');
    Ok(Transport::Smtp {
        client: Arc::new(builder.build()),
        describe,
    })
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
    } else if e.is_tls() {
        message.push_str(" (check outbound.security, outbound.host and outbound.ca_file)");
    }
    SendError {
        message,
        transient: !e.is_permanent() || auth,
    }
}

async fn write_file(
    dir: &PathBuf,
    row_id: i64,
    ticket: Option<&str>,
    message: &[u8],
) -> Result<(), SendError> {
    let io = |what: &str, e: std::io::Error| SendError {
        message: format!("cannot {what} in {}: {e}", dir.display()),
        transient: true,
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| io("create the outbox directory", e))?;
    let name = match ticket {
        Some(t) => format!("{row_id:08}-{t}.eml"),
        None => format!("{row_id:08}.eml"),
    };
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| io("create a file", e))?;
    file.write_all(message).await.map_err(|e| io("write", e))?;
    file.sync_all().await.map_err(|e| io("sync", e))?;
    drop(file);
    tokio::fs::rename(&tmp, dir.join(&name))
        .await
        .map_err(|e| io("rename", e))?;
    Ok(())
}
