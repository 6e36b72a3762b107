//! Reported by others (the incident SOP's step 5.6): a new case is compared with the open cases
//! of its category that arrived within the window ([`crate::classify::similar`]); each that it
//! repeats is linked both ways as `related` (another person) or `duplicate` (the same person
//! again), with the reason, and the oldest related case's technician or team is told in its
//! own thread. A duplicate's acknowledgment names the case that already holds the request.

use super::notify::Notice;
use super::Pipeline;
use crate::classify::similar::{self, Kind, Rarity, Request, Terms};
use crate::model::{CaseId, Millis, TicketNo};
use crate::parse::quote;
use crate::store::casework::{self, CaseState};
use crate::store::events::Event;
use crate::store::{self, cases, Work};

/// How many open cases a new one is compared with at most: the newest of its category within
/// the window (a burst of reports of one outage is all among them; each row costs intake).
const CANDIDATES: i64 = 50;

/// How many links one new case gets at most: the strongest.
const MAX_LINKS: usize = 5;

/// An open case the new one repeats.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub id: CaseId,
    pub ticket: TicketNo,
    /// Who asked, and when.
    pub requester: String,
    pub created_at: Millis,
    pub link: similar::Link,
}

impl Pipeline {
    /// Links the new case `state` (its request's terms `mine` and its text, quote and
    /// signature removed) to the open cases it repeats, records why on both, and tells the
    /// oldest related case's staff. Returns the links, oldest case first.
    pub(crate) async fn link_repeats(
        &self,
        tx: &mut Work,
        state: &CaseState,
        (mine, request): (&Terms, &str),
        now: Millis,
    ) -> Result<Vec<Found>, store::Error> {
        let rules = self.rules();
        let Some(settings) = rules.related() else {
            return Ok(Vec::new());
        };
        let none = Rarity::default();
        let rarity = rules.rarity().unwrap_or(&none);
        let since = now - settings.window;
        let recent = casework::recent(tx, &state.category, since, state.id, CANDIDATES).await?;
        let new = Request {
            requester: &state.requester,
            at: now,
            terms: mine,
        };
        let mut found: Vec<Found> = recent
            .into_iter()
            .filter_map(|r| {
                let theirs = match r.terms {
                    Ok(stored) => Terms::from_stored(stored),
                    Err((subject, body)) => Terms::of(&subject, &quote::strip_reply(&body).text),
                };
                let open = Request {
                    requester: &r.requester,
                    at: r.created_at,
                    terms: &theirs,
                };
                let link = similar::compare(&new, &open, rarity, settings)?;
                Some(Found {
                    id: r.id,
                    ticket: r.ticket,
                    requester: r.requester,
                    created_at: r.created_at,
                    link,
                })
            })
            .collect();
        found.sort_by(|a, b| b.link.score.total_cmp(&a.link.score));
        found.truncate(MAX_LINKS);
        found.sort_by_key(|f| f.id.0);
        let whys: Vec<String> = found.iter().map(|f| f.link.explain()).collect();
        let rows: Vec<(CaseId, &str, &str)> = found
            .iter()
            .zip(&whys)
            .map(|(f, why)| (f.id, f.link.kind.as_str(), why.as_str()))
            .collect();
        casework::link_many(tx, state.id, &rows, now).await?;
        for (f, why) in found.iter().zip(&whys) {
            let (kind, why) = (f.link.kind.as_str(), why.as_str());
            let there = Event::RepeatFound {
                ticket: &f.ticket,
                kind,
                why,
            };
            cases::add_event(tx, state.id, now, super::SYSTEM_ACTOR, &there);
            let back = Event::RepeatFound {
                ticket: &state.ticket,
                kind,
                why,
            };
            cases::add_event(tx, f.id, now, super::SYSTEM_ACTOR, &back);
        }
        if let Some(first) = found.iter().find(|f| f.link.kind == Kind::Related) {
            let earlier = casework::state(tx, first.id).await?;
            let notice = Notice {
                author: state.requester.clone(),
                headline: format!("Reported by others too: {}", state.ticket),
                text: format!(
                    "{} ({}) reports what looks like the same thing: {}.\n\n{}",
                    state.requester,
                    state.ticket,
                    first.link.explain(),
                    request
                ),
                ..Default::default()
            };
            self.notify_staff(tx, &earlier, &notice, now).await?;
        }
        Ok(found)
    }

    /// A known error: when the new case repeats an incident of an open problem that has a
    /// workaround, it is linked to that problem as one more incident. Returns the problem's
    /// ticket and workaround, for the acknowledgment.
    pub(crate) async fn join_known_error(
        &self,
        tx: &mut Work,
        state: &CaseState,
        repeats: &[Found],
        now: Millis,
    ) -> Result<Option<(TicketNo, String)>, store::Error> {
        let ids: Vec<CaseId> = repeats.iter().map(|f| f.id).collect();
        let found = casework::open_parent(tx, &ids, "problem", "m.workaround IS NOT NULL").await?;
        let Some((id, problem, _, Some(workaround))) = found else {
            return Ok(None);
        };
        let matched = Event::KnownError { problem: &problem };
        self.join_as_incident(tx, state, (id, "problem"), &matched, now)
            .await?;
        Ok(Some((problem, workaround)))
    }

    /// Links the new case `state` to `parent` (a major incident or a problem, `kind` being what
    /// it is to its incidents) as one more incident, with `joined` on the new case and
    /// `incident_added` on the parent.
    pub(crate) async fn join_as_incident(
        &self,
        tx: &mut Work,
        state: &CaseState,
        (parent, kind): (CaseId, &str),
        joined: &Event<'_>,
        now: Millis,
    ) -> Result<(), store::Error> {
        casework::link(tx, (state.id, "incident"), (parent, kind), None, now).await?;
        cases::add_event(tx, state.id, now, super::SYSTEM_ACTOR, joined);
        let grown = Event::IncidentAdded {
            ticket: &state.ticket,
        };
        cases::add_event(tx, parent, now, super::SYSTEM_ACTOR, &grown);
        Ok(())
    }
}
