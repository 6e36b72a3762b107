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
    /// Cap on automatic replies to one address per hour (loop protection).
    #[serde(default = "default_auto_reply_limit")]
    pub auto_reply_limit: u32,
}

/// `[database]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// `sqlite:PATH` or `postgres://…`.
    pub url: Option<String>,
    /// A file holding the URL (for URLs with passwords; systemd credentials).
    pub url_file: Option<String>,
}

/// `[inbound]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInbound {
    /// The source kind; only `maildir` so far.
    pub kind: InboundKind,
    /// Maildir root (with `new/`, `cur/`, `tmp/`).
    pub path: String,
    /// Attachments larger than this are kept only inside the raw message.
    #[serde(default = "default_max_attachment")]
    pub max_attachment_size: String,
    /// Messages larger than this are quarantined instead of becoming cases.
    #[serde(default = "default_max_message")]
    pub max_message_size: String,
    /// How often the mailbox is re-scanned even without a change notification.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: String,
}

/// Kinds of inbound source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboundKind {
    /// A local Maildir: `new/` is watched, files move to `cur/` after commit.
    Maildir,
}

/// `[outbound]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutbound {
    /// The transport kind; only `file` so far.
    pub kind: OutboundKind,
    /// Directory receiving one `.eml` per outgoing mail.
    pub path: String,
}

/// Kinds of outbound transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboundKind {
    /// Write each mail as an `.eml` file into a directory.
    File,
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
pub(super) fn default_max_attachment() -> String {
    "25MiB".into()
}
pub(super) fn default_max_message() -> String {
    "64MiB".into()
}
pub(super) fn default_poll_interval() -> String {
    "5s".into()
}
