//! `helpdesk check`: validates the configuration, rules and templates (rendering each), then
//! opens the database, the mailbox and the outbound transport. The mail servers are walked
//! through step by step (connect, TLS, greeting, login, folder; for SMTP also EHLO, STARTTLS
//! and AUTH) with a short timeout each, so a failure names the step and comes with a hint
//! about which setting to change. Reports every check; exits non-zero when any fails.

use std::future::Future;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::{ClientId, Extension, ServerInfo};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, CertificateError};
use tokio_rustls::TlsConnector;

use crate::config::{ImapSettings, Security, ServerSettings, SourceSettings, TransportSettings};
use crate::mailbox::Maildir;
use crate::net::{self, Stream};

use super::App;

pub(super) async fn check_command(config: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let mut report =
        |out: &mut dyn Write, what: &str, result: Result<String, Problem>| -> io::Result<()> {
            match result {
                Ok(ok) => writeln!(out, "ok      {what:<10} {ok}"),
                Err(problem) => {
                    failed = true;
                    writeln!(out, "FAILED  {what:<10} {}", problem.message)?;
                    match problem.hint {
                        Some(hint) => writeln!(out, "        {:<10} hint: {hint}", ""),
                        None => Ok(()),
                    }
                }
            }
        };
    let statics = super::app::load_static(config).map_err(|e| Problem::from(format!("{e:#}")));
    let (settings, rules, templates) = match statics {
        Ok(s) => s,
        Err(e) => {
            report(out, "config", Err(e))?;
            return Ok(ExitCode::FAILURE);
        }
    };
    report(out, "config", Ok(config.display().to_string()))?;
    let where_rules = settings
        .rules_path
        .as_ref()
        .map_or("built-in chart".to_owned(), |p| p.display().to_string());
    report(
        out,
        "rules",
        Ok(format!(
            "{where_rules}: {} categories",
            rules.categories().len()
        )),
    )?;
    let unreached: Vec<&str> = rules
        .teams()
        .into_iter()
        .filter(|t| settings.team(t).is_none())
        .collect();
    let teams = match (settings.teams.len(), unreached.is_empty()) {
        (n, true) => format!("{n} configured; every team the rules name is reachable"),
        (n, false) => format!(
            "{n} configured; cases of {} notify nobody until [teams.NAME] gives an address or members",
            unreached.join(", ")
        ),
    };
    report(out, "teams", Ok(teams))?;
    report(out, "trust", Ok(crate::thread::describe_trust(&settings)))?;
    for warning in crate::thread::trust_warnings(&settings) {
        writeln!(out, "WARN    {:<10} {warning}", "trust")?;
    }
    report(out, "calendar", Ok(settings.calendar.describe()))?;
    let sla = &settings.sla;
    let warn = sla.warn_at.map_or("no warnings".to_owned(), |f| {
        format!("warn at {:.0}% of a target", f * 100.0)
    });
    let digest = match sla.digest {
        crate::config::Digest::Business => "triage digest at odd working hours",
        crate::config::Digest::Always => "triage digest at every odd hour",
        crate::config::Digest::Off => "no triage digest",
    };
    report(
        out,
        "sla",
        Ok(format!(
            "{warn}; {digest}; follow-up after {}; reopen window {}",
            crate::classify::describe(sla.follow_up),
            crate::classify::describe(settings.reopen_window)
        )),
    )?;
    report(
        out,
        "templates",
        templates
            .check_all(rules.templates())
            .map(|n| format!("{n} rendered with a sample case"))
            .map_err(|e| Problem::from(e.to_string())),
    )?;
    let source = settings.source.clone();
    let transport = settings.transport.clone();
    let db = match App::connect(settings, rules, templates).await {
        Ok(app) => {
            app.store.close().await;
            Ok(format!(
                "{:?} database opened and migrated",
                app.store.backend
            ))
        }
        Err(e) => Err(Problem::from(format!("{e:#}"))),
    };
    report(out, "database", db)?;
    // Side by side: a silent server costs its timeout once, not twice.
    let (inbound, outbound) = tokio::join!(inbound(&source), outbound(&transport));
    report(out, "inbound", inbound)?;
    report(out, "outbound", outbound)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Longest wait for each step of a server check. Servers answer at once; silence mostly means
/// a TLS mismatch (plain text to a TLS port waits for a greeting that never comes) or a
/// firewall dropping packets.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// A failed check: what happened, and what to change.
#[derive(Debug)]
struct Problem {
    message: String,
    hint: Option<String>,
}

impl From<String> for Problem {
    fn from(message: String) -> Problem {
        Problem {
            message,
            hint: None,
        }
    }
}

impl Problem {
    fn new(message: String, hint: impl Into<String>) -> Problem {
        Problem {
            message,
            hint: Some(hint.into()),
        }
    }
}

async fn inbound(source: &SourceSettings) -> Result<String, Problem> {
    match source {
        SourceSettings::Maildir { path } => Maildir::open(path)
            .and_then(|m| m.pending().map(|p| p.len()))
            .map(|n| format!("{}: {n} message(s) waiting", path.display()))
            .map_err(|e| Problem::from(format!("{}: {e}", path.display()))),
        SourceSettings::Imap(settings) => imap(settings).await,
        SourceSettings::Stdin => {
            Ok("stdin: mail arrives only through `helpdesk ingest` (an MTA's pipe)".into())
        }
    }
}

async fn outbound(settings: &TransportSettings) -> Result<String, Problem> {
    match settings {
        TransportSettings::File { dir } => writable(dir).map_err(Problem::from),
        TransportSettings::Smtp(server) => smtp(server).await,
    }
}

fn writable(dir: &Path) -> Result<String, String> {
    let fail = |e: io::Error| format!("{}: not writable: {e}", dir.display());
    crate::files::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".helpdesk-check");
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(format!("{}: file transport, writable", dir.display()))
}

/// Which protocol a server speaks, for the hints about ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Imap,
    Smtp,
}

impl Protocol {
    /// The config section that configures it.
    fn section(self) -> &'static str {
        match self {
            Protocol::Imap => "inbound",
            Protocol::Smtp => "outbound",
        }
    }

    /// What to do when the server's TLS expectation differs from `security`.
    fn tls_hint(self, server: &ServerSettings) -> String {
        let (tls_port, plain_ports) = match self {
            Protocol::Imap => (993, "port 143 speaks"),
            Protocol::Smtp => (465, "ports 587 and 25 speak"),
        };
        let port = server.port;
        match server.security {
            Security::Tls => format!(
                "port {port} speaks plain text first: use security = \"starttls\" there, or port \
                 {tls_port} (implicit TLS) with security = \"tls\""
            ),
            Security::None | Security::Starttls => format!(
                "the server may expect TLS from the first byte: port {tls_port} is implicit TLS: \
                 security = \"tls\" ({plain_ports} plain text, then STARTTLS)"
            ),
        }
    }
}

/// `step` with [`STEP_TIMEOUT`]; on timeout, the problem `silence` describes.
async fn timed<T>(
    f: impl Future<Output = T>,
    silence: impl FnOnce() -> Problem,
) -> Result<T, Problem> {
    tokio::time::timeout(STEP_TIMEOUT, f)
        .await
        .map_err(|_| silence())
}

/// TCP to the server, with the reason and a hint when it fails.
async fn connect(protocol: Protocol, server: &ServerSettings) -> Result<TcpStream, Problem> {
    let section = protocol.section();
    let addr = format!("{}:{}", server.host, server.port);
    let firewall = format!(
        "check {section}.host and {section}.port, that the server runs, and any firewall in between"
    );
    let silence = || {
        Problem::new(
            format!(
                "{addr}: no answer to the connection within {} s",
                STEP_TIMEOUT.as_secs()
            ),
            format!("the host is down or a firewall drops the packets: {firewall}"),
        )
    };
    timed(net::connect(&server.host, server.port), silence)
        .await?
        .map_err(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => Problem::new(
                format!("{addr}: connection refused"),
                format!("nothing listens on port {}: {firewall}", server.port),
            ),
            _ if e.to_string().contains("lookup") || e.to_string().contains("resolve") => {
                Problem::new(
                    format!("{addr}: cannot resolve the host name: {e}"),
                    format!("check {section}.host"),
                )
            }
            _ => Problem::new(format!("{addr}: cannot connect: {e}"), firewall),
        })
}

/// The TLS client for a server: the bundled roots plus `ca_file`.
fn tls_connector(protocol: Protocol, server: &ServerSettings) -> Result<TlsConnector, Problem> {
    let config = net::client_config(server.ca_file.as_deref()).map_err(|reason| {
        let file = server.ca_file.as_deref().unwrap_or(Path::new(""));
        Problem::new(
            format!(
                "{}.ca_file {}: {reason}",
                protocol.section(),
                file.display()
            ),
            "give a PEM file with the CA certificate that signed the server's certificate",
        )
    })?;
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Implicit TLS (or the upgrade after STARTTLS) over `tcp`.
async fn handshake(
    protocol: Protocol,
    server: &ServerSettings,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, Problem> {
    let connector = tls_connector(protocol, server)?;
    let name = ServerName::try_from(server.host.clone()).map_err(|e| {
        Problem::new(
            format!("{:?} is not a TLS server name: {e}", server.host),
            format!(
                "set {}.host to the name in the server's certificate",
                protocol.section()
            ),
        )
    })?;
    let silence = || {
        Problem::new(
            format!("no TLS handshake within {} s", STEP_TIMEOUT.as_secs()),
            protocol.tls_hint(server),
        )
    };
    timed(connector.connect(name, tcp), silence)
        .await?
        .map_err(|e| tls_problem(protocol, server, &e))
}

/// Sorts a TLS failure: untrusted or wrong certificate, plain text where TLS was expected, or
/// something else.
fn tls_problem(
    protocol: Protocol,
    server: &ServerSettings,
    e: &(dyn std::error::Error + 'static),
) -> Problem {
    let section = protocol.section();
    let ca_hint = format!(
        "if the server's certificate comes from a private or test CA, set {section}.ca_file to \
         that CA's certificate (PEM)"
    );
    let text = e.to_string();
    match rustls_error(e) {
        Some(rustls::Error::InvalidCertificate(cert)) => match cert {
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Problem::new(
                    format!(
                        "the server's certificate is not valid for {:?}: {text}",
                        server.host
                    ),
                    format!("set {section}.host to a name the certificate covers"),
                )
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => Problem::new(
                format!("the server's certificate is out of its validity period: {text}"),
                "renew the server's certificate, or fix this machine's clock",
            ),
            _ => Problem::new(
                format!("the server's certificate is not trusted: {text}"),
                ca_hint,
            ),
        },
        Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }) => {
            Problem::new(
                format!(
                    "TLS failed: the server does not speak TLS on port {} ({text})",
                    server.port
                ),
                protocol.tls_hint(server),
            )
        }
        _ if text.contains("certificate") => Problem::new(format!("TLS failed: {text}"), ca_hint),
        _ => Problem::new(
            format!("TLS failed: {text}"),
            format!("check {section}.security, {section}.host and {section}.ca_file"),
        ),
    }
}

/// The rustls error somewhere in `e`'s chain (also inside an `io::Error`, whose `source` skips
/// the error it wraps).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let wrapped = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref());
        if let Some(tls) = wrapped.and_then(|w| w.downcast_ref::<rustls::Error>()) {
            return Some(tls);
        }
        next = e.source();
    }
    None
}

fn security_name(security: Security) -> &'static str {
    match security {
        Security::None => "no TLS",
        Security::Starttls => "STARTTLS",
        Security::Tls => "TLS",
    }
}

/// Walks an IMAP login through: connect, TLS or STARTTLS, greeting, LOGIN, CAPABILITY, then
/// EXAMINE (read-only: nothing changes on the server) of the folder and the processed folder.
async fn imap(settings: &ImapSettings) -> Result<String, Problem> {
    let server = &settings.server;
    let protocol = Protocol::Imap;
    let (user, password) = match &server.login {
        Some((u, p)) => (u.as_str(), p.expose()),
        None => ("", ""),
    };
    let label = format!(
        "imap://{user}@{}:{} ({})",
        server.host,
        server.port,
        security_name(server.security)
    );
    let at = |p: Problem| Problem {
        message: format!("{label}: {}", p.message),
        hint: p.hint,
    };
    let tcp = connect(protocol, server).await.map_err(at)?;
    let client = match server.security {
        Security::None => imap_greeting(server, Stream::Plain(tcp))
            .await
            .map_err(at)?,
        Security::Tls => {
            let tls = handshake(protocol, server, tcp).await.map_err(at)?;
            imap_greeting(server, Stream::Tls(Box::new(tls)))
                .await
                .map_err(at)?
        }
        Security::Starttls => {
            let mut plain = imap_greeting(server, Stream::Plain(tcp))
                .await
                .map_err(at)?;
            let refused = |reason: String| {
                at(Problem::new(
                    format!("the server refused STARTTLS: {reason}"),
                    "the server offers no STARTTLS on this port: use its implicit-TLS port \
                     (993) with security = \"tls\"",
                ))
            };
            let started = plain.run_command_and_check_ok("STARTTLS", None);
            timed(started, || refused("no answer".into()))
                .await?
                .map_err(|e| refused(server_text(&e)))?;
            let Stream::Plain(tcp) = plain.into_inner() else {
                unreachable!("STARTTLS starts from a plain stream")
            };
            let tls = handshake(protocol, server, tcp).await.map_err(at)?;
            // No second greeting after STARTTLS (RFC 3501 6.2.1).
            async_imap::Client::new(Stream::Tls(Box::new(tls)))
        }
    };
    let login_hint = "check inbound.username and inbound.password (or inbound.password_file)";
    let silence = || Problem::new("LOGIN: no answer".into(), login_hint);
    let mut session = timed(client.login(user, password), silence)
        .await
        .map_err(at)?
        .map_err(|(e, _)| {
            at(Problem::new(
                format!("login as {user:?} refused: {}", server_text(&e)),
                login_hint,
            ))
        })?;
    let command = |what: &str, e: String| at(Problem::from(format!("{what} failed: {e}")));
    let silence = |what: &str| at(Problem::from(format!("{what}: no answer")));
    let caps = timed(session.capabilities(), || silence("CAPABILITY"))
        .await?
        .map_err(|e| command("CAPABILITY", server_text(&e)))?;
    let idle = match (caps.has_str("IDLE"), settings.idle) {
        (true, true) => "IDLE",
        (true, false) => "IDLE off (idle = false): polling",
        (false, _) => "no IDLE: polling",
    };
    let folder = &settings.folder;
    let examined = timed(session.examine(folder), || silence("EXAMINE"))
        .await?
        .map_err(|e| {
            at(Problem::new(
                format!("folder {folder:?} cannot be opened: {}", server_text(&e)),
                format!(
                    "create the folder {folder:?} on the server, or fix inbound.folder (the \
                     default is INBOX)"
                ),
            ))
        })?;
    let mut found = format!(
        "logged in as {user}, {folder} holds {} message(s), {idle}",
        examined.exists
    );
    if let Some(pf) = &settings.processed_folder {
        let examined = timed(session.examine(pf), || silence("EXAMINE")).await?;
        match examined {
            Ok(_) => found.push_str(&format!("; processed folder {pf} exists")),
            // The daemon creates it on start (Imap::open).
            Err(async_imap::error::Error::No(_)) => found.push_str(&format!(
                "; processed folder {pf} does not exist yet: the daemon creates it"
            )),
            Err(e) => return Err(command(&format!("EXAMINE {pf}"), server_text(&e))),
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
    Ok(format!("{label}: {found}"))
}

/// Reads the IMAP greeting; silence means the server expects TLS first.
async fn imap_greeting(
    server: &ServerSettings,
    stream: Stream,
) -> Result<async_imap::Client<Stream>, Problem> {
    let mut client = async_imap::Client::new(stream);
    let silence = || {
        Problem::new(
            format!("no greeting within {} s", STEP_TIMEOUT.as_secs()),
            Protocol::Imap.tls_hint(server),
        )
    };
    match timed(client.read_response(), silence).await? {
        Ok(Some(_)) => Ok(client),
        Ok(None) => Err(Problem::new(
            "the server closed the connection before its greeting".into(),
            Protocol::Imap.tls_hint(server),
        )),
        Err(e) => Err(Problem::new(
            format!("unreadable greeting: {e}"),
            Protocol::Imap.tls_hint(server),
        )),
    }
}

/// Walks an SMTP submission through without sending: connect, TLS, greeting and EHLO,
/// STARTTLS when configured, AUTH when a username is set, QUIT.
async fn smtp(server: &ServerSettings) -> Result<String, Problem> {
    let protocol = Protocol::Smtp;
    let mut label = format!(
        "smtp://{}:{} ({}",
        server.host,
        server.port,
        security_name(server.security)
    );
    if let Some((user, _)) = &server.login {
        label.push_str(&format!(", as {user}"));
    }
    label.push(')');
    let at = |p: Problem| Problem {
        message: format!("{label}: {}", p.message),
        hint: p.hint,
    };
    let tcp = connect(protocol, server).await.map_err(at)?;
    let stream = match server.security {
        Security::Tls => Stream::Tls(Box::new(
            handshake(protocol, server, tcp).await.map_err(at)?,
        )),
        Security::None | Security::Starttls => Stream::Plain(tcp),
    };
    let hello = ClientId::default();
    let silence = || {
        Problem::new(
            format!("no greeting within {} s", STEP_TIMEOUT.as_secs()),
            protocol.tls_hint(server),
        )
    };
    let mut conn = timed(
        AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello),
        silence,
    )
    .await
    .map_err(at)?
    .map_err(|e| {
        at(Problem::new(
            format!("greeting or EHLO failed: {e}"),
            protocol.tls_hint(server),
        ))
    })?;
    let mut found = format!("server {}", conn.server_info().name());
    if server.security == Security::Starttls {
        if !conn.can_starttls() {
            conn.abort().await;
            return Err(at(Problem::new(
                format!(
                    "the server does not offer STARTTLS (it offers {})",
                    features(conn.server_info())
                ),
                "use the server's implicit-TLS port (465) with security = \"tls\", or \
                 security = \"none\" only for a server on the same host",
            )));
        }
        let params = starttls_parameters(server).map_err(at)?;
        let upgraded = timed(conn.starttls(params, &hello), || {
            Problem::from("STARTTLS: no answer".to_owned())
        })
        .await
        .map_err(at)?;
        if let Err(e) = upgraded {
            return Err(at(tls_problem(protocol, server, &e)));
        }
        found.push_str(", STARTTLS done");
    }
    found.push_str(&format!(", offers {}", features(conn.server_info())));
    if let Some((user, password)) = &server.login {
        let login_hint =
            "check outbound.username and outbound.password (or outbound.password_file)";
        let mechanisms = [Mechanism::Plain, Mechanism::Login];
        if conn.server_info().get_auth_mechanism(&mechanisms).is_none() {
            conn.abort().await;
            let hint = if conn.is_encrypted() {
                "this port may not take logins: the submission port is usually 587 (STARTTLS) or 465 (TLS)"
            } else {
                "many servers offer AUTH only over TLS: set outbound.security = \"starttls\" or \"tls\""
            };
            return Err(at(Problem::new(
                "the server offers no AUTH PLAIN or LOGIN".into(),
                hint,
            )));
        }
        let credentials = Credentials::new(user.clone(), password.expose().to_owned());
        let authed = timed(conn.auth(&mechanisms, &credentials), || {
            Problem::new("AUTH: no answer".into(), login_hint)
        })
        .await
        .map_err(at)?;
        if let Err(e) = authed {
            conn.abort().await;
            return Err(at(Problem::new(
                format!("login as {user:?} refused: {e}"),
                login_hint,
            )));
        }
        found.push_str(&format!(", logged in as {user}"));
    } else {
        found.push_str(", connected (no login configured)");
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.quit()).await;
    Ok(format!("{label}: {found}"))
}

/// lettre's STARTTLS parameters: the bundled roots plus `ca_file`, as the transport uses.
fn starttls_parameters(server: &ServerSettings) -> Result<TlsParameters, Problem> {
    let ca_problem = |reason: String| {
        let file = server.ca_file.as_deref().unwrap_or(Path::new(""));
        Problem::new(
            format!("outbound.ca_file {}: {reason}", file.display()),
            "give a PEM file with the CA certificate that signed the server's certificate",
        )
    };
    let mut tls = TlsParameters::builder(server.host.clone());
    if let Some(path) = &server.ca_file {
        let pem = std::fs::read(path).map_err(|e| ca_problem(e.to_string()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| ca_problem(e.to_string()))?;
        tls = tls.add_root_certificate(cert);
    }
    tls.build_rustls().map_err(|e| ca_problem(e.to_string()))
}

/// The EHLO keywords helpdesk cares about, e.g. `STARTTLS, AUTH PLAIN LOGIN, 8BITMIME`.
fn features(info: &ServerInfo) -> String {
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

/// The server's words in an IMAP error: async-imap wraps a NO or BAD answer's text in debug
/// formatting (`code: None, info: Some("…")`).
fn server_text(e: &async_imap::error::Error) -> String {
    let (async_imap::error::Error::No(s) | async_imap::error::Error::Bad(s)) = e else {
        return e.to_string();
    };
    match (s.find("Some(\""), s.rfind("\")")) {
        (Some(start), Some(end)) if start + 6 <= end => s[start + 6..end].replace("\\\"", "\""),
        _ => s.clone(),
    }
}
