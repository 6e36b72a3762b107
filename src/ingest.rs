//! Takes one raw message through the pipeline: parse and classify (off the async workers,
//! before any transaction is open), then duplicate check → bounce or thread → store, all in one
//! transaction (case, message, participants, events, outbox row).
//! Every message ends as a case, a case message, or a quarantined raw message with its error;
//! only a transient database failure returns an error, and then nothing was written, so the
//! caller leaves the message where it is and tries again.

use crate::casework::{conversation, notify, Pipeline, SYSTEM_ACTOR};
use crate::classify::{similar, Classification};
use crate::model::{AutoSignal, CaseId, Inbound, Millis, Status, TicketNo};
use crate::parse::{self, signals, Limits};
use crate::service::Heartbeat;
use crate::sla;
use crate::store::attempts as attempts_store;
use crate::store::events::Event;
use crate::store::messages::{Kept, Raw};
use crate::store::{self, cases, casework, messages, outbox, quarantine, Work};
use crate::templates::contexts::RedirectContext;
use crate::thread::{self, Pointers, Thread};
use attempts::Attempt;
use known::{Check, Known};

/// What happened to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new case was opened.
    Created {
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

/// Where a batch stands: each message's outcome once committed, and whether its attempt was
/// counted.
struct Progress {
    outcomes: Vec<Option<Outcome>>,
    begun: Vec<bool>,
}

/// A parsed message with its classification, both worked out before any transaction begins:
/// the CPU-bound part of intake never holds the database's write lock.
struct Prepared {
    m: Inbound,
    class: Classification,
}

/// What storing a parsed message came to, before the transaction ends.
enum Stored {
    Done(Outcome),
    /// Nothing was written; quarantine the message with this reason.
    Quarantine(&'static str),
}

impl Pipeline {
    fn limits(&self) -> Limits {
        Limits {
            max_message_size: self.settings.max_message_size,
            max_attachment_size: self.settings.max_attachment_size,
        }
    }

    /// Each item's parse and classification (a refused item: its reason), worked out off the
    /// async workers (see [`off_worker`]) so they stay free for the outbox, the scheduler and
    /// the watchdog, and before the batch's transaction begins; `beat` beats after each
    /// message, so a batch of slow but finite messages shows progress while one that never
    /// finishes stops the beat.
    fn prepare_all(
        &self,
        items: &[&Item<'_>],
        beat: Option<&Heartbeat>,
    ) -> Vec<Result<Prepared, String>> {
        let (limits, own) = (self.limits(), &self.settings.address.address);
        let rules = self.rules();
        off_worker(|| {
            items
                .iter()
                .map(|item| {
                    let parsed = match item.refused {
                        Some(reason) => Err(reason.to_owned()),
                        None => parse::parse(item.raw, limits, own).map_err(|e| e.to_string()),
                    };
                    let parsed = parsed.map(|m| {
                        let class = rules.classify(&m);
                        Prepared { m, class }
                    });
                    if let Some(b) = beat {
                        b.beat();
                    }
                    parsed
                })
                .collect()
        })
    }

    /// Ingests one raw message from `origin` (a file name, `stdin`, …) at time `now` (ms),
    /// counting the attempt like intake does (an MTA retries a message whose `helpdesk ingest`
    /// crashed).
    ///
    /// # Errors
    /// Only transient database failures; the message was not stored and should be retried.
    #[cfg(test)]
    pub async fn ingest(
        &self,
        raw: &[u8],
        origin: &str,
        now: Millis,
    ) -> Result<Outcome, store::Error> {
        let item = Item {
            raw,
            origin,
            refused: None,
        };
        let mut outcomes = self.ingest_batch(&[item], now, None).await?;
        Ok(outcomes.pop().expect("one outcome per message"))
    }

    /// Ingests one message that is parsed already, in a transaction of its own; `hash` is
    /// its content hash.
    async fn ingest_one(
        &self,
        item: &Item<'_>,
        hash: &str,
        parsed: Result<Prepared, String>,
        now: Millis,
    ) -> Result<Outcome, store::Error> {
        let raw = &Raw {
            bytes: item.raw,
            content_hash: hash,
            origin: item.origin,
            received_at: now,
        };
        let prepared = match parsed {
            Ok(p) => p,
            Err(reason) => return self.quarantine(raw, &reason).await,
        };
        let error = match self.store_message(&prepared, raw).await {
            Ok(outcome) => return Ok(outcome),
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => e,
        };
        if error.is_unique_violation() {
            // A concurrent ingest may have stored the same message first.
            let mut tx = self.store.begin().await?;
            let id = message_id(&prepared.m);
            if let Some(ticket) = messages::find_duplicate(&mut tx, id, hash).await? {
                attempts_store::finish(&mut tx, &[hash]).await?;
                tx.commit().await?;
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
    /// Each message's attempt is counted first (see [`attempts`]): one that an earlier attempt
    /// never finished is processed alone, one with two such attempts is quarantined.
    ///
    /// # Errors
    /// Only transient database failures; nothing of the batch was stored.
    pub async fn ingest_batch(
        &self,
        items: &[Item<'_>],
        now: Millis,
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<Outcome>, store::Error> {
        self.ingest_batch_beating(items, now, checkpoint, None)
            .await
    }

    /// [`Pipeline::ingest_batch`], beating `beat` as each message is hashed and parsed: what
    /// the daemon's intake calls, so the watchdog sees a long batch progress.
    ///
    /// # Errors
    /// As [`Pipeline::ingest_batch`].
    pub async fn ingest_batch_beating(
        &self,
        items: &[Item<'_>],
        now: Millis,
        checkpoint: Option<Checkpoint<'_>>,
        beat: Option<&Heartbeat>,
    ) -> Result<Vec<Outcome>, store::Error> {
        // One set of rules for the whole batch, the one-by-one retry included.
        let p = &self.pinned();
        let hashes = Pipeline::hashes(items, beat);
        let mut tx = p.store.begin().await?;
        // Attempts a database failure kept this process from taking back are taken back first.
        let repaid = attempts_store::repay(&p.store, &mut tx).await?;
        let all: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let unfinished = attempts_store::unfinished(&mut tx, &all).await?;
        tx.commit().await?;
        attempts_store::repaid(&p.store, &repaid);
        let mut progress = Progress {
            outcomes: vec![None; items.len()],
            begun: vec![false; items.len()],
        };
        let (mut together, mut alone) = (Vec::new(), Vec::new());
        for (i, hash) in hashes.iter().enumerate() {
            match attempts::decide(unfinished.get(hash).copied().unwrap_or(0)) {
                Attempt::Batch => together.push(i),
                Attempt::Alone => alone.push(i),
                Attempt::Quarantine(reason) => {
                    let raw = &p.raw(&items[i], hash, now);
                    tracing::error!(
                        origin = items[i].origin,
                        "a message stalled or crashed intake twice; quarantining it"
                    );
                    progress.outcomes[i] = Some(p.quarantine(raw, &reason).await?);
                }
            }
        }
        let groups = (&together[..], &alone[..]);
        // The position goes with the batch's own commit unless suspects follow it: it must not
        // pass a message that is not stored yet.
        let with_batch = checkpoint.filter(|_| alone.is_empty() && !together.is_empty());
        let result = p
            .ingest_groups(items, &hashes, groups, now, beat, with_batch, &mut progress)
            .await;
        let saved = match result {
            Ok(saved) => saved,
            Err(e) => {
                // Not a crash: the attempts of what was left do not count against the messages.
                let left: Vec<&str> = (0..items.len())
                    .filter(|&i| progress.begun[i] && progress.outcomes[i].is_none())
                    .map(|i| hashes[i].as_str())
                    .collect();
                p.release(&left).await;
                return Err(e);
            }
        };
        if let Some(cp) = checkpoint.filter(|_| !saved) {
            let mut tx = p.store.begin().await?;
            store::imap::save(&mut tx, cp.mailbox, cp.position, now).await?;
            tx.commit().await?;
        }
        p.store.train_dictionary(now).await;
        Ok(progress
            .outcomes
            .into_iter()
            .map(|o| o.expect("every message has an outcome"))
            .collect())
    }

    /// The first-attempt messages (`groups.0`) in one transaction with `checkpoint` (one by one
    /// if that fails), then each suspect (`groups.1`) in its own; fills `outcomes` as they
    /// commit. Returns whether the checkpoint was saved.
    #[allow(clippy::too_many_arguments)]
    async fn ingest_groups(
        &self,
        items: &[Item<'_>],
        hashes: &[String],
        groups: (&[usize], &[usize]),
        now: Millis,
        beat: Option<&Heartbeat>,
        checkpoint: Option<Checkpoint<'_>>,
        progress: &mut Progress,
    ) -> Result<bool, store::Error> {
        let mut saved = false;
        let (together, alone) = groups;
        if !together.is_empty() {
            let batch: Vec<&Item<'_>> = together.iter().map(|&i| &items[i]).collect();
            // Counted and committed before anything else is done with the messages.
            let keys: Vec<(&str, &str)> = together
                .iter()
                .map(|&i| (hashes[i].as_str(), items[i].origin))
                .collect();
            self.begin_attempts(&keys, now).await?;
            for &i in together {
                progress.begun[i] = true;
            }
            let mut parsed = self.prepare_all(&batch, beat);
            let hashes_of: Vec<&str> = together.iter().map(|&i| hashes[i].as_str()).collect();
            match self
                .try_batch(&batch, &hashes_of, &parsed, now, checkpoint)
                .await
            {
                Ok(done) => {
                    saved = checkpoint.is_some();
                    for (&i, outcome) in together.iter().zip(done) {
                        progress.outcomes[i] = Some(outcome);
                    }
                }
                Err(e) if e.is_transient() => return Err(e),
                Err(error) => {
                    if batch.len() > 1 {
                        tracing::warn!(%error, messages = batch.len(), "batch failed; ingesting its messages one by one");
                    }
                    for (k, &i) in together.iter().enumerate() {
                        let m = std::mem::replace(&mut parsed[k], Err(String::new()));
                        progress.outcomes[i] =
                            Some(self.ingest_one(&items[i], &hashes[i], m, now).await?);
                    }
                }
            }
        }
        for &i in alone {
            tracing::warn!(
                origin = items[i].origin,
                "an earlier attempt on this message never finished; processing it alone"
            );
            self.begin_attempts(&[(hashes[i].as_str(), items[i].origin)], now)
                .await?;
            progress.begun[i] = true;
            let parsed = self.prepare_all(&[&items[i]], beat).pop();
            let parsed = parsed.expect("one parse per message");
            progress.outcomes[i] = Some(self.ingest_one(&items[i], &hashes[i], parsed, now).await?);
        }
        Ok(saved)
    }

    /// The content hash of each item (megabytes of SHA-256: off the async workers).
    fn hashes(items: &[Item<'_>], beat: Option<&Heartbeat>) -> Vec<String> {
        off_worker(|| {
            items
                .iter()
                .map(|item| {
                    let hash = parse::content_hash(item.raw);
                    if let Some(b) = beat {
                        b.beat();
                    }
                    hash
                })
                .collect()
        })
    }

    /// Counts an attempt for each message (`(content_hash, origin)`) and commits it.
    async fn begin_attempts(&self, keys: &[(&str, &str)], now: Millis) -> Result<(), store::Error> {
        let mut tx = self.store.begin().await?;
        attempts_store::begin(&mut tx, keys, now).await?;
        Ok(tx.commit().await?)
    }

    /// Takes back the attempts of messages left unprocessed by a transient failure; best
    /// effort, since the database just failed.
    async fn release(&self, hashes: &[&str]) {
        let released = async {
            let mut tx = self.store.begin().await?;
            attempts_store::release(&mut tx, hashes).await?;
            Ok::<_, store::Error>(tx.commit().await?)
        };
        if let Err(error) = released.await {
            attempts_store::owe(&self.store, hashes);
            tracing::warn!(%error, messages = hashes.len(), "cannot take back the intake attempts of messages left for later yet; they are taken back before the next batch");
        }
    }

    fn raw<'a>(&self, item: &Item<'a>, hash: &'a str, now: Millis) -> Raw<'a> {
        Raw {
            bytes: item.raw,
            content_hash: hash,
            origin: item.origin,
            received_at: now,
        }
    }

    async fn try_batch(
        &self,
        items: &[&Item<'_>],
        hashes: &[&str],
        parsed: &[Result<Prepared, String>],
        now: Millis,
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<Outcome>, store::Error> {
        let started = std::time::Instant::now();
        let mut tx = self.store.work().await?;
        let keys: Vec<(&str, &str)> = parsed
            .iter()
            .zip(hashes)
            .filter_map(|(p, hash)| Some((message_id(&p.as_ref().ok()?.m), *hash)))
            .collect();
        let mut known = Known::new(messages::find_duplicates(&mut tx, &keys).await?);
        let mut outcomes = Vec::with_capacity(items.len());
        let mut quarantined = Vec::new();
        for ((item, hash), parsed) in items.iter().zip(hashes).zip(parsed) {
            let raw = &self.raw(item, hash, now);
            let reason = match parsed {
                Ok(p) => {
                    log_capped(&p.m, item.origin);
                    let check = known.check(message_id(&p.m), hash);
                    match self.store_in(&mut tx, p, raw, check).await? {
                        Stored::Done(outcome) => {
                            outcomes.push(outcome);
                            continue;
                        }
                        Stored::Quarantine(reason) => reason.to_owned(),
                    }
                }
                Err(reason) => reason.clone(),
            };
            let id = quarantine::insert(&mut tx, raw, &reason).await?;
            quarantined.push((id, item.origin, reason.clone()));
            outcomes.push(Outcome::Quarantined { id, reason });
        }
        attempts_store::finish(&mut tx, hashes).await?;
        if let Some(cp) = checkpoint {
            store::imap::save(&mut tx, cp.mailbox, cp.position, now).await?;
        }
        tx.commit().await?;
        tracing::debug!(
            messages = items.len(),
            total_ms = started.elapsed().as_millis(),
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
        attempts_store::finish(&mut tx, &[raw.content_hash]).await?;
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

    async fn store_message(&self, p: &Prepared, raw: &Raw<'_>) -> Result<Outcome, store::Error> {
        log_capped(&p.m, raw.origin);
        let mut tx = self.store.work().await?;
        match self.store_in(&mut tx, p, raw, Check::Ask).await? {
            Stored::Done(outcome) => {
                attempts_store::finish(&mut tx, &[raw.content_hash]).await?;
                tx.commit().await?;
                Ok(outcome)
            }
            Stored::Quarantine(reason) => {
                drop(tx);
                self.quarantine(raw, reason).await
            }
        }
    }

    /// Stores a parsed message inside `tx`: duplicate, bounce, reply or new case, `check` being
    /// what the batch's duplicate read found. Writes nothing when the answer is quarantine.
    async fn store_in(
        &self,
        tx: &mut Work,
        p: &Prepared,
        raw: &Raw<'_>,
        check: Check,
    ) -> Result<Stored, store::Error> {
        let m = &p.m;
        let duplicate = match check {
            Check::Duplicate(ticket) => Some(ticket),
            Check::New => None,
            Check::Ask => messages::find_duplicate(tx, message_id(m), raw.content_hash).await?,
        };
        if let Some(ticket) = duplicate {
            return Ok(Stored::Done(Outcome::Duplicate { ticket }));
        }
        let outcome = if m.is_bounce() {
            self.attach_bounce(tx, m, raw).await?
        } else {
            self.thread_or_open(tx, p, raw).await?
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
        let bounce = Event::BounceReceived {
            from: &m.from.address,
            bounced_message_ids: &m.bounced_ids,
            capped: &m.capped,
        };
        cases::add_event(tx, case.id, raw.received_at, SYSTEM_ACTOR, &bounce);
        Ok(Some(Outcome::Bounce {
            ticket: case.ticket,
        }))
    }

    async fn thread_or_open(
        &self,
        tx: &mut Work,
        p: &Prepared,
        raw: &Raw<'_>,
    ) -> Result<Option<Outcome>, store::Error> {
        let m = &p.m;
        // The task or approval mail it answers, if any. An approver's answer to our approval
        // request is theirs to give, whoever they are.
        let answers = self.answered_mail(tx, m).await?;
        if let Some(ticket) = self.approval_reply(tx, (m, raw), answers.as_ref()).await? {
            return Ok(Some(Outcome::Joined { ticket }));
        }
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
                    answers: answers.as_ref(),
                };
                self.join(tx, joining).await?;
                cases::touch(tx, case, raw.received_at).await?;
                Ok(Some(Outcome::Joined { ticket }))
            }
            _ if m.auto_signals.contains(&AutoSignal::FromSelf) => Ok(None),
            Thread::FollowUp { previous, via } => {
                // A late rating of the closed case is kept there, not opened as a new case.
                if let Some(ticket) = self.late_rating(tx, previous, (m, raw, via)).await? {
                    return Ok(Some(Outcome::Joined { ticket }));
                }
                self.open(tx, p, raw, Some(previous), None).await.map(Some)
            }
            Thread::New { refused } => self.open(tx, p, raw, None, refused).await.map(Some),
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
        p: &Prepared,
        raw: &Raw<'_>,
        previous: Option<CaseId>,
        refused: Option<TicketNo>,
    ) -> Result<Outcome, store::Error> {
        let (m, c) = (&p.m, &p.class);
        let now = raw.received_at;
        let rules = self.rules();
        let ticket = cases::next_ticket(tx, &self.settings.ticket_prefix).await?;
        // A stranger's case must not carry the tag of the case they were refused.
        let subject = match &refused {
            Some(t) => thread::without_tag(&m.subject, t),
            None => m.subject.clone(),
        };
        let mut new = new_case(&ticket, m, c, previous);
        new.subject = &subject;
        // A rule may send the request to another help desk: it is resolved at once and no SLA
        // runs. A desk the configuration lacks is recorded, and the case is worked here.
        let desk = c
            .redirect
            .as_deref()
            .and_then(|d| self.settings.desk(d).map(|found| (d, found)));
        if desk.is_some() {
            new.target = None;
        }
        let clocks = self.clocks();
        new.clock = clocks.sync(sla::Resolution::default(), Status::Open, new.target, now);
        // Nobody can answer automatic or system mail: no first-response clock for it.
        let answerable = ack::suppression(m, &self.settings).is_none();
        if answerable && desk.is_none() {
            let target = sla::Target {
                duration: rules.first_response,
                clock: rules.first_response_clock,
            };
            new.first_response = clocks.first_response(target, now);
        }
        new.follow_up_at = self.next_follow_up(now).filter(|_| desk.is_none());
        // What later cases are compared with, worked out once.
        let request = crate::parse::quote::strip_reply(&m.text).text;
        let terms = similar::Terms::of(&subject, &request);
        new.terms = Some(terms.stored());
        let case = cases::insert(tx, &new, now).await?;
        let previous_ticket = match previous {
            Some(previous) => {
                casework::link(tx, (case, "follow_up"), (previous, "previous"), None, now).await?;
                Some(casework::ticket_of(tx, previous).await?)
            }
            None => None,
        };
        let row = messages::insert(tx, case, m, raw, Kept::whole(m)).await?;
        cases::add_participants(tx, case, &self.participants(m)).await?;
        let created = Event::Created {
            rule: c.rule.as_deref(),
            category: &c.category,
            priority: c.priority.level,
            case_type: c.case_type,
            team: c.team.as_deref(),
            evidence: &c.evidence,
            model: c.model.as_ref(),
            auto_signals: &m.auto_signals,
            refused_thread: refused.as_ref(),
            follows_up: previous.map(|p| p.0),
            capped: &m.capped,
        };
        cases::add_event(tx, case, now, &m.from.address, &created);
        if let (Some(named), None) = (&c.redirect, desk) {
            let reason = format!("no [desks.{named}] is configured; the case is worked here");
            let skipped = Event::RedirectSkipped {
                desk: named,
                reason: &reason,
            };
            cases::add_event(tx, case, now, SYSTEM_ACTOR, &skipped);
        }
        let mut state = casework::CaseState {
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
            impact: c.impact,
            urgency: c.urgency,
            priority_override: false,
        };
        let mut redirect = None;
        if let Some((key, found)) = desk {
            let resolution = format!("Redirected to {}", found.name);
            let rule = c.rule.as_deref();
            self.redirected(tx, &mut state, (key, &resolution), rule, SYSTEM_ACTOR, now);
            self.settle(tx, &mut state, now).await?;
            redirect = Some(RedirectContext {
                update: self.update_context(&state, "", None),
                desk: found.clone(),
            });
        }
        // Reported by others, or by the same person again: linked to the open cases it repeats.
        // Not while importing a backlog: its messages all arrive now, whenever they were sent.
        let linking = desk.is_none() && answerable && self.import.is_none();
        let repeats = if linking {
            self.link_repeats(tx, &state, (&terms, &request), now)
                .await?
        } else {
            Vec::new()
        };
        let duplicate_of = repeats
            .iter()
            .find(|f| f.link.kind == similar::Kind::Duplicate)
            .map(|f| &f.ticket);
        // A report of an open major incident joins it; enough reports together raise one.
        let major = if linking {
            self.join_or_raise_major(tx, &state, &repeats, now).await?
        } else {
            None
        };
        // A known error: the problem's workaround goes with the acknowledgment.
        let known_error = match &major {
            None if !repeats.is_empty() => self.join_known_error(tx, &state, &repeats, now).await?,
            _ => None,
        };
        // A conference request: its event read, its lead time checked, its liaison assigned.
        let conference = if desk.is_none() && state.category == self.settings.conference.category {
            let text = format!("{subject}\n{request}");
            Some(self.conference_opened(tx, &mut state, &text, now).await?)
        } else {
            None
        };
        // A rule's approval: the request waits for the approvers' replies.
        let approval = match &c.approval {
            Some((approvers, needs)) if desk.is_none() && answerable && self.import.is_none() => {
                self.ask_approval(tx, &mut state, (approvers, *needs), SYSTEM_ACTOR, now)
                    .await?;
                self.settle(tx, &mut state, now).await?;
                Some(approvers.join(", "))
            }
            _ => None,
        };
        let opened = ack::Opened {
            id: case,
            ticket: &ticket,
            subject: &subject,
            previous: previous_ticket.as_ref(),
            first_response_due: new.first_response.due_at,
            resolution_due: new.clock.due_at,
            redirect: redirect.as_ref(),
            duplicate_of,
            major: major.as_ref().map(|(t, s)| (t, s.as_str())),
            known_error: known_error.as_ref().map(|(t, w)| (t, w.as_str())),
            conference: conference.as_ref(),
            approval: approval.as_deref(),
        };
        let acknowledged = self.acknowledge(tx, opened, m, c, now).await?;
        let notice = notify::Notice {
            author: m.from.address.clone(),
            headline: match repeats.first() {
                Some(f) => format!("New case (repeats {})", f.ticket),
                None => "New case".into(),
            },
            text: m.text.clone(),
            files: self.files_of(tx, case, (row, m)).await?,
            ..Default::default()
        };
        let staff = self.staff_of(&state);
        match desk {
            // The case is another desk's: its team need not hear of it, that desk may.
            Some((key, _)) => {
                self.forward_to_desk(tx, &state, key, &m.from.address, now)
                    .await?;
            }
            None => self.notify(tx, &state, &staff, &notice, now).await?,
        }
        // A rule's `notify`: a copy of the new case, to whoever is not told already.
        let copied: Vec<String> = c
            .notify
            .iter()
            .filter(|a| desk.is_some() || !staff.iter().any(|s| s.eq_ignore_ascii_case(a)))
            .cloned()
            .collect();
        if !copied.is_empty() {
            let copy = notify::Notice {
                headline: format!(
                    "New case (copy by rule {})",
                    c.rule.as_deref().unwrap_or("-")
                ),
                ..notice
            };
            self.notify(tx, &state, &copied, &copy, now).await?;
        }
        Ok(Outcome::Created {
            ticket,
            acknowledged,
        })
    }

    /// From, To and Cc of a message, without the support address and without technicians:
    /// participants are the customer's side; a technician acts on a case by proof, never by
    /// having been on it (else a forged From of one who once answered would pass as a customer).
    pub(crate) fn participants<'a>(&self, m: &'a Inbound) -> Vec<&'a str> {
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
        impact: c.impact,
        urgency: c.urgency,
        terms: None,
    }
}

/// Runs CPU-bound `work` (hashing, parsing) off the async workers: on the multi-thread runtime
/// the daemon runs on, `block_in_place` hands this worker's other tasks (the outbox, the
/// scheduler, the watchdog) to another worker first, and the work borrows the batch in place
/// instead of copying megabytes to a blocking thread. On a current-thread runtime (unit tests)
/// there is nobody to hand over to, and it simply runs.
fn off_worker<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// The Message-ID a message is stored under (empty when it has none).
fn message_id(m: &Inbound) -> &str {
    m.message_id.as_deref().unwrap_or("")
}

/// Logs the lists of a message that parsing cut at their caps.
fn log_capped(m: &Inbound, origin: &str) {
    for c in &m.capped {
        tracing::warn!(
            origin,
            list = c.list,
            found = c.found,
            kept = c.kept,
            "message list cut at its cap"
        );
    }
}

mod ack;
pub mod attempts;
mod known;

#[cfg(test)]
mod tests;
