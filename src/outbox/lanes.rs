//! Which claimed mail goes out next, so the SMTP sessions never wait for each other: the mails
//! claimed and not yet started, grouped by case in queue order, and the rows and cases being
//! sent. A case's mails go out one after the other on one session, and a case with a mail in
//! flight starts no other, so each case's order is kept; the other cases' mails fill any
//! session that is free. Pure bookkeeping: the worker claims, sends and records.

use std::collections::{HashSet, VecDeque};

use crate::store::outbox::DueMail;

/// The claimed mails not yet started and those in flight.
#[derive(Debug, Default)]
pub(super) struct Lanes {
    /// Each case's waiting mails (a mail of no case alone), in the order first claimed.
    waiting: VecDeque<Vec<DueMail>>,
    /// Rows started and not finished.
    sending: HashSet<i64>,
    /// Cases with a mail in flight.
    busy: HashSet<String>,
}

impl Lanes {
    /// Takes in a claim (oldest first); a row already waiting or in flight (a claim on SQLite
    /// hands back every pending row) is skipped. Returns how many were new.
    pub(super) fn add(&mut self, due: Vec<DueMail>) -> usize {
        let mut new = 0;
        for mail in due {
            let known = self.sending.contains(&mail.id)
                || self.waiting.iter().flatten().any(|m| m.id == mail.id);
            if known {
                continue;
            }
            new += 1;
            let lane = mail.ticket.as_ref().and_then(|t| {
                self.waiting
                    .iter_mut()
                    .find(|g| g.first().and_then(|m| m.ticket.as_ref()) == Some(t))
            });
            match lane {
                Some(lane) => lane.push(mail),
                None => self.waiting.push_back(vec![mail]),
            }
        }
        new
    }

    /// The first waiting group whose case has nothing in flight, now in flight.
    pub(super) fn next(&mut self) -> Option<Vec<DueMail>> {
        let i = self.waiting.iter().position(|g| {
            g.first()
                .and_then(|m| m.ticket.as_ref())
                .is_none_or(|t| !self.busy.contains(t))
        })?;
        let group = self.waiting.remove(i)?;
        self.sending.extend(group.iter().map(|m| m.id));
        if let Some(t) = group.first().and_then(|m| m.ticket.clone()) {
            self.busy.insert(t);
        }
        Some(group)
    }

    /// A group handed out by [`Lanes::next`] is done (sent, retried, failed or released).
    pub(super) fn finished(&mut self, ids: &[i64], ticket: Option<&str>) {
        for id in ids {
            self.sending.remove(id);
        }
        if let Some(t) = ticket {
            self.busy.remove(t);
        }
    }

    /// Rows waiting or in flight: what a claim on SQLite hands back again.
    pub(super) fn known(&self) -> usize {
        self.sending.len() + self.waiting()
    }

    /// How many mails wait.
    pub(super) fn waiting(&self) -> usize {
        self.waiting.iter().map(Vec::len).sum()
    }

    /// Whether a mail waits.
    pub(super) fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// The waiting rows, given up (on stop: released for the next worker).
    pub(super) fn take_waiting(&mut self) -> Vec<i64> {
        self.waiting.drain(..).flatten().map(|m| m.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::tests::due;

    fn ids(group: &[DueMail]) -> Vec<i64> {
        group.iter().map(|m| m.id).collect()
    }

    #[test]
    fn each_case_goes_out_in_order_and_others_fill_the_free_sessions() {
        let mut lanes = Lanes::default();
        let claim = vec![
            due(1, Some("HD-1")),
            due(2, Some("HD-2")),
            due(3, None),
            due(4, Some("HD-1")),
            due(5, None),
        ];
        assert_eq!(lanes.add(claim), 5);
        let first = lanes.next().unwrap();
        assert_eq!(
            ids(&first),
            [1, 4],
            "a case's mails together, in queue order"
        );
        assert_eq!(ids(&lanes.next().unwrap()), [2]);
        // A later claim hands back everything pending: only row 6 and 7 are new. Row 6 is
        // HD-1's, which is in flight: it waits, and the mail of no case goes first.
        let again = vec![
            due(1, Some("HD-1")),
            due(3, None),
            due(6, Some("HD-1")),
            due(7, Some("HD-3")),
        ];
        assert_eq!(lanes.add(again), 2);
        assert_eq!(lanes.known(), 7);
        assert_eq!(ids(&lanes.next().unwrap()), [3]);
        assert_eq!(ids(&lanes.next().unwrap()), [5]);
        assert_eq!(ids(&lanes.next().unwrap()), [7]);
        assert!(lanes.next().is_none(), "HD-1 is still in flight");
        lanes.finished(&[1, 4], Some("HD-1"));
        assert_eq!(ids(&lanes.next().unwrap()), [6]);
        assert!(!lanes.has_waiting());
        assert_eq!(lanes.waiting(), 0);
        lanes.finished(&[6], Some("HD-1"));
        assert_eq!(
            lanes.add(vec![due(1, Some("HD-1"))]),
            1,
            "finished: new again"
        );
    }

    #[test]
    fn waiting_mail_is_given_up_on_stop() {
        let mut lanes = Lanes::default();
        lanes.add(vec![
            due(1, Some("HD-1")),
            due(2, Some("HD-2")),
            due(3, Some("HD-1")),
        ]);
        let started = lanes.next().unwrap();
        assert_eq!(ids(&started), [1, 3]);
        assert_eq!(lanes.take_waiting(), [2]);
        assert!(lanes.next().is_none());
        assert_eq!(lanes.known(), 2, "in flight until finished");
    }
}
