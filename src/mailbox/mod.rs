//! Where raw messages come from. The source is the queue: a message is read, committed to the
//! database by `ingest`, and only then acknowledged to its source (moved to `cur/` for a
//! Maildir; moved to the processed folder or flagged `\Seen` on IMAP, whose position is saved
//! with the messages), so a crash in between re-reads it and the duplicate check makes that a
//! no-op. stdin is read directly by `helpdesk ingest`; [`limited`] reads a message file or pipe
//! within the size limit. Over [`lmtp`] the MTA is the queue: it keeps a message until the
//! daemon answers 250, which it does only after the commit.

pub(crate) mod batch;
pub(crate) mod imap;
pub(crate) mod limited;
pub(crate) mod lmtp;
pub(crate) mod maildir;
pub mod mbox;

pub(crate) use imap::Imap;
pub(crate) use maildir::Maildir;
