//! The resolution findings: Eagle (arXiv 2408.15998) Sec. 3.2 "Stronger CLIP encoder", judged from an
//! experiment that varies the resolution and unlocking of one expert, each difference binomial over
//! the test questions of one seed.

use super::estimates::binomial;
use super::finding::{Check, Expect, Finding};
use crate::spec::{Axis, Family, Resolution, Tiling, Unlock};
use crate::stats::Estimate;
use crate::store::CellResult;

/// A difference as text: `+3.5 ± 6.9`.
fn signed(e: Estimate) -> String {
    format!("{:+.1} ± {:.1}", e.mean, e.half)
}

fn cell(rows: &[CellResult], res: Resolution, tiling: Tiling, unlock: bool) -> Option<&CellResult> {
    rows.iter().find(|r| {
        r.settings.as_ref().is_some_and(|s| {
            s.resolution == res && s.tiling == tiling && s.unlock == Unlock::All(unlock) && s.encoders.len() == 1
        })
    })
}

fn pixels(rows: &[CellResult]) -> Vec<usize> {
    let mut v: Vec<usize> = rows
        .iter()
        .filter_map(|r| match r.settings.as_ref()?.resolution {
            Resolution::Pixels(p) => Some(p),
            Resolution::Native => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The resolution findings for an experiment that varies `resolution` and `unlock` of one expert.
pub fn findings(rows: &[CellResult], axes: &[Axis]) -> Vec<Finding> {
    if !(axes.contains(&Axis::Resolution) && axes.contains(&Axis::Unlock)) {
        return vec![];
    }
    let mut out = Vec::new();
    let est = |r: &CellResult| binomial(r, None);
    let native = (
        cell(rows, Resolution::Native, Tiling::Interpolate, false),
        cell(rows, Resolution::Native, Tiling::Interpolate, true),
    );
    let (Some(nf), Some(nu)) = native else { return out };
    let native_gain = Estimate::diff(est(nf), est(nu));
    let higher = pixels(rows);

    // 1. Unlocking helps more away from the native resolution.
    let mut lines = vec![format!("native: unlocking {}", signed(native_gain))];
    let mut gains = Vec::new();
    for &p in &higher {
        if let (Some(f), Some(u)) = (
            cell(rows, Resolution::Pixels(p), Tiling::Interpolate, false),
            cell(rows, Resolution::Pixels(p), Tiling::Interpolate, true),
        ) {
            let g = Estimate::diff(est(f), est(u));
            lines.push(format!("{p} px: unlocking {}", signed(g)));
            gains.push(Estimate::diff(native_gain, g));
        }
    }
    if !gains.is_empty() {
        out.push(Finding::judged(
            "Unlocking the encoder helps more when the input resolution differs from its pretraining resolution",
            gains.iter().map(|g| Check::new(*g, Expect::Positive)).collect(),
            format!(
                "{}; gain minus native gain: {}",
                lines.join(", "),
                gains.iter().map(|g| signed(*g)).collect::<Vec<_>>().join(", ")
            ),
        ));
    }

    // 2. Frozen and stretched is worse than frozen at native.
    let mut drops = Vec::new();
    for &p in &higher {
        if let Some(f) = cell(rows, Resolution::Pixels(p), Tiling::Interpolate, false) {
            drops.push((p, Estimate::diff(est(nf), est(f))));
        }
    }
    if !drops.is_empty() {
        out.push(Finding::judged(
            "A frozen encoder stretched (interpolated) above its pretraining resolution scores worse than at native",
            drops.iter().map(|(_, d)| Check::new(*d, Expect::Negative)).collect(),
            drops
                .iter()
                .map(|(p, d)| format!("frozen {p} px vs native: {}", signed(*d)))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }

    // 3. Unlocked at 2x is the best trade: better than lower resolutions, and higher ones add nothing beyond noise.
    let unlocked: Vec<(usize, &CellResult)> = higher
        .iter()
        .filter_map(|&p| cell(rows, Resolution::Pixels(p), Tiling::Interpolate, true).map(|c| (p, c)))
        .collect();
    let native_px = nu.experts.first().map(|g| g.resolution).unwrap_or(0);
    if let Some(&(p2, c2)) = unlocked.iter().find(|(p, _)| *p == 2 * native_px) {
        let below: Vec<Estimate> = std::iter::once(nu)
            .chain(unlocked.iter().filter(|(p, _)| *p < p2).map(|(_, c)| *c))
            .map(|c| Estimate::diff(est(c), est(c2)))
            .collect();
        let above: Vec<(usize, Estimate)> =
            unlocked.iter().filter(|(p, _)| *p > p2).map(|(p, c)| (*p, Estimate::diff(est(c2), est(c)))).collect();
        let checks: Vec<Check> = below
            .iter()
            .map(|d| Check::new(*d, Expect::Positive))
            .chain(above.iter().map(|(_, d)| Check::new(*d, Expect::NotPositive)))
            .collect();
        let cost = |c: &CellResult| crate::plan::cost::human_duration(c.train_seconds);
        let below_text = below.iter().map(|d| signed(*d)).collect::<Vec<_>>().join(", ");
        let above_text = if above.is_empty() {
            "none".to_string()
        } else {
            above.iter().map(|(p, d)| format!("{p} px {}", signed(*d))).collect::<Vec<_>>().join(", ")
        };
        let above_costs: String = above
            .iter()
            .filter_map(|(p, _)| unlocked.iter().find(|(q, _)| q == p).map(|(_, c)| format!(", {} at {p} px", cost(c))))
            .collect();
        out.push(Finding::judged(
            format!("Unlocked at 2x ({p2} px) is the best trade of score and cost"),
            checks,
            format!(
                "{p2} px unlocked vs lower resolutions: {below_text}; higher resolutions vs {p2} px: {above_text}; \
                 training time {} at {p2} px vs {} native{above_costs}",
                cost(c2),
                cost(nu),
            ),
        ));
    }

    // 4. Reading needs pixels: OCR of the unlocked encoder rises with resolution.
    if nu.scores.get(Family::Ocr).is_some() && !unlocked.is_empty() {
        let series: Vec<(usize, Estimate)> = std::iter::once((native_px, binomial(nu, Some(Family::Ocr))))
            .chain(unlocked.iter().map(|(p, c)| (*p, binomial(c, Some(Family::Ocr)))))
            .collect();
        let (first, last) = (series[0].1, series[series.len() - 1].1);
        let rise = Estimate::diff(first, last);
        out.push(Finding::judged(
            "OCR accuracy of the unlocked encoder rises with resolution",
            vec![Check::new(rise, Expect::Positive)],
            format!(
                "ocr {}; highest vs native {}",
                series.iter().map(|(p, e)| format!("{p} px {:.1}", e.mean)).collect::<Vec<_>>().join(", "),
                signed(rise)
            ),
        ));
    }
    out
}

/// The findings as a markdown list.
pub fn markdown(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("- **{}** — {}. {}.\n", f.claim, f.verdict, f.evidence)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::finding::Verdict;
    use crate::stats::Side;

    #[test]
    fn interval_of_a_difference_follows_the_binomial() {
        // 50% over 200 questions: half-width 1.96·sqrt(.25/200) = 6.93 points.
        let a = Estimate { mean: 50.0, half: 196.0 * (0.25f64 / 200.0).sqrt() };
        assert!((a.half - 6.93).abs() < 0.01);
        let d = Estimate::diff(a, Estimate { mean: 60.0, half: a.half });
        assert!((d.mean - 10.0).abs() < 1e-9 && (d.half - 9.80).abs() < 0.01);
        assert_eq!(d.side(), Side::Above);
        assert_eq!(Estimate { mean: 5.0, half: 9.8 }.side(), Side::HoldsZero);
        assert_eq!(Estimate { mean: -12.0, half: 9.8 }.side(), Side::Below);
        assert_eq!(signed(d), "+10.0 ± 9.8");
    }

    /// An OCR-only clip cell at `res` (native 64 px), frozen or unlocked, scoring `ocr` on 200 questions.
    fn ocr_cell(res: Resolution, unlock: bool, ocr: f64) -> CellResult {
        use crate::eval::{FamilyScore, Scores};
        let mut r = crate::report::rows::tests::result("x", 0.0, 0.0);
        let px = match res {
            Resolution::Native => 64,
            Resolution::Pixels(p) => p,
        };
        r.scores =
            Scores::new(vec![FamilyScore { family: Family::Ocr, score: ocr, accuracy: ocr, yes_ratio: None, n: 200 }]);
        let mut s = crate::report::rows::tests::settings();
        s.resolution = res;
        s.unlock = Unlock::All(unlock);
        r.settings = Some(s);
        r.experts = vec![crate::plan::ExpertGeometry {
            expert: crate::spec::ExpertKind::Clip,
            resolution: px,
            native_resolution: 64,
            grid: px / 8,
            tiles: 0,
            tokens: (px / 8).pow(2),
        }];
        r
    }

    fn verdicts(rows: &[CellResult]) -> Vec<(String, Verdict)> {
        findings(rows, &[Axis::Resolution, Axis::Unlock]).into_iter().map(|f| (f.claim, f.verdict)).collect()
    }

    fn verdict_of(v: &[(String, Verdict)], starts: &str) -> Verdict {
        v.iter().find(|(c, _)| c.starts_with(starts)).unwrap_or_else(|| panic!("no finding `{starts}` in {v:?}")).1
    }

    #[test]
    fn verdicts_follow_the_intervals_in_constructed_cases() {
        use Resolution::{Native, Pixels};
        // Clear effects (±~9.8 points on a difference of two 200-question scores): unlocking gains
        // +2 at native and +40 at 128 px; frozen 128 px loses 20; OCR unlocked rises 52 → 70.
        let clear = [
            ocr_cell(Native, false, 50.0),
            ocr_cell(Native, true, 52.0),
            ocr_cell(Pixels(128), false, 30.0),
            ocr_cell(Pixels(128), true, 70.0),
        ];
        let v = verdicts(&clear);
        assert_eq!(verdict_of(&v, "Unlocking the encoder helps more"), Verdict::Reproduced);
        assert_eq!(verdict_of(&v, "A frozen encoder stretched"), Verdict::Reproduced);
        assert_eq!(verdict_of(&v, "OCR accuracy of the unlocked encoder rises"), Verdict::Reproduced);
        assert_eq!(
            verdict_of(&v, "Unlocked at 2x"),
            Verdict::Reproduced,
            "128 px = 2x native beats native by 18 points"
        );
        // Differences of a point or two: within noise.
        let noise = [
            ocr_cell(Native, false, 50.0),
            ocr_cell(Native, true, 51.0),
            ocr_cell(Pixels(128), false, 49.0),
            ocr_cell(Pixels(128), true, 52.0),
        ];
        let v = verdicts(&noise);
        assert!(v.iter().all(|(_, x)| *x == Verdict::Inconclusive), "{v:?}");
        // The opposite beyond noise: frozen 128 px is 25 points better, unlocked OCR falls 30.
        let opposite = [
            ocr_cell(Native, false, 40.0),
            ocr_cell(Native, true, 70.0),
            ocr_cell(Pixels(128), false, 65.0),
            ocr_cell(Pixels(128), true, 40.0),
        ];
        let v = verdicts(&opposite);
        assert_eq!(verdict_of(&v, "A frozen encoder stretched"), Verdict::NotReproduced);
        assert_eq!(verdict_of(&v, "OCR accuracy of the unlocked encoder rises"), Verdict::NotReproduced);
        assert_eq!(verdict_of(&v, "Unlocking the encoder helps more"), Verdict::NotReproduced);
    }
}
