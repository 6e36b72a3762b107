//! `helpdesk check`: validates the configuration, rules and templates (rendering each), then
//! opens the database, the mailbox and the outbound transport. The mail servers are walked
//! through step by step (connect, TLS, greeting, login, folder; for SMTP also EHLO, STARTTLS
//! and AUTH) with a short timeout each, so a failure names the step and comes with a hint
//! about which setting to change. Reports every check; exits non-zero when any fails.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use tokio_rustls::rustls::{self, CertificateError};

use crate::config::{ImapSettings, Security, ServerSettings, SourceSettings, TransportSettings};
use crate::mailbox::{Imap, Maildir};
use crate::net::{Cause, Protocol, ServerError, Step};
use crate::outbox::transport::{features, smtp_client};

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
    let statics = super::app::load_static(config, crate::classify::Learn::Train)
        .map_err(|e| Problem::from(format!("{e:#}")));
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
            "{where_rules}: {} categories{}",
            rules.categories().len(),
            rules
                .model()
                .map_or(String::new(), |(corpus, features)| format!(
                    ", a model trained on corpus {corpus} ({features} features)"
                ))
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
    let desks = rules.desks();
    let missing: Vec<String> = desks
        .iter()
        .filter(|(d, _)| settings.desk(d).is_none())
        .map(|(d, rule)| format!("rule `{rule}` redirects to `{d}`, which has no [desks.{d}]"))
        .collect();
    let desks_line = if missing.is_empty() {
        Ok(format!(
            "{} configured; {}",
            settings.desks.len(),
            if desks.is_empty() {
                "no rule redirects".to_owned()
            } else {
                format!(
                    "rules redirect to {}",
                    desks.keys().copied().collect::<Vec<_>>().join(", ")
                )
            }
        ))
    } else {
        Err(Problem::from(missing.join("; ")))
    };
    report(out, "desks", desks_line)?;
    let c = &settings.conference;
    let requests = if rules.category(&c.category).is_some() {
        let a = &settings.approvals;
        Ok(format!(
            "conference requests ({}): {} business days on the premises ({} named), {} days elsewhere, {} account manager{}; approvals {}",
            c.category,
            c.on_premises_business_days,
            c.premises.len(),
            c.off_site_days,
            c.accounts.len(),
            if c.accounts.len() == 1 { "" } else { "s" },
            match a.remind_after {
                Some(d) => format!("reminded after {}, at most {} times", crate::classify::describe(d), a.reminders),
                None => "never reminded".to_owned(),
            }
        ))
    } else {
        Err(Problem::from(format!(
            "[conference] category = \"{}\" is no category of the rules: conference requests would never be recognised",
            c.category
        )))
    };
    report(out, "requests", requests)?;
    report(
        out,
        "replies",
        Ok(crate::casework::describe_conversation(&settings)),
    )?;
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
    /// The same problem, its message prefixed with the server's `label`.
    fn at(self, label: &str) -> Problem {
        Problem {
            message: format!("{label}: {}", self.message),
            hint: self.hint,
        }
    }

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
        SourceSettings::Lmtp { listen, .. } => lmtp(listen),
    }
}

/// The LMTP listener as far as it can be checked without taking the socket from a running
/// daemon: a Unix socket's directory must exist.
fn lmtp(listen: &crate::mailbox::lmtp::Listen) -> Result<String, Problem> {
    use crate::mailbox::lmtp::Listen;
    let Listen::Unix(path) = listen else {
        return Ok(format!(
            "LMTP on {}: the MTA delivers to the daemon",
            match listen {
                Listen::Tcp(a) => a.to_string(),
                Listen::Unix(p) => p.display().to_string(),
            }
        ));
    };
    match path.parent() {
        Some(dir) if dir.is_dir() => Ok(format!(
            "LMTP on unix:{}: the MTA delivers to the daemon",
            path.display()
        )),
        _ => Err(Problem {
            message: format!(
                "the directory of the LMTP socket {} does not exist",
                path.display()
            ),
            hint: Some(
                "create it (systemd: RuntimeDirectory=helpdesk) or change inbound.listen".into(),
            ),
        }),
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

/// Logs in with the daemon's IMAP client (connect, TLS or STARTTLS, greeting, LOGIN,
/// CAPABILITY), then EXAMINEs (read-only: nothing changes on the server) the folder and the
/// processed folder.
async fn imap(settings: &ImapSettings) -> Result<String, Problem> {
    let server = &settings.server;
    let user = server.login.as_ref().map_or("", |(u, _)| u.as_str());
    let label = format!(
        "imap://{user}@{}:{} ({})",
        server.host,
        server.port,
        server.security.label()
    );
    let at = |p: Problem| p.at(&label);
    let failed = |e: ServerError| at(problem(server, &e));
    let client = Imap::new(settings)
        .map_err(failed)?
        .with_step_timeout(STEP_TIMEOUT);
    let mut session = client.login().await.map_err(failed)?;
    let idle = match (session.offers_idle(), settings.idle) {
        (true, true) => "IDLE",
        (true, false) => "IDLE off (idle = false): polling",
        (false, _) => "no IDLE: polling",
    };
    let folder = &settings.folder;
    let exists = session.examine(folder).await.map_err(|e| match e.cause {
        Cause::Refused(text) => at(Problem::new(
            format!("folder {folder:?} cannot be opened: {text}"),
            format!(
                "create the folder {folder:?} on the server, or fix inbound.folder (the default \
                 is INBOX)"
            ),
        )),
        _ => failed(e),
    })?;
    let mut found = format!("logged in as {user}, {folder} holds {exists} message(s), {idle}");
    if let Some(pf) = &settings.processed_folder {
        match session.examine(pf).await {
            Ok(_) => found.push_str(&format!("; processed folder {pf} exists")),
            // The daemon creates it on start (Imap::open).
            Err(ServerError {
                cause: Cause::Refused(_),
                ..
            }) => found.push_str(&format!(
                "; processed folder {pf} does not exist yet: the daemon creates it"
            )),
            Err(e) => return Err(failed(e)),
        }
    }
    session.logout().await;
    Ok(format!("{label}: {found}"))
}

/// Opens a connection with the daemon's SMTP client (connect, TLS, greeting and EHLO,
/// STARTTLS when configured, AUTH when a username is set) and QUITs without sending.
async fn smtp(server: &ServerSettings) -> Result<String, Problem> {
    let failed = |label: &str, e: ServerError| problem(server, &e).at(label);
    let client = smtp_client(server, 1)
        .map_err(|e| failed(&format!("smtp://{}:{}", server.host, server.port), e))?
        .with_step_timeout(STEP_TIMEOUT);
    let label = client.describe().to_owned();
    let mut conn = client.open().await.map_err(|e| failed(&label, e))?;
    let mut found = format!("server {}", conn.server_info().name());
    if server.security == Security::Starttls {
        found.push_str(", STARTTLS done");
    }
    found.push_str(&format!(", offers {}", features(conn.server_info())));
    match &server.login {
        Some((user, _)) => found.push_str(&format!(", logged in as {user}")),
        None => found.push_str(", connected (no login configured)"),
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.quit()).await;
    Ok(format!("{label}: {found}"))
}

/// What `check` says about a failed step: the message, and the setting to change.
fn problem(server: &ServerSettings, e: &ServerError) -> Problem {
    let protocol = e.protocol;
    let section = protocol.section();
    let addr = &e.server;
    let firewall = format!(
        "check {section}.host and {section}.port, that the server runs, and any firewall in between"
    );
    let login_hint =
        format!("check {section}.username and {section}.password (or {section}.password_file)");
    let user = server.login.as_ref().map_or("", |(u, _)| u.as_str());
    match (e.step, &e.cause) {
        (Step::Setup, cause) => Problem::new(
            cause.to_string(),
            "give a PEM file with the CA certificate that signed the server's certificate",
        ),
        (Step::Connect, Cause::Timeout(wait)) => Problem::new(
            format!(
                "{addr}: no answer to the connection within {} s",
                wait.as_secs()
            ),
            format!("the host is down or a firewall drops the packets: {firewall}"),
        ),
        (Step::Connect, cause) => match e.io_error() {
            Some(io) if io.kind() == io::ErrorKind::ConnectionRefused => Problem::new(
                format!("{addr}: connection refused"),
                format!("nothing listens on port {}: {firewall}", server.port),
            ),
            Some(io) if io.to_string().contains("lookup") || io.to_string().contains("resolve") => {
                Problem::new(
                    format!("{addr}: cannot resolve the host name: {io}"),
                    format!("check {section}.host"),
                )
            }
            _ => Problem::new(format!("{addr}: cannot connect: {cause}"), firewall),
        },
        (Step::Tls, Cause::Setup(reason)) => Problem::new(
            reason.clone(),
            format!("set {section}.host to the name in the server's certificate"),
        ),
        (Step::Tls, Cause::Timeout(wait)) => Problem::new(
            format!("no TLS handshake within {} s", wait.as_secs()),
            tls_hint(protocol, server),
        ),
        (Step::Tls, _) => tls_problem(protocol, server, e.underlying().unwrap_or(e)),
        (Step::Greeting, Cause::Timeout(wait)) => Problem::new(
            format!("no greeting within {} s", wait.as_secs()),
            tls_hint(protocol, server),
        ),
        (Step::Greeting, Cause::Closed) => Problem::new(
            "the server closed the connection before its greeting".into(),
            tls_hint(protocol, server),
        ),
        (Step::Greeting, cause) => Problem::new(
            match protocol {
                Protocol::Imap => format!("unreadable greeting: {cause}"),
                Protocol::Smtp => format!("greeting or EHLO failed: {cause}"),
            },
            tls_hint(protocol, server),
        ),
        (Step::Starttls, Cause::NotOffered(offers)) => Problem::new(
            format!("the server does not offer STARTTLS (it offers {offers})"),
            "use the server's implicit-TLS port (465) with security = \"tls\", or \
             security = \"none\" only for a server on the same host",
        ),
        (Step::Starttls, cause) if protocol == Protocol::Imap => {
            let reason = match cause {
                Cause::Timeout(_) => "no answer".to_owned(),
                _ => cause.to_string(),
            };
            Problem::new(
                format!("the server refused STARTTLS: {reason}"),
                "the server offers no STARTTLS on this port: use its implicit-TLS port (993) \
                 with security = \"tls\"",
            )
        }
        (Step::Auth, Cause::NotOffered(_)) => Problem::new(
            "the server offers no AUTH PLAIN or LOGIN".into(),
            if server.security == Security::None {
                "many servers offer AUTH only over TLS: set outbound.security = \"starttls\" or \
                 \"tls\""
            } else {
                "this port may not take logins: the submission port is usually 587 (STARTTLS) or \
                 465 (TLS)"
            },
        ),
        (Step::Login | Step::Auth, Cause::Timeout(_)) => {
            Problem::new(format!("{}: no answer", e.operation), login_hint)
        }
        (Step::Login | Step::Auth, cause) => {
            Problem::new(format!("login as {user:?} refused: {cause}"), login_hint)
        }
        (_, Cause::Timeout(_)) => Problem::from(format!("{}: no answer", e.operation)),
        (_, cause) => Problem::from(format!("{} failed: {cause}", e.operation)),
    }
}

/// What to do when the server's TLS expectation differs from `security`.
fn tls_hint(protocol: Protocol, server: &ServerSettings) -> String {
    let (tls_port, plain_ports) = match protocol {
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
                tls_hint(protocol, server),
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
