//! Caps on automatic mail, so that strangers cannot aim the help desk at anyone: how many
//! acknowledgments and command errors one base mailbox (`+tag` removed, any case), one domain
//! and everyone together may get per hour, and how many team notifications one sender's mail
//! may cause. Pure: the store counts the last hour's mail, this decides; a capped mail is
//! skipped and recorded, the message that asked for it is stored as usual.

use std::fmt;
use std::time::Duration;

/// The window every cap counts over.
pub const WINDOW: Duration = Duration::from_secs(3600);

/// Automatic mail sent in the last hour, as the store counted it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recent {
    /// To the recipient's base mailbox.
    pub mailbox: i64,
    /// To the recipient's domain.
    pub domain: i64,
    /// To anyone.
    pub all: i64,
}

/// The hourly limits (`helpdesk.auto_reply_limit`, `auto_reply_domain_limit`,
/// `auto_reply_global_limit`, `notification_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Automatic mails to one base mailbox.
    pub mailbox: u32,
    /// Automatic mails to one domain (not the help desk's own).
    pub domain: u32,
    /// Automatic mails in all.
    pub global: u32,
    /// Team notifications caused by one sender's mail.
    pub notifications: u32,
}

/// Which cap holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capped {
    /// The recipient's base mailbox had its share.
    Mailbox {
        /// The base mailbox.
        mailbox: String,
        /// Sent in the last hour.
        sent: i64,
        limit: u32,
    },
    /// The recipient's domain had its share.
    Domain {
        domain: String,
        /// Sent in the last hour.
        sent: i64,
        limit: u32,
    },
    /// The help desk sent its hourly total of automatic mail.
    Global {
        /// Sent in the last hour.
        sent: i64,
        limit: u32,
    },
}

impl fmt::Display for Capped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capped::Mailbox { mailbox, sent, limit } => write!(
                f,
                "{sent} automatic replies to {mailbox} in the last hour (helpdesk.auto_reply_limit = {limit})"
            ),
            Capped::Domain { domain, sent, limit } => write!(
                f,
                "{sent} automatic replies to addresses at {domain} in the last hour (helpdesk.auto_reply_domain_limit = {limit})"
            ),
            Capped::Global { sent, limit } => write!(
                f,
                "{sent} automatic replies in all in the last hour (helpdesk.auto_reply_global_limit = {limit})"
            ),
        }
    }
}

/// Whether one more automatic mail may go to `recipient`, given what went out in the last hour.
/// The help desk's own domain (`own_domain`, and its subdomains) is not capped per domain: its
/// users are the customers.
pub fn automatic(
    recipient: &str,
    own_domain: &str,
    recent: Recent,
    limits: Limits,
) -> Result<(), Capped> {
    use crate::parse::signals::{base_mailbox, domain_of};
    if recent.all >= i64::from(limits.global) {
        return Err(Capped::Global {
            sent: recent.all,
            limit: limits.global,
        });
    }
    if recent.mailbox >= i64::from(limits.mailbox) {
        return Err(Capped::Mailbox {
            mailbox: base_mailbox(recipient),
            sent: recent.mailbox,
            limit: limits.mailbox,
        });
    }
    let domain = domain_of(recipient);
    let own = own_domain.to_ascii_lowercase();
    let local = domain == own || domain.ends_with(&format!(".{own}"));
    if !local && recent.domain >= i64::from(limits.domain) {
        return Err(Capped::Domain {
            domain,
            sent: recent.domain,
            limit: limits.domain,
        });
    }
    Ok(())
}

/// Why no more team notifications may follow from `sender`'s mail this hour, if so.
pub fn notifications(sender: &str, caused: i64, limits: Limits) -> Option<String> {
    (caused >= i64::from(limits.notifications)).then(|| {
        format!(
            "{caused} notifications caused by mail from {} in the last hour (helpdesk.notification_limit = {})",
            crate::parse::signals::base_mailbox(sender),
            limits.notifications
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        mailbox: 5,
        domain: 20,
        global: 100,
        notifications: 30,
    };

    fn recent(mailbox: i64, domain: i64, all: i64) -> Recent {
        Recent {
            mailbox,
            domain,
            all,
        }
    }

    #[test]
    fn each_cap_holds_at_its_limit() {
        let ok = |to, r| automatic(to, "example.test", r, LIMITS);
        assert_eq!(ok("a@x.test", recent(4, 19, 99)), Ok(()));
        assert_eq!(
            ok("Victim+7@X.test", recent(5, 5, 5)),
            Err(Capped::Mailbox {
                mailbox: "victim@x.test".into(),
                sent: 5,
                limit: 5
            })
        );
        assert_eq!(
            ok("a@x.test", recent(0, 20, 20)),
            Err(Capped::Domain {
                domain: "x.test".into(),
                sent: 20,
                limit: 20
            })
        );
        // The global cap is checked first: it is what a flood hits.
        assert_eq!(
            ok("a@x.test", recent(9, 99, 100)),
            Err(Capped::Global {
                sent: 100,
                limit: 100
            })
        );
    }

    #[test]
    fn the_help_desks_own_domain_has_no_domain_cap() {
        let r = recent(0, 500, 50);
        assert_eq!(
            automatic("a@example.test", "example.test", r, LIMITS),
            Ok(())
        );
        assert_eq!(
            automatic("a@staff.example.test", "Example.test", r, LIMITS),
            Ok(())
        );
        assert!(automatic("a@notexample.test", "example.test", r, LIMITS).is_err());
    }

    #[test]
    fn the_reasons_name_the_setting() {
        let c = automatic("a@x.test", "example.test", recent(5, 0, 0), LIMITS).unwrap_err();
        assert_eq!(
            c.to_string(),
            "5 automatic replies to a@x.test in the last hour (helpdesk.auto_reply_limit = 5)"
        );
        assert_eq!(notifications("s+1@x.test", 29, LIMITS), None);
        assert_eq!(
            notifications("S+1@x.test", 30, LIMITS).as_deref(),
            Some("30 notifications caused by mail from s@x.test in the last hour (helpdesk.notification_limit = 30)")
        );
    }
}
