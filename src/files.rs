//! Files and directories helpdesk creates, and how they are made durable. Everything it
//! creates holds mail or its metadata, so it is private to the user it runs as: files 0600,
//! directories 0700, whatever the umask (an MTA running `helpdesk ingest` often has 022).
//! Existing files and directories keep their modes: the operator chose them. A rename is
//! durable only once its directory is synced; [`sync_dir`] does that.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// The mode of files helpdesk creates.
pub const FILE_MODE: u32 = 0o600;
/// The mode of directories helpdesk creates.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and any missing parents, each 0700.
///
/// # Errors
/// A directory cannot be created.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Creates `path` 0600 if it does not exist (an existing file is left as it is); its
/// directory must exist.
///
/// # Errors
/// The file cannot be created.
pub fn create_file(path: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Options for writing a new file 0600 (truncating one that exists).
pub fn write_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true).mode(FILE_MODE);
    o
}

/// Flushes `dir`'s entries to disk: after a file is renamed into it (or out of it), the
/// rename survives a power loss only once this returns.
///
/// # Errors
/// The directory cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_private_and_existing_ones_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_dir_all(&nested).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        let file = nested.join("f");
        create_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        create_file(&file).unwrap();
        assert_eq!(mode(&file), 0o640, "an existing file keeps its mode");
        let written = nested.join("g");
        write_options().open(&written).unwrap();
        assert_eq!(mode(&written), 0o600);
        sync_dir(&nested).unwrap();
    }
}
