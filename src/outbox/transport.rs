//! Where rendered mail goes. The file transport writes one `.eml` per outbox row, named after
//! the row, atomically (temporary file, fsync, rename), so a resend after a crash replaces the
//! same file instead of adding a second one. SMTP joins in the live-mail issue.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;

/// A failed send, classified.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// What went wrong, with advice where there is some.
    pub message: String,
    /// Whether a later attempt may succeed.
    pub transient: bool,
}

/// A configured transport, built once and reused by the worker.
#[derive(Debug, Clone)]
pub enum Transport {
    /// One `.eml` file per mail in this directory.
    File {
        /// The directory, created when missing.
        dir: PathBuf,
    },
}

impl Transport {
    /// Delivers one formatted message for outbox row `row_id`.
    ///
    /// # Errors
    /// I/O failures, classified as transient (a full disk may be emptied).
    pub async fn send(
        &self,
        row_id: i64,
        ticket: Option<&str>,
        message: &[u8],
    ) -> Result<(), SendError> {
        match self {
            Transport::File { dir } => write_file(dir, row_id, ticket, message).await,
        }
    }

    /// Human description for logs and `check`.
    pub fn describe(&self) -> String {
        match self {
            Transport::File { dir } => format!("file transport into {}", dir.display()),
        }
    }
}

async fn write_file(
    dir: &PathBuf,
    row_id: i64,
    ticket: Option<&str>,
    message: &[u8],
) -> Result<(), SendError> {
    let io = |what: &str, e: std::io::Error| SendError {
        message: format!("cannot {what} in {}: {e}", dir.display()),
        transient: true,
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| io("create the outbox directory", e))?;
    let name = match ticket {
        Some(t) => format!("{row_id:08}-{t}.eml"),
        None => format!("{row_id:08}.eml"),
    };
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| io("create a file", e))?;
    file.write_all(message).await.map_err(|e| io("write", e))?;
    file.sync_all().await.map_err(|e| io("sync", e))?;
    drop(file);
    tokio::fs::rename(&tmp, dir.join(&name))
        .await
        .map_err(|e| io("rename", e))?;
    Ok(())
}
