//! Does an inbound message belong to an existing case? A message joins a case when its
//! In-Reply-To/References name a message stored for that case, or it was sent to a plus-address
//! carrying the tag (`support+HD-000123@…`), or its subject carries the case tag, and only when
//! the sender may write to that case (requester, participant, technician). A stranger who copies
//! a tag opens a case of their own. A customer's reply to a closed case opens a new case linked
//! to the old one. Also: whether a technician's address is trusted (Authentication-Results).
//! Pure: the store looks the candidates up, this decides.

use serde::Serialize;

use crate::config::{Settings, TechnicianAuth};
use crate::model::{CaseId, Inbound, Status, TicketNo};

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
    /// When a resolved case's reopen window ends.
    pub close_at: Option<i64>,
}

/// How a message was matched to its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// In-Reply-To or References named a stored Message-ID.
    References,
    /// The subject carried the case tag.
    SubjectTag,
    /// It was sent to the support address with the tag as `+detail`.
    PlusAddress,
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

/// The cases a message points at, strongest evidence first.
#[derive(Debug, Clone, Default)]
pub struct Pointers {
    /// The case found through In-Reply-To/References.
    pub by_reference: Option<Candidate>,
    /// The case named by a plus-address recipient.
    pub by_plus_address: Option<Candidate>,
    /// The case named by the subject tag.
    pub by_tag: Option<Candidate>,
}

/// Who sent the message, as far as threading cares.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    /// The From address.
    pub address: &'a str,
    /// The verdict of [`technician`] was [`Technician::Yes`].
    pub technician: bool,
    /// The message is auto-generated (out of office, vacation notice, …).
    pub automatic: bool,
}

/// Decides where the message goes. A technician may write to any case, closed ones included
/// (to reopen them); anyone else only to cases they are on, and their reply to a closed case
/// opens a follow-up. Auto-generated mail never opens a case it could answer instead: an
/// out-of-office reply to a closed case's notice, or from a team list that is on no case, joins
/// the case whose Message-ID it names (unguessable: only a recipient of our mail has it) as a
/// record, which is never forwarded; so automatic replies to our own mail cannot start a loop.
pub fn decide(sender: Sender<'_>, pointers: &Pointers) -> Thread {
    let is_technician = sender.technician;
    let allowed = |c: &Candidate| {
        is_technician
            || c.requester.eq_ignore_ascii_case(sender.address)
            || c.participants
                .iter()
                .any(|p| p.eq_ignore_ascii_case(sender.address))
    };
    let all = [
        (pointers.by_reference.as_ref(), Via::References),
        (pointers.by_plus_address.as_ref(), Via::PlusAddress),
        (pointers.by_tag.as_ref(), Via::SubjectTag),
    ];
    let found = all
        .iter()
        .find_map(|(c, via)| c.filter(|c| allowed(c)).map(|c| (c, *via)));
    let join = |c: &Candidate, via| Thread::Join {
        case: c.id,
        ticket: c.ticket.clone(),
        via,
    };
    match (found, &pointers.by_reference) {
        (Some((c, _)), _) if c.status == Status::Closed && !is_technician && !sender.automatic => {
            Thread::FollowUp { previous: c.id }
        }
        (Some((c, via)), _) => join(c, via),
        (None, Some(c)) if sender.automatic => join(c, Via::References),
        (None, _) => Thread::New {
            refused: all.iter().find_map(|(c, _)| c.map(|c| c.ticket.clone())),
        },
    }
}

/// Whether the sender of `m` counts as a technician.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Technician {
    /// Not a technician address: a customer.
    No,
    /// A technician address, verified as required.
    Yes,
    /// A technician address whose mail did not prove its origin: treated as a customer, and
    /// the reason recorded.
    Unverified(String),
}

/// The verdict on the sender: a configured technician (or team member), and, when
/// `require_authenticated_technicians` is on, one whose domain passed DKIM or SPF according to
/// the trusted server's Authentication-Results (a `fail` there for the domain outweighs any
/// `pass`, so a forged header added by the sender cannot help).
pub fn technician(settings: &Settings, m: &Inbound) -> Technician {
    let sender = &m.from.address;
    if !settings.is_technician(sender) {
        return Technician::No;
    }
    let TechnicianAuth::Required { authserv_id } = &settings.technician_auth else {
        return Technician::Yes;
    };
    let domain = sender.rsplit_once('@').map_or("", |(_, d)| d);
    let about_sender = |d: &Option<String>| {
        d.as_deref()
            .is_some_and(|d| d == domain || domain.ends_with(&format!(".{d}")))
    };
    let verdicts: Vec<&str> = m
        .authentication
        .iter()
        .filter(|r| &r.authserv_id == authserv_id)
        .filter(|r| r.method == "dkim" || r.method == "spf")
        .filter(|r| about_sender(&r.domain))
        .map(|r| r.result.as_str())
        .collect();
    if verdicts.contains(&"pass") && !verdicts.contains(&"fail") {
        Technician::Yes
    } else {
        Technician::Unverified(format!(
            "no DKIM or SPF pass for {domain} in Authentication-Results from {authserv_id}"
        ))
    }
}

/// The ticket named by a plus-address recipient of `m`: `support+HD-000123@domain` for the
/// support address `support@domain`.
pub fn ticket_in_plus_address(m: &Inbound, own: &str, prefix: &str) -> Option<TicketNo> {
    let (own_local, own_domain) = own.rsplit_once('@')?;
    m.to.iter()
        .chain(&m.cc)
        .map(|mb| mb.address.as_str())
        .chain(m.delivered_to.iter().map(String::as_str))
        .find_map(|a| {
            let (local, domain) = a.rsplit_once('@')?;
            let (base, detail) = local.split_once('+')?;
            if !base.eq_ignore_ascii_case(own_local) || !domain.eq_ignore_ascii_case(own_domain) {
                return None;
            }
            ticket_in_subject(&format!("[{detail}]"), prefix)
        })
}

/// The subject without `[PREFIX-n]` tags: a stranger's new case must not carry the tag of a
/// case they may not see.
pub fn without_tag(subject: &str, ticket: &TicketNo) -> String {
    let tag = ticket.tag().to_ascii_uppercase();
    let upper = subject.to_ascii_uppercase();
    match upper.find(&tag) {
        // ASCII upper-casing keeps byte offsets, so the positions hold in `subject`.
        Some(pos) => format!("{}{}", &subject[..pos], &subject[pos + tag.len()..])
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        None => subject.to_owned(),
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
            close_at: None,
        }
    }

    fn who(address: &str, technician: bool) -> Sender<'_> {
        Sender {
            address,
            technician,
            automatic: false,
        }
    }

    fn refs(c: &Candidate) -> Pointers {
        Pointers {
            by_reference: Some(c.clone()),
            ..Pointers::default()
        }
    }

    fn tag(c: &Candidate) -> Pointers {
        Pointers {
            by_tag: Some(c.clone()),
            ..Pointers::default()
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
                decide(who(sender, tech), &refs(&c)),
                Thread::Join {
                    case: CaseId(1),
                    ticket: TicketNo::new("HD", 1),
                    via: Via::References
                },
                "{sender}"
            );
        }
        assert_eq!(
            decide(who("alice@example.test", false), &tag(&c)),
            Thread::Join {
                case: CaseId(1),
                ticket: TicketNo::new("HD", 1),
                via: Via::SubjectTag
            }
        );
        let plus = Pointers {
            by_plus_address: Some(c.clone()),
            ..Pointers::default()
        };
        assert_eq!(
            decide(who("bob@example.test", false), &plus),
            Thread::Join {
                case: CaseId(1),
                ticket: TicketNo::new("HD", 1),
                via: Via::PlusAddress
            }
        );
    }

    #[test]
    fn stranger_with_a_tag_opens_a_new_case() {
        let c = case(7, Status::Open);
        assert_eq!(
            decide(who("mallory@evil.test", false), &tag(&c)),
            Thread::New {
                refused: Some(TicketNo::new("HD", 7))
            }
        );
        assert_eq!(
            decide(who("x@y.test", false), &Pointers::default()),
            Thread::New { refused: None }
        );
    }

    #[test]
    fn reply_to_closed_case_follows_up() {
        let c = case(3, Status::Closed);
        assert_eq!(
            decide(who("alice@example.test", false), &refs(&c)),
            Thread::FollowUp {
                previous: CaseId(3)
            }
        );
        // A technician may still write to it, e.g. to reopen it.
        assert!(matches!(
            decide(who("t@it.test", true), &refs(&c)),
            Thread::Join { .. }
        ));
    }

    #[test]
    fn automatic_replies_to_our_mail_join_as_a_record_instead_of_opening_cases() {
        let auto = |address| Sender {
            address,
            technician: false,
            automatic: true,
        };
        let closed = case(3, Status::Closed);
        assert!(matches!(
            decide(auto("alice@example.test"), &refs(&closed)),
            Thread::Join {
                case: CaseId(3),
                ..
            }
        ));
        // A team list's vacation notice names our notification's Message-ID.
        let open = case(4, Status::Open);
        assert_eq!(
            decide(auto("team-list@it.test"), &refs(&open)),
            Thread::Join {
                case: CaseId(4),
                ticket: TicketNo::new("HD", 4),
                via: Via::References
            }
        );
        // A tag can be guessed; a Message-ID cannot: the tag alone earns nothing.
        assert!(matches!(
            decide(auto("team-list@it.test"), &tag(&open)),
            Thread::New { .. }
        ));
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

    #[test]
    fn plus_addresses_name_tickets_only_at_the_support_mailbox() {
        // Through the parser, so the trace fields are read as they arrive.
        let m = |to: &str, delivered: &[&str]| {
            let trace: String = delivered
                .iter()
                .map(|d| format!("Delivered-To: {d}\r\nX-Original-To: <{d}>\r\n"))
                .collect();
            let raw =
                format!("{trace}From: alice@example.test\r\nTo: {to}\r\nSubject: x\r\n\r\nhi\r\n");
            let limits = crate::parse::Limits {
                max_message_size: 1 << 20,
                max_attachment_size: 1 << 20,
            };
            crate::parse::parse(raw.as_bytes(), limits, "support@example.test").unwrap()
        };
        let t = |m: &Inbound| {
            ticket_in_plus_address(m, "support@example.test", "HD").map(|t| t.to_string())
        };
        assert_eq!(
            t(&m("support+HD-000123@example.test", &[])),
            Some("HD-000123".into())
        );
        assert_eq!(
            t(&m("Support+hd-7@Example.test", &[])),
            Some("HD-000007".into())
        );
        assert_eq!(
            t(&m(
                "support@example.test",
                &["support+HD-000042@example.test"]
            )),
            Some("HD-000042".into())
        );
        assert_eq!(t(&m("other+HD-000123@example.test", &[])), None);
        assert_eq!(t(&m("support+HD-000123@elsewhere.test", &[])), None);
        assert_eq!(t(&m("support+sales@example.test", &[])), None);
    }

    #[test]
    fn a_foreign_tag_is_removed_from_the_subject() {
        let t = TicketNo::new("HD", 7);
        assert_eq!(without_tag("Re: [hd-000007] Printer", &t), "Re: Printer");
        assert_eq!(without_tag("Printer", &t), "Printer");
    }
}
