//! The one integration-test binary. Each module is one area; shared helpers live in `util`.

// Golden files: every fixture message parsed and classified, compared with its expected JSON.
mod golden;
// The `helpdesk` binary end to end: ingest, run, cases, quarantine, rules, check.
mod cli;
// `helpdesk import`: mbox files and Maildir backups as cases, without mail unless asked.
mod import;
// The binary on PostgreSQL (when HELPDESK_TEST_POSTGRES_URL is set).
mod postgres;
// The binary against real Dovecot and Postfix: IMAP intake, IDLE, SMTP delivery, outages, TLS.
mod live;
// LMTP intake: the real Postfix delivers to the running daemon over its Unix socket.
mod lmtp;
// Technicians and customers in conversation on the real servers: notifications, replies,
// commands, notes, strangers, and the three ways a reply finds its case.
mod conversation;
// Incident management by mail on the real servers: redirect to another desk, impact × urgency,
// copies to a manager.
mod incidents;
// Service requests by mail on the real servers: conference support, tasks, approvals, ratings.
mod requests;
// The whole conversation on the real servers: files both ways, everyone on the thread, receipts.
mod everyone;
// The module map: layers from model up to cli, no cycle, no arrow upward.
mod layers;
// The resolution lifecycle and SLA clocks on the real servers, with the daemon running.
mod lifecycle;
// Running under systemd: the unit file, sd_notify and the watchdog, SIGHUP reload, log formats.
mod service;
// Several daemons on one mailbox and one PostgreSQL database: the intake lease, claimed mail.
mod instances;
// Faults: a full disk under the database loses nothing.
mod faults;
// Hostile input: mutated messages never panic.
mod robustness;
// Poison messages: one that crashes the worker twice, one too large to read, are quarantined.
mod poison;
// Real Dovecot + Postfix on loopback (tests/mailstack) and helpers to send, read and restart.
mod stack;
// Helpers: temporary helpdesk setups and running the binary.
mod util;
