//! How raw message bytes are kept in the database: compressed with zstd, and recognised on the
//! way out by the zstd frame's magic number, so rows written before compression read unchanged
//! (a mail never begins with those four bytes: its first line is a header field name).

use std::cell::RefCell;

use super::Error;

/// The first four bytes of a zstd frame (RFC 8878, 3.1.1), little-endian 0xFD2FB528.
const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// zstd's default level: about 400 MB/s to compress on this kind of machine, a mail to a
/// quarter of its size or less (base64 attachments to about three quarters).
const LEVEL: i32 = 3;

thread_local! {
    /// One compressor per thread, its context reused: a mail costs microseconds, not an
    /// allocation of zstd's tables each time.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// `raw` as it is stored: one zstd frame that records its content size.
///
/// # Errors
/// zstd failed to set up its context (out of memory).
pub(crate) fn pack(raw: &[u8]) -> Result<Vec<u8>, Error> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = Some(zstd::bulk::Compressor::new(LEVEL).map_err(packing)?);
        }
        let compressor = cell.as_mut().expect("set just above");
        compressor.compress(raw).map_err(packing)
    })
}

/// The raw bytes of a stored message: unpacked when it is a zstd frame, as they are when it
/// was stored before compression.
///
/// # Errors
/// A stored frame that does not decompress: the database was changed behind our back.
pub(crate) fn unpack(stored: Vec<u8>) -> Result<Vec<u8>, Error> {
    if !stored.starts_with(&MAGIC) {
        return Ok(stored);
    }
    zstd::stream::decode_all(stored.as_slice())
        .map_err(|e| Error::Corrupt(format!("a stored raw message does not decompress: {e}")))
}

fn packing(e: std::io::Error) -> Error {
    Error::Corrupt(format!("cannot compress a raw message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_round_trips_and_shrinks() {
        let mail = "From: a@example.test\r\nSubject: printer\r\n\r\n".to_owned()
            + &"The printer on floor 2 does not print. ".repeat(40);
        let packed = pack(mail.as_bytes()).unwrap();
        assert!(packed.starts_with(&MAGIC));
        assert!(packed.len() * 4 < mail.len(), "{} bytes", packed.len());
        assert_eq!(unpack(packed).unwrap(), mail.as_bytes());
    }

    #[test]
    fn rows_from_before_compression_read_as_they_are() {
        let old = b"Subject: old row\r\n\r\nbody".to_vec();
        assert_eq!(unpack(old.clone()).unwrap(), old);
        assert_eq!(unpack(Vec::new()).unwrap(), b"");
    }

    #[test]
    fn empty_and_binary_input_round_trip() {
        for raw in [Vec::new(), (0..=255u8).cycle().take(5000).collect()] {
            assert_eq!(unpack(pack(&raw).unwrap()).unwrap(), raw);
        }
    }

    #[test]
    fn a_damaged_frame_is_reported_not_returned() {
        let mut packed = pack(&b"Subject: x\r\n\r\n".repeat(50)).unwrap();
        packed.truncate(packed.len() / 2);
        let err = unpack(packed).unwrap_err().to_string();
        assert!(err.contains("does not decompress"), "{err}");
    }
}
