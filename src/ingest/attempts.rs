//! What intake does with a message given its attempt count (see `store::attempts`): the count
//! is raised and committed before a message is processed and cleared with its result, so a
//! count found before processing means earlier attempts died with the worker (a crash, or a
//! watchdog kill of a stalled parse). A message with one such attempt behind it is processed
//! alone, its count raised just before, so only the message that crashes the worker again
//! gets a second; a message with two is quarantined with the reason, and the next message is
//! processed.

/// How many unfinished attempts a message may have behind it and still be taken up.
pub const MAX_UNFINISHED: i64 = 1;

/// What to do with a message that has `earlier` unfinished attempts behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// No earlier attempt: with the others, in one transaction.
    Batch,
    /// An earlier attempt never finished, maybe because of another message of its batch:
    /// alone, in a transaction of its own.
    Alone,
    /// Earlier attempts never finished twice: quarantined without parsing, with this reason.
    Quarantine(String),
}

/// The decision on one message's count of unfinished attempts.
pub fn decide(earlier: i64) -> Attempt {
    match earlier {
        ..=0 => Attempt::Batch,
        n if n <= MAX_UNFINISHED => Attempt::Alone,
        n => Attempt::Quarantine(format!(
            "stalled or crashed the worker twice: intake began on this message {n} times \
             before and never finished, so it is not taken up again"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_quarantined_after_two_unfinished_attempts() {
        assert_eq!(decide(0), Attempt::Batch, "no row: a first attempt");
        assert_eq!(decide(1), Attempt::Alone);
        let Attempt::Quarantine(reason) = decide(2) else {
            panic!("a third attempt is refused")
        };
        assert!(
            reason.starts_with("stalled or crashed the worker twice"),
            "{reason}"
        );
        assert!(reason.contains("2 times"), "{reason}");
        assert!(matches!(decide(9), Attempt::Quarantine(_)));
    }
}
