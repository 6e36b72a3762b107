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

/// How many open cases a new one is compared with at most: the newest of its category.
const CANDIDATES: i64 = 300;

/// How many links one new case gets at most: the strongest.
const MAX_LINKS: usize = 5;

/// An open case the new one repeats.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub id: CaseId,
    pub ticket: TicketNo,
    pub link: similar::Link,
}

impl Pipeline {
    /// Links the new case `state` (its request `subject` and `body`) to the open cases it
    /// repeats, records why on both, and tells the oldest related case's staff. Returns the
    /// links, oldest case first.
    pub(crate) async fn link_repeats(
        &self,
        tx: &mut Work,
        state: &CaseState,
        (subject, body): (&str, &str),
        now: Millis,
    ) -> Result<Vec<Found>, store::Error> {
        let mine = Terms::of(subject, &quote::strip_reply(body).text);
        casework::set_terms(tx, state.id, &mine.stored()).await?;
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
            terms: &mine,
        };
        let mut found: Vec<Found> = recent
            .into_iter()
            .filter_map(|r| {
                let theirs = match &r.terms {
                    Ok(stored) => Terms::from_stored(stored),
                    Err(body) => Terms::of(&r.subject, &quote::strip_reply(body).text),
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
                    link,
                })
            })
            .collect();
        found.sort_by(|a, b| b.link.score.total_cmp(&a.link.score));
        found.truncate(MAX_LINKS);
        found.sort_by_key(|f| f.id.0);
        for f in &found {
            let (kind, why) = (f.link.kind.as_str(), f.link.explain());
            casework::link(tx, (state.id, kind), (f.id, kind), Some(&why), now).await?;
            let there = Event::RepeatFound {
                ticket: &f.ticket,
                kind,
                why: &why,
            };
            cases::add_event(tx, state.id, now, super::SYSTEM_ACTOR, &there);
            let back = Event::RepeatFound {
                ticket: &state.ticket,
                kind,
                why: &why,
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
                    quote::strip_reply(body).text
                ),
                ..Default::default()
            };
            let to = self.staff_of(&earlier);
            self.notify(tx, &earlier, &to, &notice, now).await?;
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
        for f in repeats {
            let Some((problem, workaround)) = casework::open_problem_workaround(tx, f.id).await?
            else {
                continue;
            };
            let Some(id) = casework::id_of(tx, &problem).await? else {
                continue;
            };
            casework::link(tx, (state.id, "incident"), (id, "problem"), None, now).await?;
            let matched = Event::KnownError { problem: &problem };
            cases::add_event(tx, state.id, now, super::SYSTEM_ACTOR, &matched);
            let grown = Event::IncidentAdded {
                ticket: &state.ticket,
            };
            cases::add_event(tx, id, now, super::SYSTEM_ACTOR, &grown);
            return Ok(Some((problem, workaround)));
        }
        Ok(None)
    }
}
