//! The verdict rules. Each comparison's per-seed estimates are tested against what the hypothesis
//! expects; a hypothesis of several comparisons (`best`) is supported only when every comparison is
//! (an intersection-union test) and contradicted when any is (Bonferroni within it); then the
//! experiment's p-values are Holm-corrected (Holm 1979) and compared with [`ALPHA`].

use super::contrast::{comparisons, CellRef, Comparison};
use super::metric_of;
use super::sequential::SequentialRule;
use crate::spec::{CellSettings, Expectation, Hypothesis};
use crate::stats::{holm, TTest};
use crate::store::CellResult;
use std::collections::BTreeMap;

/// The level every corrected p-value is compared with.
pub const ALPHA: f64 = 0.05;

/// A hypothesis's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The data show what the claim expects, beyond noise, after correction.
    Supported,
    /// The data show the opposite (or, for equivalence, a difference beyond the margin), after correction.
    Contradicted,
    /// Two or more seeds, and neither.
    Inconclusive,
    /// One seed: a number, no interval, no verdict.
    Indicative,
    /// The cells the contrast needs did not run.
    NotTested,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Indicative => "single seed: indicative",
            Verdict::NotTested => "not tested",
        })
    }
}

/// One comparison with its per-seed estimates and, with two or more seeds, its test.
#[derive(Debug, Clone, PartialEq)]
pub struct Tested {
    /// What was compared.
    pub comparison: Comparison,
    /// The estimate with each seed that has every cell it needs.
    pub per_seed: Vec<(u64, f64)>,
    /// The t analysis of the per-seed estimates (None with fewer than two seeds).
    pub test: Option<TTest>,
    /// p-value of the claim (small: supported), before correction.
    pub p_support: Option<f64>,
    /// p-value of its opposite (small: contradicted), before correction.
    pub p_contra: Option<f64>,
}

impl Tested {
    /// The mean of the per-seed estimates.
    pub fn mean(&self) -> f64 {
        self.per_seed.iter().map(|(_, x)| x).sum::<f64>() / self.per_seed.len().max(1) as f64
    }
}

/// A hypothesis judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The hypothesis.
    pub hypothesis: Hypothesis,
    /// Its comparisons (empty: not tested).
    pub tested: Vec<Tested>,
    /// The claim's p-value over its comparisons, before and after Holm's correction.
    pub p_support: Option<(f64, f64)>,
    /// The opposite's p-value, before and after Holm's correction.
    pub p_contra: Option<(f64, f64)>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Judged {
    /// The fewest seeds any comparison rests on (0: not tested).
    pub fn seeds(&self) -> usize {
        self.tested.iter().map(|t| t.per_seed.len()).min().unwrap_or(0)
    }
}

/// The confidence level of the interval shown with `expect` (90% for two one-sided tests at 5%).
pub fn interval_level(expect: Expectation) -> f64 {
    match expect {
        Expectation::Equivalent(_) => 0.90,
        _ => 0.95,
    }
}

/// The test used, in words.
pub fn test_words(expect: Expectation) -> String {
    match expect {
        Expectation::Above | Expectation::Below => "paired t over seeds, two-sided 5%".into(),
        Expectation::Equivalent(m) => format!("two one-sided t tests (TOST) at 5% against ±{m}"),
        Expectation::NotWorse(m) => {
            format!("non-inferiority: one-sided t against −{m} at 2.5% (p doubled, against 5%)")
        }
    }
}

/// (p of the claim, p of its opposite) for one t analysis; each is compared with [`ALPHA`].
fn p_values(t: &TTest, expect: Expectation) -> (f64, f64) {
    let two = |p: f64| (2.0 * p).min(1.0);
    match expect {
        Expectation::Above => (two(t.p_greater(0.0)), two(t.p_less(0.0))),
        Expectation::Below => (two(t.p_less(0.0)), two(t.p_greater(0.0))),
        Expectation::Equivalent(m) => (t.tost(m), two(t.p_greater(m).min(t.p_less(-m)))),
        Expectation::NotWorse(m) => (two(t.p_greater(-m)), two(t.p_less(-m))),
    }
}

/// (p of the claim, p of its opposite) of the estimates `xs` at one look; (1, 1) when every seed gave
/// the same estimate (no estimate of the spread, so nothing is shown); None with fewer than two.
fn look(xs: &[f64], expect: Expectation) -> Option<(f64, f64)> {
    let t = TTest::of(xs)?;
    Some(if t.sd <= 1e-9 * t.mean.abs().max(1.0) { (1.0, 1.0) } else { p_values(&t, expect) })
}

fn test_one(
    c: Comparison,
    values: &BTreeMap<(String, u64), f64>,
    seeds: &[u64],
    expect: Expectation,
    rule: Option<&SequentialRule>,
) -> Tested {
    let used: Vec<&(String, f64)> = c.weights.iter().filter(|(_, w)| w.abs() > 1e-12).collect();
    let per_seed: Vec<(u64, f64)> = seeds
        .iter()
        .filter_map(|&s| {
            let mut sum = 0.0;
            for (label, w) in &used {
                sum += w * values.get(&(label.clone(), s))?;
            }
            Some((s, sum))
        })
        // Adaptive seeds look at the first `max` seeds at most.
        .take(rule.map_or(usize::MAX, |r| r.max))
        .collect();
    let xs: Vec<f64> = per_seed.iter().map(|(_, x)| *x).collect();
    let test = TTest::of(&xs);
    let (p_support, p_contra) = match (rule, look(&xs, expect)) {
        (_, None) => (None, None),
        (None, Some((s, c))) => (Some(s), Some(c)),
        (Some(r), Some(_)) => (
            Some(r.p_value(&xs, |d| look(d, expect).map(|p| p.0))),
            Some(r.p_value(&xs, |d| look(d, expect).map(|p| p.1))),
        ),
    };
    Tested { comparison: c, per_seed, test, p_support, p_contra }
}

/// Judges every hypothesis of an experiment from its results. The comparisons come from `design`,
/// the cells the experiment planned (label and settings), so a planned cell that did not run leaves its
/// comparison without data ("not tested"), never silently out of a `best` claim. Cells are keyed by
/// their settings' key ([`CellSettings::key`]; the blind baseline never takes part).
pub fn judge_all(hypotheses: &[Hypothesis], design: &[CellSettings], results: &[CellResult]) -> Vec<Judged> {
    let cells: Vec<(String, CellSettings)> = design.iter().map(|c| (c.key(), c.clone())).collect();
    judge_cells(hypotheses, &cells, results, None)
}

/// [`judge_all`] over cells already keyed (`(key, settings)`); with adaptive seeds' `rule`, each comparison's
/// p-values are its sequential p-values ([`SequentialRule::p_value`]).
pub fn judge_cells(
    hypotheses: &[Hypothesis],
    cells: &[(String, CellSettings)],
    results: &[CellResult],
    rule: Option<&SequentialRule>,
) -> Vec<Judged> {
    let refs: Vec<CellRef> = cells.iter().map(|(l, s)| (l.as_str(), s)).collect();
    let labelled: Vec<(String, &CellResult)> =
        results.iter().filter_map(|r| Some((r.settings.as_ref()?.key(), r))).collect();
    let mut seeds: Vec<u64> = results.iter().map(|r| r.seed).collect();
    seeds.sort();
    seeds.dedup();
    let mut judged: Vec<Judged> = hypotheses
        .iter()
        .map(|h| {
            let values: BTreeMap<(String, u64), f64> = labelled
                .iter()
                .filter_map(|(label, r)| Some(((label.clone(), r.seed), metric_of(&h.metric, &r.scores)?)))
                .collect();
            let tested: Vec<Tested> =
                comparisons(h, &refs).into_iter().map(|c| test_one(c, &values, &seeds, h.expect, rule)).collect();
            let missing = tested.is_empty() || tested.iter().any(|t| t.per_seed.is_empty());
            let all_tested = !missing && tested.iter().all(|t| t.test.is_some());
            let (p_support, p_contra) = if all_tested {
                let k = tested.len() as f64;
                let sup = tested.iter().filter_map(|t| t.p_support).fold(0.0, f64::max);
                let con = (k * tested.iter().filter_map(|t| t.p_contra).fold(1.0, f64::min)).min(1.0);
                (Some((sup, sup)), Some((con, con)))
            } else {
                (None, None)
            };
            let verdict = if missing {
                Verdict::NotTested
            } else if !all_tested {
                Verdict::Indicative
            } else {
                Verdict::Inconclusive
            };
            Judged { hypothesis: h.clone(), tested, p_support, p_contra, verdict }
        })
        .collect();
    correct(&mut judged);
    judged
}

/// Holm's correction across the hypotheses with p-values, then the verdicts.
fn correct(judged: &mut [Judged]) {
    let idx: Vec<usize> = (0..judged.len()).filter(|&i| judged[i].p_support.is_some()).collect();
    let sup = holm(&idx.iter().map(|&i| judged[i].p_support.unwrap_or_default().0).collect::<Vec<_>>());
    let con = holm(&idx.iter().map(|&i| judged[i].p_contra.unwrap_or_default().0).collect::<Vec<_>>());
    for (k, &i) in idx.iter().enumerate() {
        let j = &mut judged[i];
        j.p_support = j.p_support.map(|(raw, _)| (raw, sup[k]));
        j.p_contra = j.p_contra.map(|(raw, _)| (raw, con[k]));
        j.verdict = if sup[k] < ALPHA {
            Verdict::Supported
        } else if con[k] < ALPHA {
            Verdict::Contradicted
        } else {
            Verdict::Inconclusive
        };
    }
}
