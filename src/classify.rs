//! Categorization: the chart (categories, their priorities and resolution targets) as data, an
//! ordered list of regex rules over subject, body and sender, and optionally a model trained on
//! a labelled corpus (`model.rs`). Without a model the first matching rule wins and a message no
//! rule matches goes to the `uncategorized` category; with one, the model's score of each
//! category and the first matching rule's vote decide together ([`Rules::classify`]). Pure:
//! `classify` takes the message and returns the decision with the evidence (which rule matched
//! which text, and which words spoke for the model's choice), which `helpdesk rules test` prints.
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
pub use matrix::{Level, Matrix};
pub(crate) use model::words;

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
    /// Acknowledgment template unless the rule says otherwise.
    pub template: Option<String>,
    /// Priority used when a rule names none.
    pub default_priority: u8,
    /// Allowed priorities, in chart order.
    pub priorities: Vec<Priority>,
    /// The priority of each impact and urgency.
    pub matrix: Matrix,
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
    /// Decides on its own: the model is not asked.
    is_final: bool,
    /// Stands only when the words agree with its category and priority.
    confirm: bool,
    /// The impact and urgency it sets.
    impact: Option<Level>,
    urgency: Option<Level>,
    /// The other help desk its cases belong to (`[desks.NAME]` of the configuration).
    redirect: Option<String>,
    /// Addresses copied on its new cases.
    notify: Vec<String>,
    /// Whose approval its requests need.
    approval: Option<(Vec<String>, crate::model::Needs)>,
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

/// What the model said about a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelNote {
    /// The category it chose, counting the first matching rule's vote.
    pub category: String,
    /// The next best category.
    pub runner_up: String,
    /// By how much the choice beat the runner-up (a log likelihood ratio), kept to two
    /// decimals.
    #[serde(serialize_with = "two_decimals")]
    pub margin: f64,
    /// The category of the first matching rule (`uncategorized` when none matched), when the
    /// model overruled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overruled: Option<String>,
    /// The words that spoke most for the choice over the runner-up.
    pub words: Vec<String>,
    /// Rules with `confirm = true` that matched but were passed over: the words did not agree
    /// with their category and priority.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unconfirmed: Vec<String>,
}

/// A margin as it is written down: `65.36`, not `65.35513514598347`.
fn two_decimals<S: serde::Serializer>(margin: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((margin * 100.0).round() / 100.0)
}

impl fmt::Display for ModelNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} over {} by {:.1}",
            self.category, self.runner_up, self.margin
        )?;
        if let Some(rule) = &self.overruled {
            write!(f, ", overruling the rules' {rule}")?;
        }
        if !self.words.is_empty() {
            write!(f, "; words: {}", self.words.join(", "))?;
        }
        if !self.unconfirmed.is_empty() {
            write!(f, "; not confirmed: {}", self.unconfirmed.join(", "))?;
        }
        Ok(())
    }
}

/// What the rules decided for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The rule that set priority, type, team and template; `None` when no rule of the category
    /// matched (the category's defaults apply).
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
    /// What the model said, when the rules have one and it was asked.
    pub model: Option<ModelNote>,
    /// The impact the rule set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Level>,
    /// The urgency the rule set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Level>,
    /// The desk (`[desks.NAME]`) the rule sends the request to instead of working it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// Who else hears of the new case (a manager), by the rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    /// Whose approval the request needs (`all` or `any` of them), by the rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<(Vec<String>, crate::model::Needs)>,
}

/// The model a rules file uses, with how its categories map onto the rules' categories.
#[derive(Debug)]
struct Learned {
    model: std::sync::Arc<model::Model>,
    /// For each category of the rules, its index in the model, if the corpus had any of it.
    of_category: Vec<Option<usize>>,
    /// What the first matching rule's category adds to its score.
    weight: f64,
    /// For each (category, priority) of a `confirm = true` rule: that against the rest.
    confirmers: std::collections::HashMap<(usize, u8), Confirmer>,
    /// How far the words may lean against a confirm rule before it is passed over.
    confirm_margin: f64,
    /// The corpus it was trained on, as the rules file names it.
    corpus: String,
    /// How rare each term is in that corpus.
    rarity: std::sync::Arc<similar::Rarity>,
}

/// A model of the requests labelled with one category and priority against all the others, for
/// the rules with `confirm = true` of that category and priority.
#[derive(Debug)]
struct Confirmer {
    model: std::sync::Arc<model::Model>,
    /// The confirmed side's index in the model's categories.
    confirmed: usize,
    /// The other side's, when the corpus has any other request.
    other: Option<usize>,
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
    model: Option<Learned>,
    /// When a new case repeats an open one; `None`: never linked.
    related: Option<similar::Settings>,
}

/// Whether loading rules trains the model a `[model]` section asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learn {
    /// Read the corpus and train: whatever classifies mail.
    Train,
    /// Check everything else, but leave the corpus unread: for a command that only reads
    /// cases (`cases list`, `report sla`), where reading and training it was most of the
    /// time the command took.
    Skip,
}

impl Rules {
    /// Loads the rules file, or the shipped chart when `path` is `None`.
    ///
    /// # Errors
    /// Unreadable file, bad TOML, bad regex, unknown category or priority, duplicate names.
    pub fn load(path: Option<&Path>) -> Result<Rules, Error> {
        Rules::load_as(path, Learn::Train)
    }

    /// [`Rules::load`], training the model or not (see [`Learn`]).
    ///
    /// # Errors
    /// As [`Rules::load`]; with [`Learn::Skip`], none of the model's corpus.
    pub fn load_as(path: Option<&Path>, learn: Learn) -> Result<Rules, Error> {
        match path {
            None => Rules::parse("built-in rules", DEFAULT_RULES, None, learn),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error {
                    source_name: p.display().to_string(),
                    message: format!("cannot read: {e}"),
                })?;
                Rules::parse(&p.display().to_string(), &text, p.parent(), learn)
            }
        }
    }

    /// Parses and validates rules from TOML text.
    ///
    /// # Errors
    /// As [`Rules::load`].
    pub fn from_toml(source_name: &str, text: &str) -> Result<Rules, Error> {
        Rules::parse(source_name, text, None, Learn::Train)
    }

    /// [`Rules::from_toml`] with the folder a model's corpus path is relative to.
    fn parse(
        source_name: &str,
        text: &str,
        base: Option<&Path>,
        learn: Learn,
    ) -> Result<Rules, Error> {
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
        let asked = raw.model.is_some();
        let model = raw
            .model
            .filter(|_| learn == Learn::Train)
            .map(|m| load::learned(m, base, &categories, &rules).map_err(&err))
            .transpose()?;
        if let (false, Some(r)) = (asked, rules.iter().find(|r| r.confirm)) {
            return Err(err(format!(
                "rule `{}`: confirm = true needs a [model] to confirm it",
                r.name
            )));
        }
        let related = load::related(raw.related).map_err(&err)?;
        Ok(Rules {
            first_response,
            first_response_clock,
            categories,
            rules,
            model,
            related,
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
            .chain(self.categories.iter().filter_map(|c| c.template.as_deref()))
    }

    /// The desks rules redirect to, each with the first rule naming it.
    pub fn desks(&self) -> std::collections::BTreeMap<&str, &str> {
        let mut desks = std::collections::BTreeMap::new();
        for r in &self.rules {
            if let Some(d) = &r.redirect {
                desks.entry(d.as_str()).or_insert(r.name.as_str());
            }
        }
        desks
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

    /// The corpus the model was trained on and how many distinct features it holds, when the
    /// rules have a model.
    pub fn model(&self) -> Option<(&str, usize)> {
        self.model
            .as_ref()
            .map(|l| (l.corpus.as_str(), l.model.vocabulary().size()))
    }

    /// When a new case counts as repeating an open one; `None` when `[related] enabled = false`.
    pub(crate) fn related(&self) -> Option<&similar::Settings> {
        self.related.as_ref()
    }

    /// How rare each term is in the mail the model was trained on; `None` without a model
    /// (every term then weighs the same).
    pub(crate) fn rarity(&self) -> Option<&similar::Rarity> {
        self.model.as_ref().map(|l| l.rarity.as_ref())
    }

    /// Decides category, priority, type, team and template for a new case.
    ///
    /// Without a model the first matching rule decides. With one, the model scores each
    /// category by the message's words and the first matching rule's category (or
    /// `uncategorized`) gets the rule weight on top; the best score picks the category, and the
    /// first matching rule of that category, if any, sets the rest. A `final` rule, or one
    /// whose category the model never saw, decides alone. A `confirm` rule counts as matching
    /// only when the words do not lean against its category and priority by more than the
    /// confirm margin.
    pub fn classify(&self, m: &Inbound) -> Classification {
        let subject = prefix(&m.subject, SUBJECT_SCAN);
        let body = prefix(&m.text, BODY_SCAN);
        let features = self
            .model
            .as_ref()
            .map(|l| l.model.vocabulary().features(subject, body));
        let features = features.as_ref();
        let mut unconfirmed = Vec::new();
        let first = self.first_match(m, 0, None, features, &mut unconfirmed);
        let uncategorized = || {
            self.categories
                .iter()
                .position(|c| c.id == UNCATEGORIZED)
                .expect("validated at load: the uncategorized category exists")
        };
        let rule_category = first
            .as_ref()
            .map_or_else(uncategorized, |(i, _)| self.rules[*i].category);
        let (Some(learned), Some(features)) = (&self.model, features) else {
            return self.decide_by(rule_category, first, None);
        };
        if first.as_ref().is_some_and(|(i, _)| self.rules[*i].is_final)
            || learned.of_category[rule_category].is_none()
        {
            return self.decide_by(rule_category, first, None);
        }
        let scores = learned.model.scores(features);
        let mut ranked: Vec<(usize, f64)> = learned
            .of_category
            .iter()
            .enumerate()
            .filter_map(|(c, k)| {
                let vote = if c == rule_category {
                    learned.weight
                } else {
                    0.0
                };
                k.map(|k| (c, scores[k] + vote))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let (chosen, best) = ranked[0];
        let (runner_up, second) = ranked.get(1).copied().unwrap_or((chosen, best));
        let mut note = ModelNote {
            category: self.categories[chosen].id.clone(),
            runner_up: self.categories[runner_up].id.clone(),
            margin: best - second,
            overruled: None,
            words: match (learned.of_category[chosen], learned.of_category[runner_up]) {
                (Some(a), Some(b)) if a != b => learned.model.explain(features, a, b, 5),
                _ => Vec::new(),
            },
            unconfirmed,
        };
        if chosen == rule_category {
            return self.decide_by(chosen, first, Some(note));
        }
        note.overruled = Some(self.categories[rule_category].id.clone());
        // The rules after the first match may hold one of the chosen category; with no first
        // match, none matched at all.
        let then = first.and_then(|(i, _)| {
            self.first_match(
                m,
                i + 1,
                Some(chosen),
                Some(features),
                &mut note.unconfirmed,
            )
        });
        self.decide_by(chosen, then, Some(note))
    }

    /// The decision for `category` by its matching rule, or by its defaults when none matched.
    fn decide_by(
        &self,
        category: usize,
        rule: Option<(usize, Vec<Evidence>)>,
        note: Option<ModelNote>,
    ) -> Classification {
        let cat = &self.categories[category];
        match rule {
            Some((i, evidence)) => self.decide(cat, Some(&self.rules[i]), evidence, note),
            None => self.decide(cat, None, Vec::new(), note),
        }
    }

    /// The first rule from `from` on (of `category`, when given) that matches, with its
    /// evidence. A `confirm` rule the words lean against is passed over and named in
    /// `unconfirmed`.
    fn first_match(
        &self,
        m: &Inbound,
        from: usize,
        category: Option<usize>,
        features: Option<&model::Features>,
        unconfirmed: &mut Vec<String>,
    ) -> Option<(usize, Vec<Evidence>)> {
        for (i, rule) in self.rules.iter().enumerate().skip(from) {
            if category.is_some_and(|c| rule.category != c) {
                continue;
            }
            let Some(evidence) = rule_matches(rule, m) else {
                continue;
            };
            if rule.confirm && features.is_some_and(|f| !self.confirmed(rule, f)) {
                unconfirmed.push(rule.name.clone());
                continue;
            }
            return Some((i, evidence));
        }
        None
    }

    /// Whether the words do not lean against `rule`'s category and priority by more than the
    /// confirm margin.
    fn confirmed(&self, rule: &Rule, features: &model::Features) -> bool {
        let Some(learned) = &self.model else {
            return true;
        };
        let Some(c) = learned.confirmers.get(&(rule.category, rule.priority)) else {
            return true;
        };
        let scores = c.model.scores(features);
        let other = c.other.map_or(f64::NEG_INFINITY, |o| scores[o]);
        scores[c.confirmed] - other >= -learned.confirm_margin
    }

    fn decide(
        &self,
        cat: &Category,
        rule: Option<&Rule>,
        evidence: Vec<Evidence>,
        model: Option<ModelNote>,
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
                .or_else(|| cat.template.clone())
                .unwrap_or_else(|| DEFAULT_TEMPLATE.to_owned()),
            evidence,
            model,
            impact: rule.and_then(|r| r.impact),
            urgency: rule.and_then(|r| r.urgency),
            redirect: rule.and_then(|r| r.redirect.clone()),
            notify: rule.map(|r| r.notify.clone()).unwrap_or_default(),
            approval: rule.and_then(|r| r.approval.clone()),
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
pub(crate) fn prefix(s: &str, max: usize) -> &str {
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

pub(crate) mod corpus;
pub(crate) mod eval;
mod load;
pub mod matrix;
mod model;
pub(crate) mod similar;

#[cfg(test)]
pub(crate) mod tests;
