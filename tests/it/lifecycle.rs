//! The resolution lifecycle and the SLA clocks on the real servers, with the daemon running and
//! durations of seconds: resolve → the customer disputes → reopened → resolved again → thanks
//! (stays resolved) → a restart in the middle of the window → closed by itself → the customer's
//! reply opens a linked case; and an SLA warning then a breach notice reaching the team.

use std::time::Duration;

use crate::conversation::{reply, text};
use crate::live::{header, request, LiveDesk, Options, WAIT};
use crate::stack;

fn at(user: &str) -> String {
    format!("{user}@example.test")
}

/// A desk whose `desk` team is mailbox `team`, with `member` a technician, every case routed to
/// it, and `extra` appended to the config (after `[outbound]`, so `[calendar]`, `[sla]`…).
fn desk(
    stack: &stack::Stack,
    support: &str,
    (team, member): (&str, &str),
    helpdesk_extra: &str,
    extra: &str,
    rules: impl Fn(String) -> String,
) -> LiveDesk {
    let tail = format!(
        "[teams.desk]\naddress = \"{}\"\nmembers = [\"{}\"]\n{extra}",
        at(team),
        at(member)
    );
    let helpdesk_extra = format!("rules = \"rules.toml\"\n{helpdesk_extra}");
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            helpdesk_extra: &helpdesk_extra,
            outbound_extra: &tail,
            ..Options::default()
        },
    );
    let shipped = desk.desk.ok(&["rules", "default"]);
    let mine = rules(shipped.replace("team = \"", "team = \"desk\" # was \""));
    std::fs::write(desk.desk.path("rules.toml"), mine).expect("write rules");
    desk
}

fn case(desk: &LiveDesk, ticket: &str) -> serde_json::Value {
    desk.desk.json(&["cases", "show", ticket])
}

fn status(desk: &LiveDesk, ticket: &str) -> String {
    case(desk, ticket)["case"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn events(desk: &LiveDesk, ticket: &str) -> Vec<String> {
    case(desk, ticket)["events"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn subject(raw: &[u8]) -> &str {
    header(raw, "Subject").expect("Subject")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_dispute_reopen_resolve_restart_auto_close_and_reply_after_close() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, team, tech) = ("support11", "customer15", "support14", "customer16");
    let desk = desk(
        stack,
        support,
        (team, tech),
        "reopen_window = \"12s\"",
        "[calendar]\ntimezone = \"UTC\"\n[sla]\ndigest = \"off\"\n",
        |r| r,
    );
    let mut daemon = desk.start();
    let raw = request(
        customer,
        support,
        "lc-1",
        "Printer jams",
        "It jams on every page.",
    );
    stack.send(&at(customer), &at(support), &raw).await;
    let got = stack.wait_for(customer, "INBOX", 1, WAIT).await;
    assert!(
        subject(&got[0]).contains("[HD-000001] Received"),
        "{}",
        desk.log()
    );
    let notice = stack.wait_for(team, "INBOX", 1, WAIT).await.remove(0);
    let tech_from = format!("Terry Tech <{}>", at(tech));

    // The technician resolves it: the customer gets the resolution notice with the deadline.
    let resolve = reply(
        &notice,
        &tech_from,
        &at(support),
        "/resolve Replaced the toner.",
    );
    stack.send(&at(tech), &at(support), &resolve).await;
    let got = stack.wait_for(customer, "INBOX", 2, WAIT).await;
    let resolution = &got[1];
    assert!(
        subject(resolution).contains("Resolved:"),
        "{}",
        subject(resolution)
    );
    let body = text(resolution);
    assert!(body.contains("Replaced the toner."), "{body}");
    assert!(
        body.contains("reply to this message by") && body.contains("UTC"),
        "{body}"
    );
    assert_eq!(status(&desk, "HD-000001"), "resolved");

    // The customer disputes it inside the window: reopened, the customer and the team are told.
    let dispute = reply(
        resolution,
        &at(customer),
        &at(support),
        "Sorry, it still jams.",
    );
    stack.send(&at(customer), &at(support), &dispute).await;
    let got = stack.wait_for(customer, "INBOX", 3, WAIT).await;
    assert!(
        subject(&got[2]).contains("Reopened:"),
        "{}",
        subject(&got[2])
    );
    let team_mail = stack.wait_for(team, "INBOX", 2, WAIT).await;
    assert!(
        subject(&team_mail[1]).contains("Reopened by the customer"),
        "{}",
        subject(&team_mail[1])
    );
    assert_eq!(status(&desk, "HD-000001"), "in_progress");

    // Resolved again; the customer only says thanks: it stays resolved.
    let resolve = reply(
        &team_mail[1],
        &tech_from,
        &at(support),
        "/resolve New drum fitted.",
    );
    stack.send(&at(tech), &at(support), &resolve).await;
    let got = stack.wait_for(customer, "INBOX", 4, WAIT).await;
    assert!(
        text(&got[3]).contains("New drum fitted."),
        "{}",
        text(&got[3])
    );
    let thanks = reply(
        &got[3],
        &at(customer),
        &at(support),
        "Thank you, works now!",
    );
    stack.send(&at(customer), &at(support), &thanks).await;
    assert!(
        crate::util::wait_until(WAIT, || events(&desk, "HD-000001")
            .contains(&"thanks_received".to_owned())),
        "{:?}\n{}",
        events(&desk, "HD-000001"),
        desk.log()
    );
    assert_eq!(status(&desk, "HD-000001"), "resolved");

    // A restart in the middle of the window keeps the deadline: the case closes by itself and
    // the customer is told, once.
    assert!(daemon.terminate().success());
    daemon = desk.start();
    let got = stack
        .wait_for(customer, "INBOX", 5, Duration::from_secs(40))
        .await;
    assert!(subject(&got[4]).contains("Closed:"), "{}", subject(&got[4]));
    assert_eq!(status(&desk, "HD-000001"), "closed");

    // A reply to the closed case opens a new one, linked, and the acknowledgment says so.
    let again = reply(
        &got[4],
        &at(customer),
        &at(support),
        "It jams again, sorry.",
    );
    stack.send(&at(customer), &at(support), &again).await;
    let got = stack.wait_for(customer, "INBOX", 6, WAIT).await;
    assert!(
        subject(&got[5]).contains("[HD-000002] Received"),
        "{}",
        subject(&got[5])
    );
    assert!(
        text(&got[5]).contains("Case HD-000001, which you replied to, is closed"),
        "{}",
        text(&got[5])
    );
    let links = case(&desk, "HD-000002")["links"].clone();
    assert_eq!(links[0]["ticket"], "HD-000001", "{links}");
    assert_eq!(status(&desk, "HD-000001"), "closed");
    // Nothing twice: one closed notice, however often the scheduler ran.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stack.fetch_all(customer, "INBOX").await.len(), 6);
    assert!(daemon.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_warning_then_breach_notice_reach_the_team() {
    let Some(stack) = stack::shared() else { return };
    let (support, customer, team, tech) = ("support12", "support15", "support16", "customer16");
    // Emergencies get 6 seconds around the clock here; the team is warned at half of it.
    let desk = desk(
        stack,
        support,
        (team, tech),
        "",
        "[sla]\nwarn_at = 0.5\ndigest = \"off\"\n",
        |r| {
            r.replace(
                "{ level = 1, name = \"Emergency\", target = \"4h\" }",
                "{ level = 1, name = \"Emergency\", target = \"6s\", clock = \"24x7\" }",
            )
        },
    );
    let daemon = desk.start();
    let raw = request(
        customer,
        support,
        "sla-1",
        "Network outage",
        "The network is down in every school of the district.",
    );
    stack.send(&at(customer), &at(support), &raw).await;
    let got = stack
        .wait_for(team, "INBOX", 3, Duration::from_secs(40))
        .await;
    assert!(
        subject(&got[0]).contains("New case"),
        "{}",
        subject(&got[0])
    );
    assert!(
        subject(&got[1]).contains("SLA warning"),
        "{}",
        subject(&got[1])
    );
    assert!(
        text(&got[1]).contains("6 seconds (24x7)"),
        "{}",
        text(&got[1])
    );
    assert!(
        subject(&got[2]).contains("SLA breached"),
        "{}",
        subject(&got[2])
    );
    let kinds = events(&desk, "HD-000001");
    assert!(
        kinds.contains(&"sla_warning".to_owned()) && kinds.contains(&"sla_breached".to_owned()),
        "{kinds:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stack.fetch_all(team, "INBOX").await.len(), 3, "each once");
    assert!(daemon.terminate().success());
}
