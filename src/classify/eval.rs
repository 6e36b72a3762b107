//! How well the rules categorize a labelled corpus: accuracy, precision and recall per
//! category, the confusion between categories, how often the priority is right and how often an
//! emergency (the priority the chart names Emergency) really is one, and every miss with the rule and the text that decided
//! it. Pure: it takes what the rules decided for each labelled message and counts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Classification;

/// One labelled message and what the rules decided for it.
#[derive(Debug, Clone)]
pub struct Judged {
    /// Where it came from (`corpus.tsv:12`, `mail/0042.eml`).
    pub source: String,
    /// Its subject, for the list of misses.
    pub subject: String,
    /// The category it belongs to.
    pub category: String,
    /// The priority it should get, when the label gives one.
    pub priority: Option<u8>,
    /// What the rules decided.
    pub got: Classification,
}

/// Precision and recall of one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryScore {
    /// The category.
    pub category: String,
    /// Messages labelled with it.
    pub labelled: usize,
    /// Messages the rules put in it.
    pub predicted: usize,
    /// Both.
    pub correct: usize,
    /// `correct / predicted`; `None` when nothing was put in it.
    pub precision: Option<f64>,
    /// `correct / labelled`; `None` when nothing is labelled with it.
    pub recall: Option<f64>,
}

/// A message the rules got wrong (category, or the priority where the label gives one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    /// Where it came from.
    pub source: String,
    /// Its subject.
    pub subject: String,
    /// The labelled category and priority.
    pub expected: (String, Option<u8>),
    /// What the rules decided.
    pub got: (String, u8),
    /// The rule that decided it; none for `uncategorized`.
    pub rule: Option<String>,
    /// The text each of its conditions matched, as `subject 'projector'`.
    pub evidence: Vec<String>,
    /// What the model said, when the rules have one.
    pub model: Option<String>,
}

/// The evaluation of a corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Messages evaluated.
    pub total: usize,
    /// In the labelled category.
    pub correct: usize,
    /// `correct / total`.
    pub accuracy: f64,
    /// Messages whose label gives a priority.
    pub with_priority: usize,
    /// Of those, the ones with that priority.
    pub priority_correct: usize,
    /// The messages the rules made an emergency (the priority the chart names Emergency),
    /// leaving out those labelled with the same category but no priority (nobody can say).
    pub emergencies_predicted: usize,
    /// Of those, the ones labelled with that category and priority.
    pub emergencies_correct: usize,
    /// Per category, in name order: every labelled or predicted one.
    pub categories: Vec<CategoryScore>,
    /// (labelled, predicted) → count, for the pairs that differ.
    pub confusion: Vec<(String, String, usize)>,
    /// Every miss, in corpus order.
    pub misses: Vec<Miss>,
}

impl Report {
    /// Emergency precision: of the emergencies the rules declared, the share labelled with that
    /// category and priority; `None` when they declared none. A message labelled with another
    /// category is a false emergency whether or not its label gives a priority.
    pub fn emergency_precision(&self) -> Option<f64> {
        ratio(self.emergencies_correct, self.emergencies_predicted)
    }

    /// Each way the report falls short of `gate`, as a sentence; empty when it passes. A
    /// category nobody labelled has no recall to miss, and rules that made no emergency made
    /// no false one.
    pub fn shortfalls(&self, gate: &Gate) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(min) = gate.accuracy.filter(|&min| self.accuracy * 100.0 < min) {
            out.push(format!(
                "accuracy {:.1}% is below --min-accuracy {min}%",
                self.accuracy * 100.0
            ));
        }
        if let Some(min) = gate.recall {
            for c in &self.categories {
                if let Some(recall) = c.recall.filter(|r| r * 100.0 < min) {
                    out.push(format!(
                        "recall of {} {:.1}% ({} of {}) is below --min-recall {min}%",
                        c.category,
                        recall * 100.0,
                        c.correct,
                        c.labelled
                    ));
                }
            }
        }
        if let (Some(min), Some(precision)) = (gate.emergency_precision, self.emergency_precision())
        {
            if precision * 100.0 < min {
                out.push(format!(
                    "emergency precision {:.1}% ({} of {}) is below --min-emergency-precision {min}%",
                    precision * 100.0,
                    self.emergencies_correct,
                    self.emergencies_predicted
                ));
            }
        }
        out
    }
}

/// The least a corpus must score, in percent; `None` leaves a measure ungated.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gate {
    /// Share of requests in their labelled category.
    pub accuracy: Option<f64>,
    /// Recall of every labelled category.
    pub recall: Option<f64>,
    /// Share of emergency decisions that are labelled with that category and priority.
    pub emergency_precision: Option<f64>,
}

impl Gate {
    /// Checks that each threshold is a percentage.
    ///
    /// # Errors
    /// The option and value outside 0–100.
    pub fn validate(&self) -> Result<(), String> {
        for (option, value) in [
            ("--min-accuracy", self.accuracy),
            ("--min-recall", self.recall),
            ("--min-emergency-precision", self.emergency_precision),
        ] {
            if let Some(v) = value.filter(|v| !(0.0..=100.0).contains(v)) {
                return Err(format!("{option} {v}: expected a percentage from 0 to 100"));
            }
        }
        Ok(())
    }
}

/// Counts what the rules decided for `judged`.
pub fn evaluate(judged: &[Judged]) -> Report {
    let mut per: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut confusion: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut misses = Vec::new();
    let (mut correct, mut with_priority, mut priority_correct) = (0, 0, 0);
    let (mut emergencies_predicted, mut emergencies_correct) = (0, 0);
    for j in judged {
        let got = j.got.category.as_str();
        let hit = got == j.category;
        per.entry(&j.category).or_default().0 += 1;
        per.entry(got).or_default().1 += 1;
        if hit {
            correct += 1;
            per.entry(got).or_default().2 += 1;
        } else {
            *confusion.entry((&j.category, got)).or_default() += 1;
        }
        let level = j.got.priority.level;
        if is_emergency(&j.got) && (j.priority.is_some() || !hit) {
            emergencies_predicted += 1;
            emergencies_correct += usize::from(hit && j.priority == Some(level));
        }
        let priority_hit = match j.priority {
            Some(want) => {
                with_priority += 1;
                priority_correct += usize::from(want == level);
                want == level
            }
            None => true,
        };
        if !hit || !priority_hit {
            misses.push(Miss {
                source: j.source.clone(),
                subject: j.subject.clone(),
                expected: (j.category.clone(), j.priority),
                got: (j.got.category.clone(), level),
                rule: j.got.rule.clone(),
                evidence: j
                    .got
                    .evidence
                    .iter()
                    .map(|e| format!("{} {:?}", e.field, e.matched))
                    .collect(),
                model: j.got.model.as_ref().map(ToString::to_string),
            });
        }
    }
    let categories = per
        .into_iter()
        .map(|(category, (labelled, predicted, correct))| CategoryScore {
            category: category.to_owned(),
            labelled,
            predicted,
            correct,
            precision: ratio(correct, predicted),
            recall: ratio(correct, labelled),
        })
        .collect();
    Report {
        total: judged.len(),
        correct,
        accuracy: ratio(correct, judged.len()).unwrap_or(0.0),
        with_priority,
        priority_correct,
        emergencies_predicted,
        emergencies_correct,
        categories,
        confusion: confusion
            .into_iter()
            .map(|((want, got), n)| (want.to_owned(), got.to_owned(), n))
            .collect(),
        misses,
    }
}

/// Whether a decision is an emergency: its priority is the one the chart names Emergency
/// (priority 1 of break/fix and of acquisition; inventory's priority 1 is an information query).
fn is_emergency(c: &Classification) -> bool {
    c.priority.name.eq_ignore_ascii_case("emergency")
}

/// `part / whole`, or `None` for an empty whole.
#[allow(clippy::cast_precision_loss)]
fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Rules;

    fn judged(rules: &Rules, category: &str, priority: Option<u8>, subject: &str) -> Judged {
        let m = crate::classify::tests::msg(subject, "");
        Judged {
            source: format!("test:{subject}"),
            subject: subject.into(),
            category: category.into(),
            priority,
            got: rules.classify(&m),
        }
    }

    /// Accuracy, precision and recall, the confusion and the misses are counted from what the
    /// rules decided, and a wrong priority is a miss even in the right category.
    #[test]
    fn the_report_counts_hits_misses_and_emergencies() {
        let rules = Rules::from_toml(
            "eval",
            r#"
            first_response = "2h"
            [[category]]
            id = "break_fix"
            name = "Break/fix"
            type = "incident"
            default_priority = 3
            priorities = [
              { level = 1, name = "Emergency", target = "4h" },
              { level = 3, name = "Normal", target = "1d" },
            ]
            [[category]]
            id = "uncategorized"
            name = "Uncategorized"
            type = "request"
            default_priority = 4
            priorities = [{ level = 4, name = "Not yet categorized" }]
            [[rule]]
            name = "outage"
            category = "break_fix"
            priority = 1
            subject = 'down'
            [[rule]]
            name = "broken"
            category = "break_fix"
            subject = 'broken'
            "#,
        )
        .unwrap();
        let corpus = [
            judged(&rules, "break_fix", Some(1), "The whole network is down"),
            judged(&rules, "break_fix", None, "Printer broken"),
            judged(&rules, "break_fix", Some(3), "One laptop is down"),
            judged(&rules, "uncategorized", None, "Lunch menu"),
            judged(
                &rules,
                "uncategorized",
                None,
                "All clear: the network was down",
            ),
            judged(&rules, "break_fix", None, "Is it down?"),
            judged(
                &rules,
                "conference_support",
                None,
                "Broken link on the summit page",
            ),
        ];
        let r = evaluate(&corpus);
        assert_eq!((r.total, r.correct), (7, 5));
        assert!((r.accuracy - 5.0 / 7.0).abs() < 1e-9);
        assert_eq!((r.with_priority, r.priority_correct), (2, 1));
        // The wrong priority and the all-clear are false emergencies; a break/fix emergency
        // whose label gives no priority is left out.
        assert_eq!((r.emergencies_predicted, r.emergencies_correct), (3, 1));
        assert_eq!(r.emergency_precision(), Some(1.0 / 3.0));
        let bf = r
            .categories
            .iter()
            .find(|c| c.category == "break_fix")
            .unwrap();
        assert_eq!((bf.labelled, bf.predicted, bf.correct), (4, 6, 4));
        assert_eq!(bf.precision, Some(4.0 / 6.0));
        assert_eq!(bf.recall, Some(1.0));
        let conf = r
            .categories
            .iter()
            .find(|c| c.category == "conference_support")
            .unwrap();
        assert_eq!((conf.precision, conf.recall), (None, Some(0.0)));
        assert_eq!(
            r.confusion,
            [
                ("conference_support".into(), "break_fix".into(), 1),
                ("uncategorized".into(), "break_fix".into(), 1)
            ]
        );
        let misses: Vec<&str> = r.misses.iter().map(|m| m.subject.as_str()).collect();
        assert_eq!(
            misses,
            [
                "One laptop is down",
                "All clear: the network was down",
                "Broken link on the summit page"
            ]
        );
        let laptop = &r.misses[0];
        assert_eq!(laptop.got, ("break_fix".to_owned(), 1));
        assert_eq!(laptop.rule.as_deref(), Some("outage"));
        assert_eq!(laptop.evidence, ["subject \"down\""]);

        // The gate names each shortfall: accuracy 71%, conference recall 0%, uncategorized
        // recall 50%, emergencies 33%.
        assert!(r.shortfalls(&Gate::default()).is_empty());
        let lenient = Gate {
            accuracy: Some(70.0),
            recall: None,
            emergency_precision: Some(33.0),
        };
        assert!(r.shortfalls(&lenient).is_empty());
        let strict = Gate {
            accuracy: Some(95.0),
            recall: Some(85.0),
            emergency_precision: Some(95.0),
        };
        assert_eq!(
            r.shortfalls(&strict),
            [
                "accuracy 71.4% is below --min-accuracy 95%",
                "recall of conference_support 0.0% (0 of 1) is below --min-recall 85%",
                "recall of uncategorized 50.0% (1 of 2) is below --min-recall 85%",
                "emergency precision 33.3% (1 of 3) is below --min-emergency-precision 95%",
            ]
        );
    }

    #[test]
    fn a_gate_takes_percentages_only() {
        let ok = Gate {
            accuracy: Some(0.0),
            recall: Some(100.0),
            emergency_precision: None,
        };
        assert_eq!(ok.validate(), Ok(()));
        let bad = Gate {
            recall: Some(185.0),
            ..Gate::default()
        };
        assert_eq!(
            bad.validate(),
            Err("--min-recall 185: expected a percentage from 0 to 100".to_owned())
        );
    }

    #[test]
    fn an_empty_corpus_scores_nothing() {
        let r = evaluate(&[]);
        assert_eq!((r.total, r.accuracy), (0, 0.0));
        assert_eq!(r.emergency_precision(), None);
        assert!(r.categories.is_empty() && r.misses.is_empty());
    }
}
