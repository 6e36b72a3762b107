//! Labelled corpora, the one format for both `rules eval` and the model's training: a TSV of
//! category, optional priority, subject and body, or a directory of `.eml` files with a `.label`
//! beside each; each request comes back as the mail the parser reads, so the rules and the model
//! see a corpus request as they see real mail.

use std::path::Path;

/// One labelled request of a corpus.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// Where it came from (`corpus.tsv:12`, `mail/0042.eml`).
    pub source: String,
    /// What it is.
    pub label: Label,
    /// The mail.
    pub raw: Vec<u8>,
}

/// Reads a corpus: the lines of a TSV file, or the `.eml` files of a directory with a `.label`
/// beside each.
///
/// # Errors
/// An unreadable file, a malformed line or label (naming where), an `.eml` without its label.
pub fn read(corpus: &Path) -> Result<Vec<Labelled>, String> {
    let what = corpus.display();
    let kind = std::fs::metadata(corpus)
        .map_err(|e| format!("cannot read {what}: {e}"))?
        .file_type();
    if kind.is_file() {
        let text =
            std::fs::read_to_string(corpus).map_err(|e| format!("cannot read {what}: {e}"))?;
        return from_tsv(&what.to_string(), &text);
    }
    if !kind.is_dir() {
        return Err(format!("cannot read {what}: not a file or a folder"));
    }
    let mut files: Vec<_> = std::fs::read_dir(corpus)
        .map_err(|e| format!("cannot read {what}: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let mut found = Vec::with_capacity(files.len());
    for eml in files {
        let label_file = eml.with_extension("label");
        let text = std::fs::read_to_string(&label_file).map_err(|e| {
            format!(
                "{}: no label beside it ({}: {e})",
                eml.display(),
                label_file.display()
            )
        })?;
        let label = parse_label(&text).map_err(|e| format!("{}: {e}", label_file.display()))?;
        let raw = std::fs::read(&eml).map_err(|e| format!("cannot read {}: {e}", eml.display()))?;
        found.push(Labelled {
            source: eml.display().to_string(),
            label,
            raw,
        });
    }
    Ok(found)
}

/// The requests of a TSV corpus's text; `name` is what sources say it came from.
///
/// # Errors
/// The first malformed line, as `name:LINE: what is wrong`.
pub fn from_tsv(name: &str, text: &str) -> Result<Vec<Labelled>, String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let source = format!("{name}:{}", n + 1);
        match parse_tsv_line(line) {
            Ok(Some((label, subject, body))) => found.push(Labelled {
                raw: as_mail(&subject, &body),
                source,
                label,
            }),
            Ok(None) => {}
            Err(e) => return Err(format!("{source}: {e}")),
        }
    }
    Ok(found)
}

/// What a corpus says a request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Its category.
    pub category: String,
    /// Its priority, when the corpus gives one.
    pub priority: Option<u8>,
}

/// A label as written beside an `.eml` file: `category` or `category priority`.
///
/// # Errors
/// No category, a priority that is not a number from 0 to 9, or more words.
pub fn parse_label(text: &str) -> Result<Label, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [category] => Ok(Label {
            category: (*category).to_owned(),
            priority: None,
        }),
        [category, priority] => Ok(Label {
            category: (*category).to_owned(),
            priority: Some(parse_priority(priority)?),
        }),
        [] => Err("no category".into()),
        _ => Err(format!(
            "{text:?}: expected a category and optionally a priority"
        )),
    }
}

fn parse_priority(text: &str) -> Result<u8, String> {
    text.parse::<u8>()
        .ok()
        .filter(|p| *p <= 9)
        .ok_or_else(|| format!("priority {text:?} is not a number from 0 to 9"))
}

/// One line of a TSV corpus: `category<TAB>priority<TAB>subject<TAB>body`, the priority
/// possibly empty, `\n`, `\t` and `\\` in the body standing for a line break, a tab and a
/// backslash. `None` for a blank line, a `#` comment and the header line (`category` first).
///
/// # Errors
/// Fewer than four fields, no category, or a bad priority.
pub fn parse_tsv_line(line: &str) -> Result<Option<(Label, String, String)>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<&str> = line.splitn(4, '\t').collect();
    let [category, priority, subject, body] = fields.as_slice() else {
        return Err(format!(
            "{} field(s); expected category, priority (may be empty), subject and body, \
             separated by tabs",
            fields.len()
        ));
    };
    let category = category.trim();
    if category == "category" {
        return Ok(None);
    }
    if category.is_empty() {
        return Err("no category".into());
    }
    let priority = match priority.trim() {
        "" => None,
        p => Some(parse_priority(p)?),
    };
    let label = Label {
        category: category.to_owned(),
        priority,
    };
    Ok(Some((label, subject.trim().to_owned(), unescape(body))))
}

/// `\n`, `\t` and `\\` in a TSV body.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            ('\\', Some('t')) => {
                out.push('\t');
                chars.next();
            }
            ('\\', Some('\\')) => {
                out.push('\\');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// A corpus request as a plain-text mail from a person, for the parser, so the rules see it as
/// they see real mail.
pub fn as_mail(subject: &str, body: &str) -> Vec<u8> {
    let subject: String = subject.chars().filter(|c| !c.is_control()).collect();
    format!(
        "From: Corpus <corpus@example.invalid>\r\nTo: support@example.invalid\r\n\
         Subject: {subject}\r\nMessage-ID: <corpus@example.invalid>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        body.replace('\n', "\r\n")
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_lines_and_labels_parse_or_say_what_is_wrong() {
        let line = "break_fix\t1\tNetwork down\tAll schools are offline.\\nSince 8:00.";
        let (label, subject, body) = parse_tsv_line(line).unwrap().unwrap();
        assert_eq!(
            label,
            Label {
                category: "break_fix".into(),
                priority: Some(1)
            }
        );
        assert_eq!(subject, "Network down");
        assert_eq!(body, "All schools are offline.\nSince 8:00.");
        let (label, _, body) = parse_tsv_line("process\t\tLoan\ta\\\\b\\tc")
            .unwrap()
            .unwrap();
        assert_eq!(label.priority, None);
        assert_eq!(body, "a\\b\tc");
        for skipped in ["", "# comment", "category\tpriority\tsubject\tbody"] {
            assert_eq!(parse_tsv_line(skipped), Ok(None), "{skipped:?}");
        }
        assert!(parse_tsv_line("break_fix\t1\tno body")
            .unwrap_err()
            .contains("3 field(s)"));
        assert!(parse_tsv_line("\t1\ts\tb")
            .unwrap_err()
            .contains("no category"));
        assert!(parse_tsv_line("x\t12\ts\tb")
            .unwrap_err()
            .contains("0 to 9"));
        assert_eq!(parse_label(" process 3\n").unwrap().priority, Some(3));
        assert_eq!(parse_label("process").unwrap().category, "process");
        assert!(parse_label("").is_err() && parse_label("a 1 b").is_err());
    }

    #[test]
    fn a_corpus_request_reads_as_mail_from_a_person() {
        let raw = as_mail("Projector for parent night", "Hello,\nwe need one.");
        let limits = crate::parse::Limits {
            max_message_size: u64::MAX,
            max_attachment_size: u64::MAX,
        };
        let m = crate::parse::parse(&raw, limits, "").unwrap();
        assert_eq!(m.subject, "Projector for parent night");
        assert!(m.text.contains("we need one."));
        assert!(m.auto_signals.is_empty(), "{:?}", m.auto_signals);
    }
}
