//! Turning a greedy search's sets into cells to run, reading their scores back, and keeping the
//! search's record (`results/<experiment>/greedy.json`).

use super::greedy::{metric_value, GreedyOutcome};
use crate::spec::{Axis, ExpertKind, Metric, Spec};
use crate::store::{read_json, write_atomic, CellResult, ReadError, Store};

/// The spec whose cells are `sets`, each with the start cell's other settings.
pub fn round_spec(spec: &Spec, sets: &[Vec<ExpertKind>]) -> Spec {
    let base = &spec.cells[0];
    let mut s = spec.clone();
    s.cells = sets.iter().map(|set| crate::spec::CellSettings { encoders: set.clone(), ..base.clone() }).collect();
    s.axes = vec![Axis::Encoders];
    s
}

/// For each set, the metric of its cell per seed (in `seeds` order), from `results`.
///
/// # Panics
/// If a set has no result for a seed: the caller ran the plan of exactly these sets.
pub fn seed_metrics(results: &[CellResult], sets: &[Vec<ExpertKind>], seeds: &[u64], metric: &Metric) -> Vec<Vec<f64>> {
    sets.iter()
        .map(|set| {
            seeds
                .iter()
                .map(|&seed| {
                    let r = results
                        .iter()
                        .find(|r| r.seed == seed && r.settings.as_ref().is_some_and(|s| &s.encoders == set))
                        .unwrap_or_else(|| panic!("no result for {set:?} seed {seed}"));
                    metric_value(metric, &r.scores)
                })
                .collect()
        })
        .collect()
}

/// Writes the search's record next to the experiment's results.
pub fn write_outcome(store: &Store, experiment: &str, outcome: &GreedyOutcome) -> std::io::Result<()> {
    let dir = store.experiment_dir(experiment);
    std::fs::create_dir_all(&dir)?;
    write_atomic(
        &dir.join("greedy.json"),
        serde_json::to_string_pretty(outcome).expect("outcome serialises").as_bytes(),
    )
}

/// The search's record: `None` if none was written, an error if it is corrupt.
pub fn read_outcome(store: &Store, experiment: &str) -> Result<Option<GreedyOutcome>, ReadError> {
    read_json(&store.experiment_dir(experiment).join("greedy.json"))
}

/// The sets of a worst-case search, as if the candidates won in their written order: every round
/// runs (up to `max-rounds`) and tries every remaining candidate. As many sets as
/// [`GreedySpec::worst_case_sets`], of the sizes the real search would try, for cost estimates.
pub fn worst_case_sets(g: &crate::spec::GreedySpec) -> Vec<Vec<ExpertKind>> {
    let mut sets = vec![g.start.clone()];
    let mut current = g.start.clone();
    for round in 0..g.max_rounds.min(g.candidates.len()) {
        let remaining = &g.candidates[round..];
        sets.extend(remaining.iter().map(|&c| current.iter().copied().chain([c]).collect::<Vec<_>>()));
        current.push(remaining[0]);
    }
    sets
}
