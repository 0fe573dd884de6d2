//! The power planner: for each hypothesis of an experiment, the smallest effect its seeds detect
//! with 80% power, and the seeds a given effect needs, from a calibration's seed standard deviation.
//! One seed's estimate of a comparison has standard deviation sd·√(Σ weight²) when the cells vary
//! independently with the calibrated cell's spread (an assumption: cells sharing pretrained stages
//! may co-vary, which makes paired differences less noisy than this).

use super::calibration::Calibration;
use super::contrast::{comparisons, CellRef};
use super::judge::ALPHA;
use crate::spec::{CellSettings, Expectation, Hypothesis, Selector};
use crate::stats::{detectable_effect, detectable_margin, values_needed};

/// The power the planner asks for.
pub const POWER: f64 = 0.8;

/// What one hypothesis can detect.
#[derive(Debug, Clone, PartialEq)]
pub struct Detectable {
    /// The hypothesis's claim.
    pub claim: String,
    /// Seeds in the file.
    pub seeds: usize,
    /// Standard deviation of one seed's estimate (the noisiest comparison's).
    pub sd: Option<f64>,
    /// The smallest effect (or equivalence margin) detected with [`POWER`] at the file's seeds.
    pub smallest: Option<f64>,
    /// Seeds needed for the asked effect, if one was asked (None inside: more than the cap).
    pub seeds_for_effect: Option<Option<usize>>,
}

/// The one-sided level each expectation is tested at.
fn one_sided_alpha(expect: Expectation) -> f64 {
    match expect {
        Expectation::Equivalent(_) => ALPHA,
        _ => ALPHA / 2.0,
    }
}

/// The cells a plan's hypotheses see: the spec's cells, and for a greedy search each encoder set a
/// hypothesis names (with the start cell's other settings).
pub fn design_cells(cells: &[CellSettings], hypotheses: &[Hypothesis]) -> Vec<(String, CellSettings)> {
    let mut out: Vec<(String, CellSettings)> = cells.iter().map(|c| (c.key(), c.clone())).collect();
    let sets = |s: &Selector| -> Option<String> {
        s.levels.iter().find(|(a, _)| *a == crate::spec::Axis::Encoders).map(|(_, t)| t.clone())
    };
    for h in hypotheses {
        let arms: Vec<&Selector> = match &h.contrast {
            crate::spec::Contrast::Pair { a, b } | crate::spec::Contrast::Interaction { a, b, .. } => vec![a, b],
            _ => vec![],
        };
        for set in arms.into_iter().filter_map(sets) {
            if out.iter().any(|(_, c)| crate::spec::level(crate::spec::Axis::Encoders, c) == set) {
                continue;
            }
            if let Some(first) = cells.first() {
                let encoders = set.split('+').filter_map(|e| e.parse().ok()).collect();
                let c = CellSettings { encoders, ..first.clone() };
                out.push((c.key(), c));
            }
        }
    }
    out
}

/// What each hypothesis can detect with `seeds` seeds, given `calibration` (and seeds for `effect`).
pub fn plan_power(
    hypotheses: &[Hypothesis],
    cells: &[(String, CellSettings)],
    seeds: usize,
    calibration: &Calibration,
    effect: Option<f64>,
) -> Vec<Detectable> {
    plan_power_at(hypotheses, cells, seeds, 1.0, calibration, effect)
}

/// [`plan_power`] with each test at `share` of its level: adaptive seeds' last look alone
/// (`SequentialRule::share(max)`), a lower bound on the rule's power since earlier looks add to it.
pub fn plan_power_at(
    hypotheses: &[Hypothesis],
    cells: &[(String, CellSettings)],
    seeds: usize,
    share: f64,
    calibration: &Calibration,
    effect: Option<f64>,
) -> Vec<Detectable> {
    let refs: Vec<CellRef> = cells.iter().map(|(l, s)| (l.as_str(), s)).collect();
    hypotheses
        .iter()
        .map(|h| {
            let factor = comparisons(h, &refs)
                .iter()
                .map(|c| c.variance_factor())
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
            let sd = match (calibration.sd(&h.metric), factor) {
                (Some(s), Some(f)) => Some(s * f.sqrt()),
                _ => None,
            };
            let alpha = one_sided_alpha(h.expect) * share;
            let smallest = sd.filter(|_| seeds >= 2).map(|sd| match h.expect {
                Expectation::Equivalent(_) => detectable_margin(sd, seeds, alpha, POWER),
                _ => detectable_effect(sd, seeds, alpha, POWER),
            });
            let seeds_for_effect = effect.and_then(|e| sd.map(|sd| values_needed(e.abs(), sd, alpha, POWER)));
            Detectable { claim: h.claim.clone(), seeds, sd, smallest, seeds_for_effect }
        })
        .collect()
}

/// The planner's lines for `eyrie plan`.
pub fn text(rows: &[Detectable], calibration_path: &str, effect: Option<f64>) -> String {
    let mut out = format!(
        "\npower (80%, seed SD from {calibration_path}; directional claims at two-sided {ALPHA}, equivalence by two \
         one-sided tests at {ALPHA}):\n"
    );
    for (i, r) in rows.iter().enumerate() {
        let smallest = match (r.smallest, r.sd) {
            (Some(e), _) => format!("detects {e:.1} points with {} seed(s)", r.seeds),
            (None, Some(_)) => format!("{} seed: no test (indicative only)", r.seeds),
            (None, None) => "no estimate (its metric was not calibrated, or it compares no cells)".into(),
        };
        let needed = match (effect, r.seeds_for_effect) {
            (Some(e), Some(Some(n))) => format!("; {e} points needs {n} seeds"),
            (Some(e), Some(None)) => format!("; {e} points needs more than 1000 seeds"),
            _ => String::new(),
        };
        let sd = r.sd.map(|s| format!(" (one seed's estimate: SD {s:.1})")).unwrap_or_default();
        out.push_str(&format!("  H{} {}: {smallest}{sd}{needed}\n", i + 1, r.claim));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{FamilyScore, Scores};
    use crate::spec::Family;

    #[test]
    fn detectable_effect_scales_the_calibrated_spread_by_the_contrasts_weights() {
        let spec = crate::spec::parse(
            std::path::Path::new("p.toml"),
            "[experiment]\nname = \"p\"\nseeds = [0, 1, 2, 3]\n[base]\nfamilies = [\"vqa\"]\n[grid]\nunlock = [false, true]\n\
             [[hypothesis]]\nclaim = \"u\"\ncontrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\n\
             metric = \"vqa\"\nexpect = \"better\"\n[[hypothesis]]\nclaim = \"o\"\ncontrast = \"pair\"\n\
             a = { unlock = false }\nb = { unlock = true }\nmetric = \"average\"\nexpect = \"better\"\n",
        )
        .unwrap();
        let vqa = [50.0, 52.0, 47.0, 51.0];
        let seeds = vqa
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let f = FamilyScore { family: Family::Vqa, score: v, accuracy: v, yes_ratio: None, n: 200 };
                (i as u64, Scores::new(vec![f]))
            })
            .collect();
        let cal = Calibration {
            experiment: "p".into(),
            cell: "c".into(),
            scale: "proxy".into(),
            arm: 2,
            seeds,
            metrics: vec![],
        };
        let sd = crate::stats::TTest::of(&vqa).unwrap().sd;
        let cells = design_cells(&spec.cells, &spec.hypotheses);
        let rows = plan_power(&spec.hypotheses, &cells, 4, &cal, Some(3.0));
        // A pair of two cells: one seed's difference has SD √2·sd.
        let expected = detectable_effect(sd * 2f64.sqrt(), 4, ALPHA / 2.0, POWER);
        assert!((rows[0].smallest.unwrap() - expected).abs() < 1e-12, "{rows:?}");
        assert_eq!(rows[0].seeds_for_effect, Some(values_needed(3.0, sd * 2f64.sqrt(), ALPHA / 2.0, POWER)));
        // The average of one family is that family: the same spread.
        assert_eq!(rows[1].sd, rows[0].sd);
        // Without a calibrated metric there is no estimate, and no seed count either.
        let ocr_free = Calibration { seeds: vec![], ..cal };
        let rows = plan_power(&spec.hypotheses, &cells, 4, &ocr_free, Some(3.0));
        assert_eq!((rows[0].sd, rows[0].seeds_for_effect), (None, None));
    }
}
