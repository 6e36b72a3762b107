//! The one batcher of intake (Maildir, IMAP) and import: messages are committed together up to
//! [`BATCH`] messages and [`BATCH_BYTES`] bytes (of what is read of each); a message above the
//! byte cap goes alone. Pure: [`Fill`] says when a batch being filled from a stream is full,
//! [`split`] cuts a listing with it.

/// Messages per intake transaction.
pub const BATCH: usize = 256;
/// Bytes per intake batch: bounds memory when messages are large.
pub const BATCH_BYTES: u64 = 16 << 20;

/// A batch being filled: how many messages and bytes it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fill {
    messages: usize,
    bytes: u64,
}

impl Fill {
    /// Whether a message of `size` bytes must go into the next batch: this one holds something
    /// and is full, or would pass the byte cap.
    pub fn closes_before(&self, size: u64) -> bool {
        self.messages > 0
            && (self.messages >= BATCH || self.bytes.saturating_add(size) > BATCH_BYTES)
    }

    /// Counts a message of `size` bytes in.
    pub fn add(&mut self, size: u64) {
        self.messages += 1;
        self.bytes = self.bytes.saturating_add(size);
    }

    /// Whether the batch holds [`BATCH`] messages: nothing more fits.
    pub fn is_full(&self) -> bool {
        self.messages >= BATCH
    }
}

/// Splits `items` (a listing, in order) into batches, `size` being what is read of each.
pub fn split<T>(items: &[T], size: impl Fn(&T) -> u64) -> Vec<&[T]> {
    let mut out = Vec::new();
    let (mut start, mut fill) = (0, Fill::default());
    for (i, item) in items.iter().enumerate() {
        let n = size(item);
        if fill.closes_before(n) {
            out.push(&items[start..i]);
            (start, fill) = (i, Fill::default());
        }
        fill.add(n);
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens(sizes: &[u64]) -> Vec<usize> {
        split(sizes, |s| *s).iter().map(|b| b.len()).collect()
    }

    #[test]
    fn batches_bound_count_and_bytes() {
        assert_eq!(lens(&[]), Vec::<usize>::new());
        assert_eq!(lens(&[1000; 600]), vec![256, 256, 88]);
        // 6 MiB each: two per 16 MiB batch.
        assert_eq!(lens(&[6 << 20; 5]), vec![2, 2, 1]);
        // One message above the byte cap still goes alone.
        assert_eq!(lens(&[40 << 20; 2]), vec![1, 1]);
        // Exactly the byte cap fits.
        assert_eq!(lens(&[8 << 20, 8 << 20, 1]), vec![2, 1]);
    }

    #[test]
    fn a_fill_closes_on_count_or_bytes_never_empty() {
        let mut fill = Fill::default();
        assert!(
            !fill.closes_before(u64::MAX),
            "an empty batch takes anything"
        );
        fill.add(u64::MAX);
        assert!(fill.closes_before(1));
        let mut fill = Fill::default();
        for _ in 0..BATCH {
            assert!(!fill.closes_before(0));
            fill.add(0);
        }
        assert!(fill.is_full());
        assert!(fill.closes_before(0));
    }
}
