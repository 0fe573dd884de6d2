//! The A/A calibration: one cell run under 2k seeds, split every way into two arms of k seeds that
//! differ only by chance. It gives the seed-to-seed standard deviation of each metric (what the power
//! planner needs) and how often the verdict rule calls two identical arms different (its false-positive
//! rate, which should be near [`ALPHA`]). Stored as `results/<experiment>-calibration/calibration.json`.

use super::judge::ALPHA;
use super::metric_of;
use crate::eval::Scores;
use crate::spec::{Family, Metric};
use crate::stats::TTest;
use crate::store::{read_json, CellResult, ReadError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One metric's calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricCalibration {
    /// `average` or a family.
    pub metric: String,
    /// Mean over all seeds.
    pub mean: f64,
    /// Standard deviation of the cell's score over seeds.
    pub sd: f64,
    /// A/A splits in which the paired t test (two-sided, at [`ALPHA`]) called the arms different.
    pub false_positives: usize,
    /// A/A splits judged.
    pub comparisons: usize,
}

/// The stored calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The experiment the cell came from.
    pub experiment: String,
    /// The cell's label.
    pub cell: String,
    /// Scale preset.
    pub scale: String,
    /// Seeds per arm.
    pub arm: usize,
    /// Every seed's scores.
    pub seeds: Vec<(u64, Scores)>,
    /// Per metric: the average first, then each family.
    pub metrics: Vec<MetricCalibration>,
}

/// Calibration errors.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// Fewer results than two arms need.
    #[error("calibration needs {need} seeds of cell `{cell}` (two arms of {arm}), found {found}")]
    TooFewSeeds {
        /// The cell.
        cell: String,
        /// Seeds per arm.
        arm: usize,
        /// Seeds needed.
        need: usize,
        /// Seeds found.
        found: usize,
    },
}

/// Every way to choose `k` of `n` indices that includes index 0 (each split into two arms counted once).
fn splits(n: usize, k: usize) -> Vec<Vec<usize>> {
    fn rec(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            rec(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    rec(1, n, k, &mut vec![0], &mut out);
    out
}

/// Whether the rule calls two arms different: the paired t test's two-sided p below [`ALPHA`].
pub fn judged_different(a: &[f64], b: &[f64]) -> bool {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    TTest::of(&d).is_some_and(|t| 2.0 * t.p_greater(0.0).min(t.p_less(0.0)) < ALPHA)
}

/// One metric's calibration from its per-seed values (seeds in order), with arms of `arm` seeds.
pub fn calibrate_metric(metric: String, values: &[f64], arm: usize) -> MetricCalibration {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = TTest::of(values).map(|t| t.sd).unwrap_or(f64::NAN);
    let mut false_positives = 0;
    let all = splits(n, arm);
    for a in &all {
        let b: Vec<usize> = (0..n).filter(|i| !a.contains(i)).collect();
        let xa: Vec<f64> = a.iter().map(|&i| values[i]).collect();
        let xb: Vec<f64> = b.iter().take(arm).map(|&i| values[i]).collect();
        if judged_different(&xa, &xb) {
            false_positives += 1;
        }
    }
    MetricCalibration { metric, mean, sd, false_positives, comparisons: all.len() }
}

impl Calibration {
    /// The calibration of cell `cell` from its results (one per seed), with arms of `arm` seeds.
    pub fn from_results(
        experiment: &str,
        cell: &str,
        scale: &str,
        results: &[CellResult],
        arm: usize,
    ) -> Result<Calibration, CalibrationError> {
        let mut seeds: Vec<(u64, Scores)> =
            results.iter().filter(|r| r.label == cell).map(|r| (r.seed, r.scores.clone())).collect();
        seeds.sort_by_key(|(s, _)| *s);
        if seeds.len() < 2 * arm || arm < 2 {
            return Err(CalibrationError::TooFewSeeds {
                cell: cell.to_string(),
                arm,
                need: 2 * arm.max(2),
                found: seeds.len(),
            });
        }
        seeds.truncate(2 * arm);
        let mut metrics = vec![Metric::Average];
        metrics.extend(Family::ALL.iter().filter(|f| seeds[0].1.get(**f).is_some()).map(|f| Metric::Family(*f)));
        let metrics = metrics
            .into_iter()
            .filter_map(|m| {
                let values: Option<Vec<f64>> = seeds.iter().map(|(_, s)| metric_of(&m, s)).collect();
                values.map(|v| calibrate_metric(m.to_string(), &v, arm))
            })
            .collect();
        Ok(Calibration {
            experiment: experiment.to_string(),
            cell: cell.to_string(),
            scale: scale.to_string(),
            arm,
            seeds,
            metrics,
        })
    }

    /// The seed standard deviation of `metric` (None when a family it needs was not calibrated).
    pub fn sd(&self, metric: &Metric) -> Option<f64> {
        let values: Option<Vec<f64>> = self.seeds.iter().map(|(_, s)| metric_of(metric, s)).collect();
        TTest::of(&values?).map(|t| t.sd)
    }

    /// False positives and comparisons over every metric.
    pub fn false_positive_rate(&self) -> (usize, usize) {
        self.metrics.iter().fold((0, 0), |(f, c), m| (f + m.false_positives, c + m.comparisons))
    }

    /// The calibration as a markdown section.
    pub fn markdown(&self) -> String {
        let (fp, n) = self.false_positive_rate();
        let mut md = format!(
            "# A/A calibration: {} / `{}`\n\nScale `{}`: the cell ran with {} seeds ({}). Every split of them into \
             two arms of {} (each split once, {} splits) is two identical arms that differ only by seed; the \
             verdict rule (paired t over seeds, two-sided, {ALPHA}) should call them different in about {:.0}% of \
             splits. The splits share seeds, so they are not independent: the rate is an estimate, not an exact \
             count of independent trials.\n\n",
            self.experiment,
            self.cell,
            self.scale,
            self.seeds.len(),
            self.seeds.iter().map(|(s, _)| s.to_string()).collect::<Vec<_>>().join(", "),
            self.arm,
            self.metrics.first().map(|m| m.comparisons).unwrap_or(0),
            ALPHA * 100.0
        );
        md.push_str("| metric | mean | seed SD | arms called different | rate |\n|---|---|---|---|---|\n");
        for m in &self.metrics {
            md.push_str(&format!(
                "| {} | {:.1} | {:.2} | {} of {} | {:.1}% |\n",
                m.metric,
                m.mean,
                m.sd,
                m.false_positives,
                m.comparisons,
                100.0 * m.false_positives as f64 / m.comparisons.max(1) as f64
            ));
        }
        md.push_str(&format!("\nOver every metric: {fp} of {n} ({:.1}%).\n", 100.0 * fp as f64 / n.max(1) as f64));
        md
    }
}

/// Reads a stored calibration (None if there is none).
pub fn read(path: &Path) -> Result<Option<Calibration>, ReadError> {
    read_json(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_is_counted_once() {
        // C(9, 4) = 126 splits of 10 seeds into two arms of 5, each holding seed 0 in the first arm.
        let s = splits(10, 5);
        assert_eq!(s.len(), 126);
        assert!(s.iter().all(|a| a[0] == 0 && a.len() == 5));
        assert_eq!(splits(4, 2).len(), 3);
    }

    #[test]
    fn identical_arms_are_rarely_called_different_and_shifted_arms_always() {
        // Ten values that do not trend: few splits find a difference.
        let v = [50.0, 53.0, 48.0, 51.0, 49.0, 52.0, 47.0, 50.5, 51.5, 48.5];
        let c = calibrate_metric("average".into(), &v, 5);
        assert_eq!(c.comparisons, 126);
        assert!(c.false_positives * 5 < c.comparisons, "{c:?}");
        assert!((c.sd - TTest::of(&v).unwrap().sd).abs() < 1e-12);
        // Arms that differ by 10 points every time are always different.
        assert!(judged_different(&[60.0, 61.0, 59.0], &[50.0, 50.5, 49.0]));
        assert!(!judged_different(&[50.0, 52.0, 48.0], &[51.0, 49.0, 50.0]));
    }
}
