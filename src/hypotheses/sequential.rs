//! The stopping rule of adaptive seeds (`seeds = { min, max }`): alpha spending over looks.
//!
//! A hypothesis is looked at each time its cells have one more seed, from `min` to `max` seeds. Look
//! n spends the share w_n of the level α given by the power spending function α·(n/max)^2 (Lan and
//! DeMets 1983; Kim and DeMets 1987, ρ = 2: little at the first looks, where few seeds have little
//! power anyway, most at the last ones); at `min` it spends (min/max)^2 at once, and Σ w_n = 1. Each
//! look is the same t test as a fixed design, and the looks are combined by the union bound: the
//! hypothesis's *sequential p-value* is min over looks n of p_n / w_n. Under the null every p_n is
//! (super-)uniform, so P(min_n p_n / w_n ≤ u) ≤ Σ_n u·w_n = u: it is a valid p-value whenever the
//! seeds stop, whatever the correlation between looks, and Holm's correction across hypotheses
//! applies to it unchanged. The bound ignores that looks share seeds, so the rule is conservative
//! (its false-positive rate is below α, see the tests); the price is power: a fixed design with
//! `max` seeds tests its one look at α.

use super::judge::{Judged, Verdict};
use crate::spec::AdaptiveSeeds;
use std::collections::BTreeSet;

/// The exponent ρ of the spending function α·(n/max)^ρ.
pub const SPENDING_POWER: i32 = 2;

/// The stopping rule for an experiment's adaptive seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequentialRule {
    /// First look (seeds every cell runs).
    pub min: usize,
    /// Last look (most seeds a cell runs).
    pub max: usize,
}

impl From<AdaptiveSeeds> for SequentialRule {
    fn from(a: AdaptiveSeeds) -> Self {
        SequentialRule { min: a.min, max: a.max }
    }
}

impl SequentialRule {
    /// The share of α spent by the looks up to `n` seeds (0 before `min`, 1 from `max`).
    pub fn spent(&self, n: usize) -> f64 {
        if n < self.min {
            0.0
        } else {
            (n.min(self.max) as f64 / self.max as f64).powi(SPENDING_POWER)
        }
    }

    /// The share of α the look at `n` seeds spends (0 outside `min..=max`).
    pub fn share(&self, n: usize) -> f64 {
        if n < self.min || n > self.max {
            0.0
        } else if n == self.min {
            self.spent(n)
        } else {
            self.spent(n) - self.spent(n - 1)
        }
    }

    /// The sequential p-value of estimates `xs` (one per seed, in seed order): the smallest
    /// `p(first n) / share(n)` over the looks `min..=max` that `xs` reaches, at most 1 (1 before
    /// the first look). `p` gives a look's fixed-design p-value (None: that look tests nothing).
    pub fn p_value(&self, xs: &[f64], p: impl Fn(&[f64]) -> Option<f64>) -> f64 {
        (self.min..=xs.len().min(self.max))
            .filter_map(|n| Some(p(&xs[..n])? / self.share(n)))
            .fold(1.0, f64::min)
            .min(1.0)
    }

    /// The level each look's p-value is compared with, for the report: `α·share(n)` at each `n`.
    pub fn levels(&self, alpha: f64) -> Vec<(usize, f64)> {
        (self.min..=self.max).map(|n| (n, alpha * self.share(n))).collect()
    }

    /// The rule in words, for the report.
    pub fn words(&self, alpha: f64) -> String {
        let levels: Vec<String> = self.levels(alpha).iter().map(|(n, a)| format!("{n}: {}", trim(a * 100.0))).collect();
        format!(
            "adaptive seeds from {} to {} per cell: after every cell has {} seeds, the cells of hypotheses still \
             undecided get one more seed at a time. Stopping rule: alpha spending (Lan and DeMets 1983) with the \
             power function {alpha}·(n/{})² over the looks n = {}..{}, combined by the union bound: a hypothesis's \
             p-value is the smallest over its looks of the look's t-test p-value divided by that look's share of \
             α, valid whenever the seeds stop; Holm's correction then applies across hypotheses as for fixed \
             seeds. Level spent at each look (n: %): {}. Intervals are the plain t intervals at the last look.",
            self.min,
            self.max,
            self.min,
            self.max,
            self.min,
            self.max,
            levels.join(", ")
        )
    }
}

/// `x` with at most three decimals, trailing zeros dropped.
fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The keys ([`crate::spec::CellSettings::key`]) of the cells that hypotheses still inconclusive rest on: the cells that need another seed.
pub fn open_cells(judged: &[Judged]) -> BTreeSet<String> {
    judged
        .iter()
        .filter(|j| j.verdict == Verdict::Inconclusive)
        .flat_map(|j| j.tested.iter())
        .flat_map(|t| t.comparison.weights.iter())
        .filter(|(_, w)| w.abs() > 1e-12)
        .map(|(label, _)| label.clone())
        .collect()
}

/// Monte Carlo false-positive rate of the rule on A/A data: in each of `trials`, `draw` gives
/// `max` per-seed differences of two identical arms; a trial is a false positive when the rule
/// calls the arms different (the two-sided paired t test, both directions, sequential p below
/// `alpha`). Returns (false positives, trials).
pub fn aa_false_positives(
    rule: &SequentialRule,
    alpha: f64,
    trials: usize,
    mut draw: impl FnMut() -> f64,
) -> (usize, usize) {
    use crate::stats::TTest;
    let mut fp = 0;
    for _ in 0..trials {
        let xs: Vec<f64> = (0..rule.max).map(|_| draw()).collect();
        let side = |greater: bool| {
            rule.p_value(&xs, |d| {
                let t = TTest::of(d)?;
                Some((2.0 * if greater { t.p_greater(0.0) } else { t.p_less(0.0) }).min(1.0))
            })
        };
        if side(true) < alpha || side(false) < alpha {
            fp += 1;
        }
    }
    (fp, trials)
}

#[cfg(test)]
mod tests;
