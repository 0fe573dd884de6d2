//! The hypothesis engine: one set of rules judges every `[[hypothesis]]` of an experiment from its
//! results. Each hypothesis's contrast becomes per-seed estimates (cells paired by seed); with two
//! or more seeds they are tested with Student-t (directional claims), two one-sided tests
//! (equivalence) or a one-sided test against the margin (non-inferiority), and the p-values are
//! Holm-corrected across the experiment's hypotheses. One seed gives an indicative number, never a
//! verdict; absent cells give "not tested".

pub mod calibration;
pub mod contrast;
pub mod judge;
pub mod markdown;
pub mod power;
pub mod sequential;

pub use contrast::{comparisons, CellRef, Comparison};
pub use judge::{judge_all, Judged, Tested, Verdict, ALPHA};

use crate::eval::Scores;
use crate::spec::Metric;

/// The value of `metric` on `scores`; None when a family it needs was not evaluated.
pub fn metric_of(metric: &Metric, scores: &Scores) -> Option<f64> {
    match metric {
        Metric::Average => Some(scores.average),
        Metric::Family(f) => scores.get(*f),
        Metric::Weighted(w) => {
            let total: f64 = w.iter().map(|(_, x)| x).sum();
            let mut sum = 0.0;
            for (f, x) in w {
                sum += x * scores.get(*f)?;
            }
            Some(sum / total)
        }
    }
}

#[cfg(test)]
mod tests;
