//! helpdesk: an email-driven IT helpdesk daemon. People email a support address; each message
//! becomes a case with a ticket number, is categorized by keyword rules, and is acknowledged
//! from a template through a durable outbox.
//!
//! # Layout
//! Modules in pipeline order; data flows one way, from a raw message to a case and the mail it
//! sets off. *Pure* modules do no I/O and read no clock (they take `now`): their decisions are
//! unit-tested without a database.
//!
//! Configuration and types:
//! - [`config`]: the TOML file and `HELPDESK_*` environment → validated [`config::Settings`].
//! - [`model`]: domain types shared by every stage (tickets, statuses, [`model::Inbound`]).
//!
//! A message in (decisions pure, then one transaction):
//! - [`mailbox`]: where raw messages come from (Maildir, IMAP, an mbox, a pipe), read within
//!   the size limit and cut into batches; acknowledged to the source only after commit.
//! - [`parse`] (pure): raw bytes → owned [`model::Inbound`], auto-reply signals, content hash.
//! - [`thread`] (pure): does the message belong to a case, and may its sender act on it?
//! - [`classify`] (pure): ordered regex rules and the categorization chart → category,
//!   priority, team.
//! - [`commands`] (pure): a technician's `/command` lines → validated changes to the case.
//! - [`lifecycle`] (pure): the status machine; [`sla`] (pure): the SLA clocks; [`calendar`]
//!   (pure): working time; [`caps`] (pure): how much automatic mail anyone may get per hour.
//! - [`ingest`]: one message through the stages above into one database transaction: a
//!   duplicate, a bounce, a new case, or a message joining a case.
//! - [`casework`]: the changes to a case (replies, commands, notes, the status machine, the
//!   reopen window's end, status changes from the CLI) and the mail they queue; its
//!   [`casework::Pipeline`] is the handle intake and the scheduler work through.
//! - [`store`]: every SQL text, for SQLite and PostgreSQL through sqlx's Any driver, and the
//!   event log's kinds with their typed details (`store::events`).
//!
//! Mail out and time:
//! - [`templates`]: the mail's templates and typed contexts, and the catalog that holds them with
//!   the rules, swapped as one when the daemon reloads.
//! - [`outbox`]: renders queued mail from templates and hands it to the transport, with retries.
//! - [`attach`] (pure): which files ride along with an outgoing mail, and their names and types
//!   as our headers write them.
//! - [`scheduler`]: the clocks' task: reopen windows, SLA alerts, follow-ups, the digest.
//!
//! Running it:
//! - [`daemon`]: the supervisor that runs intake, the scheduler and the outbox until told to stop.
//! - [`service`]: running under systemd: readiness, status, the watchdog and its heartbeats.
//! - [`telemetry`]: Prometheus metrics on a loopback port.
//! - [`net`]: TCP and TLS underneath IMAP and SMTP, and the error both clients return, naming
//!   the step that failed (connect, TLS, greeting, STARTTLS, login, select, AUTH).
//! - [`files`]: what helpdesk creates on disk is private (0600 in 0700) and synced.
//! - [`import`]: a backlog (an mbox file or a Maildir backup) through ingest; no mail unless asked.
//! - [`cli`]: the `helpdesk` subcommands.
//!
//! The modules form layers (`tests/it/layers.rs` lists them and checks that no path goes up a
//! layer or closes a cycle). Instants are [`model::Millis`] (milliseconds since the epoch, as
//! stored); spans are [`std::time::Duration`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The map above and the module docs name crate-private modules: `cargo doc
// --document-private-items` is the developer's view.
#![allow(rustdoc::private_intra_doc_links)]

pub mod attach;
pub(crate) mod calendar;
pub(crate) mod caps;
pub(crate) mod casework;
pub mod classify;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub(crate) mod files;
pub(crate) mod import;
pub(crate) mod ingest;
pub(crate) mod lifecycle;
pub mod mailbox;
pub mod model;
pub(crate) mod net;
pub(crate) mod outbox;
pub mod parse;
pub(crate) mod scheduler;
pub(crate) mod service;
pub(crate) mod sla;
pub mod store;
pub(crate) mod telemetry;
pub(crate) mod templates;
pub mod thread;
