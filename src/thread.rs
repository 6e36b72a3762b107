//! Does an inbound message belong to an existing case? A message joins a case when its
//! In-Reply-To/References name a message stored for that case, or it was sent to a plus-address
//! carrying the tag (`support+HD-000123@…`), or its subject carries the case tag, and only when
//! the sender may write to that case (requester, participant, technician). A stranger who copies
//! a tag opens a case of their own. A customer's reply to a closed case opens a new case linked
//! to the old one. Also: whether a technician's mail proves where it comes from (it answers
//! our mail to them, or the receiving server's Authentication-Results verify it): a From address
//! alone proves nothing. Pure: the store looks the candidates and our answered mail up, this
//! decides.

use serde::Serialize;

use crate::config::{Settings, TechnicianAuth};
use crate::model::{AuthResult, CaseId, Inbound, Millis, Status, TicketNo};

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
    pub close_at: Option<Millis>,
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
        /// As whom the sender joins.
        party: Party,
    },
    /// Open a new case linked to a closed one the sender replied to.
    FollowUp {
        /// The closed case.
        previous: CaseId,
        /// How the message pointed at it.
        via: Via,
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
    /// The verdict of [`technician`].
    pub technician: &'a Technician,
    /// The message is auto-generated (out of office, vacation notice, …).
    pub automatic: bool,
}

/// Decides where the message goes, and as whom the sender joins. A proven technician may write
/// to the cases the proof covers, closed ones included (to reopen them); anyone else only to
/// cases they are on, and their reply to a closed case opens a follow-up. A technician address
/// without proof that points at a case it is not on is kept there as a record and acts on
/// nothing. Auto-generated mail never opens a case it could answer instead: an out-of-office
/// reply to a closed case's notice, or from a team list that is on no case, joins the case whose
/// Message-ID it names (unguessable: only a recipient of our mail has it) as a record, which is
/// never forwarded; so automatic replies to our own mail cannot start a loop.
pub fn decide(sender: Sender<'_>, pointers: &Pointers) -> Thread {
    let on_case = |c: &Candidate| {
        c.requester.eq_ignore_ascii_case(sender.address)
            || c.participants
                .iter()
                .any(|p| p.eq_ignore_ascii_case(sender.address))
    };
    let party = |c: &Candidate| {
        if sender.technician.may_act_on(c.id) {
            Some(Party::Technician)
        } else if on_case(c) {
            Some(Party::Customer)
        } else {
            None
        }
    };
    let all = [
        (pointers.by_reference.as_ref(), Via::References),
        (pointers.by_plus_address.as_ref(), Via::PlusAddress),
        (pointers.by_tag.as_ref(), Via::SubjectTag),
    ];
    let found = all
        .iter()
        .find_map(|(c, via)| c.and_then(|c| party(c).map(|p| (c, *via, p))));
    let join = |c: &Candidate, via, party| Thread::Join {
        case: c.id,
        ticket: c.ticket.clone(),
        via,
        party,
    };
    let pointed = all.iter().find_map(|(c, via)| c.map(|c| (c, *via)));
    match (found, &pointers.by_reference) {
        (Some((c, via, Party::Customer)), _) if c.status == Status::Closed && !sender.automatic => {
            Thread::FollowUp {
                previous: c.id,
                via,
            }
        }
        (Some((c, via, party)), _) => join(c, via, party),
        (None, Some(c)) if sender.automatic => join(c, Via::References, Party::Record),
        (None, _) => match (pointed, sender.technician) {
            (Some((c, via)), Technician::Unproven(_)) if !sender.automatic => {
                join(c, via, Party::Record)
            }
            _ => Thread::New {
                refused: pointed.map(|(c, _)| c.ticket.clone()),
            },
        },
    }
}

/// As whom a message joins its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// A proven technician: commands run, the rest is relayed to the customer.
    Technician,
    /// The requester or a participant: kept and forwarded to the team.
    Customer,
    /// Kept on the case and nothing else: automatic mail that names our Message-ID, or a
    /// technician address that proved nothing.
    Record,
}

/// Whether the sender of `m` counts as a technician.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Technician {
    /// Not a technician address: a customer.
    No,
    /// A technician address, and the mail proves it.
    Proven(Proof),
    /// A technician address whose mail proved nothing: acts only as a customer where it is one,
    /// and the reason is recorded.
    Unproven(String),
}

/// What proves a technician's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// It answers mail we sent to them (or a team of theirs) about these cases.
    Answered(Vec<CaseId>),
    /// The receiving server's Authentication-Results verify the From domain: any case.
    Authenticated,
}

impl Technician {
    /// Whether the mail's commands and public text may act on `case`.
    pub fn may_act_on(&self, case: CaseId) -> bool {
        match self {
            Technician::Proven(Proof::Authenticated) => true,
            Technician::Proven(Proof::Answered(cases)) => cases.contains(&case),
            Technician::No | Technician::Unproven(_) => false,
        }
    }
}

/// One of our outgoing mails that an inbound message names in In-Reply-To or References.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The case it was about.
    pub case: Option<CaseId>,
    /// Who we sent it to.
    pub recipient: String,
}

/// The verdict on the sender. A configured technician (or team member) is proven when the
/// message answers mail we sent to that address, or to a team they are a member of (its
/// In-Reply-To/References name one of our Message-IDs, which are unguessable; `answered` are
/// those mails), or, where `authserv_id` is configured, when the receiving server's
/// Authentication-Results verify the From domain ([`authenticated`]). With
/// `require_authenticated_technicians`, the Authentication-Results are required.
pub fn technician(settings: &Settings, m: &Inbound, answered: &[Answered]) -> Technician {
    let sender = m.from.address.to_ascii_lowercase();
    if !settings.is_technician(&sender) {
        return Technician::No;
    }
    let to_them = |recipient: &str| {
        recipient.eq_ignore_ascii_case(&sender)
            || settings.teams.values().any(|t| {
                t.address
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(recipient))
                    && t.members.contains(&sender)
            })
    };
    let mut cases: Vec<CaseId> = answered
        .iter()
        .filter(|a| to_them(&a.recipient))
        .filter_map(|a| a.case)
        .collect();
    cases.sort_unstable_by_key(|c| c.0);
    cases.dedup();
    let domain = sender.rsplit_once('@').map_or("", |(_, d)| d);
    let (authserv_id, required) = match &settings.technician_auth {
        TechnicianAuth::Reply => {
            return if cases.is_empty() {
                Technician::Unproven(format!(
                    "{sender} is a technician address, but the mail answers no mail the help desk sent to it or its team"
                ))
            } else {
                Technician::Proven(Proof::Answered(cases))
            };
        }
        TechnicianAuth::ReplyOrAuthenticated { authserv_id } => (authserv_id, false),
        TechnicianAuth::Authenticated { authserv_id } => (authserv_id, true),
    };
    if authenticated(&m.authentication, authserv_id, domain) {
        Technician::Proven(Proof::Authenticated)
    } else if !required && !cases.is_empty() {
        Technician::Proven(Proof::Answered(cases))
    } else {
        Technician::Unproven(format!(
            "no DMARC pass, aligned DKIM pass or SPF pass for {domain} in the Authentication-Results of {authserv_id}{}",
            if required { " (helpdesk.require_authenticated_technicians)" } else { ", and the mail answers no mail the help desk sent to it or its team" }
        ))
    }
}

/// Whether the receiving server's own Authentication-Results verify `from_domain` (RFC 8601).
/// Only the topmost fields that carry `authserv_id` count: those with the fewest `Received`
/// hops above them, so a field the sender wrote below another hop (or below the receiving
/// server's own trace field) is never read. A pass is DMARC pass for the From domain, DKIM pass
/// for a domain aligned with it (the same, or a parent or child of it: relaxed alignment), or
/// SPF pass for an aligned envelope domain; `none`, `neutral`, `softfail`, `temperror`,
/// `permerror` and `policy` are not, and a DMARC fail for the From domain outweighs any pass.
pub fn authenticated(results: &[AuthResult], authserv_id: &str, from_domain: &str) -> bool {
    let ours = || {
        results
            .iter()
            .filter(|r| r.authserv_id.eq_ignore_ascii_case(authserv_id))
    };
    let Some(top) = ours().map(|r| r.hop).min() else {
        return false;
    };
    let from_domain = from_domain.to_ascii_lowercase();
    let aligned = |d: &Option<String>| {
        d.as_deref().is_some_and(|d| {
            d == from_domain
                || (d.contains('.') && from_domain.ends_with(&format!(".{d}")))
                || d.ends_with(&format!(".{from_domain}"))
        })
    };
    let trusted: Vec<&AuthResult> = ours().filter(|r| r.hop == top).collect();
    let dmarc_for_from =
        |r: &AuthResult| r.method == "dmarc" && r.domain.as_deref() == Some(from_domain.as_str());
    if trusted
        .iter()
        .any(|r| dmarc_for_from(r) && r.result == "fail")
    {
        return false;
    }
    trusted.iter().any(|r| {
        r.result == "pass"
            && match r.method.as_str() {
                "dmarc" => dmarc_for_from(r),
                "dkim" | "spf" => aligned(&r.domain),
                _ => false,
            }
    })
}

/// What proves a technician's mail under `settings`, in one line for `helpdesk check`.
pub fn describe_trust(settings: &Settings) -> String {
    match &settings.technician_auth {
        TechnicianAuth::Reply => "technicians act by answering the help desk's mail to them or their team".into(),
        TechnicianAuth::ReplyOrAuthenticated { authserv_id } => format!(
            "technicians act by answering the help desk's mail to them or their team, or with a DMARC/DKIM/SPF pass in the Authentication-Results of {authserv_id} (which must remove such fields arriving from outside, RFC 8601 section 5)"
        ),
        TechnicianAuth::Authenticated { authserv_id } => format!(
            "technicians act only with a DMARC/DKIM/SPF pass in the Authentication-Results of {authserv_id} (which must remove such fields arriving from outside, RFC 8601 section 5)"
        ),
    }
}

/// Where the configuration trusts less than it seems to (or more than it means to), for
/// `helpdesk check`: each a sentence saying what to change.
pub fn trust_warnings(settings: &Settings) -> Vec<String> {
    use crate::config::Technician as Entry;
    const FREEMAIL: &[&str] = &[
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.com",
        "gmx.net",
        "gmx.de",
        "web.de",
        "mail.com",
        "proton.me",
        "protonmail.com",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    ];
    let own = settings
        .address
        .address
        .rsplit_once('@')
        .map_or(String::new(), |(_, d)| d.to_owned());
    let mut out = Vec::new();
    for t in &settings.technicians {
        let Entry::Domain(d) = t else { continue };
        if FREEMAIL.contains(&d.as_str()) {
            out.push(format!(
                "helpdesk.technicians names @{d}, where anyone can get an address: list the technicians' addresses instead"
            ));
        } else if own == *d || own.ends_with(&format!(".{d}")) {
            out.push(format!(
                "helpdesk.technicians names @{d}, the support address's own domain: every user there counts as a technician on the cases they get mail about{}; list the technicians' addresses instead",
                match settings.technician_auth.authserv_id() {
                    Some(_) => ", and on every case when their mail passes DKIM or SPF",
                    None => "",
                }
            ));
        }
    }
    for (name, team) in &settings.teams {
        if let (Some(address), true) = (&team.address, team.members.is_empty()) {
            out.push(format!(
                "teams.{name} sends to {address} but lists no members: a reply to its notifications proves nobody, so its technicians can act only on cases assigned to them by address; add teams.{name}.members"
            ));
        }
    }
    out
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

/// Finds the first `[PREFIX-digits]` (or a task's `[PREFIX-digits/Tn]`) tag in a subject and
/// returns its ticket.
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
        // `[HD-000123/T2]`: a task mail's tag names its case too.
        let after = &upper[start + digits.len()..];
        let after = after.strip_prefix("/T").map_or(after, |t| {
            t.trim_start_matches(|c: char| c.is_ascii_digit())
        });
        if !digits.is_empty() && after.starts_with(']') {
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

    const CUSTOMER: Technician = Technician::No;

    fn who<'a>(address: &'a str, technician: &'a Technician) -> Sender<'a> {
        Sender {
            address,
            technician,
            automatic: false,
        }
    }

    fn proven(cases: &[i64]) -> Technician {
        Technician::Proven(Proof::Answered(cases.iter().map(|c| CaseId(*c)).collect()))
    }

    fn unproven() -> Technician {
        Technician::Unproven("no proof".into())
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

    fn joined(id: i64, via: Via, party: Party) -> Thread {
        Thread::Join {
            case: CaseId(id),
            ticket: TicketNo::new("HD", id),
            via,
            party,
        }
    }

    #[test]
    fn requester_participant_and_proven_technician_join() {
        let c = case(1, Status::Open);
        let tech = proven(&[1]);
        for (sender, t, party) in [
            ("Alice@Example.test", &CUSTOMER, Party::Customer),
            ("bob@example.test", &CUSTOMER, Party::Customer),
            ("t@it.test", &tech, Party::Technician),
        ] {
            assert_eq!(
                decide(who(sender, t), &refs(&c)),
                joined(1, Via::References, party),
                "{sender}"
            );
        }
        assert_eq!(
            decide(who("alice@example.test", &CUSTOMER), &tag(&c)),
            joined(1, Via::SubjectTag, Party::Customer)
        );
        let plus = Pointers {
            by_plus_address: Some(c.clone()),
            ..Pointers::default()
        };
        assert_eq!(
            decide(who("bob@example.test", &CUSTOMER), &plus),
            joined(1, Via::PlusAddress, Party::Customer)
        );
    }

    #[test]
    fn stranger_with_a_tag_opens_a_new_case() {
        let c = case(7, Status::Open);
        assert_eq!(
            decide(who("mallory@evil.test", &CUSTOMER), &tag(&c)),
            Thread::New {
                refused: Some(TicketNo::new("HD", 7))
            }
        );
        assert_eq!(
            decide(who("x@y.test", &CUSTOMER), &Pointers::default()),
            Thread::New { refused: None }
        );
    }

    #[test]
    fn a_technician_address_without_proof_acts_on_nothing() {
        let c = case(1, Status::Open);
        let t = unproven();
        // A forged From with a guessed tag: kept on the case as a record, nothing more.
        assert_eq!(
            decide(who("tech@it.test", &t), &tag(&c)),
            joined(1, Via::SubjectTag, Party::Record)
        );
        // Proof for another case does not reach this one.
        let other = proven(&[2]);
        assert_eq!(
            decide(who("tech@it.test", &other), &tag(&c)),
            Thread::New {
                refused: Some(TicketNo::new("HD", 1))
            }
        );
        // Where the technician is the requester, they write as the customer they are.
        let own = Candidate {
            requester: "tech@it.test".into(),
            ..case(3, Status::Open)
        };
        assert_eq!(
            decide(who("tech@it.test", &t), &tag(&own)),
            joined(3, Via::SubjectTag, Party::Customer)
        );
        // A technician's new request of their own is a new case.
        assert_eq!(
            decide(who("tech@it.test", &t), &Pointers::default()),
            Thread::New { refused: None }
        );
    }

    #[test]
    fn reply_to_closed_case_follows_up() {
        let c = case(3, Status::Closed);
        assert_eq!(
            decide(who("alice@example.test", &CUSTOMER), &refs(&c)),
            Thread::FollowUp {
                previous: CaseId(3),
                via: Via::References
            }
        );
        // A proven technician may still write to it, e.g. to reopen it.
        let t = proven(&[3]);
        assert_eq!(
            decide(who("t@it.test", &t), &refs(&c)),
            joined(3, Via::References, Party::Technician)
        );
        assert!(Technician::Proven(Proof::Authenticated).may_act_on(CaseId(99)));
    }

    #[test]
    fn automatic_replies_to_our_mail_join_as_a_record_instead_of_opening_cases() {
        let auto = |address| Sender {
            address,
            technician: &CUSTOMER,
            automatic: true,
        };
        let closed = case(3, Status::Closed);
        assert_eq!(
            decide(auto("alice@example.test"), &refs(&closed)),
            joined(3, Via::References, Party::Customer)
        );
        // A team list's vacation notice names our notification's Message-ID.
        let open = case(4, Status::Open);
        assert_eq!(
            decide(auto("team-list@it.test"), &refs(&open)),
            joined(4, Via::References, Party::Record)
        );
        // A tag can be guessed; a Message-ID cannot: the tag alone earns nothing.
        assert!(matches!(
            decide(auto("team-list@it.test"), &tag(&open)),
            Thread::New { .. }
        ));
    }

    fn settings(extra: &str) -> Settings {
        let text = format!(
            r#"
            [helpdesk]
            address = "support@example.test"
            technicians = ["solo@it.test"]
            {extra}
            [database]
            url = "sqlite::memory:"
            [teams.desk]
            address = "desk@it.test"
            members = ["tech@it.test"]
            [teams.net]
            members = ["net@it.test"]
        "#
        );
        crate::config::testing::settings(&text)
    }

    fn message(from: &str, headers: &str) -> Inbound {
        let raw = format!(
            "{headers}From: {from}\r\nTo: support@example.test\r\nSubject: x\r\n\r\nhi\r\n"
        );
        let limits = crate::parse::Limits {
            max_message_size: 1 << 20,
            max_attachment_size: 1 << 20,
        };
        crate::parse::parse(raw.as_bytes(), limits, "support@example.test").unwrap()
    }

    fn sent(case: i64, to: &str) -> Answered {
        Answered {
            case: Some(CaseId(case)),
            recipient: to.into(),
        }
    }

    #[test]
    fn a_technician_is_proven_by_answering_our_mail_to_them_or_their_team() {
        let s = settings("");
        let m = |from| message(from, "");
        // Mail to the team's address proves its members; mail to a technician proves them.
        assert_eq!(
            technician(&s, &m("Tech@it.test"), &[sent(1, "desk@it.test")]),
            proven(&[1])
        );
        assert_eq!(
            technician(
                &s,
                &m("net@it.test"),
                &[sent(2, "net@it.test"), sent(2, "x@y.test")]
            ),
            proven(&[2])
        );
        // Not a member of the team the mail went to; a customer's acknowledgment proves nothing.
        assert!(matches!(
            technician(&s, &m("solo@it.test"), &[sent(1, "desk@it.test")]),
            Technician::Unproven(_)
        ));
        assert!(matches!(
            technician(&s, &m("tech@it.test"), &[sent(1, "alice@customer.test")]),
            Technician::Unproven(_)
        ));
        assert!(matches!(
            technician(&s, &m("tech@it.test"), &[]),
            Technician::Unproven(_)
        ));
        assert_eq!(
            technician(&s, &m("alice@customer.test"), &[]),
            Technician::No
        );
    }

    const RECEIVED: &str =
        "Received: from mx.it.test by mx.example.test; Tue, 1 Dec 2026 10:00:00 +0000\r\n";

    #[test]
    fn authentication_results_count_only_from_the_receiving_server_on_top() {
        let s = settings("authserv_id = \"mx.example.test\"");
        let verdict = |headers: &str| technician(&s, &message("tech@it.test", headers), &[]);
        let ar = |v: &str| format!("Authentication-Results: mx.example.test; {v}\r\n");
        // Our own field on top, the sender's forgery below our Received: ours counts.
        let forged_below = format!(
            "{}{RECEIVED}{}",
            ar("dkim=none; spf=softfail smtp.mailfrom=tech@it.test"),
            ar("dkim=pass header.d=it.test")
        );
        assert!(matches!(verdict(&forged_below), Technician::Unproven(_)));
        // Below our Received, the same goes for a forgery under a field of ours written there.
        let ours_below_received = format!(
            "{RECEIVED}{}{RECEIVED}{}",
            ar("spf=softfail smtp.mailfrom=it.test"),
            ar("dmarc=pass header.from=it.test")
        );
        assert!(matches!(
            verdict(&ours_below_received),
            Technician::Unproven(_)
        ));
        for pass in [
            "dmarc=pass header.from=it.test",
            "dkim=pass header.d=it.test",
            "dkim=pass header.d=mail.it.test",
            "spf=pass smtp.mailfrom=tech@it.test",
        ] {
            let h = format!("{}{RECEIVED}", ar(pass));
            assert_eq!(
                verdict(&h),
                Technician::Proven(Proof::Authenticated),
                "{pass}"
            );
        }
        for no in [
            "dkim=pass header.d=evil.test",
            "dkim=pass header.d=test",
            "spf=pass smtp.mailfrom=x@evil.test",
            "dmarc=pass header.from=evil.test",
            "dkim=neutral header.d=it.test",
            "spf=softfail smtp.mailfrom=it.test",
            "dkim=temperror header.d=it.test",
            "dkim=permerror header.d=it.test",
            "dkim=policy header.d=it.test",
            "dkim=none",
            "dkim=pass header.d=it.test; dmarc=fail header.from=it.test",
        ] {
            let h = format!("{}{RECEIVED}", ar(no));
            assert!(matches!(verdict(&h), Technician::Unproven(_)), "{no}");
        }
        // Another server's word is not ours.
        let other = format!(
            "Authentication-Results: mx.evil.test; dkim=pass header.d=it.test\r\n{RECEIVED}"
        );
        assert!(matches!(verdict(&other), Technician::Unproven(_)));
        // Several fields of ours stacked on top (one per filter) are read together.
        let stacked = format!(
            "{}{}{RECEIVED}",
            ar("spf=fail smtp.mailfrom=it.test"),
            ar("dkim=pass header.d=it.test")
        );
        assert_eq!(verdict(&stacked), Technician::Proven(Proof::Authenticated));
        // Without an Authentication-Results pass, the answer to our mail still proves it…
        assert_eq!(
            technician(&s, &message("tech@it.test", ""), &[sent(4, "desk@it.test")]),
            proven(&[4])
        );
        // …unless the configuration requires authentication.
        let strict =
            settings("authserv_id = \"mx.example.test\"\nrequire_authenticated_technicians = true");
        assert!(matches!(
            technician(
                &strict,
                &message("tech@it.test", ""),
                &[sent(4, "desk@it.test")]
            ),
            Technician::Unproven(_)
        ));
    }

    #[test]
    fn check_warns_where_trust_is_weaker_than_it_looks() {
        let plain = settings("");
        assert_eq!(
            trust_warnings(&plain),
            Vec::<String>::new(),
            "members listed, addresses named"
        );
        let mut s = settings("");
        s.technicians = vec![
            crate::config::Technician::Domain("example.test".into()),
            crate::config::Technician::Domain("gmail.com".into()),
        ];
        let w = trust_warnings(&s).join("\n");
        assert!(
            w.contains("@example.test, the support address's own domain"),
            "{w}"
        );
        assert!(
            w.contains("@gmail.com, where anyone can get an address"),
            "{w}"
        );
        let mut listless = settings("");
        listless.teams.get_mut("desk").unwrap().members.clear();
        let w = trust_warnings(&listless).join("\n");
        assert!(
            w.contains("teams.desk sends to desk@it.test but lists no members"),
            "{w}"
        );
        assert!(describe_trust(&plain).contains("answering the help desk's mail"));
    }

    #[test]
    fn tags_are_found_only_with_the_prefix_and_digits() {
        let t = |s| ticket_in_subject(s, "HD").map(|t| t.to_string());
        assert_eq!(t("Re: [HD-000123] Printer"), Some("HD-000123".into()));
        assert_eq!(t("re: [hd-42] x"), Some("HD-000042".into()));
        assert_eq!(t("[HD-] [HD-12x] [HD-000009]"), Some("HD-000009".into()));
        // A task mail's tag names its case.
        assert_eq!(
            t("Re: [HD-000123/T2] Task for av"),
            Some("HD-000123".into())
        );
        assert_eq!(t("[HD-7/T] x"), Some("HD-000007".into()));
        assert_eq!(t("[HD-7/X2] [HD-8/T2x]"), None);
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
