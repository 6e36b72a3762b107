//! `helpdesk import`: a backlog (an mbox file, or a Maildir backup's `new/` and `cur/`) through
//! the ordinary pipeline in import mode ([`crate::casework::Import`]), so old mail becomes cases without setting
//! off new mail. Messages go in batches like the daemon's intake; a second run finds every
//! message a duplicate, which is also what lets an interrupted import resume. The mbox reader
//! streams the file one message at a time ([`crate::mailbox::mbox`]), so a file of any size fits
//! in memory.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use indicatif::ProgressBar;

use crate::casework::Pipeline;
use crate::ingest::{Item, Outcome};
use crate::mailbox::batch::Fill;
use crate::mailbox::limited;
use crate::mailbox::mbox::Mbox;
use crate::store;

/// What to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backlog {
    /// An mbox file (mboxrd or mboxo).
    Mbox(PathBuf),
    /// A Maildir: the files in `new/` and `cur/`, read in place (not moved).
    Maildir(PathBuf),
}

impl Backlog {
    /// Checks that the backlog can be read, before anything else is opened.
    ///
    /// # Errors
    /// The file or directory is missing or unreadable, or a directory is no Maildir.
    pub fn check(&self) -> anyhow::Result<()> {
        match self {
            Backlog::Mbox(path) => {
                let meta = std::fs::metadata(path)
                    .with_context(|| format!("cannot read the mbox file {}", path.display()))?;
                anyhow::ensure!(
                    meta.is_file(),
                    "{} is not a file (for a Maildir, use `helpdesk import maildir`)",
                    path.display()
                );
                let file = File::open(path)
                    .with_context(|| format!("cannot read the mbox file {}", path.display()))?;
                // The first message tells whether this is an mbox at all.
                Mbox::new(BufReader::new(file), 0)
                    .next_message()
                    .with_context(|| format!("cannot read the mbox file {}", path.display()))?;
            }
            Backlog::Maildir(path) => {
                maildir_files(path)?;
            }
        }
        Ok(())
    }
}

/// How the progress bar looks.
const PROGRESS_TEMPLATE: &str = "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% eta {eta}";

/// A progress bar on stderr, hidden when stderr is not a terminal (a pipe, a log, a test).
pub fn progress_bar() -> ProgressBar {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    // A constant that parses (see the unit test); the default style would do as well.
    if let Ok(style) = indicatif::ProgressStyle::with_template(PROGRESS_TEMPLATE) {
        bar.set_style(style);
    }
    bar
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// New cases opened.
    pub created: usize,
    /// Messages added to existing cases (replies, bounces).
    pub joined: usize,
    /// Messages stored before (an earlier import, or the daemon), quarantined ones included.
    pub duplicates: usize,
    /// Messages kept in quarantine with their reason.
    pub quarantined: usize,
}

impl Summary {
    /// Messages stored, in any of the four ways.
    pub fn messages(&self) -> usize {
        self.created + self.joined + self.duplicates + self.quarantined
    }

    /// Counts one outcome. A message quarantined before (the quarantine keeps one row per
    /// content) counts as a duplicate: like the others, it was stored already.
    fn count(&mut self, outcome: &Outcome, quarantined: &mut HashSet<i64>) {
        match outcome {
            Outcome::Created { .. } => self.created += 1,
            Outcome::Joined { .. } | Outcome::Bounce { .. } => self.joined += 1,
            Outcome::Duplicate { .. } => self.duplicates += 1,
            Outcome::Quarantined { id, .. } if !quarantined.insert(*id) => self.duplicates += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
        }
    }
}

impl fmt::Display for Summary {
    /// `imported 120: created 100, joined 15, duplicates 3, quarantined 2`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imported {}: created {}, joined {}, duplicates {}, quarantined {}",
            self.messages(),
            self.created,
            self.joined,
            self.duplicates,
            self.quarantined
        )
    }
}

/// Why an import stopped before the end, and what it had stored by then.
#[derive(Debug)]
pub struct Stopped {
    /// The messages stored before the failure (committed: a re-run skips them as duplicates).
    pub done: Summary,
    /// What went wrong.
    pub error: anyhow::Error,
    /// Whether the database failed in a way that may pass (busy, connection lost): run again
    /// later. Otherwise the backlog itself could not be read.
    pub transient: bool,
}

/// Imports `backlog` through `pipeline` (which should be in import mode), advancing `progress`
/// (bytes of an mbox, files of a Maildir).
///
/// The files are read with blocking calls: the import is the process's only task.
///
/// # Errors
/// The backlog cannot be read, or the database fails; [`Stopped`] tells what was stored.
pub async fn import(
    pipeline: &Pipeline,
    backlog: &Backlog,
    progress: &ProgressBar,
) -> Result<Summary, Stopped> {
    let quarantined = match store::quarantine::list(&pipeline.store.pool).await {
        Ok(rows) => rows.iter().map(|r| r.id).collect(),
        Err(e) => {
            return Err(Stopped {
                done: Summary::default(),
                error: anyhow::Error::new(e).context("while reading the quarantine"),
                transient: true,
            })
        }
    };
    let mut batch = Batch {
        pipeline,
        entries: Vec::new(),
        fill: Fill::default(),
        done: Summary::default(),
        quarantined,
    };
    let result = match backlog {
        Backlog::Mbox(path) => import_mbox(path, &mut batch, progress).await,
        Backlog::Maildir(path) => import_maildir(path, &mut batch, progress).await,
    };
    let result = match result {
        Ok(()) => batch.flush().await,
        Err(e) => Err(e),
    };
    progress.finish_and_clear();
    match result {
        Ok(()) => Ok(batch.done),
        Err(Failure::Read(error)) => Err(Stopped {
            done: batch.done,
            error,
            transient: false,
        }),
        Err(Failure::Store(e)) => Err(Stopped {
            done: batch.done,
            error: anyhow::Error::new(e).context("while storing the messages"),
            transient: true,
        }),
    }
}

/// Why a step of the import failed.
enum Failure {
    /// The backlog.
    Read(anyhow::Error),
    /// The database, transiently (the only way ingest fails).
    Store(store::Error),
}

/// One message waiting for its batch.
struct Entry {
    origin: String,
    raw: Vec<u8>,
    refused: Option<String>,
}

/// Messages gathered until a batch is full ([`crate::mailbox::batch`]), then
/// ingested in one transaction.
struct Batch<'a> {
    pipeline: &'a Pipeline,
    entries: Vec<Entry>,
    fill: Fill,
    done: Summary,
    /// Quarantine rows that exist already: messages ending there again are duplicates.
    quarantined: HashSet<i64>,
}

impl Batch<'_> {
    async fn push(&mut self, entry: Entry) -> Result<(), Failure> {
        let size = entry.raw.len() as u64;
        if self.fill.closes_before(size) {
            self.flush().await?;
        }
        self.fill.add(size);
        self.entries.push(entry);
        if self.fill.is_full() {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Failure> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let items: Vec<Item<'_>> = self
            .entries
            .iter()
            .map(|e| Item {
                raw: &e.raw,
                origin: &e.origin,
                refused: e.refused.as_deref(),
            })
            .collect();
        let outcomes = self
            .pipeline
            .ingest_batch(&items, store::now_ms(), None)
            .await
            .map_err(Failure::Store)?;
        for (entry, outcome) in self.entries.iter().zip(&outcomes) {
            tracing::debug!(origin = entry.origin, ?outcome, "imported");
            self.done.count(outcome, &mut self.quarantined);
        }
        self.entries.clear();
        self.fill = Fill::default();
        Ok(())
    }
}

async fn import_mbox(
    path: &Path,
    batch: &mut Batch<'_>,
    progress: &ProgressBar,
) -> Result<(), Failure> {
    let read_error = |e: io::Error| {
        Failure::Read(anyhow::anyhow!(
            "cannot read the mbox file {}: {e}",
            path.display()
        ))
    };
    let file = File::open(path).map_err(read_error)?;
    if let Ok(meta) = file.metadata() {
        progress.set_length(meta.len());
    }
    let limit = batch.pipeline.settings.max_message_size;
    let mut mbox = Mbox::new(BufReader::with_capacity(1 << 16, file), limit);
    let mut n = 0u64;
    while let Some(message) = mbox.next_message().map_err(read_error)? {
        n += 1;
        let refused = message.oversize.map(|size| {
            format!(
                "message of {size} bytes is larger than inbound.max_message_size ({limit} bytes); \
                 only its header was kept"
            )
        });
        let entry = Entry {
            origin: format!("mbox:{}#{n}", path.display()),
            raw: message.bytes,
            refused,
        };
        batch.push(entry).await?;
        progress.set_position(mbox.position());
    }
    Ok(())
}

async fn import_maildir(
    dir: &Path,
    batch: &mut Batch<'_>,
    progress: &ProgressBar,
) -> Result<(), Failure> {
    let files = maildir_files(dir).map_err(Failure::Read)?;
    progress.set_length(files.len() as u64);
    let limit = batch.pipeline.settings.max_message_size;
    for path in files {
        // A file over the size limit is read only in part; its head goes to the quarantine.
        let read = limited::read_file(&path, limit)
            .with_context(|| format!("cannot read {}", path.display()))
            .map_err(Failure::Read)?;
        let entry = Entry {
            origin: format!("maildir:{}", path.display()),
            refused: read.refused(limit),
            raw: read.bytes,
        };
        batch.push(entry).await?;
        progress.inc(1);
    }
    Ok(())
}

/// The messages of a Maildir backup: the files in `new/` and `cur/` (hidden ones skipped), by
/// file name, which delivery agents start with the time of delivery.
fn maildir_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("cannot read the Maildir {}", dir.display()))?;
    anyhow::ensure!(
        meta.is_dir(),
        "{} is not a directory (for an mbox file, use `helpdesk import mbox`)",
        dir.display()
    );
    let mut files = Vec::new();
    let mut found = false;
    for sub in ["new", "cur"] {
        let entries = match std::fs::read_dir(dir.join(sub)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => anyhow::bail!("cannot read {}: {e}", dir.join(sub).display()),
        };
        found = true;
        for entry in entries {
            let entry =
                entry.with_context(|| format!("cannot read {}", dir.join(sub).display()))?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if !hidden && is_file {
                files.push(entry.path());
            }
        }
    }
    anyhow::ensure!(
        found,
        "{} is not a Maildir: it has neither new/ nor cur/",
        dir.display()
    );
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_template_parses() {
        assert!(indicatif::ProgressStyle::with_template(PROGRESS_TEMPLATE).is_ok());
    }

    #[test]
    fn summaries_read_as_one_line() {
        let s = Summary {
            created: 100,
            joined: 15,
            duplicates: 3,
            quarantined: 2,
        };
        assert_eq!(
            s.to_string(),
            "imported 120: created 100, joined 15, duplicates 3, quarantined 2"
        );
    }
}
