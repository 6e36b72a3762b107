//! helpdesk: an email-driven IT helpdesk daemon. People email a support address; each message
//! becomes a case with a ticket number, is categorized by keyword rules, and is acknowledged
//! from a template through a durable outbox.
//!
//! # Layout
//! Modules in pipeline order; data flows one way:
//!
//! - [`config`]: the TOML file and `HELPDESK_*` environment → validated [`config::Settings`].
//! - [`model`]: domain types shared by every stage (tickets, statuses, [`model::Inbound`]).
//! - [`mailbox`]: where raw messages come from (a Maildir); acknowledged only after commit.
//! - [`parse`]: raw bytes → owned [`model::Inbound`], auto-reply signals, content hash.
//! - [`thread`]: does the message belong to an existing case, and may its sender write to it?
//! - [`classify`]: ordered regex rules and the categorization chart → category, priority, team.
//! - [`commands`]: a technician's `/command` lines → validated changes to the case.
//! - [`caps`]: how much automatic mail one mailbox, one domain and everyone may get per hour.
//! - [`ingest`]: one message through the stages above into one database transaction.
//! - [`store`]: SQL for SQLite and PostgreSQL through sqlx's Any driver.
//! - [`outbox`]: renders queued mail from templates and hands it to the transport, with retries.
//! - [`catalog`]: the rules and templates together, swapped as one when the daemon reloads.
//! - [`daemon`]: the supervisor that runs intake and outbox until told to stop.
//! - [`service`]: running under systemd: readiness, status, the watchdog and its heartbeats.
//! - [`import`]: a backlog (an mbox file or a Maildir backup) through ingest; no mail unless asked.
//! - [`cli`]: the `helpdesk` subcommands.
//! - [`files`]: what helpdesk creates on disk is private (0600 in 0700) and synced.
//!
//! `parse`, `thread`, `classify` and `commands` are pure: no I/O, no clock. Only `mailbox`, `store`,
//! `outbox`, `daemon` and `cli` do I/O.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod calendar;
pub mod caps;
pub mod catalog;
pub mod classify;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod files;
pub mod import;
pub mod ingest;
pub mod lifecycle;
pub mod mailbox;
pub mod model;
pub mod net;
pub mod outbox;
pub mod parse;
pub mod scheduler;
pub mod service;
pub mod sla;
pub mod store;
pub mod telemetry;
pub mod thread;
