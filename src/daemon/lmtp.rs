//! LMTP intake: the MTA hands each message to the running daemon ([`crate::mailbox::lmtp`]
//! speaks the protocol); whatever deliveries are waiting are ingested as one batch, in one
//! transaction, and each is answered only once that batch is committed: 250 for a message that
//! is now a case, a case message or a quarantined raw message; 451 when the database failed,
//! so the MTA keeps the message and tries again. Nothing is acknowledged that is not stored.

use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Daemon, Intake, Report};
use crate::ingest::Item;
use crate::mailbox::batch;
use crate::mailbox::lmtp::{self, Delivery, Listen, Options, Verdict};

/// Recipients of one transaction: more are refused with 452 and the MTA sends them again in
/// another (RFC 2033 4.2); the helpdesk has one address, a few aliases at most.
const MAX_RECIPIENTS: usize = 100;

/// Sessions at once: Postfix opens up to `lmtp_destination_concurrency_limit` (20 by default).
const MAX_SESSIONS: usize = 64;

/// A session that says nothing for this long is closed (RFC 5321 4.5.3.2: 5 minutes).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

impl Daemon {
    /// Listens on `listen` (its Unix socket given to `group`) until `cancel` fires, ingesting
    /// what the MTA delivers; the deliveries in hand are answered before it returns.
    ///
    /// # Errors
    /// The socket cannot be bound (in use, no permission, no such directory) or given to the
    /// group.
    pub(super) async fn serve_lmtp(
        &self,
        (listen, group): (&Listen, Option<u32>),
        cancel: &CancellationToken,
        intake: &Intake<'_>,
    ) -> anyhow::Result<Report> {
        let listener = lmtp::bind(listen)
            .await
            .with_context(|| format!("while opening the LMTP listener {}", describe(listen)))?;
        if let (Listen::Unix(path), Some(gid)) = (listen, group) {
            std::os::unix::fs::chown(path, None, Some(gid)).with_context(|| {
                format!("while giving the LMTP socket {} to group {gid} ([inbound] socket_group; the daemon's user must be a member)", path.display())
            })?;
        }
        let settings = &self.pipeline.settings;
        let options = Options {
            max_message_size: settings.max_message_size,
            max_recipients: MAX_RECIPIENTS,
            max_sessions: MAX_SESSIONS,
            idle_timeout: IDLE_TIMEOUT,
            hostname: settings
                .address
                .address
                .rsplit_once('@')
                .map_or("localhost", |(_, domain)| domain)
                .to_owned(),
        };
        let (tx, mut rx) = mpsc::channel(batch::BATCH);
        let server = tokio::spawn(listener.serve(options, tx, cancel.clone()));
        let mut report = Report::default();
        // Ends when the server has ended and every session with it: no delivery is left
        // without its answer.
        while let Some(first) = intake.beat.waiting(rx.recv()).await {
            let deliveries = gather(first, &mut rx);
            self.take_deliveries(deliveries, intake, &mut report).await;
        }
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "the LMTP listener failed"),
            Err(error) => tracing::error!(%error, "the LMTP listener stopped unexpectedly"),
        }
        Ok(report)
    }

    /// Ingests `deliveries` as one batch and answers each.
    async fn take_deliveries(
        &self,
        deliveries: Vec<Delivery>,
        intake: &Intake<'_>,
        report: &mut Report,
    ) {
        let read_at = Instant::now();
        let origins: Vec<String> = deliveries.iter().map(origin).collect();
        let items: Vec<Item<'_>> = deliveries
            .iter()
            .zip(&origins)
            .map(|(d, origin)| Item {
                raw: &d.raw,
                origin,
                refused: None,
            })
            .collect();
        let verdict = match self
            .ingest_counted(&items, None, intake, read_at, report)
            .await
        {
            Ok(()) => {
                intake.stored();
                Verdict::Accepted
            }
            Err(error) => {
                tracing::warn!(%error, messages = items.len(), "LMTP: the database failed; the MTA keeps the messages and tries again");
                Verdict::Transient(
                    "the helpdesk cannot store mail just now; try again later".into(),
                )
            }
        };
        for d in deliveries {
            // A session that went away meanwhile: the MTA sends again, the duplicate check
            // makes it a no-op.
            let _ = d.reply.send(verdict.clone());
        }
    }
}

/// `first` and the deliveries waiting behind it, up to a batch ([`batch::BATCH`]
/// messages, [`batch::BATCH_BYTES`]): under load, one commit answers many sessions; alone, a
/// message is committed at once.
fn gather(first: Delivery, rx: &mut mpsc::Receiver<Delivery>) -> Vec<Delivery> {
    let mut bytes = first.raw.len() as u64;
    let mut deliveries = vec![first];
    while deliveries.len() < batch::BATCH && bytes < batch::BATCH_BYTES {
        match rx.try_recv() {
            Ok(d) => {
                bytes += d.raw.len() as u64;
                deliveries.push(d);
            }
            Err(_) => break,
        }
    }
    deliveries
}

/// Where a delivery came from, for the log and the quarantine:
/// `lmtp:from=<sender>;to=<recipient>,<recipient>`.
fn origin(d: &Delivery) -> String {
    let to: Vec<String> = d.recipients.iter().map(|r| format!("<{r}>")).collect();
    format!("lmtp:from=<{}>;to={}", d.sender, to.join(","))
}

/// The listener as the log and `check` name it.
pub(crate) fn describe(listen: &Listen) -> String {
    match listen {
        Listen::Unix(path) => format!("lmtp unix:{}", path.display()),
        Listen::Tcp(addr) => format!("lmtp {addr}"),
    }
}
