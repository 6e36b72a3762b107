//! Several instances on one mailbox and one PostgreSQL database: two `helpdesk run` daemons
//! share the work, one reads the mailbox (the intake lease), both send the outbox (each row
//! claimed by one), and a kill -9 of the reader mid-batch hands the mailbox to the other
//! within seconds: every message is one case, every case one acknowledgment.

use std::process::{Child, Stdio};
use std::time::Duration;

use crate::live::{append_requests, assert_one_ack_per_case, wait_for_acks, LiveDesk, Options};
use crate::postgres::Database;
use crate::stack;
use crate::util::wait_until;

/// `helpdesk run` on the shared database, its log in `name.log`.
fn start(desk: &LiveDesk, url: &str, name: &str) -> Child {
    let log = std::fs::File::create(desk.desk.path(&format!("{name}.log"))).expect("log file");
    desk.desk
        .command(&["run"])
        .env("HELPDESK_DATABASE__URL", url)
        .env("HELPDESK_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn helpdesk run")
}

fn log(desk: &LiveDesk, name: &str) -> String {
    std::fs::read_to_string(desk.desk.path(&format!("{name}.log"))).unwrap_or_default()
}

fn cases(desk: &LiveDesk, url: &str) -> usize {
    let out = desk
        .desk
        .command(&["cases", "list", "--all", "--json"])
        .env("HELPDESK_DATABASE__URL", url)
        .output()
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_one_mailbox_each_case_and_each_mail_once_through_a_kill_9() {
    let Some(stack) = stack::shared() else { return };
    let Some(db) = Database::create("instances") else {
        eprintln!("skipped: set HELPDESK_TEST_POSTGRES_URL to run the several-instances test");
        return;
    };
    let url = db.url();
    let (support, customer) = ("support17", "customer17");
    // More than two intake batches (256), so the kill can land between commits.
    const N: usize = 600;
    append_requests(stack, (support, customer), "inst", N).await;
    let desk = LiveDesk::new(
        stack,
        support,
        Options {
            helpdesk_extra: "auto_reply_limit = 1000\nauto_reply_global_limit = 100000",
            ..Options::default()
        },
    );
    let mut a = start(&desk, &url, "a");
    let mut b = start(&desk, &url, "b");
    // One of them reads the mailbox; kill -9 it once some cases are in.
    assert!(
        wait_until(Duration::from_secs(30), || cases(&desk, &url) > 0),
        "no case: {}\n{}",
        log(&desk, "a"),
        log(&desk, "b")
    );
    let a_reads = log(&desk, "a").contains("intake lease taken");
    let (leader, survivor, name) = if a_reads {
        (&mut a, &mut b, "b")
    } else {
        (&mut b, &mut a, "a")
    };
    leader.kill().unwrap();
    leader.wait().unwrap();
    let at_kill = cases(&desk, &url);
    eprintln!("killed the reader with {at_kill} of {N} cases stored");
    assert!(
        wait_until(Duration::from_secs(60), || cases(&desk, &url) == N),
        "the standby did not finish: {} cases\n{}",
        cases(&desk, &url),
        log(&desk, name)
    );
    assert!(
        log(&desk, name).contains("intake lease taken"),
        "{}",
        log(&desk, name)
    );
    // Every case acknowledged once; a send the kill interrupted goes out again with the same
    // Message-ID once its claim expires (two minutes).
    let acks = wait_for_acks(stack, customer, N, Duration::from_secs(200)).await;
    assert_one_ack_per_case(&acks, N);
    crate::live::signal(survivor, "TERM");
    survivor.wait().unwrap();
}
