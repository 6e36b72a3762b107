//! A local Maildir: `new/` holds unprocessed mail, processed files move to `cur/` with the
//! `:2,S` flag. A file-system watcher on `new/` wakes the daemon; a periodic re-scan covers
//! missed notifications and file systems without inotify.

use std::io;
use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// A Maildir on disk.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    /// Opens the Maildir at `root`, creating `new/`, `cur/` and `tmp/` when missing.
    ///
    /// # Errors
    /// The directories cannot be created.
    pub fn open(root: &Path) -> io::Result<Maildir> {
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create {}: {e}", root.join(sub).display()),
                )
            })?;
        }
        Ok(Maildir {
            root: root.to_owned(),
        })
    }

    /// The Maildir's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Files waiting in `new/`, oldest name first (delivery agents start names with the time).
    ///
    /// # Errors
    /// `new/` cannot be read.
    pub fn pending(&self) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(self.root.join("new"))? {
            let entry = entry?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && entry.file_type()?.is_file() && !still_being_written(&entry) {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }

    /// Marks a message processed: moves it from `new/` to `cur/` with the Seen flag.
    ///
    /// # Errors
    /// The rename failed (the message stays in `new/` and is re-read later, harmlessly).
    pub fn ack(&self, path: &Path) -> io::Result<()> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
            .to_string_lossy();
        let name = if name.contains(":2,") {
            name.into_owned()
        } else {
            format!("{name}:2,S")
        };
        std::fs::rename(path, self.root.join("cur").join(name))
    }

    /// Starts watching `new/`; every change sends a wake-up (coalesced: the channel holds one).
    /// Keep the returned watcher alive as long as wake-ups are wanted.
    ///
    /// # Errors
    /// The platform watcher could not be created; the caller falls back to polling.
    pub fn watch(&self, wake: mpsc::Sender<()>) -> notify::Result<notify::RecommendedWatcher> {
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok() {
                    // Full means a wake-up is already pending; closed means the daemon is stopping.
                    let _ = wake.try_send(());
                }
            })?;
        watcher.watch(&self.root.join("new"), RecursiveMode::NonRecursive)?;
        Ok(watcher)
    }
}

/// An empty file younger than this in `new/` is taken to be still being written (by `cp` or a
/// shell redirect straight into `new/`, not through `tmp/`) and is left for a later scan.
const WRITE_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether a file in `new/` is empty and fresh: created but not yet written. An empty file that
/// stays empty is taken after [`WRITE_GRACE`] (and quarantined as empty).
fn still_being_written(entry: &std::fs::DirEntry) -> bool {
    entry.metadata().is_ok_and(|m| {
        m.len() == 0
            && m.modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < WRITE_GRACE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_then_ack_moves_to_cur_with_seen_flag() {
        let dir = tempfile::tempdir().unwrap();
        let md = Maildir::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("new/2.b"), "x").unwrap();
        std::fs::write(dir.path().join("new/1.a"), "x").unwrap();
        std::fs::write(dir.path().join("new/.hidden"), "x").unwrap();
        let p = md.pending().unwrap();
        assert_eq!(p.len(), 2);
        assert!(p[0].ends_with("1.a"));
        md.ack(&p[0]).unwrap();
        assert!(dir.path().join("cur/1.a:2,S").exists());
        assert_eq!(md.pending().unwrap().len(), 1);
    }

    /// A file opened in `new/` but not yet written (as `cp` or `>` leave it for a moment) is
    /// not taken, or it would be quarantined as empty while its content was on the way.
    #[test]
    fn a_fresh_empty_file_is_left_until_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let md = Maildir::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("new/1.a"), "").unwrap();
        assert!(md.pending().unwrap().is_empty());
        std::fs::write(dir.path().join("new/1.a"), "From: a@b.test\r\n\r\nx").unwrap();
        assert_eq!(md.pending().unwrap().len(), 1);
        // One that stays empty is taken in the end.
        let old = std::time::SystemTime::now() - WRITE_GRACE - std::time::Duration::from_secs(1);
        std::fs::write(dir.path().join("new/2.b"), "").unwrap();
        std::fs::File::options()
            .write(true)
            .open(dir.path().join("new/2.b"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(md.pending().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn watcher_wakes_on_new_mail() {
        let dir = tempfile::tempdir().unwrap();
        let md = Maildir::open(dir.path()).unwrap();
        let (tx, mut rx) = mpsc::channel(1);
        let _w = md.watch(tx).unwrap();
        std::fs::write(dir.path().join("new/3.c"), "x").unwrap();
        let woke = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await;
        assert_eq!(woke.unwrap(), Some(()));
    }
}
