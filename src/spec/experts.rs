//! `[experts.<family>] checkpoint = "DIR"`: a family's expert taken from a checkpoint folder (the real
//! encoder, as the hubs lay it out) instead of Eyrie's own architecture pretrained on the proxy world;
//! and the checks that a cell's resolution suits each checkpoint.

use super::cell::CellSettings;
use super::error::{Locator, SpecError};
use super::names::{ExpertKind, FusionKind, Tiling};
use crate::checkpoint::expert::ExpertCheckpoint;
use crate::checkpoint::Architecture;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// The checkpoint-backed experts of an experiment, by family.
pub type ExpertSources = BTreeMap<ExpertKind, ExpertCheckpoint>;

/// `[experts.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpert {
    /// The family, when given: it must be the table's name.
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    /// The folder, relative to the current directory.
    pub checkpoint: Spanned<String>,
}

/// The architecture a family's checkpoint must hold.
pub fn architecture_of(kind: ExpertKind) -> Architecture {
    match kind {
        ExpertKind::Clip => Architecture::ClipVision,
        ExpertKind::ConvNext => Architecture::ConvNext,
        ExpertKind::Sam => Architecture::SamVision,
        ExpertKind::Pix2Struct => Architecture::Pix2StructVision,
        ExpertKind::Eva02 => Architecture::Eva02,
    }
}

/// Reads every `[experts.NAME]` table: the name is a family, the folder holds that family's architecture.
pub(crate) fn resolve_experts(loc: &Locator, raw: &BTreeMap<String, RawExpert>) -> Result<ExpertSources, SpecError> {
    let mut out = ExpertSources::new();
    for (name, e) in raw {
        let key = format!("experts.{name}");
        let Ok(kind) = name.parse::<ExpertKind>() else {
            let what = match &e.kind {
                Some(k) => format!("`{name}` (kind `{}`)", k.get_ref()),
                None => format!("`{name}`"),
            };
            return Err(loc.error(
                Some(e.checkpoint.span()),
                key,
                format!("{what} is not an expert family; a table under [experts] is named by the family its checkpoint replaces"),
                Some(format!(
                    "name it [experts.<family>] with a family of: {} (one checkpoint per family for now: two \
                     checkpoints of one family cannot yet be compared in one experiment)",
                    ExpertKind::known()
                )),
            ));
        };
        if let Some(k) = &e.kind {
            if k.get_ref() != name {
                return Err(loc.error(
                    Some(k.span()),
                    format!("{key}.kind"),
                    format!("kind `{}` differs from the table's family `{name}`", k.get_ref()),
                    Some(format!("drop `kind` or write kind = \"{name}\"")),
                ));
            }
        }
        let dir = Path::new(e.checkpoint.get_ref());
        let ck = ExpertCheckpoint::open(dir, architecture_of(kind), name).map_err(|err| {
            loc.error(
                Some(e.checkpoint.span()),
                format!("{key}.checkpoint"),
                err.to_string(),
                Some(format!(
                    "a folder with config.json and model.safetensors holding a {} (paths are relative to the \
                     current directory)",
                    architecture_of(kind).name()
                )),
            )
        })?;
        out.insert(kind, ck);
    }
    Ok(out)
}

/// The problem, if any, of giving `ck` (the expert `kind`) `res` pixels in `cell`.
fn side_problem(kind: ExpertKind, ck: &ExpertCheckpoint, res: usize, cell: &CellSettings) -> Option<(String, String)> {
    let native = ck.native_resolution;
    if !res.is_multiple_of(ck.stride) {
        let s = ck.stride;
        return Some((
            format!(
                "resolution {res} is not divisible by the patch size / stride {s} of `{kind}` ({})",
                ck.dir.display()
            ),
            format!("try {} or {}", res / s * s, (res / s + 1) * s),
        ));
    }
    let tiled_at_native = cell.tiling == Tiling::Tile && res > native;
    if ck.fixed_side && res != native && !tiled_at_native {
        return Some((
            format!(
                "`{kind}` ({}) takes only {native}x{native} images (its position tables are of that size), not {res}",
                ck.dir.display()
            ),
            format!(
                "give `{kind}` resolution = {{ {kind} = {native} }} (its native side), or tiling = \"tile\" above it"
            ),
        ));
    }
    if kind == ExpertKind::Clip && cell.fusion == FusionKind::LlavaHr {
        return Some((
            format!("fusion `llava-hr` adapts Eyrie's own clip ViT between its blocks; `{kind}` is a checkpoint"),
            "use another fusion with checkpoint experts, or drop [experts.clip]".into(),
        ));
    }
    None
}

/// Checks that every checkpoint expert of `cell` can take the side the cell gives it.
pub(crate) fn check_cell_sources(
    loc: &Locator,
    sources: &ExpertSources,
    cell: &CellSettings,
    key: &str,
    span: Option<std::ops::Range<usize>>,
) -> Result<(), SpecError> {
    for kind in &cell.encoders {
        let Some(ck) = sources.get(kind) else { continue };
        let res = cell.resolution.pixels_for(*kind).unwrap_or(ck.native_resolution);
        if let Some((message, hint)) = side_problem(*kind, ck, res, cell) {
            return Err(loc.error(span, key, message, Some(hint)));
        }
    }
    Ok(())
}
