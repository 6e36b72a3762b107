//! Test configurations: the mail sections most tests need, and settings from TOML text.

use std::path::Path;

use super::{load_str, Settings};

/// A Maildir in, a file outbox out: what a test configuration needs besides its own sections.
pub(crate) const MAIL: &str = r#"
[inbound]
kind = "maildir"
path = "Maildir"
[outbound]
kind = "file"
path = "outbox"
"#;

/// The settings `text` (TOML) gives; panics on a bad one.
pub(crate) fn load(text: &str) -> Settings {
    load_str(Path::new("/tmp/h.toml"), text, std::iter::empty()).unwrap()
}

/// The settings `text` (TOML without `[inbound]` and `[outbound]`) gives with [`MAIL`].
pub(crate) fn settings(text: &str) -> Settings {
    load(&format!("{text}\n{MAIL}"))
}
