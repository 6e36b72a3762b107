//! Bytes → the streaming mbox splitter (`mailbox::mbox::Mbox`), once with a small per-message limit (so
//! the oversize path runs) and once without. Every byte must be consumed and the two runs must
//! find the same messages. Any panic or an input slower than the timeout is a finding.

#![no_main]

use helpdesk::mailbox::mbox::Mbox;
use libfuzzer_sys::fuzz_target;

/// The messages (kept bytes, full size when over the limit), or `None` when it is no mbox.
fn split(data: &[u8], limit: u64) -> Option<Vec<(Vec<u8>, Option<u64>)>> {
    let mut mbox = Mbox::new(data, limit);
    let mut out = Vec::new();
    loop {
        match mbox.next_message() {
            Ok(Some(m)) => {
                if let Some(size) = m.oversize {
                    assert!(size > limit, "oversize {size} within the limit {limit}");
                }
                out.push((m.bytes, m.oversize));
                assert!(out.len() <= data.len() + 1, "more messages than bytes");
            }
            Ok(None) => {
                assert_eq!(mbox.position(), data.len() as u64);
                return Some(out);
            }
            Err(_) => return None,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = split(data, u64::MAX);
    let cut = split(data, 64);
    match (whole, cut) {
        (Some(whole), Some(cut)) => {
            assert_eq!(whole.len(), cut.len());
            for ((w, _), (c, over)) in whole.iter().zip(&cut) {
                match over {
                    None => assert_eq!(w, c),
                    Some(size) => {
                        assert_eq!(*size, w.len() as u64);
                        assert!(w.starts_with(c));
                    }
                }
            }
        }
        (None, None) => {}
        (w, c) => panic!("one limit splits, the other refuses: {w:?} / {c:?}"),
    }
});
