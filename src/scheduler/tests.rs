//! The clocks with an injected `now`, on every test store: the reopen window and auto-close,
//! disputes and thanks, SLA warnings and breaches (paused while pending), the first response,
//! the triage digest at odd hours, the weekly follow-up, and that nothing fires twice or is
//! lost across a restart. No test sleeps.

use std::time::Duration;

use sqlx::Row;

use super::{Scheduler, Tally};
use crate::casework::{testing, Pipeline};
use crate::classify::Rules;
use crate::ingest::Outcome;
use crate::model::Millis;
use crate::store::Store;

const CONFIG: &str = r#"
    [helpdesk]
    address = "support@example.test"
    name = "IT Service Desk"
    technicians = ["tech@it.example.test"]
    {extra}
    [teams.service-desk]
    address = "desk@it.example.test"
    members = ["tech@it.example.test"]
    [teams.triage]
    address = "triage@it.example.test"
    members = ["tech@it.example.test"]
    [calendar]
    timezone = "Europe/Berlin"
    days = ["mon", "tue", "wed", "thu", "fri"]
    hours = "08:00-17:00"
    holidays = ["2026-12-25"]
"#;

/// A chart with a 4-hour 24x7 emergency, a 1-day business target, an uncategorized queue with
/// 2 working hours, and a first response due within 2 hours around the clock.
const RULES: &str = r#"
    first_response = "2h"
    first_response_clock = "24x7"
    [[category]]
    id = "break_fix"
    name = "Break/fix"
    type = "incident"
    team = "service-desk"
    default_priority = 2
    priorities = [
      { level = 1, name = "Emergency", target = "4h" },
      { level = 2, name = "High", target = "1d" },
      { level = 5, name = "Vendor dependent" },
    ]
    [[category]]
    id = "uncategorized"
    name = "Uncategorized"
    type = "request"
    team = "triage"
    default_priority = 4
    priorities = [{ level = 4, name = "Not yet categorized", target = "2h", clock = "business" }]
    [[rule]]
    name = "outage"
    category = "break_fix"
    priority = 1
    subject = 'outage'
    [[rule]]
    name = "broken"
    category = "break_fix"
    subject = 'broken'
"#;

/// One millisecond.
const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Berlin local time on a December 2026 day (CET, UTC+1).
fn at(day: i8, hour: i8, minute: i8) -> Millis {
    Millis(
        jiff::civil::date(2026, 12, day)
            .at(hour, minute, 0, 0)
            .to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
            .unwrap()
            .timestamp()
            .as_millisecond(),
    )
}

/// Monday 7 December 2026, 10:00 in Berlin.
fn monday_ten() -> Millis {
    at(7, 10, 0)
}

fn pipeline(store: &Store, extra: &str) -> Pipeline {
    let config = CONFIG.replace("{extra}", extra) + crate::config::testing::MAIL;
    testing::pipeline(
        store,
        &config,
        Rules::from_toml("test rules", RULES).unwrap(),
    )
}

fn mail(from: &str, subject: &str, body: &str) -> Vec<u8> {
    let id = format!("{}@client.example.test", uuid::Uuid::new_v4().simple());
    format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

const CUSTOMER: &str = "Alice <alice@customer.example.test>";
const TECH: &str = "Terry <tech@it.example.test>";

/// The technician answers case number `n`'s newest mail to their team (their proof) with
/// `body` at `now`.
async fn tech(p: &Pipeline, n: u32, body: &str, now: Millis) -> Outcome {
    let ticket = format!("HD-{n:06}");
    let notice: String = sqlx::query(
        "SELECT o.message_id FROM outbox o JOIN cases c ON c.id = o.case_id
         WHERE c.ticket = $1 AND o.recipient IN ($2, $3) ORDER BY o.id DESC LIMIT 1",
    )
    .bind(&ticket)
    .bind("desk@it.example.test")
    .bind("triage@it.example.test")
    .fetch_one(&p.store.pool)
    .await
    .unwrap()
    .get(0);
    let raw = String::from_utf8(mail(TECH, &format!("Re: [{ticket}] the case"), body))
        .unwrap()
        .replacen(
            "\r\n\r\n",
            &format!("\r\nIn-Reply-To: <{notice}>\r\n\r\n"),
            1,
        );
    p.ingest(raw.as_bytes(), "test", now).await.unwrap()
}

/// The customer replies `body` to case number `n` at `now`.
async fn reply(p: &Pipeline, n: u32, body: &str, now: Millis) -> Outcome {
    send(p, CUSTOMER, &format!("Re: [HD-{n:06}] the case"), body, now).await
}

async fn send(p: &Pipeline, from: &str, subject: &str, body: &str, now: Millis) -> Outcome {
    p.ingest(&mail(from, subject, body), "test", now)
        .await
        .unwrap()
}

/// The case's status and its clock columns as text.
async fn case(s: &Store, ticket: &str) -> Vec<Option<Millis>> {
    let r = sqlx::query(
        r#"SELECT due_at, warn_at, sla_stage, breached_at, close_at, closed_at,
                  first_response_at, first_response_stage, follow_up_at, first_response_breached_at
           FROM cases WHERE ticket = $1"#,
    )
    .bind(ticket)
    .fetch_one(&s.pool)
    .await
    .unwrap();
    (0..r.len())
        .map(|i| r.try_get::<Option<Millis>, _>(i).unwrap())
        .collect()
}

async fn status(s: &Store, ticket: &str) -> String {
    sqlx::query(r#"SELECT status FROM cases WHERE ticket = $1"#)
        .bind(ticket)
        .fetch_one(&s.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// `(recipient, template)` of the outbox rows with this template, oldest first.
async fn mails(s: &Store, template: &str) -> Vec<(String, serde_json::Value)> {
    sqlx::query(r#"SELECT recipient, context FROM outbox WHERE template = $1 ORDER BY id"#)
        .bind(template)
        .fetch_all(&s.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let context: String = r.try_get(1).unwrap();
            (
                r.try_get(0).unwrap(),
                serde_json::from_str(&context).unwrap(),
            )
        })
        .collect()
}

async fn on_each_store<F, Fut>(extra: &'static str, scenario: F)
where
    F: Fn(Pipeline) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    testing::on_each_store(|s| pipeline(s, extra), scenario).await;
}

fn scheduler(p: &Pipeline) -> Scheduler {
    Scheduler {
        pipeline: p.clone(),
    }
}

#[tokio::test]
async fn resolution_notice_window_and_auto_close_once() {
    on_each_store("", |p| async move {
        let t0 = monday_ten();
        send(&p, CUSTOMER, "Printer broken", "It jams.", t0).await;
        let resolved = t0 + HOUR;
        tech(&p, 1, "/resolve Replaced the toner.", resolved).await;
        assert_eq!(status(&p.store, "HD-000001").await, "resolved");
        let notice = mails(&p.store, "resolution_notice").await;
        assert_eq!(notice.len(), 1);
        assert_eq!(notice[0].0, "alice@customer.example.test");
        assert_eq!(notice[0].1["resolution"], "Replaced the toner.");
        // Three days later, in Berlin time: Thursday 11:00.
        assert_eq!(notice[0].1["reopen_deadline"], "Thu 10 Dec 2026 11:00 CET");
        assert_eq!(notice[0].1["reopen_window"], "3 days");
        let s = scheduler(&p);
        let window = 3 * DAY;
        assert_eq!(s.run_due(resolved + window - MS).await.unwrap().closed, 0);
        let next = s.next_due(resolved).await.unwrap().unwrap();
        assert!(next <= resolved + window, "wakes in time for the deadline");
        let done = s.run_due(resolved + window).await.unwrap();
        assert_eq!(done.closed, 1);
        assert_eq!(status(&p.store, "HD-000001").await, "closed");
        assert_eq!(
            case(&p.store, "HD-000001").await[5],
            Some(resolved + window)
        );
        let closed = mails(&p.store, "auto_closed").await;
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].0, "alice@customer.example.test");
        // Again, and from a second scheduler (a restart, or another instance): nothing twice.
        assert_eq!(s.run_due(resolved + window + MS).await.unwrap().closed, 0);
        let restarted = scheduler(&pipeline(&p.store, ""));
        assert_eq!(
            restarted
                .run_due(resolved + 2 * window)
                .await
                .unwrap()
                .closed,
            0
        );
        assert_eq!(mails(&p.store, "auto_closed").await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_dispute_reopens_thanks_do_not_and_a_late_reply_opens_a_linked_case() {
    on_each_store("", |p| async move {
        let t0 = monday_ten();
        send(&p, CUSTOMER, "Printer broken", "It jams.", t0).await;
        tech(&p, 1, "/resolve Replaced the toner.", t0 + HOUR).await;
        // Thanks keep it resolved.
        reply(&p, 1, "Thank you, works now!", t0 + 2 * HOUR).await;
        assert_eq!(status(&p.store, "HD-000001").await, "resolved");
        // A dispute inside the window reopens it, and the team and the customer are told.
        reply(&p, 1, "It still jams on page two.", t0 + 3 * HOUR).await;
        assert_eq!(status(&p.store, "HD-000001").await, "in_progress");
        assert_eq!(case(&p.store, "HD-000001").await[4], None, "no close_at");
        assert_eq!(mails(&p.store, "reopened").await.len(), 1);
        let team: Vec<String> = mails(&p.store, "team_notification")
            .await
            .into_iter()
            .map(|(_, c)| c["headline"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            team.contains(&"Reopened by the customer".to_owned()),
            "{team:?}"
        );
        // Resolved again; nobody writes; the window closes it.
        let resolved = t0 + DAY;
        tech(&p, 1, "/resolve New drum.", resolved).await;
        assert_eq!(mails(&p.store, "resolution_notice").await.len(), 2);
        // A reply after the deadline, before the scheduler ran: the case closes, and the reply
        // opens a new case linked to it, whose acknowledgment says so.
        let late = resolved + 3 * DAY + MS;
        let outcome = reply(&p, 1, "Jams again.", late).await;
        assert!(matches!(outcome, Outcome::Created { .. }), "{outcome:?}");
        assert_eq!(status(&p.store, "HD-000001").await, "closed");
        assert_eq!(mails(&p.store, "auto_closed").await.len(), 1);
        let acks = mails(&p.store, "acknowledgment").await;
        assert_eq!(acks.last().unwrap().1["previous_ticket"], "HD-000001");
        let link: String = sqlx::query(
            r#"SELECT l.kind FROM case_links l JOIN cases c ON c.id = l.case_id
               WHERE c.ticket = 'HD-000002'"#,
        )
        .fetch_one(&p.store.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        assert_eq!(link, "previous");
        assert_eq!(scheduler(&p).run_due(late + MS).await.unwrap().closed, 0);
    })
    .await;
}

#[tokio::test]
async fn refused_transitions_change_nothing_and_name_the_line() {
    on_each_store("", |p| async move {
        let t0 = monday_ten();
        send(&p, CUSTOMER, "Printer broken", "It jams.", t0).await;
        tech(&p, 1, "/priority 1\n/status closed", t0 + HOUR).await;
        assert_eq!(status(&p.store, "HD-000001").await, "open");
        let errors = mails(&p.store, "command_error").await;
        assert_eq!(errors.len(), 1);
        let problem = &errors[0].1["problems"][0];
        assert_eq!(problem["line"], "/status closed");
        assert!(
            problem["error"].as_str().unwrap().contains("/resolve"),
            "{problem}"
        );
        let priority: i64 = sqlx::query(r#"SELECT priority FROM cases WHERE ticket = 'HD-000001'"#)
            .fetch_one(&p.store.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(
            priority, 2,
            "all or nothing: the good line did not apply either"
        );
    })
    .await;
}

#[tokio::test]
async fn sla_warning_then_breach_and_pending_pauses_the_clock() {
    on_each_store("", |p| async move {
        let t0 = monday_ten();
        // Emergency: 4 hours, 24x7; warned at 75%.
        send(&p, CUSTOMER, "Network outage", "Nothing works.", t0).await;
        let c = case(&p.store, "HD-000001").await;
        assert_eq!((c[0], c[1]), (Some(t0 + 4 * HOUR), Some(t0 + 3 * HOUR)));
        // The technician answers at once: the first response is done.
        tech(&p, 1, "Looking into it.", t0 + HOUR / 2).await;
        let s = scheduler(&p);
        assert_eq!(
            s.run_due(t0 + 3 * HOUR - MS).await.unwrap(),
            Tally::default()
        );
        let warned = s.run_due(t0 + 3 * HOUR).await.unwrap();
        assert_eq!((warned.warnings, warned.breaches), (1, 0));
        let warning = mails(&p.store, "sla_warning").await;
        assert_eq!(warning[0].0, "desk@it.example.test");
        assert_eq!(warning[0].1["due"], "Mon 7 Dec 2026 14:00 CET");
        assert_eq!(warning[0].1["target"], "4 hours (24x7)");
        // Pending for two hours stops the clock: the target moves two hours on.
        tech(
            &p,
            1,
            "/status pending vendor switch ordered",
            t0 + 3 * HOUR + HOUR / 2,
        )
        .await;
        let c = case(&p.store, "HD-000001").await;
        assert_eq!((c[0], c[1]), (None, None), "stopped");
        assert_eq!(s.run_due(t0 + 5 * HOUR).await.unwrap().breaches, 0);
        tech(&p, 1, "/status in_progress", t0 + 5 * HOUR + HOUR / 2).await;
        let due = t0 + 6 * HOUR;
        assert_eq!(case(&p.store, "HD-000001").await[0], Some(due));
        assert_eq!(
            s.run_due(due - MS).await.unwrap(),
            Tally::default(),
            "no second warning"
        );
        let breached = s.run_due(due).await.unwrap();
        assert_eq!((breached.warnings, breached.breaches), (0, 1));
        assert_eq!(s.run_due(due + HOUR).await.unwrap().breaches, 0, "once");
        let breach = mails(&p.store, "sla_breach").await;
        assert_eq!(breach.len(), 1);
        assert_eq!(breach[0].1["due"], "Mon 7 Dec 2026 16:00 CET");
        let c = case(&p.store, "HD-000001").await;
        assert_eq!((c[2].map(|stage| stage.0), c[3]), (Some(2), Some(due)));
        // Resolving after the breach keeps it on the record.
        tech(&p, 1, "/resolve Switch replaced.", due + 2 * HOUR).await;
        assert_eq!(case(&p.store, "HD-000001").await[3], Some(due));
    })
    .await;
}

#[tokio::test]
async fn first_response_warns_and_breaches_unless_a_technician_answers() {
    on_each_store("", |p| async move {
        let t0 = monday_ten();
        send(&p, CUSTOMER, "Printer broken", "It jams.", t0).await;
        let s = scheduler(&p);
        // 2 hours, 24x7: warned at 1.5 h, breached at 2 h; the 1-day target is far away.
        assert_eq!(
            s.run_due(t0 + Duration::from_secs(90 * 60))
                .await
                .unwrap()
                .warnings,
            1
        );
        let fr = s.run_due(t0 + 2 * HOUR).await.unwrap();
        assert_eq!((fr.warnings, fr.breaches), (0, 1));
        let breach = mails(&p.store, "sla_breach").await;
        assert!(breach[0].1["headline"]
            .as_str()
            .unwrap()
            .contains("first response"));
        assert_eq!(case(&p.store, "HD-000001").await[9], Some(t0 + 2 * HOUR));
        // A second case answered in time gets nothing.
        send(&p, CUSTOMER, "Scanner broken", "No light.", t0).await;
        tech(&p, 2, "On my way.", t0 + HOUR).await;
        assert_eq!(case(&p.store, "HD-000002").await[6], Some(t0 + HOUR));
        assert_eq!(s.run_due(t0 + 3 * HOUR).await.unwrap(), Tally::default());
        // An internal note is not an answer to the customer.
        send(&p, CUSTOMER, "Mouse broken", "Dead.", t0).await;
        tech(&p, 3, "/note ordered one", t0 + HOUR).await;
        assert_eq!(case(&p.store, "HD-000003").await[6], None);
    })
    .await;
}

#[tokio::test]
async fn business_day_targets_skip_nights_weekends_and_holidays() {
    on_each_store("", |p| async move {
        // Thursday 24 December 16:00: one working day is 9 working hours; the 25th is a
        // holiday and the 26th and 27th a weekend, so it is due Monday 28th at 16:00.
        send(&p, CUSTOMER, "Printer broken", "It jams.", at(24, 16, 0)).await;
        assert_eq!(case(&p.store, "HD-000001").await[0], Some(at(28, 16, 0)));
    })
    .await;
}

#[tokio::test]
async fn triage_digest_at_odd_working_hours_once_per_hour() {
    on_each_store("", |p| async move {
        let s = scheduler(&p);
        // Nothing uncategorized: the 11:00 slot passes without mail.
        assert_eq!(s.run_due(at(7, 9, 0)).await.unwrap().digests, 0);
        send(&p, CUSTOMER, "Question", "Can you help?", at(7, 9, 10)).await;
        assert_eq!(
            s.run_due(at(7, 9, 30)).await.unwrap().digests,
            0,
            "9:00 was claimed empty"
        );
        assert_eq!(
            s.run_due(at(7, 10, 5)).await.unwrap().digests,
            0,
            "even hour"
        );
        let next = s.next_due(at(7, 10, 5)).await.unwrap().unwrap();
        assert!(next <= at(7, 11, 0), "wakes for the 11:00 digest");
        assert_eq!(s.run_due(at(7, 11, 2)).await.unwrap().digests, 1);
        assert_eq!(
            s.run_due(at(7, 11, 59)).await.unwrap().digests,
            0,
            "once per slot"
        );
        let digest = mails(&p.store, "triage_digest").await;
        assert_eq!(digest[0].0, "triage@it.example.test");
        assert_eq!(digest[0].1["slot"], "Mon 7 Dec 2026 11:00 CET");
        assert_eq!(digest[0].1["count"], 1);
        assert_eq!(digest[0].1["cases"][0]["ticket"], "HD-000001");
        // 2 working hours from 9:10: due 11:10, not yet overdue at 11:00.
        assert_eq!(digest[0].1["cases"][0]["due"], "Mon 7 Dec 2026 11:10 CET");
        assert_eq!(digest[0].1["cases"][0]["overdue"], false);
        assert_eq!(s.run_due(at(7, 13, 0)).await.unwrap().digests, 1);
        assert_eq!(
            mails(&p.store, "triage_digest").await[1].1["cases"][0]["overdue"],
            true
        );
        // After hours and at the weekend: none.
        assert_eq!(s.run_due(at(7, 19, 0)).await.unwrap().digests, 0);
        assert_eq!(
            s.run_due(at(12, 11, 0)).await.unwrap().digests,
            0,
            "Saturday"
        );
        // Categorized cases leave the queue.
        tech(&p, 1, "/category break_fix", at(14, 9, 0)).await;
        assert_eq!(s.run_due(at(14, 9, 1)).await.unwrap().digests, 0);
    })
    .await;
}

#[tokio::test]
async fn digest_always_goes_out_at_night_too() {
    on_each_store("[sla]\ndigest = \"always\"", |p| async move {
        send(&p, CUSTOMER, "Question", "Can you help?", at(12, 2, 0)).await;
        let s = scheduler(&p);
        assert_eq!(
            s.run_due(at(12, 3, 0)).await.unwrap().digests,
            1,
            "Saturday 3:00"
        );
        assert_eq!(s.run_due(at(12, 4, 0)).await.unwrap().digests, 0);
    })
    .await;
}

#[tokio::test]
async fn weekly_follow_up_for_pending_cases_without_a_note() {
    on_each_store("", |p| async move {
        let t0 = monday_ten();
        send(&p, CUSTOMER, "Printer broken", "It jams.", t0).await;
        let pending = t0 + HOUR;
        tech(&p, 1, "/status pending vendor part ordered", pending).await;
        let s = scheduler(&p);
        let week = 7 * DAY;
        assert_eq!(s.run_due(pending + week - MS).await.unwrap().reminders, 0);
        assert_eq!(s.run_due(pending + week).await.unwrap().reminders, 1);
        assert_eq!(s.run_due(pending + week + HOUR).await.unwrap().reminders, 0);
        let reminder = mails(&p.store, "follow_up_reminder").await;
        assert_eq!(reminder[0].0, "desk@it.example.test");
        assert!(reminder[0].1["headline"]
            .as_str()
            .unwrap()
            .contains("vendor: part ordered"));
        // A note resets the week.
        let note = pending + week + 2 * HOUR;
        tech(&p, 1, "/note vendor says Friday", note).await;
        assert_eq!(s.run_due(pending + 2 * week).await.unwrap().reminders, 0);
        assert_eq!(s.run_due(note + week).await.unwrap().reminders, 1);
        // A case in progress gets none.
        send(&p, CUSTOMER, "Scanner broken", "No light.", t0).await;
        assert_eq!(case(&p.store, "HD-000002").await[8], Some(t0 + week));
        tech(&p, 2, "On it.", t0 + HOUR).await;
        let later = s.run_due(t0 + 30 * DAY).await.unwrap();
        assert_eq!(later.reminders, 1, "only HD-000001 again: {later:?}");
    })
    .await;
}

#[tokio::test]
async fn the_customer_answering_a_case_pending_on_them_restarts_its_clock() {
    on_each_store("", |p| async move {
        let t0 = monday_ten();
        // 1 working day from Monday 10:00: Tuesday 10:00.
        send(&p, CUSTOMER, "Printer broken", "It jams.", t0).await;
        assert_eq!(case(&p.store, "HD-000001").await[0], Some(at(8, 10, 0)));
        tech(&p, 1, "/status pending customer which printer?", t0 + HOUR).await;
        reply(&p, 1, "The one on floor 3.", t0 + 3 * HOUR).await;
        assert_eq!(status(&p.store, "HD-000001").await, "in_progress");
        // Two working hours waited: due two hours later.
        assert_eq!(case(&p.store, "HD-000001").await[0], Some(at(8, 12, 0)));
        let team: Vec<String> = mails(&p.store, "team_notification")
            .await
            .into_iter()
            .map(|(_, c)| c["headline"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            team.contains(&"Customer reply (no longer pending)".to_owned()),
            "{team:?}"
        );
    })
    .await;
}

/// An active case outside `sla.follow_up_categories` gets no follow-up, so its `follow_up_at`,
/// once passed, must not count as due: the scheduler would wake at once, claim nothing, and
/// run its queries again without pause.
#[tokio::test]
async fn next_due_ignores_follow_ups_the_scheduler_never_claims() {
    on_each_store("[sla]\ndigest = \"off\"", |p| async move {
        let t0 = monday_ten();
        send(&p, CUSTOMER, "Printer broken", "It jams.", t0).await;
        tech(&p, 1, "On it.", t0 + HOUR).await;
        assert_eq!(status(&p.store, "HD-000001").await, "in_progress");
        assert_eq!(
            case(&p.store, "HD-000001").await[8],
            Some(t0 + HOUR + 7 * DAY)
        );
        let s = scheduler(&p);
        let later = t0 + 30 * DAY;
        let done = s.run_due(later).await.unwrap();
        assert_eq!(done.reminders, 0, "{done:?}");
        let next = s.next_due(later).await.unwrap();
        assert!(
            next.is_none_or(|n| n > later),
            "next due {next:?} is not after {later}"
        );
        // A pending case's follow-up is still waited for.
        tech(&p, 1, "/status pending vendor part ordered", later).await;
        assert_eq!(s.next_due(later).await.unwrap(), Some(later + 7 * DAY));
    })
    .await;
}

#[test]
fn the_scheduler_never_sleeps_zero_for_work_its_round_left() {
    let ms = Duration::from_millis;
    let (round, now) = (Millis(1_000_000), Millis(1_000_050));
    assert_eq!(super::sleep_until(None, round, now), super::MAX_SLEEP);
    assert_eq!(
        super::sleep_until(Some(now + ms(2_000)), round, now),
        Duration::from_secs(2)
    );
    assert_eq!(
        super::sleep_until(Some(now + ms(3_600_000)), round, now),
        super::MAX_SLEEP
    );
    // Came due after the round started: at once.
    assert_eq!(
        super::sleep_until(Some(round + ms(10)), round, now),
        Duration::ZERO
    );
    // Due before the round and still there: the round will not take it; no busy loop.
    assert_eq!(
        super::sleep_until(Some(round - ms(1)), round, now),
        super::MAX_SLEEP
    );
}
