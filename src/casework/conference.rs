//! Conference requests (the conference-support SOP): what the request says about the event is
//! read and kept (`crate::parse::event`), the notice is checked against the lead time (business
//! days on the premises, calendar days off site or somewhere unknown), only what is missing is
//! asked, the customer's account manager becomes the case's liaison, and each customer reply
//! adds what it says. The lead-time decision and the acknowledgment's words are pure.

use jiff::civil::Date;

use super::{Pipeline, SYSTEM_ACTOR};
use crate::calendar::Calendar;
use crate::config::ConferenceSettings;
use crate::lifecycle;
use crate::model::Millis;
use crate::parse::event::{self, Detail, Event as Details, Site};
use crate::store::casework::CaseState;
use crate::store::events::Event;
use crate::store::{self, cases, requests, Work};
use crate::templates::contexts::ConferenceContext;

/// How much notice an event needs, and the earliest day that notice allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    /// `10 business days` or `90 days`.
    pub needed: String,
    /// The first day an event could be supported, given a request on `today`.
    pub earliest: Date,
}

/// The lead time for an event at `site`, asked for on `today`: business days on the premises,
/// calendar days anywhere else (an unknown place counts as off site). Pure.
pub fn lead(calendar: &Calendar, today: Date, site: &Site, s: &ConferenceSettings) -> Lead {
    match site {
        Site::OnPremises(_) => Lead {
            needed: format!("{} business days", s.on_premises_business_days),
            earliest: calendar.add_working_days(today, s.on_premises_business_days),
        },
        Site::OffSite(_) | Site::Unknown => Lead {
            needed: format!("{} days", s.off_site_days),
            earliest: today
                .checked_add(jiff::Span::new().days(i64::from(s.off_site_days)))
                .unwrap_or(today),
        },
    }
}

/// What the acknowledgment and the case record say about the event. Pure.
pub fn context(
    d: &Details,
    site: &Site,
    lead: &Lead,
    account_manager: Option<&str>,
) -> ConferenceContext {
    let time = |t: jiff::civil::Time| format!("{:02}:{:02}", t.hour(), t.minute());
    ConferenceContext {
        dates: d.dates.iter().map(|x| Calendar::format_date(*x)).collect(),
        times: d
            .times
            .iter()
            .map(|(from, to)| match to {
                Some(to) => format!("{}–{}", time(*from), time(*to)),
                None => time(*from),
            })
            .collect(),
        place: d.place.clone(),
        site: site_words(site).to_owned(),
        notice_ok: d.dates.first().map(|first| *first >= lead.earliest),
        lead: lead.needed.clone(),
        earliest: Calendar::format_date(lead.earliest),
        missing: d.missing(site).iter().map(|m| m.ask().to_owned()).collect(),
        account_manager: account_manager.map(str::to_owned),
    }
}

/// `on premises`, `off site` or `unknown`, as stored and shown.
fn site_words(site: &Site) -> &'static str {
    match site {
        Site::OnPremises(_) => "on premises",
        Site::OffSite(_) => "off site",
        Site::Unknown => "unknown",
    }
}

impl Pipeline {
    /// A new conference request: reads and keeps the event, assigns the customer's account
    /// manager as liaison (when `[accounts]` names one), and returns what the acknowledgment
    /// says about it.
    pub(crate) async fn conference_opened(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        text: &str,
        now: Millis,
    ) -> Result<ConferenceContext, store::Error> {
        let s = &self.settings.conference;
        let manager = s.account_manager(&state.requester).map(str::to_owned);
        let context = self
            .record_event(tx, state, Details::default(), text, now)
            .await?;
        if let Some(manager) = &manager {
            state.assignee = Some(manager.clone());
            let assigned = Event::Assigned {
                team: state.team.as_deref(),
                technician: Some(manager),
            };
            cases::add_event(tx, state.id, now, SYSTEM_ACTOR, &assigned);
            self.life_event(tx, state, &lifecycle::Event::Assigned, SYSTEM_ACTOR, now);
            self.settle(tx, state, now).await?;
        }
        Ok(ConferenceContext {
            account_manager: manager,
            ..context
        })
    }

    /// A customer's reply on a conference request: what it adds is kept; returns the line for
    /// the liaison's notification (what is still missing, or that nothing is).
    pub(crate) async fn conference_reply(
        &self,
        tx: &mut Work,
        state: &CaseState,
        text: &str,
        now: Millis,
    ) -> Result<String, store::Error> {
        let known = requests::event(tx, state.id)
            .await?
            .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
            .and_then(|v| Details::from_json(&v))
            .unwrap_or_default();
        let c = self.record_event(tx, state, known, text, now).await?;
        Ok(if c.missing.is_empty() {
            "Conference details: nothing is missing any more.".to_owned()
        } else {
            format!(
                "Conference details still missing: {}.",
                c.missing.join("; ")
            )
        })
    }

    /// Reads `text` into what is `known` of the event, keeps it and records the reading.
    async fn record_event(
        &self,
        tx: &mut Work,
        state: &CaseState,
        mut known: Details,
        text: &str,
        now: Millis,
    ) -> Result<ConferenceContext, store::Error> {
        let calendar = &self.settings.calendar;
        let s = &self.settings.conference;
        let created = calendar.date_of(state.created_at);
        known.merge(event::read(text, calendar.date_of(now)));
        // The place as far as the whole record tells: the new text, then what was kept.
        let mut site = event::site(text, &s.premises);
        if site == Site::Unknown {
            if let Some(place) = &known.place {
                site = event::site(place, &s.premises);
            }
        }
        let lead = lead(calendar, created, &site, s);
        let c = context(&known, &site, &lead, None);
        let missing: Vec<&str> = known
            .missing(&site)
            .into_iter()
            .map(Detail::as_str)
            .collect();
        let mut stored = known.to_json();
        if let Some(map) = stored.as_object_mut() {
            map.insert("site".into(), site_words(&site).into());
            map.insert("missing".into(), missing.clone().into());
        }
        requests::set_event(tx, state.id, &stored.to_string()).await?;
        let dates: Vec<String> = known.dates.iter().map(ToString::to_string).collect();
        let read = Event::ConferenceRead {
            dates: &dates,
            place: known.place.as_deref(),
            site: site_words(&site),
            notice_ok: c.notice_ok,
            missing: &missing,
        };
        cases::add_event(tx, state.id, now, SYSTEM_ACTOR, &read);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn settings() -> ConferenceSettings {
        ConferenceSettings {
            category: "conference_support".into(),
            premises: vec!["head office".into()],
            on_premises_business_days: 10,
            off_site_days: 90,
            accounts: [
                (
                    "agency.example.gov".to_owned(),
                    "tam@it.example.org".to_owned(),
                ),
                (
                    "vip@other.example".to_owned(),
                    "boss@it.example.org".to_owned(),
                ),
            ]
            .into(),
        }
    }

    fn calendar() -> Calendar {
        let days: Vec<String> = ["mon", "tue", "wed", "thu", "fri"].map(String::from).into();
        Calendar::new(
            Some("UTC"),
            &days,
            "08:00-17:00",
            &["2026-12-24".into(), "2026-12-25".into()],
        )
        .unwrap()
    }

    #[test]
    fn on_premises_needs_business_days_across_holidays_and_elsewhere_calendar_days() {
        let s = settings();
        let cal = calendar();
        let today = date(2026, 12, 14);
        let on = lead(&cal, today, &Site::OnPremises("head office".into()), &s);
        // 15–18, 21–23 (24, 25 off), 28–30: the tenth working day is 30 December.
        assert_eq!(on.earliest, date(2026, 12, 30));
        assert_eq!(on.needed, "10 business days");
        let off = lead(&cal, today, &Site::OffSite("hotel".into()), &s);
        assert_eq!(off.earliest, date(2027, 3, 14));
        assert_eq!(off.needed, "90 days");
        assert_eq!(lead(&cal, today, &Site::Unknown, &s), off);
    }

    #[test]
    fn the_acknowledgment_says_whether_the_notice_is_enough_and_asks_only_what_is_missing() {
        let s = settings();
        let cal = calendar();
        let today = date(2026, 12, 14);
        let text = "Board retreat at the head office on 22 December, 9am-4pm. We need a projector \
                    and two microphones, and a technician to set up and stay during the sessions.";
        let d = event::read(text, today);
        let site = event::site(text, &s.premises);
        assert_eq!(site, Site::OnPremises("head office".into()));
        let c = context(
            &d,
            &site,
            &lead(&cal, today, &site, &s),
            Some("tam@it.example.org"),
        );
        assert_eq!(c.dates, ["Tuesday 22 December 2026"]);
        assert_eq!(c.times, ["09:00–16:00"]);
        assert_eq!(c.notice_ok, Some(false));
        assert_eq!(c.earliest, "Wednesday 30 December 2026");
        assert!(c.missing.is_empty(), "{:?}", c.missing);
        // Nothing said: everything is asked, the place too, and the notice is not judged.
        let empty = context(
            &Details::default(),
            &Site::Unknown,
            &lead(&cal, today, &Site::Unknown, &s),
            None,
        );
        assert_eq!(empty.notice_ok, None);
        assert_eq!(empty.missing.len(), 6, "{:?}", empty.missing);
        assert_eq!(empty.site, "unknown");
    }

    #[test]
    fn the_account_manager_is_found_by_address_then_domain_and_parent_domains() {
        let s = settings();
        assert_eq!(
            s.account_manager("ann@agency.example.gov"),
            Some("tam@it.example.org")
        );
        assert_eq!(
            s.account_manager("Ann@Parks.Agency.Example.gov"),
            Some("tam@it.example.org")
        );
        assert_eq!(
            s.account_manager("vip@other.example"),
            Some("boss@it.example.org")
        );
        assert_eq!(s.account_manager("someone@other.example"), None);
        assert_eq!(s.account_manager("no-at-sign"), None);
    }
}
