//! The experiment file: parse (refusing unknown keys), validate, expand the grid into cell settings.

mod cell;
mod error;
mod greedy;
mod names;
mod raw;
mod scale;

pub use cell::{Axis, CellSettings, Resolution, TokenGrid, Unlock};
pub use error::{Locator, SpecError};
pub use greedy::{GreedySpec, Metric, SearchKind};
pub use names::{BackendKind, ExpertKind, Family, FusionKind, Precision, PretrainTask, Scale, Tiling};
pub use scale::ScalePreset;

use raw::{RawCell, RawSize, RawSpec, RawUnlock};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

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
    /// The axes the grid varies, in file order.
    pub axes: Vec<Axis>,
    /// Every cell's settings after expansion and exclusion (a greedy search: the start set's cell,
    /// whose settings every round copies with another encoder set).
    pub cells: Vec<CellSettings>,
    /// The greedy round-robin search, when `search = "greedy"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greedy: Option<GreedySpec>,
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
    match last {
        "encoders" => Some(format!("known encoders: {}", ExpertKind::known())),
        "fusion" => Some(format!("known fusions: {}", FusionKind::known())),
        "tiling" => Some(format!("known tilings: {}", Tiling::known())),
        "grid" => Some("a side in tokens, or \"auto\"".into()),
        "unlock" => Some("true, false, or a table of expert = true/false, e.g. { clip = true, sam = false }".into()),
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

fn ident<T>(a: At<T>) -> Result<At<T>, SpecError> {
    Ok(a)
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
    let g = &raw.grid;
    let b = &raw.base;
    let encoders_check = |a: At<Vec<ExpertKind>>| -> Result<At<Vec<ExpertKind>>, SpecError> {
        if a.value.is_empty() {
            return Err(loc.error(
                a.span.clone(),
                &a.key,
                "empty encoder set",
                Some(format!("name at least one of: {}", ExpertKind::known())),
            ));
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
            return Err(loc.error(
                a.span.clone(),
                &a.key,
                "empty family list",
                Some(format!("known families: {}", Family::known())),
            ));
        }
        Ok(a)
    };
    let res_convert = |a: At<RawSize>| -> Result<At<Resolution>, SpecError> {
        let value = match &a.value {
            RawSize::Word(w) if w == "native" => Resolution::Native,
            RawSize::Pixels(p) if *p >= 16 && *p <= 4096 => Resolution::Pixels(*p as usize),
            other => {
                return Err(loc.error(
                    a.span.clone(),
                    &a.key,
                    format!("bad resolution {other:?}"),
                    Some("an integer from 16 to 4096 pixels, or \"native\"".into()),
                ))
            }
        };
        Ok(At { value, key: a.key, span: a.span })
    };
    let positive = |what: &'static str, lo: i64| {
        move |a: At<i64>| -> Result<At<usize>, SpecError> {
            if a.value < lo {
                return Err(loc.error(
                    a.span.clone(),
                    &a.key,
                    format!("{what} must be at least {lo}, got {}", a.value),
                    None,
                ));
            }
            Ok(At { value: a.value as usize, key: a.key, span: a.span })
        }
    };
    let grid_convert = |a: At<RawSize>| -> Result<At<TokenGrid>, SpecError> {
        let value = match &a.value {
            RawSize::Word(w) if w == "auto" => TokenGrid::Auto,
            RawSize::Pixels(p) if (1..=64).contains(p) => TokenGrid::Side(*p as usize),
            other => {
                return Err(loc.error(
                    a.span.clone(),
                    &a.key,
                    format!("bad grid {other:?}"),
                    Some("a side from 1 to 64 tokens, or \"auto\" (the largest expert map)".into()),
                ))
            }
        };
        Ok(At { value, key: a.key, span: a.span })
    };
    let lr_check = |a: At<f64>| -> Result<At<f64>, SpecError> {
        if !(a.value > 0.0 && a.value < 1.0) {
            return Err(loc.error(
                a.span.clone(),
                &a.key,
                format!("learning rate must be in (0, 1), got {}", a.value),
                None,
            ));
        }
        Ok(a)
    };
    let (encoders, v_enc) = axis(&g.encoders, &b.encoders, "encoders", vec![ExpertKind::Clip], &encoders_check)?;
    let (fusions, v_fus) = axis(&g.fusion, &b.fusion, "fusion", FusionKind::ChannelConcat, &ident)?;
    let (resolutions, v_res) = axis(&g.resolution, &b.resolution, "resolution", Resolution::Native, &res_convert)?;
    let in_some_set: Vec<ExpertKind> = encoders.iter().flat_map(|e| e.value.iter().copied()).collect();
    let unlock_check = |a: At<RawUnlock>| -> Result<At<RawUnlock>, SpecError> {
        if let RawUnlock::PerExpert(map) = &a.value {
            for name in map.keys() {
                let Ok(kind) = name.parse::<ExpertKind>() else {
                    return Err(loc.error(
                        a.span.clone(),
                        &a.key,
                        format!("unknown expert `{name}` in unlock"),
                        Some(format!("known encoders: {}", ExpertKind::known())),
                    ));
                };
                if !in_some_set.contains(&kind) {
                    return Err(loc.error(
                        a.span.clone(),
                        &a.key,
                        format!("unlock names `{name}`, which is not in any encoder set"),
                        Some(
                            "name experts of the `encoders` sets (a cell ignores the experts it does not have)".into(),
                        ),
                    ));
                }
            }
        }
        Ok(a)
    };
    let (tilings, v_til) = axis(&g.tiling, &b.tiling, "tiling", Tiling::Interpolate, &ident)?;
    let (unlocks, v_unl) = axis(&g.unlock, &b.unlock, "unlock", RawUnlock::All(false), &unlock_check)?;
    let (families, v_fam) =
        axis(&g.families, &b.families, "families", vec![Family::Vqa, Family::Count, Family::Pope], &families_check)?;
    let (grids, v_grid) = axis(&g.grid, &b.grid, "grid", TokenGrid::Side(4), &grid_convert)?;
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
            return Err(loc.error(
                a.span.clone(),
                &a.key,
                format!("vision-lr-scale must be in (0, 10], got {}", a.value),
                None,
            ));
        }
        Ok(a)
    };
    let (vscales, v_vs) =
        axis(&g.vision_lr_scale, &b.vision_lr_scale, "vision-lr-scale", DEFAULT_VISION_LR_SCALE, &scale_check)?;
    let (pre_aligns, v_pre) = axis(&g.pre_align, &b.pre_align, "pre-align", false, &ident)?;
    let explicit_sft = g.sft_steps.is_some() || b.sft_steps.is_some();
    let sft: Vec<Option<usize>> = sft_raw.0.iter().map(|a| explicit_sft.then_some(a.value)).collect();

    let mut axes = Vec::new();
    for (varied, ax) in [
        (v_enc, Axis::Encoders),
        (v_fus, Axis::Fusion),
        (v_res, Axis::Resolution),
        (v_til, Axis::Tiling),
        (v_unl, Axis::Unlock),
        (v_fam, Axis::Families),
        (v_grid, Axis::Grid),
        (sft_raw.1, Axis::SftSteps),
        (v_lr, Axis::Lr),
        (v_vs, Axis::VisionLrScale),
        (v_pre, Axis::PreAlign),
    ] {
        if varied {
            axes.push(ax);
        }
    }

    let lr_vs: Vec<(Option<f64>, f64)> = lrs.iter().flat_map(|l| vscales.iter().map(move |v| (*l, v.value))).collect();
    let dims = [
        encoders.len(),
        fusions.len(),
        resolutions.len(),
        tilings.len(),
        unlocks.len(),
        families.len(),
        grids.len(),
        sft.len(),
        lr_vs.len(),
        pre_aligns.len(),
    ];
    let mut cells = Vec::new();
    for k in 0..dims.iter().product::<usize>() {
        // Odometer over the axes, the last one fastest (file order of nested loops).
        let mut i = [0usize; 10];
        let mut rest = k;
        for d in (0..dims.len()).rev() {
            i[d] = rest % dims[d];
            rest /= dims[d];
        }
        let (e, f, r, t, u) = (&encoders[i[0]], &fusions[i[1]], &resolutions[i[2]], &tilings[i[3]], &unlocks[i[4]]);
        let unlock = resolve_unlock(u, &e.value);
        let cell = CellSettings {
            encoders: e.value.clone(),
            fusion: f.value,
            resolution: r.value,
            tiling: t.value,
            unlock,
            families: families[i[5]].value.clone(),
            grid: grids[i[6]].value,
            sft_steps: sft[i[7]],
            lr: lr_vs[i[8]].0,
            vision_lr_scale: lr_vs[i[8]].1,
            query_expert: b.query_expert.as_ref().map(|q| *q.get_ref()),
            pre_align: pre_aligns[i[9]].value,
        };
        if raw.exclude.iter().any(|rule| excluded(rule, &cell)) {
            continue;
        }
        check_cell(loc, &cell, e, f, r, t)?;
        if let (Some(q), true) = (&b.query_expert, cell.fusion.has_roles()) {
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
    Ok(Spec {
        greedy,
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
    let g = &raw.grid;
    let varied = [
        ("encoders", g.encoders.is_some()),
        ("fusion", g.fusion.is_some()),
        ("resolution", g.resolution.is_some()),
        ("tiling", g.tiling.is_some()),
        ("unlock", g.unlock.is_some()),
        ("families", g.families.is_some()),
        ("grid", g.grid.is_some()),
        ("sft-steps", g.sft_steps.is_some()),
        ("lr", g.lr.is_some()),
        ("vision-lr-scale", g.vision_lr_scale.is_some()),
        ("pre-align", g.pre_align.is_some()),
    ];
    if let Some((key, _)) = varied.iter().find(|(_, v)| *v) {
        return Err(loc.error(
            None,
            format!("grid.{key}"),
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
            Some("give a resolution above the experts' native one, or exclude it: [[exclude]] resolution = \"native\" and tiling = \"tile\"".into()),
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
                format!("fusion `llava-hr` needs `clip` as its low-resolution query expert, but the encoder set is [{}] with query `{}`", Axis::Encoders.value_of(cell), cell.encoders[cell.query_index()]),
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

/// Resolves `unlock` against a cell's experts (a table's experts that the cell lacks are ignored;
/// experts it does not name stay frozen).
fn resolve_unlock(u: &At<RawUnlock>, encoders: &[ExpertKind]) -> Unlock {
    match &u.value {
        RawUnlock::All(b) => Unlock::All(*b),
        RawUnlock::PerExpert(map) => {
            let on = map
                .iter()
                .filter(|(_, &v)| v)
                .map(|(name, _)| name.parse::<ExpertKind>().expect("checked when the axis was read"));
            Unlock::Only(on.collect()).normalised(encoders)
        }
    }
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
    check!(resolution, |v: &Spanned<RawSize>, c: &CellSettings| match (v.get_ref(), c.resolution) {
        (RawSize::Pixels(p), Resolution::Pixels(q)) => *p as usize == q,
        (RawSize::Word(w), Resolution::Native) => w == "native",
        _ => false,
    });
    check!(tiling, |v: &Spanned<Tiling>, c: &CellSettings| *v.get_ref() == c.tiling);
    check!(unlock, |v: &Spanned<RawUnlock>, c: &CellSettings| match v.get_ref() {
        RawUnlock::All(b) => c.unlock == Unlock::All(*b),
        RawUnlock::PerExpert(map) =>
            c.encoders.iter().all(|e| map.get(e.as_str()).copied().unwrap_or(false) == c.unlock.unlocks(*e)),
    });
    check!(families, |v: &Spanned<Vec<Family>>, c: &CellSettings| v.get_ref() == &c.families);
    check!(grid, |v: &Spanned<RawSize>, c: &CellSettings| match (v.get_ref(), c.grid) {
        (RawSize::Pixels(p), TokenGrid::Side(q)) => *p as usize == q,
        (RawSize::Word(w), TokenGrid::Auto) => w == "auto",
        _ => false,
    });
    check!(sft_steps, |v: &Spanned<i64>, c: &CellSettings| Some(*v.get_ref() as usize) == c.sft_steps);
    check!(pre_align, |v: &Spanned<bool>, c: &CellSettings| *v.get_ref() == c.pre_align);
    check!(lr, |v: &Spanned<f64>, c: &CellSettings| Some(*v.get_ref()) == c.lr);
    check!(vision_lr_scale, |v: &Spanned<f64>, c: &CellSettings| *v.get_ref() == c.vision_lr_scale);
    any
}

#[cfg(test)]
mod tests;
