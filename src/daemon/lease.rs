//! The intake lease: with several instances on one PostgreSQL database, one of them reads the
//! mailbox and the others stand by. The reader renews the lease every few seconds (each loop,
//! each batch, and between IDLE rounds); when it dies, the lease expires and a standby takes
//! over within [`TTL`]. SQLite runs one instance per database and takes no lease.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::store::{self, lease, Backend, Store};

/// How long the lease lasts without renewal: a standby takes over this long after the
/// reader died.
pub const TTL: Duration = Duration::from_secs(15);
/// How often the reader renews it at the least (IDLE is re-issued this often).
pub const RENEW: Duration = Duration::from_secs(4);
/// How often a standby asks for it.
pub const STANDBY_POLL: Duration = Duration::from_secs(2);

/// The lease on one mailbox, as this instance sees it.
#[derive(Debug)]
pub struct IntakeLease {
    store: Store,
    name: String,
    holder: String,
    held: AtomicBool,
}

/// Intake stopped because another instance holds the mailbox now.
#[derive(Debug, thiserror::Error)]
#[error("another instance took over the mailbox (intake lease `{0}`)")]
pub struct LeaseLost(pub String);

impl IntakeLease {
    /// The lease for the mailbox `key`, when `store` is shared (PostgreSQL); `None` otherwise.
    pub fn for_mailbox(store: &Store, key: &str) -> Option<IntakeLease> {
        (store.backend == Backend::Postgres).then(|| IntakeLease {
            store: store.clone(),
            name: format!("intake:{key}"),
            holder: instance_id(),
            held: AtomicBool::new(false),
        })
    }

    /// Takes or renews the lease; true while this instance holds it. Logs when it is taken
    /// and when it is lost; a database failure counts as not holding it.
    pub async fn hold(&self) -> bool {
        let now = store::now_ms();
        let held = match lease::acquire(&self.store.pool, &self.name, &self.holder, now, TTL).await
        {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(%error, lease = %self.name, "cannot renew the intake lease");
                false
            }
        };
        let before = self.held.swap(held, Ordering::Relaxed);
        match (before, held) {
            (false, true) => {
                tracing::info!(lease = %self.name, holder = %self.holder, "intake lease taken: this instance reads the mailbox");
            }
            (true, false) => {
                tracing::warn!(lease = %self.name, "intake lease lost: standing by");
            }
            (false, false) => {
                if let Ok(Some((other, until))) =
                    lease::holder(&self.store.pool, &self.name, now).await
                {
                    tracing::debug!(lease = %self.name, %other, until = %store::format_ms(until), "standing by");
                }
            }
            (true, true) => {}
        }
        held
    }

    /// Gives the lease up on a clean stop, so a standby takes over at once.
    pub async fn release(&self) {
        if self.held.load(Ordering::Relaxed) {
            if let Err(error) = lease::release(&self.store.pool, &self.name, &self.holder).await {
                tracing::warn!(%error, lease = %self.name, "cannot release the intake lease");
            }
        }
    }

    /// `Err(LeaseLost)` unless the lease is (still) held.
    ///
    /// # Errors
    /// Another instance holds it.
    pub async fn check(&self) -> Result<(), LeaseLost> {
        if self.hold().await {
            Ok(())
        } else {
            Err(LeaseLost(self.name.clone()))
        }
    }
}

/// This process among the instances: host, pid and a random part (pids repeat across hosts
/// and restarts).
fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}
