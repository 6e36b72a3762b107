//! Automatic mail within the hourly caps ([`crate::caps`], pure): the counts are read from the
//! outbox, a skipped mail is counted in the metrics, and the global cap logs when it starts and
//! stops holding.

use std::sync::atomic::{AtomicBool, Ordering};

use super::Pipeline;
use crate::caps;
use crate::model::Millis;
use crate::parse::signals;
use crate::store::{self, outbox, Work};
use crate::telemetry;

/// Whether the global cap held at the last automatic mail: its start and end are logged once
/// each, not once per skipped mail.
static GLOBAL_CAP_HOLDS: AtomicBool = AtomicBool::new(false);

impl Pipeline {
    /// Why one more automatic mail (acknowledgment, command error) may not go to `to` now, if
    /// so: the hourly caps per base mailbox, per domain and in all ([`caps::automatic`]). A
    /// skipped mail is counted in `helpdesk_auto_mail_capped_total{cap}`; the global cap logs
    /// one line when it starts to hold and one when it lets mail through again.
    pub(crate) async fn automatic_mail_capped(
        &self,
        tx: &mut Work,
        to: &str,
        now: Millis,
    ) -> Result<Option<String>, store::Error> {
        let recent = outbox::automatic_since(tx, to, now - caps::WINDOW).await?;
        let own_domain = signals::domain_of(&self.settings.address.address);
        let verdict = caps::automatic(to, &own_domain, recent, self.settings.caps);
        let global = matches!(verdict, Err(caps::Capped::Global { .. }));
        if global != GLOBAL_CAP_HOLDS.swap(global, Ordering::Relaxed) {
            metrics::gauge!(telemetry::AUTO_MAIL_CAP_HOLDS).set(if global { 1.0 } else { 0.0 });
            match &verdict {
                Err(capped) => tracing::warn!(
                    reason = %capped,
                    "automatic mail capped: acknowledgments and command errors are skipped (cases are still stored) until the hour's count falls"
                ),
                Ok(()) => {
                    tracing::info!("automatic mail cap released: acknowledgments go out again")
                }
            }
        }
        Ok(match verdict {
            Ok(()) => None,
            Err(capped) => {
                let cap = match capped {
                    caps::Capped::Mailbox { .. } => "mailbox",
                    caps::Capped::Domain { .. } => "domain",
                    caps::Capped::Global { .. } => "global",
                };
                tx.count(telemetry::AUTO_MAIL_CAPPED, "cap", cap.to_owned());
                Some(capped.to_string())
            }
        })
    }
}
