//! Unit tests.
use std::path::Path;

use super::*;

/// The smallest valid configuration: technicians, a database, and the mail sections every test
/// configuration has ([`super::testing::MAIL`]).
fn minimal() -> String {
    let head = r#"
    [helpdesk]
    address = "Support@Example.test"
    technicians = ["tech@example.test", "@it.example.test"]
    [database]
    url = "sqlite:data/helpdesk.db"
"#;
    format!("{head}{}", super::testing::MAIL)
}

fn load(text: &str, env: &[(&str, &str)]) -> Result<Settings, Error> {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    load_str(Path::new("/etc/hd/helpdesk.toml"), text, env)
}

#[test]
fn minimal_file_gets_defaults_and_absolute_paths() {
    let s = load(&minimal(), &[]).unwrap();
    assert_eq!(s.address.address, "support@example.test");
    assert_eq!(s.ticket_prefix, "HD");
    assert_eq!(s.reopen_window, Duration::from_secs(3 * 86400));
    assert!(
        matches!(&s.source, SourceSettings::Maildir { path } if path == Path::new("/etc/hd/Maildir"))
    );
    assert_eq!(s.poll_interval, Duration::from_secs(5));
    let up = load(
        &minimal().replace("path = \"outbox\"", "path = \"../var/./outbox\""),
        &[],
    )
    .unwrap();
    assert!(
        matches!(&up.transport, TransportSettings::File { dir } if dir == Path::new("/etc/var/outbox"))
    );
    assert_eq!(s.database_url.expose(), "sqlite:///etc/hd/data/helpdesk.db");
    assert_eq!(s.max_attachment_size, 25 << 20);
    assert_eq!(s.max_attachments_size, 10 << 20, "10MiB per outgoing mail");
    assert!(s.reply_all, "relays follow reply-all by default");
    assert!(s.one_cpu, "a daemon on SQLite keeps to one CPU by default");
    let all = load(
        &minimal().replace("[database]\n", "[database]\n    one_cpu = false\n"),
        &[],
    )
    .unwrap();
    assert!(!all.one_cpu);
    assert!(!s.command_receipts, "receipts are asked for");
    assert!(s.is_staff_address("support+HD-000001@example.test"));
    assert!(s.is_staff_address("tech@example.test"));
    assert!(!s.is_staff_address("alice@example.test"));
    assert!(s.is_technician("TECH@example.test"));
    assert!(s.is_technician("anyone@it.example.test"));
    assert!(!s.is_technician("anyone@example.test"));
}

#[test]
fn env_overrides_file_values() {
    let s = load(
        &minimal(),
        &[
            ("HELPDESK_HELPDESK__TICKET_PREFIX", "it"),
            ("HELPDESK_HELPDESK__AUTO_REPLY_LIMIT", "2"),
            ("HELPDESK_CONFIG", "/ignored"),
            ("HELPDESK_TEST_POSTGRES_URL", "postgres://ignored"),
        ],
    )
    .unwrap();
    assert_eq!(s.ticket_prefix, "IT");
    assert_eq!(s.caps.mailbox, 2);
}

#[test]
fn bad_duration_names_key_value_and_expectation() {
    let text = minimal().replace("[database]", "reopen_window = \"3 dayz\"\n[database]");
    let err = load(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("helpdesk.reopen_window = \"3 dayz\""), "{err}");
    assert!(err.contains("expected a duration"), "{err}");
}

#[test]
fn unknown_key_and_wrong_type_are_named() {
    let text = minimal().replace("[database]", "colour = \"blue\"\n[database]");
    let err = load(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("helpdesk") && err.contains("colour"), "{err}");
    let text = minimal().replace("[database]", "auto_reply_limit = \"many\"\n[database]");
    let err = load(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("helpdesk.auto_reply_limit"), "{err}");
    assert!(err.contains("\"many\""), "{err}");
}

#[test]
fn unsupported_kind_lists_supported_ones() {
    let text = minimal().replace("kind = \"maildir\"", "kind = \"pop3\"");
    let err = load(&text, &[]).unwrap_err().to_string();
    assert!(
        err.contains("inbound.kind") && err.contains("maildir"),
        "{err}"
    );
}

#[test]
fn invalid_values_are_rejected() {
    for (from, to, key) in [
        ("Support@Example.test", "not an address", "helpdesk.address"),
        ("@it.example.test", "it-team", "helpdesk.technicians"),
        ("sqlite:data/helpdesk.db", "mysql://db", "database.url"),
    ] {
        let err = load(&minimal().replace(from, to), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
}

#[test]
fn sizes_and_durations_parse() {
    assert_eq!(parse_size("10MB"), Ok(10_000_000));
    assert_eq!(parse_size("1 KiB"), Ok(1024));
    assert!(parse_size("ten").is_err());
    assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
}

#[test]
fn secrets_are_redacted_in_debug() {
    let s = load(&minimal().replace("sqlite:data", "sqlite:secret"), &[]).unwrap();
    assert!(!format!("{s:?}").contains("secret"));
}

const LIVE: &str = r#"
    [helpdesk]
    address = "support@example.test"
    name = "IT Service Desk"
    [inbound]
    kind = "imap"
    host = "imap.example.test"
    username = "support"
    password = "hunter2"
    processed_folder = "Processed"
    [outbound]
    kind = "smtp"
    host = "smtp.example.test"
    username = "support"
    password = "hunter3"
    from = "helpdesk@example.test"
"#;

#[test]
fn imap_and_smtp_get_port_defaults_by_security() {
    let s = load(LIVE, &[]).unwrap();
    let SourceSettings::Imap(imap) = &s.source else {
        panic!("imap expected")
    };
    assert_eq!(imap.server.port, 993);
    assert_eq!(imap.server.security, Security::Tls);
    assert_eq!(imap.folder, "INBOX");
    assert_eq!(imap.processed_folder.as_deref(), Some("Processed"));
    assert!(imap.idle);
    assert_eq!(s.poll_interval, Duration::from_secs(60));
    let TransportSettings::Smtp(smtp) = &s.transport else {
        panic!("smtp expected")
    };
    assert_eq!((smtp.port, smtp.security), (587, Security::Starttls));
    assert_eq!(s.from.address, "helpdesk@example.test");
    assert_eq!(s.from.name.as_deref(), Some("IT Service Desk"));
    let debug = format!("{s:?}");
    assert!(!debug.contains("hunter"), "{debug}");
    let s = load(
        LIVE,
        &[
            ("HELPDESK_INBOUND__SECURITY", "starttls"),
            ("HELPDESK_OUTBOUND__SECURITY", "tls"),
            ("HELPDESK_INBOUND__IDLE", "false"),
        ],
    )
    .unwrap();
    let (SourceSettings::Imap(imap), TransportSettings::Smtp(smtp)) = (&s.source, &s.transport)
    else {
        panic!("imap and smtp expected")
    };
    assert_eq!((imap.server.port, imap.idle), (143, false));
    assert_eq!(smtp.port, 465);
}

#[test]
fn password_file_is_read_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imap.pw"), "s3cret pass\n").unwrap();
    let text = LIVE.replace("password = \"hunter2\"", "password_file = \"imap.pw\"");
    let s = load_str(&dir.path().join("helpdesk.toml"), &text, std::iter::empty()).unwrap();
    let SourceSettings::Imap(imap) = &s.source else {
        panic!("imap expected")
    };
    let (user, pw) = imap.server.login.as_ref().unwrap();
    assert_eq!((user.as_str(), pw.expose()), ("support", "s3cret pass"));
}

#[test]
fn keys_of_the_wrong_kind_or_missing_are_named() {
    for (from, to, needle) in [
        (
            "host = \"imap.example.test\"\n",
            "",
            "inbound.host is required when inbound.kind = \"imap\"",
        ),
        (
            "username = \"support\"\n    password = \"hunter2\"",
            "password = \"hunter2\"",
            "inbound.username is required",
        ),
        (
            "processed_folder = \"Processed\"",
            "path = \"Maildir\"",
            "inbound.path does not apply when inbound.kind = \"imap\"",
        ),
        (
            "processed_folder = \"Processed\"",
            "processed_folder = \"INBOX\"",
            "must differ from inbound.folder",
        ),
        (
            "password = \"hunter3\"",
            "password = \"hunter3\"\n    password_file = \"x\"",
            "outbound.password_file and outbound.password are both set",
        ),
        (
            "from = \"helpdesk@example.test\"",
            "from = \"helpdesk\"",
            "outbound.from = \"helpdesk\"",
        ),
        (
            "[outbound]\n    kind = \"smtp\"",
            "[outbound]\n    kind = \"smtp\"\n    port = 0",
            "outbound.port = \"0\"",
        ),
    ] {
        assert!(LIVE.contains(from), "{from}");
        let err = load(&LIVE.replace(from, to), &[]).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let err = load(
        &minimal().replace("path = \"Maildir\"", "path = \"Maildir\"\n    host = \"x\""),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("inbound.host does not apply when inbound.kind = \"maildir\""),
        "{err}"
    );
}

#[test]
fn no_secret_reaches_a_config_error() {
    let imap = minimal().replace(
        "kind = \"maildir\"\npath = \"Maildir\"",
        "kind = \"imap\"\n    host = \"imap.example.test\"\n    username = \"u\"\n    password = PW",
    );
    for (written, secret) in [
        ("987654321", "987654321"),
        ("[\"hunter2\"]", "hunter2"),
        ("hunter2 # unquoted", "hunter2"),
        ("\"x\"\n    password = \"hunter2\"", "hunter2"),
    ] {
        let err = load(&imap.replace("PW", written), &[])
            .unwrap_err()
            .to_string();
        assert!(!err.contains(secret), "{written}: {err}");
        assert!(err.contains("helpdesk.toml"), "{err}");
    }
    let bad_url = minimal().replace("sqlite:data/helpdesk.db", "mysql://hunter2");
    let err = load(&bad_url, &[]).unwrap_err().to_string();
    assert!(!err.contains("hunter2"), "{err}");
    assert!(err.contains("database.url = \"mysql://…\""), "{err}");
    // A numeric password from the environment is a password, not a type error.
    let s = load(
        &imap.replace("PW", "\"file\""),
        &[("HELPDESK_INBOUND__PASSWORD", "31337")],
    )
    .unwrap();
    let SourceSettings::Imap(i) = &s.source else {
        panic!("imap")
    };
    assert_eq!(
        i.server.login.as_ref().map(|(_, p)| p.expose()),
        Some("31337")
    );
}

#[test]
fn stdin_intake_has_no_mailbox_and_refuses_mailbox_keys() {
    let text = minimal().replace("kind = \"maildir\"\npath = \"Maildir\"", "kind = \"stdin\"");
    assert!(text.contains("kind = \"stdin\""), "{text}");
    let s = load(&text, &[]).unwrap();
    assert!(matches!(s.source, SourceSettings::Stdin), "{:?}", s.source);
    assert_eq!(s.poll_interval, std::time::Duration::from_secs(5));
    let err = load(
        &text.replace(
            "kind = \"stdin\"",
            "kind = \"stdin\"\n    path = \"Maildir\"",
        ),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("inbound.path does not apply when inbound.kind = \"stdin\""),
        "{err}"
    );
}

/// Issue 15: `[desks.NAME]` needs a name for the customer, a way to reach it, and an address to
/// forward to; each error names the key.
#[test]
fn desks_need_a_name_a_way_to_reach_them_and_an_address_to_forward_to() {
    let with = |desk: &str| load(&format!("{}\n[desks.hr]\n{desk}", minimal()), &[]);
    let s =
        with("name = \"HR Service Center\"\nphone = \" +1 555 0100 \"\nforward = false").unwrap();
    let hr = s.desk("HR").unwrap();
    assert_eq!(
        (hr.name.as_str(), hr.phone.as_deref()),
        ("HR Service Center", Some("+1 555 0100"))
    );
    for (desk, expected) in [
        ("name = \" \"\nphone = \"1\"", "desks.hr.name"),
        ("name = \"HR\"", "desks.hr needs an address, phone or url"),
        (
            "name = \"HR\"\nurl = \"https://hr\"\nforward = true",
            "desks.hr.address is required when forward = true",
        ),
        (
            "name = \"HR\"\naddress = \"not an address\"",
            "desks.hr.address = \"not an address\"",
        ),
    ] {
        let e = with(desk).unwrap_err().to_string();
        assert!(e.contains(expected), "{desk}: {e}");
    }
    let bad = load(
        &format!(
            "{}\n[desks.Human-Resources]\nname = \"HR\"\nphone = \"1\"",
            minimal()
        ),
        &[],
    );
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("desks.Human-Resources"));
}

#[test]
fn lmtp_intake_listens_on_a_socket_or_loopback_only() {
    use crate::config::Listen;
    let lmtp = |listen: &str, extra: &str| {
        let keys = format!("kind = \"lmtp\"\nlisten = \"{listen}\"\n{extra}");
        load(
            &minimal().replace("kind = \"maildir\"\npath = \"Maildir\"", &keys),
            &[],
        )
    };
    let s = lmtp("unix:/run/helpdesk/lmtp.sock", "socket_group = \"0\"").unwrap();
    let SourceSettings::Lmtp { listen, group } = &s.source else {
        panic!("{:?}", s.source)
    };
    assert_eq!(listen, &Listen::Unix("/run/helpdesk/lmtp.sock".into()));
    assert_eq!(group, &Some(("0".to_owned(), 0)));
    let s = lmtp("127.0.0.1:2424", "").unwrap();
    assert!(
        matches!(&s.source, SourceSettings::Lmtp { listen: Listen::Tcp(a), group: None } if a.port() == 2424),
        "{:?}",
        s.source
    );
    for (listen, extra, says) in [
        ("0.0.0.0:2424", "", "loopback"),
        ("192.0.2.1:24", "", "no authentication"),
        ("lmtp.sock", "", "unix:/absolute/path"),
        ("127.0.0.1:0", "", "a port from 1"),
        (
            "/run/x.sock",
            "socket_group = \"no-such-group-here\"",
            "a group of this system",
        ),
        (
            "127.0.0.1:2424",
            "socket_group = \"postfix\"",
            "Unix socket only",
        ),
        ("/run/x.sock", "path = \"Maildir\"", "inbound.path"),
    ] {
        let err = lmtp(listen, extra).unwrap_err().to_string();
        assert!(err.contains(says), "{listen} {extra}: {err}");
    }
    let err = load(
        &minimal().replace("kind = \"maildir\"\npath = \"Maildir\"", "kind = \"lmtp\""),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("inbound.listen"), "{err}");
}

#[test]
fn outbound_connections_default_to_four_and_stay_within_bounds() {
    let s = load(&minimal(), &[]).unwrap();
    assert_eq!(s.outbound_connections, 4);
    let with = |n: &str| {
        let text = minimal().replace("[outbound]", &format!("[outbound]\nconnections = {n}"));
        assert!(text.contains("connections"), "{text}");
        load(&text, &[])
    };
    assert_eq!(with("1").unwrap().outbound_connections, 1);
    assert_eq!(with("64").unwrap().outbound_connections, 64);
    for bad in ["0", "65"] {
        let err = with(bad).unwrap_err().to_string();
        assert!(err.contains("outbound.connections"), "{err}");
        assert!(err.contains("from 1 to 64"), "{err}");
    }
}
