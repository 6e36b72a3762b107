//! The duplicate check of a batch: which of its messages were ingested before, read in a few
//! statements for the whole batch instead of one per message. A message whose key came earlier
//! in the same batch is left to the per-message check, which sees what the batch has stored.

use std::collections::{HashMap, HashSet};

use crate::model::TicketNo;

/// What the batch's read says of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Check {
    /// Ingested before: the case that holds it.
    Duplicate(TicketNo),
    /// Not ingested before.
    New,
    /// Its key came earlier in this batch: ask the transaction.
    Ask,
}

/// The tickets of the batch's messages ingested before, by `(message_id, content_hash)`, and
/// the keys taken so far.
#[derive(Debug, Default)]
pub(super) struct Known {
    before: HashMap<(String, String), TicketNo>,
    taken: HashSet<(String, String)>,
}

impl Known {
    pub(super) fn new(before: HashMap<(String, String), TicketNo>) -> Known {
        Known {
            before,
            taken: HashSet::new(),
        }
    }

    /// What is known of the message with this key; the key counts as taken from now on.
    pub(super) fn check(&mut self, message_id: &str, hash: &str) -> Check {
        let key = (message_id.to_owned(), hash.to_owned());
        if let Some(ticket) = self.before.get(&key) {
            return Check::Duplicate(ticket.clone());
        }
        if self.taken.insert(key) {
            Check::New
        } else {
            Check::Ask
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(pairs: &[(&str, &str, &str)]) -> Known {
        Known::new(
            pairs
                .iter()
                .map(|(id, h, t)| ((id.to_string(), h.to_string()), TicketNo::from_string(*t)))
                .collect(),
        )
    }

    #[test]
    fn a_message_ingested_before_is_a_duplicate_every_time() {
        let mut k = known(&[("<a@x>", "h1", "HD-000001")]);
        let dup = Check::Duplicate(TicketNo::from_string("HD-000001"));
        assert_eq!(k.check("<a@x>", "h1"), dup);
        assert_eq!(k.check("<a@x>", "h1"), dup);
    }

    #[test]
    fn a_new_message_is_new_once_then_asked() {
        let mut k = known(&[]);
        assert_eq!(k.check("<b@x>", "h2"), Check::New);
        assert_eq!(k.check("<b@x>", "h2"), Check::Ask);
        // Same Message-ID, other bytes: another message.
        assert_eq!(k.check("<b@x>", "h3"), Check::New);
        // No Message-ID: the bytes alone tell.
        assert_eq!(k.check("", "h4"), Check::New);
        assert_eq!(k.check("", "h5"), Check::New);
        assert_eq!(k.check("", "h4"), Check::Ask);
    }
}
