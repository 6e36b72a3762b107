//! The `helpdesk` binary: parse the command line, start logging, run one subcommand.

#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use helpdesk::cli::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("helpdesk: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(helpdesk::cli::run(cli)) {
        Ok(code) => code,
        // A reader that went away (`helpdesk cases show X | head`) is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("helpdesk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The log goes to stderr, filtered by HELPDESK_LOG or RUST_LOG (else the command's default).
/// Text has colours only on a terminal and no timestamps when journald, which stamps every
/// line itself, reads stderr; JSON keeps its timestamps for whatever collects it.
fn init_logging(cli: &Cli) {
    let filter = std::env::var("HELPDESK_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .map_or_else(
            |_| EnvFilter::new(cli.command.default_log_filter()),
            EnvFilter::new,
        );
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match cli.log_format {
        LogFormat::Json => log.json().with_ansi(false).init(),
        LogFormat::Text if stderr_is_journal() => log.with_ansi(false).without_time().init(),
        LogFormat::Text => log.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

/// Whether stderr is the journal: systemd sets `JOURNAL_STREAM` to the device and inode of
/// the stream it connected, and a process must compare them, since a child whose stderr was
/// redirected inherits the variable too (systemd.exec(5), "Environment variables set").
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(meta) = std::fs::File::from(fd).metadata() else {
        return false;
    };
    stream.to_str() == Some(format!("{}:{}", meta.dev(), meta.ino()).as_str())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
