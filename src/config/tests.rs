//! Unit tests.
use super::*;

const MINIMAL: &str = r#"
    [helpdesk]
    address = "Support@Example.test"
    technicians = ["tech@example.test", "@it.example.test"]
    [database]
    url = "sqlite:data/helpdesk.db"
    [inbound]
    kind = "maildir"
    path = "Maildir"
    [outbound]
    kind = "file"
    path = "outbox"
"#;

fn load(text: &str, env: &[(&str, &str)]) -> Result<Settings, Error> {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    load_str(Path::new("/etc/hd/helpdesk.toml"), text, env)
}

#[test]
fn minimal_file_gets_defaults_and_absolute_paths() {
    let s = load(MINIMAL, &[]).unwrap();
    assert_eq!(s.address.address, "support@example.test");
    assert_eq!(s.ticket_prefix, "HD");
    assert_eq!(s.reopen_window, Duration::from_secs(3 * 86400));
    assert_eq!(s.maildir, Path::new("/etc/hd/Maildir"));
    let up = load(
        &MINIMAL.replace("path = \"outbox\"", "path = \"../var/./outbox\""),
        &[],
    )
    .unwrap();
    assert_eq!(up.outbox_dir, Path::new("/etc/var/outbox"));
    assert_eq!(s.database_url.expose(), "sqlite:///etc/hd/data/helpdesk.db");
    assert_eq!(s.max_attachment_size, 25 << 20);
    assert!(s.is_technician("TECH@example.test"));
    assert!(s.is_technician("anyone@it.example.test"));
    assert!(!s.is_technician("anyone@example.test"));
}

#[test]
fn env_overrides_file_values() {
    let s = load(
        MINIMAL,
        &[
            ("HELPDESK_HELPDESK__TICKET_PREFIX", "it"),
            ("HELPDESK_HELPDESK__AUTO_REPLY_LIMIT", "2"),
            ("HELPDESK_CONFIG", "/ignored"),
            ("HELPDESK_TEST_POSTGRES_URL", "postgres://ignored"),
        ],
    )
    .unwrap();
    assert_eq!(s.ticket_prefix, "IT");
    assert_eq!(s.auto_reply_limit, 2);
}

#[test]
fn bad_duration_names_key_value_and_expectation() {
    let text = MINIMAL.replace("[database]", "reopen_window = \"3 dayz\"\n[database]");
    let err = load(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("helpdesk.reopen_window = \"3 dayz\""), "{err}");
    assert!(err.contains("expected a duration"), "{err}");
}

#[test]
fn unknown_key_and_wrong_type_are_named() {
    let text = MINIMAL.replace("[database]", "colour = \"blue\"\n[database]");
    let err = load(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("helpdesk") && err.contains("colour"), "{err}");
    let text = MINIMAL.replace("[database]", "auto_reply_limit = \"many\"\n[database]");
    let err = load(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("helpdesk.auto_reply_limit"), "{err}");
    assert!(err.contains("\"many\""), "{err}");
}

#[test]
fn unsupported_kind_lists_supported_ones() {
    let text = MINIMAL.replace("kind = \"maildir\"", "kind = \"pop3\"");
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
        let err = load(&MINIMAL.replace(from, to), &[])
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
    let s = load(&MINIMAL.replace("sqlite:data", "sqlite:secret"), &[]).unwrap();
    assert!(!format!("{s:?}").contains("secret"));
}
