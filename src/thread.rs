//! Does an inbound message belong to an existing case? A message joins a case when its
//! In-Reply-To/References name a message stored for that case, or its subject carries the case
//! tag, and only when the sender may write to that case (requester, participant, technician).
//! A stranger who copies a tag opens a case of their own. A reply to a closed case opens a new
//! case linked to the old one. Pure: the store looks the candidates up, this decides.

use serde::Serialize;

use crate::model::{CaseId, Status, TicketNo};

/// A case that the message might belong to, as the store found it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The case.
    pub id: CaseId,
    /// Its ticket.
    pub ticket: TicketNo,
    /// Its status.
    pub status: Status,
    /// Its requester's address.
    pub requester: String,
    /// Addresses that took part (From/To/Cc of its messages).
    pub participants: Vec<String>,
}

/// How a message was matched to its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// In-Reply-To or References named a stored Message-ID.
    References,
    /// The subject carried the case tag.
    SubjectTag,
}

/// The threading decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thread {
    /// Add the message to this case.
    Join {
        /// The case.
        case: CaseId,
        /// Its ticket.
        ticket: TicketNo,
        /// How it was found.
        via: Via,
    },
    /// Open a new case linked to a closed one the sender replied to.
    FollowUp {
        /// The closed case.
        previous: CaseId,
    },
    /// Open a new case. `refused` names a case the message pointed at but whose thread the
    /// sender may not join, for the record.
    New {
        /// The case the sender was refused, if any.
        refused: Option<TicketNo>,
    },
}

/// Decides where the message goes. `by_reference` is the case found through In-Reply-To/
/// References, `by_tag` the case named by the subject tag; `is_technician` is the config's verdict
/// on the sender.
pub fn decide(
    sender: &str,
    is_technician: bool,
    by_reference: Option<&Candidate>,
    by_tag: Option<&Candidate>,
) -> Thread {
    let allowed = |c: &Candidate| {
        is_technician
            || c.requester.eq_ignore_ascii_case(sender)
            || c.participants
                .iter()
                .any(|p| p.eq_ignore_ascii_case(sender))
    };
    let found = [(by_reference, Via::References), (by_tag, Via::SubjectTag)]
        .into_iter()
        .find_map(|(c, via)| c.filter(|c| allowed(c)).map(|c| (c, via)));
    match found {
        Some((c, _)) if c.status == Status::Closed => Thread::FollowUp { previous: c.id },
        Some((c, via)) => Thread::Join {
            case: c.id,
            ticket: c.ticket.clone(),
            via,
        },
        None => Thread::New {
            refused: by_reference.or(by_tag).map(|c| c.ticket.clone()),
        },
    }
}

/// Finds the first `[PREFIX-digits]` tag in a subject and returns its ticket.
pub fn ticket_in_subject(subject: &str, prefix: &str) -> Option<TicketNo> {
    let upper = subject.to_ascii_uppercase();
    let needle = format!("[{}-", prefix.to_ascii_uppercase());
    let mut from = 0;
    while let Some(pos) = upper[from..].find(&needle) {
        let start = from + pos + needle.len();
        let digits: String = upper[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !digits.is_empty() && upper[start + digits.len()..].starts_with(']') {
            // Only digits here: parsing fails only on overflow, which is no ticket of ours.
            let n: i64 = digits.parse().ok()?;
            return Some(TicketNo::new(&prefix.to_ascii_uppercase(), n));
        }
        from = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: i64, status: Status) -> Candidate {
        Candidate {
            id: CaseId(id),
            ticket: TicketNo::new("HD", id),
            status,
            requester: "alice@example.test".into(),
            participants: vec!["bob@example.test".into()],
        }
    }

    #[test]
    fn requester_participant_and_technician_join() {
        let c = case(1, Status::Open);
        for (sender, tech) in [
            ("Alice@Example.test", false),
            ("bob@example.test", false),
            ("t@it.test", true),
        ] {
            assert_eq!(
                decide(sender, tech, Some(&c), None),
                Thread::Join {
                    case: CaseId(1),
                    ticket: TicketNo::new("HD", 1),
                    via: Via::References
                },
                "{sender}"
            );
        }
        assert_eq!(
            decide("alice@example.test", false, None, Some(&c)),
            Thread::Join {
                case: CaseId(1),
                ticket: TicketNo::new("HD", 1),
                via: Via::SubjectTag
            }
        );
    }

    #[test]
    fn stranger_with_a_tag_opens_a_new_case() {
        let c = case(7, Status::Open);
        assert_eq!(
            decide("mallory@evil.test", false, None, Some(&c)),
            Thread::New {
                refused: Some(TicketNo::new("HD", 7))
            }
        );
        assert_eq!(
            decide("x@y.test", false, None, None),
            Thread::New { refused: None }
        );
    }

    #[test]
    fn reply_to_closed_case_follows_up() {
        let c = case(3, Status::Closed);
        assert_eq!(
            decide("alice@example.test", false, Some(&c), None),
            Thread::FollowUp {
                previous: CaseId(3)
            }
        );
    }

    #[test]
    fn tags_are_found_only_with_the_prefix_and_digits() {
        let t = |s| ticket_in_subject(s, "HD").map(|t| t.to_string());
        assert_eq!(t("Re: [HD-000123] Printer"), Some("HD-000123".into()));
        assert_eq!(t("re: [hd-42] x"), Some("HD-000042".into()));
        assert_eq!(t("[HD-] [HD-12x] [HD-000009]"), Some("HD-000009".into()));
        assert_eq!(t("[IT-000001] other desk"), None);
        assert_eq!(t("HD-000001 without brackets"), None);
    }
}
