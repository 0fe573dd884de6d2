//! The experiment file: parse (refusing unknown keys), validate, expand the grid into cell settings.

mod axes;
mod axis_table;
mod cell;
mod error;
mod greedy;
mod hypothesis;
mod names;
mod raw;
mod scale;

pub use axes::Axis;
pub use cell::{CellSettings, Resolution, TokenGrid, Unlock};
pub use error::{Locator, SpecError};
pub use greedy::{GreedySpec, Metric, SearchKind};
pub use hypothesis::{level, Contrast, ContrastKind, ExpectKind, Expectation, Hypothesis, Selector};
pub use names::{BackendKind, ExpertKind, Family, FusionKind, Precision, PretrainSeed, PretrainTask, Scale, Tiling};
pub use scale::ScalePreset;

use axes::{excluded, odometer, At, AxisValues};
use raw::RawSpec;
use serde::{Deserialize, Serialize};
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
    /// Seeds: every cell runs once per seed.
    pub seeds: Vec<u64>,
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
    /// The file it came from.
    pub file: PathBuf,
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
    let de =
        toml::Deserializer::parse(text).map_err(|e| loc.error(e.span(), "", e.message().trim().to_string(), None))?;
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
    let name = raw.experiment.name.get_ref().clone();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(loc.error(
            Some(raw.experiment.name.span()),
            "experiment.name",
            format!("`{name}` is not a usable experiment name"),
            Some("letters, digits, `-` and `_` only (it names the results folder)".into()),
        ));
    }
    let seeds = match &raw.experiment.seeds {
        Some(s) if s.get_ref().is_empty() => {
            return Err(loc.error(
                Some(s.span()),
                "experiment.seeds",
                "no seeds given",
                Some("e.g. seeds = [0, 1, 2]".into()),
            ))
        }
        Some(s) => s.get_ref().clone(),
        None => vec![0],
    };
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
    let values = AxisValues::read(loc, &raw.grid, &raw.base)?;
    let query_expert = raw.base.query_expert.as_ref();
    let mut cells = Vec::new();
    for index in odometer(&values.dims()) {
        let mut cell = values.cell(&index, query_expert.map(|q| *q.get_ref()));
        // A table of experts to unlock resolves against each cell's own set.
        cell.unlock = cell.unlock.normalised(&cell.encoders);
        if raw.exclude.iter().any(|rule| excluded(rule, &cell)) {
            continue;
        }
        let at = |a: Axis| index[a as usize];
        let (e, f) = (&values.encoders[at(Axis::Encoders)], &values.fusion[at(Axis::Fusion)]);
        let (r, t) = (&values.resolution[at(Axis::Resolution)], &values.tiling[at(Axis::Tiling)]);
        check_cell(loc, &cell, e, f, r, t)?;
        if let (Some(q), true) = (query_expert, cell.fusion.has_roles()) {
            if !cell.encoders.contains(q.get_ref()) {
                return Err(loc.error(
                    Some(q.span()),
                    "base.query-expert",
                    format!(
                        "query-expert `{}` is not in the encoder set [{}] of a `{}` cell",
                        q.get_ref(),
                        Axis::Encoders.value_of(&cell),
                        cell.fusion
                    ),
                    Some("name an expert of every set that uses a fusion with roles, or exclude the other sets".into()),
                ));
            }
        }
        cells.push(cell);
    }
    if cells.is_empty() {
        return Err(loc.error(
            None,
            "exclude",
            "every cell of the grid is excluded",
            Some("loosen the [[exclude]] rules".into()),
        ));
    }
    let greedy = match &raw.greedy {
        Some(rg) if greedy_search => Some(greedy::resolve_greedy(loc, rg, &cells[0].families)?),
        _ => None,
    };
    let design = hypothesis::Design { cells: &cells, greedy: greedy.as_ref() };
    let hypotheses = raw
        .hypothesis
        .iter()
        .enumerate()
        .map(|(i, h)| hypothesis::resolve_hypothesis(loc, i, h, &design))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Spec {
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

fn check_cell(
    loc: &Locator,
    cell: &CellSettings,
    enc: &At<Vec<ExpertKind>>,
    fusion: &At<FusionKind>,
    res: &At<Resolution>,
    tiling: &At<Tiling>,
) -> Result<(), SpecError> {
    if cell.tiling == Tiling::Tile && cell.resolution == Resolution::Native {
        return Err(loc.error(
            tiling.span.clone(),
            &tiling.key,
            "tiling = \"tile\" at the native resolution is the same model as \"interpolate\"",
            Some(
                "give a resolution above the experts' native one, or exclude it: [[exclude]] resolution = \
                \"native\" and tiling = \"tile\""
                    .into(),
            ),
        ));
    }
    let need = cell.fusion.min_experts();
    if cell.encoders.len() < need {
        return Err(loc.error(
            fusion.span.clone().or(enc.span.clone()),
            &fusion.key,
            format!(
                "fusion `{}` needs at least {need} experts, but the encoder set [{}] has {}",
                cell.fusion,
                Axis::Encoders.value_of(cell),
                cell.encoders.len()
            ),
            Some(format!(
                "use channel-concat for a single expert, or exclude this combination with [[exclude]] encoders = {:?}",
                cell.encoders.iter().map(|e| e.as_str()).collect::<Vec<_>>()
            )),
        ));
    }
    if cell.fusion == FusionKind::LlavaHr {
        // Its adapters run between the blocks of a plain ViT: the query (first) expert must be clip,
        // seen in one pass.
        if cell.encoders.get(cell.query_index()) != Some(&ExpertKind::Clip) {
            return Err(loc.error(
                fusion.span.clone().or(enc.span.clone()),
                &fusion.key,
                format!(
                    "fusion `llava-hr` needs `clip` as its low-resolution query expert, but the encoder set is \
                    [{}] with query `{}`",
                    Axis::Encoders.value_of(cell),
                    cell.encoders[cell.query_index()]
                ),
                Some("list clip first or set query-expert = \"clip\", or exclude this combination".into()),
            ));
        }
        if cell.tiling == Tiling::Tile {
            return Err(loc.error(
                tiling.span.clone(),
                &tiling.key,
                "fusion `llava-hr` adapts its ViT in one pass over the image: it cannot be tiled",
                Some("use tiling = \"interpolate\" with llava-hr, or exclude this combination".into()),
            ));
        }
    }
    if let Resolution::Pixels(p) = cell.resolution {
        for e in &cell.encoders {
            if p % e.stride() != 0 {
                return Err(loc.error(
                    res.span.clone(),
                    &res.key,
                    format!("resolution {p} is not divisible by {}'s patch size / stride {}", e, e.stride()),
                    Some(format!("try {} or {}", p / e.stride() * e.stride(), (p / e.stride() + 1) * e.stride())),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
