//! How the commands print: JSON for scripts, table cells for people.

use std::io::Write;
use std::process::ExitCode;

/// Writes `value` as pretty JSON and a newline.
///
/// # Errors
/// Writing fails (a closed pipe is an `io::Error` that `main` recognises).
pub(super) fn json(
    out: &mut impl Write,
    value: &impl serde::Serialize,
) -> anyhow::Result<ExitCode> {
    // Rendered first so that a closed pipe is an io::Error that `main` recognises, not one
    // hidden inside serde_json's.
    let text = serde_json::to_string_pretty(value)?;
    writeln!(out, "{text}")?;
    Ok(ExitCode::SUCCESS)
}

/// Shortens `s` to `max` characters for a table cell.
pub(super) fn cell(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
