//! `search = "greedy"`: Eagle's round-robin expert selection, as written in `[greedy]` and validated.

use super::bounds::MAX_SCORE_POINTS;
use super::error::{Locator, SpecError};
use super::names::{ExpertKind, Family};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

/// How an experiment chooses its cells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SearchKind {
    /// Every cell of the `[grid]` (the default).
    #[default]
    Grid,
    /// Greedy round-robin over expert sets, configured by `[greedy]`.
    Greedy,
}

/// The score a greedy search maximises, from a cell's test scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// The mean over the cell's families.
    Average,
    /// One family's score.
    Family(Family),
    /// A weighted mean of families' scores (weights as written; normalised when scoring).
    Weighted(Vec<(Family, f64)>),
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Metric::Average => f.write_str("average"),
            Metric::Family(fam) => write!(f, "{fam}"),
            Metric::Weighted(w) => {
                let parts: Vec<String> = w.iter().map(|(fam, x)| format!("{x}×{fam}")).collect();
                write!(f, "weighted({})", parts.join(" + "))
            }
        }
    }
}

/// A validated `[greedy]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GreedySpec {
    /// The set the search starts from (round 0 evaluates it alone).
    pub start: Vec<ExpertKind>,
    /// Experts each round may add, one at a time.
    pub candidates: Vec<ExpertKind>,
    /// What "best" means.
    pub metric: Metric,
    /// Rounds at most (each adds one expert).
    pub max_rounds: usize,
    /// The search stops when the best addition gains less than this (score points).
    pub min_gain: f64,
}

impl GreedySpec {
    /// Cells of the worst case (every round runs to `max_rounds`), per seed: the start set plus
    /// one cell per remaining candidate in each round.
    pub fn worst_case_sets(&self) -> usize {
        let n = self.candidates.len();
        1 + (0..self.max_rounds.min(n)).map(|r| n - r).sum::<usize>()
    }

    /// Every set the search could evaluate, whatever wins: the start set followed by each subset of
    /// at most `max_rounds` candidates (in their written order; the search appends winners in the
    /// order they win, which changes no check: the query expert is the start set's first or the named one).
    pub fn reachable_sets(&self) -> Vec<Vec<ExpertKind>> {
        let n = self.candidates.len();
        (0u32..1 << n)
            .filter(|mask| mask.count_ones() as usize <= self.max_rounds)
            .map(|mask| {
                let added = (0..n).filter(|i| mask & (1 << i) != 0).map(|i| self.candidates[i]);
                self.start.iter().copied().chain(added).collect()
            })
            .collect()
    }
}

/// `[greedy]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawGreedy {
    pub start: Spanned<Vec<ExpertKind>>,
    pub candidates: Spanned<Vec<ExpertKind>>,
    #[serde(default)]
    pub metric: Option<Spanned<RawMetric>>,
    #[serde(default)]
    pub max_rounds: Option<Spanned<i64>>,
    #[serde(default)]
    pub min_gain: Option<Spanned<f64>>,
}

/// `metric` as written: `"average"`, a family name, or a table of family = weight.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawMetric {
    Name(String),
    Weights(BTreeMap<String, f64>),
}

/// Validates `[greedy]` against the families every cell is evaluated on.
pub(crate) fn resolve_greedy(loc: &Locator, raw: &RawGreedy, families: &[Family]) -> Result<GreedySpec, SpecError> {
    let start = raw.start.get_ref().clone();
    if start.is_empty() {
        return Err(loc.error(
            Some(raw.start.span()),
            "greedy.start",
            "the start set is empty",
            Some("e.g. start = [\"clip\"]".into()),
        ));
    }
    let candidates = raw.candidates.get_ref().clone();
    if candidates.is_empty() {
        return Err(loc.error(
            Some(raw.candidates.span()),
            "greedy.candidates",
            "no candidates to add",
            Some(format!("name experts from: {}", ExpertKind::known())),
        ));
    }
    let mut all: Vec<ExpertKind> = start.iter().chain(&candidates).copied().collect();
    all.sort();
    for w in all.windows(2) {
        if w[0] == w[1] {
            let (key, span) = if candidates.contains(&w[0]) {
                ("greedy.candidates", raw.candidates.span())
            } else {
                ("greedy.start", raw.start.span())
            };
            return Err(loc.error(
                Some(span),
                key,
                format!("`{}` is named twice (a candidate must not be in the start set or listed again)", w[0]),
                None,
            ));
        }
    }
    let metric = match &raw.metric {
        None => Metric::Average,
        Some(m) => resolve_metric(loc, m, "greedy.metric", families)?,
    };
    let max_rounds = match &raw.max_rounds {
        None => candidates.len(),
        Some(r) if *r.get_ref() >= 1 => (*r.get_ref() as usize).min(candidates.len()),
        Some(r) => {
            return Err(loc.error(
                Some(r.span()),
                "greedy.max-rounds",
                format!("max-rounds must be at least 1, got {}", r.get_ref()),
                None,
            ))
        }
    };
    let min_gain = match &raw.min_gain {
        None => 0.0,
        Some(g) if g.get_ref().abs() <= MAX_SCORE_POINTS => *g.get_ref(),
        Some(g) => {
            return Err(loc.error(
                Some(g.span()),
                "greedy.min-gain",
                format!("min-gain must be a number of score points from -{MAX_SCORE_POINTS} to {MAX_SCORE_POINTS}"),
                None,
            ))
        }
    };
    Ok(GreedySpec { start, candidates, metric, max_rounds, min_gain })
}

/// Validates a written metric (`"average"`, a family, or family weights) at `key` against the families
/// the cells evaluate.
pub(crate) fn resolve_metric(
    loc: &Locator,
    m: &Spanned<RawMetric>,
    key: &str,
    families: &[Family],
) -> Result<Metric, SpecError> {
    let family_of = |name: &str, span: std::ops::Range<usize>| -> Result<Family, SpecError> {
        let f: Family = name.parse().map_err(|_| {
            loc.error(
                Some(span.clone()),
                key,
                format!("unknown metric or family `{name}`"),
                Some(format!("\"average\", or one of: {}", Family::known())),
            )
        })?;
        if !families.contains(&f) {
            return Err(loc.error(
                Some(span),
                key,
                format!("family `{f}` is not evaluated by the cells"),
                Some(format!(
                    "add it to base.families (now: {})",
                    families.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
                )),
            ));
        }
        Ok(f)
    };
    Ok(match m.get_ref() {
        RawMetric::Name(n) if n == "average" => Metric::Average,
        RawMetric::Name(n) => Metric::Family(family_of(n, m.span())?),
        RawMetric::Weights(w) => {
            if w.is_empty() || w.values().any(|x| !x.is_finite() || *x <= 0.0) {
                return Err(loc.error(
                    Some(m.span()),
                    key,
                    "weights must be positive numbers, at least one",
                    Some("e.g. metric = { ocr = 2, vqa = 1 }".into()),
                ));
            }
            Metric::Weighted(
                w.iter().map(|(k, x)| Ok((family_of(k, m.span())?, *x))).collect::<Result<_, SpecError>>()?,
            )
        }
    })
}
