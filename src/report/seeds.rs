//! The pre-alignment finding: Eagle (arXiv 2408.15998) Sec. 3.5 "Vision-language Pre-Alignment", judged
//! from differences paired by seed.

use super::finding::{Check, Expect, Finding};
use crate::spec::CellSettings;
use crate::stats::mean_interval;
use crate::stats::Estimate;
use crate::store::CellResult;

/// The paper's claim.
pub const CLAIM: &str = "Pre-alignment gives a clear gain under a mixture of encoders";

/// [`CLAIM`] for each pre-aligned cell: the paired (by seed) difference of its average from the same
/// cell without pre-alignment; reproduced when the interval is above zero, not reproduced when it is
/// below, inconclusive when it holds zero or there is one seed.
pub fn pre_alignment(results: &[CellResult]) -> Vec<Finding> {
    let without = |s: &CellSettings| CellSettings { pre_align: false, ..s.clone() };
    let mut out = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for r in results {
        let Some(s) = r.settings.as_ref().filter(|s| s.pre_align) else {
            continue;
        };
        if done.contains(&r.label) {
            continue;
        }
        done.push(r.label.clone());
        let base = without(s);
        let diffs: Vec<f64> = results
            .iter()
            .filter(|a| a.label == r.label)
            .filter_map(|a| {
                results
                    .iter()
                    .find(|b| b.seed == a.seed && b.settings.as_ref() == Some(&base))
                    .map(|b| a.scores.average - b.scores.average)
            })
            .collect();
        if diffs.is_empty() {
            continue;
        }
        let (d, h) = mean_interval(&diffs);
        let difference = Estimate { mean: d, half: h };
        let evidence =
            format!("{}: pre-aligned − not, paired over {} seed(s): {} points", r.label, diffs.len(), difference);
        out.push(Finding::judged(CLAIM, vec![Check::new(difference, Expect::Positive)], evidence));
    }
    out
}

/// The findings as a markdown list: the verdict, then the evidence.
pub fn markdown(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("- **{}** — {}\n", f.verdict, f.evidence)).collect()
}

#[cfg(test)]
mod tests;
