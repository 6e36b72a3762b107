//! Files on outgoing mail, pure: which of a message's attachments ride along with the mail that
//! reports or relays it (in order, while the total stays within the per-mail size; the rest are
//! listed with their size and stay on the case), and how a file's name and type are written into
//! the headers of our mail, whatever the sender put in theirs.

use serde::{Deserialize, Serialize};

/// A file stored on a case, as the choice sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its `attachments` row.
    pub id: i64,
    /// Its number on the case (1-based, oldest message first): `cases attachment TICKET N`.
    pub number: usize,
    /// The name its sender gave, if any.
    pub filename: Option<String>,
    /// `type/subtype` as the sender declared it.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: u64,
    /// Whether its bytes were kept (false when over `inbound.max_attachment_size`).
    pub kept: bool,
}

/// A file as an outgoing mail's text names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// Its number on the case.
    pub number: usize,
    /// Its (safe) name.
    pub name: String,
    /// Its size, for people: `340 KB`.
    pub size: String,
    /// Whether the mail carries it; when not, it stays on the case.
    pub attached: bool,
}

/// What goes with one mail: the rows attached, and every file as the text lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choice {
    /// The `attachments` rows the mail carries, in order.
    pub attached: Vec<i64>,
    /// Every file of the message, attached or not, in order.
    pub listed: Vec<Listed>,
}

/// Chooses which of `files` one mail carries: each in turn while the total stays within
/// `budget` bytes (a file that does not fit is skipped, a smaller later one may still go);
/// files whose bytes were not kept are only listed. A `budget` of 0 attaches nothing.
pub fn choose(files: &[Stored], budget: u64) -> Choice {
    let mut used = 0u64;
    let mut choice = Choice::default();
    for f in files {
        let fits = f.kept && used.saturating_add(f.size) <= budget;
        if fits {
            used += f.size;
            choice.attached.push(f.id);
        }
        choice.listed.push(Listed {
            number: f.number,
            name: filename(f.filename.as_deref(), &f.content_type, f.number),
            size: human_size(f.size),
            attached: fits,
        });
    }
    choice
}

/// The line a customer's mail adds for files too large to send with it, if there are any:
/// `Not attached (too large for mail; kept with your case, ask us for them): setup.zip (48.2 MB)`.
pub fn kept_back(listed: &[Listed]) -> Option<String> {
    let back: Vec<String> = listed
        .iter()
        .filter(|l| !l.attached)
        .map(|l| format!("{} ({})", l.name, l.size))
        .collect();
    (!back.is_empty()).then(|| {
        format!(
            "Not attached (too large for mail; kept with your case, ask us for {}): {}",
            if back.len() == 1 { "it" } else { "them" },
            back.join(", ")
        )
    })
}

/// Longest file name written into a header, in characters; longer ones keep their extension.
const MAX_NAME: usize = 100;
/// Longest extension kept on a shortened name, in characters.
const MAX_EXTENSION: usize = 10;

/// A file name safe to write into our headers and to a disk: the last path component only
/// (no `../`, no drive), no control or quoting characters, no leading dots, at most
/// [`MAX_NAME`] characters with the extension kept. Without a usable name, `attachment-N` with
/// an extension for its type (`attachment-3.png`).
pub fn filename(given: Option<&str>, content_type: &str, number: usize) -> String {
    let base = given.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            '"' | '<' | '>' | '|' | '*' | '?' | ':' | ';' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let cleaned = cleaned
        .trim_start_matches(['.', ' ', '-'])
        .trim_end_matches(['.', ' ']);
    if cleaned.is_empty() {
        return format!("attachment-{number}{}", extension_of(content_type));
    }
    shorten(cleaned)
}

/// `name` cut to [`MAX_NAME`] characters, keeping a short extension.
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME {
        return name.to_owned();
    }
    let ext = name
        .rfind('.')
        .map(|i| &name[i..])
        .filter(|e| e.chars().count() <= MAX_EXTENSION + 1)
        .unwrap_or("");
    let keep = MAX_NAME - ext.chars().count();
    let stem: String = name[..name.len() - ext.len()].chars().take(keep).collect();
    format!("{}{ext}", stem.trim_end())
}

/// The extension for a type, for a file that came without a name.
fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => ".png",
        "image/jpeg" | "image/jpg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "image/bmp" => ".bmp",
        "application/pdf" => ".pdf",
        "text/plain" => ".txt",
        "text/csv" => ".csv",
        "text/html" => ".html",
        "application/zip" => ".zip",
        "message/rfc822" => ".eml",
        "text/calendar" => ".ics",
        _ => ".bin",
    }
}

/// A content type safe to write into our headers: `type/subtype` made of RFC 2045 token
/// characters, lower-case, without parameters; anything else is `application/octet-stream`.
pub fn content_type(declared: &str) -> String {
    const FALLBACK: &str = "application/octet-stream";
    let declared = declared.split(';').next().unwrap_or("").trim();
    let Some((top, sub)) = declared.split_once('/') else {
        return FALLBACK.to_owned();
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    if token(top) && token(sub) {
        declared.to_ascii_lowercase()
    } else {
        FALLBACK.to_owned()
    }
}

/// A size for people: `512 bytes`, `340 KB`, `12.5 MB` (powers of 1024).
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1 << 10;
    const MB: u64 = 1 << 20;
    const GB: u64 = 1 << 30;
    #[allow(clippy::cast_precision_loss)]
    let tenths = |unit: u64| (bytes as f64 / unit as f64 * 10.0).round() / 10.0;
    match bytes {
        b if b < KB => format!("{b} bytes"),
        b if b < MB => format!("{} KB", b.div_ceil(KB)),
        b if b < GB => format!("{} MB", tenths(MB)),
        _ => format!("{} GB", tenths(GB)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: i64, name: &str, size: u64) -> Stored {
        Stored {
            id,
            number: usize::try_from(id).unwrap(),
            filename: Some(name.to_owned()),
            content_type: "application/pdf".into(),
            size,
            kept: true,
        }
    }

    #[test]
    fn files_go_in_order_while_they_fit_and_the_rest_are_listed() {
        let files = [
            stored(1, "a.pdf", 600),
            stored(2, "big.iso", 5000),
            stored(3, "b.png", 400),
            stored(4, "c.txt", 1),
        ];
        let choice = choose(&files, 1000);
        assert_eq!(choice.attached, [1, 3]);
        let attached: Vec<bool> = choice.listed.iter().map(|l| l.attached).collect();
        assert_eq!(attached, [true, false, true, false]);
        assert_eq!(choice.listed[1].name, "big.iso");
        assert_eq!(choice.listed[1].size, "5 KB");
        assert_eq!(choice.listed[1].number, 2);
    }

    #[test]
    fn files_too_large_are_named_for_the_customer() {
        let choice = choose(&[stored(1, "a.pdf", 10), stored(2, "setup.zip", 5000)], 100);
        assert_eq!(
            kept_back(&choice.listed).as_deref(),
            Some("Not attached (too large for mail; kept with your case, ask us for it): setup.zip (5 KB)")
        );
        assert_eq!(
            kept_back(&choose(&[stored(1, "a.pdf", 10)], 100).listed),
            None
        );
    }

    #[test]
    fn files_not_kept_at_intake_and_a_zero_budget_attach_nothing() {
        let mut huge = stored(1, "huge.zip", 10);
        huge.kept = false;
        let choice = choose(&[huge, stored(2, "ok.pdf", 10)], 1 << 20);
        assert_eq!(choice.attached, [2]);
        assert!(!choice.listed[0].attached);
        let none = choose(&[stored(1, "ok.pdf", 10)], 0);
        assert!(none.attached.is_empty());
        assert_eq!(none.listed.len(), 1);
        assert_eq!(choose(&[], 100), Choice::default());
    }

    #[test]
    fn names_lose_paths_control_characters_and_header_syntax() {
        assert_eq!(
            filename(Some("../../etc/passwd"), "text/plain", 1),
            "passwd"
        );
        assert_eq!(
            filename(Some("C:\\Users\\x\\report.pdf"), "", 1),
            "report.pdf"
        );
        assert_eq!(
            filename(Some("a\r\nBcc: victim@example.com.pdf"), "", 1),
            "a Bcc_ victim@example.com.pdf"
        );
        assert_eq!(
            filename(Some("x\"; filename=evil.exe"), "", 1),
            "x__ filename=evil.exe"
        );
        assert_eq!(filename(Some(".bashrc"), "text/plain", 1), "bashrc");
        assert_eq!(
            filename(Some("Prüfbericht März.pdf"), "", 1),
            "Prüfbericht März.pdf"
        );
        assert_eq!(filename(Some("  "), "image/png", 3), "attachment-3.png");
        assert_eq!(filename(None, "application/x-weird", 7), "attachment-7.bin");
        assert_eq!(filename(Some("..."), "image/jpeg", 2), "attachment-2.jpg");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("{}.pdf", "ä".repeat(300));
        let name = filename(Some(&long), "", 1);
        assert_eq!(name.chars().count(), MAX_NAME);
        assert!(name.ends_with("ä.pdf"), "{name}");
        let no_ext = "x".repeat(150);
        assert_eq!(filename(Some(&no_ext), "", 1).len(), MAX_NAME);
        let odd_ext = format!("{}.{}", "y".repeat(120), "z".repeat(40));
        assert_eq!(filename(Some(&odd_ext), "", 1).chars().count(), MAX_NAME);
    }

    #[test]
    fn content_types_are_tokens_or_octet_stream() {
        assert_eq!(content_type("image/PNG"), "image/png");
        assert_eq!(content_type("text/plain; charset=utf-8"), "text/plain");
        assert_eq!(
            content_type("application/vnd.ms-excel"),
            "application/vnd.ms-excel"
        );
        for bad in [
            "",
            "image",
            "image/",
            "/png",
            "text/plain\r\nBcc: x",
            "a b/c",
            "x/y z",
        ] {
            assert_eq!(content_type(bad), "application/octet-stream", "{bad:?}");
        }
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1024), "1 KB");
        assert_eq!(human_size(340 * 1024 + 1), "341 KB");
        assert_eq!(human_size(12 * 1024 * 1024 + 512 * 1024), "12.5 MB");
        assert_eq!(human_size(3 << 30), "3 GB");
    }
}
