use super::*;
use crate::report::finding::Verdict;
use crate::report::rows::tests::{result, settings};
use crate::spec::ExpertKind;

fn with_pre_align(pre_align: bool) -> CellSettings {
    CellSettings { encoders: vec![ExpertKind::Clip, ExpertKind::Sam], pre_align, ..settings() }
}

fn cell(pre_align: bool, seed: u64, vqa: f64, pope: f64) -> CellResult {
    let mut r = result(if pre_align { "x/pre-aligned" } else { "x" }, vqa, pope);
    r.seed = seed;
    r.settings = Some(with_pre_align(pre_align));
    r
}

fn verdict(without: &[f64], with: &[f64]) -> Verdict {
    let mut rows = Vec::new();
    for (seed, (&a, &b)) in without.iter().zip(with).enumerate() {
        rows.push(cell(false, seed as u64, a, a));
        rows.push(cell(true, seed as u64, b, b));
    }
    let found = pre_alignment(&rows);
    assert_eq!(found.len(), 1, "one pre-aligned cell");
    assert!(found[0].evidence.contains(&format!("paired over {} seed(s)", with.len())), "{}", found[0].evidence);
    found[0].verdict
}

#[test]
fn pre_alignment_verdict_follows_the_paired_interval() {
    assert_eq!(verdict(&[40.0, 44.0, 42.0], &[43.0, 48.0, 45.5]), Verdict::Reproduced, "gains 3, 4, 3.5");
    assert_eq!(verdict(&[40.0, 44.0, 42.0], &[45.0, 40.0, 43.0]), Verdict::Inconclusive, "gains 5, −4, 1");
    assert_eq!(verdict(&[40.0, 44.0, 42.0], &[37.0, 40.0, 38.5]), Verdict::NotReproduced, "losses");
    assert_eq!(verdict(&[40.0], &[49.0]), Verdict::Inconclusive, "one seed");
    // Seeds that only one side has are left out of the pairing.
    let rows = vec![cell(false, 0, 40.0, 40.0), cell(true, 0, 45.0, 45.0), cell(true, 1, 90.0, 90.0)];
    assert!(pre_alignment(&rows)[0].evidence.contains("over 1 seed(s): 5.0 points"), "{:?}", pre_alignment(&rows));
}
