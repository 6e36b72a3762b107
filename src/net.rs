//! What IMAP and SMTP share underneath: a TCP connection with Nagle off (SMTP and IMAP are
//! request/response; Nagle plus delayed ACKs cost 40 ms per exchange), optionally wrapped in
//! rustls, and the TLS client configuration: the bundled Mozilla roots (webpki-roots) plus an
//! optional extra CA file, with the ring provider named explicitly so no process-wide default
//! is needed. A [`Peer`] runs the opening steps both clients share (connect, TLS) with a
//! timeout each, and names the step of any failure ([`ServerError`]).

mod error;

pub use error::{Cause, Protocol, ServerError, Step};

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::TlsConnector;

/// Connects to `host:port` (every resolved address in turn) with `TCP_NODELAY`.
///
/// # Errors
/// Resolution or connection failed.
pub async fn connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// One server as both clients talk to it: who it is, and how long each step may take.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Which protocol, for the config section in messages.
    pub protocol: Protocol,
    /// The host name (also the TLS server name).
    pub host: String,
    pub port: u16,
    /// Longest wait for each opening step.
    pub step_timeout: Duration,
}

impl Peer {
    /// `host:port`.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// A failure at `step` while doing `operation`.
    pub fn fail(&self, step: Step, operation: &str, cause: Cause) -> ServerError {
        ServerError {
            protocol: self.protocol,
            server: self.server(),
            step,
            operation: operation.to_owned(),
            cause,
        }
    }

    /// `f` within `timeout`; silence is a [`Cause::Timeout`] at `step`.
    ///
    /// # Errors
    /// The timeout passed.
    pub async fn within<T>(
        &self,
        timeout: Duration,
        step: Step,
        operation: &str,
        f: impl std::future::Future<Output = T>,
    ) -> Result<T, ServerError> {
        tokio::time::timeout(timeout, f)
            .await
            .map_err(|_| self.fail(step, operation, Cause::Timeout(timeout)))
    }

    /// TCP to the server, within the step timeout.
    ///
    /// # Errors
    /// Resolution, refusal or silence, as a [`Step::Connect`] failure.
    pub async fn connect(&self) -> Result<TcpStream, ServerError> {
        self.within(
            self.step_timeout,
            Step::Connect,
            "connect",
            connect(&self.host, self.port),
        )
        .await?
        .map_err(|e| self.fail(Step::Connect, "connect", Cause::Io(e)))
    }

    /// The TLS handshake over `tcp`, within the step timeout.
    ///
    /// # Errors
    /// The host is no TLS server name, or the handshake failed or went silent.
    pub async fn handshake(
        &self,
        connector: &TlsConnector,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, ServerError> {
        let name = rustls_pki_types::ServerName::try_from(self.host.clone()).map_err(|e| {
            let reason = format!("{:?} is not a TLS server name: {e}", self.host);
            self.fail(Step::Setup, "TLS", Cause::Setup(reason))
        })?;
        let step = Step::Tls;
        self.within(
            self.step_timeout,
            step,
            "TLS handshake",
            connector.connect(name, tcp),
        )
        .await?
        .map_err(|e| self.fail(step, "TLS handshake", Cause::Io(e)))
    }
}

/// The TLS client configuration: web PKI roots plus `ca_file`.
///
/// # Errors
/// The CA file cannot be read or holds no usable certificate; the message says which.
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| e.to_string())? {
            roots
                .add(cert.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            added += 1;
        }
        if added == 0 {
            return Err("no PEM certificate in the file".into());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The connection underneath: plain TCP or TLS.
#[derive(Debug)]
pub enum Stream {
    /// Plain text (`security = "none"`).
    Plain(TcpStream),
    /// TLS, from the start or after STARTTLS.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for Stream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Stream::Plain(s) => s.peer_addr(),
            Stream::Tls(s) => s.get_ref().0.peer_addr(),
        }
    }
}
