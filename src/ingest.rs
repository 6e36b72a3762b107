//! Takes one raw message through the pipeline: parse → duplicate check → bounce or thread →
//! classify → store, all in one transaction (case, message, participants, events, outbox row).
//! Every message ends as a case, a case message, or a quarantined raw message with its error;
//! only a transient database failure returns an error, and then nothing was written, so the
//! caller leaves the message where it is and tries again.

use std::sync::Arc;

use serde_json::json;

use crate::catalog::LiveCatalog;
use crate::classify::{Classification, Rules};
use crate::config::Settings;
use crate::model::{AutoSignal, CaseId, Inbound, Status, TicketNo};
use crate::outbox::render::Templates;
use crate::parse::{self, signals, Limits};
use crate::sla;
use crate::store::messages::{Kept, Raw};
use crate::store::{self, cases, casework, messages, outbox, quarantine, Store, Work};
use crate::thread::{self, Pointers, Thread};

/// The actor recorded for the daemon's own events.
const SYSTEM_ACTOR: &str = "helpdesk";

/// What happened to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new case was opened.
    Created {
        /// Its ticket.
        ticket: TicketNo,
        /// Whether an acknowledgment was queued (not for auto-generated mail).
        acknowledged: bool,
    },
    /// The message was added to an existing case.
    Joined {
        /// The case's ticket.
        ticket: TicketNo,
    },
    /// A delivery-status notification was attached to the case it reports on.
    Bounce {
        /// The case's ticket.
        ticket: TicketNo,
    },
    /// The same message was ingested before; nothing changed.
    Duplicate {
        /// The case that holds it.
        ticket: TicketNo,
    },
    /// The message was kept in quarantine with the reason.
    Quarantined {
        /// Quarantine row id.
        id: i64,
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// The ticket the message ended up on, if any.
    pub fn ticket(&self) -> Option<&TicketNo> {
        match self {
            Outcome::Created { ticket, .. }
            | Outcome::Joined { ticket }
            | Outcome::Bounce { ticket }
            | Outcome::Duplicate { ticket } => Some(ticket),
            Outcome::Quarantined { .. } => None,
        }
    }
}

/// The pipeline's fixed parts.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Validated configuration.
    pub settings: Arc<Settings>,
    /// Classification rules, and the mail templates (which canned replies `/template` may
    /// send); SIGHUP replaces them. Read through [`Pipeline::rules`] and
    /// [`Pipeline::templates`] on a [`Pipeline::pinned`] pipeline, so one batch sees one set.
    pub catalog: LiveCatalog,
    /// The database.
    pub store: Store,
    /// Set while importing a backlog (`helpdesk import`): what mail the import may send.
    pub import: Option<Import>,
}

/// How an import treats outgoing mail: cases, messages and events are stored as usual, but
/// old mail must not set off new mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Import {
    /// Acknowledge the new cases to their customers (`--acknowledge`); no other mail goes out
    /// (no team notifications, no relayed replies, no command errors).
    pub acknowledge: bool,
}

/// Why an imported message sent no mail, for the event log.
pub(crate) const IMPORTED: &str = "imported backlog (helpdesk import): no mail for old messages";

/// One message of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The bytes as received.
    pub raw: &'a [u8],
    /// Where it came from, e.g. `imap:support@host/INBOX;uid=7`.
    pub origin: &'a str,
    /// Set when the source already knows the message is too large to take in whole (only its
    /// header was fetched): the message is quarantined with this reason.
    pub refused: Option<&'a str>,
}

/// A source position to save with a batch, in the same transaction.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint<'a> {
    /// The mailbox key.
    pub mailbox: &'a str,
    /// Where intake stands once the batch is committed.
    pub position: store::imap::Position,
}

/// What storing a parsed message came to, before the transaction ends.
enum Stored {
    Done(Outcome),
    /// Nothing was written; quarantine the message with this reason.
    Quarantine(&'static str),
}

impl Pipeline {
    /// This pipeline fixed on the current rules and templates: a batch in flight finishes with
    /// the set it started with, whatever a reload does meanwhile.
    pub fn pinned(&self) -> Pipeline {
        Pipeline {
            catalog: self.catalog.pinned(),
            ..self.clone()
        }
    }

    /// The classification rules.
    pub fn rules(&self) -> Arc<Rules> {
        self.catalog.current().rules.clone()
    }

    /// The mail templates.
    pub fn templates(&self) -> Arc<Templates> {
        self.catalog.current().templates.clone()
    }

    /// The calendar and warning fraction the SLA clocks are computed with.
    pub fn clocks(&self) -> sla::Clocks<'_> {
        sla::Clocks {
            calendar: &self.settings.calendar,
            warn_at: self.settings.sla.warn_at,
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_message_size: self.settings.max_message_size,
            max_attachment_size: self.settings.max_attachment_size,
        }
    }

    /// The item as a raw message to store, and its parse or why it is not taken in.
    fn read<'a>(
        &self,
        item: &Item<'a>,
        hash: &'a str,
        now: i64,
    ) -> (Raw<'a>, Result<Inbound, String>) {
        let raw = Raw {
            bytes: item.raw,
            content_hash: hash,
            origin: item.origin,
            received_at: now,
        };
        let parsed = match item.refused {
            Some(reason) => Err(reason.to_owned()),
            None => parse::parse(item.raw, self.limits(), &self.settings.address.address)
                .map_err(|e| e.to_string()),
        };
        (raw, parsed)
    }

    /// Ingests one raw message from `origin` (a file name, `stdin`, …) at time `now` (ms).
    ///
    /// # Errors
    /// Only transient database failures; the message was not stored and should be retried.
    pub async fn ingest(
        &self,
        raw: &[u8],
        origin: &str,
        now: i64,
    ) -> Result<Outcome, store::Error> {
        self.pinned()
            .ingest_one(
                Item {
                    raw,
                    origin,
                    refused: None,
                },
                now,
            )
            .await
    }

    async fn ingest_one(&self, item: Item<'_>, now: i64) -> Result<Outcome, store::Error> {
        let hash = parse::content_hash(item.raw);
        let (raw, parsed) = self.read(&item, &hash, now);
        let raw = &raw;
        let inbound = match parsed {
            Ok(m) => m,
            Err(reason) => return self.quarantine(raw, &reason).await,
        };
        let error = match self.store_message(&inbound, raw).await {
            Ok(outcome) => return Ok(outcome),
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => e,
        };
        if error.is_unique_violation() {
            // A concurrent ingest may have stored the same message first.
            let mut tx = self.store.begin().await?;
            let id = inbound.message_id.as_deref().unwrap_or("");
            if let Some(ticket) = messages::find_duplicate(&mut tx, id, &hash).await? {
                return Ok(Outcome::Duplicate { ticket });
            }
        }
        tracing::error!(%error, origin = item.origin, "storing the message failed; quarantining it");
        let reason = format!("could not be stored as a case: {error}");
        self.quarantine(raw, &reason).await
    }

    /// Ingests several messages in one transaction, with the source's new position when one is
    /// given: the throughput path for mailbox intake. If a message fails in a way that is not
    /// transient, the batch is rolled back and its messages are ingested one by one, so one bad
    /// message costs speed, never the others.
    ///
    /// # Errors
    /// Only transient database failures; nothing of the batch was stored.
    pub async fn ingest_batch(
        &self,
        items: &[Item<'_>],
        now: i64,
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<Outcome>, store::Error> {
        // One set of rules for the whole batch, the one-by-one retry included.
        let p = &self.pinned();
        match p.try_batch(items, now, checkpoint).await {
            Ok(outcomes) => return Ok(outcomes),
            Err(e) if e.is_transient() => return Err(e),
            Err(error) if items.len() > 1 => {
                tracing::warn!(%error, messages = items.len(), "batch failed; ingesting its messages one by one");
            }
            Err(_) => {}
        }
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            outcomes.push(p.ingest_one(*item, now).await?);
        }
        if let Some(cp) = checkpoint {
            let mut tx = p.store.begin().await?;
            store::imap::save(&mut tx, cp.mailbox, cp.position, now).await?;
            tx.commit().await?;
        }
        Ok(outcomes)
    }

    async fn try_batch(
        &self,
        items: &[Item<'_>],
        now: i64,
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<Outcome>, store::Error> {
        let started = std::time::Instant::now();
        let mut parsing = std::time::Duration::ZERO;
        let mut tx = self.store.work().await?;
        let mut outcomes = Vec::with_capacity(items.len());
        let mut quarantined = Vec::new();
        for item in items {
            let parse_started = std::time::Instant::now();
            let hash = parse::content_hash(item.raw);
            let (raw, parsed) = self.read(item, &hash, now);
            let raw = &raw;
            parsing += parse_started.elapsed();
            let reason = match parsed {
                Ok(m) => match self.store_in(&mut tx, &m, raw).await? {
                    Stored::Done(outcome) => {
                        outcomes.push(outcome);
                        continue;
                    }
                    Stored::Quarantine(reason) => reason.to_owned(),
                },
                Err(reason) => reason,
            };
            let id = quarantine::insert(&mut tx, raw, &reason).await?;
            quarantined.push((id, item.origin, reason.clone()));
            outcomes.push(Outcome::Quarantined { id, reason });
        }
        if let Some(cp) = checkpoint {
            store::imap::save(&mut tx, cp.mailbox, cp.position, now).await?;
        }
        tx.commit().await?;
        tracing::debug!(
            messages = items.len(),
            total_ms = started.elapsed().as_millis(),
            parse_ms = parsing.as_millis(),
            "batch committed"
        );
        for (id, origin, reason) in quarantined {
            tracing::warn!(quarantine = id, origin, reason, "message quarantined");
        }
        Ok(outcomes)
    }

    async fn quarantine(&self, raw: &Raw<'_>, reason: &str) -> Result<Outcome, store::Error> {
        let mut tx = self.store.begin().await?;
        let id = quarantine::insert(&mut tx, raw, reason).await?;
        tx.commit().await?;
        tracing::warn!(
            quarantine = id,
            origin = raw.origin,
            reason,
            "message quarantined"
        );
        Ok(Outcome::Quarantined {
            id,
            reason: reason.to_owned(),
        })
    }

    async fn store_message(&self, m: &Inbound, raw: &Raw<'_>) -> Result<Outcome, store::Error> {
        let mut tx = self.store.work().await?;
        match self.store_in(&mut tx, m, raw).await? {
            Stored::Done(outcome) => {
                tx.commit().await?;
                Ok(outcome)
            }
            Stored::Quarantine(reason) => {
                drop(tx);
                self.quarantine(raw, reason).await
            }
        }
    }

    /// Stores a parsed message inside `tx`: duplicate, bounce, reply or new case. Writes nothing
    /// when the answer is quarantine.
    async fn store_in(
        &self,
        tx: &mut Work,
        m: &Inbound,
        raw: &Raw<'_>,
    ) -> Result<Stored, store::Error> {
        let id = m.message_id.as_deref().unwrap_or("");
        if let Some(ticket) = messages::find_duplicate(tx, id, raw.content_hash).await? {
            return Ok(Stored::Done(Outcome::Duplicate { ticket }));
        }
        let outcome = if m.is_bounce() {
            self.attach_bounce(tx, m, raw).await?
        } else {
            self.thread_or_open(tx, m, raw).await?
        };
        Ok(match outcome {
            Some(outcome) => Stored::Done(outcome),
            None if m.is_bounce() => {
                Stored::Quarantine("delivery-status notification for a message of no known case")
            }
            None => Stored::Quarantine(
                "mail from the support address itself that belongs to no case (loop guard)",
            ),
        })
    }

    /// Attaches a bounce to the case of the message it reports on; `None` when there is none.
    async fn attach_bounce(
        &self,
        tx: &mut Work,
        m: &Inbound,
        raw: &Raw<'_>,
    ) -> Result<Option<Outcome>, store::Error> {
        let ids: Vec<String> = m
            .references
            .iter()
            .chain(&m.in_reply_to)
            .chain(&m.bounced_ids)
            .cloned()
            .collect();
        let Some(case) = cases::candidate_by_message_ids(tx, &ids).await? else {
            return Ok(None);
        };
        messages::insert(tx, case.id, m, raw, Kept::whole(m)).await?;
        let detail = json!({ "from": m.from.address, "bounced_message_ids": m.bounced_ids });
        cases::add_event(
            tx,
            case.id,
            raw.received_at,
            SYSTEM_ACTOR,
            "bounce_received",
            &detail,
        );
        Ok(Some(Outcome::Bounce {
            ticket: case.ticket,
        }))
    }

    async fn thread_or_open(
        &self,
        tx: &mut Work,
        m: &Inbound,
        raw: &Raw<'_>,
    ) -> Result<Option<Outcome>, store::Error> {
        let mut pointers = self.pointers(tx, m).await?;
        // A reply after the reopen window finds the case closed, whether or not the scheduler
        // has got to it yet.
        let now = raw.received_at;
        for c in [
            &mut pointers.by_reference,
            &mut pointers.by_plus_address,
            &mut pointers.by_tag,
        ]
        .into_iter()
        .flatten()
        {
            let expired = c.status == Status::Resolved && c.close_at.is_some_and(|at| at <= now);
            if expired && self.close_expired(tx, c.id, now).await? {
                c.status = Status::Closed;
                c.close_at = None;
            }
        }
        // Only a technician address needs its proof looked up: the mail of ours it answers.
        let answered = if self.settings.is_technician(&m.from.address) {
            outbox::answered(tx, &m.thread_ids()).await?
        } else {
            Vec::new()
        };
        let technician = thread::technician(&self.settings, m, &answered);
        let sender = thread::Sender {
            address: &m.from.address,
            technician: &technician,
            // Our own mail coming back is the loop guard's, below.
            automatic: m.is_auto_generated() && !m.auto_signals.contains(&AutoSignal::FromSelf),
        };
        let decision = thread::decide(sender, &pointers);
        match decision {
            Thread::Join {
                case,
                ticket,
                via,
                party,
            } => {
                let joining = conversation::Joining {
                    case,
                    via,
                    party,
                    m,
                    raw,
                    technician: &technician,
                };
                self.join(tx, joining).await?;
                cases::touch(tx, case, raw.received_at).await?;
                Ok(Some(Outcome::Joined { ticket }))
            }
            _ if m.auto_signals.contains(&AutoSignal::FromSelf) => Ok(None),
            Thread::FollowUp { previous } => {
                self.open(tx, m, raw, Some(previous), None).await.map(Some)
            }
            Thread::New { refused } => self.open(tx, m, raw, None, refused).await.map(Some),
        }
    }

    /// The cases the message points at: by References, by plus-address, by subject tag.
    async fn pointers(&self, tx: &mut Work, m: &Inbound) -> Result<Pointers, store::Error> {
        let s = &self.settings;
        let by_reference = cases::candidate_by_message_ids(tx, &m.thread_ids()).await?;
        let plus = thread::ticket_in_plus_address(m, &s.address.address, &s.ticket_prefix);
        let tag = thread::ticket_in_subject(&m.subject, &s.ticket_prefix);
        let by_plus_address = match plus {
            Some(t) => cases::candidate_by_ticket(tx, &t).await?,
            None => None,
        };
        let by_tag = match tag {
            Some(t) if by_plus_address.as_ref().is_some_and(|c| c.ticket == t) => {
                by_plus_address.clone()
            }
            Some(t) => cases::candidate_by_ticket(tx, &t).await?,
            None => None,
        };
        Ok(Pointers {
            by_reference,
            by_plus_address,
            by_tag,
        })
    }

    async fn open(
        &self,
        tx: &mut Work,
        m: &Inbound,
        raw: &Raw<'_>,
        previous: Option<CaseId>,
        refused: Option<TicketNo>,
    ) -> Result<Outcome, store::Error> {
        let now = raw.received_at;
        let rules = self.rules();
        let c = rules.classify(m);
        let ticket = cases::next_ticket(tx, &self.settings.ticket_prefix).await?;
        // A stranger's case must not carry the tag of the case they were refused.
        let subject = match &refused {
            Some(t) => thread::without_tag(&m.subject, t),
            None => m.subject.clone(),
        };
        let mut new = new_case(&ticket, m, &c, previous);
        new.subject = &subject;
        let clocks = self.clocks();
        new.clock = clocks.sync(sla::Resolution::default(), Status::Open, new.target, now);
        // Nobody can answer automatic or system mail: no first-response clock for it.
        let answerable = ack::suppression(m, &self.settings).is_none();
        if answerable {
            let target = sla::Target {
                duration: rules.first_response,
                clock: rules.first_response_clock,
            };
            new.first_response = clocks.first_response(target, now);
        }
        new.follow_up_at = self.next_follow_up(now);
        let case = cases::insert(tx, &new, now).await?;
        let previous_ticket = match previous {
            Some(previous) => {
                casework::link(tx, (case, "follow_up"), (previous, "previous"), now).await?;
                Some(casework::ticket_of(tx, previous).await?)
            }
            None => None,
        };
        messages::insert(tx, case, m, raw, Kept::whole(m)).await?;
        cases::add_participants(tx, case, &self.participants(m)).await?;
        let detail = json!({
            "rule": c.rule, "category": c.category, "priority": c.priority.level,
            "type": c.case_type, "team": c.team, "evidence": c.evidence,
            "auto_signals": m.auto_signals, "refused_thread": refused, "follows_up": previous.map(|p| p.0),
        });
        cases::add_event(tx, case, now, &m.from.address, "created", &detail);
        let opened = ack::Opened {
            id: case,
            ticket: &ticket,
            subject: &subject,
            previous: previous_ticket.as_ref(),
        };
        let acknowledged = self.acknowledge(tx, opened, m, &c, now).await?;
        let state = casework::CaseState {
            id: case,
            ticket: ticket.clone(),
            subject: subject.clone(),
            requester: m.from.address.clone(),
            requester_name: m.from.name.clone(),
            status: Status::Open,
            pending_reason: None,
            case_type: c.case_type,
            category: c.category.clone(),
            priority: c.priority.level,
            target: new.target,
            team: c.team.clone(),
            assignee: None,
            resolution: None,
            resolved_at: None,
            close_at: None,
            closed_at: None,
            clock: new.clock,
            first_response: new.first_response,
            follow_up_at: new.follow_up_at,
            created_at: now,
        };
        let notice = notify::Notice {
            author: m.from.address.clone(),
            headline: "New case".into(),
            text: m.text.clone(),
            attachments: m.attachment_names(),
            ..Default::default()
        };
        let to = self.staff_of(&state);
        self.notify(tx, &state, &to, &notice, now).await?;
        Ok(Outcome::Created {
            ticket,
            acknowledged,
        })
    }

    /// From, To and Cc of a message, without the support address and without technicians:
    /// participants are the customer's side; a technician acts on a case by proof, never by
    /// having been on it (else a forged From of one who once answered would pass as a customer).
    fn participants<'a>(&self, m: &'a Inbound) -> Vec<&'a str> {
        std::iter::once(&m.from)
            .chain(&m.to)
            .chain(&m.cc)
            .map(|mb| mb.address.as_str())
            .filter(|a| !signals::same_mailbox(a, &self.settings.address.address))
            .filter(|a| !self.settings.is_technician(a))
            .collect()
    }
}

fn new_case<'a>(
    ticket: &'a TicketNo,
    m: &'a Inbound,
    c: &'a Classification,
    previous: Option<CaseId>,
) -> cases::NewCase<'a> {
    cases::NewCase {
        ticket,
        subject: &m.subject,
        requester: &m.from.address,
        requester_name: m.from.name.as_deref(),
        case_type: c.case_type,
        category: &c.category,
        priority: c.priority.level,
        team: c.team.as_deref(),
        rule: c.rule.as_deref(),
        target: c.priority.target.map(|duration| sla::Target {
            duration,
            clock: c.priority.clock,
        }),
        previous,
        clock: sla::Resolution::default(),
        first_response: sla::FirstResponse::default(),
        follow_up_at: None,
    }
}

/// A duration in milliseconds, saturating.
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

mod ack;
pub(crate) mod clocks;
mod conversation;
mod manual;
mod notify;
#[cfg(test)]
pub(crate) mod testing;

pub use ack::new_message_id;
pub use manual::Manual;

#[cfg(test)]
mod tests;
