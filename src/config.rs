//! Configuration: one TOML file (`--config`, `HELPDESK_CONFIG`, or `/etc/helpdesk/helpdesk.toml`),
//! overridden by `HELPDESK_<SECTION>__<KEY>` environment variables, with secrets read from
//! `*_file` keys. [`RawConfig`] mirrors the file; [`Settings`] is the validated result with parsed
//! durations, sizes and absolute paths. Any invalid value stops the daemon before it starts, with
//! an error that names the key, the value and what was expected. This file holds the types;
//! `load` reads the file and the environment, `raw` mirrors the file, `validate` checks it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::Mailbox;

/// Where the daemon looks when neither `--config` nor `HELPDESK_CONFIG` is given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/helpdesk/helpdesk.toml";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file (or a `*_file` secret) could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file that failed.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key has the wrong type or is unknown.
    #[error("{path}: {message}")]
    Syntax {
        /// The config file.
        path: PathBuf,
        /// The parser's message, naming the key.
        message: String,
    },
    /// A key the chosen kind needs is absent, or a key is given that it does not use.
    #[error("{path}: {key} {problem}")]
    Misplaced {
        /// The config file.
        path: PathBuf,
        /// Dotted key, e.g. `inbound.host`.
        key: String,
        /// E.g. `is required when inbound.kind = "imap"`.
        problem: String,
    },
    /// A value has the right type but is not acceptable.
    #[error("{path}: {key} = {value:?}: expected {expected}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Dotted key, e.g. `helpdesk.reopen_window`.
        key: String,
        /// The offending value as written.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
}

mod load;
mod raw;
mod validate;

pub use load::{load, load_str};
pub use validate::{parse_duration, parse_size};

pub use raw::{
    InboundKind, OutboundKind, RawConfig, RawDatabase, RawDesk, RawHelpdesk, RawInbound, RawMajor,
    RawOutbound, RawTeam, Security, TechnicianIdentity,
};

/// The validated `[major_incident]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MajorSettings {
    /// Alerted of each major incident, besides its team.
    pub notify: Vec<String>,
    /// How many related reports from different requesters raise one; `None`: only `/major`.
    pub count: Option<u32>,
    /// …within this long.
    pub within: Duration,
    /// Resolving it resolves its open incidents.
    pub resolve_incidents: bool,
}

/// The validated `[approvals]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalSettings {
    /// How long an approver has before the first reminder; `None`: no reminders.
    pub remind_after: Option<Duration>,
    /// How many reminders at most.
    pub reminders: u32,
}

/// The validated `[conference]` section and `[accounts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceSettings {
    /// The category of conference requests.
    pub category: String,
    /// The organisation's premises: names and keywords.
    pub premises: Vec<String>,
    /// Business days of notice for an event on the premises.
    pub on_premises_business_days: u32,
    /// Days of notice for an event off site or somewhere unknown.
    pub off_site_days: u32,
    /// Account managers by sender domain or address (lower-case).
    pub accounts: std::collections::BTreeMap<String, String>,
}

impl ConferenceSettings {
    /// The account manager of `requester`: by their address, else by their domain (or a parent
    /// domain of it).
    pub fn account_manager(&self, requester: &str) -> Option<&str> {
        let requester = requester.to_ascii_lowercase();
        if let Some(m) = self.accounts.get(&requester) {
            return Some(m);
        }
        let mut domain = requester.rsplit_once('@').map(|(_, d)| d)?;
        loop {
            if let Some(m) = self.accounts.get(domain) {
                return Some(m);
            }
            domain = domain.split_once('.')?.1;
        }
    }
}

/// Another help desk a request may belong to (`[desks.NAME]`): how the customer reaches it,
/// and whether the original is forwarded to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Desk {
    /// Its name as customers know it.
    pub name: String,
    /// Its mail address, lower-cased.
    pub address: Option<String>,
    /// Its phone number.
    pub phone: Option<String>,
    /// Its opening hours.
    pub hours: Option<String>,
    /// Its web page.
    pub url: Option<String>,
    /// Anything else the customer should know.
    pub note: Option<String>,
    /// Whether the original message is forwarded to `address`.
    pub forward: bool,
}

/// A string that must not reach logs: `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A technician entry: one address, or everyone at a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Technician {
    /// `tech@example.test`
    Address(String),
    /// `@it.example.test`
    Domain(String),
}

/// A team that rules and `/assign` name: where its notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// The shared address, when the team has one.
    pub address: Option<String>,
    /// Member technicians, lower-cased.
    pub members: Vec<String>,
}

impl Team {
    /// Where the team's mail goes: its address, or else each member.
    pub fn recipients(&self) -> Vec<&str> {
        match &self.address {
            Some(a) => vec![a.as_str()],
            None => self.members.iter().map(String::as_str).collect(),
        }
    }
}

/// What proves that a technician's mail comes from that technician (a From address is claimed,
/// not proven).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TechnicianAuth {
    /// It answers mail the help desk sent to them or their team (the default).
    Reply,
    /// That, or the receiving server's Authentication-Results verify the From domain
    /// (`authserv_id` set).
    ReplyOrAuthenticated {
        /// The receiving server's authserv-id, e.g. `mx.example.com`.
        authserv_id: String,
    },
    /// The receiving server's Authentication-Results must verify the From domain
    /// (`require_authenticated_technicians = true`).
    Authenticated {
        /// The receiving server's authserv-id, e.g. `mx.example.com`.
        authserv_id: String,
    },
}

impl TechnicianAuth {
    /// The trusted authserv-id, when Authentication-Results count.
    pub fn authserv_id(&self) -> Option<&str> {
        match self {
            TechnicianAuth::Reply => None,
            TechnicianAuth::ReplyOrAuthenticated { authserv_id }
            | TechnicianAuth::Authenticated { authserv_id } => Some(authserv_id),
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file it came from; relative paths in it are resolved against its directory.
    pub config_path: PathBuf,
    /// The support mailbox, lower-cased, with its display name.
    pub address: Mailbox,
    /// Ticket prefix, upper-case letters and digits.
    pub ticket_prefix: String,
    /// Who counts as a technician.
    pub technicians: Vec<Technician>,
    /// How long a resolved case stays open to a dispute.
    pub reopen_window: Duration,
    /// The rules file, or `None` for the shipped chart.
    pub rules_path: Option<PathBuf>,
    /// The template override directory.
    pub templates_dir: Option<PathBuf>,
    /// The hourly caps on automatic mail (per base mailbox, per domain, in all) and on the
    /// notifications one sender's mail causes.
    pub caps: crate::caps::Limits,
    /// Database URL (may hold a password).
    pub database_url: Secret,
    /// On SQLite, the daemon and bulk import keep to one CPU (`[database] one_cpu`).
    pub one_cpu: bool,
    /// Where mail comes from.
    pub source: SourceSettings,
    /// Attachments above this many bytes are not extracted.
    pub max_attachment_size: u64,
    /// Messages above this many bytes are quarantined.
    pub max_message_size: u64,
    /// Mailbox re-scan interval.
    pub poll_interval: Duration,
    /// Where mail goes.
    pub transport: TransportSettings,
    /// From of outgoing mail: `outbound.from` or the support address, with the display name.
    pub from: Mailbox,
    /// Teams by name (lower-case).
    pub teams: std::collections::BTreeMap<String, Team>,
    /// Other help desks by name (lower-case).
    pub desks: std::collections::BTreeMap<String, Desk>,
    /// Major incidents: who is alerted, and when related reports raise one.
    pub major: MajorSettings,
    /// Reminders to approvers.
    pub approvals: ApprovalSettings,
    /// Conference requests: premises, lead times, account managers.
    pub conference: ConferenceSettings,
    /// What a technician's mail must prove.
    pub technician_auth: TechnicianAuth,
    /// What customers see of the technician who answered.
    pub technician_identity: TechnicianIdentity,
    /// Relays go to every customer-side participant (else to the requester only).
    pub reply_all: bool,
    /// Technicians get a receipt listing what their commands changed.
    pub command_receipts: bool,
    /// Files forwarded with one outgoing mail, in bytes in all (0: none).
    pub max_attachments_size: u64,
    /// Outgoing connections (SMTP sessions, or files written) at once.
    pub outbound_connections: usize,
    /// The business calendar, and the zone times are shown in.
    pub calendar: crate::calendar::Calendar,
    /// SLA warnings, the triage digest and the weekly follow-up.
    pub sla: SlaSettings,
    /// Where Prometheus metrics are served, if anywhere.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// When the triage digest goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// At odd hours that fall in working time.
    Business,
    /// At every odd hour.
    Always,
    /// Never.
    Off,
}

/// The validated `[sla]` section.
#[derive(Debug, Clone)]
pub struct SlaSettings {
    /// The fraction of a target at which the team is warned; `None`: no warnings.
    pub warn_at: Option<f64>,
    /// When the triage digest goes out.
    pub digest: Digest,
    /// How long a pending or scheduled case may go without a status note.
    pub follow_up: Duration,
    /// Categories whose open cases need the weekly note too.
    pub follow_up_categories: Vec<String>,
}

/// The validated `[inbound]` source.
#[derive(Debug, Clone)]
pub enum SourceSettings {
    /// A local Maildir root.
    Maildir {
        /// Its root directory.
        path: PathBuf,
    },
    /// A mailbox on an IMAP server.
    Imap(ImapSettings),
    /// No mailbox to watch: messages come only through `helpdesk ingest`.
    Stdin,
    /// An LMTP server the MTA delivers to.
    Lmtp {
        /// Where it listens.
        listen: Listen,
        /// The group (name, id) its Unix socket is given.
        group: Option<(String, u32)>,
    },
}

/// Where the LMTP server listens (`[inbound] listen`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A Unix domain socket at this path (Postfix `lmtp:unix:/path`).
    Unix(PathBuf),
    /// A loopback TCP address (Postfix `lmtp:inet:127.0.0.1:port`).
    Tcp(std::net::SocketAddr),
}

/// Where and how to reach a mail server.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// Login name and password; `None` means no authentication (SMTP only).
    pub login: Option<(String, Secret)>,
    /// An extra trusted CA certificate file (PEM).
    pub ca_file: Option<PathBuf>,
}

/// The validated `[inbound]` keys of `kind = "imap"`.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    /// The server.
    pub server: ServerSettings,
    /// The folder read.
    pub folder: String,
    /// Where processed mail is moved, if anywhere.
    pub processed_folder: Option<String>,
    /// Whether to use IDLE when offered.
    pub idle: bool,
}

/// The validated `[outbound]` transport.
#[derive(Debug, Clone)]
pub enum TransportSettings {
    /// One `.eml` file per mail in a directory.
    File {
        /// The directory.
        dir: PathBuf,
    },
    /// An SMTP server.
    Smtp(ServerSettings),
}

impl Settings {
    /// True when `address` is a configured technician (exact address or domain entry) or a
    /// member of a team.
    pub fn is_technician(&self, address: &str) -> bool {
        let address = address.to_ascii_lowercase();
        self.technicians.iter().any(|t| match t {
            Technician::Address(a) => *a == address,
            Technician::Domain(d) => address.rsplit_once('@').is_some_and(|(_, ad)| ad == d),
        }) || self.teams.values().any(|t| t.members.contains(&address))
    }

    /// Whether `address` is the help desk's own: a technician, a team's list, another desk,
    /// or the support address (with any `+tag`). Such addresses never get a customer's copies.
    pub fn is_staff_address(&self, address: &str) -> bool {
        let same = |a: &str| crate::parse::signals::same_mailbox(a, address);
        self.is_technician(address)
            || same(&self.address.address)
            || same(&self.from.address)
            || self
                .teams
                .values()
                .any(|t| t.address.as_deref().is_some_and(same))
            || self
                .desks
                .values()
                .any(|d| d.address.as_deref().is_some_and(same))
    }

    /// The help desk's display name for mail: `helpdesk.name`, else "Service Desk".
    pub fn helpdesk_name(&self) -> String {
        self.address
            .name
            .clone()
            .unwrap_or_else(|| "Service Desk".into())
    }

    /// The desk of this name, if configured.
    pub fn desk(&self, name: &str) -> Option<&Desk> {
        self.desks.get(&name.to_ascii_lowercase())
    }

    /// The team of this name, if configured.
    pub fn team(&self, name: &str) -> Option<&Team> {
        self.teams.get(&name.to_ascii_lowercase())
    }
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
