//! `helpdesk rules test FILE.eml`: parse a message and show what the rules decide and why,
//! without touching the database; `helpdesk rules default`: print the shipped chart.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::classify::{self, Rules};
use crate::config;
use crate::parse::{self, Limits};

pub(super) fn default_command(out: &mut impl Write) -> anyhow::Result<ExitCode> {
    out.write_all(classify::DEFAULT_RULES.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn test_command(
    config_path: &Path,
    file: &Path,
    rules_path: Option<&Path>,
    as_json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let raw = std::fs::read(file).with_context(|| format!("while reading {}", file.display()))?;
    let (rules, own, limits) = match rules_path {
        Some(p) => (
            Rules::load(Some(p))?,
            String::new(),
            Limits {
                max_message_size: u64::MAX,
                max_attachment_size: u64::MAX,
            },
        ),
        None => {
            let s = config::load(config_path)
                .context("while loading the configuration (or give --rules FILE)")?;
            let limits = Limits {
                max_message_size: s.max_message_size,
                max_attachment_size: s.max_attachment_size,
            };
            (
                Rules::load(s.rules_path.as_deref()).context("while loading the rules")?,
                s.address.address,
                limits,
            )
        }
    };
    let m = match parse::parse(&raw, limits, &own) {
        Ok(m) => m,
        Err(e) => {
            if as_json {
                serde_json::to_writer_pretty(&mut *out, &json!({ "quarantined": e.to_string() }))?;
                writeln!(out)?;
            } else {
                writeln!(out, "would be quarantined: {e}")?;
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let c = rules.classify(&m);
    if as_json {
        serde_json::to_writer_pretty(&mut *out, &json!({ "message": m, "classification": c }))?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "from       {}", m.from.address)?;
    writeln!(out, "subject    {}", m.subject)?;
    let signals: Vec<String> = m
        .auto_signals
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    writeln!(
        out,
        "signals    {}",
        if signals.is_empty() {
            "none (written by a person)".into()
        } else {
            format!("{} (no acknowledgment)", signals.join(", "))
        }
    )?;
    match &c.rule {
        Some(rule) => {
            writeln!(out, "rule       {rule}")?;
            for e in &c.evidence {
                writeln!(
                    out,
                    "  {} matched {:?} (pattern {:?})",
                    e.field,
                    e.matched,
                    cut(&e.pattern, 80)
                )?;
            }
        }
        None => writeln!(
            out,
            "rule       none matched: the case goes to the uncategorized queue"
        )?,
    }
    let number = rules
        .category(&c.category)
        .and_then(|cat| cat.number)
        .map(|n| format!(" (chart {n})"))
        .unwrap_or_default();
    writeln!(
        out,
        "category   {}{number} — {}",
        c.category, c.category_name
    )?;
    let target = c.priority.target.map_or_else(
        || "no SLA".to_owned(),
        |t| format!("target {}", classify::describe(t)),
    );
    writeln!(
        out,
        "priority   {} {} ({target})",
        c.priority.level, c.priority.name
    )?;
    writeln!(out, "type       {}", c.case_type)?;
    writeln!(out, "team       {}", c.team.as_deref().unwrap_or("-"))?;
    writeln!(out, "template   {}", c.template)?;
    Ok(ExitCode::SUCCESS)
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}
