//! Scores over seeds: each cell's family scores and average as a mean with a 95% t-interval, and
//! the pre-alignment finding (EAGLE.md §4) from differences paired by seed.

use super::findings::Verdict;
use crate::spec::{CellSettings, Family};
use crate::stats::mean_interval;
use crate::store::CellResult;

/// One cell's scores over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedSummary {
    /// The cell's label (`blind` for the baseline).
    pub label: String,
    /// Seeds averaged.
    pub seeds: usize,
    /// Each evaluated family: mean and 95% half-width.
    pub families: Vec<(Family, f64, f64)>,
    /// The average over families: mean and 95% half-width.
    pub average: (f64, f64),
}

fn pm(m: f64, h: f64) -> String {
    if h.is_nan() {
        format!("{m:.1}")
    } else {
        format!("{m:.1} ± {h:.1}")
    }
}

/// One summary per cell label, in the order the labels first appear.
pub fn summarise(results: &[CellResult]) -> Vec<SeedSummary> {
    let mut labels: Vec<&str> = Vec::new();
    for r in results {
        if !labels.contains(&r.label.as_str()) {
            labels.push(&r.label);
        }
    }
    labels
        .into_iter()
        .map(|label| {
            let rows: Vec<&CellResult> = results.iter().filter(|r| r.label == label).collect();
            let families = Family::ALL
                .iter()
                .filter_map(|&f| {
                    let xs: Vec<f64> = rows.iter().filter_map(|r| r.scores.get(f)).collect();
                    (!xs.is_empty()).then(|| {
                        let (m, h) = mean_interval(&xs);
                        (f, m, h)
                    })
                })
                .collect();
            let avg: Vec<f64> = rows.iter().map(|r| r.scores.average).collect();
            SeedSummary { label: label.to_string(), seeds: rows.len(), families, average: mean_interval(&avg) }
        })
        .collect()
}

/// The table of summaries (one row per cell).
pub fn markdown(summaries: &[SeedSummary]) -> String {
    let fams: Vec<Family> = Family::ALL.iter().copied().filter(|f| summaries.iter().any(|s| s.families.iter().any(|(g, _, _)| g == f))).collect();
    let mut head = vec!["cell".to_string(), "seeds".into()];
    head.extend(fams.iter().map(|f| f.to_string()));
    head.push("average".into());
    let mut out = format!("| {} |\n|{}|\n", head.join(" | "), vec!["---"; head.len()].join("|"));
    for s in summaries {
        let mut cells = vec![s.label.clone(), s.seeds.to_string()];
        cells.extend(fams.iter().map(|f| s.families.iter().find(|(g, _, _)| g == f).map(|&(_, m, h)| pm(m, h)).unwrap_or_default()));
        cells.push(pm(s.average.0, s.average.1));
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// "Pre-alignment gives a clear gain": for each pre-aligned cell, the paired (by seed) difference
/// of its average from the same cell without pre-alignment; reproduced when the interval is above
/// zero, not reproduced when it is below, inconclusive when it holds zero or there is one seed.
pub fn pre_alignment(results: &[CellResult]) -> Vec<(String, Verdict, String)> {
    let without = |s: &CellSettings| CellSettings { pre_align: false, ..s.clone() };
    let mut out = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for r in results {
        let Some(s) = r.settings.as_ref().filter(|s| s.pre_align) else { continue };
        if done.contains(&r.label) {
            continue;
        }
        done.push(r.label.clone());
        let base = without(s);
        let diffs: Vec<f64> = results
            .iter()
            .filter(|a| a.label == r.label)
            .filter_map(|a| results.iter().find(|b| b.seed == a.seed && b.settings.as_ref() == Some(&base)).map(|b| a.scores.average - b.scores.average))
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
        let evidence = format!("{}: pre-aligned − not, paired over {} seed(s): {} points", r.label, diffs.len(), pm(d, h));
        out.push((r.label.clone(), verdict, evidence));
    }
    out
}

#[cfg(test)]
mod tests;
