//! The command line: clap types and one `*_command` function per subcommand. Handlers write to
//! `&mut impl Write` so their output can be tested; errors carry context and are printed by
//! `main` as one `{:#}` chain.

mod check;
mod records;
mod report;
mod rules;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::catalog::{self, Catalog, LiveCatalog};
use crate::classify::Rules;
use crate::config::{self, Settings, SourceSettings};
use crate::daemon::{Daemon, Source};
use crate::ingest::{Item, Outcome, Pipeline};
use crate::lifecycle;
use crate::mailbox::{limited, Imap, Maildir};
use crate::model::Status;
use crate::outbox::render::Templates;
use crate::outbox::transport::Transport;
use crate::outbox::Outbox;
use crate::store::{self, Store};

/// Exit code for "try again later" (sysexits EX_TEMPFAIL): an MTA piping into `helpdesk ingest`
/// keeps the message queued and retries.
pub const EXIT_TEMPFAIL: u8 = 75;

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
    /// auto-close, in the [calendar] time zone. After the overdue cases come
    /// active ones by due time, then resolved ones by when they close, then the rest; newest
    /// first among equals.
    List {
        /// Only cases with this status.
        #[arg(long)]
        status: Option<Status>,
        /// Only cases of this team.
        #[arg(long)]
        team: Option<String>,
        /// Only overdue cases.
        #[arg(long)]
        overdue: bool,
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
        /// [calendar] time zone); default: all cases.
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

/// Runs the parsed command line.
///
/// # Errors
/// Whatever the subcommand reports; `main` prints the chain.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = &mut std::io::stdout().lock();
    let config = cli.config.as_path();
    match cli.command {
        Command::Run { once } => run_command(config, once, out).await,
        Command::Ingest { file } => ingest_command(config, file.as_deref(), out).await,
        Command::Cases(CasesCommand::List {
            status,
            team,
            overdue,
            json,
        }) => {
            let filter = store::queues::Filter {
                status,
                team: team.as_deref(),
                overdue_only: overdue,
            };
            records::cases_list(&App::load(config).await?, filter, json, out).await
        }
        Command::Cases(CasesCommand::Show { ticket, json }) => {
            records::cases_show(&App::load(config).await?, &ticket, json, out).await
        }
        Command::Cases(CasesCommand::Status {
            ticket,
            status,
            reason,
        }) => {
            let event = records::status_event(status, &reason)?;
            records::change_status(&App::load(config).await?, &ticket, &event, out).await
        }
        Command::Cases(CasesCommand::Resolve { ticket, text }) => {
            let text = text.join(" ");
            let event = lifecycle::Event::Resolve((!text.trim().is_empty()).then_some(text));
            records::change_status(&App::load(config).await?, &ticket, &event, out).await
        }
        Command::Cases(CasesCommand::Reopen { ticket }) => {
            let event = lifecycle::Event::Reopen;
            records::change_status(&App::load(config).await?, &ticket, &event, out).await
        }
        Command::Report(ReportCommand::Sla { since, json }) => {
            report::sla_command(&App::load(config).await?, since, json, out).await
        }
        Command::Quarantine(QuarantineCommand::List { json }) => {
            records::quarantine_list(&App::load(config).await?, json, out).await
        }
        Command::Quarantine(QuarantineCommand::Show { id }) => {
            records::quarantine_show(&App::load(config).await?, id, out).await
        }
        Command::Outbox(OutboxCommand::List { json }) => {
            records::outbox_list(&App::load(config).await?, json, out).await
        }
        Command::Outbox(OutboxCommand::Retry { id, all }) => {
            records::outbox_retry(&App::load(config).await?, id.filter(|_| !all), out).await
        }
        Command::Rules(RulesCommand::Test { file, rules, json }) => {
            rules::test_command(config, &file, rules.as_deref(), json, out)
        }
        Command::Rules(RulesCommand::Default) => rules::default_command(out),
        Command::Import(cmd) => import_command(config, cmd, out).await,
        Command::Check => check::check_command(config, out).await,
        Command::Migrate => migrate_command(config, out).await,
    }
}

/// Everything loaded from the configuration, with the database connected and migrated.
pub struct App {
    /// Validated configuration.
    pub settings: Arc<Settings>,
    /// Classification rules.
    pub rules: Arc<Rules>,
    /// Mail templates.
    pub templates: Arc<Templates>,
    /// The database.
    pub store: Store,
}

impl App {
    /// Loads config, rules and templates, connects to the database and migrates it.
    ///
    /// # Errors
    /// Any of those steps, with what to fix.
    pub async fn load(config_path: &Path) -> anyhow::Result<App> {
        let (settings, rules, templates) = load_static(config_path)?;
        App::connect(settings, rules, templates).await
    }

    /// Connects to the configured database and migrates it.
    ///
    /// # Errors
    /// The database cannot be opened or migrated.
    async fn connect(
        settings: Settings,
        rules: Rules,
        templates: Templates,
    ) -> anyhow::Result<App> {
        let store = Store::connect(settings.database_url.expose())
            .await
            .context("while opening the database (check [database] url)")?;
        store
            .migrate()
            .await
            .context("while migrating the database")?;
        Ok(App {
            settings: Arc::new(settings),
            rules: Arc::new(rules),
            templates: Arc::new(templates),
            store,
        })
    }

    pub(crate) fn pipeline(&self) -> Pipeline {
        Pipeline {
            settings: self.settings.clone(),
            catalog: self.catalog(),
            store: self.store.clone(),
            import: None,
        }
    }

    /// The rules and templates as one handle; the pipeline and outbox of a daemon share one,
    /// so a reload reaches both.
    fn catalog(&self) -> LiveCatalog {
        LiveCatalog::new(Catalog {
            rules: self.rules.clone(),
            templates: self.templates.clone(),
        })
    }

    /// The outbox, rendering with the templates of `catalog`.
    fn outbox(&self, catalog: LiveCatalog) -> anyhow::Result<Outbox> {
        Ok(Outbox {
            store: self.store.clone(),
            catalog,
            transport: Transport::build(&self.settings.transport)?,
            from: self.settings.from.clone(),
        })
    }
}

/// Config, rules and templates, validated against each other (every rule's template exists).
fn load_static(config_path: &Path) -> anyhow::Result<(Settings, Rules, Templates)> {
    let settings = config::load(config_path).context(
        "while loading the configuration (give another file with --config or HELPDESK_CONFIG)",
    )?;
    let rules = Rules::load(settings.rules_path.as_deref()).context("while loading the rules")?;
    let templates = Templates::load(settings.templates_dir.as_deref())
        .context("while loading the templates")?;
    catalog::check(&rules, &templates)?;
    Ok((settings, rules, templates))
}

async fn run_command(config: &Path, once: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let app = App::load(config).await?;
    let source = match &app.settings.source {
        SourceSettings::Maildir { path } => Source::Maildir(
            Maildir::open(path).context("while opening the Maildir ([inbound] path)")?,
        ),
        SourceSettings::Imap(imap) => Source::Imap(Imap::new(imap)?),
        SourceSettings::Stdin => Source::Stdin,
    };
    let pipeline = app.pipeline();
    let daemon = Daemon {
        outbox: app.outbox(pipeline.catalog.clone())?,
        pipeline,
        source,
    };
    let report = if once {
        daemon.run_once().await?
    } else {
        let cancel = CancellationToken::new();
        let reload = Arc::new(Notify::new());
        spawn_signal_handler(cancel.clone(), reload.clone())?;
        if let Some(listen) = app.settings.metrics_listen {
            let handle = crate::telemetry::install()?;
            crate::telemetry::serve(listen, handle, cancel.clone()).await?;
        }
        daemon.run(cancel, reload).await?
    };
    app.store.close().await;
    if once {
        writeln!(
            out,
            "created {}, joined {}, duplicates {}, quarantined {}, mail sent {}, retrying {}, failed {}; \
             closed {}, sla warnings {}, sla breaches {}, follow-ups {}, digests {}",
            report.created, report.joined, report.duplicates, report.quarantined,
            report.delivery.sent, report.delivery.retried, report.delivery.failed,
            report.clocks.closed, report.clocks.warnings, report.clocks.breaches,
            report.clocks.reminders, report.clocks.digests
        )?;
        tracing::info!(
            messages = report.messages(),
            intake_secs = report.intake_time.as_secs_f64(),
            clocks_secs = report.clocks_time.as_secs_f64(),
            sent = report.delivery.sent,
            delivery_secs = report.delivery_time.as_secs_f64(),
            "run --once finished"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM and SIGINT cancel the daemon; SIGHUP asks it to reload the rules and templates.
/// Installed before the daemon reports ready: SIGHUP would otherwise end the process.
fn spawn_signal_handler(cancel: CancellationToken, reload: Arc<Notify>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term =
        signal(SignalKind::terminate()).context("while installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("while installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("while installing the SIGHUP handler")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
                _ = hup.recv() => {
                    tracing::info!("SIGHUP received: reloading the rules and templates");
                    reload.notify_one();
                    continue;
                }
            }
            cancel.cancel();
            return;
        }
    });
    Ok(())
}

async fn ingest_command(
    config: &Path,
    file: Option<&Path>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let result = async {
        let app = App::load(config).await?;
        let pipeline = app.pipeline();
        let max = pipeline.settings.max_message_size;
        // A message over the size limit is never held whole: its head goes to the quarantine.
        let read = match file {
            Some(f) => limited::read_file(f, max)
                .with_context(|| format!("while reading {}", f.display()))?,
            None => {
                limited::read_stream(std::io::stdin().lock(), max).context("while reading stdin")?
            }
        };
        let origin = file.map_or_else(|| "stdin".to_owned(), |f| format!("file:{}", f.display()));
        let refused = read.refused(max);
        let item = Item {
            raw: &read.bytes,
            origin: &origin,
            refused: refused.as_deref(),
        };
        let mut outcomes = pipeline
            .ingest_batch(&[item], store::now_ms(), None)
            .await?;
        app.store.close().await;
        anyhow::Ok(outcomes.pop().expect("one outcome per message"))
    }
    .await;
    match result {
        Ok(Outcome::Quarantined { reason, .. }) => writeln!(out, "quarantined: {reason}")?,
        Ok(outcome) => writeln!(
            out,
            "{}",
            outcome
                .ticket()
                .map(ToString::to_string)
                .unwrap_or_default()
        )?,
        Err(e) => {
            eprintln!("helpdesk: the message was not stored: {e:#}");
            return Ok(ExitCode::from(EXIT_TEMPFAIL));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import_command(
    config: &Path,
    cmd: ImportCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    use crate::import::{self, Backlog};
    let (backlog, acknowledge) = match cmd {
        ImportCommand::Mbox { file, acknowledge } => (Backlog::Mbox(file), acknowledge),
        ImportCommand::Maildir { dir, acknowledge } => (Backlog::Maildir(dir), acknowledge),
    };
    backlog.check()?;
    let app = App::load(config).await?;
    let pipeline = Pipeline {
        import: Some(crate::ingest::Import { acknowledge }),
        ..app.pipeline()
    };
    let result = import::import(&pipeline, &backlog, &import::progress_bar()).await;
    app.store.close().await;
    match result {
        Ok(summary) => {
            writeln!(out, "{summary}")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(stopped) => {
            writeln!(out, "{}", stopped.done)?;
            eprintln!(
                "helpdesk: the import stopped after {} message(s): {:#}",
                stopped.done.messages(),
                stopped.error
            );
            if stopped.transient {
                eprintln!("helpdesk: run the same import again to resume: what is stored already counts as duplicates");
                Ok(ExitCode::from(EXIT_TEMPFAIL))
            } else {
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

async fn migrate_command(config: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let app = App::load(config).await?;
    app.store.close().await;
    writeln!(out, "database is up to date")?;
    Ok(ExitCode::SUCCESS)
}
