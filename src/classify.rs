//! Keyword rules: an ordered list of regex rules over subject, body and sender, first match wins,
//! plus the categorization chart (categories, their priorities and resolution targets) as data.
//! A message no rule matches goes to the `uncategorized` category. Pure: [`Rules::classify`] takes
//! the message and returns the decision with the evidence (which rule matched which text), which
//! `helpdesk rules test` prints.
//!
//! The rules see a bounded prefix of the text: the first [`SUBJECT_SCAN`] bytes of the subject
//! and [`BODY_SCAN`] of the body. Regexes run in linear time, but a rules file's dozens of
//! patterns over megabytes of text still take seconds; a request says what it is about near its
//! top.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use regex::Regex;
use serde::Serialize;

use crate::calendar::ClockKind;
use crate::model::{CaseType, Inbound};

/// The rules shipped with the binary: the SLA seed's categorization chart.
pub const DEFAULT_RULES: &str = include_str!("default_rules.toml");

/// The category a message gets when no rule matches; every rules file must define it.
pub const UNCATEGORIZED: &str = "uncategorized";

/// How much of the subject the rules see, in bytes (cut back to a character boundary).
pub const SUBJECT_SCAN: usize = 1 << 10;

/// How much of the body the rules see, in bytes (cut back to a character boundary).
pub const BODY_SCAN: usize = 64 << 10;

/// The template used when a rule names none.
pub const DEFAULT_TEMPLATE: &str = "acknowledgment";

/// Why a rules file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct Error {
    /// The file, or `built-in rules`.
    pub source_name: String,
    /// What is wrong, naming the rule and key.
    pub message: String,
}

/// A priority of a category, with its resolution target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Priority {
    /// The chart's number (0–9).
    pub level: u8,
    /// The chart's label, e.g. `Emergency`.
    pub name: String,
    /// Resolution target; `None` where the chart defines no SLA.
    #[serde(rename = "target_secs", serialize_with = "as_secs")]
    pub target: Option<Duration>,
    /// Whether the target runs around the clock or on the business calendar.
    pub clock: ClockKind,
}

fn as_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    d.map(|d| d.as_secs()).serialize(s)
}

/// A category of the chart.
#[derive(Debug, Clone, Serialize)]
pub struct Category {
    /// Stable identifier stored on cases, e.g. `break_fix`.
    pub id: String,
    /// The chart's number, when it has one.
    pub number: Option<u32>,
    /// Human name.
    pub name: String,
    /// Type given to cases unless the rule says otherwise.
    pub case_type: CaseType,
    /// Team given to cases unless the rule says otherwise.
    pub team: Option<String>,
    /// Priority used when a rule names none.
    pub default_priority: u8,
    /// Allowed priorities, in chart order.
    pub priorities: Vec<Priority>,
}

impl Category {
    /// The priority with this level, if the category has it.
    pub fn priority(&self, level: u8) -> Option<&Priority> {
        self.priorities.iter().find(|p| p.level == level)
    }
}

/// Which part of the message a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The subject.
    Subject,
    /// The decoded body text.
    Body,
    /// Subject or body.
    Text,
    /// The sender's address.
    Sender,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Subject => "subject",
            Field::Body => "body",
            Field::Text => "text",
            Field::Sender => "sender",
        })
    }
}

#[derive(Debug)]
struct Rule {
    name: String,
    category: usize,
    priority: u8,
    case_type: Option<CaseType>,
    team: Option<String>,
    template: Option<String>,
    conditions: Vec<(Field, Regex)>,
    /// Any of these matching the subject or body keeps the rule from matching.
    unless: Vec<Regex>,
}

/// Evidence for a decision: the text each condition of the winning rule matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The field the condition looked at.
    pub field: Field,
    /// The pattern as written.
    pub pattern: String,
    /// The matched text.
    pub matched: String,
}

/// What the rules decided for one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// The winning rule; `None` when the message went to `uncategorized`.
    pub rule: Option<String>,
    /// Category id.
    pub category: String,
    /// Category name.
    pub category_name: String,
    /// Priority level and label and target.
    pub priority: Priority,
    /// ITIL type.
    pub case_type: CaseType,
    /// Team the case goes to.
    pub team: Option<String>,
    /// Acknowledgment template name.
    pub template: String,
    /// Why the rule matched.
    pub evidence: Vec<Evidence>,
}

/// A loaded, validated rules file.
#[derive(Debug)]
pub struct Rules {
    /// The first-response target (acknowledgment by a technician).
    pub first_response: Duration,
    /// How the first-response target is counted.
    pub first_response_clock: ClockKind,
    categories: Vec<Category>,
    rules: Vec<Rule>,
}

impl Rules {
    /// Loads the rules file, or the shipped chart when `path` is `None`.
    ///
    /// # Errors
    /// Unreadable file, bad TOML, bad regex, unknown category or priority, duplicate names.
    pub fn load(path: Option<&Path>) -> Result<Rules, Error> {
        match path {
            None => Rules::from_toml("built-in rules", DEFAULT_RULES),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error {
                    source_name: p.display().to_string(),
                    message: format!("cannot read: {e}"),
                })?;
                Rules::from_toml(&p.display().to_string(), &text)
            }
        }
    }

    /// Parses and validates rules from TOML text.
    ///
    /// # Errors
    /// As [`Rules::load`].
    pub fn from_toml(source_name: &str, text: &str) -> Result<Rules, Error> {
        let err = |message: String| Error {
            source_name: source_name.to_owned(),
            message,
        };
        let raw: load::RawRules = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let first_response = crate::config::parse_duration(&raw.first_response).map_err(|e| {
            err(format!(
                "first_response = {:?}: expected {e}",
                raw.first_response
            ))
        })?;
        let first_response_clock = match &raw.first_response_clock {
            Some(k) => ClockKind::parse(k)
                .map_err(|e| err(format!("first_response_clock = {k:?}: {e}")))?,
            None => ClockKind::default_for(first_response),
        };
        let categories = raw
            .categories
            .into_iter()
            .map(|c| load::category(c).map_err(&err))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids = HashSet::new();
        for c in &categories {
            if !ids.insert(c.id.as_str()) {
                return Err(err(format!("category `{}` is defined twice", c.id)));
            }
        }
        if !ids.contains(UNCATEGORIZED) {
            return Err(err(format!(
                "no category `{UNCATEGORIZED}`: it receives the mail no rule matches"
            )));
        }
        let mut names = HashSet::new();
        let mut rules = Vec::with_capacity(raw.rules.len());
        let mut compiler = load::Compiler::new(&raw.patterns, raw.ascii_word_boundaries);
        for r in raw.rules {
            if !names.insert(r.name.clone()) {
                return Err(err(format!("rule `{}` is defined twice", r.name)));
            }
            rules.push(load::rule(r, &categories, &mut compiler).map_err(&err)?);
        }
        Ok(Rules {
            first_response,
            first_response_clock,
            categories,
            rules,
        })
    }

    /// The categories, in file order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Template names the rules refer to (so `check` can verify they exist).
    pub fn templates(&self) -> impl Iterator<Item = &str> + Clone {
        self.rules
            .iter()
            .map(|r| r.template.as_deref().unwrap_or(DEFAULT_TEMPLATE))
    }

    /// The teams the categories and rules route cases to.
    pub fn teams(&self) -> std::collections::BTreeSet<&str> {
        self.categories
            .iter()
            .filter_map(|c| c.team.as_deref())
            .chain(self.rules.iter().filter_map(|r| r.team.as_deref()))
            .collect()
    }

    /// Looks up a category by id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Decides category, priority, type, team and template for a new case.
    pub fn classify(&self, m: &Inbound) -> Classification {
        for rule in &self.rules {
            if let Some(evidence) = rule_matches(rule, m) {
                let cat = &self.categories[rule.category];
                return self.decide(cat, Some(rule), evidence);
            }
        }
        let cat = self
            .category(UNCATEGORIZED)
            .expect("validated at load: the uncategorized category exists");
        self.decide(cat, None, Vec::new())
    }

    fn decide(
        &self,
        cat: &Category,
        rule: Option<&Rule>,
        evidence: Vec<Evidence>,
    ) -> Classification {
        let level = rule.map_or(cat.default_priority, |r| r.priority);
        Classification {
            rule: rule.map(|r| r.name.clone()),
            category: cat.id.clone(),
            category_name: cat.name.clone(),
            priority: cat
                .priority(level)
                .expect("validated at load: rule priorities exist in their category")
                .clone(),
            case_type: rule.and_then(|r| r.case_type).unwrap_or(cat.case_type),
            team: rule
                .and_then(|r| r.team.clone())
                .or_else(|| cat.team.clone()),
            template: rule
                .and_then(|r| r.template.clone())
                .unwrap_or_else(|| DEFAULT_TEMPLATE.to_owned()),
            evidence,
        }
    }
}

fn rule_matches(rule: &Rule, m: &Inbound) -> Option<Vec<Evidence>> {
    let subject = prefix(&m.subject, SUBJECT_SCAN);
    let body = prefix(&m.text, BODY_SCAN);
    let mut evidence = Vec::with_capacity(rule.conditions.len());
    for (field, re) in &rule.conditions {
        let found = match field {
            Field::Subject => re.find(subject),
            Field::Body => re.find(body),
            Field::Text => re.find(subject).or_else(|| re.find(body)),
            Field::Sender => re.find(&m.from.address),
        }?;
        evidence.push(Evidence {
            field: *field,
            pattern: re.as_str().to_owned(),
            matched: found.as_str().to_owned(),
        });
    }
    let vetoed = rule
        .unless
        .iter()
        .any(|re| re.is_match(subject) || re.is_match(body));
    (!vetoed).then_some(evidence)
}

/// The first `max` bytes of `s`, or fewer to end on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A target as people say it: `4 hours`, `24 hours`, `3 days`. Whole days from two days up;
/// below that hours, as the procedures word it ("acknowledge within 24 hours").
pub fn describe(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = match secs {
        s if s >= 2 * 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

pub(crate) mod eval;
mod load;

#[cfg(test)]
pub(crate) mod tests;
