//! The engine on constructed results: each verdict follows from its test, and none comes from one seed or
//! from absent cells.

use super::*;
use crate::spec::{parse, CellSettings, Spec};
use crate::store::CellResult;
use std::path::Path;

const GRID: &str = r#"
[experiment]
name = "t"
scale = "smoke"
seeds = [0, 1, 2]

[base]
families = ["vqa", "pope"]

[grid]
encoders = [["clip"], ["clip", "convnext"]]
resolution = ["native", 64, 96]
unlock = [false, true]
"#;

fn spec_with(hypotheses: &str) -> Spec {
    parse(Path::new("t.toml"), &format!("{GRID}\n{hypotheses}")).unwrap_or_else(|e| panic!("{e}"))
}

/// One result per cell and seed, vqa from `vqa(cell, seed)`, pope fixed.
fn results(spec: &Spec, seeds: &[u64], vqa: impl Fn(&CellSettings, u64) -> f64) -> Vec<CellResult> {
    let mut out = Vec::new();
    for c in &spec.cells {
        for &s in seeds {
            let mut r = crate::report::rows::tests::result(&c.label(), vqa(c, s), 50.0);
            r.seed = s;
            r.settings = Some(c.clone());
            out.push(r);
        }
    }
    out
}

fn unlocked(c: &CellSettings) -> bool {
    c.unlock.any()
}

fn pixels(c: &CellSettings) -> f64 {
    c.resolution.pixels_for(crate::spec::ExpertKind::Clip).unwrap_or(32) as f64
}

/// Seed noise of mean zero over seeds 0, 1, 2 (−1, +0.5, +0.5), scaled differently in every cell so
/// that differences between cells vary by seed too.
fn noise(c: &CellSettings, seed: u64) -> f64 {
    let u = unlocked(c) as u8 as f64;
    let cell = 1.0 + 0.3 * u + 0.2 * c.encoders.len() as f64 + pixels(c) / 320.0 + 0.1 * u * pixels(c) / 32.0;
    [-1.0, 0.5, 0.5][seed as usize % 3] * cell
}

const UNLOCK: &str = r#"
[[hypothesis]]
claim = "unlocking helps"
contrast = "pair"
a = { unlock = false }
b = { unlock = true }
metric = "vqa"
expect = "better"
"#;

fn verdicts(spec: &Spec, rows: &[CellResult]) -> Vec<Verdict> {
    judge_all(&spec.hypotheses, &spec.cells, rows).iter().map(|j| j.verdict).collect()
}

#[test]
fn a_pair_is_supported_contradicted_or_inconclusive_by_its_paired_t_test() {
    let spec = spec_with(UNLOCK);
    let gain = |g: f64| move |c: &CellSettings, s: u64| 50.0 + if unlocked(c) { g } else { 0.0 } + noise(c, s);
    assert_eq!(verdicts(&spec, &results(&spec, &[0, 1, 2], gain(5.0))), vec![Verdict::Supported]);
    assert_eq!(verdicts(&spec, &results(&spec, &[0, 1, 2], gain(-5.0))), vec![Verdict::Contradicted]);
    assert_eq!(verdicts(&spec, &results(&spec, &[0, 1, 2], gain(0.1))), vec![Verdict::Inconclusive]);
    // The estimate is the mean over the six pairs of b − a, per seed: exactly the gain here, plus the
    // noise's difference between the arms' cell terms.
    let j = &judge_all(
        &spec.hypotheses,
        &spec.cells,
        &results(&spec, &[0, 1, 2], |c, _| if unlocked(c) { 7.0 } else { 3.0 }),
    )[0];
    assert_eq!(j.tested.len(), 1);
    let seeds: Vec<u64> = j.tested[0].per_seed.iter().map(|(s, _)| *s).collect();
    assert_eq!(seeds, vec![0, 1, 2]);
    assert!(j.tested[0].per_seed.iter().all(|(_, x)| (x - 4.0).abs() < 1e-12), "{:?}", j.tested[0].per_seed);
    assert_eq!(j.seeds(), 3);
    // The same estimate with every seed: no spread to test with, so no verdict beyond noise.
    assert_eq!(j.verdict, Verdict::Inconclusive);
}

#[test]
fn one_seed_is_indicative_and_absent_cells_are_not_tested() {
    let spec = spec_with(UNLOCK);
    let huge = |c: &CellSettings, _| if unlocked(c) { 90.0 } else { 10.0 };
    assert_eq!(verdicts(&spec, &results(&spec, &[0], huge)), vec![Verdict::Indicative]);
    let frozen_only: Vec<CellResult> =
        results(&spec, &[0, 1, 2], huge).into_iter().filter(|r| !unlocked(r.settings.as_ref().unwrap())).collect();
    let j = judge_all(&spec.hypotheses, &spec.cells, &frozen_only);
    assert_eq!(j[0].verdict, Verdict::NotTested);
    assert!(j[0].p_support.is_none());
    // A seed missing one cell of a pair is left out of that comparison.
    let mut rows = results(&spec, &[0, 1, 2], huge);
    rows.retain(|r| !(r.seed == 2 && unlocked(r.settings.as_ref().unwrap())));
    assert_eq!(judge_all(&spec.hypotheses, &spec.cells, &rows)[0].seeds(), 2);
}

#[test]
fn equivalence_needs_the_whole_90_percent_interval_inside_the_margin() {
    let h = r#"
[[hypothesis]]
claim = "64 and 96 px are equivalent"
contrast = "pair"
a = { resolution = 64 }
b = { resolution = 96 }
metric = "vqa"
expect = "equivalent"
margin = 2.0
"#;
    let spec = spec_with(h);
    let diff = |d: f64, wobble: f64| {
        move |c: &CellSettings, s: u64| 50.0 + if pixels(c) == 96.0 { d + wobble * (s as f64 - 1.0) } else { 0.0 }
    };
    assert_eq!(verdicts(&spec, &results(&spec, &[0, 1, 2], diff(0.2, 0.1))), vec![Verdict::Supported]);
    assert_eq!(verdicts(&spec, &results(&spec, &[0, 1, 2], diff(6.0, 0.1))), vec![Verdict::Contradicted]);
    // Centred but too noisy to rule out ±2: not shown equivalent (absence of evidence is not evidence).
    assert_eq!(verdicts(&spec, &results(&spec, &[0, 1, 2], diff(0.0, 3.0))), vec![Verdict::Inconclusive]);
}

#[test]
fn best_is_supported_only_against_every_other_level() {
    let h = r#"
[[hypothesis]]
claim = "native is the best resolution"
contrast = "best"
level = { resolution = "native" }
metric = "vqa"
expect = "better"
"#;
    let spec = spec_with(h);
    let j = &judge_all(
        &spec.hypotheses,
        &spec.cells,
        &results(&spec, &[0, 1, 2], |c, s| 100.0 - pixels(c) / 2.0 + noise(c, s)),
    )[0];
    assert_eq!(j.tested.len(), 2, "native against 64 and against 96");
    assert_eq!(j.verdict, Verdict::Supported);
    // A rival that never ran: the claim is not tested, rather than judged against the others alone.
    let without_96: Vec<CellResult> = results(&spec, &[0, 1, 2], |c, s| 100.0 - pixels(c) / 2.0 + noise(c, s))
        .into_iter()
        .filter(|r| pixels(r.settings.as_ref().unwrap()) != 96.0)
        .collect();
    assert_eq!(verdicts(&spec, &without_96), vec![Verdict::NotTested]);
    // Better than 96 px but tied with 64 px: not every comparison holds.
    let tied = |c: &CellSettings, s: u64| if pixels(c) == 96.0 { 30.0 } else { 60.0 } + noise(c, s);
    assert_eq!(verdicts(&spec, &results(&spec, &[0, 1, 2], tied)), vec![Verdict::Inconclusive]);
}

#[test]
fn trend_and_interaction_are_slopes_per_level_step() {
    let h = r#"
[[hypothesis]]
claim = "vqa rises with resolution"
contrast = "trend"
axis = "resolution"
metric = "vqa"
expect = "increasing"

[[hypothesis]]
claim = "unlocking helps more at higher resolution"
contrast = "interaction"
a = { unlock = false }
b = { unlock = true }
by = "resolution"
metric = "vqa"
expect = "increasing"
"#;
    let spec = spec_with(h);
    // Levels native, 64, 96 (index 0, 1, 2). Frozen: 50 + 2·index; unlocked adds 3·index more.
    let index = |c: &CellSettings| match pixels(c) as usize {
        32 => 0.0,
        64 => 1.0,
        _ => 2.0,
    };
    let y = |c: &CellSettings, _s: u64| 50.0 + 2.0 * index(c) + if unlocked(c) { 3.0 * index(c) } else { 0.0 };
    let j = judge_all(&spec.hypotheses, &spec.cells, &results(&spec, &[0, 1, 2], y));
    // Trend: mean over cells at each level: 50 + 3.5·index → slope 3.5 per step.
    assert!((j[0].tested[0].per_seed[0].1 - 3.5).abs() < 1e-9, "{:?}", j[0].tested[0].per_seed);
    // Interaction: b − a = 3·index → slope 3 per step.
    assert!((j[1].tested[0].per_seed[0].1 - 3.0).abs() < 1e-9, "{:?}", j[1].tested[0].per_seed);
    let noisy = |c: &CellSettings, s: u64| y(c, s) + noise(c, s);
    assert_eq!(verdicts(&spec, &results(&spec, &[0, 1, 2], noisy)), vec![Verdict::Supported, Verdict::Supported]);
}

#[test]
fn holm_corrects_across_the_experiments_hypotheses() {
    // The same weak gain claimed twice: each alone passes 5%, but Holm doubles the smaller p-value.
    let h = format!("{UNLOCK}\n{}", UNLOCK.replace("unlocking helps", "unlocking helps, again"));
    let spec = spec_with(&h);
    // Per-seed differences 1.0, 2.2, 3.4 (mean 2.2, sd 1.2): t = 3.175, two-sided p = 0.0865; with
    // 4 seeds 1.0, 2.2, 3.4, 2.2: t = 4.49, p = 0.0206 — Holm multiplies the smallest by 2 → 0.041.
    let gain = |c: &CellSettings, s: u64| if unlocked(c) { [1.0, 2.2, 3.4, 2.2][s as usize] } else { 0.0 };
    let j = judge_all(&spec.hypotheses, &spec.cells, &results(&spec, &[0, 1, 2, 3], gain));
    let (raw, adjusted) = j[0].p_support.unwrap();
    assert!((adjusted - 2.0 * raw).abs() < 1e-12 && raw < 0.025 && adjusted > raw, "{raw} {adjusted}");
    assert_eq!(j[0].verdict, Verdict::Supported, "{adjusted}");
    let (raw1, adjusted1) = j[1].p_support.unwrap();
    assert_eq!(raw1, raw);
    assert_eq!(adjusted1, adjusted, "equal p-values get the same adjusted value");
}

#[test]
fn the_section_shows_each_hypothesis_with_its_test_and_marks_post_hoc_ones() {
    let spec = spec_with(UNLOCK);
    let j =
        judge_all(&spec.hypotheses, &spec.cells, &results(&spec, &[0], |c, _| if unlocked(c) { 60.0 } else { 50.0 }));
    let md = markdown::section(&j, &[false]);
    assert!(md.contains("| H1 | unlocking helps |"), "{md}");
    assert!(md.contains("single seed: indicative"), "{md}");
    assert!(md.contains("+10.0 (no interval)"), "{md}");
    assert!(md.contains("Not pre-registered: hypotheses H1"), "{md}");
    assert!(!markdown::section(&j, &[true]).contains("Not pre-registered"));
}

#[test]
fn the_table_shows_the_claims_p_value_and_its_opposites() {
    let spec = spec_with(UNLOCK);
    // Unlocking lowers the score in every seed, by 8 to 12 points: the claim's p is 1, its opposite's small.
    let loss = |c: &CellSettings, s: u64| if unlocked(c) { 50.0 - [8.0, 12.0, 9.0, 11.0][s as usize] } else { 50.0 };
    let j = judge_all(&spec.hypotheses, &spec.cells, &results(&spec, &[0, 1, 2, 3], loss));
    let (raw, adjusted) = j[0].p_contra.unwrap();
    assert!(raw < 0.01 && j[0].verdict == Verdict::Contradicted, "{raw} {:?}", j[0].verdict);
    let md = markdown::section(&j, &[true]);
    let row = md.lines().find(|l| l.starts_with("| H1 |")).unwrap();
    let cells: Vec<&str> = row.split(" | ").collect();
    assert_eq!(cells[cells.len() - 3], "1.000 (1.000)", "{row}");
    let opposite = if adjusted < 0.001 { "<0.001 (<0.001)".to_string() } else { format!("{adjusted:.3} ({raw:.3})") };
    assert_eq!(cells[cells.len() - 2], opposite, "{row}");
    assert!(md.contains("| p claim (Holm) | p opposite (Holm) | verdict |"), "{md}");
}
