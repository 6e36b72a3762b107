//! Unit tests.
use super::*;

const LIMITS: Limits = Limits {
    max_message_size: 1 << 20,
    max_attachment_size: 1 << 10,
};

fn parse_str(s: &str) -> Result<Inbound, ParseError> {
    parse(s.as_bytes(), LIMITS, "support@example.test")
}

#[test]
fn plain_message_is_decoded() {
    let m = parse_str(
        "From: \"Alice\" <Alice@Example.test>\r\nTo: support@example.test\r\n\
         Subject: Printer\r\n  broken\r\nMessage-ID: <a1@example.test>\r\n\
         References: <r1@x> <r2@x>\r\nIn-Reply-To: <r2@x>\r\n\r\nHello\r\n\r\n\r\n\r\nBye\r\n",
    )
    .unwrap();
    assert_eq!(m.from.address, "alice@example.test");
    assert_eq!(m.from.name.as_deref(), Some("Alice"));
    assert_eq!(m.subject, "Printer broken");
    assert_eq!(m.text, "Hello\n\n\nBye");
    assert_eq!(m.message_id.as_deref(), Some("a1@example.test"));
    assert_eq!(m.references, ["r1@x", "r2@x"]);
    assert_eq!(m.in_reply_to, ["r2@x"]);
    assert!(m.auto_signals.is_empty());
}

#[test]
fn refusals_say_why() {
    assert!(matches!(parse_str(""), Err(ParseError::NotAMessage(_))));
    let err = parse_str("From: <<<nope\r\nSubject: x\r\n\r\nbody").unwrap_err();
    assert!(matches!(err, ParseError::NoSender(_)), "{err}");
    let big = format!("From: a@b.test\r\n\r\n{}", "x".repeat(2 << 20));
    assert!(matches!(parse_str(&big), Err(ParseError::TooLarge { .. })));
}

#[test]
fn nesting_depth_counts_open_elements() {
    assert_eq!(nesting_depth("<p>a<br>b</p><ul><li>x</li></ul>"), 2);
    assert_eq!(nesting_depth(&"<div>".repeat(1000)), 1000);
}

#[test]
fn deeply_nested_html_falls_back_to_the_linear_converter() {
    let n = 20_000;
    let raw = format!(
        "From: a@b.test\r\nContent-Type: text/html\r\n\r\n{}deep{}",
        "<div>".repeat(n),
        "</div>".repeat(n)
    );
    let m = parse_str(&raw).unwrap();
    assert!(m.text_from_html);
    assert!(m.text.contains("deep"));
}

#[test]
fn content_hash_ignores_prepended_trace_fields() {
    let body = "From: a@b.test\r\nSubject: x\r\n\r\nhi\r\n";
    let traced = format!(
        "Return-Path: <a@b.test>\r\nReceived: from x\r\n\tby y; Mon\r\nDelivered-To: s@e.test\r\n{body}"
    );
    assert_eq!(
        content_hash(body.as_bytes()),
        content_hash(traced.as_bytes())
    );
    assert_ne!(
        content_hash(body.as_bytes()),
        content_hash(b"From: a@b.test\r\n\r\nother")
    );
}

#[test]
fn oversized_attachment_is_described_not_extracted() {
    let big = "A".repeat(4000);
    let raw = format!(
        "From: a@b.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nsee file\r\n--b\r\n\
         Content-Type: text/plain; name=\"big.txt\"\r\n\
         Content-Disposition: attachment; filename=\"big.txt\"\r\n\r\n{big}\r\n--b--\r\n"
    );
    let m = parse_str(&raw).unwrap();
    assert_eq!(m.text, "see file");
    let a = &m.attachments[0];
    assert_eq!(a.filename.as_deref(), Some("big.txt"));
    assert!(a.content.is_none());
    assert!(a
        .omitted
        .as_deref()
        .unwrap()
        .contains("max_attachment_size"));
}

/// Issue 12: a display name reaches headers and templates without control characters, and only
/// From gives a message its identity.
#[test]
fn display_names_lose_control_characters_and_only_from_identifies() {
    let m = parse_str(
        "From: =?utf-8?q?Eve=0D=0ABcc=3A_x=40evil=2Etest=E2=80=AE?= <eve@example.test>\r\n\
         Subject: x\r\n\r\nhi\r\n",
    )
    .unwrap();
    assert_eq!(m.from.name.as_deref(), Some("Eve Bcc: x@evil.test"));
    assert_eq!(
        display_name("\"  A\u{0}li\tce \u{1b}[31m \""),
        "A li ce [31m"
    );
    for from in ["undisclosed-recipients:;", "", "Nobody"] {
        let err = parse_str(&format!(
            "From: {from}\r\nSender: alice@example.test\r\nReturn-Path: <alice@example.test>\r\n\
             Subject: x\r\n\r\nhi\r\n"
        ))
        .unwrap_err();
        assert!(matches!(err, ParseError::NoSender(_)), "{from}: {err}");
    }
}
