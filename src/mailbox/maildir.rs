//! A local Maildir: `new/` holds unprocessed mail, processed files move to `cur/` with the
//! `:2,S` flag. A file-system watcher on `new/` wakes the daemon when mail arrives there (and
//! only then: not when the daemon's own scans open the directory or its files); a periodic
//! re-scan covers missed notifications and file systems without inotify.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// A Maildir on disk.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
    /// How often `new/` was listed: what an idle daemon must not do in a loop (tests read it).
    scans: Arc<AtomicU64>,
}

impl Maildir {
    /// Opens the Maildir at `root`, creating `new/`, `cur/` and `tmp/` (0700, as the root if
    /// missing) when missing.
    ///
    /// # Errors
    /// The directories cannot be created.
    pub fn open(root: &Path) -> io::Result<Maildir> {
        for sub in ["new", "cur", "tmp"] {
            crate::files::create_dir_all(&root.join(sub)).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create {}: {e}", root.join(sub).display()),
                )
            })?;
        }
        Ok(Maildir {
            root: root.to_owned(),
            scans: Arc::default(),
        })
    }

    /// How many times [`Maildir::pending`] has listed `new/` (all clones count together).
    #[cfg(test)]
    pub fn scans(&self) -> u64 {
        self.scans.load(Ordering::Relaxed)
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
        self.scans.fetch_add(1, Ordering::Relaxed);
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

    /// Makes the moves [`Maildir::ack`] did durable: syncs `cur/` and `new/`, once per batch.
    /// Without it, a power loss could bring moved messages back to `new/` (to be recognised as
    /// duplicates, harmlessly, but read again).
    ///
    /// # Errors
    /// A directory cannot be synced.
    pub fn sync_moves(&self) -> io::Result<()> {
        crate::files::sync_dir(&self.root.join("cur"))?;
        crate::files::sync_dir(&self.root.join("new"))
    }

    /// Starts watching `new/`; every arrival sends a wake-up (coalesced: the channel holds
    /// one), see [`wakes`]. Keep the returned watcher alive as long as wake-ups are wanted.
    ///
    /// # Errors
    /// The platform watcher could not be created; the caller falls back to polling.
    pub fn watch(&self, wake: mpsc::Sender<()>) -> notify::Result<notify::RecommendedWatcher> {
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if wakes(&event) {
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

/// Whether a watcher event on `new/` may mean new mail: a file created there (a delivery agent
/// writing it in place, or linking it from `tmp/`), moved in (renamed from `tmp/`), or closed
/// after writing; or the kernel dropped events (queue overflow) or the watcher failed, when only
/// a scan can tell. Not the events helpdesk's own work causes: opening and reading `new/` and
/// its files (inotify's open, access and close-without-writing), and moving files out to
/// `cur/`. Waking on those made an idle daemon scan in a loop, each scan waking it again.
pub fn wakes(event: &notify::Result<notify::Event>) -> bool {
    let Ok(event) = event else {
        return true;
    };
    if event.need_rescan() {
        return true;
    }
    match event.kind {
        EventKind::Any
        | EventKind::Create(_)
        | EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Modify(ModifyKind::Name(rename)) => {
            matches!(rename, RenameMode::To | RenameMode::Both | RenameMode::Any)
        }
        _ => false,
    }
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

    #[test]
    fn arrivals_wake_and_reads_and_moves_out_do_not() {
        use notify::event::{CreateKind, DataChange, Flag, MetadataKind};
        let ev = |kind| Ok(notify::Event::new(kind));
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
        ] {
            assert!(wakes(&ev(kind)), "{kind:?}");
        }
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
            EventKind::Remove(notify::event::RemoveKind::File),
        ] {
            assert!(!wakes(&ev(kind)), "{kind:?}");
        }
        let overflow = notify::Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert!(wakes(&Ok(overflow)));
        assert!(wakes(&Err(notify::Error::generic("watch lost"))));
    }

    /// The events the daemon's own work causes on a real `new/` (listing it, reading a
    /// message, moving it to `cur/`), as the kernel reports them, wake nobody; a delivery after
    /// them does. Ordered by a marker: inotify reports events in order, so everything seen
    /// before the marker's arrival came from our own operations.
    #[test]
    fn own_scans_reads_and_moves_do_not_wake_the_watcher() {
        let dir = tempfile::tempdir().unwrap();
        let md = Maildir::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("new/1.a"), "x").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut raw = notify::recommended_watcher(move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        raw.watch(&dir.path().join("new"), RecursiveMode::NonRecursive)
            .unwrap();
        for _ in 0..3 {
            let files = md.pending().unwrap();
            assert_eq!(files.len(), 1);
            std::fs::read(&files[0]).unwrap();
        }
        md.ack(&md.pending().unwrap()[0]).unwrap();
        assert!(md.pending().unwrap().is_empty());
        // A delivery as a delivery agent makes it: written in tmp/, renamed into new/.
        std::fs::write(dir.path().join("tmp/2.marker"), "x").unwrap();
        std::fs::rename(
            dir.path().join("tmp/2.marker"),
            dir.path().join("new/2.marker"),
        )
        .unwrap();
        let marker = dir.path().join("new/2.marker");
        let mut own = Vec::new();
        loop {
            let event = rx
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("the marker's event arrives");
            let is_marker = event.as_ref().is_ok_and(|e| e.paths.contains(&marker));
            if is_marker {
                assert!(wakes(&event), "{event:?}");
                break;
            }
            own.push(event);
        }
        // At least the opens of new/ and of the message were reported: the test saw them.
        assert!(own.len() >= 4, "{own:?}");
        let waking: Vec<_> = own.iter().filter(|e| wakes(e)).collect();
        assert!(
            waking.is_empty(),
            "our own work woke the watcher: {waking:?}"
        );
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
