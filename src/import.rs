//! `helpdesk import`: a backlog (an mbox file, or a Maildir backup's `new/` and `cur/`) through
//! the ordinary pipeline in import mode ([`crate::ingest::Import`]), so old mail becomes cases without setting
//! off new mail. Messages go in batches like the daemon's intake; a second run finds every
//! message a duplicate, which is also what lets an interrupted import resume. The mbox reader
//! streams the file one message at a time, so a file of any size fits in memory.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use indicatif::ProgressBar;

use crate::ingest::{Item, Outcome, Pipeline};
use crate::mailbox::batch::Fill;
use crate::mailbox::limited;
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

/// One message of an mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// The message as it was before it was stored in the mbox: without its `From ` line and the
    /// blank line that ends it, `>From ` lines unescaped. Only the header (at most the limit)
    /// when the message is larger than the limit.
    pub bytes: Vec<u8>,
    /// The message's full size when it is larger than the limit.
    pub oversize: Option<u64>,
}

/// Splits an mbox (mboxrd, or the older mboxo) into messages, reading one line at a time.
///
/// A message starts at a line beginning with `From ` at the start of the file or after a blank
/// line; a `From ` line inside a paragraph is text (a careless writer's unescaped line). One
/// `>` is removed from lines of the form `>…>From ` (mboxrd; for mboxo, which escaped only
/// `From `, this restores those lines too). LF and CRLF files both work, and the last message
/// may lack its final newline.
#[derive(Debug)]
pub struct Mbox<R> {
    reader: R,
    /// Bytes kept of one message at most; the rest is counted, not kept.
    limit: u64,
    /// Bytes consumed from the reader.
    position: u64,
    state: State,
    line: Vec<u8>,
}

/// Where an [`Mbox`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first separator.
    Start,
    /// A separator was read: a message follows.
    Message,
    /// At the end of the file.
    Done,
}

impl<R: BufRead> Mbox<R> {
    /// Reads messages from `reader`, keeping at most `limit` bytes of each.
    pub fn new(reader: R, limit: u64) -> Mbox<R> {
        Mbox {
            reader,
            limit,
            position: 0,
            state: State::Start,
            line: Vec::with_capacity(256),
        }
    }

    /// Bytes consumed so far, for a progress bar.
    pub fn position(&self) -> u64 {
        self.position
    }

    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        let n = self.reader.read_until(b'\n', &mut self.line)?;
        self.position += n as u64;
        Ok(n > 0)
    }

    /// The next message, or `None` at the end.
    ///
    /// # Errors
    /// Reading failed, or the file does not start with a `From ` line (it is no mbox).
    pub fn next_message(&mut self) -> io::Result<Option<MboxMessage>> {
        while self.state == State::Start {
            // Blank lines before the first separator are tolerated; anything else is no mbox.
            if !self.read_line()? {
                self.state = State::Done;
            } else if self.line.starts_with(b"From ") {
                self.state = State::Message;
            } else if !is_blank(&self.line) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not an mbox file: it does not start with a \"From \" line",
                ));
            }
        }
        if self.state == State::Done {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        let mut size = 0u64;
        // The length of the last line read when it was blank and kept: mbox writers end each
        // message with a blank line (the last one too), which is not part of the message.
        let mut blank_tail: Option<(usize, bool)> = None;
        loop {
            if !self.read_line()? {
                self.state = State::Done;
                break;
            }
            if blank_tail.is_some() && self.line.starts_with(b"From ") {
                break;
            }
            let blank = is_blank(&self.line);
            let line = unescape(&self.line);
            size += line.len() as u64;
            let keep = (bytes.len() as u64) < self.limit;
            if keep {
                bytes.extend_from_slice(line);
            }
            blank_tail = blank.then_some((line.len(), keep));
        }
        if let Some((n, kept)) = blank_tail {
            size -= n as u64;
            if kept {
                bytes.truncate(bytes.len() - n);
            }
        }
        let oversize = (size > self.limit).then(|| {
            bytes.truncate(header_end(&bytes));
            size
        });
        Ok(Some(MboxMessage { bytes, oversize }))
    }
}

/// Whether the line is empty but for its line ending.
fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// The line with one `>` removed when it reads `>From ` after any number of `>`.
fn unescape(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// Where the header ends (after its blank line), or the whole length when there is none.
fn header_end(bytes: &[u8]) -> usize {
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(mbox: &[u8]) -> Vec<Vec<u8>> {
        split_with_limit(mbox, u64::MAX)
            .into_iter()
            .map(|m| m.bytes)
            .collect()
    }

    fn split_with_limit(mbox: &[u8], limit: u64) -> Vec<MboxMessage> {
        let mut reader = Mbox::new(mbox, limit);
        let mut out = Vec::new();
        while let Some(m) = reader.next_message().unwrap() {
            out.push(m);
        }
        assert_eq!(reader.position(), mbox.len() as u64);
        out
    }

    #[test]
    fn messages_are_split_at_from_lines_after_a_blank_line() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\n\
            Subject: one\n\nbody one\n\n\
            From b@example.test Mon Jan  5 11:00:00 2026\n\
            Subject: two\n\nbody two\n\n";
        assert_eq!(
            split(mbox),
            [
                b"Subject: one\n\nbody one\n".to_vec(),
                b"Subject: two\n\nbody two\n".to_vec()
            ]
        );
    }

    #[test]
    fn a_from_line_inside_a_paragraph_is_text() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\n\
            Subject: one\n\nI wrote this\nFrom the office yesterday.\n\n";
        assert_eq!(
            split(mbox),
            [b"Subject: one\n\nI wrote this\nFrom the office yesterday.\n".to_vec()]
        );
    }

    #[test]
    fn mboxrd_escapes_lose_one_quote() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\n\
            Subject: one\n\n>From here on\n>>From quoted\n> From is not escaped\n>Fromage\n\n";
        assert_eq!(
            split(mbox),
            [
                b"Subject: one\n\nFrom here on\n>From quoted\n> From is not escaped\n>Fromage\n"
                    .to_vec()
            ]
        );
    }

    #[test]
    fn crlf_files_split_and_keep_their_line_endings() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\r\n\
            Subject: one\r\n\r\nbody\r\n>From x\r\n\r\n\
            From b@example.test Mon Jan  5 11:00:00 2026\r\n\
            Subject: two\r\n\r\nbody\r\n\r\n";
        assert_eq!(
            split(mbox),
            [
                b"Subject: one\r\n\r\nbody\r\nFrom x\r\n".to_vec(),
                b"Subject: two\r\n\r\nbody\r\n".to_vec()
            ]
        );
    }

    #[test]
    fn the_last_message_may_lack_its_final_newline() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\n\
            Subject: one\n\nbody one\n\n\
            From b@example.test Mon Jan  5 11:00:00 2026\n\
            Subject: two\n\nlast line";
        assert_eq!(
            split(mbox),
            [
                b"Subject: one\n\nbody one\n".to_vec(),
                b"Subject: two\n\nlast line".to_vec()
            ]
        );
        // Without the separating blank line at the end, the message ends with its own newline.
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\nSubject: one\n\nbody\n";
        assert_eq!(split(mbox), [b"Subject: one\n\nbody\n".to_vec()]);
    }

    #[test]
    fn empty_files_hold_no_message_and_other_files_are_no_mbox() {
        assert!(split(b"").is_empty());
        assert!(split(b"\n\n").is_empty());
        let mut reader = Mbox::new(&b"Subject: hello\n\nbody\n"[..], u64::MAX);
        let err = reader.next_message().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("not an mbox file"), "{err}");
    }

    #[test]
    fn a_message_above_the_limit_keeps_only_its_header_and_its_size() {
        let body = "x".repeat(100);
        let mbox = format!(
            "From a@example.test Mon Jan  5 10:00:00 2026\nSubject: big\n\n{body}\n{body}\n\n\
             From b@example.test Mon Jan  5 11:00:00 2026\nSubject: small\n\nok\n"
        );
        let messages = split_with_limit(mbox.as_bytes(), 64);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].bytes, b"Subject: big\n\n");
        assert_eq!(messages[0].oversize, Some(14 + 202));
        assert_eq!(messages[1].bytes, b"Subject: small\n\nok\n");
        assert_eq!(messages[1].oversize, None);
    }

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
