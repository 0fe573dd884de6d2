//! The checks every cell gets, whether the grid or a greedy search builds it: what its fusion,
//! tiling and resolution accept, where its query expert is, and how large an `"auto"` token grid grows.

use super::axes::{At, Axis, AxisValues};
use super::bounds::MAX_GRID_SIDE;
use super::cell::{CellSettings, Resolution, TokenGrid};
use super::error::{Locator, SpecError};
use super::experts::{check_cell_sources, ExpertSources};
use super::names::{ExpertKind, FusionKind, Scale, Tiling};
use toml::Spanned;

/// Where each setting of a cell was written (for error positions and keys).
pub(crate) struct Origins<'a> {
    /// The encoder set.
    pub encoders: &'a At<Vec<ExpertKind>>,
    /// The fusion.
    pub fusion: &'a At<FusionKind>,
    /// The resolution.
    pub resolution: &'a At<Resolution>,
    /// The tiling.
    pub tiling: &'a At<Tiling>,
    /// The token grid.
    pub grid: &'a At<TokenGrid>,
    /// `base.query-expert`, when given.
    pub query_expert: Option<&'a Spanned<ExpertKind>>,
}

/// Every check of one cell.
pub(crate) fn check_cell_all(
    loc: &Locator,
    sources: &ExpertSources,
    cell: &CellSettings,
    at: &Origins,
) -> Result<(), SpecError> {
    check_cell(loc, sources, cell, at.encoders, at.fusion, at.resolution, at.tiling)?;
    check_cell_sources(loc, sources, cell, &at.resolution.key, at.resolution.span.clone())?;
    check_query_expert(loc, cell, at.query_expert)?;
    check_auto_grid(loc, sources, cell, at.grid)
}

fn check_query_expert(loc: &Locator, cell: &CellSettings, q: Option<&Spanned<ExpertKind>>) -> Result<(), SpecError> {
    if let (Some(q), true) = (q, cell.fusion.has_roles()) {
        if !cell.encoders.contains(q.get_ref()) {
            return Err(loc.error(
                Some(q.span()),
                "base.query-expert",
                format!(
                    "query-expert `{}` is not in the encoder set [{}] of a `{}` cell",
                    q.get_ref(),
                    Axis::Encoders.value_of(cell),
                    cell.fusion
                ),
                Some("name an expert of every set that uses a fusion with roles, or exclude the other sets".into()),
            ));
        }
    }
    Ok(())
}

/// The side of `expert`'s map at `res` pixels (its stitched tiles when tiled), the largest over
/// every scale (the command line may change the scale, and with it the native resolutions); a
/// checkpoint's native side and stride are its own at every scale.
fn map_side(sources: &ExpertSources, expert: ExpertKind, res: usize, tiling: Tiling) -> usize {
    if let Some(ck) = sources.get(&expert) {
        let native = ck.native_resolution;
        return match tiling {
            Tiling::Tile if res > native => res.div_ceil(native) * ck.grid(native),
            _ => ck.grid(res),
        };
    }
    Scale::ALL
        .iter()
        .map(|&scale| {
            let native = expert.native_resolution(scale);
            match tiling {
                Tiling::Tile if res > native => res.div_ceil(native) * native / expert.stride(),
                _ => res / expert.stride(),
            }
        })
        .max()
        .unwrap_or(0)
}

/// `grid = "auto"` takes the largest expert map: it must stay within the bound on explicit grids.
fn check_auto_grid(
    loc: &Locator,
    sources: &ExpertSources,
    cell: &CellSettings,
    grid: &At<TokenGrid>,
) -> Result<(), SpecError> {
    if cell.grid != TokenGrid::Auto {
        return Ok(());
    }
    let Some((expert, p, side)) = cell
        .encoders
        .iter()
        .filter_map(|&e| {
            let native = sources.get(&e).map(|ck| ck.native_resolution);
            cell.resolution.pixels_for(e).or(native).map(|p| (e, p, map_side(sources, e, p, cell.tiling)))
        })
        .max_by_key(|(_, _, side)| *side)
    else {
        return Ok(());
    };
    if side > MAX_GRID_SIDE {
        return Err(loc.error(
            grid.span.clone(),
            &grid.key,
            format!(
                "grid = \"auto\" at {p} pixels gives {expert}'s {side}x{side} map, more than {MAX_GRID_SIDE} tokens \
                a side ({} visual tokens per expert)",
                side * side
            ),
            Some(format!("give a fixed grid (at most {MAX_GRID_SIDE}) or a lower resolution")),
        ));
    }
    Ok(())
}

fn check_cell(
    loc: &Locator,
    sources: &ExpertSources,
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
    // A checkpoint's own stride is checked with its other constraints (check_cell_sources).
    for e in cell.encoders.iter().filter(|e| !sources.contains_key(e)) {
        if let Some(p) = cell.resolution.pixels_for(*e) {
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

impl AxisValues {
    /// Where the settings of the cell at `index` (one value index per axis) were written.
    pub(crate) fn origins<'a>(&'a self, index: &[usize], query_expert: Option<&'a Spanned<ExpertKind>>) -> Origins<'a> {
        let at = |a: Axis| index[a as usize];
        Origins {
            encoders: &self.encoders[at(Axis::Encoders)],
            fusion: &self.fusion[at(Axis::Fusion)],
            resolution: &self.resolution[at(Axis::Resolution)],
            tiling: &self.tiling[at(Axis::Tiling)],
            grid: &self.grid[at(Axis::Grid)],
            query_expert,
        }
    }
}
