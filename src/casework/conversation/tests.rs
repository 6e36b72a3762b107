//! The conversation on every test store: team notifications, technician replies with their
//! commands, notes, refusals, customer replies forwarded, plus-address threading, and verified
//! technicians.

use sqlx::Row;

use crate::casework::{testing, Pipeline};
use crate::classify::Rules;
use crate::ingest::Outcome;
use crate::model::{Millis, TicketNo};
use crate::store::Store;
use crate::templates::render::Templates;

const CONFIG: &str = r#"
    [helpdesk]
    address = "support@example.test"
    name = "IT Service Desk"
    technicians = ["tech@it.example.test"]
    {extra}
    [teams.service-desk]
    address = "desk@it.example.test"
    members = ["tech@it.example.test"]
    [teams.network]
    members = ["net1@it.example.test", "net2@it.example.test"]
"#;

const NOW: Millis = Millis(1_790_000_000_000);
const CUSTOMER: &str = "Alice <alice@customer.example.test>";
const TECH: &str = "Terry Tech <tech@it.example.test>";

fn pipeline(store: &Store, extra: &str) -> Pipeline {
    let config = CONFIG.replace("{extra}", extra) + crate::config::testing::MAIL;
    testing::pipeline(store, &config, Rules::load(None).unwrap())
}

/// A message from `from` with `headers` (each ending in CRLF) and a fresh Message-ID.
fn mail(from: &str, subject: &str, headers: &str, body: &str) -> (Vec<u8>, String) {
    let id = format!("{}@client.example.test", uuid::Uuid::new_v4().simple());
    let raw = format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{headers}\r\n{body}\r\n"
    );
    (raw.into_bytes(), id)
}

/// The header that makes a technician's mail an answer to our notification `id`: their proof.
fn answering(id: &str) -> String {
    format!("In-Reply-To: <{id}>\r\n")
}

async fn ingest(p: &Pipeline, raw: &[u8]) -> Outcome {
    p.ingest(raw, "test", NOW).await.unwrap()
}

async fn rows(s: &Store, sql: &str, bind: &str) -> Vec<Vec<Option<String>>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(bind.to_owned())
        .fetch_all(&s.pool)
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<Option<String>, _>(i).unwrap())
                .collect()
        })
        .collect()
}

/// `(kind, recipient, template)` of the outbox rows, oldest first.
async fn outbox(s: &Store) -> Vec<(String, String, String)> {
    rows(
        s,
        "SELECT kind, recipient, template FROM outbox WHERE $1 = $1 ORDER BY id",
        "",
    )
    .await
    .into_iter()
    .map(triple)
    .collect()
}

/// The first three columns of a row, each present.
fn triple(r: Vec<Option<String>>) -> (String, String, String) {
    let mut r = r.into_iter().map(Option::unwrap);
    let mut next = || r.next().unwrap();
    (next(), next(), next())
}

async fn events(s: &Store) -> Vec<String> {
    rows(s, "SELECT kind FROM events WHERE $1 = $1 ORDER BY id", "")
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect()
}

async fn case(s: &Store, ticket: &str) -> Vec<Option<String>> {
    rows(
        s,
        "SELECT status, team, assignee, pending_reason, resolution, category, case_type, subject,
                CAST(priority AS TEXT)
         FROM cases WHERE ticket = $1",
        ticket,
    )
    .await
    .remove(0)
}

async fn on_each_store<F, Fut>(extra: &'static str, scenario: F)
where
    F: Fn(Pipeline) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    testing::on_each_store(|s| pipeline(s, extra), scenario).await;
}

/// A printer case for the service desk, its acknowledgment's and notification's Message-IDs.
async fn printer_case(p: &Pipeline) -> (String, String) {
    let (raw, _) = mail(
        CUSTOMER,
        "Printer not working",
        "",
        "It jams on every page.",
    );
    assert!(matches!(ingest(p, &raw).await, Outcome::Created { .. }));
    let ids = rows(
        &p.store,
        "SELECT message_id FROM outbox WHERE $1 = $1 ORDER BY id",
        "",
    )
    .await;
    (ids[0][0].clone().unwrap(), ids[1][0].clone().unwrap())
}

#[tokio::test]
async fn a_new_case_notifies_its_team_with_reply_to_the_desk() {
    on_each_store("", |p| async move {
        printer_case(&p).await;
        let r = rows(
            &p.store,
            "SELECT from_name, reply_to, context FROM outbox WHERE kind = $1",
            "notification",
        )
        .await;
        assert_eq!(r.len(), 1);
        assert_eq!(r[0][0].as_deref(), Some("Alice via IT Service Desk"));
        assert_eq!(r[0][1].as_deref(), Some("support@example.test"));
        let ctx: serde_json::Value = serde_json::from_str(r[0][2].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["text"], "It jams on every page.");
        assert_eq!(ctx["headline"], "New case");
        assert_eq!(
            outbox(&p.store).await[1],
            (
                "notification".into(),
                "desk@it.example.test".into(),
                "team_notification".into()
            )
        );
    })
    .await;
}

#[tokio::test]
async fn a_technician_reply_runs_its_commands_and_relays_the_rest_in_the_customer_thread() {
    on_each_store("", |p| async move {
        let (ack_id, note_id) = printer_case(&p).await;
        let body = "/priority 2\n/assign network\n\nThe toner was empty; I replaced it.\n\n\
                    On Tue, Dec 1, 2026 at 10:02 AM Alice <alice@customer.example.test> wrote:\n> It jams";
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] New case: Printer not working",
            &format!("In-Reply-To: <{note_id}>\r\n"),
            body,
        );
        assert_eq!(
            ingest(&p, &raw).await,
            Outcome::Joined { ticket: TicketNo::new("HD", 1) }
        );
        let c = case(&p.store, "HD-000001").await;
        assert_eq!(c[0].as_deref(), Some("assigned"));
        assert_eq!(c[1].as_deref(), Some("network"));
        assert_eq!(c[8].as_deref(), Some("2"));
        let mail = outbox(&p.store).await;
        // Assignment: one notification per member of a team without an address.
        assert!(mail.contains(&("notification".into(), "net1@it.example.test".into(), "team_notification".into())));
        assert!(mail.contains(&("notification".into(), "net2@it.example.test".into(), "team_notification".into())));
        let relay = rows(
            &p.store,
            "SELECT recipient, in_reply_to, context FROM outbox WHERE kind = $1",
            "relay",
        )
        .await;
        assert_eq!(relay.len(), 1);
        assert_eq!(relay[0][0].as_deref(), Some("alice@customer.example.test"));
        // Threaded under the last mail the customer got: the acknowledgment.
        assert_eq!(relay[0][1].as_deref(), Some(ack_id.as_str()));
        let ctx: serde_json::Value = serde_json::from_str(relay[0][2].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["text"], "The toner was empty; I replaced it.");
        assert_eq!(ctx["technician"], serde_json::Value::Null, "hidden by default");
        // Issue 15 item 8: the update says when, as a day and time, and nothing is paused.
        let due = ctx["resolution_due"].as_str().unwrap();
        assert!(due.contains("day ") && due.contains(':'), "{due}");
        assert_eq!(ctx["paused"], serde_json::Value::Null);
        let stored = rows(
            &p.store,
            "SELECT author_role, visibility, body FROM messages WHERE sender = $1",
            "tech@it.example.test",
        )
        .await;
        assert_eq!(stored[0][0].as_deref(), Some("technician"));
        assert_eq!(stored[0][1].as_deref(), Some("public"));
        assert!(!stored[0][2].as_deref().unwrap().contains("> It jams"), "quote stripped");
        let ev = events(&p.store).await;
        for kind in ["priority_changed", "assigned", "status_changed", "reply_relayed"] {
            assert!(ev.iter().any(|e| e == kind), "{kind} in {ev:?}");
        }
    })
    .await;
}

/// Issue 15 item 8: a case that waits tells the customer its clock is paused, not a due time.
#[tokio::test]
async fn an_update_on_a_waiting_case_says_the_clock_is_paused() {
    on_each_store("", |p| async move {
        let (_, note_id) = printer_case(&p).await;
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] Printer not working",
            &answering(&note_id),
            "/status pending vendor part ordered\n\nWe ordered the fuser; it comes Monday.",
        );
        ingest(&p, &raw).await;
        let relay = rows(
            &p.store,
            "SELECT context FROM outbox WHERE kind = $1",
            "relay",
        )
        .await;
        let ctx: serde_json::Value = serde_json::from_str(relay[0][0].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["paused"], "vendor: part ordered");
        assert_eq!(ctx["resolution_due"], serde_json::Value::Null);
        let t = crate::templates::render::Templates::load(None).unwrap();
        let text = t.render("update", &ctx).unwrap().text;
        assert!(
            text.contains("paused while we wait (vendor: part ordered)"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_note_stays_internal_and_nothing_reaches_the_customer() {
    on_each_store("", |p| async move {
        let (_, note_id) = printer_case(&p).await;
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] Printer not working",
            &answering(&note_id),
            "/status pending vendor toner ordered\n/note\nVendor says Monday. Do not tell the customer yet.",
        );
        ingest(&p, &raw).await;
        assert!(!outbox(&p.store).await.iter().any(|m| m.0 == "relay"));
        let c = case(&p.store, "HD-000001").await;
        assert_eq!(c[0].as_deref(), Some("pending"));
        assert_eq!(c[3].as_deref(), Some("vendor: toner ordered"));
        let stored = rows(
            &p.store,
            "SELECT visibility FROM messages WHERE sender = $1",
            "tech@it.example.test",
        )
        .await;
        assert_eq!(stored[0][0].as_deref(), Some("internal"));
        assert!(events(&p.store).await.contains(&"note_added".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn an_unknown_command_changes_nothing_and_the_technician_is_told() {
    on_each_store("", |p| async move {
        let (_, note_id) = printer_case(&p).await;
        let before = case(&p.store, "HD-000001").await;
        let (raw, tech_id) = mail(
            TECH,
            "Re: [HD-000001] Printer not working",
            &answering(&note_id),
            "/priority 1\n/escalate now\n\nWe are on it.",
        );
        ingest(&p, &raw).await;
        assert_eq!(case(&p.store, "HD-000001").await, before);
        let mail = outbox(&p.store).await;
        assert!(!mail.iter().any(|m| m.0 == "relay"), "{mail:?}");
        let err = rows(
            &p.store,
            "SELECT recipient, in_reply_to, context FROM outbox WHERE kind = $1",
            "command_error",
        )
        .await;
        assert_eq!(err[0][0].as_deref(), Some("tech@it.example.test"));
        assert_eq!(err[0][1].as_deref(), Some(tech_id.as_str()));
        let ctx: serde_json::Value = serde_json::from_str(err[0][2].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["problems"][0]["line"], "/escalate now");
        assert_eq!(ctx["problems"][0]["error"], "unknown command /escalate");
        assert!(ctx["valid_commands"].as_str().unwrap().contains("/resolve"));
        assert!(events(&p.store)
            .await
            .contains(&"commands_refused".to_owned()));
        // Rendered, the reply names the line and lists the commands.
        let t = Templates::load(None).unwrap();
        let r = t.render("command_error", &ctx).unwrap();
        assert!(
            r.text.contains("/escalate now") && r.text.contains("/template <name>"),
            "{}",
            r.text
        );
    })
    .await;
}

#[tokio::test]
async fn a_customer_reply_is_forwarded_to_the_team_without_its_quote() {
    on_each_store("", |p| async move {
        let (ack_id, _) = printer_case(&p).await;
        let (raw, _) = mail(
            CUSTOMER,
            "Re: [HD-000001] Received: Printer not working",
            &format!("In-Reply-To: <{ack_id}>\r\nReferences: <{ack_id}>\r\n"),
            "It is the HP on floor 3.\n\nOn Tue, Dec 1, 2026 at 10:02 AM IT Service Desk <support@example.test> wrote:\n> Thank you",
        );
        ingest(&p, &raw).await;
        let fwd = rows(
            &p.store,
            "SELECT recipient, context, in_reply_to FROM outbox WHERE kind = $1 ORDER BY id",
            "notification",
        )
        .await;
        assert_eq!(fwd.len(), 2, "new case, then the reply");
        assert_eq!(fwd[1][0].as_deref(), Some("desk@it.example.test"));
        let ctx: serde_json::Value = serde_json::from_str(fwd[1][1].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["headline"], "Customer reply");
        assert_eq!(ctx["text"], "It is the HP on floor 3.");
        // The team's thread: the reply answers the first notification.
        let first: String = rows(&p.store, "SELECT message_id FROM outbox WHERE kind = $1 ORDER BY id", "notification").await[0][0].clone().unwrap();
        assert_eq!(fwd[1][2].as_deref(), Some(first.as_str()));
        // An out-of-office reply is kept but not forwarded.
        let (ooo, _) = mail(CUSTOMER, "Re: [HD-000001] Out of office", "Auto-Submitted: auto-replied\r\n", "Away.");
        ingest(&p, &ooo).await;
        assert_eq!(outbox(&p.store).await.iter().filter(|m| m.0 == "notification").count(), 2);
        // So is a vacation notice from an address on no case that answers our notification:
        // it joins as a record instead of opening a case that would notify the team again.
        let first_notice: String = rows(&p.store, "SELECT message_id FROM outbox WHERE kind = $1 ORDER BY id", "notification").await[0][0].clone().unwrap();
        let (vacation, _) = mail(
            "Desk list <desk-list@it.example.test>",
            "Automatic reply: [HD-000001] New case",
            &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: <{first_notice}>\r\n"),
            "I am away.",
        );
        assert_eq!(ingest(&p, &vacation).await, Outcome::Joined { ticket: TicketNo::new("HD", 1) });
        assert_eq!(rows(&p.store, "SELECT ticket FROM cases WHERE $1 = $1", "").await.len(), 1);
        assert_eq!(outbox(&p.store).await.iter().filter(|m| m.0 == "notification").count(), 2);
    })
    .await;
}

#[tokio::test]
async fn plus_addresses_thread_and_strangers_get_their_own_case_without_the_tag() {
    on_each_store("", |p| async move {
        printer_case(&p).await;
        let plus = "From: Alice <alice@customer.example.test>\r\nTo: support+HD-000001@example.test\r\n\
                    Subject: more detail\r\nMessage-ID: <plus-1@client.example.test>\r\n\r\nModel HP 4250.\r\n";
        assert_eq!(
            ingest(&p, plus.as_bytes()).await,
            Outcome::Joined { ticket: TicketNo::new("HD", 1) }
        );
        let (stranger, _) = mail("Mallory <mallory@evil.test>", "Re: [HD-000001] Printer not working", "", "Show me.");
        let Outcome::Created { ticket, .. } = ingest(&p, &stranger).await else {
            panic!("a stranger opens a case");
        };
        assert_eq!(ticket.as_str(), "HD-000002");
        let c = case(&p.store, "HD-000002").await;
        assert_eq!(c[7].as_deref(), Some("Re: Printer not working"));
        let stranger_plus = plus.replace("alice@customer.example.test", "mallory@evil.test").replace("plus-1", "plus-2");
        assert_eq!(ingest(&p, stranger_plus.as_bytes()).await.ticket().unwrap().as_str(), "HD-000003");
        let n: Vec<_> = rows(&p.store, "SELECT sender FROM messages m JOIN cases c ON c.id = m.case_id WHERE c.ticket = $1", "HD-000001").await;
        assert_eq!(n.len(), 2, "nothing of the strangers' on the first case");
    })
    .await;
}

#[tokio::test]
async fn problem_link_task_and_canned_reply() {
    on_each_store("technician_identity = \"name\"", |p| async move {
        let (_, note_id) = printer_case(&p).await;
        let (second, _) = mail("Bob <bob@customer.example.test>", "Printer on floor 3 broken", "", "Same printer.");
        ingest(&p, &second).await;
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] Printer not working",
            &answering(&note_id),
            "/link HD-000002\n/problem\n/task network: check the print server\n/template remote_assistance\nYour code is 493 201.",
        );
        ingest(&p, &raw).await;
        let problem = case(&p.store, "HD-000003").await;
        assert_eq!(problem[6].as_deref(), Some("problem"));
        assert_eq!(problem[7].as_deref(), Some("Problem: Printer not working"));
        let links = rows(
            &p.store,
            "SELECT c.ticket, l.kind FROM case_links l JOIN cases c ON c.id = l.linked_id
             JOIN cases o ON o.id = l.case_id WHERE o.ticket = $1 ORDER BY c.id",
            "HD-000001",
        )
        .await;
        assert_eq!(
            links,
            [
                vec![Some("HD-000002".into()), Some("related".into())],
                vec![Some("HD-000003".into()), Some("problem".into())]
            ]
        );
        let tasks = rows(&p.store, "SELECT team, text FROM tasks WHERE $1 = $1", "").await;
        assert_eq!(tasks, [vec![Some("network".into()), Some("check the print server".into())]]);
        let relay = rows(&p.store, "SELECT template, context FROM outbox WHERE kind = $1", "relay").await;
        assert_eq!(relay[0][0].as_deref(), Some("remote_assistance"));
        let ctx: serde_json::Value = serde_json::from_str(relay[0][1].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["text"], "Your code is 493 201.");
        assert_eq!(ctx["technician"], "Terry Tech");
        // The link unknown case refuses everything.
        let (bad, _) = mail(TECH, "Re: [HD-000001] x", &answering(&note_id), "/link HD-000099\n/priority 1");
        ingest(&p, &bad).await;
        assert_eq!(case(&p.store, "HD-000001").await[8].as_deref(), Some("4"));
        let err = rows(&p.store, "SELECT context FROM outbox WHERE kind = $1", "command_error").await;
        let ctx: serde_json::Value = serde_json::from_str(err[0][0].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["problems"][0]["line"], "/link HD-000099");
        assert_eq!(ctx["problems"][0]["error"], "there is no case HD-000099");
    })
    .await;
}

#[tokio::test]
async fn only_technicians_run_commands_and_an_empty_reply_relays_nothing() {
    on_each_store("", |p| async move {
        let (_, note_id) = printer_case(&p).await;
        let (raw, _) = mail(CUSTOMER, "Re: [HD-000001] x", "", "/priority 1\n/resolve");
        ingest(&p, &raw).await;
        let c = case(&p.store, "HD-000001").await;
        assert_eq!((c[0].as_deref(), c[8].as_deref()), (Some("open"), Some("4")));
        assert!(!events(&p.store).await.contains(&"commands_refused".to_owned()));
        // A technician who sends the quote back with nothing above it.
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] x",
            &answering(&note_id),
            "On Tue, Dec 1, 2026 at 10:02 AM Alice <alice@customer.example.test> wrote:\n> It jams on every page.",
        );
        ingest(&p, &raw).await;
        assert!(!outbox(&p.store).await.iter().any(|m| m.0 == "relay" || m.0 == "command_error"));
        let stored = rows(&p.store, "SELECT visibility, body FROM messages WHERE sender = $1", "tech@it.example.test").await;
        assert_eq!(stored[0][0].as_deref(), Some("internal"));
        assert!(stored[0][1].as_deref().unwrap().contains("It jams"), "the record keeps it all");
    })
    .await;
}

#[tokio::test]
async fn resolve_and_reopen_through_the_event_log() {
    on_each_store("", |p| async move {
        let (_, note_id) = printer_case(&p).await;
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] x",
            &answering(&note_id),
            "/resolve Replaced the fuser.",
        );
        ingest(&p, &raw).await;
        let c = case(&p.store, "HD-000001").await;
        assert_eq!(
            (c[0].as_deref(), c[4].as_deref()),
            (Some("resolved"), Some("Replaced the fuser."))
        );
        let relay = rows(
            &p.store,
            "SELECT context FROM outbox WHERE kind = $1",
            "relay",
        )
        .await;
        let ctx: serde_json::Value = serde_json::from_str(relay[0][0].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["resolution"], "Replaced the fuser.");
        sqlx::query("UPDATE cases SET status = 'closed'")
            .execute(&p.store.pool)
            .await
            .unwrap();
        let (raw, _) = mail(TECH, "Re: [HD-000001] x", &answering(&note_id), "/reopen");
        assert_eq!(
            ingest(&p, &raw).await.ticket().unwrap().as_str(),
            "HD-000001",
            "technicians reach closed cases"
        );
        let c = case(&p.store, "HD-000001").await;
        assert_eq!(
            (c[0].as_deref(), c[4].as_deref()),
            (Some("in_progress"), None)
        );
        assert!(events(&p.store).await.contains(&"reopened".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn commands_count_only_from_verified_technicians_when_required() {
    on_each_store(
        "require_authenticated_technicians = true\n    authserv_id = \"mx.example.test\"",
        |p| async move {
            let (_, note_id) = printer_case(&p).await;
            // No Authentication-Results, or a pass from someone else's server, or for another
            // domain: not even an answer to our notification is enough here.
            for headers in [
                answering(&note_id),
                "Authentication-Results: evil.test; dkim=pass header.d=it.example.test\r\n".into(),
                "Authentication-Results: mx.example.test; dkim=pass header.d=other.test\r\n".into(),
            ] {
                let (raw, _) = mail(TECH, "Re: [HD-000001] x", &headers, "/priority 1");
                assert!(matches!(ingest(&p, &raw).await, Outcome::Joined { .. }), "{headers}");
                assert_eq!(case(&p.store, "HD-000001").await[8].as_deref(), Some("4"), "{headers}");
            }
            let (raw, _) = mail(
                TECH,
                "Re: [HD-000001] x",
                "Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=tech@it.example.test\r\n",
                "/priority 1",
            );
            assert!(matches!(ingest(&p, &raw).await, Outcome::Joined { .. }));
            assert_eq!(case(&p.store, "HD-000001").await[8].as_deref(), Some("1"));
        },
    )
    .await;
}

/// Issue 12: a mail `From:` a technician with the case tag and nothing else once resolved the
/// case and relayed its text to the customer. Now it changes nothing, relays nothing, and the
/// technician's own address (never Reply-To) is told how to act, within the hourly cap.
#[tokio::test]
async fn a_forged_technician_changes_nothing_and_the_real_one_is_told() {
    on_each_store("", |p| async move {
        let (ack_id, note_id) = printer_case(&p).await;
        let before = case(&p.store, "HD-000001").await;
        let phish = "/resolve\nConfirm your password at https://evil.test/login";
        for headers in [
            "Reply-To: mallory@evil.test\r\n".to_owned(),
            // The customer's acknowledgment proves nothing: it went to the customer.
            answering(&ack_id),
        ] {
            let (raw, _) = mail(TECH, "Re: [HD-000001] Printer", &headers, phish);
            assert!(matches!(ingest(&p, &raw).await, Outcome::Joined { .. }));
        }
        assert_eq!(case(&p.store, "HD-000001").await, before);
        let sent = outbox(&p.store).await;
        assert!(!sent.iter().any(|m| m.0 == "relay"), "{sent:?}");
        let told: Vec<_> = sent
            .iter()
            .filter(|m| m.2 == "unverified_technician")
            .collect();
        assert_eq!(told.len(), 2, "{sent:?}");
        assert!(
            told.iter().all(|m| m.1 == "tech@it.example.test"),
            "{sent:?}"
        );
        let stored = rows(
            &p.store,
            "SELECT visibility FROM messages WHERE sender = $1",
            "tech@it.example.test",
        )
        .await;
        assert!(stored.iter().all(|r| r[0].as_deref() == Some("internal")));
        // No participant was added by the forgery.
        let parts = rows(
            &p.store,
            "SELECT address FROM participants WHERE address = $1",
            "tech@it.example.test",
        )
        .await;
        assert!(parts.is_empty(), "{parts:?}");
        // The real technician answers the notification: it works.
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] Printer",
            &answering(&note_id),
            "/priority 2",
        );
        ingest(&p, &raw).await;
        assert_eq!(case(&p.store, "HD-000001").await[8].as_deref(), Some("2"));
        // Having answered once does not make the technician a participant whose From is enough.
        let notices = outbox(&p.store).await.len();
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] Printer",
            "",
            "/priority 1\nreopen it",
        );
        ingest(&p, &raw).await;
        assert_eq!(case(&p.store, "HD-000001").await[8].as_deref(), Some("2"));
        let after = outbox(&p.store).await;
        assert!(
            after[notices..]
                .iter()
                .all(|m| m.2 == "unverified_technician"),
            "{after:?}"
        );
        // A technician's own request, with no case named, is an ordinary new case.
        let (raw, _) = mail(TECH, "My laptop is slow", "", "Since Monday.");
        assert!(matches!(ingest(&p, &raw).await, Outcome::Created { .. }));
    })
    .await;
}

/// Issue 12: internal text never reaches a customer, wherever in the reply it stands.
#[tokio::test]
async fn a_late_note_stays_internal_and_a_late_command_refuses_the_reply() {
    on_each_store("", |p| async move {
        let (_, note_id) = printer_case(&p).await;
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] Printer",
            &answering(&note_id),
            "The toner is on its way.\n\n/note the vendor is late again\nsecret stuff",
        );
        ingest(&p, &raw).await;
        let relay = rows(
            &p.store,
            "SELECT context FROM outbox WHERE kind = $1",
            "relay",
        )
        .await;
        assert_eq!(relay.len(), 1);
        let ctx: serde_json::Value = serde_json::from_str(relay[0][0].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["text"], "The toner is on its way.");
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] Printer",
            &answering(&note_id),
            "Done, see below.\n/status closed\nBye",
        );
        ingest(&p, &raw).await;
        let relays = rows(
            &p.store,
            "SELECT context FROM outbox WHERE kind = $1",
            "relay",
        )
        .await;
        assert_eq!(relays.len(), 1, "the second reply is refused whole");
        let err = rows(
            &p.store,
            "SELECT context FROM outbox WHERE kind = $1",
            "command_error",
        )
        .await;
        let ctx: serde_json::Value = serde_json::from_str(err[0][0].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["problems"][0]["line"], "/status closed");
    })
    .await;
}

/// Issue 12: one sender's flood does not become a flood of team notifications.
#[tokio::test]
async fn team_notifications_are_capped_per_sender() {
    on_each_store("notification_limit = 2", |p| async move {
        let (ack_id, _) = printer_case(&p).await;
        for i in 0..3 {
            let (raw, _) = mail(
                "Alice <Alice+x@customer.example.test>",
                "Re: [HD-000001] Printer not working",
                &answering(&ack_id),
                &format!("More detail {i}."),
            );
            ingest(&p, &raw).await;
        }
        let sent = outbox(&p.store).await;
        let notes = sent.iter().filter(|m| m.0 == "notification").count();
        assert_eq!(notes, 2, "{sent:?}");
        let skipped = rows(
            &p.store,
            "SELECT detail FROM events WHERE kind = $1 ORDER BY id",
            "notification_skipped",
        )
        .await;
        assert_eq!(skipped.len(), 2);
        assert!(
            skipped[0][0].as_deref().unwrap().contains(
                "notifications caused by mail from alice@customer.example.test in the last hour (helpdesk.notification_limit = 2)"
            ),
            "{skipped:?}"
        );
        // Every reply is on the case all the same.
        let kept = rows(&p.store, "SELECT body FROM messages WHERE $1 = $1", "").await;
        assert_eq!(kept.len(), 4);
    })
    .await;
}

/// The customer-reply plan, without a database: a dispute reopens and tells the customer, an
/// answer ends a pending wait, thanks keep a resolved case resolved.
#[test]
fn a_customer_reply_plan_follows_the_status_step() {
    use super::{customer_plan, CustomerPlan};
    use crate::lifecycle::Effect;
    use crate::model::Status;
    let reopened = [Effect::Reopened { by_customer: true }];
    let plan = customer_plan(Status::Resolved, Status::InProgress, &reopened, false);
    assert_eq!(plan.headline, "Reopened by the customer");
    assert!(plan.tell_reopened && !plan.thanks);
    let plan = customer_plan(Status::Pending, Status::InProgress, &[], false);
    assert_eq!(plan.headline, "Customer reply (no longer pending)");
    assert!(!plan.tell_reopened && !plan.thanks);
    let plan = customer_plan(Status::Resolved, Status::Resolved, &[], true);
    assert_eq!(plan.headline, "Customer thanks (the case stays resolved)");
    assert!(plan.thanks && !plan.tell_reopened);
    // Thanks on a pending case are an answer like any other; nothing else is special.
    let plan = customer_plan(Status::Pending, Status::Pending, &[], true);
    assert_eq!(plan, CustomerPlan::default());
    assert_eq!(plan.headline, "Customer reply");
}

/// A technician's status commands are tried on a copy: their effects in order, or the first
/// refused line with the case named, and nothing else.
#[test]
fn a_dry_run_of_status_commands_gives_their_effects_or_the_refused_line() {
    use super::dry_run;
    use crate::commands::{self, Change};
    use crate::lifecycle::Effect;
    use crate::model::Status;
    let window = std::time::Duration::from_secs(3 * 86_400);
    let reply = commands::parse("/resolve replaced the fuser\n/reopen\n");
    let changes = [
        Change::Resolve(Some("replaced the fuser".into())),
        Change::Reopen,
    ];
    let effects = dry_run(
        &testing::case_state(Status::Open),
        &reply.commands,
        &changes,
        Millis(0),
        window,
    )
    .unwrap();
    assert_eq!(
        effects,
        [
            Effect::ResolutionNotice,
            Effect::Reopened { by_customer: false }
        ]
    );
    let refused = dry_run(
        &testing::case_state(Status::Closed),
        &reply.commands,
        &changes,
        Millis(0),
        window,
    )
    .unwrap_err();
    assert_eq!(refused.line, "/resolve replaced the fuser");
    assert!(
        refused.error.starts_with("HD-000005: "),
        "{}",
        refused.error
    );
}

/// What reaches the customer of a technician's reply: the resolution notice wins over a
/// `/template`, a reopen has its own mail, commands alone relay nothing and a `/note` keeps the
/// whole message internal.
#[test]
fn a_technician_reply_plan_picks_the_template_and_the_visibility() {
    use super::{reply_plan, ReplyPlan};
    use crate::commands::{self, Change};
    use crate::lifecycle::Effect;
    use crate::model::Visibility;
    let text = commands::parse("/priority 2\nThe part is on its way.\n");
    let quiet = commands::parse("/priority 2\n");
    let noted = commands::parse("The part is on its way.\n/note vendor ticket 77\n");
    let canned = [Change::Template("password_reset".into())];
    let answer = reply_plan(&[], &[], &text);
    assert_eq!(
        answer,
        ReplyPlan {
            relay: Some("update".into()),
            visibility: Visibility::Public,
            answered: true,
            desk: None,
            merged_into: None,
        }
    );
    assert!(answer.stops_first_response());
    let commands_only = reply_plan(&[], &[], &quiet);
    assert_eq!(
        commands_only,
        ReplyPlan {
            relay: None,
            visibility: Visibility::Internal,
            answered: false,
            desk: None,
            merged_into: None,
        }
    );
    assert!(!commands_only.stops_first_response());
    let resolved = reply_plan(&[Effect::ResolutionNotice], &canned, &quiet);
    assert_eq!(resolved.relay.as_deref(), Some("resolution_notice"));
    // A resolution notice reaches the customer: it is a first response, though not an answer.
    assert!(resolved.stops_first_response() && !resolved.answered);
    let canned_only = reply_plan(&[], &canned, &quiet);
    assert_eq!(canned_only.relay.as_deref(), Some("password_reset"));
    let reopened = reply_plan(&[Effect::Reopened { by_customer: false }], &[], &quiet);
    assert_eq!(reopened.relay.as_deref(), Some("reopened"));
    let with_note = reply_plan(&[], &[], &noted);
    assert_eq!(with_note.relay.as_deref(), Some("update"));
    assert_eq!(with_note.visibility, Visibility::Internal);
    assert!(with_note.stops_first_response());
    let note_only = reply_plan(
        &[],
        &[],
        &commands::parse(
            "/note called the vendor
",
        ),
    );
    assert_eq!(note_only.relay, None);
    assert!(!note_only.stops_first_response() && !note_only.answered);
}

/// Issue 15 item 6: a problem case records its root cause and workaround (an incident refuses
/// them), and an incident resolved while that problem is open tells the customer it was a
/// workaround and where the cause is tracked.
#[tokio::test]
async fn a_problems_workaround_reaches_its_incidents_resolution_notice() {
    on_each_store("", |p| async move {
        let (_, note_id) = printer_case(&p).await;
        let (raw, _) = mail(TECH, "Re: [HD-000001] x", &answering(&note_id), "/problem");
        ingest(&p, &raw).await;
        let problem_note = rows(
            &p.store,
            "SELECT o.message_id FROM outbox o JOIN cases c ON c.id = o.case_id
             WHERE c.ticket = $1 AND o.kind = 'notification'",
            "HD-000002",
        )
        .await;
        let problem_note = problem_note[0][0].clone().unwrap();
        // On the incident, the findings are refused: they belong on the problem.
        let (raw, _) = mail(TECH, "Re: [HD-000001] x", &answering(&note_id), "/workaround reboot it");
        ingest(&p, &raw).await;
        let err = rows(&p.store, "SELECT context FROM outbox WHERE kind = $1", "command_error").await;
        let ctx: serde_json::Value = serde_json::from_str(err[0][0].as_deref().unwrap()).unwrap();
        assert_eq!(
            ctx["problems"][0]["error"],
            "HD-000001 is an incident: a root cause and a workaround belong on its problem case (/problem opens one)"
        );
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000002] x",
            &answering(&problem_note),
            "/rootcause the fuser is worn\n/workaround print single-sided until the fuser arrives",
        );
        ingest(&p, &raw).await;
        let found = rows(
            &p.store,
            "SELECT root_cause, workaround FROM cases WHERE ticket = $1",
            "HD-000002",
        )
        .await;
        assert_eq!(
            found[0],
            [
                Some("the fuser is worn".to_owned()),
                Some("print single-sided until the fuser arrives".to_owned())
            ]
        );
        let ev = events(&p.store).await;
        assert!(ev.contains(&"root_cause_recorded".to_owned()) && ev.contains(&"workaround_recorded".to_owned()));
        // A new report of the same thing is a known error: linked, and told the workaround.
        let (known, _) = mail("Bob <bob@customer.example.test>", "Printer jams on every page", "", "The printer jams on every page.");
        ingest(&p, &known).await;
        let link = rows(
            &p.store,
            "SELECT l.kind FROM case_links l JOIN cases a ON a.id = l.case_id JOIN cases b ON b.id = l.linked_id
             WHERE a.ticket = 'HD-000003' AND b.ticket = $1",
            "HD-000002",
        )
        .await;
        assert_eq!(link, [vec![Some("problem".to_owned())]]);
        let ack = rows(
            &p.store,
            "SELECT o.context FROM outbox o JOIN cases c ON c.id = o.case_id WHERE c.ticket = 'HD-000003' AND o.kind = $1",
            "auto_reply",
        )
        .await;
        let ctx: serde_json::Value = serde_json::from_str(ack[0][0].as_deref().unwrap()).unwrap();
        assert_eq!((ctx["known_error"].as_str(), ctx["workaround"].as_str()), (Some("HD-000002"), Some("print single-sided until the fuser arrives")));
        let t = crate::templates::render::Templates::load(None).unwrap();
        let text = t.render("acknowledgment", &ctx).unwrap().text;
        assert!(text.contains("known problem, tracked as HD-000002") && text.contains("print single-sided"), "{text}");
        let (raw, _) = mail(TECH, "Re: [HD-000001] x", &answering(&note_id), "/resolve single-sided works");
        ingest(&p, &raw).await;
        let notice = rows(&p.store, "SELECT context FROM outbox WHERE template = $1", "resolution_notice").await;
        let ctx: serde_json::Value = serde_json::from_str(notice[0][0].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["workaround"], "print single-sided until the fuser arrives");
        assert_eq!(ctx["problem_ticket"], "HD-000002");
        let t = crate::templates::render::Templates::load(None).unwrap();
        let text = t.render("resolution_notice", &ctx).unwrap().text;
        assert!(text.contains("This is a workaround") && text.contains("tracked as HD-000002"), "{text}");
    })
    .await;
}

/// Issue 15 item 4: `/merge` folds a case into another: its messages and people move, it closes
/// with its clocks stopped, its requester gets one mail naming the survivor, and a later reply
/// to its thread joins the survivor. A merge into nothing, itself or a merged case changes
/// nothing.
#[tokio::test]
async fn merge_folds_a_case_into_another_and_its_thread_follows() {
    on_each_store("", |p| async move {
        printer_case(&p).await;
        let (second, _) = mail("Bob <bob@customer.example.test>", "Printer on floor 3 broken", "", "Same printer, it jams.");
        ingest(&p, &second).await;
        let ids = rows(
            &p.store,
            "SELECT o.message_id, o.kind FROM outbox o JOIN cases c ON c.id = o.case_id
             WHERE c.ticket = $1 ORDER BY o.id",
            "HD-000002",
        )
        .await;
        let (bob_ack, bob_note) = (ids[0][0].clone().unwrap(), ids[1][0].clone().unwrap());
        for (bad, error) in [
            ("/merge HD-000099", "there is no case HD-000099"),
            ("/merge HD-000002", "a case cannot be merged into itself"),
            ("/merge", "/merge needs the ticket to merge into, e.g. /merge HD-000124"),
        ] {
            let (raw, _) = mail(TECH, "Re: [HD-000002] x", &answering(&bob_note), bad);
            ingest(&p, &raw).await;
            let err = rows(&p.store, "SELECT context FROM outbox WHERE kind = $1 ORDER BY id DESC", "command_error").await;
            let ctx: serde_json::Value = serde_json::from_str(err[0][0].as_deref().unwrap()).unwrap();
            assert_eq!(ctx["problems"][0]["error"], error, "{bad}");
        }
        assert_eq!(case(&p.store, "HD-000002").await[0].as_deref(), Some("open"));
        let (raw, _) = mail(TECH, "Re: [HD-000002] x", &answering(&bob_note), "/merge HD-000001");
        ingest(&p, &raw).await;
        let merged = case(&p.store, "HD-000002").await;
        assert_eq!(merged[0].as_deref(), Some("closed"));
        assert_eq!(merged[4].as_deref(), Some("Merged into HD-000001"));
        let clocks = rows(&p.store, "SELECT CAST(due_at AS TEXT), CAST(clock_since AS TEXT) FROM cases WHERE ticket = $1", "HD-000002").await;
        assert_eq!(clocks[0], [None, None], "clocks stopped");
        let moved = rows(
            &p.store,
            "SELECT m.sender FROM messages m JOIN cases c ON c.id = m.case_id WHERE c.ticket = $1 ORDER BY m.id",
            "HD-000001",
        )
        .await;
        assert!(moved.iter().any(|r| r[0].as_deref() == Some("bob@customer.example.test")), "{moved:?}");
        let people = rows(
            &p.store,
            "SELECT pa.address FROM participants pa JOIN cases c ON c.id = pa.case_id WHERE c.ticket = $1",
            "HD-000001",
        )
        .await;
        assert!(people.iter().any(|r| r[0].as_deref() == Some("bob@customer.example.test")));
        // Bob gets one mail, naming the survivor; Alice gets nothing.
        let relays = rows(&p.store, "SELECT recipient, template, context FROM outbox WHERE kind = $1", "relay").await;
        assert_eq!(relays.len(), 1, "{relays:?}");
        assert_eq!(relays[0][0].as_deref(), Some("bob@customer.example.test"));
        assert_eq!(relays[0][1].as_deref(), Some("merged"));
        let ctx: serde_json::Value = serde_json::from_str(relays[0][2].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["merged_into"], "HD-000001");
        let ev = events(&p.store).await;
        assert!(ev.contains(&"merged".to_owned()) && ev.contains(&"merged_from".to_owned()));
        // Bob answers his first acknowledgment: the reply joins the survivor.
        let (reply, _) = mail("Bob <bob@customer.example.test>", "Re: [HD-000002] Printer on floor 3 broken", &answering(&bob_ack), "It also smells burnt.");
        assert_eq!(ingest(&p, &reply).await, Outcome::Joined { ticket: TicketNo::new("HD", 1) });
        // A merge into the merged case points at the survivor.
        let (third, _) = mail("Cy <cy@customer.example.test>", "Floor 3 printer", "", "Jams.");
        ingest(&p, &third).await;
        let note = rows(
            &p.store,
            "SELECT o.message_id FROM outbox o JOIN cases c ON c.id = o.case_id
             WHERE c.ticket = $1 AND o.kind = 'notification'",
            "HD-000003",
        )
        .await;
        let (raw, _) = mail(TECH, "Re: [HD-000003] x", &answering(note[0][0].as_deref().unwrap()), "/merge HD-000002");
        ingest(&p, &raw).await;
        let err = rows(&p.store, "SELECT context FROM outbox WHERE kind = $1 ORDER BY id DESC", "command_error").await;
        let ctx: serde_json::Value = serde_json::from_str(err[0][0].as_deref().unwrap()).unwrap();
        assert_eq!(ctx["problems"][0]["error"], "HD-000002 was merged into HD-000001: merge into HD-000001");
    })
    .await;
}

/// Issue 15 item 5: three related reports within the window raise a major incident (alerting
/// the list and the team); a fourth report is acknowledged as a known issue and joins it;
/// `/broadcast` reaches each requester once in their own thread; resolving the major case
/// resolves every incident with one notice each. `/broadcast` on an incident and `/major` on a
/// major incident's incident are refused.
#[tokio::test]
async fn related_reports_raise_a_major_incident_that_broadcasts_and_resolves_them_all() {
    let major =
        "[major_incident]\nnotify = [\"boss@it.example.test\"]\ncount = 3\nwithin = \"30m\"";
    on_each_store(major, |p| async move {
        let at = |min: i64| NOW + std::time::Duration::from_secs(u64::try_from(min * 60).unwrap());
        let reports = [
            ("ann@lincoln.example.test", "VPN down for remote staff", "The VPN disconnects every few minutes from home; remote staff cannot reach the gradebook."),
            ("bob@lincoln.example.test", "VPN keeps disconnecting", "Working from home: the VPN disconnects every few minutes and the gradebook times out."),
            ("cy@lincoln.example.test", "remote VPN disconnects", "From home the VPN disconnects constantly, every few minutes; gradebook unreachable for remote staff."),
            ("dee@lincoln.example.test", "VPN from home", "The VPN disconnects every few minutes for me at home too, remote staff gradebook down."),
        ];
        for (i, (from, subject, body)) in reports.iter().enumerate() {
            let (raw, _) = mail(from, subject, "", body);
            p.ingest(&raw, "test", at(i as i64 * 5)).await.unwrap();
        }
        // Cases 1-3 the reports, 4 the major incident, 5 the fourth report.
        let major = case(&p.store, "HD-000004").await;
        assert_eq!(major[6].as_deref(), Some("problem"));
        assert!(major[7].as_deref().unwrap().starts_with("Major incident: VPN down"), "{major:?}");
        let alert = rows(&p.store, "SELECT recipient, context FROM outbox WHERE template = $1 ORDER BY id", "major_incident").await;
        let to: Vec<&str> = alert.iter().map(|r| r[0].as_deref().unwrap()).collect();
        assert_eq!(to, ["boss@it.example.test", "desk@it.example.test"]);
        let incidents = rows(
            &p.store,
            "SELECT c.ticket FROM case_links l JOIN cases c ON c.id = l.linked_id
             JOIN cases m ON m.id = l.case_id WHERE m.ticket = $1 AND l.kind = 'incident' ORDER BY c.id",
            "HD-000004",
        )
        .await;
        let incidents: Vec<&str> = incidents.iter().map(|r| r[0].as_deref().unwrap()).collect();
        assert_eq!(incidents, ["HD-000001", "HD-000002", "HD-000003", "HD-000005"]);
        let acks = rows(&p.store, "SELECT recipient, template FROM outbox WHERE kind = $1 ORDER BY id", "auto_reply").await;
        let templates: Vec<&str> = acks.iter().map(|r| r[1].as_deref().unwrap()).collect();
        assert_eq!(templates, ["acknowledgment", "acknowledgment", "known_issue", "known_issue"]);
        // The technician works the major case from its alert.
        let note = rows(
            &p.store,
            "SELECT message_id FROM outbox WHERE template = $1 AND recipient = 'desk@it.example.test'",
            "major_incident",
        )
        .await;
        let note = note[0][0].clone().unwrap();
        let (raw, _) = mail(TECH, "Re: [HD-000004] x", &answering(&note), "/broadcast We are restarting the VPN concentrator.");
        ingest(&p, &raw).await;
        let sent = rows(&p.store, "SELECT recipient FROM outbox WHERE kind = 'relay' AND template = $1 ORDER BY id", "update").await;
        let sent: Vec<&str> = sent.iter().map(|r| r[0].as_deref().unwrap()).collect();
        assert_eq!(sent, ["ann@lincoln.example.test", "bob@lincoln.example.test", "cy@lincoln.example.test", "dee@lincoln.example.test"]);
        // /broadcast on an incident, /major on a major incident's incident: refused.
        let first_note = rows(
            &p.store,
            "SELECT o.message_id FROM outbox o JOIN cases c ON c.id = o.case_id
             WHERE c.ticket = $1 AND o.kind = 'notification' ORDER BY o.id",
            "HD-000001",
        )
        .await;
        let first_note = first_note[0][0].clone().unwrap();
        for (bad, error) in [
            ("/broadcast hello", "HD-000001 is not a major incident: /broadcast goes on the major case (/major declares one)"),
            ("/major", "HD-000001 is an incident of major incident HD-000004: work it there"),
        ] {
            let (raw, _) = mail(TECH, "Re: [HD-000001] x", &answering(&first_note), bad);
            ingest(&p, &raw).await;
            let err = rows(&p.store, "SELECT context FROM outbox WHERE kind = $1 ORDER BY id DESC", "command_error").await;
            let ctx: serde_json::Value = serde_json::from_str(err[0][0].as_deref().unwrap()).unwrap();
            assert_eq!(ctx["problems"][0]["error"], error, "{bad}");
        }
        let (raw, _) = mail(TECH, "Re: [HD-000004] x", &answering(&note), "/resolve The VPN concentrator was replaced.");
        ingest(&p, &raw).await;
        for t in ["HD-000001", "HD-000002", "HD-000003", "HD-000004", "HD-000005"] {
            assert_eq!(case(&p.store, t).await[0].as_deref(), Some("resolved"), "{t}");
        }
        let notices = rows(&p.store, "SELECT recipient FROM outbox WHERE template = $1 ORDER BY id", "resolution_notice").await;
        assert_eq!(notices.len(), 4, "one each: {notices:?}");
        assert_eq!(case(&p.store, "HD-000002").await[4].as_deref(), Some("The VPN concentrator was replaced."));
    })
    .await;
}

/// The survivor of a merge must be open or resolved, and not merged away itself.
#[test]
fn a_merge_needs_a_survivor_that_is_neither_closed_nor_merged() {
    use super::merge_refusal;
    use crate::model::Status;
    let into = TicketNo::new("HD", 7);
    let next = TicketNo::new("HD", 9);
    assert_eq!(merge_refusal(&into, Status::InProgress, None), None);
    assert_eq!(merge_refusal(&into, Status::Resolved, None), None);
    assert_eq!(
        merge_refusal(&into, Status::Closed, None).as_deref(),
        Some("HD-000007 is closed: reopen it first, or merge into an open case")
    );
    assert_eq!(
        merge_refusal(&into, Status::Closed, Some(&next)).as_deref(),
        Some("HD-000007 was merged into HD-000009: merge into HD-000009")
    );
}

/// A reply that rates: only thanks or nothing around the rating, or praise with a good one,
/// leaves the resolution standing; a complaint beside it disputes it.
#[test]
fn a_rating_with_thanks_or_praise_only_rates_and_with_a_complaint_disputes() {
    use super::only_rates;
    use crate::parse::rating;
    let rates = |text: &str| {
        let r = rating::read(text).unwrap_or_else(|| panic!("a rating in {text:?}"));
        only_rates(&r, text)
    };
    for only in [
        "5",
        "4/5, thanks!",
        "5 - great job!",
        "Excellent, merci",
        "★★★★★",
    ] {
        assert!(rates(only), "{only}");
    }
    for disputes in [
        "1 - it still jams",
        "2, slow and the scanner is broken",
        "5 - great job, but the scanner still jams",
        "3 - what about the other printer?",
    ] {
        assert!(!rates(disputes), "{disputes}");
    }
}

/// A technician's answer to notification `id` with `text` and one small PDF attached.
fn with_pdf(id: &str, text: &str) -> Vec<u8> {
    let (raw, _) = mail(
        TECH,
        "Re: [HD-000001] VPN drops",
        &format!(
            "{}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n",
            answering(id)
        ),
        &format!(
            "--b1\r\nContent-Type: text/plain\r\n\r\n{text}\r\n--b1\r\n\
             Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"steps.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b1--"
        ),
    );
    raw
}

/// The case's relays: (recipient, Cc, files carried).
async fn relays(s: &Store) -> Vec<(String, String, String)> {
    rows(
        s,
        "SELECT o.recipient, COALESCE(o.header_cc, ''),
                CAST((SELECT COUNT(*) FROM outbox_attachments oa WHERE oa.outbox_id = o.id) AS TEXT)
         FROM outbox o WHERE o.kind = $1 ORDER BY o.id",
        "relay",
    )
    .await
    .into_iter()
    .map(triple)
    .collect()
}

/// A VPN case from Alice with Bob in Cc; the team notification's Message-ID.
async fn vpn_case(p: &Pipeline) -> String {
    let (raw, _) = mail(
        CUSTOMER,
        "VPN drops",
        "Cc: Bob <bob@customer.example.test>\r\n",
        "The VPN drops every hour.",
    );
    assert!(matches!(ingest(p, &raw).await, Outcome::Created { .. }));
    rows(
        &p.store,
        "SELECT message_id FROM outbox WHERE kind = $1",
        "notification",
    )
    .await[0][0]
        .clone()
        .unwrap()
}

#[tokio::test]
async fn a_public_reply_carries_its_files_to_everyone_on_the_thread_and_a_note_carries_none() {
    on_each_store("", |p| async move {
        let notice = vpn_case(&p).await;
        ingest(&p, &with_pdf(&notice, "The attached steps fix it.")).await;
        let alice = "alice@customer.example.test".to_owned();
        let bob = "bob@customer.example.test".to_owned();
        assert_eq!(
            relays(&p.store).await,
            [
                (alice.clone(), bob.clone(), "1".to_owned()),
                (bob.clone(), bob.clone(), "1".to_owned())
            ]
        );
        // A note with a file: internal as a whole, nothing more goes out.
        ingest(&p, &with_pdf(&notice, "/note\nthe vendor's internal PDF")).await;
        assert_eq!(relays(&p.store).await.len(), 2);
        // /uncc drops Bob from what follows; /uncc of the requester is refused.
        let (raw, _) = mail(
            TECH,
            "Re: [HD-000001] VPN drops",
            &answering(&notice),
            "/uncc bob@customer.example.test\n\nFixed for good.",
        );
        ingest(&p, &raw).await;
        assert_eq!(
            relays(&p.store).await[2],
            (alice, String::new(), "0".to_owned())
        );
        assert!(events(&p.store).await.contains(&"copy_dropped".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn reply_all_off_keeps_relays_to_the_requester_and_receipts_list_the_changes() {
    on_each_store(
        "reply_all = false\ncommand_receipts = true",
        |p| async move {
            let notice = vpn_case(&p).await;
            ingest(&p, &with_pdf(&notice, "/priority 2\n\nSteps attached.")).await;
            assert_eq!(
                relays(&p.store).await,
                [(
                    "alice@customer.example.test".to_owned(),
                    String::new(),
                    "1".to_owned()
                )]
            );
            let receipt = rows(
                &p.store,
                "SELECT recipient, context FROM outbox WHERE kind = $1",
                "command_receipt",
            )
            .await;
            assert_eq!(receipt.len(), 1);
            assert_eq!(receipt[0][0].as_deref(), Some("tech@it.example.test"));
            let context = receipt[0][1].clone().unwrap();
            assert!(
                context.contains("HD-000001: status in_progress, priority 2")
                    && context
                        .contains("reply sent to alice@customer.example.test, 1 file attached"),
                "{context}"
            );
        },
    )
    .await;
}
