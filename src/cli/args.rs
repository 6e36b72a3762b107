//! The command line as clap reads it: the options, the subcommands and their arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use super::report;
use crate::config;
use crate::model::Status;

/// An email-driven IT helpdesk daemon.
#[derive(Debug, Parser)]
#[command(name = "helpdesk", version, about, long_about = None)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, short, global = true, env = "HELPDESK_CONFIG", default_value = config::DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// How the log (on stderr) is written: `text` (plain lines; no colours unless stderr is a
    /// terminal, no timestamps under journald, which adds its own) or `json` (one object a line).
    #[arg(long, global = true, env = "HELPDESK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The log's format (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: watch the mailbox, open and update cases, deliver the outbox.
    ///
    /// Under systemd (`Type=notify`) it reports readiness and status and pings the watchdog.
    /// SIGHUP reloads the rules and templates (invalid ones are logged and the old ones kept);
    /// SIGTERM and SIGINT stop it within 30 seconds.
    Run {
        /// Process what is waiting, deliver the outbox, and exit.
        #[arg(long)]
        once: bool,
    },
    /// Ingest one message from stdin (or --file) and print its ticket.
    ///
    /// Prints the ticket of the case the message created or joined, or `quarantined: <reason>`.
    /// Exits 0 once the message is safely stored, and 75 (EX_TEMPFAIL, so an MTA piping into it
    /// retries later) if it could not be stored.
    Ingest {
        /// Read the message from this file instead of stdin.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// List and show cases.
    #[command(subcommand)]
    Cases(CasesCommand),
    /// Reports over the cases.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Messages that could not become cases.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// Outgoing mail.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Test and print classification rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Load a backlog (an mbox file or a Maildir backup) as cases, sending no mail unless asked.
    ///
    /// Messages go through the usual pipeline (threading, rules, quarantine) in batches; cases
    /// record that their mail was not sent. Running the same import again stores nothing new:
    /// it reports duplicates. Exits 0 when every message was stored, 75 (EX_TEMPFAIL) when the
    /// database failed part way (run it again to resume).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Validate the configuration, rules and templates, and open the database and mailbox.
    Check,
    /// Apply database migrations.
    Migrate,
}

/// `helpdesk cases …`
#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// List cases as a work queue: overdue first, then by due time.
    ///
    /// Overdue (marked `!`): open, in progress, assigned or pending, and past the resolution
    /// target (or it was ever missed) or past the first-response target without a reply. The
    /// DUE column shows the earlier of the two deadlines (`resolve`, `respond`; `breached`, when
    /// the target was missed and the clock has stopped since), or `closes` for a resolved case's
    /// auto-close, in the time zone of `[calendar]`. After the overdue cases come
    /// active ones by due time, then resolved ones by when they close, then the rest; newest
    /// first among equals. Shows one page of `--limit` cases (50), and under it how many
    /// there are.
    List {
        /// Only cases with this status.
        #[arg(long)]
        status: Option<Status>,
        /// Only cases of this team.
        #[arg(long)]
        team: Option<String>,
        /// Only cases of this requester (their address).
        #[arg(long)]
        requester: Option<String>,
        /// Only overdue cases.
        #[arg(long)]
        overdue: bool,
        /// Show at most this many cases (a page).
        #[arg(long, default_value_t = 50, conflicts_with = "all")]
        limit: u64,
        /// Skip this many cases first (the next page: the offset plus the limit).
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Every case, written as it is read (memory stays flat however many there are).
        #[arg(long)]
        all: bool,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one case with its messages, outgoing mail and events.
    Show {
        /// The ticket, e.g. HD-000123.
        ticket: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write out one file attached to a case: number N as `cases show` and the team's
    /// notifications number them (1 is the first file of the first message).
    ///
    /// Without `-o`, the file goes into the current directory under its (made safe) name; an
    /// existing file is never overwritten. `-o -` writes it to standard output.
    Attachment {
        /// The ticket, e.g. HD-000123.
        ticket: String,
        /// The file's number on the case.
        number: usize,
        /// Where to write it (`-` for standard output).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Set a case's status, as a technician's `/status` would (refused transitions change
    /// nothing and say why). `resolved` sends the customer the resolution notice.
    Status {
        /// The ticket, e.g. HD-000123.
        ticket: String,
        /// in_progress, assigned, pending, resolved or closed.
        status: Status,
        /// For pending: vendor, customer, district or scheduled, and optional text.
        reason: Vec<String>,
    },
    /// Resolve a case: the customer gets the resolution notice with the reopen deadline.
    Resolve {
        /// The ticket, e.g. HD-000123.
        ticket: String,
        /// The resolution, for the customer.
        text: Vec<String>,
    },
    /// Reopen a resolved or closed case; the customer is told.
    Reopen {
        /// The ticket, e.g. HD-000123.
        ticket: String,
    },
}

/// `helpdesk report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// SLA figures per category and priority, and in total.
    ///
    /// CASES counts every case created in the period. Against the resolution target: MET
    /// (resolved or closed, never breached), BREACHED (the target was missed, even if resolved
    /// since) and OPEN (neither yet). NO SLA counts cases without a resolution target, which are
    /// in none of those three: CASES = MET + BREACHED + OPEN + NO SLA. FR MET and FR BREACHED
    /// count first responses given in time and first-response targets missed. FIRST RESPONSE
    /// and RESOLUTION are the median times from creation to a technician's first public reply
    /// and to resolution, over the cases that have one, with or without a target.
    Sla {
        /// Only cases created on or after this day (YYYY-MM-DD, from midnight in the
        /// time zone of `[calendar]`); default: all cases.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = report::parse_date)]
        since: Option<jiff::civil::Date>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The customers' verdicts: ratings given by reply to resolution notices (1 poor to 5
    /// excellent), per category and per team: how many, the average and how they spread.
    Satisfaction {
        /// Only cases created on or after this day (YYYY-MM-DD, from midnight in the
        /// time zone of `[calendar]`); default: all cases.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = report::parse_date)]
        since: Option<jiff::civil::Date>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `helpdesk quarantine …`
#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List quarantined messages with the reason.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write one quarantined message's raw bytes to stdout.
    Show {
        /// The quarantine id from `quarantine list`.
        id: i64,
    },
}

/// `helpdesk outbox …`
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List outgoing mail with its delivery state.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Queue failed mail again (or send a waiting one now).
    Retry {
        /// The row id from `outbox list`.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every failed row.
        #[arg(long)]
        all: bool,
    },
}

/// `helpdesk import …`
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an mbox file (mboxrd or mboxo, as mail clients and archives export).
    Mbox {
        /// The mbox file.
        file: PathBuf,
        /// Acknowledge each new case to its customer (no other mail is sent either way).
        #[arg(long)]
        acknowledge: bool,
    },
    /// Import a Maildir backup: the files in its new/ and cur/, left where they are.
    Maildir {
        /// The Maildir (the directory holding new/ and cur/).
        dir: PathBuf,
        /// Acknowledge each new case to its customer (no other mail is sent either way).
        #[arg(long)]
        acknowledge: bool,
    },
}

/// `helpdesk rules …`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Dry run: show what the rules decide for a message, and why.
    Test {
        /// An .eml file.
        file: PathBuf,
        /// Use this rules file instead of the configured one.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the shipped default rules (the categorization chart), to start your own.
    Default,
    /// Measure the rules on a labelled corpus: accuracy, precision and recall per category,
    /// the confusion between categories, priorities and emergencies, and every miss with the
    /// rule and the text that decided it.
    Eval {
        /// A TSV file (category, priority or empty, subject, body with \n for line breaks),
        /// or a directory of NAME.eml files with NAME.label ("category [priority]") beside each.
        corpus: PathBuf,
        /// Use this rules file instead of the configured one.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print the score and the confusion but not the misses: for a held-out split that
        /// must not be tuned on.
        #[arg(long)]
        summary: bool,
        /// Exit 1 when fewer than this percentage of the requests land in their category.
        #[arg(long, value_name = "PERCENT")]
        min_accuracy: Option<f64>,
        /// Exit 1 when any labelled category has a lower recall than this percentage.
        #[arg(long, value_name = "PERCENT")]
        min_recall: Option<f64>,
        /// Exit 1 when fewer than this percentage of the emergencies the rules declare (the
        /// priority the chart names Emergency) are real, over the requests whose label gives a
        /// priority.
        #[arg(long, value_name = "PERCENT")]
        min_emergency_precision: Option<f64>,
    },
    /// Measure how new cases are linked to the open cases they repeat, on a labelled set
    /// (`bench/similar/cases.tsv` is one): precision and recall of the links.
    Related {
        /// A TSV: id, at_min, requester, category, group (`-` for none), subject, body.
        set: PathBuf,
        /// Use this rules file (its `[related]` and `[model]`) instead of the configured one.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Exit 1 when fewer than this percentage of the links are right.
        #[arg(long, value_name = "PERCENT")]
        min_precision: Option<f64>,
    },
}

impl Command {
    /// The log level when neither HELPDESK_LOG nor RUST_LOG says otherwise: the daemon reports
    /// its work, one-shot commands only problems.
    pub fn default_log_filter(&self) -> &'static str {
        match self {
            Command::Run { .. } => "info,sqlx=warn",
            _ => "warn,sqlx=warn",
        }
    }
}
