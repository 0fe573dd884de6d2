//! The experiment file: parse (refusing unknown keys), validate, expand the grid into cell settings.

mod error;
mod names;
mod raw;
mod scale;

pub use error::{Locator, SpecError};
pub use names::{BackendKind, ExpertKind, Family, FusionKind, PretrainTask, Scale};
pub use scale::ScalePreset;

use raw::{RawCell, RawResolution, RawSpec};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Default learning-rate multiplier of unlocked experts in SFT: pretrained experts move ten times
/// slower than the projector and LM (at the full rate they lose what pretraining gave them).
pub const DEFAULT_VISION_LR_SCALE: f64 = 0.1;

fn default_vision_lr_scale() -> f64 {
    DEFAULT_VISION_LR_SCALE
}

/// The input resolution every expert of a cell receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// Each expert at its own pretraining resolution.
    Native,
    /// Every expert at this many pixels a side.
    Pixels(usize),
}

impl Resolution {
    /// The side in pixels that `expert` receives at `scale`.
    pub fn for_expert(self, expert: ExpertKind, scale: Scale) -> usize {
        match self {
            Resolution::Native => expert.native_resolution(scale),
            Resolution::Pixels(p) => p,
        }
    }
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resolution::Native => f.write_str("native"),
            Resolution::Pixels(p) => write!(f, "{p}"),
        }
    }
}

/// The settings of one cell (one MLLM trained and evaluated), before seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CellSettings {
    /// The experts, in order.
    pub encoders: Vec<ExpertKind>,
    /// How the experts are fused.
    pub fusion: FusionKind,
    /// The experts' input resolution.
    pub resolution: Resolution,
    /// Whether the experts train during SFT.
    pub unlock: bool,
    /// The SFT data mixture (uniform over these families) and the evaluated families.
    pub families: Vec<Family>,
    /// Side of the fused visual token grid (tokens per expert = grid²).
    pub grid: usize,
    /// SFT steps (None: the scale's preset).
    pub sft_steps: Option<usize>,
    /// Peak SFT learning rate (None: the default 2e-3).
    pub lr: Option<f64>,
    /// Learning-rate multiplier of unlocked experts in SFT (default 0.1).
    #[serde(default = "default_vision_lr_scale")]
    pub vision_lr_scale: f64,
}

impl CellSettings {
    /// A readable label, e.g. `clip+convnext/channel-concat/unlocked`.
    pub fn label(&self) -> String {
        let enc: Vec<&str> = self.encoders.iter().map(|e| e.as_str()).collect();
        let mut s = format!("{}/{}/{}", enc.join("+"), self.fusion, if self.unlock { "unlocked" } else { "frozen" });
        if self.resolution != Resolution::Native {
            s.push_str(&format!("/{}px", self.resolution));
        }
        s
    }
}

/// An axis that a grid may vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Axis {
    /// `encoders`
    Encoders,
    /// `fusion`
    Fusion,
    /// `resolution`
    Resolution,
    /// `unlock`
    Unlock,
    /// `families`
    Families,
    /// `grid`
    Grid,
    /// `sft-steps`
    SftSteps,
    /// `lr`
    Lr,
    /// `vision-lr-scale`
    VisionLrScale,
}

impl Axis {
    /// The key as written in experiment files and the column name in tables.
    pub fn key(self) -> &'static str {
        match self {
            Axis::Encoders => "encoders",
            Axis::Fusion => "fusion",
            Axis::Resolution => "resolution",
            Axis::Unlock => "unlock",
            Axis::Families => "families",
            Axis::Grid => "grid",
            Axis::SftSteps => "sft-steps",
            Axis::Lr => "lr",
            Axis::VisionLrScale => "vision-lr-scale",
        }
    }

    /// This axis's value in `cell`, as text.
    pub fn value_of(self, cell: &CellSettings) -> String {
        match self {
            Axis::Encoders => cell.encoders.iter().map(|e| e.as_str()).collect::<Vec<_>>().join("+"),
            Axis::Fusion => cell.fusion.to_string(),
            Axis::Resolution => cell.resolution.to_string(),
            Axis::Unlock => cell.unlock.to_string(),
            Axis::Families => cell.families.iter().map(|e| e.as_str()).collect::<Vec<_>>().join("+"),
            Axis::Grid => cell.grid.to_string(),
            Axis::SftSteps => cell.sft_steps.map(|s| s.to_string()).unwrap_or_else(|| "preset".into()),
            Axis::Lr => cell.lr.map(|s| s.to_string()).unwrap_or_else(|| "default".into()),
            Axis::VisionLrScale => cell.vision_lr_scale.to_string(),
        }
    }
}

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
    /// The axes the grid varies, in file order.
    pub axes: Vec<Axis>,
    /// Every cell's settings after expansion and exclusion.
    pub cells: Vec<CellSettings>,
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
    let de = toml::Deserializer::parse(text).map_err(|e| {
        loc.error(e.span(), "", e.message().trim().to_string(), None)
    })?;
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
    match last {
        "encoders" => Some(format!("known encoders: {}", ExpertKind::known())),
        "fusion" => Some(format!("known fusions: {}", FusionKind::known())),
        "families" => Some(format!("known families: {}", Family::known())),
        "scale" => Some(format!("known scales: {}", Scale::known())),
        "resolution" => Some("an integer number of pixels, or \"native\"".into()),
        _ => None,
    }
}

/// One axis value with where it was written.
#[derive(Clone)]
struct At<T> {
    value: T,
    key: String,
    span: Option<Range<usize>>,
}

fn at<T: Clone>(s: &Spanned<T>, key: String) -> At<T> {
    At { value: s.get_ref().clone(), key, span: Some(s.span()) }
}

fn axis<T: Clone, R>(
    grid: &Option<Vec<Spanned<R>>>,
    base: &Option<Spanned<R>>,
    name: &str,
    default: T,
    convert: &dyn Fn(At<R>) -> Result<At<T>, SpecError>,
) -> Result<(Vec<At<T>>, bool), SpecError>
where
    R: Clone,
{
    if let Some(values) = grid {
        let out = values
            .iter()
            .enumerate()
            .map(|(i, v)| convert(at(v, format!("grid.{name}[{i}]"))))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((out, true));
    }
    if let Some(v) = base {
        return Ok((vec![convert(at(v, format!("base.{name}")))?], false));
    }
    Ok((vec![At { value: default, key: format!("base.{name}"), span: None }], false))
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
            return Err(loc.error(Some(s.span()), "experiment.seeds", "no seeds given", Some("e.g. seeds = [0, 1, 2]".into())))
        }
        Some(s) => s.get_ref().clone(),
        None => vec![0],
    };
    let g = &raw.grid;
    let b = &raw.base;
    let ident = |a: At<_>| Ok(a);
    let encoders_check = |a: At<Vec<ExpertKind>>| -> Result<At<Vec<ExpertKind>>, SpecError> {
        if a.value.is_empty() {
            return Err(loc.error(a.span.clone(), &a.key, "empty encoder set", Some(format!("name at least one of: {}", ExpertKind::known()))));
        }
        let mut seen = a.value.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != a.value.len() {
            return Err(loc.error(a.span.clone(), &a.key, "an expert appears twice in one set", None));
        }
        Ok(a)
    };
    let families_check = |a: At<Vec<Family>>| -> Result<At<Vec<Family>>, SpecError> {
        if a.value.is_empty() {
            return Err(loc.error(a.span.clone(), &a.key, "empty family list", Some(format!("known families: {}", Family::known()))));
        }
        Ok(a)
    };
    let res_convert = |a: At<RawResolution>| -> Result<At<Resolution>, SpecError> {
        let value = match &a.value {
            RawResolution::Word(w) if w == "native" => Resolution::Native,
            RawResolution::Pixels(p) if *p >= 16 && *p <= 4096 => Resolution::Pixels(*p as usize),
            other => {
                return Err(loc.error(a.span.clone(), &a.key, format!("bad resolution {other:?}"), Some("an integer from 16 to 4096 pixels, or \"native\"".into())))
            }
        };
        Ok(At { value, key: a.key, span: a.span })
    };
    let positive = |what: &'static str, lo: i64| {
        move |a: At<i64>| -> Result<At<usize>, SpecError> {
            if a.value < lo {
                return Err(loc.error(a.span.clone(), &a.key, format!("{what} must be at least {lo}, got {}", a.value), None));
            }
            Ok(At { value: a.value as usize, key: a.key, span: a.span })
        }
    };
    let lr_check = |a: At<f64>| -> Result<At<f64>, SpecError> {
        if !(a.value > 0.0 && a.value < 1.0) {
            return Err(loc.error(a.span.clone(), &a.key, format!("learning rate must be in (0, 1), got {}", a.value), None));
        }
        Ok(a)
    };
    let (encoders, v_enc) = axis(&g.encoders, &b.encoders, "encoders", vec![ExpertKind::Clip], &encoders_check)?;
    let (fusions, v_fus) = axis(&g.fusion, &b.fusion, "fusion", FusionKind::ChannelConcat, &ident)?;
    let (resolutions, v_res) = axis(&g.resolution, &b.resolution, "resolution", Resolution::Native, &res_convert)?;
    let unlock_grid = g.unlock.clone().map(|v| v.into_iter().enumerate().map(|(i, u)| At { value: u, key: format!("grid.unlock[{i}]"), span: None }).collect::<Vec<_>>());
    let v_unl = unlock_grid.is_some();
    let unlocks = unlock_grid.unwrap_or_else(|| vec![At { value: b.unlock.unwrap_or(false), key: "base.unlock".into(), span: None }]);
    let (families, v_fam) = axis(&g.families, &b.families, "families", vec![Family::Vqa, Family::Count, Family::Pope], &families_check)?;
    let (grids, v_grid) = axis(&g.grid, &b.grid, "grid", 4usize, &positive("grid", 1))?;
    let sft_raw = axis(&g.sft_steps, &b.sft_steps, "sft-steps", 0usize, &positive("sft-steps", 1))?;
    let (lrs, v_lr) = match (&g.lr, &b.lr) {
        (None, None) => (vec![None], false),
        _ => {
            let (v, varied) = axis(&g.lr, &b.lr, "lr", 0.0, &lr_check)?;
            (v.into_iter().map(|a| Some(a.value)).collect(), varied)
        }
    };
    let scale_check = |a: At<f64>| -> Result<At<f64>, SpecError> {
        if !(a.value > 0.0 && a.value <= 10.0) {
            return Err(loc.error(a.span.clone(), &a.key, format!("vision-lr-scale must be in (0, 10], got {}", a.value), None));
        }
        Ok(a)
    };
    let (vscales, v_vs) = axis(&g.vision_lr_scale, &b.vision_lr_scale, "vision-lr-scale", DEFAULT_VISION_LR_SCALE, &scale_check)?;
    let explicit_sft = g.sft_steps.is_some() || b.sft_steps.is_some();
    let sft: Vec<Option<usize>> = sft_raw.0.iter().map(|a| explicit_sft.then_some(a.value)).collect();

    let mut axes = Vec::new();
    for (varied, ax) in [
        (v_enc, Axis::Encoders),
        (v_fus, Axis::Fusion),
        (v_res, Axis::Resolution),
        (v_unl, Axis::Unlock),
        (v_fam, Axis::Families),
        (v_grid, Axis::Grid),
        (sft_raw.1, Axis::SftSteps),
        (v_lr, Axis::Lr),
        (v_vs, Axis::VisionLrScale),
    ] {
        if varied {
            axes.push(ax);
        }
    }

    let mut cells = Vec::new();
    for e in &encoders {
        for f in &fusions {
            for r in &resolutions {
                for u in &unlocks {
                    for fam in &families {
                        for gr in &grids {
                            for s in &sft {
                                for (lr, vs) in lrs.iter().flat_map(|l| vscales.iter().map(move |v| (l, v))) {
                                    let cell = CellSettings {
                                        encoders: e.value.clone(),
                                        fusion: f.value,
                                        resolution: r.value,
                                        unlock: u.value,
                                        families: fam.value.clone(),
                                        grid: gr.value,
                                        sft_steps: *s,
                                        lr: *lr,
                                        vision_lr_scale: vs.value,
                                    };
                                    if raw.exclude.iter().any(|rule| excluded(rule, &cell)) {
                                        continue;
                                    }
                                    check_cell(loc, &cell, e, f, r)?;
                                    cells.push(cell);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if cells.is_empty() {
        return Err(loc.error(None, "exclude", "every cell of the grid is excluded", Some("loosen the [[exclude]] rules".into())));
    }
    Ok(Spec {
        name,
        description: raw.experiment.description.clone(),
        scale: raw.experiment.scale.unwrap_or(Scale::Proxy),
        seeds,
        blind_baseline: raw.experiment.blind_baseline.unwrap_or(true),
        axes,
        cells,
        file: loc.file.clone(),
    })
}

fn check_cell(
    loc: &Locator,
    cell: &CellSettings,
    enc: &At<Vec<ExpertKind>>,
    fusion: &At<FusionKind>,
    res: &At<Resolution>,
) -> Result<(), SpecError> {
    let need = cell.fusion.min_experts();
    if cell.encoders.len() < need {
        return Err(loc.error(
            fusion.span.clone().or(enc.span.clone()),
            &fusion.key,
            format!("fusion `{}` needs at least {need} experts, but the encoder set [{}] has {}", cell.fusion, Axis::Encoders.value_of(cell), cell.encoders.len()),
            Some(format!("use channel-concat for a single expert, or exclude this combination with [[exclude]] encoders = {:?}", cell.encoders.iter().map(|e| e.as_str()).collect::<Vec<_>>())),
        ));
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

fn excluded(rule: &RawCell, cell: &CellSettings) -> bool {
    let mut any = false;
    macro_rules! check {
        ($field:ident, $conv:expr) => {
            if let Some(v) = &rule.$field {
                any = true;
                if !$conv(v, cell) {
                    return false;
                }
            }
        };
    }
    check!(encoders, |v: &Spanned<Vec<ExpertKind>>, c: &CellSettings| v.get_ref() == &c.encoders);
    check!(fusion, |v: &Spanned<FusionKind>, c: &CellSettings| *v.get_ref() == c.fusion);
    check!(resolution, |v: &Spanned<RawResolution>, c: &CellSettings| match (v.get_ref(), c.resolution) {
        (RawResolution::Pixels(p), Resolution::Pixels(q)) => *p as usize == q,
        (RawResolution::Word(w), Resolution::Native) => w == "native",
        _ => false,
    });
    check!(unlock, |v: &bool, c: &CellSettings| *v == c.unlock);
    check!(families, |v: &Spanned<Vec<Family>>, c: &CellSettings| v.get_ref() == &c.families);
    check!(grid, |v: &Spanned<i64>, c: &CellSettings| *v.get_ref() as usize == c.grid);
    check!(sft_steps, |v: &Spanned<i64>, c: &CellSettings| Some(*v.get_ref() as usize) == c.sft_steps);
    check!(lr, |v: &Spanned<f64>, c: &CellSettings| Some(*v.get_ref()) == c.lr);
    check!(vision_lr_scale, |v: &Spanned<f64>, c: &CellSettings| *v.get_ref() == c.vision_lr_scale);
    any
}

#[cfg(test)]
mod tests;
