//! The changes to a case, whoever makes them: a message that joined it (a customer's reply, a
//! technician's reply with its commands, a note; `conversation`), an admin at the command line
//! (`manual`), or a clock (`clocks`); and the mail they queue (`notify`, within the caps
//! of `limits`; a technician's receipt for their commands, `receipt`). [`Pipeline`] is the handle all of them, intake (`crate::ingest`) and the
//! scheduler's actions work through: settings, rules and templates, the database.

use std::sync::Arc;

use crate::classify::Rules;
use crate::config::Settings;
use crate::sla;
use crate::store::Store;
use crate::templates::catalog::LiveCatalog;

pub(crate) use notify::describe as describe_conversation;

/// The actor recorded for the daemon's own events.
pub(crate) const SYSTEM_ACTOR: &str = "helpdesk";

/// The pipeline's fixed parts.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Validated configuration.
    pub settings: Arc<Settings>,
    /// Classification rules, and the mail templates (which canned replies `/template` may
    /// send); SIGHUP replaces them. Read through [`Pipeline::rules`] (and the catalog's
    /// `current()`) on a [`Pipeline::pinned`] pipeline, so one batch sees one set.
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
pub(crate) const IMPORTED: &str = "imported: no mail for old messages";

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

    /// The calendar and warning fraction the SLA clocks are computed with.
    pub fn clocks(&self) -> sla::Clocks<'_> {
        sla::Clocks {
            calendar: &self.settings.calendar,
            warn_at: self.settings.sla.warn_at,
        }
    }
}

/// A fresh, unguessable Message-ID at the support address's domain.
pub fn new_message_id(own_address: &str) -> String {
    let domain = own_address
        .rsplit_once('@')
        .map_or("helpdesk.invalid", |(_, d)| d);
    format!("hd.{}@{domain}", uuid::Uuid::new_v4().simple())
}

pub(crate) mod clocks;
mod conference;
pub(crate) mod conversation;
mod limits;
pub(crate) mod major;
mod manual;
pub(crate) mod notify;
mod receipt;
mod redirect;
pub(crate) mod related;
pub(crate) mod requests;
#[cfg(test)]
pub(crate) mod testing;

pub use manual::Manual;
