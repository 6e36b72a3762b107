//! Where raw messages come from. The source is the queue: a message is read, committed to the
//! database by `ingest`, and only then acknowledged to its source (moved to `cur/` for a
//! Maildir), so a crash in between re-reads it and the duplicate check makes that a no-op.
//! IMAP joins in the live-mail issue; stdin is read directly by `helpdesk ingest`.

pub mod maildir;

pub use maildir::Maildir;
