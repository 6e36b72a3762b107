//! `helpdesk rules test FILE.eml`: parse a message and show what the rules decide and why,
//! without touching the database; `helpdesk rules eval CORPUS`: the same for a labelled corpus,
//! scored; `helpdesk rules default`: print the shipped chart.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::classify::corpus;
use crate::classify::eval::{self, Judged, Report};
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
    let (rules, own, limits) = load_rules(config_path, rules_path)?;
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
        None if c.category != classify::UNCATEGORIZED => writeln!(
            out,
            "rule       none of the category matched: its defaults apply"
        )?,
        None => writeln!(
            out,
            "rule       none matched: the case goes to the uncategorized queue"
        )?,
    }
    if let Some(note) = &c.model {
        writeln!(out, "model      {note}")?;
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

/// How `rules eval` reports and what it demands.
pub(super) struct EvalOptions {
    /// JSON instead of text.
    pub(super) json: bool,
    /// The score and the confusion without the misses, for a split that is never tuned on.
    pub(super) summary: bool,
    /// The least the corpus must score; any shortfall exits 1.
    pub(super) gate: eval::Gate,
}

/// Runs a labelled corpus through the rules and prints the score; exits 1 when it falls short
/// of the gate, saying how on stderr.
pub(super) fn eval_command(
    config_path: &Path,
    corpus: &Path,
    rules_path: Option<&Path>,
    options: &EvalOptions,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    options.gate.validate().map_err(anyhow::Error::msg)?;
    let (rules, own, limits) = load_rules(config_path, rules_path)?;
    let mut judged = Vec::new();
    for corpus::Labelled { source, label, raw } in
        corpus::read(corpus).map_err(anyhow::Error::msg)?
    {
        let m = parse::parse(&raw, limits, &own)
            .with_context(|| format!("{source}: the message does not parse"))?;
        if rules.category(&label.category).is_none() {
            anyhow::bail!("{source}: no category {:?} in the rules", label.category);
        }
        judged.push(Judged {
            source,
            subject: m.subject.clone(),
            category: label.category,
            priority: label.priority,
            got: rules.classify(&m),
        });
    }
    if judged.is_empty() {
        anyhow::bail!("{}: no labelled requests", corpus.display());
    }
    let mut report = eval::evaluate(&judged);
    if options.summary {
        report.misses.clear();
    }
    if options.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        print_report(corpus, &report, out)?;
    }
    let shortfalls = report.shortfalls(&options.gate);
    for s in &shortfalls {
        writeln!(std::io::stderr(), "helpdesk: {s}")?;
    }
    Ok(if shortfalls.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The score as a table, the confusion, and each miss.
fn print_report(corpus: &Path, r: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let pct = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{:.1}%", x * 100.0));
    writeln!(out, "corpus     {}: {} requests", corpus.display(), r.total)?;
    writeln!(
        out,
        "category   {}/{} right ({})",
        r.correct,
        r.total,
        pct(Some(r.accuracy))
    )?;
    if r.with_priority > 0 {
        writeln!(
            out,
            "priority   {}/{} right where the corpus gives one; emergencies {}/{} real ({})",
            r.priority_correct,
            r.with_priority,
            r.emergencies_correct,
            r.emergencies_predicted,
            pct(r.emergency_precision())
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "  {:<22} {:>8} {:>9} {:>8} {:>10} {:>8}",
        "CATEGORY", "LABELLED", "PREDICTED", "CORRECT", "PRECISION", "RECALL"
    )?;
    for c in &r.categories {
        writeln!(
            out,
            "  {:<22} {:>8} {:>9} {:>8} {:>10} {:>8}",
            c.category,
            c.labelled,
            c.predicted,
            c.correct,
            pct(c.precision),
            pct(c.recall)
        )?;
    }
    if !r.confusion.is_empty() {
        writeln!(out)?;
        writeln!(out, "confused (labelled -> decided):")?;
        for (want, got, n) in &r.confusion {
            writeln!(out, "  {n:>4}  {want} -> {got}")?;
        }
    }
    if !r.misses.is_empty() {
        writeln!(out)?;
        writeln!(out, "misses:")?;
        for m in &r.misses {
            let want = match m.expected.1 {
                Some(p) => format!("{} {p}", m.expected.0),
                None => m.expected.0.clone(),
            };
            let mut why = match &m.rule {
                Some(rule) => format!("rule {rule}: {}", m.evidence.join(", ")),
                None => "no rule of it matched".to_owned(),
            };
            if let Some(model) = &m.model {
                why = format!("{why}; model: {model}");
            }
            writeln!(
                out,
                "  {}  {:?}\n        expected {want}, got {} {} ({why})",
                m.source,
                cut(&m.subject, 70),
                m.got.0,
                m.got.1
            )?;
        }
    }
    Ok(())
}

/// The rules to try (`--rules FILE`, else the configured ones), our own address and the size
/// limits, as the daemon would parse with.
/// `rules related SET`: the links the rules' `[related]` thresholds make on a labelled set.
pub(super) fn related_command(
    config_path: &Path,
    set: &Path,
    rules_path: Option<&Path>,
    min_precision: Option<f64>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    use crate::classify::similar;
    let (rules, _, _) = load_rules(config_path, rules_path)?;
    let Some(settings) = rules.related() else {
        anyhow::bail!("the rules turn linking off ([related] enabled = false)");
    };
    let text =
        std::fs::read_to_string(set).with_context(|| format!("cannot read {}", set.display()))?;
    let labelled =
        similar::read_set(&text).map_err(|e| anyhow::anyhow!("{}: {e}", set.display()))?;
    let none = similar::Rarity::default();
    let r = similar::evaluate(&labelled, rules.rarity().unwrap_or(&none), settings);
    writeln!(out, "requests   {}", labelled.len())?;
    writeln!(
        out,
        "links      {} made, {} right: precision {:.1} %",
        r.linked,
        r.correct,
        100.0 * r.precision()
    )?;
    writeln!(
        out,
        "pairs      {} labelled within the window: recall {:.1} %",
        r.labelled,
        100.0 * r.recall()
    )?;
    writeln!(
        out,
        "requests   {} of {} that repeat an earlier one linked to it: {:.1} %",
        r.repeats_found,
        r.repeats,
        100.0 * r.request_recall()
    )?;
    writeln!(
        out,
        "kind       {} of {} right links told related from duplicate",
        r.kind_right, r.correct
    )?;
    Ok(match min_precision {
        Some(p) if 100.0 * r.precision() < p => {
            writeln!(out, "FAILED: precision below {p} %")?;
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    })
}

fn load_rules(
    config_path: &Path,
    rules_path: Option<&Path>,
) -> anyhow::Result<(Rules, String, Limits)> {
    Ok(match rules_path {
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
    })
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}
