//! Each cell's scores as estimates with 95% intervals: over seeds (Student t) when the cell ran
//! with several, else binomial over its test questions. Tables and plots share these numbers.

use crate::spec::{CellSettings, Family};
use crate::stats::{binomial_half_width, mean_interval, Estimate};
use crate::store::CellResult;

/// How an interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalKind {
    /// 95% Student-t over seeds.
    Seeds,
    /// 95% normal approximation over the test questions of the one seed.
    Binomial,
}

/// One cell's scores over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct CellEstimates {
    /// The cell's label (`blind` for the baseline).
    pub label: String,
    /// Its settings (None for the blind baseline).
    pub settings: Option<CellSettings>,
    /// Seeds it ran with.
    pub seeds: usize,
    /// How its intervals were computed.
    pub interval: IntervalKind,
    /// Each evaluated family.
    pub families: Vec<(Family, Estimate)>,
    /// The average over families.
    pub average: Estimate,
    /// Visual tokens the LM received.
    pub visual_tokens: usize,
    /// Mean seconds of the cell's own training (alignment + SFT).
    pub train_seconds: f64,
}

impl CellEstimates {
    /// The estimate of `family`, if evaluated.
    pub fn family(&self, family: Family) -> Option<Estimate> {
        self.families.iter().find(|(f, _)| *f == family).map(|(_, e)| *e)
    }
}

/// One result's score, binomial over its test questions: one family's, or (None) the average of
/// its families, whose variance is Σ var_f / k² for k independent families.
pub fn binomial(r: &CellResult, family: Option<Family>) -> Estimate {
    let fams: Vec<_> = r.scores.families.iter().filter(|f| family.is_none_or(|x| f.family == x)).collect();
    let k = fams.len().max(1) as f64;
    let mean = fams.iter().map(|f| f.score).sum::<f64>() / k;
    let var: f64 =
        fams.iter().map(|f| (binomial_half_width(f.score, f.n.max(1)) / 1.96).powi(2)).sum::<f64>() / (k * k);
    Estimate { mean, half: 1.96 * var.sqrt() }
}

fn one_seed(r: &CellResult) -> (Vec<(Family, Estimate)>, Estimate) {
    let families: Vec<(Family, Estimate)> =
        r.scores.families.iter().map(|s| (s.family, binomial(r, Some(s.family)))).collect();
    (families, Estimate { mean: r.scores.average, ..binomial(r, None) })
}

/// One entry per cell label, in the order the labels first appear in `results`.
pub fn by_cell(results: &[CellResult]) -> Vec<CellEstimates> {
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
            let first = rows[0];
            let (interval, families, average) = if rows.len() == 1 {
                let (f, a) = one_seed(first);
                (IntervalKind::Binomial, f, a)
            } else {
                let families = Family::ALL
                    .iter()
                    .filter_map(|&f| {
                        let xs: Vec<f64> = rows.iter().filter_map(|r| r.scores.get(f)).collect();
                        (!xs.is_empty()).then(|| {
                            let (mean, half) = mean_interval(&xs);
                            (f, Estimate { mean, half })
                        })
                    })
                    .collect();
                let (mean, half) = mean_interval(&rows.iter().map(|r| r.scores.average).collect::<Vec<_>>());
                (IntervalKind::Seeds, families, Estimate { mean, half })
            };
            CellEstimates {
                label: label.to_string(),
                settings: first.settings.clone(),
                seeds: rows.len(),
                interval,
                families,
                average,
                visual_tokens: first.visual_tokens,
                train_seconds: rows.iter().map(|r| r.train_seconds).sum::<f64>() / rows.len() as f64,
            }
        })
        .collect()
}

/// The families any cell evaluated, in the canonical order.
pub fn families(cells: &[CellEstimates]) -> Vec<Family> {
    Family::ALL.iter().copied().filter(|f| cells.iter().any(|c| c.family(*f).is_some())).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A vqa + pope result of `label` with `seed`, each family on 200 questions.
    pub(crate) fn result(label: &str, seed: u64, vqa: f64, pope: f64) -> CellResult {
        let mut r = crate::report::rows::tests::result(label, vqa, pope);
        r.seed = seed;
        for f in &mut r.scores.families {
            f.n = 200;
        }
        r
    }

    #[test]
    fn one_seed_gives_binomial_intervals_over_the_questions() {
        // vqa 50% of 200 questions: 1.96·√(0.25/200)·100 = 6.93; pope 80% (n 200): 5.54.
        let r = result("a", 0, 50.0, 80.0);
        let cells = by_cell(&[r]);
        assert_eq!(cells.len(), 1);
        let c = &cells[0];
        assert_eq!(c.interval, IntervalKind::Binomial);
        assert!((c.family(Family::Vqa).unwrap().half - 6.930).abs() < 1e-3);
        assert!((c.family(Family::Pope).unwrap().half - 5.544).abs() < 1e-3);
        // average: 1.96·√((0.25 + 0.16)/200)/2·100 = 4.437
        assert!((c.average.half - 4.437).abs() < 1e-3, "{}", c.average.half);
    }

    #[test]
    fn several_seeds_give_t_intervals_over_seeds() {
        // vqa 40, 50, 60 over three seeds: mean 50, sd 10, half = 4.3027·10/√3 = 24.841.
        let rows = vec![
            result("a", 0, 40.0, 80.0),
            result("a", 1, 50.0, 80.0),
            result("a", 2, 60.0, 80.0),
            result("b", 0, 10.0, 20.0),
        ];
        let cells = by_cell(&rows);
        assert_eq!(cells.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
        let a = &cells[0];
        assert_eq!((a.seeds, a.interval), (3, IntervalKind::Seeds));
        let v = a.family(Family::Vqa).unwrap();
        assert_eq!(v.mean, 50.0);
        assert!((v.half - 24.841).abs() < 1e-3, "{}", v.half);
        assert_eq!(a.family(Family::Pope).unwrap().half, 0.0);
        assert_eq!(families(&cells), vec![Family::Vqa, Family::Pope]);
    }

    #[test]
    fn summaries_match_a_hand_computed_case() {
        // vqa over seeds: 40, 44, 42 → mean 42, sd 2, half-width 4.303 · 2 / √3.
        let rows = vec![
            result("x", 0, 40.0, 60.0),
            result("x", 1, 44.0, 60.0),
            result("x", 2, 42.0, 60.0),
            result("x/pre-aligned", 0, 50.0, 70.0),
        ];
        let s = by_cell(&rows);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].label.as_str(), s[0].seeds), ("x", 3));
        let (f, m, h) = (s[0].families[0].0, s[0].families[0].1.mean, s[0].families[0].1.half);
        assert_eq!(f, Family::Vqa);
        assert!((m - 42.0).abs() < 1e-9 && (h - 4.302_652_729_749_464 * 2.0 / 3f64.sqrt()).abs() < 1e-9, "{m} ± {h}");
        let (pope_mean, pope_half) = (s[0].families[1].1.mean, s[0].families[1].1.half);
        assert!((pope_mean - 60.0).abs() < 1e-9 && pope_half.abs() < 1e-9);
        assert!((s[0].average.mean - 51.0).abs() < 1e-9);
        assert_eq!(s[1].interval, IntervalKind::Binomial, "one seed: binomial over questions");
        let plan = crate::plan::Plan {
            experiment: "t".into(),
            scale: crate::spec::Scale::Smoke,
            precision: Default::default(),
            cells: vec![],
            stages: Default::default(),
            merged: vec![],
        };
        let md = crate::report::markdown::summary(&s, &plan);
        assert!(md.contains("| x | 3 | 42.0 ± 5.0 | 60.0 ± 0.0 | 51.0 ± 2.5 |"), "{md}");
    }
}
