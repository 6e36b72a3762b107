//! Checking the configuration as read ([`RawConfig`]) and turning it into [`Settings`]: parsed
//! durations, sizes, addresses and absolute paths, and an error naming the key, the value and
//! what was expected for anything unacceptable.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::{RawApprovals, RawConference, RawSla};
use super::*;
use crate::model::parse_address;

pub(super) fn validate(path: &Path, raw: RawConfig) -> Result<Settings, Error> {
    let invalid = |key: &str, value: &str, expected: &str| Error::Invalid {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |rel: &str| normalize(&base.join(rel));
    let h = raw.helpdesk;
    let address = parse_address(&h.address).ok_or_else(|| {
        invalid(
            "helpdesk.address",
            &h.address,
            "an email address like support@example.com",
        )
    })?;
    let prefix_ok = !h.ticket_prefix.is_empty()
        && h.ticket_prefix.len() <= 10
        && h.ticket_prefix.bytes().all(|b| b.is_ascii_alphanumeric());
    if !prefix_ok {
        return Err(invalid(
            "helpdesk.ticket_prefix",
            &h.ticket_prefix,
            "1 to 10 ASCII letters or digits, like HD",
        ));
    }
    let technicians = h
        .technicians
        .iter()
        .map(|t| {
            parse_technician(t).ok_or_else(|| {
                invalid(
                    "helpdesk.technicians",
                    t,
                    "an address (tech@example.com) or a domain (@it.example.com)",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reopen_window = parse_duration(&h.reopen_window)
        .map_err(|e| invalid("helpdesk.reopen_window", &h.reopen_window, &e))?;
    let database_url = database_url(path, base, &raw.database)?;
    let i = raw.inbound;
    let outbound_connections = match raw.outbound.connections.unwrap_or(4) {
        n @ 1..=64 => n as usize,
        n => {
            return Err(Error::Invalid {
                path: path.to_owned(),
                key: "outbound.connections".into(),
                value: n.to_string(),
                expected: "from 1 to 64 connections at once".into(),
            })
        }
    };
    let max_attachments_size = parse_size(&raw.outbound.max_attachments_size).map_err(|e| {
        invalid(
            "outbound.max_attachments_size",
            &raw.outbound.max_attachments_size,
            &e,
        )
    })?;
    let max_attachment_size = parse_size(&i.max_attachment_size)
        .map_err(|e| invalid("inbound.max_attachment_size", &i.max_attachment_size, &e))?;
    let max_message_size = parse_size(&i.max_message_size)
        .map_err(|e| invalid("inbound.max_message_size", &i.max_message_size, &e))?;
    let default_poll = match i.kind {
        // Stdin: how soon the daemon finds the mail `helpdesk ingest` queued.
        InboundKind::Maildir | InboundKind::Stdin | InboundKind::Lmtp => "5s",
        InboundKind::Imap => "60s",
    };
    let poll_text = i.poll_interval.as_deref().unwrap_or(default_poll);
    let poll_interval =
        parse_duration(poll_text).map_err(|e| invalid("inbound.poll_interval", poll_text, &e))?;
    if poll_interval.is_zero() {
        return Err(invalid(
            "inbound.poll_interval",
            poll_text,
            "a duration above zero",
        ));
    }
    let keys = Keys { path, base };
    let source = source(&keys, &i)?;
    let transport = transport(&keys, &raw.outbound)?;
    let name = h.name.filter(|n| !n.trim().is_empty());
    let from = Mailbox {
        name: name.clone(),
        address: raw
            .outbound
            .from
            .as_deref()
            .and_then(parse_address)
            .unwrap_or_else(|| address.clone()),
    };
    let teams = teams(path, &raw.teams)?;
    let desks = desks(path, &raw.desks)?;
    let major = major(path, &raw.major_incident)?;
    let approvals = approvals(path, &raw.approvals)?;
    let conference = conference(path, (&raw.conference, &raw.accounts), &technicians, &teams)?;
    let authserv_id = h
        .authserv_id
        .as_deref()
        .map(|id| id.trim().to_ascii_lowercase())
        .filter(|id| !id.is_empty());
    let technician_auth = match (h.require_authenticated_technicians, authserv_id) {
        (true, Some(authserv_id)) => TechnicianAuth::Authenticated { authserv_id },
        (true, None) => {
            return Err(Error::Misplaced {
                path: path.to_owned(),
                key: "helpdesk.authserv_id".into(),
                problem: "is required when helpdesk.require_authenticated_technicians = true: the authserv-id your receiving server writes into Authentication-Results".into(),
            })
        }
        (false, Some(authserv_id)) => TechnicianAuth::ReplyOrAuthenticated { authserv_id },
        (false, None) => TechnicianAuth::Reply,
    };
    let c = &raw.calendar;
    let calendar =
        crate::calendar::Calendar::new(c.timezone.as_deref(), &c.days, &c.hours, &c.holidays)
            .map_err(|problem| Error::Misplaced {
                path: path.to_owned(),
                key: "calendar".into(),
                problem,
            })?;
    let sla = sla(path, &raw.sla)?;
    let metrics_listen = match raw.metrics.listen.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            let addr: std::net::SocketAddr = text.parse().map_err(|_| {
                invalid(
                    "metrics.listen",
                    text,
                    "an address and port like \"127.0.0.1:9187\"",
                )
            })?;
            if !addr.ip().is_loopback() {
                return Err(invalid(
                    "metrics.listen",
                    text,
                    "a loopback address (127.0.0.1 or [::1]): the metrics have no authentication; put a proxy in front to expose them",
                ));
            }
            Some(addr)
        }
    };
    Ok(Settings {
        config_path: path.to_owned(),
        address: Mailbox { name, address },
        ticket_prefix: h.ticket_prefix.to_ascii_uppercase(),
        technicians,
        reopen_window,
        rules_path: h.rules.as_deref().map(resolve),
        templates_dir: h.templates.as_deref().map(resolve),
        caps: crate::caps::Limits {
            mailbox: h.auto_reply_limit,
            domain: h.auto_reply_domain_limit,
            global: h.auto_reply_global_limit,
            notifications: h.notification_limit,
        },
        database_url,
        one_cpu: raw.database.one_cpu,
        max_attachment_size,
        max_message_size,
        poll_interval,
        source,
        transport,
        from,
        teams,
        desks,
        major,
        approvals,
        conference,
        technician_auth,
        technician_identity: h.technician_identity,
        reply_all: h.reply_all,
        command_receipts: h.command_receipts,
        max_attachments_size,
        outbound_connections,
        calendar,
        sla,
        metrics_listen,
    })
}

/// `[sla]`: a warning fraction strictly between 0 and 1 (0: none), a known digest schedule.
fn sla(path: &Path, raw: &RawSla) -> Result<SlaSettings, Error> {
    let invalid = |key: &str, value: &str, expected: &str| Error::Invalid {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    };
    let warn_at = match raw.warn_at {
        0.0 => None,
        f if f > 0.0 && f < 1.0 => Some(f),
        f => {
            return Err(invalid(
                "sla.warn_at",
                &f.to_string(),
                "a fraction of the target between 0 and 1, like 0.75 (0: no warnings)",
            ))
        }
    };
    let digest =
        match raw.digest.trim().to_ascii_lowercase().as_str() {
            "business" => Digest::Business,
            "always" => Digest::Always,
            "off" => Digest::Off,
            _ => return Err(invalid(
                "sla.digest",
                &raw.digest,
                "\"business\" (odd hours in working time), \"always\" (every odd hour) or \"off\"",
            )),
        };
    let follow_up = parse_duration(&raw.follow_up)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            invalid(
                "sla.follow_up",
                &raw.follow_up,
                "a duration above zero, like \"7d\"",
            )
        })?;
    Ok(SlaSettings {
        warn_at,
        digest,
        follow_up,
        follow_up_categories: raw.follow_up_categories.clone(),
    })
}

/// `[teams.NAME]`: names are lower-case words (they are typed in `/assign NAME`), addresses
/// valid, and each team reachable.
fn teams(
    path: &Path,
    raw: &std::collections::BTreeMap<String, RawTeam>,
) -> Result<std::collections::BTreeMap<String, Team>, Error> {
    let invalid = |key: String, value: &str, expected: &str| Error::Invalid {
        path: path.to_owned(),
        key,
        value: value.to_owned(),
        expected: expected.to_owned(),
    };
    let mut out = std::collections::BTreeMap::new();
    for (name, t) in raw {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(invalid(
                format!("teams.{name}"),
                name,
                "a team name of lower-case letters, digits, '-' and '_' (it is typed in /assign)",
            ));
        }
        let address =
            match &t.address {
                Some(a) => Some(parse_address(a).ok_or_else(|| {
                    invalid(format!("teams.{name}.address"), a, "an email address")
                })?),
                None => None,
            };
        let members = t
            .members
            .iter()
            .map(|m| {
                parse_address(m)
                    .ok_or_else(|| invalid(format!("teams.{name}.members"), m, "email addresses"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if address.is_none() && members.is_empty() {
            return Err(Error::Misplaced {
                path: path.to_owned(),
                key: format!("teams.{name}"),
                problem: "needs an address or members: otherwise its notifications go nowhere"
                    .into(),
            });
        }
        out.insert(name.clone(), Team { address, members });
    }
    Ok(out)
}

/// `[major_incident]`: addresses, a count of at least 2 (0 turns the automatic alert off), a
/// window above zero.
fn major(path: &Path, raw: &RawMajor) -> Result<MajorSettings, Error> {
    let invalid = |key: &str, value: &str, expected: &str| Error::Invalid {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    };
    let notify = raw
        .notify
        .iter()
        .map(|a| {
            parse_address(a).ok_or_else(|| invalid("major_incident.notify", a, "email addresses"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count = match raw.count {
        0 => None,
        1 => {
            return Err(invalid(
                "major_incident.count",
                "1",
                "2 or more related reports (0: only /major declares one)",
            ))
        }
        n => Some(n),
    };
    let within = parse_duration(&raw.within)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            invalid(
                "major_incident.within",
                &raw.within,
                "a duration above zero, like \"30m\"",
            )
        })?;
    Ok(MajorSettings {
        notify,
        count,
        within,
        resolve_incidents: raw.resolve_incidents,
    })
}

/// `[approvals]`: a reminder interval (`"0"`: none) and how many.
fn approvals(path: &Path, raw: &RawApprovals) -> Result<ApprovalSettings, Error> {
    let remind_after = parse_duration(&raw.remind_after).map_err(|_| Error::Invalid {
        path: path.to_owned(),
        key: "approvals.remind_after".into(),
        value: raw.remind_after.clone(),
        expected: "a duration like \"2d\" (\"0\": no reminders)".into(),
    })?;
    Ok(ApprovalSettings {
        remind_after: (!remind_after.is_zero() && raw.reminders > 0).then_some(remind_after),
        reminders: raw.reminders,
    })
}

/// `[conference]` and `[accounts]`: lead times above zero; account managers who are
/// technicians (they create the tasks and answer the customer), keyed by domains or addresses.
fn conference(
    path: &Path,
    (c, accounts_raw): (&RawConference, &std::collections::BTreeMap<String, String>),
    technicians: &[Technician],
    teams: &std::collections::BTreeMap<String, Team>,
) -> Result<ConferenceSettings, Error> {
    let invalid = |key: &str, value: &str, expected: &str| Error::Invalid {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    };
    if c.on_premises_business_days == 0 {
        return Err(invalid(
            "conference.on_premises_business_days",
            "0",
            "1 or more business days",
        ));
    }
    if c.off_site_days == 0 {
        return Err(invalid("conference.off_site_days", "0", "1 or more days"));
    }
    let is_technician = |a: &str| {
        technicians.iter().any(|t| match t {
            Technician::Address(x) => x == a,
            Technician::Domain(d) => a.rsplit_once('@').is_some_and(|(_, ad)| ad == d),
        }) || teams.values().any(|t| t.members.iter().any(|m| m == a))
    };
    let mut accounts = std::collections::BTreeMap::new();
    for (key, manager) in accounts_raw {
        let key_lower = key.trim().to_ascii_lowercase();
        let key_ok = match key_lower.split_once('@') {
            Some(_) => parse_address(&key_lower).is_some(),
            None => key_lower.contains('.') && !key_lower.contains(char::is_whitespace),
        };
        if !key_ok {
            return Err(invalid(
                "accounts",
                key,
                "a sender domain (\"agency.example.gov\") or address as the key",
            ));
        }
        let manager = parse_address(manager).ok_or_else(|| {
            invalid(
                &format!("accounts.\"{key}\""),
                manager,
                "the account manager's email address",
            )
        })?;
        if !is_technician(&manager) {
            return Err(invalid(
                &format!("accounts.\"{key}\""),
                &manager,
                "a technician (helpdesk.technicians or a team's members): the account manager answers the customer and creates the tasks",
            ));
        }
        accounts.insert(key_lower, manager);
    }
    Ok(ConferenceSettings {
        category: c.category.trim().to_owned(),
        premises: c
            .premises
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
        on_premises_business_days: c.on_premises_business_days,
        off_site_days: c.off_site_days,
        accounts,
    })
}

/// `[desks.NAME]`: names like team names (they are typed in `/redirect NAME`), a name for the
/// customer, some way to reach the desk, and an address to forward to when `forward` is set.
fn desks(
    path: &Path,
    raw: &std::collections::BTreeMap<String, RawDesk>,
) -> Result<std::collections::BTreeMap<String, Desk>, Error> {
    let invalid = |key: String, value: &str, expected: &str| Error::Invalid {
        path: path.to_owned(),
        key,
        value: value.to_owned(),
        expected: expected.to_owned(),
    };
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let mut out = std::collections::BTreeMap::new();
    for (key, d) in raw {
        let ok = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(invalid(
                format!("desks.{key}"),
                key,
                "a desk name of lower-case letters, digits, '-' and '_' (it is typed in /redirect)",
            ));
        }
        let name = d.name.trim();
        if name.is_empty() {
            return Err(invalid(
                format!("desks.{key}.name"),
                &d.name,
                "the desk's name as customers know it",
            ));
        }
        let address =
            match text(&d.address) {
                Some(a) => Some(parse_address(&a).ok_or_else(|| {
                    invalid(format!("desks.{key}.address"), &a, "an email address")
                })?),
                None => None,
            };
        let (phone, url) = (text(&d.phone), text(&d.url));
        if address.is_none() && phone.is_none() && url.is_none() {
            return Err(Error::Misplaced {
                path: path.to_owned(),
                key: format!("desks.{key}"),
                problem: "needs an address, phone or url: the customer is sent there".into(),
            });
        }
        if d.forward && address.is_none() {
            return Err(Error::Misplaced {
                path: path.to_owned(),
                key: format!("desks.{key}.address"),
                problem: "is required when forward = true: the original is forwarded there".into(),
            });
        }
        let desk = Desk {
            name: name.to_owned(),
            address,
            phone,
            hours: text(&d.hours),
            url,
            note: text(&d.note),
            forward: d.forward,
        };
        out.insert(key.clone(), desk);
    }
    Ok(out)
}

/// Checks for keys that depend on `kind`, with errors that name the key.
struct Keys<'a> {
    path: &'a Path,
    base: &'a Path,
}

impl Keys<'_> {
    fn misplaced(&self, key: &str, problem: String) -> Error {
        Error::Misplaced {
            path: self.path.to_owned(),
            key: key.to_owned(),
            problem,
        }
    }

    fn required<'v>(
        &self,
        key: &str,
        value: Option<&'v String>,
        kind: &str,
    ) -> Result<&'v str, Error> {
        match value.map(|v| v.trim()) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(self.misplaced(key, format!("is required when {kind}"))),
        }
    }

    /// Fails on the first of `keys` that is set although `kind` does not use it.
    fn unused(&self, kind: &str, keys: &[(&str, bool)]) -> Result<(), Error> {
        match keys.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(self.misplaced(key, format!("does not apply when {kind}"))),
            None => Ok(()),
        }
    }

    fn resolve(&self, rel: &str) -> PathBuf {
        normalize(&self.base.join(rel))
    }

    /// `password` or `password_file` (relative to the config), not both.
    fn secret(
        &self,
        section: &str,
        password: Option<&String>,
        file: Option<&String>,
    ) -> Result<Option<Secret>, Error> {
        match (password, file) {
            (Some(_), Some(_)) => Err(self.misplaced(
                &format!("{section}.password_file"),
                format!("and {section}.password are both set; keep one"),
            )),
            (Some(p), None) => Ok(Some(Secret(p.clone()))),
            (None, Some(f)) => {
                let file = self.resolve(f);
                let text = std::fs::read_to_string(&file)
                    .map_err(|source| Error::Read { path: file, source })?;
                Ok(Some(Secret(text.trim_end_matches(['\n', '\r']).to_owned())))
            }
            (None, None) => Ok(None),
        }
    }

    /// Host, port, security, login and CA of a server section.
    #[allow(clippy::too_many_arguments)]
    fn server(
        &self,
        section: &str,
        kind: &str,
        host: Option<&String>,
        port: Option<u16>,
        security: Security,
        default_port: u16,
        login: (Option<&String>, Option<Secret>),
        ca_file: Option<&String>,
    ) -> Result<ServerSettings, Error> {
        let host = self.required(&format!("{section}.host"), host, kind)?;
        if port == Some(0) {
            return Err(Error::Invalid {
                path: self.path.to_owned(),
                key: format!("{section}.port"),
                value: "0".into(),
                expected: "a TCP port from 1 to 65535".into(),
            });
        }
        let login = match login {
            (Some(user), Some(password)) => Some((user.clone(), password)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(self.misplaced(
                    &format!("{section}.password"),
                    format!("(or {section}.password_file) is required with {section}.username"),
                ))
            }
            (None, Some(_)) => {
                return Err(self.misplaced(
                    &format!("{section}.username"),
                    format!("is required with {section}.password"),
                ))
            }
        };
        let ca_file = ca_file.map(|f| self.resolve(f));
        if let Some(ca) = &ca_file {
            if !ca.is_file() {
                return Err(Error::Invalid {
                    path: self.path.to_owned(),
                    key: format!("{section}.ca_file"),
                    value: ca.display().to_string(),
                    expected: "a readable PEM certificate file".into(),
                });
            }
        }
        Ok(ServerSettings {
            host: host.to_owned(),
            port: port.unwrap_or(default_port),
            security,
            login,
            ca_file,
        })
    }
}

fn source(k: &Keys<'_>, i: &RawInbound) -> Result<SourceSettings, Error> {
    match i.kind {
        InboundKind::Stdin => {
            let mut keys = vec![
                ("inbound.path", i.path.is_some()),
                ("inbound.listen", i.listen.is_some()),
                ("inbound.socket_group", i.socket_group.is_some()),
            ];
            keys.extend(imap_keys(i));
            k.unused("inbound.kind = \"stdin\"", &keys)?;
            Ok(SourceSettings::Stdin)
        }
        InboundKind::Lmtp => {
            let kind = "inbound.kind = \"lmtp\"";
            let mut keys = vec![("inbound.path", i.path.is_some())];
            keys.extend(imap_keys(i));
            k.unused(kind, &keys)?;
            let listen = k.required("inbound.listen", i.listen.as_ref(), kind)?;
            let listen = lmtp_listen(listen).map_err(|expected| Error::Invalid {
                path: k.path.to_owned(),
                key: "inbound.listen".into(),
                value: listen.to_owned(),
                expected,
            })?;
            let group = match (&i.socket_group, &listen) {
                (None, _) => None,
                (Some(name), super::Listen::Unix(_)) => {
                    let gid = group_id(name).ok_or_else(|| Error::Invalid {
                        path: k.path.to_owned(),
                        key: "inbound.socket_group".into(),
                        value: name.clone(),
                        expected: "a group of this system (/etc/group), e.g. postfix".into(),
                    })?;
                    Some((name.clone(), gid))
                }
                (Some(_), super::Listen::Tcp(_)) => {
                    return Err(k.misplaced(
                        "inbound.socket_group",
                        "applies to a Unix socket only (inbound.listen = \"unix:/path\")".into(),
                    ))
                }
            };
            Ok(SourceSettings::Lmtp { listen, group })
        }
        InboundKind::Maildir => {
            let kind = "inbound.kind = \"maildir\"";
            let mut keys = vec![
                ("inbound.listen", i.listen.is_some()),
                ("inbound.socket_group", i.socket_group.is_some()),
            ];
            keys.extend(imap_keys(i));
            k.unused(kind, &keys)?;
            let path = k.required("inbound.path", i.path.as_ref(), kind)?;
            Ok(SourceSettings::Maildir {
                path: k.resolve(path),
            })
        }
        InboundKind::Imap => {
            let kind = "inbound.kind = \"imap\"";
            k.unused(
                kind,
                &[
                    ("inbound.path", i.path.is_some()),
                    ("inbound.listen", i.listen.is_some()),
                    ("inbound.socket_group", i.socket_group.is_some()),
                ],
            )?;
            let security = i.security.unwrap_or(Security::Tls);
            let default_port = if security == Security::Tls { 993 } else { 143 };
            let password = k.secret("inbound", i.password.as_ref(), i.password_file.as_ref())?;
            k.required("inbound.username", i.username.as_ref(), kind)?;
            let server = k.server(
                "inbound",
                kind,
                i.host.as_ref(),
                i.port,
                security,
                default_port,
                (i.username.as_ref(), password),
                i.ca_file.as_ref(),
            )?;
            let folder = i.folder.clone().unwrap_or_else(|| "INBOX".into());
            let processed_folder = i.processed_folder.clone().filter(|f| !f.is_empty());
            if processed_folder.as_deref() == Some(folder.as_str()) {
                return Err(k.misplaced(
                    "inbound.processed_folder",
                    "must differ from inbound.folder".into(),
                ));
            }
            Ok(SourceSettings::Imap(ImapSettings {
                server,
                folder,
                processed_folder,
                idle: i.idle.unwrap_or(true),
            }))
        }
    }
}

fn transport(k: &Keys<'_>, o: &RawOutbound) -> Result<TransportSettings, Error> {
    if let Some(from) = &o.from {
        if parse_address(from).is_none() {
            return Err(Error::Invalid {
                path: k.path.to_owned(),
                key: "outbound.from".into(),
                value: from.clone(),
                expected: "an email address like support@example.com".into(),
            });
        }
    }
    match o.kind {
        OutboundKind::File => {
            let kind = "outbound.kind = \"file\"";
            k.unused(
                kind,
                &[
                    ("outbound.host", o.host.is_some()),
                    ("outbound.port", o.port.is_some()),
                    ("outbound.security", o.security.is_some()),
                    ("outbound.username", o.username.is_some()),
                    ("outbound.password", o.password.is_some()),
                    ("outbound.password_file", o.password_file.is_some()),
                    ("outbound.ca_file", o.ca_file.is_some()),
                ],
            )?;
            let path = k.required("outbound.path", o.path.as_ref(), kind)?;
            Ok(TransportSettings::File {
                dir: k.resolve(path),
            })
        }
        OutboundKind::Smtp => {
            let kind = "outbound.kind = \"smtp\"";
            k.unused(kind, &[("outbound.path", o.path.is_some())])?;
            let security = o.security.unwrap_or(Security::Starttls);
            let default_port = match security {
                Security::Tls => 465,
                Security::Starttls => 587,
                Security::None => 25,
            };
            let password = k.secret("outbound", o.password.as_ref(), o.password_file.as_ref())?;
            let server = k.server(
                "outbound",
                kind,
                o.host.as_ref(),
                o.port,
                security,
                default_port,
                (o.username.as_ref(), password),
                o.ca_file.as_ref(),
            )?;
            Ok(TransportSettings::Smtp(server))
        }
    }
}

fn database_url(path: &Path, base: &Path, db: &RawDatabase) -> Result<Secret, Error> {
    let url = match (&db.url, &db.url_file) {
        (Some(_), Some(_)) => {
            return Err(Error::Invalid {
                path: path.to_owned(),
                key: "database.url_file".into(),
                value: db.url_file.clone().unwrap_or_default(),
                expected: "either database.url or database.url_file, not both".into(),
            })
        }
        (Some(url), None) => url.clone(),
        (None, Some(file)) => {
            let file = base.join(file);
            std::fs::read_to_string(&file)
                .map_err(|source| Error::Read { path: file, source })?
                .trim()
                .to_owned()
        }
        (None, None) => "sqlite:///var/lib/helpdesk/helpdesk.db".into(),
    };
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let file = rest.trim_start_matches("//");
        let (file, query) = file.split_once('?').unwrap_or((file, ""));
        if file.is_empty() || file == ":memory:" {
            return Ok(Secret(url));
        }
        let abs = normalize(&base.join(file));
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        return Ok(Secret(format!("sqlite://{}{query}", abs.display())));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Secret(url));
    }
    // Only the scheme: the rest may hold a password.
    let shown = url.split_once("://").map_or("", |(scheme, _)| scheme);
    Err(Error::Invalid {
        path: path.to_owned(),
        key: "database.url".into(),
        value: format!("{shown}://…"),
        expected: "sqlite:PATH or postgres://user@host/db".into(),
    })
}

/// The `[inbound]` keys only `kind = "imap"` uses, and whether each is set.
/// Where an LMTP server may listen: a Unix socket (`unix:/path` or an absolute path; a
/// relative one would depend on the daemon's working directory) or a loopback address with a
/// port. LMTP has no authentication: whoever reaches the socket can hand over mail, so it is
/// never offered to the network.
fn lmtp_listen(text: &str) -> Result<super::Listen, String> {
    use super::Listen;
    let path = text.strip_prefix("unix:").unwrap_or(text);
    if path.starts_with('/') {
        return Ok(Listen::Unix(PathBuf::from(path)));
    }
    let addr: std::net::SocketAddr = text.parse().map_err(|_| {
        "unix:/absolute/path/to/lmtp.sock or a loopback address with a port, like 127.0.0.1:2424"
            .to_owned()
    })?;
    if !addr.ip().is_loopback() {
        return Err("a loopback address (127.0.0.1 or [::1]) or a Unix socket: LMTP has no authentication, so helpdesk does not listen on the network".into());
    }
    if addr.port() == 0 {
        return Err("a loopback address with a port from 1 to 65535".into());
    }
    Ok(Listen::Tcp(addr))
}

/// The id of group `name` (or a number given as is), as /etc/group lists it.
fn group_id(name: &str) -> Option<u32> {
    if let Ok(id) = name.parse() {
        return Some(id);
    }
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(name))
            .then(|| fields.nth(1).and_then(|id| id.parse().ok()))
            .flatten()
    })
}

fn imap_keys(i: &RawInbound) -> [(&'static str, bool); 10] {
    [
        ("inbound.host", i.host.is_some()),
        ("inbound.port", i.port.is_some()),
        ("inbound.security", i.security.is_some()),
        ("inbound.username", i.username.is_some()),
        ("inbound.password", i.password.is_some()),
        ("inbound.password_file", i.password_file.is_some()),
        ("inbound.folder", i.folder.is_some()),
        ("inbound.processed_folder", i.processed_folder.is_some()),
        ("inbound.idle", i.idle.is_some()),
        ("inbound.ca_file", i.ca_file.is_some()),
    ]
}

/// Removes `.` and `..` components lexically, so logs show `/srv/hd/var`, not `/srv/hd/x/../var`.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn parse_technician(s: &str) -> Option<Technician> {
    match s.trim().strip_prefix('@') {
        Some(domain) => parse_address(&format!("x@{domain}"))
            .map(|a| Technician::Domain(a["x@".len()..].to_owned())),
        None => parse_address(s).map(Technician::Address),
    }
}

/// Parses a humantime duration such as `3d`, `72h`, `90s` or `1h 30m`.
///
/// # Errors
/// Returns what was expected, for the config error message.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("a duration like \"3d\", \"4h\" or \"90s\" ({e})"))
}

/// Parses a byte size: a number with an optional unit (B, KB, KiB, MB, MiB, GB, GiB).
///
/// # Errors
/// Returns what was expected, for the config error message.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let expected = || "a size like \"25MiB\", \"10MB\" or \"1048576\"".to_owned();
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| expected())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        _ => return Err(expected()),
    };
    n.checked_mul(mult).ok_or_else(expected)
}
