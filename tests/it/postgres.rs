//! The binary on PostgreSQL: the same commands as on SQLite, against a fresh database named in
//! `HELPDESK_DATABASE__URL` (the environment override). Runs when `HELPDESK_TEST_POSTGRES_URL`
//! names a server; with `CI=true` that variable is required.

use crate::util::{fixture, Desk};

/// Creates a database for one test and drops it afterwards.
pub(crate) struct Database {
    admin_url: String,
    name: String,
}

impl Database {
    /// A fresh database for the test tagged `tag`; `None` without a PostgreSQL server.
    pub(crate) fn create(tag: &str) -> Option<Database> {
        let admin_url = match std::env::var("HELPDESK_TEST_POSTGRES_URL") {
            Ok(url) => url,
            Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but HELPDESK_TEST_POSTGRES_URL is not set")
            }
            Err(_) => return None,
        };
        let name = format!("helpdesk_it_{tag}_{}", std::process::id());
        run_sql(
            &admin_url,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
        run_sql(&admin_url, &format!("CREATE DATABASE {name}"));
        Some(Database { admin_url, name })
    }

    pub(crate) fn url(&self) -> String {
        let (base, _) = self
            .admin_url
            .rsplit_once('/')
            .expect("URL with a database path");
        format!("{base}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        run_sql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn run_sql(url: &str, sql: &str) {
    // On a thread of its own: callers may be inside a runtime (async tests) or not.
    std::thread::scope(|scope| {
        scope
            .spawn(|| run_sql_here(url, sql))
            .join()
            .expect("run_sql");
    });
}

fn run_sql_here(url: &str, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url)
            .await
            .expect("connect to HELPDESK_TEST_POSTGRES_URL");
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .expect(sql);
        pool.close().await;
    });
}

#[test]
fn the_cli_works_the_same_on_postgres() {
    let Some(db) = Database::create("cli") else {
        eprintln!("skipped: set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL end-to-end test");
        return;
    };
    let desk = Desk::new("");
    let url = db.url();
    let run = |args: &[&str]| {
        let out = desk
            .command(args)
            .env("HELPDESK_DATABASE__URL", &url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    for name in [
        "plain.eml",
        "reply_with_references.eml",
        "attachments.eml",
        "auto_reply.eml",
        "not_a_message.eml",
    ] {
        desk.deliver(name, &fixture(name));
    }
    assert_eq!(
        run(&["run", "--once"]).trim(),
        "created 3, joined 1, duplicates 0, quarantined 1, mail sent 2, retrying 0, failed 0; \
         closed 0, sla warnings 0, sla breaches 0, follow-ups 0, digests 0"
    );
    desk.deliver("again", &fixture("plain.eml"));
    assert!(run(&["run", "--once"]).starts_with("created 0, joined 0, duplicates 1"));
    let json = |args: &[&str]| -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&run(&a)).unwrap()
    };
    let cases = json(&["cases", "list", "--status", "open"]);
    assert_eq!(cases.as_array().unwrap().len(), 3);
    assert!(
        !desk.path("state").exists(),
        "nothing was written to the SQLite default"
    );
    let ticket_of = |subject: &str| {
        let case = cases
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["subject"] == subject)
            .expect(subject);
        case["ticket"].as_str().unwrap().to_owned()
    };
    let shown = json(&[
        "cases",
        "show",
        &ticket_of("Printer on 2nd floor not working"),
    ]);
    assert_eq!(
        shown["messages"].as_array().unwrap().len(),
        2,
        "request and reply"
    );
    assert_eq!(shown["outgoing"][0]["status"], "sent");
    let att = json(&[
        "cases",
        "show",
        &ticket_of("Laptop shows blue screen error"),
    ]);
    assert_eq!(
        att["messages"][0]["attachments"][1]["filename"],
        "error.log"
    );
    assert_eq!(json(&["quarantine", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(json(&["outbox", "list"]).as_array().unwrap().len(), 2);
    assert!(run(&["check"]).contains("Postgres database opened and migrated"));
}
