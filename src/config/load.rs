//! Reading the configuration: the TOML file, then the `HELPDESK_<SECTION>__<KEY>` environment
//! overrides, then [`super::validate`]. Errors never quote a secret's value.

use std::path::Path;

use super::validate::validate;
use super::{Error, RawConfig, Settings};

/// Environment variables with the `HELPDESK_` prefix that are not config overrides.
const NON_CONFIG_ENV: &[&str] = &["HELPDESK_CONFIG", "HELPDESK_LOG"];

/// Reads, merges and validates the configuration.
///
/// # Errors
/// Fails when the file cannot be read or parsed, or a value is invalid; the message names the
/// file, the key, the value and what was expected.
pub fn load(path: &Path) -> Result<Settings, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    // Relative paths inside the file are relative to its directory, so anchor that directory.
    let path = &std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let vars = std::env::vars().filter(|(k, _)| k.starts_with("HELPDESK_"));
    load_str(path, &text, vars)
}

/// [`load`] on text already read, with the environment passed in (for tests).
///
/// # Errors
/// As [`load`].
pub fn load_str(
    path: &Path,
    text: &str,
    env: impl Iterator<Item = (String, String)>,
) -> Result<Settings, Error> {
    let syntax = |message: String| Error::Syntax {
        path: path.to_owned(),
        message,
    };
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| syntax(toml_problem(text, &e)))?;
    apply_env(&mut table, env);
    let raw: RawConfig =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.inner();
            syntax(match key.rsplit('.').next() {
                // The parser's message quotes the value: never for a secret.
                Some(last) if SECRET_KEYS.contains(&last) => {
                    format!("{key}: expected a string (the value is not shown: it is a secret)")
                }
                _ => format!("{key}: {inner}"),
            })
        })?;
    validate(path, raw)
}

/// Keys whose values are secrets: an error about them never shows the value.
const SECRET_KEYS: &[&str] = &["password", "url"];

/// A TOML syntax error as line, column and the parser's words, without the source line it would
/// quote (which may hold a password).
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!(
                "not valid TOML at line {line}, column {column}: {}",
                e.message()
            )
        }
        None => format!("not valid TOML: {}", e.message()),
    }
}

/// Applies `HELPDESK_SECTION__KEY=value` overrides. Values that read as TOML booleans, integers
/// or arrays keep that type; anything else is a string.
fn apply_env(table: &mut toml::Table, env: impl Iterator<Item = (String, String)>) {
    const SECTIONS: &[&str] = &[
        "helpdesk", "database", "inbound", "outbound", "calendar", "sla", "metrics",
    ];
    for (name, value) in env {
        if NON_CONFIG_ENV.contains(&name.as_str()) || name.starts_with("HELPDESK_TEST_") {
            continue;
        }
        let key = name["HELPDESK_".len()..].to_ascii_lowercase();
        let Some((section, field)) = key.split_once("__") else {
            tracing::warn!(variable = %name, "ignoring environment variable: expected HELPDESK_<SECTION>__<KEY>");
            continue;
        };
        if !SECTIONS.contains(&section) {
            tracing::warn!(variable = %name, "ignoring environment variable: unknown section `{section}`");
            continue;
        }
        let section = table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(t) = section {
            // A secret is text, whatever it looks like (a numeric password stays a string).
            let value = if SECRET_KEYS.contains(&field) {
                toml::Value::String(value)
            } else {
                env_value(&value)
            };
            t.insert(field.to_owned(), value);
        }
    }
}

fn env_value(value: &str) -> toml::Value {
    let looks_typed = value.starts_with('[')
        || value == "true"
        || value == "false"
        || value.parse::<i64>().is_ok();
    if looks_typed {
        if let Ok(mut t) = toml::from_str::<toml::Table>(&format!("v = {value}")) {
            if let Some(v) = t.remove("v") {
                return v;
            }
        }
    }
    toml::Value::String(value.to_owned())
}
