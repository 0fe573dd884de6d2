//! The pre-alignment finding (EAGLE.md §4) from differences paired by seed.

use super::findings::Verdict;
use crate::spec::CellSettings;
use crate::stats::mean_interval;
use crate::stats::Estimate;
use crate::store::CellResult;

/// "Pre-alignment gives a clear gain": for each pre-aligned cell, the paired (by seed) difference
/// of its average from the same cell without pre-alignment; reproduced when the interval is above
/// zero, not reproduced when it is below, inconclusive when it holds zero or there is one seed.
pub fn pre_alignment(results: &[CellResult]) -> Vec<(String, Verdict, String)> {
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
        let verdict = if h.is_nan() || (d - h <= 0.0 && d + h >= 0.0) {
            Verdict::Inconclusive
        } else if d > 0.0 {
            Verdict::Reproduced
        } else {
            Verdict::NotReproduced
        };
        let evidence = format!(
            "{}: pre-aligned − not, paired over {} seed(s): {} points",
            r.label,
            diffs.len(),
            Estimate { mean: d, half: h }.to_string()
        );
        out.push((r.label.clone(), verdict, evidence));
    }
    out
}

#[cfg(test)]
mod tests;
