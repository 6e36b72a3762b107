//! Reading one message from a file or a pipe within `max_message_size`: a message over the
//! limit is never held whole in memory; only its first [`HEAD_BYTES`] are kept (enough for its
//! header, to show in the quarantine what it was) and it is refused with its size.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// How much of a message over `max_message_size` is kept.
pub const HEAD_BYTES: u64 = 64 << 10;

/// A message read within a size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// The whole message, or the first [`HEAD_BYTES`] of one over the limit.
    pub bytes: Vec<u8>,
    /// The size of a message over the limit; `None` when `bytes` is all of it.
    pub over: Option<u64>,
}

impl Limited {
    /// Why a message over `max` bytes is refused, for the quarantine; `None` within it.
    pub fn refused(&self, max: u64) -> Option<String> {
        self.over.map(|size| {
            format!(
                "message of {size} bytes is larger than inbound.max_message_size ({max} bytes); \
                 only its first {} bytes were read and are kept here",
                self.bytes.len()
            )
        })
    }
}

/// Reads the message file `path`: whole, or only its first [`HEAD_BYTES`] when its size is
/// over `max` (the rest is not read).
///
/// # Errors
/// The file cannot be opened or read.
pub fn read_file(path: &Path, max: u64) -> io::Result<Limited> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > max {
        let mut head = Vec::new();
        file.take(HEAD_BYTES).read_to_end(&mut head)?;
        return Ok(Limited {
            bytes: head,
            over: Some(size),
        });
    }
    // The file may have grown since the metadata was read: still bounded.
    read_stream(file, max)
}

/// Reads a message from `input` (an MTA's pipe): whole, or, once it passes `max`, only its
/// first [`HEAD_BYTES`]; the rest is read and dropped, so the writer sees it all taken.
///
/// # Errors
/// Reading fails.
pub fn read_stream(mut input: impl Read, max: u64) -> io::Result<Limited> {
    let mut bytes = Vec::new();
    let read = (&mut input)
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if (read as u64) <= max {
        return Ok(Limited { bytes, over: None });
    }
    let rest = io::copy(&mut input, &mut io::sink())?;
    bytes.truncate(usize::try_from(HEAD_BYTES).unwrap_or(usize::MAX));
    bytes.shrink_to_fit();
    Ok(Limited {
        bytes,
        over: Some(read as u64 + rest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_within_the_limit_is_read_whole() {
        let got = read_stream(&b"Subject: x\r\n\r\nbody"[..], 20).unwrap();
        assert_eq!(got.bytes, b"Subject: x\r\n\r\nbody");
        assert_eq!(got.over, None);
        assert_eq!(got.refused(20), None);
        // Exactly at the limit is within it.
        let exact = read_stream(&[b'a'; 20][..], 20).unwrap();
        assert_eq!((exact.bytes.len(), exact.over), (20, None));
    }

    #[test]
    fn a_stream_over_the_limit_keeps_its_head_and_counts_the_rest() {
        let big = vec![b'x'; (HEAD_BYTES as usize) * 3];
        let got = read_stream(&big[..], HEAD_BYTES * 2).unwrap();
        assert_eq!(got.bytes.len() as u64, HEAD_BYTES);
        assert_eq!(got.over, Some(HEAD_BYTES * 3));
        let reason = got.refused(HEAD_BYTES * 2).unwrap();
        assert!(reason.starts_with("message of 196608 bytes is larger than inbound.max_message_size (131072 bytes); only its first 65536 bytes"), "{reason}");
        // A limit below the head keeps what was read.
        let small = read_stream(&[b'y'; 100][..], 10).unwrap();
        assert_eq!((small.bytes.len(), small.over), (11, Some(100)));
    }

    #[test]
    fn a_file_over_the_limit_is_read_only_in_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        std::fs::write(&path, vec![b'z'; 200_000]).unwrap();
        let got = read_file(&path, 100_000).unwrap();
        assert_eq!(got.bytes.len() as u64, HEAD_BYTES);
        assert_eq!(got.over, Some(200_000));
        let whole = read_file(&path, 200_000).unwrap();
        assert_eq!((whole.bytes.len(), whole.over), (200_000, None));
    }
}
