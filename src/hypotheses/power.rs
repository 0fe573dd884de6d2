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
    /// Why there is no estimate, when there is none.
    pub no_estimate: Option<String>,
    /// Comparisons that must all pass (several for `best`).
    pub comparisons: usize,
    /// The power each comparison is asked for, so that all of them pass with [`POWER`].
    pub power_each: f64,
}

/// The power each of `k` comparisons needs so that all `k` pass with [`POWER`]: `POWER^(1/k)`.
/// A claim of several comparisons (`best`) is supported only when every one is, and the chance that
/// all pass is at least the product of their chances when they are independent or positively
/// correlated (as comparisons sharing the claimed level's cell are: Slepian's inequality).
pub fn power_each(k: usize) -> f64 {
    POWER.powf(1.0 / k.max(1) as f64)
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
            let compared = comparisons(h, &refs);
            let factor = compared
                .iter()
                .map(|c| c.variance_factor())
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
            let families = compared_families(&compared, cells);
            let (sd, no_estimate) = match (calibrated_sd(calibration, &h.metric, &families), factor) {
                (Ok(s), Some(f)) => (Some(s * f.sqrt()), None),
                (Err(why), _) => (None, Some(why)),
                (Ok(_), None) => (None, Some("it compares no cells".to_string())),
            };
            let alpha = one_sided_alpha(h.expect) * share;
            let power = power_each(compared.len());
            let smallest = sd.filter(|_| seeds >= 2).map(|sd| match h.expect {
                Expectation::Equivalent(_) => detectable_margin(sd, seeds, alpha, power),
                _ => detectable_effect(sd, seeds, alpha, power),
            });
            let seeds_for_effect = effect.and_then(|e| sd.map(|sd| values_needed(e.abs(), sd, alpha, power)));
            Detectable {
                claim: h.claim.clone(),
                seeds,
                sd,
                smallest,
                seeds_for_effect,
                no_estimate,
                comparisons: compared.len(),
                power_each: power,
            }
        })
        .collect()
}

/// The family sets of the cells that `compared` weighs (each set once).
fn compared_families(
    compared: &[super::contrast::Comparison],
    cells: &[(String, CellSettings)],
) -> Vec<Vec<crate::spec::Family>> {
    let mut sets: Vec<Vec<crate::spec::Family>> = Vec::new();
    for c in compared {
        for (label, _) in c.weights.iter().filter(|(_, w)| w.abs() > 1e-12) {
            if let Some((_, cell)) = cells.iter().find(|(l, _)| l == label) {
                if !sets.contains(&cell.families) {
                    sets.push(cell.families.clone());
                }
            }
        }
    }
    sets
}

/// The calibration's seed SD of `metric` for cells evaluated on `families`, or why it has none.
/// An average (or weighted mean) is a different metric over a different set of families, so it
/// is only taken from a calibration whose cell had the same families.
fn calibrated_sd(
    calibration: &Calibration,
    metric: &crate::spec::Metric,
    families: &[Vec<crate::spec::Family>],
) -> Result<f64, String> {
    let names = |fs: &[crate::spec::Family]| fs.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ");
    let calibrated: Vec<crate::spec::Family> =
        calibration.seeds.first().map(|(_, s)| s.families.iter().map(|f| f.family).collect()).unwrap_or_default();
    if !matches!(metric, crate::spec::Metric::Family(_)) {
        let same = |fs: &Vec<crate::spec::Family>| {
            let (mut a, mut b) = (fs.clone(), calibrated.clone());
            a.sort();
            b.sort();
            a == b
        };
        if let Some(other) = families.iter().find(|fs| !same(fs)) {
            return Err(format!(
                "{metric} is over {} here but over {} in the calibration: calibrate a cell with these families",
                names(other),
                names(&calibrated)
            ));
        }
    }
    calibration.sd(metric).ok_or_else(|| format!("{metric} was not calibrated"))
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
            (None, None) => {
                format!("no estimate ({})", r.no_estimate.as_deref().unwrap_or("its metric was not calibrated"))
            }
        };
        let needed = match (effect, r.seeds_for_effect) {
            (Some(e), Some(Some(n))) => format!("; {e} points needs {n} seeds"),
            (Some(e), Some(None)) => format!("; {e} points needs more than 1000 seeds"),
            _ => String::new(),
        };
        let sd = r.sd.map(|s| format!(" (one seed's estimate: SD {s:.1})")).unwrap_or_default();
        let each = if r.comparisons > 1 {
            format!(
                "; each of its {} comparisons at {:.1}% power, so that all pass with {:.0}%",
                r.comparisons,
                100.0 * r.power_each,
                100.0 * POWER
            )
        } else {
            String::new()
        };
        out.push_str(&format!("  H{} {}: {smallest}{sd}{needed}{each}\n", i + 1, r.claim));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{FamilyScore, Scores};
    use crate::spec::Family;

    /// A calibration of one cell evaluated on `family` alone, one seed per value.
    fn one_family_calibration(family: Family, values: &[f64]) -> Calibration {
        let seeds = values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let f = FamilyScore { family, score: v, accuracy: v, yes_ratio: None, n: 200 };
                (i as u64, Scores::new(vec![f]))
            })
            .collect();
        Calibration { experiment: "p".into(), cell: "c".into(), scale: "proxy".into(), arm: 2, seeds, metrics: vec![] }
    }

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
        let cal = one_family_calibration(Family::Vqa, &vqa);
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

    #[test]
    fn an_average_over_other_families_than_the_calibrations_gets_no_estimate() {
        let spec = crate::spec::parse(
            std::path::Path::new("p.toml"),
            "[experiment]\nname = \"p\"\nseeds = [0, 1, 2, 3]\n[base]\nfamilies = [\"ocr\", \"doc\"]\n[grid]\n\
             unlock = [false, true]\n[[hypothesis]]\nclaim = \"o\"\ncontrast = \"pair\"\na = { unlock = false }\n\
             b = { unlock = true }\nmetric = \"average\"\nexpect = \"better\"\n[[hypothesis]]\nclaim = \"r\"\n\
             contrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\nmetric = \"ocr\"\nexpect = \"better\"\n",
        )
        .unwrap();
        // A calibration of a cell evaluated on vqa and ocr: its average is not this experiment's.
        let seeds = [(50.0, 30.0), (52.0, 36.0), (47.0, 31.0), (51.0, 35.0)]
            .iter()
            .enumerate()
            .map(|(i, &(vqa, ocr))| {
                let f = |family, v| FamilyScore { family, score: v, accuracy: v, yes_ratio: None, n: 200 };
                (i as u64, Scores::new(vec![f(Family::Vqa, vqa), f(Family::Ocr, ocr)]))
            })
            .collect();
        let cal = Calibration {
            experiment: "c".into(),
            cell: "c".into(),
            scale: "proxy".into(),
            arm: 2,
            seeds,
            metrics: vec![],
        };
        let cells = design_cells(&spec.cells, &spec.hypotheses);
        let rows = plan_power(&spec.hypotheses, &cells, 4, &cal, None);
        assert_eq!(rows[0].sd, None, "{rows:?}");
        let why = rows[0].no_estimate.as_deref().unwrap();
        assert!(why.contains("ocr, doc") && why.contains("vqa, ocr"), "{why}");
        assert!(text(&rows, "cal.json", None).contains(why));
        // One family's score is the same metric whatever else the cells were evaluated on.
        let ocr = crate::stats::TTest::of(&[30.0, 36.0, 31.0, 35.0]).unwrap().sd;
        assert!((rows[1].sd.unwrap() - ocr * 2f64.sqrt()).abs() < 1e-12, "{rows:?}");
        // The same families in another order are the same average.
        let same = Calibration {
            seeds: cal
                .seeds
                .iter()
                .map(|(i, s)| {
                    let mut f = s.families.clone();
                    f[0].family = Family::Doc;
                    f.reverse();
                    (*i, Scores::new(f))
                })
                .collect(),
            ..cal.clone()
        };
        assert!(plan_power(&spec.hypotheses, &cells, 4, &same, None)[0].sd.is_some());
    }

    #[test]
    fn a_best_claim_asks_each_comparison_for_more_power_so_that_all_pass() {
        let spec = crate::spec::parse(
            std::path::Path::new("p.toml"),
            "[experiment]\nname = \"p\"\nseeds = [0, 1, 2, 3, 4]\n[base]\nencoders = [\"clip\", \"convnext\"]\nfamilies = [\"ocr\"]\n[grid]\n\
             fusion = [\"channel-concat\", \"llava-hr\", \"mini-gemini\", \"deformable\"]\n[[hypothesis]]\n\
             claim = \"b\"\ncontrast = \"best\"\nlevel = { fusion = \"channel-concat\" }\nmetric = \"ocr\"\n\
             expect = \"better\"\n[[hypothesis]]\nclaim = \"p\"\ncontrast = \"pair\"\na = { fusion = \"llava-hr\" }\n\
             b = { fusion = \"channel-concat\" }\nmetric = \"ocr\"\nexpect = \"better\"\n",
        )
        .unwrap();
        let ocr = [30.0, 36.0, 31.0, 35.0, 33.0];
        let cal = one_family_calibration(Family::Ocr, &ocr);
        let cells = design_cells(&spec.cells, &spec.hypotheses);
        let rows = plan_power(&spec.hypotheses, &cells, 5, &cal, Some(5.0));
        let (best, pair) = (&rows[0], &rows[1]);
        assert_eq!((best.comparisons, pair.comparisons), (3, 1));
        // The same comparison SD, but three comparisons must all pass: each at 0.8^(1/3).
        assert_eq!(best.sd, pair.sd);
        let sd = pair.sd.unwrap();
        let each = POWER.powf(1.0 / 3.0);
        assert!((best.power_each - each).abs() < 1e-12 && (pair.power_each - POWER).abs() < 1e-12);
        let expected = detectable_effect(sd, 5, ALPHA / 2.0, each);
        assert!((best.smallest.unwrap() - expected).abs() < 1e-12, "{rows:?}");
        assert!(best.smallest.unwrap() > pair.smallest.unwrap() + 0.5, "{rows:?}");
        assert!(best.seeds_for_effect.unwrap().unwrap() > pair.seeds_for_effect.unwrap().unwrap(), "{rows:?}");
        let lines = text(&rows, "cal.json", Some(5.0));
        assert!(lines.contains("each of its 3 comparisons at 92.8% power"), "{lines}");
        assert_eq!(lines.matches("comparisons at").count(), 1, "{lines}");
    }

    #[test]
    fn an_equivalence_claim_is_planned_by_two_one_sided_tests_and_a_look_by_its_share_of_the_level() {
        let spec = crate::spec::parse(
            std::path::Path::new("p.toml"),
            "[experiment]\nname = \"p\"\nseeds = [0, 1, 2, 3, 4]\n[base]\nencoders = [\"clip\", \"convnext\"]\nfamilies = [\"ocr\"]\n[grid]\n\
             fusion = [\"channel-concat\", \"llava-hr\", \"mini-gemini\"]\n[[hypothesis]]\nclaim = \"e\"\n\
             contrast = \"pair\"\na = { fusion = \"llava-hr\" }\nb = { fusion = \"channel-concat\" }\nmetric = \"ocr\"\n\
             expect = \"equivalent\"\nmargin = 4.0\n[[hypothesis]]\nclaim = \"b\"\ncontrast = \"best\"\n\
             level = { fusion = \"channel-concat\" }\nmetric = \"ocr\"\nexpect = \"better\"\n",
        )
        .unwrap();
        let cal = one_family_calibration(Family::Ocr, &[30.0, 36.0, 31.0, 35.0, 33.0]);
        let cells = design_cells(&spec.cells, &spec.hypotheses);
        let rows = plan_power(&spec.hypotheses, &cells, 5, &cal, None);
        let sd = rows[0].sd.unwrap();
        // Equivalence: TOST, each side at the full 5% (a 90% interval), not a directional test at 2.5%.
        let tost = detectable_margin(sd, 5, ALPHA, POWER);
        assert!((rows[0].smallest.unwrap() - tost).abs() < 1e-12, "{rows:?}");
        assert!((tost - detectable_effect(sd, 5, ALPHA / 2.0, POWER)).abs() > 0.1, "the two plans differ here");
        // One look of adaptive seeds tests at its share of the level, and a best claim's comparisons
        // each ask for 0.8^(1/k) power on top of it.
        let share = 0.2;
        let look = plan_power_at(&spec.hypotheses, &cells, 5, share, &cal, None);
        let expected = detectable_effect(sd, 5, ALPHA / 2.0 * share, POWER.powf(1.0 / 2.0));
        assert_eq!(look[1].comparisons, 2);
        assert!((look[1].smallest.unwrap() - expected).abs() < 1e-12, "{look:?}");
        assert!((look[0].smallest.unwrap() - detectable_margin(sd, 5, ALPHA * share, POWER)).abs() < 1e-12);
        assert!(look[1].smallest.unwrap() > rows[1].smallest.unwrap(), "a smaller level detects less");
    }
}
