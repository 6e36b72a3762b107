//! Tasks, approvals, ratings and remote codes on every test store: what an approver's reply
//! says and how a round is decided (pure), a rule's approval at intake and its reminders, a
//! rating kept without reopening while a dispute still reopens, a late rating kept on the
//! closed case, and `/remote`.

use super::*;

#[test]
fn an_approver_approves_or_rejects_on_the_first_line_and_nothing_else_counts() {
    for yes in [
        "APPROVE",
        "Approved.",
        "approve\n\nthanks",
        "Yes, approved",
        "I approve",
        "  \nApproved!",
    ] {
        assert_eq!(answer(yes), Answer::Approve, "{yes}");
    }
    let reject = |r: &str| Answer::Reject(Some(r.to_owned()));
    assert_eq!(
        answer("REJECT not in this year's budget"),
        reject("not in this year's budget")
    );
    assert_eq!(answer("Rejected: no budget"), reject("no budget"));
    assert_eq!(
        answer("reject - use the shared drive"),
        reject("use the shared drive")
    );
    assert_eq!(
        answer("Denied\nWe have no licences left."),
        reject("We have no licences left.")
    );
    assert_eq!(answer("REJECT"), Answer::Reject(None));
    assert_eq!(answer("Rejected."), Answer::Reject(None));
    for unclear in [
        "",
        "What is this for?",
        "I do not approve",
        "Not approved",
        "Can you tell me more before I approve?",
        "Looks fine to me",
    ] {
        assert_eq!(answer(unclear), Answer::Unclear, "{unclear}");
    }
}

#[test]
fn all_needs_every_approval_and_any_needs_one() {
    use requests::{APPROVAL_PENDING as P, APPROVED as A, REJECTED as R};
    assert_eq!(decide(Needs::All, &[A, P]), Decision::Waiting);
    assert_eq!(decide(Needs::All, &[A, A]), Decision::Approved);
    assert_eq!(decide(Needs::All, &[A, R]), Decision::Rejected);
    assert_eq!(decide(Needs::All, &[P, R]), Decision::Rejected);
    assert_eq!(decide(Needs::Any, &[A, P]), Decision::Approved);
    assert_eq!(decide(Needs::Any, &[R, P]), Decision::Waiting);
    assert_eq!(decide(Needs::Any, &[R, R]), Decision::Rejected);
    assert_eq!(decide(Needs::All, &[]), Decision::Waiting);
    assert_eq!(decide(Needs::Any, &[P]), Decision::Waiting);
}

mod on_stores {
    use sqlx::Row;

    use crate::casework::{testing, Pipeline};
    use crate::classify::Rules;
    use crate::ingest::Outcome;
    use crate::model::{Millis, TicketNo};
    use crate::scheduler::Scheduler;

    const CONFIG: &str = r#"
        [helpdesk]
        address = "support@example.test"
        technicians = ["tech@it.example.test"]
        [teams.service-desk]
        address = "desk@it.example.test"
        members = ["tech@it.example.test"]
        [approvals]
        remind_after = "1h"
        reminders = 2
    "#;
    const NOW: Millis = Millis(1_790_000_000_000);
    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);
    const CUSTOMER: &str = "Alice <alice@customer.example.test>";

    /// Every request is the service desk's; laptops need the manager's approval.
    const RULES: &str = r#"
        first_response = "24h"
        [[category]]
        id = "uncategorized"
        name = "U"
        type = "request"
        team = "service-desk"
        default_priority = 1
        priorities = [{ level = 1, name = "P", target = "3d" }]
        [[rule]]
        name = "laptop"
        category = "uncategorized"
        text = 'laptop'
        approval = ["boss@customer.example.test"]
    "#;

    fn pipeline(store: &crate::store::Store) -> Pipeline {
        let config = format!("{CONFIG}{}", crate::config::testing::MAIL);
        testing::pipeline(
            store,
            &config,
            Rules::from_toml("rules.toml", RULES).unwrap(),
        )
    }

    fn mail(from: &str, subject: &str, in_reply_to: Option<&str>, body: &str) -> Vec<u8> {
        let id = uuid::Uuid::new_v4().simple();
        let reply = in_reply_to
            .map(|r| format!("In-Reply-To: <{r}>\r\n"))
            .unwrap_or_default();
        format!(
            "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\n\
             Message-ID: <{id}@client.example.test>\r\n{reply}\r\n{body}\r\n"
        )
        .into_bytes()
    }

    /// `(template, recipient, message_id, context)` of the outbox, oldest first.
    async fn outbox(p: &Pipeline) -> Vec<(String, String, String, serde_json::Value)> {
        sqlx::query("SELECT template, recipient, message_id, context FROM outbox ORDER BY id")
            .fetch_all(&p.store.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                let context: String = r.try_get(3).unwrap();
                (
                    r.try_get(0).unwrap(),
                    r.try_get(1).unwrap(),
                    r.try_get(2).unwrap(),
                    serde_json::from_str(&context).unwrap(),
                )
            })
            .collect()
    }

    async fn status(p: &Pipeline, ticket: &str) -> (String, Option<String>, Option<i64>) {
        let r = sqlx::query("SELECT status, pending_reason, rating FROM cases WHERE ticket = $1")
            .bind(ticket)
            .fetch_one(&p.store.pool)
            .await
            .unwrap();
        (
            r.try_get(0).unwrap(),
            r.try_get(1).unwrap(),
            r.try_get(2).unwrap(),
        )
    }

    /// The Message-ID of the newest mail with `template` to `recipient`.
    async fn sent(p: &Pipeline, template: &str, recipient: &str) -> String {
        outbox(p)
            .await
            .into_iter()
            .rev()
            .find(|m| m.0 == template && m.1 == recipient)
            .map(|m| m.2)
            .unwrap_or_else(|| panic!("no {template} to {recipient}"))
    }

    #[tokio::test]
    async fn a_rules_approval_holds_the_request_and_the_approver_is_reminded_twice() {
        testing::on_each_store(pipeline, |p| async move {
            let raw = mail(
                CUSTOMER,
                "New laptop",
                None,
                "I need a laptop for the intern.",
            );
            assert!(matches!(
                p.ingest(&raw, "t", NOW).await.unwrap(),
                Outcome::Created { .. }
            ));
            let (st, reason, _) = status(&p, "HD-000001").await;
            assert_eq!(st, "pending");
            assert_eq!(
                reason.as_deref(),
                Some("approval: waiting for boss@customer.example.test")
            );
            let mail = outbox(&p).await;
            let ack = mail.iter().find(|m| m.0 == "acknowledgment").unwrap();
            assert_eq!(ack.3["approval"], "boss@customer.example.test");
            let asked = mail.iter().find(|m| m.0 == "approval_request").unwrap();
            assert_eq!(asked.1, "boss@customer.example.test");
            assert_eq!(asked.3["headline"], "Approval needed");
            let scheduler = Scheduler {
                pipeline: p.clone(),
            };
            assert_eq!(
                scheduler.run_due(NOW + HOUR / 2).await.unwrap().approvals,
                0
            );
            assert_eq!(scheduler.run_due(NOW + HOUR).await.unwrap().approvals, 1);
            assert_eq!(
                scheduler.run_due(NOW + HOUR).await.unwrap().approvals,
                0,
                "once"
            );
            assert_eq!(
                scheduler.run_due(NOW + HOUR * 2).await.unwrap().approvals,
                1
            );
            assert_eq!(
                scheduler.run_due(NOW + HOUR * 9).await.unwrap().approvals,
                0,
                "two at most"
            );
            let reminders: Vec<_> = outbox(&p)
                .await
                .into_iter()
                .filter(|m| m.3["headline"] == "Reminder: approval needed")
                .collect();
            assert_eq!(reminders.len(), 2);
            // The answer to a reminder counts like one to the request: approved, it resumes.
            let reminder = reminders[1].2.clone();
            let yes = mail_from_boss(&reminder, "Approved, go ahead.");
            assert_eq!(
                p.ingest(&yes, "t", NOW + HOUR * 3).await.unwrap(),
                Outcome::Joined {
                    ticket: TicketNo::new("HD", 1)
                }
            );
            assert_eq!(status(&p, "HD-000001").await.0, "in_progress");
            let told = outbox(&p)
                .await
                .into_iter()
                .rev()
                .find(|m| m.0 == "update")
                .unwrap();
            assert_eq!(told.1, "alice@customer.example.test");
            assert!(told.3["text"]
                .as_str()
                .unwrap()
                .contains("approved by boss@customer.example.test"));
            assert_eq!(
                scheduler.run_due(NOW + HOUR * 20).await.unwrap().approvals,
                0
            );
        })
        .await;
    }

    fn mail_from_boss(in_reply_to: &str, body: &str) -> Vec<u8> {
        mail(
            "Bo <boss@customer.example.test>",
            "Re: approval",
            Some(in_reply_to),
            body,
        )
    }

    #[tokio::test]
    async fn a_stranger_or_a_forged_answer_does_not_count() {
        testing::on_each_store(pipeline, |p| async move {
            let raw = mail(CUSTOMER, "New laptop", None, "I need a laptop.");
            p.ingest(&raw, "t", NOW).await.unwrap();
            let request = sent(&p, "approval_request", "boss@customer.example.test").await;
            // Someone else answering the approver's mail opens their own case.
            let forged = mail(
                "Mallory <mallory@evil.example>",
                "Re: approval",
                Some(&request),
                "APPROVE",
            );
            assert!(matches!(
                p.ingest(&forged, "t", NOW).await.unwrap(),
                Outcome::Created { .. }
            ));
            // The approver writing fresh, without answering our mail, proves nothing either.
            let fresh = mail(
                "Bo <boss@customer.example.test>",
                "[HD-000001] ok",
                None,
                "APPROVE",
            );
            p.ingest(&fresh, "t", NOW).await.unwrap();
            assert_eq!(status(&p, "HD-000001").await.0, "pending");
        })
        .await;
    }

    #[tokio::test]
    async fn a_rating_is_kept_without_reopening_a_dispute_still_reopens_and_a_late_one_stays() {
        testing::on_each_store(pipeline, |p| async move {
            let raw = mail(CUSTOMER, "Printer jams", None, "Every page.");
            p.ingest(&raw, "t", NOW).await.unwrap();
            let notice = sent(&p, "team_notification", "desk@it.example.test").await;
            let tech = |body: &str| mail("T <tech@it.example.test>", "Re: x", Some(&notice), body);
            p.ingest(&tech("/remote 493 201"), "t", NOW).await.unwrap();
            let remote = outbox(&p)
                .await
                .into_iter()
                .rev()
                .find(|m| m.0 == "remote_assistance");
            assert_eq!(remote.unwrap().3["remote_code"], "493201");
            p.ingest(&tech("/resolve new fuser"), "t", NOW)
                .await
                .unwrap();
            let resolved = sent(&p, "resolution_notice", "alice@customer.example.test").await;
            let customer = |body: &str| mail(CUSTOMER, "Re: resolved", Some(&resolved), body);
            p.ingest(&customer("5 stars, thank you!"), "t", NOW)
                .await
                .unwrap();
            assert_eq!(
                status(&p, "HD-000001").await,
                ("resolved".into(), None, Some(5))
            );
            p.ingest(&customer("1 - it still jams"), "t", NOW)
                .await
                .unwrap();
            assert_eq!(
                status(&p, "HD-000001").await,
                ("in_progress".into(), None, Some(1))
            );
            // Resolved again and closed by its window: a rating then is kept on the case.
            p.ingest(&tech("/resolve replaced the roller"), "t", NOW)
                .await
                .unwrap();
            let later = NOW + std::time::Duration::from_secs(4 * 86_400);
            Scheduler {
                pipeline: p.clone(),
            }
            .run_due(later)
            .await
            .unwrap();
            assert_eq!(status(&p, "HD-000001").await.0, "closed");
            let resolved = sent(&p, "resolution_notice", "alice@customer.example.test").await;
            let late = mail(CUSTOMER, "Re: resolved", Some(&resolved), "4/5, thanks");
            assert_eq!(
                p.ingest(&late, "t", later).await.unwrap(),
                Outcome::Joined {
                    ticket: TicketNo::new("HD", 1)
                }
            );
            assert_eq!(
                status(&p, "HD-000001").await,
                ("closed".into(), None, Some(4))
            );
            // More than a rating after closing is a new case, as before.
            let more = mail(
                CUSTOMER,
                "Re: resolved",
                Some(&resolved),
                "4, but now it squeaks",
            );
            assert!(matches!(
                p.ingest(&more, "t", later).await.unwrap(),
                Outcome::Created { .. }
            ));
        })
        .await;
    }

    #[tokio::test]
    async fn a_conference_request_asks_what_is_missing_and_a_reply_fills_it_in() {
        let conference = |store: &crate::store::Store| {
            let config = format!(
                "{CONFIG}[conference]\ncategory = \"uncategorized\"\npremises = [\"board room\"]\n\
                 [accounts]\n\"customer.example.test\" = \"tech@it.example.test\"\n{}",
                crate::config::testing::MAIL
            );
            testing::pipeline(
                store,
                &config,
                Rules::from_toml("rules.toml", RULES).unwrap(),
            )
        };
        testing::on_each_store(conference, |p| async move {
            let raw = mail(
                CUSTOMER,
                "Training day",
                None,
                "Our training day is at the Grand Hotel on 15 March 2027, 9am-5pm. We need a projector.",
            );
            p.ingest(&raw, "t", NOW).await.unwrap();
            let mail = outbox(&p).await;
            let ack = mail.iter().find(|m| m.0 == "acknowledgment").unwrap();
            let c = &ack.3["conference"];
            assert_eq!(c["site"], "off site");
            assert_eq!(c["notice_ok"], true, "{c:#}");
            assert_eq!(c["lead"], "90 days");
            assert_eq!(c["account_manager"], "tech@it.example.test");
            let missing: Vec<&str> = c["missing"].as_array().unwrap().iter().filter_map(|m| m.as_str()).collect();
            assert_eq!(missing.len(), 3, "travel, its times and the tasks: {missing:?}");
            assert!(missing.iter().all(|m| !m.contains("equipment")), "{missing:?}");
            let assignee: Option<String> = sqlx::query("SELECT assignee FROM cases WHERE ticket = 'HD-000001'")
                .fetch_one(&p.store.pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(assignee.as_deref(), Some("tech@it.example.test"), "the liaison");
            // The customer answers what was asked; the liaison hears that nothing is missing.
            let ack_id = ack.2.clone();
            let more = crate::casework::requests::tests::on_stores::mail(
                CUSTOMER,
                "Re: Training day",
                Some(&ack_id),
                "The technician should set up the projector and stay for the day. We will book \
                 the train for the technician; travel on 14 March at 7am.",
            );
            p.ingest(&more, "t", NOW).await.unwrap();
            let told = outbox(&p).await.into_iter().rev().find(|m| m.0 == "team_notification").unwrap();
            assert_eq!(told.1, "tech@it.example.test");
            let text = told.3["text"].as_str().unwrap();
            assert!(text.contains("nothing is missing any more"), "{text}");
            let event: String = sqlx::query("SELECT event FROM cases WHERE ticket = 'HD-000001'")
                .fetch_one(&p.store.pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            let event: serde_json::Value = serde_json::from_str(&event).unwrap();
            assert_eq!(event["dates"][0], "2027-03-15");
            assert_eq!(event["missing"], serde_json::json!([]));
        })
        .await;
    }
}
