//! The configuration file as written: serde types that mirror the TOML, with the defaults.
//! Validation into [`super::Settings`] happens in the parent module.

use serde::Deserialize;

/// The TOML file as written: every section and key, unvalidated.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[helpdesk]`: identity and behaviour.
    pub helpdesk: RawHelpdesk,
    /// `[database]`: where cases live.
    #[serde(default)]
    pub database: RawDatabase,
    /// `[inbound]`: where mail comes from.
    pub inbound: RawInbound,
    /// `[outbound]`: where mail goes.
    pub outbound: RawOutbound,
    /// `[teams.NAME]`: the teams rules and `/assign` name, and how to reach them.
    #[serde(default)]
    pub teams: std::collections::BTreeMap<String, RawTeam>,
    /// `[desks.NAME]`: other help desks that requests may belong to (`redirect`).
    #[serde(default)]
    pub desks: std::collections::BTreeMap<String, RawDesk>,
    /// `[major_incident]`: who is alerted, and when related reports make one.
    #[serde(default)]
    pub major_incident: RawMajor,
    /// `[approvals]`: reminders to approvers who have not answered.
    #[serde(default)]
    pub approvals: RawApprovals,
    /// `[conference]`: the conference-support procedure's premises and lead times.
    #[serde(default)]
    pub conference: RawConference,
    /// `[accounts]`: a customer's account manager, by sender domain or address.
    #[serde(default)]
    pub accounts: std::collections::BTreeMap<String, String>,
    /// `[calendar]`: the business calendar SLA targets run on.
    #[serde(default)]
    pub calendar: RawCalendar,
    /// `[sla]`: warnings, the triage digest and the weekly follow-up.
    #[serde(default)]
    pub sla: RawSla,
    /// `[metrics]`: Prometheus metrics over HTTP.
    #[serde(default)]
    pub metrics: RawMetrics,
}

/// `[metrics]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// `127.0.0.1:9187`: where `/metrics` is served; no metrics when absent.
    pub listen: Option<String>,
}

/// `[calendar]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalendar {
    /// IANA time zone (`Europe/Berlin`, `UTC`); the system's zone when absent.
    pub timezone: Option<String>,
    /// Working weekdays.
    #[serde(default = "default_days")]
    pub days: Vec<String>,
    /// Working hours, local time: `"08:00-17:00"`.
    #[serde(default = "default_hours")]
    pub hours: String,
    /// Days off: `"2026-12-25"`.
    #[serde(default)]
    pub holidays: Vec<String>,
}

impl Default for RawCalendar {
    fn default() -> Self {
        RawCalendar {
            timezone: None,
            days: default_days(),
            hours: default_hours(),
            holidays: Vec::new(),
        }
    }
}

/// `[sla]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSla {
    /// The fraction of a target at which the team is warned (0 < f < 1); 0 turns warnings off.
    #[serde(default = "default_warn_at")]
    pub warn_at: f64,
    /// When the triage digest of uncategorized cases goes out: at odd hours within working
    /// time (`business`, the default), at every odd hour (`always`), or never (`off`).
    #[serde(default = "default_digest")]
    pub digest: String,
    /// How long a pending or scheduled case may go without a status note before its technician
    /// or team is reminded.
    #[serde(default = "default_follow_up")]
    pub follow_up: String,
    /// Categories whose cases need that weekly status note even when not pending (scheduled work).
    #[serde(default = "default_follow_up_categories")]
    pub follow_up_categories: Vec<String>,
}

impl Default for RawSla {
    fn default() -> Self {
        RawSla {
            warn_at: default_warn_at(),
            digest: default_digest(),
            follow_up: default_follow_up(),
            follow_up_categories: default_follow_up_categories(),
        }
    }
}

/// `[teams.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeam {
    /// The team's shared address (a list or shared mailbox) that gets its notifications.
    pub address: Option<String>,
    /// The team's technicians: each counts as a technician, and gets the notifications when
    /// the team has no `address`.
    #[serde(default)]
    pub members: Vec<String>,
}

/// `[major_incident]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMajor {
    /// Who is alerted of a major incident, besides its team.
    #[serde(default)]
    pub notify: Vec<String>,
    /// How many related reports from different requesters raise one by themselves (0: never).
    #[serde(default = "default_major_count")]
    pub count: u32,
    /// …arriving within this long.
    #[serde(default = "default_major_within")]
    pub within: String,
    /// Whether resolving the major incident resolves its open incidents.
    #[serde(default = "default_true")]
    pub resolve_incidents: bool,
}

impl Default for RawMajor {
    fn default() -> Self {
        RawMajor {
            notify: Vec::new(),
            count: default_major_count(),
            within: default_major_within(),
            resolve_incidents: true,
        }
    }
}

/// `[approvals]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApprovals {
    /// How long an approver has before a reminder (`"0"`: never reminded).
    #[serde(default = "default_remind_after")]
    pub remind_after: String,
    /// How many reminders at most.
    #[serde(default = "default_reminders")]
    pub reminders: u32,
}

impl Default for RawApprovals {
    fn default() -> Self {
        RawApprovals {
            remind_after: default_remind_after(),
            reminders: default_reminders(),
        }
    }
}

fn default_remind_after() -> String {
    "2d".into()
}

fn default_reminders() -> u32 {
    2
}

/// `[conference]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConference {
    /// The category whose requests are conference requests.
    #[serde(default = "default_conference_category")]
    pub category: String,
    /// The organisation's premises: names and keywords ("head office", "board room").
    #[serde(default)]
    pub premises: Vec<String>,
    /// Business days of notice needed for an event on the premises.
    #[serde(default = "default_on_premises_days")]
    pub on_premises_business_days: u32,
    /// Days of notice needed for an event off site (or somewhere unknown).
    #[serde(default = "default_off_site_days")]
    pub off_site_days: u32,
}

impl Default for RawConference {
    fn default() -> Self {
        RawConference {
            category: default_conference_category(),
            premises: Vec::new(),
            on_premises_business_days: default_on_premises_days(),
            off_site_days: default_off_site_days(),
        }
    }
}

fn default_conference_category() -> String {
    "conference_support".into()
}

fn default_on_premises_days() -> u32 {
    10
}

fn default_off_site_days() -> u32 {
    90
}

fn default_major_count() -> u32 {
    5
}

fn default_major_within() -> String {
    "30m".into()
}

fn default_true() -> bool {
    true
}

/// `[desks.NAME]` as written: another help desk, as the customer is told to reach it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDesk {
    /// Its name as customers know it: "HR Service Center".
    pub name: String,
    /// Its mail address.
    pub address: Option<String>,
    /// Its phone number.
    pub phone: Option<String>,
    /// When it is open: "Mon–Fri 08:00–16:00".
    pub hours: Option<String>,
    /// Its web page or portal.
    pub url: Option<String>,
    /// Anything else the customer should know.
    pub note: Option<String>,
    /// Forward the original message to `address`, as an attachment.
    #[serde(default)]
    pub forward: bool,
}

/// `[helpdesk]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHelpdesk {
    /// The support mailbox; From of outgoing mail.
    pub address: String,
    /// Display name for outgoing mail.
    pub name: Option<String>,
    /// Ticket prefix: tickets look like `HD-000123`.
    #[serde(default = "default_prefix")]
    pub ticket_prefix: String,
    /// Technician addresses or `@domain` entries.
    #[serde(default)]
    pub technicians: Vec<String>,
    /// How long a resolved case can be reopened by the customer.
    #[serde(default = "default_reopen_window")]
    pub reopen_window: String,
    /// Rules file; the shipped categorization chart when absent.
    pub rules: Option<String>,
    /// Directory whose templates override the embedded ones.
    pub templates: Option<String>,
    /// Cap on automatic replies to one base mailbox per hour (loop protection).
    #[serde(default = "default_auto_reply_limit")]
    pub auto_reply_limit: u32,
    /// Cap on automatic replies to one domain per hour (not the help desk's own domain).
    #[serde(default = "default_auto_reply_domain_limit")]
    pub auto_reply_domain_limit: u32,
    /// Cap on automatic replies in all per hour.
    #[serde(default = "default_auto_reply_global_limit")]
    pub auto_reply_global_limit: u32,
    /// Cap on team notifications that one sender's mail causes per hour.
    #[serde(default = "default_notification_limit")]
    pub notification_limit: u32,
    /// Count a technician's mail only when the receiving server's Authentication-Results verify
    /// the sender's domain (an answer to our mail is not enough).
    #[serde(default)]
    pub require_authenticated_technicians: bool,
    /// The authserv-id of the receiving server whose Authentication-Results are trusted; when
    /// set, they prove a technician's mail as well as an answer to our mail does.
    pub authserv_id: Option<String>,
    /// What customers see of the technician who answered: `hidden` (default), `name`, or
    /// `address` (name and address).
    #[serde(default)]
    pub technician_identity: TechnicianIdentity,
    /// Relays go to everyone on the customer's side of the thread (the requester in To, the
    /// others in Cc); `false` sends them to the requester only.
    #[serde(default = "default_true")]
    pub reply_all: bool,
    /// A technician whose reply carried commands gets a short mail listing what changed.
    #[serde(default)]
    pub command_receipts: bool,
}

/// What a relayed technician reply tells the customer about its author.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TechnicianIdentity {
    /// Nothing: the reply comes from the help desk.
    #[default]
    Hidden,
    /// The technician's display name (or the address's local part when there is none).
    Name,
    /// The display name and the address.
    Address,
}

/// `[database]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// `sqlite:PATH` or `postgres://…`.
    pub url: Option<String>,
    /// A file holding the URL (for URLs with passwords; systemd credentials).
    pub url_file: Option<String>,
    /// On SQLite, `helpdesk run` and `helpdesk import` keep to one CPU (`src/daemon/cpu.rs`);
    /// `false` lets them use them all.
    #[serde(default = "default_true")]
    pub one_cpu: bool,
}

impl Default for RawDatabase {
    fn default() -> Self {
        RawDatabase {
            url: None,
            url_file: None,
            one_cpu: true,
        }
    }
}

/// `[inbound]` as written. `kind` decides which of the source keys apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInbound {
    /// The source kind.
    pub kind: InboundKind,
    /// Maildir root (with `new/`, `cur/`, `tmp/`); `maildir` only.
    pub path: Option<String>,
    /// Server host name; `imap` only.
    pub host: Option<String>,
    /// Server port; default 993 with `tls`, 143 otherwise.
    pub port: Option<u16>,
    /// `none`, `starttls` or `tls` (default).
    pub security: Option<Security>,
    /// Login name.
    pub username: Option<String>,
    /// Password (prefer `password_file`).
    pub password: Option<String>,
    /// A file holding the password.
    pub password_file: Option<String>,
    /// The folder to read (default `INBOX`).
    pub folder: Option<String>,
    /// Where processed mail is moved; when absent it is flagged `\Seen` and left in place.
    pub processed_folder: Option<String>,
    /// Use IMAP IDLE when the server offers it (default true).
    pub idle: Option<bool>,
    /// An extra trusted CA certificate (PEM), for private or test CAs.
    pub ca_file: Option<String>,
    /// Where the LMTP server listens: `unix:/run/helpdesk/lmtp.sock` (or a bare absolute path)
    /// or a loopback `127.0.0.1:2424`; `lmtp` only.
    pub listen: Option<String>,
    /// The group the LMTP socket is given (mode 0660), so the MTA's delivery agent may
    /// connect: `postfix` for Postfix's `lmtp:unix:` transport; `lmtp` only.
    pub socket_group: Option<String>,
    /// Attachments larger than this are kept only inside the raw message.
    #[serde(default = "default_max_attachment")]
    pub max_attachment_size: String,
    /// Messages larger than this are quarantined instead of becoming cases.
    #[serde(default = "default_max_message")]
    pub max_message_size: String,
    /// How often the mailbox is re-scanned without a change notification (default 5s for a
    /// Maildir, 60s for IMAP); with `stdin`, how often the outbox is checked for mail that
    /// `helpdesk ingest` queued (default 5s).
    pub poll_interval: Option<String>,
}

/// Kinds of inbound source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboundKind {
    /// A local Maildir: `new/` is watched, files move to `cur/` after commit.
    Maildir,
    /// A mailbox on an IMAP server, watched with IDLE or polled.
    Imap,
    /// No mailbox: mail arrives only through `helpdesk ingest` (an MTA's pipe), and the daemon
    /// delivers the outbox and runs the clocks.
    Stdin,
    /// The MTA delivers each message to the running daemon over LMTP (RFC 2033), which answers
    /// only once the message is committed.
    Lmtp,
}

/// How a connection to a mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text: only for a server on the same host.
    None,
    /// Plain connection upgraded with STARTTLS before login; refused if the server cannot.
    Starttls,
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
}

impl Security {
    /// How people name it in a server's description: `no TLS`, `STARTTLS`, `TLS`.
    pub fn label(self) -> &'static str {
        match self {
            Security::None => "no TLS",
            Security::Starttls => "STARTTLS",
            Security::Tls => "TLS",
        }
    }
}

/// `[outbound]` as written. `kind` decides which of the keys apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutbound {
    /// The transport kind.
    pub kind: OutboundKind,
    /// Directory receiving one `.eml` per outgoing mail; `file` only.
    pub path: Option<String>,
    /// SMTP server host name; `smtp` only.
    pub host: Option<String>,
    /// Server port; default 465 with `tls`, 587 with `starttls`, 25 with `none`.
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    pub security: Option<Security>,
    /// Login name; no AUTH when absent.
    pub username: Option<String>,
    /// Password (prefer `password_file`).
    pub password: Option<String>,
    /// A file holding the password.
    pub password_file: Option<String>,
    /// An extra trusted CA certificate (PEM).
    pub ca_file: Option<String>,
    /// From address of outgoing mail and envelope sender; default `helpdesk.address`.
    pub from: Option<String>,
    /// Files forwarded with one mail (a notification, a relay) up to this many bytes in all;
    /// larger ones are listed and stay on the case. `0` forwards none.
    #[serde(default = "default_max_attachments_size")]
    pub max_attachments_size: String,
    /// SMTP connections used at once (default 4): mail of different cases goes out in
    /// parallel, a case's own mail in order.
    pub connections: Option<u32>,
}

/// Kinds of outbound transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboundKind {
    /// Write each mail as an `.eml` file into a directory.
    File,
    /// Submit each mail to an SMTP server.
    Smtp,
}

pub(super) fn default_prefix() -> String {
    "HD".into()
}
pub(super) fn default_reopen_window() -> String {
    "3d".into()
}
pub(super) fn default_auto_reply_limit() -> u32 {
    5
}
pub(super) fn default_auto_reply_domain_limit() -> u32 {
    30
}
pub(super) fn default_auto_reply_global_limit() -> u32 {
    500
}
pub(super) fn default_notification_limit() -> u32 {
    30
}
pub(super) fn default_max_attachments_size() -> String {
    "10MiB".into()
}

pub(super) fn default_max_attachment() -> String {
    "25MiB".into()
}
pub(super) fn default_max_message() -> String {
    "64MiB".into()
}
pub(super) fn default_days() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .map(String::from)
        .to_vec()
}
pub(super) fn default_hours() -> String {
    "08:00-17:00".into()
}
pub(super) fn default_warn_at() -> f64 {
    0.75
}
pub(super) fn default_digest() -> String {
    "business".into()
}
pub(super) fn default_follow_up() -> String {
    "7d".into()
}
pub(super) fn default_follow_up_categories() -> Vec<String> {
    vec!["scheduled_maintenance".into()]
}
