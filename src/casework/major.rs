//! Major incidents (the incident SOP's step 5.7): a technician declares one (`/major [text]`),
//! or helpdesk raises one when `[major_incident] count` related reports from different
//! requesters arrive within `within` ([`outbreak`], pure). Either way a major case (a problem
//! case marked major) is opened and linked to its incidents, and `[major_incident] notify` and
//! the team are alerted. While it is open, new mail that repeats one of its incidents is
//! acknowledged with `known_issue` and linked to it; `/broadcast` on it sends one update to
//! each requester in their own thread; resolving it resolves its incidents, each requester
//! getting their own resolution notice.

use std::collections::HashSet;
use std::time::Duration;

use super::notify::{Notice, Relay};
use super::related::Found;
use super::Pipeline;
use crate::lifecycle;
use crate::model::{CaseId, CaseType, Millis, Status, TicketNo};
use crate::sla;
use crate::store::casework::{self, CaseState};
use crate::store::events::Event;
use crate::store::{self, cases, Work};
use crate::templates::render::{MAJOR_INCIDENT, RESOLUTION_NOTICE, UPDATE};

/// The subject of a major case starts with this; the rest is what customers are told it is.
const PREFIX: &str = "Major incident: ";

/// Whether `reports` (requester, arrival) hold `count` different requesters within `within`
/// of each other. Pure.
pub(crate) fn outbreak(reports: &[(&str, Millis)], count: u32, within: Duration) -> bool {
    let mut sorted: Vec<(String, Millis)> = reports
        .iter()
        .map(|(r, at)| (r.to_ascii_lowercase(), *at))
        .collect();
    sorted.sort_by_key(|(_, at)| *at);
    let span = i64::try_from(within.as_millis()).unwrap_or(i64::MAX);
    (0..sorted.len()).any(|i| {
        let people: HashSet<&str> = sorted[i..]
            .iter()
            .take_while(|(_, at)| at.0 - sorted[i].1 .0 <= span)
            .map(|(r, _)| r.as_str())
            .collect();
        people.len() >= count as usize
    })
}

/// What a major incident is, as customers are told: its subject without the prefix.
pub(crate) fn summary(subject: &str) -> &str {
    subject.strip_prefix(PREFIX).unwrap_or(subject)
}

impl Pipeline {
    /// Opens a major case after `first`, linked to each of `incidents` (`first` among them),
    /// and alerts; `text` names it (else `first`'s subject). Returns its id and ticket.
    pub(crate) async fn declare_major(
        &self,
        tx: &mut Work,
        first: &CaseState,
        incidents: &[CaseId],
        (text, actor): (Option<&str>, &str),
        now: Millis,
    ) -> Result<(CaseId, TicketNo), store::Error> {
        let ticket = cases::next_ticket(tx, &self.settings.ticket_prefix).await?;
        let subject = format!("{PREFIX}{}", text.unwrap_or(&first.subject));
        let new = cases::NewCase {
            ticket: &ticket,
            subject: &subject,
            // The desk's own case: no customer mail goes to its requester.
            requester: &self.settings.address.address,
            requester_name: None,
            case_type: CaseType::Problem,
            category: &first.category,
            priority: first.priority,
            team: first.team.as_deref(),
            rule: None,
            target: first.target,
            previous: None,
            clock: self
                .clocks()
                .sync(sla::Resolution::default(), Status::Open, first.target, now),
            first_response: sla::FirstResponse::default(),
            follow_up_at: self.next_follow_up(now),
            impact: first.impact,
            urgency: first.urgency,
            terms: None,
        };
        let major = cases::insert(tx, &new, now).await?;
        casework::mark_major(tx, major).await?;
        for &incident in incidents {
            casework::link(tx, (incident, "incident"), (major, "major"), None, now).await?;
            let joined = Event::MajorIncident { ticket: &ticket };
            cases::add_event(tx, incident, now, actor, &joined);
        }
        let declared = Event::MajorDeclared {
            incidents: incidents.len(),
            automatic: actor == super::SYSTEM_ACTOR,
        };
        cases::add_event(tx, major, now, actor, &declared);
        let state = casework::state(tx, major).await?;
        let mut to = self.settings.major.notify.clone();
        for r in self.staff_of(&state) {
            if !to.iter().any(|t| t.eq_ignore_ascii_case(&r)) {
                to.push(r);
            }
        }
        let notice = Notice {
            author: actor.to_owned(),
            headline: format!("Major incident, {} reports", incidents.len()),
            text: format!(
                "{}\n\nFirst reported as {} by {}: {}\n\nAnswer this mail with /broadcast TEXT to \
                 update every requester, and /resolve TEXT to resolve it with its incidents.",
                summary(&subject),
                first.ticket,
                first.requester,
                first.subject
            ),
            template: Some(MAJOR_INCIDENT),
            ..Default::default()
        };
        self.notify(tx, &state, &to, &notice, now).await?;
        Ok((major, ticket))
    }

    /// A new case at intake: when it repeats an incident of an open major incident, it joins
    /// that; otherwise, when it and the reports it repeats make an outbreak, a major incident is
    /// raised with them. Returns the major incident's ticket and summary, for the
    /// `known_issue` acknowledgment.
    pub(crate) async fn join_or_raise_major(
        &self,
        tx: &mut Work,
        state: &CaseState,
        repeats: &[Found],
        now: Millis,
    ) -> Result<Option<(TicketNo, String)>, store::Error> {
        let ids: Vec<CaseId> = repeats.iter().map(|f| f.id).collect();
        if let Some((major, ticket, subject, _)) =
            casework::open_parent(tx, &ids, "major", "m.major = 1").await?
        {
            let joined = Event::MajorIncident { ticket: &ticket };
            self.join_as_incident(tx, state, (major, "major"), &joined, now)
                .await?;
            return Ok(Some((ticket, summary(&subject).to_owned())));
        }
        let m = &self.settings.major;
        let (Some(count), Some(oldest)) = (m.count, repeats.first()) else {
            return Ok(None);
        };
        // The new report, those it repeats, and those the oldest of them was linked to before.
        let mut reports: Vec<(CaseId, String, Millis)> = repeats
            .iter()
            .map(|f| (f.id, f.requester.clone(), f.created_at))
            .collect();
        for r in casework::linked_reports(tx, oldest.id, &["related", "duplicate"]).await? {
            if r.0 != state.id && !reports.iter().any(|k| k.0 == r.0) {
                reports.push(r);
            }
        }
        reports.push((state.id, state.requester.clone(), now));
        let seen: Vec<(&str, Millis)> =
            reports.iter().map(|(_, r, at)| (r.as_str(), *at)).collect();
        if !outbreak(&seen, count, m.within) {
            return Ok(None);
        }
        reports.sort_by_key(|(id, _, _)| id.0);
        let ids: Vec<CaseId> = reports.iter().map(|(id, _, _)| *id).collect();
        let first = casework::state(tx, ids[0]).await?;
        let (_, ticket) = self
            .declare_major(tx, &first, &ids, (None, super::SYSTEM_ACTOR), now)
            .await?;
        Ok(Some((ticket, first.subject.clone())))
    }

    /// `/broadcast`: `text` to each requester of the major incident's open incidents, once per
    /// person, each in their own thread. Returns how many were sent.
    pub(crate) async fn broadcast(
        &self,
        tx: &mut Work,
        major: &CaseState,
        (text, technician): (&str, Option<String>),
        actor: &str,
        now: Millis,
    ) -> Result<usize, store::Error> {
        let mut told = HashSet::new();
        for id in casework::linked(tx, major.id, &["incident"], true).await? {
            let incident = casework::state(tx, id).await?;
            if !told.insert(incident.requester.to_ascii_lowercase()) {
                continue;
            }
            let relay = Relay {
                template: UPDATE,
                text,
                technician: technician.clone(),
                actor,
                desk: None,
                merged_into: None,
                remote_code: None,
                files: None,
            };
            self.relay(tx, &incident, &relay, now).await?;
        }
        let sent = Event::BroadcastSent {
            requesters: told.len(),
        };
        cases::add_event(tx, major.id, now, actor, &sent);
        Ok(told.len())
    }

    /// The major incident was resolved: each open incident is resolved with its resolution and
    /// its requester told once, in their own thread, with their own reopen window.
    pub(crate) async fn resolve_incidents(
        &self,
        tx: &mut Work,
        major: &CaseState,
        (text, technician): (&str, Option<String>),
        actor: &str,
        now: Millis,
    ) -> Result<(), store::Error> {
        if !self.settings.major.resolve_incidents {
            return Ok(());
        }
        let resolution = major
            .resolution
            .clone()
            .unwrap_or_else(|| format!("Resolved with {}", major.ticket));
        let mut told = HashSet::new();
        for id in casework::linked(tx, major.id, &["incident"], true).await? {
            let mut incident = casework::state(tx, id).await?;
            let resolve = lifecycle::Event::Resolve(Some(resolution.clone()));
            self.life_event(tx, &mut incident, &resolve, actor, now);
            self.settle(tx, &mut incident, now).await?;
            if incident.status != Status::Resolved
                || !told.insert(incident.requester.to_ascii_lowercase())
            {
                continue;
            }
            let relay = Relay {
                template: RESOLUTION_NOTICE,
                text,
                technician: technician.clone(),
                actor,
                desk: None,
                merged_into: None,
                remote_code: None,
                files: None,
            };
            self.relay(tx, &incident, &relay, now).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbreak_is_enough_different_people_close_enough_together() {
        let at = |min: i64| Millis(1_000_000_000_000 + min * 60_000);
        let half_hour = Duration::from_secs(30 * 60);
        let five = [
            ("a@x", at(0)),
            ("b@x", at(5)),
            ("c@x", at(12)),
            ("d@x", at(20)),
            ("e@x", at(29)),
        ];
        assert!(outbreak(&five, 5, half_hour));
        assert!(!outbreak(&five[..4], 5, half_hour), "four people");
        // The same person five times is one person.
        let one = [
            ("a@x", at(0)),
            ("A@x", at(1)),
            ("a@x", at(2)),
            ("a@x", at(3)),
            ("a@x", at(4)),
        ];
        assert!(!outbreak(&one, 5, half_hour));
        // Five people over an hour, never five within half an hour; in any order.
        let slow = [
            ("e@x", at(60)),
            ("a@x", at(0)),
            ("b@x", at(15)),
            ("c@x", at(30)),
            ("d@x", at(45)),
        ];
        assert!(!outbreak(&slow, 5, half_hour));
        assert!(outbreak(&slow, 3, half_hour));
        assert_eq!(summary("Major incident: VPN down"), "VPN down");
        assert_eq!(summary("VPN down"), "VPN down");
    }
}
