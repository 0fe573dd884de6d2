//! Eagle's greedy round-robin expert selection: start from a set, and in each round try adding every
//! remaining candidate, keep the one with the best metric averaged over seeds, until the best
//! addition gains less than `min-gain`, the rounds run out, or no candidate is left.
//!
//! The search only decides; `evaluate` trains and scores. Every cell goes through the stage cache,
//! so a resumed search replays the rounds already run from stored results and trains nothing twice.

use crate::eval::Scores;
use crate::spec::{ExpertKind, GreedySpec, Metric};
use crate::stats::{mean_interval, paired_difference, Estimate, Side};
use serde::{Deserialize, Serialize};

/// One evaluated set: the expert it added (None for the start set) and its metric per seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetScore {
    /// The expert this round added (None: the start set).
    pub added: Option<ExpertKind>,
    /// The whole set.
    pub set: Vec<ExpertKind>,
    /// The metric, one value per seed in the experiment's seed order.
    pub per_seed: Vec<f64>,
    /// Mean over seeds.
    pub mean: f64,
    /// Half-width of the 95% t-interval of the mean (NaN with one seed, stored as `null`).
    #[serde(deserialize_with = "nan_from_null")]
    pub half_width: f64,
}

/// Reads a number that JSON stores as `null` when it is NaN (serde_json writes NaN as `null`).
fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Reads a pair of numbers either of which JSON stores as `null` when it is NaN.
fn pair_nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<(f64, f64)>, D::Error> {
    let pair = <Option<(Option<f64>, Option<f64>)> as serde::Deserialize>::deserialize(d)?;
    Ok(pair.map(|(a, b)| (a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN))))
}

impl SetScore {
    fn new(added: Option<ExpertKind>, set: Vec<ExpertKind>, per_seed: Vec<f64>) -> Self {
        let (mean, half_width) = mean_interval(&per_seed);
        Self { added, set, per_seed, mean, half_width }
    }
}

/// One round: every candidate's score, the winner and whether it was kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// 1 for the first addition.
    pub index: usize,
    /// The set the round added to, and its mean score.
    pub from: Vec<ExpertKind>,
    /// Mean score of `from`.
    pub from_mean: f64,
    /// Every candidate's set and score, best first.
    pub candidates: Vec<SetScore>,
    /// The best candidate.
    pub winner: ExpertKind,
    /// Winner's mean minus `from_mean`.
    pub gain: f64,
    /// Winner minus runner-up, paired by seed: mean and 95% half-width (None with one candidate; the
    /// half-width NaN with one seed, stored as `null`).
    #[serde(default, deserialize_with = "pair_nan_from_null")]
    pub over_runner_up: Option<(f64, f64)>,
    /// Whether the winner was added (its gain reached `min-gain`).
    pub kept: bool,
}

impl Round {
    /// Whether the winner beat the runner-up beyond noise: the paired interval excludes zero.
    /// None with one candidate or one seed.
    pub fn beats_runner_up(&self) -> Option<bool> {
        let (mean, half) = self.over_runner_up?;
        match (Estimate { mean, half }).side() {
            Side::NoInterval => None,
            Side::Above => Some(true),
            Side::Below | Side::HoldsZero => Some(false),
        }
    }
}

/// Why the search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// `max-rounds` rounds ran.
    MaxRounds,
    /// The best addition gained less than `min-gain`.
    MinGain,
    /// Every candidate was added.
    NoCandidates,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::MaxRounds => "max-rounds reached",
            StopReason::MinGain => "the best addition gained less than min-gain",
            StopReason::NoCandidates => "every candidate was added",
        })
    }
}

/// The whole search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GreedyOutcome {
    /// The metric maximised, as text.
    pub metric: String,
    /// The start set's score.
    pub start: SetScore,
    /// Rounds in order.
    pub rounds: Vec<Round>,
    /// The final set.
    pub chosen: Vec<ExpertKind>,
    /// Why it stopped.
    pub stop: StopReason,
}

impl GreedyOutcome {
    /// Every set the search evaluated, in order (the start set first).
    pub fn evaluated_sets(&self) -> Vec<Vec<ExpertKind>> {
        std::iter::once(self.start.set.clone())
            .chain(self.rounds.iter().flat_map(|r| r.candidates.iter().map(|c| c.set.clone())))
            .collect()
    }

    /// The best mean score after the start and after each kept round.
    pub fn trajectory(&self) -> Vec<(Vec<ExpertKind>, f64)> {
        let kept = self.rounds.iter().filter(|r| r.kept).map(|r| (r.candidates[0].set.clone(), r.candidates[0].mean));
        std::iter::once((self.start.set.clone(), self.start.mean)).chain(kept).collect()
    }
}

/// A set as written in labels: `clip+convnext`.
pub fn set_label(set: &[ExpertKind]) -> String {
    set.iter().map(|e| e.as_str()).collect::<Vec<_>>().join("+")
}

/// The metric of one cell's scores (a family the cell did not evaluate counts as 0).
pub fn metric_value(metric: &Metric, scores: &Scores) -> f64 {
    match metric {
        Metric::Average => scores.average,
        Metric::Family(f) => scores.get(*f).unwrap_or(0.0),
        Metric::Weighted(w) => {
            let total: f64 = w.iter().map(|(_, x)| x).sum();
            w.iter().map(|(f, x)| x * scores.get(*f).unwrap_or(0.0)).sum::<f64>() / total
        }
    }
}

/// A round's evaluation: for each expert set, the metric per seed.
pub type RoundScores = Vec<Vec<f64>>;

/// Runs the search. `evaluate` gets a round's sets and returns, for each, the metric per seed.
pub fn search<E, F>(g: &GreedySpec, evaluate: &mut F) -> Result<GreedyOutcome, E>
where
    F: FnMut(&[Vec<ExpertKind>]) -> Result<RoundScores, E>,
{
    let start_scores = evaluate(std::slice::from_ref(&g.start))?.remove(0);
    let start = SetScore::new(None, g.start.clone(), start_scores);
    let (mut current, mut current_mean) = (g.start.clone(), start.mean);
    let mut remaining = g.candidates.clone();
    let mut rounds = Vec::new();
    let mut stop = StopReason::NoCandidates;
    for index in 1..=g.max_rounds {
        if remaining.is_empty() {
            stop = StopReason::NoCandidates;
            break;
        }
        let sets: Vec<Vec<ExpertKind>> =
            remaining.iter().map(|&c| current.iter().copied().chain([c]).collect()).collect();
        let scores = evaluate(&sets)?;
        let mut candidates: Vec<SetScore> =
            remaining.iter().zip(sets).zip(scores).map(|((&c, set), s)| SetScore::new(Some(c), set, s)).collect();
        // Best first; ties keep the candidates' written order (a stable sort).
        candidates.sort_by(|a, b| b.mean.total_cmp(&a.mean));
        let winner = candidates[0].added.expect("a round's sets each add one candidate");
        let gain = candidates[0].mean - current_mean;
        let over_runner_up = candidates.get(1).map(|r| paired_difference(&candidates[0].per_seed, &r.per_seed));
        let kept = gain >= g.min_gain;
        rounds.push(Round {
            index,
            from: current.clone(),
            from_mean: current_mean,
            candidates,
            winner,
            gain,
            over_runner_up,
            kept,
        });
        if !kept {
            stop = StopReason::MinGain;
            break;
        }
        current.push(winner);
        current_mean += gain;
        remaining.retain(|&c| c != winner);
        stop = if remaining.is_empty() { StopReason::NoCandidates } else { StopReason::MaxRounds };
    }
    Ok(GreedyOutcome { metric: g.metric.to_string(), start, rounds, chosen: current, stop })
}

#[cfg(test)]
mod tests;
