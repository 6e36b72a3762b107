//! The ingest transaction, scenario by scenario, on every test store (SQLite always,
//! PostgreSQL when configured).

use serde_json::json;
use sqlx::Row;

use super::*;
use crate::model::Millis;
use std::sync::Arc;

use crate::store::testing::stores;
use crate::store::Store;
use crate::templates::catalog::{Catalog, LiveCatalog};
use crate::templates::render::AckContext;

const CONFIG: &str = r#"
    [helpdesk]
    address = "support@example.test"
    name = "IT Service Desk"
    technicians = ["tech@it.example.test"]
    auto_reply_limit = 3
    [database]
    url = "sqlite::memory:"
    [inbound]
    kind = "maildir"
    path = "Maildir"
    max_attachment_size = "1KiB"
    [outbound]
    kind = "file"
    path = "outbox"
"#;

const NOW: Millis = Millis(1_790_000_000_000);

/// `n` milliseconds.
fn ms(n: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(n).unwrap())
}

fn pipeline(store: &Store) -> Pipeline {
    let settings = crate::config::testing::load(CONFIG);
    Pipeline {
        settings: Arc::new(settings),
        catalog: LiveCatalog::new(Catalog::load(None, None).unwrap()),
        store: store.clone(),
        import: None,
    }
}

fn mail(from: &str, subject: &str, headers: &str, body: &str) -> Vec<u8> {
    let id = uuid::Uuid::new_v4().simple();
    format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}@customer.example.test>\r\n{headers}\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The Message-ID header of a raw message written by [`mail`].
fn message_id_of(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_owned))
        .unwrap()
}

/// A batch of raw messages from `origin`, none refused.
fn items<'a>(raws: &[&'a Vec<u8>], origin: &'a str) -> Vec<Item<'a>> {
    raws.iter()
        .map(|raw| Item {
            raw: raw.as_slice(),
            origin,
            refused: None,
        })
        .collect()
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn outbox_message_id(store: &Store, ticket: &str) -> String {
    sqlx::query(
        "SELECT o.message_id FROM outbox o JOIN cases c ON c.id = o.case_id WHERE c.ticket = $1",
    )
    .bind(ticket)
    .fetch_one(&store.pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap()
}

async fn ticket(p: &Pipeline, raw: &[u8]) -> String {
    let outcome = p.ingest(raw, "test", NOW).await.unwrap();
    outcome
        .ticket()
        .unwrap_or_else(|| panic!("not stored on a case: {outcome:?}"))
        .to_string()
}

/// Runs `scenario` on each store and cleans up.
async fn on_each_store<F, Fut>(scenario: F)
where
    F: Fn(Pipeline) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for ts in stores().await {
        scenario(pipeline(&ts.store)).await;
        ts.cleanup().await;
    }
}

#[tokio::test]
async fn new_mail_opens_a_case_with_message_event_and_acknowledgment() {
    on_each_store(|p| async move {
        let raw = mail(
            "Alice <alice@customer.example.test>",
            "Printer not working",
            "",
            "It jams.",
        );
        let outcome = p.ingest(&raw, "test", NOW).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Created {
                ticket: TicketNo::new("HD", 1),
                acknowledged: true
            }
        );
        let s = &p.store;
        assert_eq!(count(s, "SELECT COUNT(*) FROM messages").await, 1);
        assert_eq!(
            count(
                s,
                "SELECT COUNT(*) FROM events WHERE kind IN ('created', 'acknowledgment_queued')"
            )
            .await,
            2
        );
        let row =
            sqlx::query("SELECT recipient, in_reply_to, template, status, context FROM outbox")
                .fetch_one(&s.pool)
                .await
                .unwrap();
        assert_eq!(
            row.try_get::<String, _>(0).unwrap(),
            "alice@customer.example.test"
        );
        assert!(row
            .try_get::<String, _>(1)
            .unwrap()
            .ends_with("@customer.example.test"));
        assert_eq!(row.try_get::<String, _>(3).unwrap(), "pending");
        let ctx: AckContext = serde_json::from_str(&row.try_get::<String, _>(4).unwrap()).unwrap();
        assert_eq!(
            (ctx.ticket.as_str(), ctx.category_id.as_str(), ctx.priority),
            ("HD-000001", "break_fix", 4)
        );
        assert_eq!(ctx.resolution_target.as_deref(), Some("4 days"));
        assert_eq!(ctx.first_response, "24 hours");
        let raw_kept: Vec<u8> = sqlx::query("SELECT raw FROM messages")
            .fetch_one(&s.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert!(raw_kept.len() < raw.len(), "stored compressed");
        assert_eq!(crate::store::packed::unpack(raw_kept).unwrap(), raw);
    })
    .await;
}

#[tokio::test]
async fn the_same_message_twice_is_one_case_and_one_acknowledgment() {
    on_each_store(|p| async move {
        let raw = mail("alice@customer.example.test", "Printer not working", "", "x");
        assert_eq!(ticket(&p, &raw).await, "HD-000001");
        let again = p.ingest(&raw, "test", NOW + ms(5)).await.unwrap();
        assert_eq!(again, Outcome::Duplicate { ticket: TicketNo::new("HD", 1) });
        // Delivered a second time through another route: new trace fields, same message.
        let mut traced = b"Received: from mx2.example.test by mx.example.test\r\nDelivered-To: support@example.test\r\n".to_vec();
        traced.extend_from_slice(&raw);
        assert!(matches!(p.ingest(&traced, "test", NOW).await.unwrap(), Outcome::Duplicate { .. }));
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM cases").await, 1);
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM outbox").await, 1);
    })
    .await;
}

#[tokio::test]
async fn replies_join_by_references_or_by_tag_from_people_on_the_case() {
    on_each_store(|p| async move {
        let first = mail(
            "alice@customer.example.test",
            "VPN broken",
            "Cc: bob@customer.example.test\r\n",
            "x",
        );
        assert_eq!(ticket(&p, &first).await, "HD-000001");
        let ack_id = outbox_message_id(&p.store, "HD-000001").await;
        let by_ref = mail(
            "alice@customer.example.test",
            "Re: whatever",
            &format!("In-Reply-To: <{ack_id}>\r\n"),
            "more",
        );
        assert_eq!(
            p.ingest(&by_ref, "t", NOW).await.unwrap(),
            Outcome::Joined {
                ticket: TicketNo::new("HD", 1)
            }
        );
        let by_tag_cc = mail(
            "bob@customer.example.test",
            "Re: [HD-000001] VPN broken",
            "",
            "me too",
        );
        assert_eq!(ticket(&p, &by_tag_cc).await, "HD-000001");
        // A technician address with only the tag proves nothing: a record on the case, and the
        // technician is told to answer our mail; answering that mail is proof.
        let by_tech = mail("tech@it.example.test", "[HD-000001] looking", "", "on it");
        assert_eq!(ticket(&p, &by_tech).await, "HD-000001");
        assert_eq!(
            count(&p.store, "SELECT COUNT(*) FROM outbox WHERE kind = 'relay'").await,
            0,
            "an unproven technician relays nothing"
        );
        let told: String = sqlx::query(
            "SELECT message_id FROM outbox WHERE template = 'unverified_technician' AND recipient = 'tech@it.example.test'",
        )
        .fetch_one(&p.store.pool)
        .await
        .unwrap()
        .get(0);
        let by_tech = mail(
            "tech@it.example.test",
            "Re: [HD-000001] Not applied",
            &format!("In-Reply-To: <{told}>\r\n"),
            "on it",
        );
        assert_eq!(ticket(&p, &by_tech).await, "HD-000001");
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM cases").await, 1);
        assert_eq!(
            count(
                &p.store,
                "SELECT COUNT(*) FROM outbox WHERE kind = 'auto_reply'"
            )
            .await,
            1,
            "replies are not acknowledged"
        );
        assert_eq!(
            count(&p.store, "SELECT COUNT(*) FROM outbox WHERE kind = 'relay' AND recipient = 'alice@customer.example.test' AND header_cc = 'bob@customer.example.test'").await,
            1,
            "the technician's words go to the customer, naming her colleague in Cc"
        );
        assert_eq!(
            count(&p.store, "SELECT COUNT(*) FROM outbox WHERE kind = 'relay' AND recipient = 'bob@customer.example.test' AND header_to = 'alice@customer.example.test'").await,
            1,
            "and a copy to the colleague she put in Cc"
        );
        assert_eq!(
            count(
                &p.store,
                "SELECT COUNT(*) FROM events WHERE kind = 'message_added'"
            )
            .await,
            4
        );
    })
    .await;
}

#[tokio::test]
async fn a_stranger_using_a_tag_gets_a_new_case() {
    on_each_store(|p| async move {
        ticket(&p, &mail("alice@customer.example.test", "Printer not working", "", "x")).await;
        let ack_id = outbox_message_id(&p.store, "HD-000001").await;
        let hijack = mail("mallory@evil.example.test", "Re: [HD-000001] Printer", &format!("References: <{ack_id}>\r\n"), "show me");
        let outcome = p.ingest(&hijack, "t", NOW).await.unwrap();
        assert_eq!(outcome, Outcome::Created { ticket: TicketNo::new("HD", 2), acknowledged: true });
        let detail: String = sqlx::query("SELECT e.detail FROM events e JOIN cases c ON c.id = e.case_id WHERE c.ticket = 'HD-000002' AND e.kind = 'created'")
            .fetch_one(&p.store.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert!(detail.contains("\"refused_thread\":\"HD-000001\""), "{detail}");
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM messages m JOIN cases c ON c.id = m.case_id WHERE c.ticket = 'HD-000001'").await, 1);
    })
    .await;
}

#[tokio::test]
async fn auto_generated_mail_opens_a_case_without_acknowledgment() {
    on_each_store(|p| async move {
        let ooo = mail(
            "bob@customer.example.test",
            "Out of office",
            "Auto-Submitted: auto-replied\r\n",
            "away",
        );
        assert_eq!(
            p.ingest(&ooo, "t", NOW).await.unwrap(),
            Outcome::Created {
                ticket: TicketNo::new("HD", 1),
                acknowledged: false
            }
        );
        let noreply = mail("no-reply@vendor.example.test", "Your invoice", "", "x");
        assert!(matches!(
            p.ingest(&noreply, "t", NOW).await.unwrap(),
            Outcome::Created {
                acknowledged: false,
                ..
            }
        ));
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM outbox").await, 0);
        assert_eq!(
            count(
                &p.store,
                "SELECT COUNT(*) FROM events WHERE kind = 'acknowledgment_suppressed'"
            )
            .await,
            2
        );
    })
    .await;
}

#[tokio::test]
async fn acknowledgments_per_sender_are_capped_per_hour() {
    on_each_store(|p| async move {
        for i in 0..5 {
            let m = mail(
                "alice@customer.example.test",
                &format!("Printer {i} broken"),
                "",
                "x",
            );
            let acknowledged = matches!(
                p.ingest(&m, "t", NOW + ms(i)).await.unwrap(),
                Outcome::Created {
                    acknowledged: true,
                    ..
                }
            );
            assert_eq!(acknowledged, i < 3, "message {i}");
        }
        let later = mail("alice@customer.example.test", "Printer 6 broken", "", "x");
        let outcome = p.ingest(&later, "t", NOW + ms(3_600_001)).await.unwrap();
        assert!(
            matches!(
                outcome,
                Outcome::Created {
                    acknowledged: true,
                    ..
                }
            ),
            "the cap is per hour"
        );
    })
    .await;
}

/// The recipients of the acknowledgments, oldest first.
async fn acknowledged(store: &Store) -> Vec<String> {
    sqlx::query("SELECT recipient FROM outbox WHERE kind = 'auto_reply' ORDER BY id")
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The reasons recorded for suppressed acknowledgments, oldest first.
async fn suppressed(store: &Store) -> Vec<String> {
    sqlx::query("SELECT detail FROM events WHERE kind = 'acknowledgment_suppressed' ORDER BY id")
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let d: String = r.get(0);
            let v: serde_json::Value = serde_json::from_str(&d).unwrap();
            v["reason"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

/// Issue 12: ten mails from ten senders with `Reply-To: victim+N@…` made ten acknowledgments
/// to one mailbox. Reply-To now counts only within From's domain, and the caps count per base
/// mailbox; every message is still stored as a case.
#[tokio::test]
async fn strangers_cannot_aim_acknowledgments_at_a_third_party() {
    on_each_store(|p| async move {
        for i in 0..10 {
            let m = mail(
                &format!("sender{i}@evil.test"),
                &format!("Request {i}"),
                &format!("Reply-To: victim+{i}@victim.test\r\n"),
                "x",
            );
            p.ingest(&m, "t", NOW + ms(i)).await.unwrap();
        }
        let to = acknowledged(&p.store).await;
        assert_eq!(to.len(), 10);
        assert!(to.iter().all(|a| a.ends_with("@evil.test")), "{to:?}");
        // A Reply-To in the sender's own domain is honoured.
        let m = mail(
            "alice@customer.example.test",
            "Printer",
            "Reply-To: Desk Alice <alice.desk@customer.example.test>\r\n",
            "x",
        );
        p.ingest(&m, "t", NOW).await.unwrap();
        assert_eq!(
            acknowledged(&p.store).await.last().map(String::as_str),
            Some("alice.desk@customer.example.test")
        );
        // Forged Froms with +tags are one mailbox: capped at auto_reply_limit (3 here).
        for i in 0..10 {
            let m = mail(&format!("Victim+{i}@victim.test"), &format!("Hi {i}"), "", "x");
            p.ingest(&m, "t", NOW + ms(100 + i)).await.unwrap();
        }
        let to_victim = acknowledged(&p.store)
            .await
            .iter()
            .filter(|a| a.ends_with("@victim.test"))
            .count();
        assert_eq!(to_victim, 3);
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM cases").await, 21);
        assert!(suppressed(&p.store).await.iter().all(|r| r.contains(
            "automatic replies to victim@victim.test in the last hour (helpdesk.auto_reply_limit = 3)"
        )));
    })
    .await;
}

#[tokio::test]
async fn the_domain_and_global_caps_hold_and_record_why() {
    on_each_store(|mut p| async move {
        let s = Arc::make_mut(&mut p.settings);
        s.caps.domain = 4;
        s.caps.global = 7;
        for i in 0..6 {
            let m = mail(
                &format!("user{i}@big.test"),
                &format!("Laptop {i}"),
                "",
                "x",
            );
            p.ingest(&m, "t", NOW + ms(i)).await.unwrap();
        }
        assert_eq!(acknowledged(&p.store).await.len(), 4);
        assert!(suppressed(&p.store).await[0].contains("helpdesk.auto_reply_domain_limit = 4"));
        // The help desk's own domain is not capped per domain…
        for i in 0..3 {
            let m = mail(
                &format!("staff{i}@example.test"),
                &format!("Desk {i}"),
                "",
                "x",
            );
            p.ingest(&m, "t", NOW + ms(10 + i)).await.unwrap();
        }
        assert_eq!(acknowledged(&p.store).await.len(), 7);
        // …but everything together is.
        let m = mail("someone@else.test", "Phone", "", "x");
        p.ingest(&m, "t", NOW + ms(20)).await.unwrap();
        assert_eq!(acknowledged(&p.store).await.len(), 7);
        assert!(suppressed(&p.store)
            .await
            .last()
            .unwrap()
            .contains("helpdesk.auto_reply_global_limit = 7"));
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM cases").await, 10);
    })
    .await;
}

/// Issue 12: identity is From alone; automatic mail brings nobody onto a case.
#[tokio::test]
async fn from_is_the_only_identity_and_automatic_mail_adds_no_participants() {
    on_each_store(|p| async move {
        ticket(&p, &mail("alice@customer.example.test", "VPN broken", "", "x")).await;
        let ack_id = outbox_message_id(&p.store, "HD-000001").await;
        // An empty From with the requester in Sender: never attributed to the requester.
        let raw = mail(
            "undisclosed-recipients:;",
            "Re: [HD-000001] VPN broken",
            &format!("Sender: alice@customer.example.test\r\nIn-Reply-To: <{ack_id}>\r\n"),
            "close it",
        );
        let Outcome::Quarantined { reason, .. } = p.ingest(&raw, "t", NOW).await.unwrap() else {
            panic!("quarantined")
        };
        assert!(reason.contains("no usable sender address"), "{reason}");
        // An out-of-office that names our mail joins as a record and brings its Cc nobody.
        let ooo = mail(
            "alice@customer.example.test",
            "Automatic reply: VPN broken",
            &format!(
                "Auto-Submitted: auto-replied\r\nCc: boss@customer.example.test\r\nIn-Reply-To: <{ack_id}>\r\n"
            ),
            "I am away.",
        );
        assert_eq!(ticket(&p, &ooo).await, "HD-000001");
        let parts = || async {
            sqlx::query("SELECT address FROM participants ORDER BY address")
                .fetch_all(&p.store.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect::<Vec<_>>()
        };
        assert_eq!(parts().await, ["alice@customer.example.test"]);
        // The requester's own reply brings in whom they copy.
        let reply = mail(
            "alice@customer.example.test",
            "Re: [HD-000001] VPN broken",
            "Cc: boss@customer.example.test\r\n",
            "still broken",
        );
        ticket(&p, &reply).await;
        assert_eq!(
            parts().await,
            ["alice@customer.example.test", "boss@customer.example.test"]
        );
    })
    .await;
}

#[tokio::test]
async fn bounces_attach_to_their_case_or_are_quarantined() {
    on_each_store(|p| async move {
        ticket(&p, &mail("alice@customer.example.test", "Printer not working", "", "x")).await;
        let ack_id = outbox_message_id(&p.store, "HD-000001").await;
        let dsn = |id: &str| {
            format!(
                "From: MAILER-DAEMON@mx.example.test\r\nTo: support@example.test\r\nSubject: Undelivered\r\n\
                 Message-ID: <{}@mx.example.test>\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
                 --b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n\
                 --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
                 --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{id}>\r\nSubject: x\r\n\r\n--b--\r\n",
                uuid::Uuid::new_v4().simple()
            )
            .into_bytes()
        };
        assert_eq!(p.ingest(&dsn(&ack_id), "t", NOW).await.unwrap(), Outcome::Bounce { ticket: TicketNo::new("HD", 1) });
        assert!(matches!(p.ingest(&dsn("unknown@x.test"), "t", NOW).await.unwrap(), Outcome::Quarantined { .. }));
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM cases").await, 1, "bounces open no case");
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM outbox").await, 1, "bounces are never answered");
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_quarantined_once_with_its_reason() {
    on_each_store(|p| async move {
        let garbage: Vec<u8> = (0..=255u8).chain([0; 44]).collect();
        let Outcome::Quarantined { id, reason } = p.ingest(&garbage, "t", NOW).await.unwrap()
        else {
            panic!("garbage must be quarantined");
        };
        assert!(reason.contains("not an email message"), "{reason}");
        let Outcome::Quarantined { id: again, .. } = p.ingest(&garbage, "t", NOW).await.unwrap()
        else {
            panic!("still quarantined");
        };
        assert_eq!(id, again);
        let own = mail("support@example.test", "loop?", "", "x");
        let Outcome::Quarantined { reason, .. } = p.ingest(&own, "t", NOW).await.unwrap() else {
            panic!("our own mail with no case is quarantined");
        };
        assert!(reason.contains("loop guard"), "{reason}");
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM quarantine").await, 2);
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM cases").await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_reply_to_a_closed_case_opens_a_linked_case() {
    on_each_store(|p| async move {
        ticket(
            &p,
            &mail(
                "alice@customer.example.test",
                "Printer not working",
                "",
                "x",
            ),
        )
        .await;
        sqlx::query("UPDATE cases SET status = 'closed'")
            .execute(&p.store.pool)
            .await
            .unwrap();
        let reply = mail(
            "alice@customer.example.test",
            "Re: [HD-000001] Printer not working",
            "",
            "again",
        );
        assert_eq!(ticket(&p, &reply).await, "HD-000002");
        let prev: Option<i64> =
            sqlx::query("SELECT previous_case FROM cases WHERE ticket = 'HD-000002'")
                .fetch_one(&p.store.pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
        assert!(prev.is_some());
    })
    .await;
}

#[tokio::test]
async fn oversized_attachments_are_recorded_without_content() {
    on_each_store(|p| async move {
        let big = "A".repeat(2000);
        let raw = mail(
            "alice@customer.example.test",
            "Screen broken",
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n",
            &format!("--b\r\nContent-Type: text/plain\r\n\r\nsee logs\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"big.log\"\r\n\r\n{big}\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"small.log\"\r\n\r\nok\r\n--b--"),
        );
        ticket(&p, &raw).await;
        let rows = sqlx::query("SELECT filename, content, omitted FROM attachments ORDER BY id").fetch_all(&p.store.pool).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].try_get::<Option<Vec<u8>>, _>(1).unwrap(), None);
        assert!(rows[0].try_get::<Option<String>, _>(2).unwrap().unwrap().contains("max_attachment_size"));
        // A file within the size is kept once, in the raw message, and read back from there.
        assert_eq!(rows[1].try_get::<Option<Vec<u8>>, _>(1).unwrap(), None);
        assert_eq!(rows[1].try_get::<Option<String>, _>(2).unwrap(), None);
        let case = crate::store::cases::by_ticket(&p.store.pool, &TicketNo::from_string("HD-000001")).await.unwrap().unwrap();
        let file = crate::store::messages::case_file(&p.store.pool, case.id, 2).await.unwrap().unwrap();
        assert_eq!(crate::parse::attachment_bytes(&file.raw, file.index).as_deref(), Some(&b"ok"[..]));
    })
    .await;
}

#[tokio::test]
async fn a_batch_knows_what_was_ingested_before_by_message_id_and_bytes() {
    on_each_store(|p| async move {
        let before = mail(
            "Ann <ann@customer.example.test>",
            "VPN down",
            "",
            "Since noon.",
        );
        let other = mail(
            "Bob <bob@customer.example.test>",
            "Laptop broken",
            "",
            "Screen.",
        );
        // Same Message-ID as `before`, other bytes: another message (a resend with changes).
        let id = message_id_of(&before);
        let changed = format!(
            "From: Ann <ann@customer.example.test>\r\nTo: support@example.test\r\n\
             Subject: VPN down\r\nMessage-ID: {id}\r\n\r\nSince noon, and now the wifi.\r\n"
        )
        .into_bytes();
        assert!(matches!(
            p.ingest(&before, "first", NOW).await.unwrap(),
            Outcome::Created { .. }
        ));
        let batch = items(&[&other, &before, &changed, &before], "batch");
        let outcomes = p.ingest_batch(&batch, NOW, None).await.unwrap();
        let t = |n| TicketNo::new("HD", n);
        assert_eq!(
            outcomes,
            [
                Outcome::Created {
                    ticket: t(2),
                    acknowledged: true
                },
                Outcome::Duplicate { ticket: t(1) },
                // Not a duplicate: other bytes, and nothing threads it to the first.
                Outcome::Created {
                    ticket: t(3),
                    acknowledged: true
                },
                Outcome::Duplicate { ticket: t(1) },
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_batch_numbers_tickets_in_order_threads_within_itself_and_saves_its_position() {
    on_each_store(|p| async move {
        let first = mail(
            "Ann <ann@customer.example.test>",
            "VPN down",
            "",
            "Since noon.",
        );
        let first_id = message_id_of(&first);
        let reply = mail(
            "Ann <ann@customer.example.test>",
            "Re: VPN down",
            &format!("In-Reply-To: {first_id}\r\n"),
            "Still down.",
        );
        let second = mail(
            "Bob <bob@customer.example.test>",
            "Laptop broken",
            "",
            "Screen.",
        );
        let third = mail(
            "Cy <cy@customer.example.test>",
            "Printer jam",
            "",
            "Floor 2.",
        );
        let items: Vec<Item<'_>> = items(&[&first, &reply, &second, &third, &first], "batch")
            .into_iter()
            .chain(std::iter::once(Item {
                raw: b"Subject: huge\r\n\r\n",
                origin: "batch",
                refused: Some("too large"),
            }))
            .collect();
        let position = store::imap::Position {
            uid_validity: 9,
            last_uid: 42,
        };
        let checkpoint = Checkpoint {
            mailbox: "support@host:993/INBOX",
            position,
        };
        let outcomes = p.ingest_batch(&items, NOW, Some(checkpoint)).await.unwrap();
        let t = |n| TicketNo::new("HD", n);
        assert_eq!(
            outcomes[..5],
            [
                Outcome::Created {
                    ticket: t(1),
                    acknowledged: true
                },
                Outcome::Joined { ticket: t(1) },
                Outcome::Created {
                    ticket: t(2),
                    acknowledged: true
                },
                Outcome::Created {
                    ticket: t(3),
                    acknowledged: true
                },
                Outcome::Duplicate { ticket: t(1) },
            ]
        );
        assert!(
            matches!(&outcomes[5], Outcome::Quarantined { reason, .. } if reason == "too large")
        );
        let s = &p.store;
        assert_eq!(
            store::imap::position(&s.pool, "support@host:993/INBOX")
                .await
                .unwrap(),
            Some(position)
        );
        // The counter was written back: the next case continues the sequence.
        let next = mail("Dee <dee@customer.example.test>", "Mouse", "", "Dead.");
        assert_eq!(ticket(&p, &next).await, "HD-000004");
        // Every event of the batch is stored: created ×3, message_added, acknowledgment ×3.
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM events WHERE kind = 'created'").await,
            4
        );
        assert_eq!(
            count(
                s,
                "SELECT COUNT(*) FROM events WHERE kind = 'message_added'"
            )
            .await,
            1
        );
        assert_eq!(
            count(
                s,
                "SELECT COUNT(*) FROM events WHERE kind = 'acknowledgment_queued'"
            )
            .await,
            4
        );
    })
    .await;
}

#[tokio::test]
async fn unfinished_attempts_send_a_message_alone_then_to_quarantine() {
    on_each_store(|p| async move {
        let raws: Vec<Vec<u8>> = ["Printer jam", "Mouse dead", "VPN down"]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                mail(
                    &format!("u{i} <u{i}@customer.example.test>"),
                    s,
                    "",
                    "Help.",
                )
            })
            .collect();
        let items: Vec<Item<'_>> = raws
            .iter()
            .map(|raw| Item {
                raw,
                origin: "maildir:x",
                refused: None,
            })
            .collect();
        let hash = |i: usize| parse::content_hash(&raws[i]);
        // As if two earlier runs died on the first message, one on the second.
        let (h0, h1) = (hash(0), hash(1));
        for keys in [
            vec![(h0.as_str(), "x"), (h1.as_str(), "x")],
            vec![(h0.as_str(), "x")],
        ] {
            let mut tx = p.store.begin().await.unwrap();
            attempts_store::begin(&mut tx, &keys, NOW).await.unwrap();
            tx.commit().await.unwrap();
        }
        let outcomes = p.ingest_batch(&items, NOW, None).await.unwrap();
        let Outcome::Quarantined { reason, .. } = &outcomes[0] else {
            panic!("{outcomes:?}")
        };
        assert!(
            reason.starts_with("stalled or crashed the worker twice"),
            "{reason}"
        );
        assert!(
            matches!(outcomes[1], Outcome::Created { .. }),
            "{outcomes:?}"
        );
        assert!(
            matches!(outcomes[2], Outcome::Created { .. }),
            "{outcomes:?}"
        );
        // Quarantined without being parsed: the raw bytes are there, no case names it.
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM quarantine").await, 1);
        assert_eq!(count(&p.store, "SELECT COUNT(*) FROM cases").await, 2);
        // Every attempt finished: nothing is left counting.
        assert_eq!(
            count(&p.store, "SELECT COUNT(*) FROM intake_attempts").await,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn a_case_records_the_lists_its_message_had_cut() {
    on_each_store(|p| async move {
        let cc = (0..150)
            .map(|i| format!("c{i}@customer.example.test"))
            .collect::<Vec<_>>()
            .join(", ");
        let raw = mail(
            "Ann <ann@customer.example.test>",
            "Everyone",
            &format!("Cc: {cc}\r\n"),
            "Hello.",
        );
        p.ingest(&raw, "test", NOW).await.unwrap();
        let detail: String = sqlx::query("SELECT detail FROM events WHERE kind = 'created'")
            .fetch_one(&p.store.pool)
            .await
            .unwrap()
            .get(0);
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
        assert_eq!(
            detail["capped"],
            json!([{ "list": "cc", "found": 150, "kept": 100 }])
        );
        // From plus the 100 Cc kept.
        assert_eq!(
            count(&p.store, "SELECT COUNT(*) FROM participants").await,
            101
        );
    })
    .await;
}

/// Two attempts that a database failure left behind and could not take back (owed by this
/// process, not crashes) do not send the message to the quarantine once the database is back.
#[tokio::test]
async fn attempts_a_database_failure_left_behind_are_taken_back_first() {
    on_each_store(|p| async move {
        let raw = mail("u <u@customer.example.test>", "Printer jam", "", "Help.");
        let hash = parse::content_hash(&raw);
        for _ in 0..2 {
            let mut tx = p.store.begin().await.unwrap();
            attempts_store::begin(&mut tx, &[(hash.as_str(), "x")], NOW)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            attempts_store::owe(&p.store, &[hash.as_str()]);
        }
        let outcome = p.ingest(&raw, "maildir:x", NOW).await.unwrap();
        assert!(matches!(outcome, Outcome::Created { .. }), "{outcome:?}");
        assert_eq!(
            count(&p.store, "SELECT COUNT(*) FROM intake_attempts").await,
            0
        );
    })
    .await;
}

/// A case row whose SLA columns hold what no version writes is a corrupt row: reading it is an
/// error that says so, never a case "without a target".
#[tokio::test]
async fn corrupt_sla_columns_are_an_error_not_no_target() {
    on_each_store(|p| async move {
        ticket(
            &p,
            &mail("u <u@customer.example.test>", "VPN down", "", "Help."),
        )
        .await;
        for (sql, said) in [
            ("UPDATE cases SET sla_stage = 7", "SLA stage 7"),
            (
                "UPDATE cases SET sla_stage = 0, target_secs = -5",
                "SLA target of -5 seconds",
            ),
            (
                "UPDATE cases SET target_secs = 60, target_clock = 'lunar'",
                "SLA clock \"lunar\"",
            ),
        ] {
            sqlx::query(sql).execute(&p.store.pool).await.unwrap();
            let mut tx = p.store.begin().await.unwrap();
            let error = casework::state(&mut tx, CaseId(1)).await.unwrap_err();
            assert!(
                matches!(&error, store::Error::Corrupt(m) if m.starts_with(said)),
                "{error:?}"
            );
        }
    })
    .await;
}

/// The acknowledgment's plan, without a database: the context names the case, the customer
/// (by address when they gave no name), the category and the promised times, and the mail
/// threads under the customer's own message.
#[test]
fn the_acknowledgment_plan_names_the_case_and_threads_under_the_request() {
    use super::ack::{ack_plan, Opened};
    let settings = crate::config::testing::load(CONFIG);
    let rules = crate::classify::Rules::load(None).unwrap();
    let raw = "From: u@customer.example.test\r\nTo: support@example.test\r\nSubject: VPN down\r\n\
               Message-ID: <m2@customer.example.test>\r\nReferences: <m1@customer.example.test>\r\n\
               \r\nThe VPN is down for everyone.\r\n";
    let limits = parse::Limits {
        max_message_size: 1 << 20,
        max_attachment_size: 1 << 20,
    };
    let m = parse::parse(raw.as_bytes(), limits, &settings.address.address).unwrap();
    let c = rules.classify(&m);
    let ticket = TicketNo::new("HD", 12);
    let previous = TicketNo::new("HD", 3);
    let opened = Opened {
        id: CaseId(12),
        ticket: &ticket,
        subject: "",
        previous: Some(&previous),
        first_response_due: Some(NOW + std::time::Duration::from_secs(86_400)),
        resolution_due: None,
        redirect: None,
        duplicate_of: None,
        major: None,
        known_error: None,
        conference: None,
        approval: None,
    };
    let plan = ack_plan(&settings, rules.first_response, opened, &m, &c, NOW);
    let ctx = &plan.context;
    assert_eq!(ctx.ticket, "HD-000012");
    assert_eq!(
        ctx.subject, "(no subject)",
        "a case without a subject says so"
    );
    assert_eq!(ctx.requester_name, "u@customer.example.test");
    assert_eq!(ctx.category_id, c.category);
    assert_eq!(ctx.priority, c.priority.level);
    assert_eq!(ctx.previous_ticket.as_deref(), Some("HD-000003"));
    assert_eq!(ctx.received_at, settings.calendar.format(NOW));
    // Due times as a customer reads them, in the calendar's zone; none without a target.
    let due = settings
        .calendar
        .format_day(NOW + std::time::Duration::from_secs(86_400));
    assert_eq!(ctx.first_response_due.as_deref(), Some(due.as_str()));
    assert!(
        due.contains(", ") && !due.contains("20"),
        "weekday day month, time zone: {due}"
    );
    assert_eq!(ctx.resolution_due, None);
    assert_eq!(
        plan.references,
        ["m1@customer.example.test", "m2@customer.example.test"]
    );
}

/// Issue 15 items 1, 2 and 7 at intake: a rule that redirects resolves the case at once with no
/// SLA, answers with the `redirect` mail instead of the acknowledgment and forwards the
/// original to a desk that asks for it; a rule's impact and urgency give the priority through
/// the matrix; a rule's `notify` copies the new case; a desk the configuration lacks is
/// recorded and the case worked here.
#[tokio::test]
async fn rules_redirect_assess_and_copy_new_cases() {
    const DESKS: &str = r#"
        [desks.hr]
        name = "HR Service Center"
        address = "hr@example.test"
        phone = "+1 555 0100"
        forward = true
        [teams.service-desk]
        address = "desk@it.example.test"
    "#;
    let rules = crate::classify::DEFAULT_RULES.replacen(
        "[[rule]]",
        r#"[[rule]]
name = "payroll"
category = "process"
text = '\bpayroll\b'
redirect = "hr"
notify = ["manager@example.test"]

[[rule]]
name = "legal"
category = "process"
text = '\bsubpoena\b'
redirect = "legal"

[[rule]]
name = "floor down"
category = "break_fix"
final = true
subject = 'whole floor'
impact = "high"
urgency = "high"

[[rule]]"#,
        1,
    );
    let build = |store: &Store| {
        let rules = crate::classify::Rules::from_toml("test rules", &rules).unwrap();
        crate::casework::testing::pipeline(store, &format!("{CONFIG}{DESKS}"), rules)
    };
    crate::casework::testing::on_each_store(build, |p| async move {
        let s = &p.store;
        let payroll = mail(
            "Alice <alice@customer.example.test>",
            "My payroll slip is wrong",
            "",
            "The overtime is missing.",
        );
        assert_eq!(ticket(&p, &payroll).await, "HD-000001");
        let row = sqlx::query(
            "SELECT status, resolution, due_at, first_response_due_at, follow_up_at FROM cases",
        )
        .fetch_one(&s.pool)
        .await
        .unwrap();
        assert_eq!(row.try_get::<String, _>(0).unwrap(), "resolved");
        assert_eq!(
            row.try_get::<String, _>(1).unwrap(),
            "Redirected to HR Service Center"
        );
        for i in 2..5 {
            assert_eq!(row.try_get::<Option<i64>, _>(i).unwrap(), None, "no clock {i}");
        }
        let mail_rows = sqlx::query(
            "SELECT kind, template, recipient, reply_to, attach_message, context FROM outbox ORDER BY id",
        )
        .fetch_all(&s.pool)
        .await
        .unwrap();
        let sent: Vec<(String, String, String)> = mail_rows
            .iter()
            .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap(), r.try_get(2).unwrap()))
            .collect();
        let want = |k: &str, t: &str, r: &str| (k.to_owned(), t.to_owned(), r.to_owned());
        assert_eq!(
            sent,
            [
                want("auto_reply", "redirect", "alice@customer.example.test"),
                want("notification", "redirect_forward", "hr@example.test"),
                want("notification", "team_notification", "manager@example.test"),
            ],
            "no team notification: the case is HR's"
        );
        let forward = &mail_rows[1];
        assert_eq!(
            forward.try_get::<Option<String>, _>(3).unwrap().as_deref(),
            Some("alice@customer.example.test"),
            "the other desk answers the customer"
        );
        assert!(forward.try_get::<Option<i64>, _>(4).unwrap().is_some());
        let ctx: serde_json::Value =
            serde_json::from_str(&mail_rows[0].try_get::<String, _>(5).unwrap()).unwrap();
        assert_eq!(ctx["desk"]["phone"], "+1 555 0100");
        assert_eq!(ctx["resolution"], "Redirected to HR Service Center");
        assert!(ctx["reopen_deadline"].is_string());
        let due = crate::store::outbox::claim_due(s, NOW + ms(1), 10).await.unwrap();
        let attached = due.iter().find(|d| d.template == "redirect_forward").unwrap();
        assert_eq!(attached.attachment.as_deref(), Some(&payroll[..]));
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM events WHERE kind = 'redirected'").await,
            1
        );

        let subpoena = mail("bob@customer.example.test", "A subpoena", "", "For records.");
        assert_eq!(ticket(&p, &subpoena).await, "HD-000002");
        let skipped: String = sqlx::query(
            "SELECT e.detail FROM events e JOIN cases c ON c.id = e.case_id
             WHERE c.ticket = 'HD-000002' AND e.kind = 'redirect_skipped'",
        )
        .fetch_one(&s.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        assert!(skipped.contains("no [desks.legal] is configured"), "{skipped}");
        let status: String = sqlx::query("SELECT status FROM cases WHERE ticket = 'HD-000002'")
            .fetch_one(&s.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(status, "open");

        let outage = mail("carol@customer.example.test", "Printers down on the whole floor", "", "");
        assert_eq!(ticket(&p, &outage).await, "HD-000003");
        let row = sqlx::query(
            "SELECT priority, impact, urgency, priority_override, target_secs FROM cases
             WHERE ticket = 'HD-000003'",
        )
        .fetch_one(&s.pool)
        .await
        .unwrap();
        assert_eq!(row.try_get::<i64, _>(0).unwrap(), 1, "high × high in break/fix");
        assert_eq!(row.try_get::<String, _>(1).unwrap(), "high");
        assert_eq!(row.try_get::<String, _>(2).unwrap(), "high");
        assert_eq!(row.try_get::<i64, _>(3).unwrap(), 0);
        assert_eq!(row.try_get::<Option<i64>, _>(4).unwrap(), Some(4 * 3600));
    })
    .await;
}

/// Issue 15 items 3 and 4 at intake: a second person reporting the same outage is linked as
/// related, with why, and the first case's team hears of it in that case's thread; the first
/// person writing again is linked as a duplicate and told which case holds the request; an
/// unrelated request of the same category is linked to nothing.
#[tokio::test]
async fn repeated_reports_are_linked_with_the_reason() {
    const TEAM: &str = r#"
        [teams.service-desk]
        address = "desk@it.example.test"
    "#;
    let build = |store: &Store| {
        let rules = crate::classify::Rules::load(None).unwrap();
        crate::casework::testing::pipeline(store, &format!("{CONFIG}{TEAM}"), rules)
    };
    crate::casework::testing::on_each_store(build, |p| async move {
        let s = &p.store;
        let at = |min: i64| NOW + ms(min * 60_000);
        let first = mail(
            "Ann <ann@lincoln.example.test>",
            "Wi-Fi down in the east wing",
            "",
            "The wireless in rooms 201-214 of the east wing dropped at 8am; no laptop connects.",
        );
        p.ingest(&first, "test", at(0)).await.unwrap();
        let second = mail(
            "Bob <bob@lincoln.example.test>",
            "no internet east wing",
            "",
            "Our laptops in room 207 cannot connect to the wireless since this morning. East wing only?",
        );
        p.ingest(&second, "test", at(18)).await.unwrap();
        let again = mail(
            "Ann <ann@lincoln.example.test>",
            "Did you get my mail? Wi-Fi east wing",
            "",
            "Still no wireless in the east wing rooms; the laptops do not connect.",
        );
        p.ingest(&again, "test", at(30)).await.unwrap();
        let other = mail(
            "Cy <cy@lincoln.example.test>",
            "Printer jam",
            "",
            "The printer in the library jams on every page.",
        );
        p.ingest(&other, "test", at(31)).await.unwrap();
        let links = sqlx::query(
            "SELECT a.ticket, b.ticket, l.kind, l.why FROM case_links l
             JOIN cases a ON a.id = l.case_id JOIN cases b ON b.id = l.linked_id
             WHERE a.id > b.id ORDER BY a.id, b.id",
        )
        .fetch_all(&s.pool)
        .await
        .unwrap();
        let got: Vec<(String, String, String)> = links
            .iter()
            .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap(), r.try_get(2).unwrap()))
            .collect();
        let want = |a: &str, b: &str, k: &str| (a.to_owned(), b.to_owned(), k.to_owned());
        assert_eq!(
            got,
            [
                want("HD-000002", "HD-000001", "related"),
                want("HD-000003", "HD-000001", "duplicate"),
                want("HD-000003", "HD-000002", "related"),
            ]
        );
        let why: String = links[0].try_get(3).unwrap();
        assert!(
            why.starts_with("same category; ") && why.contains("shared terms: ") && why.ends_with("; 18 min apart"),
            "{why}"
        );
        // The first case's team hears of the second report, in the first case's thread.
        let told: Vec<(String, String)> = sqlx::query(
            "SELECT c.ticket, o.context FROM outbox o JOIN cases c ON c.id = o.case_id
             WHERE o.kind = 'notification' ORDER BY o.id",
        )
        .fetch_all(&s.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
        .collect();
        let heads: Vec<(String, String)> = told
            .iter()
            .map(|(t, c)| {
                let v: serde_json::Value = serde_json::from_str(c).unwrap();
                (t.clone(), v["headline"].as_str().unwrap().to_owned())
            })
            .collect();
        assert!(heads.contains(&("HD-000001".into(), "Reported by others too: HD-000002".into())), "{heads:?}");
        assert!(heads.contains(&("HD-000002".into(), "New case (repeats HD-000001)".into())), "{heads:?}");
        assert!(heads.contains(&("HD-000004".into(), "New case".into())), "{heads:?}");
        // Ann's second mail is acknowledged as what it is.
        let ack: String = sqlx::query(
            "SELECT o.context FROM outbox o JOIN cases c ON c.id = o.case_id
             WHERE c.ticket = 'HD-000003' AND o.kind = 'auto_reply'",
        )
        .fetch_one(&s.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        let ctx: AckContext = serde_json::from_str(&ack).unwrap();
        assert_eq!(ctx.duplicate_of.as_deref(), Some("HD-000001"));
        let t = crate::templates::render::Templates::load(None).unwrap();
        let text = t.render("acknowledgment", &ctx).unwrap().text;
        assert!(text.contains("case HD-000001 holds your request"), "{text}");
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM events WHERE kind = 'repeat_found'").await,
            6,
            "each link on both cases"
        );
    })
    .await;
}
