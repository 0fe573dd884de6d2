//! The experiment file: parse (refusing unknown keys), validate, expand the grid into cell settings.

mod axes;
mod axis_table;
pub mod bounds;
mod cell;
mod check;
mod duplicates;
mod error;
mod exclude;
mod executor;
mod experiment_name;
pub mod experts;
mod greedy;
mod hypothesis;
pub mod llava_data;
pub mod mixture;
mod names;
mod raw;
mod reachable;
mod scale;
mod seeds;
mod size;
mod syntax;

pub use axes::Axis;
pub use cell::{CellSettings, Resolution, TokenGrid, Unlock};
pub use error::{Locator, SpecError};
pub use executor::Executor;
pub use experts::ExpertSources;
pub use greedy::{GreedySpec, Metric, SearchKind};
pub use hypothesis::{level, Contrast, ContrastKind, ExpectKind, Expectation, Hypothesis, Selector};
pub use llava_data::LlavaData;
pub use names::{BackendKind, ExpertKind, Family, FusionKind, Precision, PretrainSeed, PretrainTask, Scale, Tiling};
pub use scale::ScalePreset;
pub use seeds::AdaptiveSeeds;

use axes::{excluded, odometer, AxisValues};
use check::check_cell_all;
use raw::RawSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default learning-rate multiplier of unlocked experts in SFT: pretrained experts move ten times
/// slower than the projector and LM (at the full rate they lose what pretraining gave them).
pub const DEFAULT_VISION_LR_SCALE: f64 = 0.1;

/// A validated experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// Experiment name (results folder name).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Default scale (the CLI may override).
    pub scale: Scale,
    /// Seeds: every cell runs once per seed (with adaptive seeds, the first `min` seeds).
    pub seeds: Vec<u64>,
    /// Adaptive seeds (`seeds = { min, max }`): more seeds only for undecided hypotheses' cells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<AdaptiveSeeds>,
    /// Whether to add the no-image baseline row.
    pub blind_baseline: bool,
    /// Whether expert and LM pretraining are shared by every seed or take the cell's seed.
    #[serde(default)]
    pub pretrain_seed: PretrainSeed,
    /// The axes the grid varies, in file order.
    pub axes: Vec<Axis>,
    /// Every cell's settings after expansion and exclusion (a greedy search: the start set's cell,
    /// whose settings every round copies with another encoder set).
    pub cells: Vec<CellSettings>,
    /// The greedy round-robin search, when `search = "greedy"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greedy: Option<GreedySpec>,
    /// What the experiment tests (`[[hypothesis]]`), in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hypotheses: Vec<Hypothesis>,
    /// The families whose expert comes from a checkpoint folder (`[experts.<family>]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub experts: ExpertSources,
    /// The checkpoint LM in place of Eyrie's own (`[lm] checkpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lm: Option<crate::checkpoint::lm::LmCheckpoint>,
    /// LLaVA-format data in place of the proxy world (`[data]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<LlavaData>,
    /// Where `eyrie run` computes the cells, and the Slurm job options (`[executor]`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub executor: Executor,
    /// The file it came from.
    pub file: PathBuf,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Reads and validates an experiment file.
pub fn load(path: &Path) -> Result<Spec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        key: String::new(),
        message: format!("cannot read the file: {e}"),
        hint: None,
    })?;
    parse(path, &text)
}

/// Parses and validates experiment text (`path` is used in messages only).
pub fn parse(path: &Path, text: &str) -> Result<Spec, SpecError> {
    let loc = Locator { file: path.to_path_buf(), text };
    let de = toml::Deserializer::parse(text).map_err(|e| syntax::syntax_error(&loc, e.span(), e.message()))?;
    let raw: RawSpec = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string().replace(".$__serde_spanned_private_value", "");
        let inner = e.into_inner();
        let message = inner.message().trim().to_string();
        let hint = hint_for(&key, &message);
        loc.error(inner.span(), if key == "." { String::new() } else { key }, message, hint)
    })?;
    resolve(&loc, raw)
}

fn hint_for(key: &str, message: &str) -> Option<String> {
    let last = key.rsplit('.').next().unwrap_or("");
    let last = last.split('[').next().unwrap_or(last);
    if message.contains("unknown field") {
        return Some("check the spelling against the README's spec reference (keys are kebab-case)".into());
    }
    if last == "scale" {
        return Some(format!("known scales: {}", Scale::known()));
    }
    if last == "pretrain-seed" {
        return Some(format!("pretrain-seed is one of: {}", PretrainSeed::known()));
    }
    Axis::ALL.iter().find(|a| a.key() == last).and_then(|a| a.hint())
}

fn resolve(loc: &Locator, raw: RawSpec) -> Result<Spec, SpecError> {
    let name = experiment_name::check_name(loc, &raw.experiment.name)?;
    let (seeds, adaptive) = seeds::check_seeds(loc, raw.experiment.seeds.as_ref())?;
    let greedy_search = raw.experiment.search.as_ref().is_some_and(|s| *s.get_ref() == SearchKind::Greedy);
    let mut raw = raw;
    if greedy_search {
        greedy_shape(loc, &mut raw)?;
    } else if raw.greedy.is_some() {
        let span = raw.experiment.search.as_ref().map(|s| s.span());
        return Err(loc.error(
            span,
            "experiment.search",
            "a [greedy] table without search = \"greedy\"",
            Some("add search = \"greedy\" to [experiment], or remove [greedy]".into()),
        ));
    }
    let experts = experts::resolve_experts(loc, &raw.experts)?;
    exclude::check_count(loc, &raw.exclude)?;
    size::check_rules(loc, raw.hypothesis.len())?;
    let values = AxisValues::read(loc, &raw.grid, &raw.base)?;
    size::check_grid(loc, &values.dims(), &raw.grid.varied())?;
    let query_expert = raw.base.query_expert.as_ref();
    let trained: Vec<Family> = values.families.iter().flat_map(|f| f.value.iter().copied()).collect();
    let mixture = mixture::check_mixture(loc, raw.base.mixture.as_ref(), &trained)?;
    let mut cells = Vec::new();
    let mut indices = Vec::new();
    let mut used = vec![false; raw.exclude.len()];
    for index in odometer(&values.dims()) {
        let mut cell = values.cell(&index, query_expert.map(|q| *q.get_ref()));
        // A table of experts to unlock resolves against each cell's own set.
        cell.unlock = cell.unlock.normalised(&cell.encoders);
        cell.resolution = cell.resolution.normalised(&cell.encoders);
        cell.mixture = mixture.iter().copied().filter(|(f, _)| cell.families.contains(f)).collect();
        let mut drop = false;
        for (rule, used) in raw.exclude.iter().zip(used.iter_mut()) {
            if excluded(rule, &cell) {
                (*used, drop) = (true, true);
            }
        }
        if drop {
            continue;
        }
        check_cell_all(loc, &experts, &cell, &values.origins(&index, query_expert))?;
        cells.push(cell);
        indices.push(index);
    }
    exclude::check_all_used(loc, &raw.exclude, &used)?;
    if cells.is_empty() {
        return Err(loc.error(
            None,
            "exclude",
            "every cell of the grid is excluded",
            Some("loosen the [[exclude]] rules".into()),
        ));
    }
    duplicates::check_cells(loc, &cells, &indices)?;
    let greedy = match &raw.greedy {
        Some(rg) if greedy_search => {
            let g = greedy::resolve_greedy(loc, rg, &cells[0].families)?;
            reachable::check_reachable(loc, &cells[0], &g, rg, &values.origins(&indices[0], query_expert), &experts)?;
            Some(g)
        }
        _ => None,
    };
    let evaluated: Vec<Family> = cells.iter().flat_map(|c| c.families.iter().copied()).collect();
    let (lm, data) = llava_data::resolve_lm_and_data(loc, raw.lm.as_ref(), raw.data.as_ref(), &evaluated)?;
    let planned = greedy.as_ref().map_or(cells.len(), |g| g.worst_case_sets());
    let seeds_span = raw.experiment.seeds.as_ref().map(|s| s.span());
    size::check_planned(loc, planned, adaptive.map_or(seeds.len(), |a| a.max), seeds_span.clone())?;
    let design = hypothesis::Design { cells: &cells, greedy: greedy.as_ref() };
    let hypotheses = raw
        .hypothesis
        .iter()
        .enumerate()
        .map(|(i, h)| hypothesis::resolve_hypothesis(loc, i, h, &design))
        .collect::<Result<Vec<_>, _>>()?;
    if adaptive.is_some() {
        seeds::check_adaptive_use(loc, seeds_span, greedy.is_some(), hypotheses.len())?;
    }
    Ok(Spec {
        adaptive,
        greedy,
        hypotheses,
        name,
        description: raw.experiment.description.clone(),
        scale: raw.experiment.scale.unwrap_or(Scale::Proxy),
        seeds,
        blind_baseline: raw.experiment.blind_baseline.unwrap_or(true),
        pretrain_seed: raw.experiment.pretrain_seed.unwrap_or_default(),
        axes: raw.grid.varied(),
        cells,
        experts,
        lm,
        data,
        executor: raw.executor.as_ref().map(|e| e.resolve()).unwrap_or_default(),
        file: loc.file.clone(),
    })
}

/// Checks a greedy experiment's shape and puts its start set in `[base]`, so that the grid
/// expansion yields the start cell: the search, not the file, chooses every other encoder set.
fn greedy_shape(loc: &Locator, raw: &mut RawSpec) -> Result<(), SpecError> {
    let Some(rg) = &raw.greedy else {
        let span = raw.experiment.search.as_ref().map(|s| s.span());
        return Err(loc.error(
            span,
            "greedy",
            "search = \"greedy\" needs a [greedy] table",
            Some("[greedy] with start = [...] and candidates = [...]".into()),
        ));
    };
    if rg.start.get_ref().is_empty() {
        return Err(loc.error(
            Some(rg.start.span()),
            "greedy.start",
            "the start set is empty",
            Some("e.g. start = [\"clip\"]".into()),
        ));
    }
    if let Some(e) = &raw.base.encoders {
        return Err(loc.error(
            Some(e.span()),
            "base.encoders",
            "a greedy search chooses the encoders",
            Some("name the first set in greedy.start".into()),
        ));
    }
    if let Some(axis) = raw.grid.varied().first() {
        return Err(loc.error(
            None,
            format!("grid.{}", axis.key()),
            "a greedy search varies only the encoder set",
            Some("fix the other settings in [base] (one search per setting)".into()),
        ));
    }
    if !raw.exclude.is_empty() {
        return Err(loc.error(None, "exclude", "a greedy search has no grid to exclude from", None));
    }
    raw.base.encoders = Some(rg.start.clone());
    Ok(())
}

#[cfg(test)]
mod tests;
