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

/// Whether an HTML part went through html2text: only it writes links as footnotes.
fn footnoted(text: &str, url: &str) -> bool {
    text.contains(&format!("[1]: {url}"))
}

#[test]
fn html_guard_counts_tables_in_any_letter_case() {
    let html = |tables: usize| {
        format!(
            "From: a@b.test\r\nContent-Type: text/html\r\n\r\n\
             <p><a href=\"https://example.test/x\">here</a></p>{}",
            "<TaBlE><tr><td>c</td></tr></TaBlE>".repeat(tables)
        )
    };
    let few = parse_str(&html(10)).unwrap();
    assert!(
        footnoted(&few.text, "https://example.test/x"),
        "{}",
        few.text
    );
    let many = parse_str(&html(201)).unwrap();
    assert!(many.text_from_html && many.text.contains("here"));
    assert!(
        !footnoted(&many.text, "https://example.test/x"),
        "html2text got 201 tables"
    );
    assert_eq!(
        count_tags("<table><TABLE><Table><tablex><p>table", "table"),
        4
    );
}

#[test]
fn html_parts_share_one_budget() {
    // Three parts of 150 tables each: each under the bound alone, together over it.
    let part = |name: &str| {
        format!(
            "--b\r\nContent-Type: text/html\r\n\r\n<p><a href=\"https://example.test/{name}\">{name}</a></p>{}\r\n",
            "<table><tr><td>c</td></tr></table>".repeat(150)
        )
    };
    let raw = format!(
        "From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n{}{}{}--b--\r\n",
        part("one"),
        part("two"),
        part("three")
    );
    let m = parse_str(&raw).unwrap();
    assert!(m.text.contains("three"), "every part is converted");
    assert!(footnoted(&m.text, "https://example.test/one"), "{}", m.text);
    assert!(!footnoted(&m.text, "https://example.test/two"));
    assert!(!footnoted(&m.text, "https://example.test/three"));
}

#[test]
fn long_lists_are_cut_at_their_caps_and_the_cut_recorded() {
    let addresses = |n: usize, tag: &str| {
        (0..n)
            .map(|i| format!("{tag}{i}@x.test"))
            .collect::<Vec<_>>()
            .join(",\r\n ")
    };
    let refs = (0..150)
        .map(|i| format!("<r{i}@x>"))
        .collect::<Vec<_>>()
        .join("\r\n ");
    let raw = format!(
        "From: a@b.test\r\nTo: {}\r\nCc: {}\r\nReferences: {refs}\r\nSubject: s\r\n\r\nhi\r\n",
        addresses(150, "t"),
        addresses(20, "c")
    );
    let m = parse_str(&raw).unwrap();
    assert_eq!(m.to.len(), MAX_ADDRESSES);
    assert_eq!(m.to[0].address, "t0@x.test");
    assert_eq!(m.cc.len(), 20);
    assert_eq!(m.references.len(), MAX_IDS);
    assert_eq!(
        m.references.last().map(String::as_str),
        Some("r149@x"),
        "the newest are kept"
    );
    assert_eq!(m.references[0], "r50@x");
    let cut: Vec<(&str, usize, usize)> = m
        .capped
        .iter()
        .map(|c| (c.list.as_str(), c.found, c.kept))
        .collect();
    assert_eq!(cut, [("to", 150, 100), ("references", 150, 100)]);
    assert!(parse_str("From: a@b.test\r\nSubject: s\r\n\r\nhi\r\n")
        .unwrap()
        .capped
        .is_empty());
}

#[test]
fn a_bounce_quoting_many_ids_keeps_each_once_up_to_the_cap() {
    let mut body = String::from("Could not deliver.\r\n");
    for i in 0..300 {
        // Each id twice: once quoted, once not.
        body.push_str(&format!(
            "Message-ID: <m{i}@x.test>\r\n> Message-ID: <m{i}@x.test>\r\n"
        ));
    }
    let raw = format!("From: postmaster@mx.test\r\nSubject: failure\r\n\r\n{body}");
    let m = parse_str(&raw).unwrap();
    assert!(m.is_bounce());
    assert_eq!(m.bounced_ids.len(), MAX_IDS);
    assert_eq!(m.bounced_ids[0], "m0@x.test");
    assert_eq!(m.bounced_ids[1], "m1@x.test");
    let cut = m.capped.iter().find(|c| c.list == "bounced_ids").unwrap();
    assert_eq!((cut.found, cut.kept), (300, MAX_IDS));
}

#[test]
fn attachments_past_the_cap_stay_in_the_raw_message() {
    let mut raw = String::from(
        "From: a@b.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nfiles\r\n",
    );
    for i in 0..(MAX_ATTACHMENTS + 5) {
        raw.push_str(&format!(
            "--b\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"f{i}.bin\"\r\n\r\nx\r\n"
        ));
    }
    raw.push_str("--b--\r\n");
    let m = parse_str(&raw).unwrap();
    assert_eq!(m.attachments.len(), MAX_ATTACHMENTS);
    assert_eq!(m.attachments[0].filename.as_deref(), Some("f0.bin"));
    let cut = m.capped.iter().find(|c| c.list == "attachments").unwrap();
    assert_eq!(
        (cut.found, cut.kept),
        (MAX_ATTACHMENTS + 5, MAX_ATTACHMENTS)
    );
}

#[test]
fn text_past_its_cap_is_cut_and_says_so() {
    let line = "The printer on floor 2 prints nothing at all today.\r\n";
    let body = line.repeat(MAX_TEXT / 40);
    let m = parse(
        format!("From: a@b.test\r\nSubject: s\r\n\r\n{body}").as_bytes(),
        Limits {
            max_message_size: 8 << 20,
            max_attachment_size: 1 << 10,
        },
        "support@example.test",
    )
    .unwrap();
    assert!(m.text.len() < MAX_TEXT + 200, "{}", m.text.len());
    assert!(m.text.starts_with("The printer on floor 2"));
    assert!(m.text.ends_with("bytes; the raw message keeps all of it]"));
    let cut = m.capped.iter().find(|c| c.list == "text").unwrap();
    assert_eq!(cut.kept, MAX_TEXT);
    assert!(cut.found > MAX_TEXT);
}

/// An HTML reply with a pasted screenshot (multipart/related, `cid:`), as Outlook and Gmail send
/// one: the image is one of the message's files, so a relay carries it; an attachment too large
/// to keep apart can be read back from the raw message.
#[test]
fn inline_images_of_an_html_reply_are_files_and_any_file_reads_back_from_the_raw_message() {
    let raw = "From: tech@it.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n\
         Content-Type: text/plain\r\n\r\nSee the screenshot.\r\n--alt\r\n\
         Content-Type: multipart/related; boundary=\"rel\"\r\n\r\n--rel\r\n\
         Content-Type: text/html\r\n\r\n<p>See the screenshot.<img src=\"cid:img1@x\"></p>\r\n--rel\r\n\
         Content-Type: image/png; name=\"image001.png\"\r\nContent-ID: <img1@x>\r\n\
         Content-Disposition: inline; filename=\"image001.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--rel--\r\n--alt--\r\n";
    let m = parse_str(raw).unwrap();
    assert_eq!(m.attachments.len(), 1, "{:?}", m.attachments);
    assert_eq!(m.attachments[0].filename.as_deref(), Some("image001.png"));
    assert_eq!(m.attachments[0].content.as_deref(), Some(&b"hello"[..]));
    assert_eq!(
        attachment_bytes(raw.as_bytes(), 0).as_deref(),
        Some(&b"hello"[..])
    );
    assert_eq!(attachment_bytes(raw.as_bytes(), 1), None);
}

/// A text file keeps its bytes: decoded from its transfer encoding, not converted from its
/// charset (a Latin-1 log stays Latin-1), and without the line break that belongs to the
/// boundary.
#[test]
fn text_files_keep_their_bytes_whatever_their_charset_and_encoding() {
    let raw = b"From: a@b.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n\
--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Disposition: attachment; filename=\"a.txt\"\r\n\r\ncaf\xe9\r\nline2\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"b.txt\"\r\n\r\nY2Fm6Qo=\r\n--b\r\n\
Content-Type: text/csv; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Disposition: attachment; filename=\"c.csv\"\r\n\r\ncaf=E9=\r\n\r\n--b--\r\n";
    let m = parse(&raw[..], LIMITS, "support@example.test").unwrap();
    let files: Vec<&[u8]> = m
        .attachments
        .iter()
        .map(|a| a.content.as_deref().unwrap())
        .collect();
    let expected: [&[u8]; 3] = [b"caf\xe9\r\nline2\r\n", b"caf\xe9\n", b"caf\xe9"];
    assert_eq!(files, expected);
    assert_eq!(m.attachments[0].size, 13);
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(attachment_bytes(raw, i).as_deref(), Some(*want));
    }
}
