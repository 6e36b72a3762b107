//! Loading a rules file: the serde types that mirror it and their validation into
//! [`Category`] and compiled rules. Every error names the rule or category and the key.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use super::model::{self, Model, Vocabulary};
use super::similar::{Rarity, Settings};
use super::{corpus, Category, Confirmer, Field, Learned, Level, Matrix, Priority, Rule};
use crate::calendar::ClockKind;
use crate::model::CaseType;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRules {
    pub(super) first_response: String,
    pub(super) first_response_clock: Option<String>,
    /// `\b` in every pattern is an ASCII word boundary: the regex engine keeps its fast path on
    /// text in any script (a Unicode `\b` sends it to a slower one on non-ASCII text).
    #[serde(default)]
    pub(super) ascii_word_boundaries: bool,
    #[serde(default)]
    pub(super) patterns: BTreeMap<String, String>,
    #[serde(rename = "category")]
    pub(super) categories: Vec<RawCategory>,
    #[serde(default, rename = "rule")]
    pub(super) rules: Vec<RawRule>,
    /// The learned model, when the rules file asks for one.
    pub(super) model: Option<RawModel>,
    /// When a new case repeats an open one.
    pub(super) related: Option<RawRelated>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelated {
    /// `false` turns linking off.
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    pub(super) window: Option<String>,
    pub(super) min_terms: Option<usize>,
    pub(super) min_score: Option<f64>,
    pub(super) duplicate_min_terms: Option<usize>,
    pub(super) duplicate_min_score: Option<f64>,
}

fn yes() -> bool {
    true
}

/// `[related]`: the shipped thresholds unless given; `None` when turned off.
pub(super) fn related(raw: Option<RawRelated>) -> Result<Option<Settings>, String> {
    let d = Settings::default();
    let Some(r) = raw else { return Ok(Some(d)) };
    if !r.enabled {
        return Ok(None);
    }
    let window = match &r.window {
        Some(w) => crate::config::parse_duration(w)
            .map_err(|e| format!("[related] window = {w:?}: expected {e}"))?,
        None => d.window,
    };
    let score = |key: &str, v: Option<f64>, default: f64| match v {
        Some(f) if !(f.is_finite() && (0.0..=1.0).contains(&f)) => Err(format!(
            "[related] {key} = {f}: expected a share from 0 to 1"
        )),
        Some(f) => Ok(f),
        None => Ok(default),
    };
    Ok(Some(Settings {
        window,
        min_terms: r.min_terms.unwrap_or(d.min_terms).max(1),
        min_score: score("min_score", r.min_score, d.min_score)?,
        duplicate_min_terms: r
            .duplicate_min_terms
            .unwrap_or(d.duplicate_min_terms)
            .max(1),
        duplicate_min_score: score(
            "duplicate_min_score",
            r.duplicate_min_score,
            d.duplicate_min_score,
        )?,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModel {
    /// `builtin` (the corpus shipped with helpdesk) or the path of a labelled corpus.
    pub(super) corpus: String,
    pub(super) rule_weight: Option<f64>,
    pub(super) confirm_margin: Option<f64>,
    pub(super) smoothing: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCategory {
    pub(super) id: String,
    pub(super) number: Option<u32>,
    pub(super) name: String,
    #[serde(rename = "type")]
    pub(super) case_type: CaseType,
    pub(super) team: Option<String>,
    pub(super) template: Option<String>,
    pub(super) default_priority: u8,
    pub(super) priorities: Vec<RawPriority>,
    /// Impact (rows: high, medium, low) × urgency (columns) → priority; the ITIL default
    /// over the category's targets when absent.
    pub(super) matrix: Option<Vec<Vec<u8>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPriority {
    pub(super) level: u8,
    pub(super) name: String,
    pub(super) target: Option<String>,
    /// `24x7` or `business`; by default day targets run on business days, shorter ones 24x7.
    pub(super) clock: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) name: String,
    pub(super) category: String,
    pub(super) priority: Option<u8>,
    #[serde(rename = "type")]
    pub(super) case_type: Option<CaseType>,
    pub(super) team: Option<String>,
    pub(super) template: Option<String>,
    /// The rule decides on its own: the model is not asked.
    #[serde(default, rename = "final")]
    pub(super) is_final: bool,
    /// The rule's priority stands only when the model's words agree.
    #[serde(default)]
    pub(super) confirm: bool,
    /// `high`, `medium` or `low`: with no `priority`, the category's matrix gives it.
    pub(super) impact: Option<String>,
    pub(super) urgency: Option<String>,
    /// A desk of the configuration (`[desks.NAME]`) the cases belong to instead.
    pub(super) redirect: Option<String>,
    /// Addresses that get a copy of each new case (a manager), capped like all automatic mail.
    #[serde(default)]
    pub(super) notify: Vec<String>,
    /// Addresses whose approval the request needs before IT fulfils it: the case waits for
    /// their replies.
    #[serde(default)]
    pub(super) approval: Vec<String>,
    /// `all` (the default) or `any`: whose approval is enough.
    pub(super) approval_needs: Option<String>,
    #[serde(default)]
    pub(super) case_sensitive: bool,
    #[serde(default)]
    pub(super) subject: Patterns,
    #[serde(default)]
    pub(super) body: Patterns,
    #[serde(default)]
    pub(super) text: Patterns,
    #[serde(default)]
    pub(super) sender: Patterns,
    /// Patterns over subject or body any of which keeps the rule from matching.
    #[serde(default)]
    pub(super) unless: Patterns,
}

/// One pattern or several.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
pub(super) enum Patterns {
    #[default]
    None,
    One(String),
    All(Vec<String>),
}

impl Patterns {
    fn into_vec(self) -> Vec<String> {
        match self {
            Patterns::None => vec![],
            Patterns::One(p) => vec![p],
            Patterns::All(v) => v,
        }
    }
}

pub(super) fn category(c: RawCategory) -> Result<Category, String> {
    let priorities = c
        .priorities
        .into_iter()
        .map(|p| {
            let target = match p.target.as_deref() {
                None | Some("none") => None,
                Some(t) => Some(crate::config::parse_duration(t).map_err(|e| {
                    format!(
                        "category `{}` priority {}: target = {t:?}: expected {e} or \"none\"",
                        c.id, p.level
                    )
                })?),
            };
            let clock = match (&p.clock, target) {
                (Some(k), _) => ClockKind::parse(k).map_err(|e| {
                    format!(
                        "category `{}` priority {}: clock = {k:?}: {e}",
                        c.id, p.level
                    )
                })?,
                (None, Some(t)) => ClockKind::default_for(t),
                (None, None) => ClockKind::Always,
            };
            Ok(Priority {
                level: p.level,
                name: p.name,
                target,
                clock,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if !priorities.iter().any(|p| p.level == c.default_priority) {
        return Err(format!(
            "category `{}`: default_priority = {} is not one of its priorities",
            c.id, c.default_priority
        ));
    }
    let matrix = match &c.matrix {
        Some(rows) => {
            Matrix::written(rows, &priorities).map_err(|e| format!("category `{}`: {e}", c.id))?
        }
        None => Matrix::itil(&priorities, c.default_priority),
    };
    Ok(Category {
        id: c.id,
        number: c.number,
        name: c.name,
        case_type: c.case_type,
        team: c.team,
        template: c.template,
        default_priority: c.default_priority,
        priorities,
        matrix,
    })
}

/// Compiles the rules' patterns, each distinct one once: rules that share a named pattern
/// share its compiled regex and the regex's caches.
pub(super) struct Compiler<'a> {
    patterns: &'a BTreeMap<String, String>,
    ascii_word_boundaries: bool,
    compiled: HashMap<(String, bool), Regex>,
}

impl<'a> Compiler<'a> {
    pub(super) fn new(patterns: &'a BTreeMap<String, String>, ascii_word_boundaries: bool) -> Self {
        Compiler {
            patterns,
            ascii_word_boundaries,
            compiled: HashMap::new(),
        }
    }

    /// `p` with its `@{name}`s expanded, compiled (or the same regex compiled before).
    fn compile(&mut self, p: &str, case_sensitive: bool) -> Result<Regex, CompileError> {
        let expanded =
            expand(p, self.patterns, self.ascii_word_boundaries).map_err(CompileError::Expand)?;
        let key = (expanded, case_sensitive);
        if let Some(re) = self.compiled.get(&key) {
            return Ok(re.clone());
        }
        let re = RegexBuilder::new(&key.0)
            .case_insensitive(!case_sensitive)
            .build()
            .map_err(CompileError::Regex)?;
        self.compiled.insert(key, re.clone());
        Ok(re)
    }
}

enum CompileError {
    Expand(String),
    Regex(regex::Error),
}

impl CompileError {
    /// The error as said about the key `key` holding pattern `p`.
    fn say(self, key: &str, p: &str) -> String {
        match self {
            CompileError::Expand(e) => e,
            CompileError::Regex(e) => format!("{key} = {p:?}: invalid regex: {e}"),
        }
    }
}

pub(super) fn rule(r: RawRule, cats: &[Category], compiler: &mut Compiler) -> Result<Rule, String> {
    let at = |msg: String| format!("rule `{}`: {msg}", r.name);
    let category = cats
        .iter()
        .position(|c| c.id == r.category)
        .ok_or_else(|| at(format!("unknown category `{}`", r.category)))?;
    let cat = &cats[category];
    let level = |key: &str, v: &Option<String>| {
        v.as_deref()
            .map(|t| {
                t.parse::<Level>()
                    .map_err(|e| at(format!("{key} = {t:?}: {e}")))
            })
            .transpose()
    };
    let impact = level("impact", &r.impact)?;
    let urgency = level("urgency", &r.urgency)?;
    let priority = match (r.priority, impact.or(urgency)) {
        (Some(p), _) => p,
        (None, Some(_)) => cat.matrix.priority(impact, urgency),
        (None, None) => cat.default_priority,
    };
    let addresses = |key: &str, list: &[String]| {
        list.iter()
            .map(|a| {
                crate::model::parse_address(a)
                    .ok_or_else(|| at(format!("{key} = {a:?}: expected email addresses")))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let notify = addresses("notify", &r.notify)?;
    let approval = addresses("approval", &r.approval)?;
    let approval_needs = match r.approval_needs.as_deref() {
        None => crate::model::Needs::All,
        Some(_) if approval.is_empty() => {
            return Err(at(
                "approval_needs without approval: name the approvers".into()
            ))
        }
        Some(n) => n
            .parse()
            .map_err(|e| at(format!("approval_needs = {n:?}: {e}")))?,
    };
    if !approval.is_empty() && r.redirect.is_some() {
        return Err(at(
            "approval and redirect: a request that goes to another desk needs no approval here"
                .into(),
        ));
    }
    if let Some(d) = &r.redirect {
        let ok = !d.is_empty()
            && d.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(at(format!(
                "redirect = {d:?}: expected the name of a [desks.NAME] of the configuration"
            )));
        }
    }
    if cat.priority(priority).is_none() {
        let valid: Vec<String> = cat.priorities.iter().map(|p| p.level.to_string()).collect();
        return Err(at(format!(
            "priority {priority} is not a priority of `{}` (valid: {})",
            cat.id,
            valid.join(", ")
        )));
    }
    let mut conditions = Vec::new();
    for (field, pats) in [
        (Field::Subject, r.subject),
        (Field::Body, r.body),
        (Field::Text, r.text),
        (Field::Sender, r.sender),
    ] {
        for p in pats.into_vec() {
            let re = compiler
                .compile(&p, r.case_sensitive)
                .map_err(|e| at(e.say(&field.to_string(), &p)))?;
            conditions.push((field, re));
        }
    }
    if conditions.is_empty() {
        return Err(at("no condition: give subject, body, text or sender".into()));
    }
    let unless = r
        .unless
        .into_vec()
        .into_iter()
        .map(|p| {
            compiler
                .compile(&p, r.case_sensitive)
                .map_err(|e| at(e.say("unless", &p)))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Rule {
        name: r.name,
        category,
        priority,
        case_type: r.case_type,
        team: r.team,
        template: r.template,
        // A request that belongs to another desk goes there whatever the words say.
        is_final: r.is_final || r.redirect.is_some(),
        confirm: r.confirm,
        impact,
        urgency,
        redirect: r.redirect,
        notify,
        approval: (!approval.is_empty()).then_some((approval, approval_needs)),
        conditions,
        unless,
    })
}

/// The model a rules file asks for, trained on its corpus: `builtin` or a path, relative to
/// `base` (the rules file's folder). Every category the corpus names must be one of `cats`, and
/// each rule with `confirm = true` gets a model of its category and priority against the rest.
pub(super) fn learned(
    raw: RawModel,
    base: Option<&Path>,
    cats: &[Category],
    rules: &[Rule],
) -> Result<Learned, String> {
    let weight = raw.rule_weight.unwrap_or(model::DEFAULT_RULE_WEIGHT);
    if !(weight.is_finite() && weight >= 0.0) {
        return Err(format!(
            "[model] rule_weight = {weight}: expected a number from 0 up"
        ));
    }
    let confirm_margin = raw.confirm_margin.unwrap_or(model::DEFAULT_CONFIRM_MARGIN);
    if !(confirm_margin.is_finite() && confirm_margin >= 0.0) {
        return Err(format!(
            "[model] confirm_margin = {confirm_margin}: expected a number from 0 up"
        ));
    }
    let smoothing = raw.smoothing.unwrap_or(model::DEFAULT_SMOOTHING);
    if !(smoothing.is_finite() && smoothing > 0.0) {
        return Err(format!(
            "[model] smoothing = {smoothing}: expected a number above 0"
        ));
    }
    // The built-in corpus at the default smoothing is read and trained once per process.
    let shared = raw.corpus == "builtin" && raw.smoothing.is_none();
    let read = if raw.corpus == "builtin" {
        static BUILTIN: OnceLock<Arc<Read>> = OnceLock::new();
        match BUILTIN.get() {
            Some(t) => Arc::clone(t),
            None => {
                let t = Arc::new(read_texts(builtin_corpus()?)?);
                Arc::clone(BUILTIN.get_or_init(|| t))
            }
        }
    } else {
        let path = base.map_or_else(|| PathBuf::from(&raw.corpus), |b| b.join(&raw.corpus));
        let found = corpus::read(&path).map_err(|e| format!("[model] corpus: {e}"))?;
        Arc::new(read_texts(found)?)
    };
    let trained = cached(shared, "category", || {
        Model::train(
            &read.vocabulary,
            &read.docs,
            read.labels.iter().map(|l| l.category.as_str()),
            smoothing,
        )
    });
    for c in trained.categories() {
        if !cats.iter().any(|k| &k.id == c) {
            return Err(format!(
                "[model] corpus {:?}: category `{c}` is not a category of these rules",
                raw.corpus
            ));
        }
    }
    let mut confirmers = HashMap::new();
    for r in rules.iter().filter(|r| r.confirm) {
        let cat = &cats[r.category].id;
        let key = (r.category, r.priority);
        if confirmers.contains_key(&key) {
            continue;
        }
        let at = |l: &corpus::Label| l.category == *cat && l.priority == Some(r.priority);
        if !read.labels.iter().any(at) {
            return Err(format!(
                "rule `{}`: confirm = true, but the corpus has no request labelled {cat} {}",
                r.name, r.priority
            ));
        }
        let model = cached(shared, &format!("{cat} {}", r.priority), || {
            Model::train(
                &read.vocabulary,
                &read.docs,
                read.labels
                    .iter()
                    .map(|l| if at(l) { CONFIRMED } else { OTHER }),
                smoothing,
            )
        });
        let side = |name: &str| model.categories().iter().position(|c| c == name);
        let confirmed = side(CONFIRMED).expect("the corpus has a request of the confirmed side");
        let other = side(OTHER);
        confirmers.insert(
            key,
            Confirmer {
                model,
                confirmed,
                other,
            },
        );
    }
    let of_category = cats
        .iter()
        .map(|c| trained.categories().iter().position(|k| *k == c.id))
        .collect();
    Ok(Learned {
        model: trained,
        of_category,
        weight,
        confirmers,
        confirm_margin,
        corpus: raw.corpus,
        rarity: Arc::clone(&read.rarity),
    })
}

/// The two sides of a confirming model: the rule's category and priority, and the rest.
const CONFIRMED: &str = "confirmed";
const OTHER: &str = "other";

/// A corpus as the models read it: each request's label and features, and their vocabulary.
struct Read {
    labels: Vec<corpus::Label>,
    vocabulary: Arc<Vocabulary>,
    docs: Vec<model::Ids>,
    /// How rare each term is, for telling repeated reports apart ([`super::similar`]).
    rarity: Arc<Rarity>,
}

/// `train()`, or with `shared` the model trained before under `key` in this process.
fn cached(shared: bool, key: &str, train: impl FnOnce() -> Model) -> Arc<Model> {
    static MODELS: Mutex<BTreeMap<String, Arc<Model>>> = Mutex::new(BTreeMap::new());
    if !shared {
        return Arc::new(train());
    }
    let mut models = MODELS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(
        models
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(train())),
    )
}

/// The corpus shipped with helpdesk: the tuning split of `corpus/` (the held-out split is only
/// ever evaluated).
fn builtin_corpus() -> Result<Vec<corpus::Labelled>, String> {
    corpus::from_tsv("corpus/tune.tsv", BUILTIN_CORPUS)
        .map_err(|e| format!("[model] built-in corpus: {e}"))
}

const BUILTIN_CORPUS: &str = include_str!("../../corpus/tune.tsv");

/// A corpus's requests, each read as the parser reads mail, and their features.
fn read_texts(found: Vec<corpus::Labelled>) -> Result<Read, String> {
    if found.is_empty() {
        return Err("[model] corpus: no labelled requests".into());
    }
    let limits = crate::parse::Limits {
        max_message_size: u64::MAX,
        max_attachment_size: u64::MAX,
    };
    let mut labels = Vec::with_capacity(found.len());
    let mut texts = Vec::with_capacity(found.len());
    for l in found {
        let m = crate::parse::parse(&l.raw, limits, "").map_err(|e| {
            format!(
                "[model] corpus {}: the message does not parse: {e}",
                l.source
            )
        })?;
        labels.push(l.label);
        texts.push((m.subject, m.text));
    }
    let (vocabulary, docs) = Vocabulary::build(texts.iter().map(|(s, b)| (s.as_str(), b.as_str())));
    let rarity = Arc::new(Rarity::build(
        texts.iter().map(|(s, b)| (s.as_str(), b.as_str())),
    ));
    Ok(Read {
        labels,
        vocabulary,
        docs,
        rarity,
    })
}

/// Replaces `@{name}` with the named pattern from `[patterns]`, as a non-capturing group, and
/// with `ascii_word_boundaries` every `\b` with the ASCII word boundary `(?-u:\b)`.
fn expand(
    p: &str,
    patterns: &BTreeMap<String, String>,
    ascii_word_boundaries: bool,
) -> Result<String, String> {
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed @{{ in {p:?}"))?;
        let name = &after[..end];
        let body = patterns
            .get(name)
            .ok_or_else(|| format!("unknown pattern @{{{name}}} (define it under [patterns])"))?;
        out.push_str(&format!("(?:{body})"));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(if ascii_word_boundaries {
        ascii_boundaries(&out)
    } else {
        out
    })
}

/// `\b` as `(?-u:\b)`; other escapes, `\\b` (a backslash, then b) among them, stay as written.
fn ascii_boundaries(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push_str("(?-u:\\b)"),
            Some(escaped) => {
                out.push(c);
                out.push(escaped);
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ascii_boundaries;
    use crate::classify::tests::{minimal_rules, msg};

    #[test]
    fn the_setting_decides_which_word_boundary_a_rules_file_means() {
        let file = |ascii: bool| {
            minimal_rules(
                &format!("ascii_word_boundaries = {ascii}"),
                r"
                [[rule]]
                name = 'jam'
                category = 'uncategorized'
                text = '\bjam\b'
                ",
            )
        };
        let (ascii, unicode) = (file(true), file(false));
        for rules in [&ascii, &unicode] {
            assert!(rules.classify(&msg("Paper jam", "")).rule.is_some());
            assert!(rules.classify(&msg("Jammed", "")).rule.is_none());
        }
        // A Cyrillic letter is a word character to Unicode, not to ASCII.
        assert!(ascii.classify(&msg("бумагаjam", "")).rule.is_some());
        assert!(unicode.classify(&msg("бумагаjam", "")).rule.is_none());
    }

    #[test]
    fn word_boundaries_become_ascii_and_other_escapes_stay() {
        assert_eq!(ascii_boundaries(r"\bjam\b"), r"(?-u:\b)jam(?-u:\b)");
        assert_eq!(ascii_boundaries(r"a\\b\d\B"), r"a\\b\d\B");
        assert_eq!(ascii_boundaries(r"end\"), r"end\");
        assert_eq!(ascii_boundaries("écran"), "écran");
    }
}
