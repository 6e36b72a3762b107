//! `tests/fixtures/mail/NAME.eml` → `NAME.json`: the parsed message (or the parse error) and
//! the rules' decision. On a mismatch the test writes `NAME.actual` beside it for diffing;
//! `HELPDESK_BLESS=1 cargo test golden` rewrites the expected files after a deliberate change.

use std::path::{Path, PathBuf};

use helpdesk::classify::Rules;
use helpdesk::parse::{parse, Limits};
use serde_json::json;

const LIMITS: Limits = Limits {
    max_message_size: 64 << 20,
    max_attachment_size: 1 << 20,
};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("fixture entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
}

fn actual(path: &Path, rules: &Rules) -> serde_json::Value {
    let raw = std::fs::read(path).expect("read fixture");
    match parse(&raw, LIMITS, "support@example.test") {
        Ok(m) => json!({ "inbound": m, "classification": rules.classify(&m) }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

#[test]
fn fixtures_parse_and_classify_as_recorded() {
    let rules = Rules::load(None).expect("shipped rules");
    let bless = std::env::var("HELPDESK_BLESS").is_ok_and(|v| v == "1");
    let files = fixtures();
    assert!(files.len() >= 20, "the fixture corpus is missing");
    let mut mismatched = Vec::new();
    for eml in &files {
        let got = serde_json::to_string_pretty(&actual(eml, &rules)).unwrap() + "\n";
        let expected_path = eml.with_extension("json");
        let actual_path = eml.with_extension("actual");
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        // A missing expected file is a mismatch like any other: the .actual shows what to bless.
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected == got {
            // Best effort: a stale .actual from an earlier failure would only confuse.
            let _ = std::fs::remove_file(&actual_path);
        } else {
            std::fs::write(&actual_path, &got).unwrap();
            mismatched.push(eml.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(
        mismatched.is_empty(),
        "golden mismatch for {mismatched:?}: compare NAME.json with NAME.actual in tests/fixtures/mail \
         (HELPDESK_BLESS=1 accepts deliberate changes)"
    );
}

/// Spot checks that do not depend on the recorded files: what each fixture is for.
#[test]
fn fixtures_exercise_what_they_claim() {
    let rules = Rules::load(None).unwrap();
    let get = |name: &str| {
        actual(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/mail")
                .join(name),
            &rules,
        )
    };
    let subject = |name: &str| get(name)["inbound"]["subject"].as_str().unwrap().to_owned();
    assert_eq!(subject("subject_latin1.eml"), "Problème avec l'écran");
    assert_eq!(
        subject("subject_utf8_b.eml"),
        "Нужен доступ к сетевому диску"
    );
    assert_eq!(subject("subject_shift_jis.eml"), "パスワードを忘れました");
    assert_eq!(subject("subject_koi8r.eml"), "Сломался принтер");
    assert_eq!(subject("subject_gb2312.eml"), "电脑无法开机");
    assert_eq!(subject("subject_mixed_words.eml"), "Re: café€uro order");
    let qp = get("quoted_printable.eml");
    assert!(qp["inbound"]["text"]
        .as_str()
        .unwrap()
        .contains("« Erreur 0x50 »"));
    let b64 = get("base64.eml");
    assert!(b64["inbound"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Grüße, unser WLAN"));
    let html = get("html_only.eml");
    assert_eq!(html["inbound"]["text_from_html"], true);
    assert!(html["inbound"]["text"]
        .as_str()
        .unwrap()
        .contains("* Model: BeamMaster 3000"));
    let att = get("attachments.eml");
    assert_eq!(
        att["inbound"]["attachments"][0]["filename"],
        "screenshot.png"
    );
    assert_eq!(att["inbound"]["attachments"][0]["size"], 69);
    let rfc2231 = get("rfc2231_filename.eml");
    assert_eq!(
        rfc2231["inbound"]["attachments"][0]["filename"],
        "Rechnung für Laptop €.pdf"
    );
    assert_eq!(
        get("auto_reply.eml")["inbound"]["auto_signals"],
        json!(["auto_submitted", "auto_reply_header"])
    );
    assert_eq!(
        get("bulk_list.eml")["inbound"]["auto_signals"],
        json!(["precedence", "list_mail"])
    );
    let dsn = get("mailer_daemon_dsn.eml");
    assert_eq!(
        dsn["inbound"]["auto_signals"],
        json!(["system_sender", "delivery_status"])
    );
    assert_eq!(
        dsn["inbound"]["bounced_ids"],
        json!(["hd.0000000000000000000000000000abcd@example.test"])
    );
    assert!(get("malformed.eml")["error"]
        .as_str()
        .unwrap()
        .contains("no usable sender address"));
    assert!(get("not_a_message.eml")["error"]
        .as_str()
        .unwrap()
        .contains("not an email message"));
    let reply = get("reply_with_references.eml");
    assert_eq!(
        reply["inbound"]["references"][0],
        "plain.20260112.0001@customer.example.test"
    );
    assert_eq!(
        get("network_outage.eml")["classification"]["priority"]["level"],
        1
    );
    assert_eq!(
        get("conference.eml")["classification"]["category"],
        "conference_support"
    );
}
