//! The command line: [`run`] dispatches the parsed arguments (`args`) to one `*_command`
//! function per subcommand, in the file of its kind: `daemon` (`run`), `intake` (`ingest`,
//! `import`), `records` (the read-only views), `changes` (status changes, `outbox retry`),
//! `report`, `rules` and `check`; [`App`] is what they load. Handlers write to
//! `&mut impl Write` so their output can be tested; errors carry context and are printed by
//! `main` as one `{:#}` chain.

mod app;
mod args;
mod changes;
mod check;
mod daemon;
mod intake;
mod output;
mod records;
mod report;
mod rules;

pub(crate) use app::App;
pub use args::*;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::lifecycle;
use crate::store;

/// Exit code for "try again later" (sysexits EX_TEMPFAIL): an MTA piping into `helpdesk ingest`
/// keeps the message queued and retries.
pub(crate) const EXIT_TEMPFAIL: u8 = 75;

/// Runs the parsed command line.
///
/// # Errors
/// Whatever the subcommand reports; `main` prints the chain.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = &mut std::io::stdout().lock();
    let config = cli.config.as_path();
    match cli.command {
        Command::Run { once } => daemon::run_command(config, once, out).await,
        Command::Ingest { file } => intake::ingest_command(config, file.as_deref(), out).await,
        Command::Cases(CasesCommand::List {
            status,
            team,
            requester,
            overdue,
            limit,
            offset,
            all,
            json,
        }) => {
            let filter = store::queues::Filter {
                status,
                team: team.as_deref(),
                requester: requester.as_deref(),
                overdue_only: overdue,
            };
            let page = store::queues::Page {
                limit: (!all).then_some(limit),
                offset,
            };
            records::cases_list(&App::load_reader(config).await?, (filter, page), json, out).await
        }
        Command::Cases(CasesCommand::Show { ticket, json }) => {
            records::cases_show(&App::load_reader(config).await?, &ticket, json, out).await
        }
        Command::Cases(CasesCommand::Attachment {
            ticket,
            number,
            output,
        }) => {
            let app = App::load_reader(config).await?;
            records::cases_attachment(&app, &ticket, number, output.as_deref(), out).await
        }
        Command::Cases(CasesCommand::Status {
            ticket,
            status,
            reason,
        }) => {
            let event = changes::status_event(status, &reason)?;
            changes::change_status(&App::load(config).await?, &ticket, &event, out).await
        }
        Command::Cases(CasesCommand::Resolve { ticket, text }) => {
            let text = text.join(" ");
            let event = lifecycle::Event::Resolve((!text.trim().is_empty()).then_some(text));
            changes::change_status(&App::load(config).await?, &ticket, &event, out).await
        }
        Command::Cases(CasesCommand::Reopen { ticket }) => {
            let event = lifecycle::Event::Reopen;
            changes::change_status(&App::load(config).await?, &ticket, &event, out).await
        }
        Command::Report(ReportCommand::Sla { since, json }) => {
            report::sla_command(&App::load_reader(config).await?, since, json, out).await
        }
        Command::Report(ReportCommand::Satisfaction { since, json }) => {
            report::satisfaction_command(&App::load_reader(config).await?, since, json, out).await
        }
        Command::Quarantine(QuarantineCommand::List { json }) => {
            records::quarantine_list(&App::load_reader(config).await?, json, out).await
        }
        Command::Quarantine(QuarantineCommand::Show { id }) => {
            records::quarantine_show(&App::load_reader(config).await?, id, out).await
        }
        Command::Outbox(OutboxCommand::List { json }) => {
            records::outbox_list(&App::load_reader(config).await?, json, out).await
        }
        Command::Outbox(OutboxCommand::Retry { id, all }) => {
            changes::outbox_retry(&App::load(config).await?, id.filter(|_| !all), out).await
        }
        Command::Rules(RulesCommand::Test { file, rules, json }) => {
            rules::test_command(config, &file, rules.as_deref(), json, out)
        }
        Command::Rules(RulesCommand::Default) => rules::default_command(out),
        Command::Rules(RulesCommand::Eval {
            corpus,
            rules,
            json,
            summary,
            min_accuracy,
            min_recall,
            min_emergency_precision,
        }) => {
            let options = rules::EvalOptions {
                json,
                summary,
                gate: crate::classify::eval::Gate {
                    accuracy: min_accuracy,
                    recall: min_recall,
                    emergency_precision: min_emergency_precision,
                },
            };
            rules::eval_command(config, &corpus, rules.as_deref(), &options, out)
        }
        Command::Rules(RulesCommand::Related {
            set,
            rules,
            min_precision,
        }) => rules::related_command(config, &set, rules.as_deref(), min_precision, out),
        Command::Import(cmd) => intake::import_command(config, cmd, out).await,
        Command::Check => check::check_command(config, out).await,
        Command::Migrate => migrate_command(config, out).await,
    }
}

async fn migrate_command(config: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let app = App::load(config).await?;
    app.store.close().await;
    writeln!(out, "database is up to date")?;
    Ok(ExitCode::SUCCESS)
}
