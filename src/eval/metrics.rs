//! Scores: exact match per family, POPE F1 (yes = positive) and yes-ratio, the average of families.

use crate::spec::Family;
use serde::{Deserialize, Serialize};

/// One family's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyScore {
    /// The family.
    pub family: Family,
    /// Score in percent (exact match; F1 for POPE).
    pub score: f64,
    /// Exact-match accuracy in percent.
    pub accuracy: f64,
    /// Fraction of "yes" answers in percent (POPE only).
    pub yes_ratio: Option<f64>,
    /// Questions scored.
    pub n: usize,
}

/// Scores of every evaluated family and their average.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Per family, in evaluation order.
    pub families: Vec<FamilyScore>,
    /// Unweighted mean of the family scores (as the paper averages benchmarks).
    pub average: f64,
}

impl Scores {
    /// Builds the average from family scores.
    pub fn new(families: Vec<FamilyScore>) -> Self {
        let average = if families.is_empty() {
            0.0
        } else {
            families.iter().map(|f| f.score).sum::<f64>() / families.len() as f64
        };
        Self { families, average }
    }

    /// The score of `family`, if evaluated.
    pub fn get(&self, family: Family) -> Option<f64> {
        self.families.iter().find(|f| f.family == family).map(|f| f.score)
    }
}

/// Scores predictions against references (both decoded strings) for `family`.
pub fn score(family: Family, predictions: &[String], references: &[String]) -> FamilyScore {
    assert_eq!(predictions.len(), references.len());
    let n = predictions.len();
    let correct = predictions.iter().zip(references).filter(|(p, r)| p.trim() == r.trim()).count();
    let accuracy = 100.0 * correct as f64 / n.max(1) as f64;
    if family != Family::Pope {
        return FamilyScore { family, score: accuracy, accuracy, yes_ratio: None, n };
    }
    let yes = |s: &String| s.trim() == "yes";
    let tp = predictions.iter().zip(references).filter(|(p, r)| yes(p) && yes(r)).count() as f64;
    let fp = predictions.iter().zip(references).filter(|(p, r)| yes(p) && !yes(r)).count() as f64;
    let fn_ = predictions.iter().zip(references).filter(|(p, r)| !yes(p) && yes(r)).count() as f64;
    let f1 = if tp == 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fn_) };
    let yes_ratio = 100.0 * predictions.iter().filter(|p| yes(p)).count() as f64 / n.max(1) as f64;
    FamilyScore { family, score: 100.0 * f1, accuracy, yes_ratio: Some(yes_ratio), n }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn pope_f1_and_yes_ratio_match_hand_computation() {
        // tp = 2, fp = 1, fn = 1 → F1 = 4 / 6; 3 yes of 5.
        let f = score(Family::Pope, &s(&["yes", "yes", "yes", "no", "no"]), &s(&["yes", "yes", "no", "yes", "no"]));
        assert!((f.score - 100.0 * 4.0 / 6.0).abs() < 1e-9);
        assert!((f.accuracy - 60.0).abs() < 1e-9);
        assert_eq!(f.yes_ratio, Some(60.0));
    }

    #[test]
    fn exact_match_and_average() {
        let a = score(Family::Ocr, &s(&["cat", "dog", "ca"]), &s(&["cat", "dog", "cat"]));
        assert!((a.score - 200.0 / 3.0).abs() < 1e-9);
        let b = score(Family::Vqa, &s(&["red"]), &s(&["blue"]));
        let all = Scores::new(vec![a, b]);
        assert!((all.average - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(all.get(Family::Vqa), Some(0.0));
        assert_eq!(all.get(Family::Doc), None);
    }
}
