//! Where and why talking to a mail server failed: the [`Step`] (connect, TLS, greeting,
//! STARTTLS, login, ...) and the [`Cause`] with its source. The IMAP and SMTP clients both
//! return a [`ServerError`], so the daemon's log line and `helpdesk check`'s hint are read off
//! the same facts.

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

/// Which protocol a server speaks; names the config section that configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The inbound mailbox.
    Imap,
    /// The outbound submission server.
    Smtp,
}

impl Protocol {
    /// The config section: `inbound` or `outbound`.
    pub fn section(self) -> &'static str {
        match self {
            Protocol::Imap => "inbound",
            Protocol::Smtp => "outbound",
        }
    }
}

/// The step of a conversation with a mail server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Preparing to connect: the CA file, the TLS server name.
    Setup,
    /// The TCP connection.
    Connect,
    /// The TLS handshake (implicit TLS, or the one after STARTTLS).
    Tls,
    /// The server's greeting (for SMTP with the EHLO that follows it).
    Greeting,
    /// Asking for STARTTLS.
    Starttls,
    /// IMAP LOGIN.
    Login,
    /// IMAP CAPABILITY.
    Capability,
    /// Opening a folder (SELECT, EXAMINE, CREATE).
    Select,
    /// SMTP AUTH.
    Auth,
    /// Any later command (FETCH, STORE, IDLE, a mail transaction).
    Command,
}

/// What went wrong at a step.
#[derive(Debug)]
pub enum Cause {
    /// No answer within this long.
    Timeout(Duration),
    /// The server closed the connection.
    Closed,
    /// The server does not offer what the step needs; what it offers instead.
    NotOffered(String),
    /// The server said no, in these words.
    Refused(String),
    /// The network or TLS layer failed (the rustls error, if any, is inside).
    Io(io::Error),
    /// lettre's SMTP error: a reply code, or the TLS or I/O error underneath.
    Smtp(lettre::transport::smtp::Error),
    /// The configuration cannot be used (a CA file, a TLS server name).
    Setup(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Timeout(d) => write!(f, "no answer within {} s", d.as_secs()),
            Cause::Closed => f.write_str("the server closed the connection"),
            Cause::NotOffered(offers) => write!(f, "not offered (the server offers {offers})"),
            Cause::Refused(text) => f.write_str(text),
            Cause::Io(e) => e.fmt(f),
            Cause::Smtp(e) => e.fmt(f),
            Cause::Setup(text) => f.write_str(text),
        }
    }
}

/// A failed step with a server, naming the server and what was being done.
#[derive(Debug)]
pub struct ServerError {
    /// `inbound` or `outbound`.
    pub protocol: Protocol,
    /// `host:port`.
    pub server: String,
    /// Where it failed.
    pub step: Step,
    /// What was being done, as the log should say it (`LOGIN`, `SELECT INBOX`, `UID FETCH`).
    pub operation: String,
    /// Why.
    pub cause: Cause,
}

impl ServerError {
    /// Whether the server's TLS expectation may differ from `security`: silence or garbage
    /// where a greeting or a handshake was due.
    fn port_mismatch(&self) -> bool {
        matches!(self.step, Step::Greeting | Step::Tls)
            && matches!(self.cause, Cause::Timeout(_) | Cause::Closed)
    }

    /// The configuration keys to look at, for the log line.
    fn advice(&self) -> Option<String> {
        let s = self.protocol.section();
        if self.port_mismatch() {
            let (tls, plain) = match self.protocol {
                Protocol::Imap => ("993", "143 plain text or STARTTLS"),
                Protocol::Smtp => ("465", "587 and 25 plain text or STARTTLS"),
            };
            return Some(format!(
                "does {s}.security match the port? {tls} speaks TLS from the start, {plain}"
            ));
        }
        match (self.step, &self.cause) {
            (Step::Tls | Step::Setup, _) => {
                Some(format!("check {s}.security, {s}.host and {s}.ca_file"))
            }
            (Step::Login | Step::Auth, Cause::Refused(_) | Cause::Smtp(_)) => {
                Some(format!("check {s}.username and {s}.password"))
            }
            (Step::Starttls, _) => Some(format!("check {s}.security and {s}.port")),
            _ => None,
        }
    }

    /// The error underneath, when there is one (an I/O or TLS failure, lettre's error), for
    /// the caller that sorts it. Not [`Error::source`]: the message already says it, and a
    /// chain printer (anyhow's `{:#}`) would say it twice.
    pub fn underlying(&self) -> Option<&(dyn Error + 'static)> {
        match &self.cause {
            Cause::Io(e) => Some(e),
            Cause::Smtp(e) => Some(e),
            _ => None,
        }
    }

    /// The io::Error somewhere in the cause, for its kind.
    pub fn io_error(&self) -> Option<&io::Error> {
        let mut next = self.underlying();
        while let Some(e) = next {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                return Some(io);
            }
            next = e.source();
        }
        None
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (server, operation, cause) = (&self.server, &self.operation, &self.cause);
        match cause {
            Cause::Timeout(_) => write!(f, "{server}: {operation}: {cause}")?,
            _ => write!(f, "{server}: {operation} failed: {cause}")?,
        }
        match self.advice() {
            Some(advice) => write!(f, " ({advice})"),
            None => Ok(()),
        }
    }
}

impl Error for ServerError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(protocol: Protocol, step: Step, operation: &str, cause: Cause) -> String {
        ServerError {
            protocol,
            server: "mail.example.org:143".into(),
            step,
            operation: operation.into(),
            cause,
        }
        .to_string()
    }

    #[test]
    fn the_log_line_names_server_step_and_the_keys_to_check() {
        assert_eq!(
            error(
                Protocol::Imap,
                Step::Login,
                "LOGIN",
                Cause::Refused("[AUTHENTICATIONFAILED] Authentication failed.".into())
            ),
            "mail.example.org:143: LOGIN failed: [AUTHENTICATIONFAILED] Authentication failed. \
             (check inbound.username and inbound.password)"
        );
        assert_eq!(
            error(
                Protocol::Smtp,
                Step::Greeting,
                "greeting",
                Cause::Timeout(Duration::from_secs(30))
            ),
            "mail.example.org:143: greeting: no answer within 30 s (does outbound.security \
             match the port? 465 speaks TLS from the start, 587 and 25 plain text or STARTTLS)"
        );
        assert_eq!(
            error(Protocol::Imap, Step::Command, "UID FETCH", Cause::Closed),
            "mail.example.org:143: UID FETCH failed: the server closed the connection"
        );
    }

    #[test]
    fn the_io_error_is_found_through_the_source() {
        let e = ServerError {
            protocol: Protocol::Smtp,
            server: "x:25".into(),
            step: Step::Connect,
            operation: "connect".into(),
            cause: Cause::Io(io::Error::from(io::ErrorKind::ConnectionRefused)),
        };
        assert_eq!(
            e.io_error().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionRefused)
        );
        assert!(e.to_string().starts_with("x:25: connect failed: "));
        // The log's chain printer says the cause once.
        assert_eq!(
            format!("{:#}", anyhow::Error::from(e))
                .matches("refused")
                .count(),
            1
        );
    }
}
