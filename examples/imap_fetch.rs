//! The physical baseline for the live-mail benchmark: how fast a plain IMAP client, with nothing
//! else to do, can pull every message of a folder out of the server. The daemon's own IMAP intake
//! can only be slower; the gap is what its processing costs.
//!
//! It logs in, SELECTs the folder, lists its UIDs (`UID SEARCH ALL`) and fetches them with
//! `UID FETCH first:last (UID BODY.PEEK[])` in batches of `--batch` UIDs, counting messages and
//! bytes. It uses the same IMAP crate as the daemon (async-imap on tokio, optional implicit TLS
//! with tokio-rustls and ring) but not the helpdesk library.
//!
//! ```text
//! cargo run --release --example imap_fetch -- --port 10143 --user support1 --password support1pw
//! cargo run --release --example imap_fetch -- --port 10993 --user support1 --password support1pw \
//!     --tls --tls-name localhost --ca DIR/tls/ca.pem
//! ```
//!
//! Prints one line: `fetched N messages (B bytes) in T s = R msg/s`, where T covers SELECT (which
//! indexes a folder Dovecot has not seen yet), the UID listing and the fetches, but not the
//! connection and login. B counts the bytes as served over IMAP (CRLF line ends).

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures_util::TryStreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(about = "Fetch every message of an IMAP folder and report messages per second")]
struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Server port (IMAP, or IMAPS with --tls).
    #[arg(long)]
    port: u16,
    /// Login name.
    #[arg(long)]
    user: String,
    /// Password.
    #[arg(long)]
    password: String,
    /// Folder to fetch.
    #[arg(long, default_value = "INBOX")]
    folder: String,
    /// UIDs per UID FETCH command.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Implicit TLS (IMAPS).
    #[arg(long)]
    tls: bool,
    /// Name to verify the server certificate against (default: --host).
    #[arg(long)]
    tls_name: Option<String>,
    /// PEM file of the CA to trust (default: the webpki root certificates).
    #[arg(long)]
    ca: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let tcp = TcpStream::connect((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("connect to {}:{}", args.host, args.port))?;
    tcp.set_nodelay(true)?;
    let (messages, bytes, secs) = if args.tls {
        let name = args.tls_name.clone().unwrap_or_else(|| args.host.clone());
        let tls = tls_connector(args.ca.as_deref())?
            .connect(ServerName::try_from(name.clone())?, tcp)
            .await
            .with_context(|| format!("TLS handshake with {name}"))?;
        fetch_all(tls, &args).await?
    } else {
        fetch_all(tcp, &args).await?
    };
    println!(
        "fetched {messages} messages ({bytes} bytes) in {secs:.3} s = {:.0} msg/s",
        messages as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// A TLS connector (ring provider) trusting `ca`, or the webpki roots without one.
fn tls_connector(ca: Option<&std::path::Path>) -> Result<TlsConnector> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .with_context(|| format!("read {}", path.display()))?;
            for cert in certs {
                roots.add(cert.with_context(|| format!("parse {}", path.display()))?)?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Logs in, selects the folder and fetches every message; returns (messages, bytes, seconds).
async fn fetch_all<S>(stream: S, args: &Args) -> Result<(usize, usize, f64)>
where
    S: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .context("read the greeting")?
        .context("connection closed before the greeting")?;
    let mut session = client
        .login(&args.user, &args.password)
        .await
        .map_err(|(e, _)| e)
        .with_context(|| format!("LOGIN as {}", args.user))?;

    let start = Instant::now();
    let mailbox = session
        .select(&args.folder)
        .await
        .with_context(|| format!("SELECT {}", args.folder))?;
    let mut uids: Vec<u32> = session
        .uid_search("ALL")
        .await
        .context("UID SEARCH ALL")?
        .into_iter()
        .collect();
    uids.sort_unstable();
    let (mut messages, mut bytes) = (0usize, 0usize);
    for batch in uids.chunks(args.batch) {
        // The UIDs are sorted, so first:last names exactly this batch's messages.
        let range = format!("{}:{}", batch[0], batch[batch.len() - 1]);
        let mut fetches = session
            .uid_fetch(&range, "(UID BODY.PEEK[])")
            .await
            .with_context(|| format!("UID FETCH {range}"))?;
        while let Some(fetch) = fetches.try_next().await.context("read FETCH")? {
            if let Some(body) = fetch.body() {
                messages += 1;
                bytes += body.len();
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    if messages != mailbox.exists as usize {
        eprintln!(
            "note: {} held {} messages at SELECT, fetched {messages}",
            args.folder, mailbox.exists
        );
    }
    // Timing is done; a failed LOGOUT changes nothing about the measurement.
    let _ = session.logout().await;
    Ok((messages, bytes, secs))
}
