//! The axes a grid may vary, each declared once: its key, raw and resolved types, default, hint,
//! validation, `[[exclude]]` matching and display. Adding an axis means a row here and a field of
//! the same name in [`CellSettings`], plus the code that uses its value.

use super::axis_table::axis_table;
use super::bounds::{MAX_GRID_SIDE, MAX_RESOLUTION, MAX_STEPS, MIN_RESOLUTION};
use super::cell::{CellSettings, Resolution, TokenGrid, Unlock};
use super::duplicates;
use super::error::{Locator, SpecError};
use super::names::{ExpertKind, Family, FusionKind, Tiling};
use super::raw::{RawSize, RawUnlock};
use super::DEFAULT_VISION_LR_SCALE;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use toml::Spanned;

/// One axis value with where it was written.
#[derive(Clone)]
pub(crate) struct At<T> {
    /// The value.
    pub value: T,
    /// The key path it was written at (`base.<key>` when defaulted).
    pub key: String,
    /// Where in the file, when written.
    pub span: Option<Range<usize>>,
}

impl<T> At<T> {
    /// The same place with another value.
    fn with<U>(self, value: U) -> At<U> {
        At { value, key: self.key, span: self.span }
    }
}

/// What the table declares per axis.
pub(crate) trait AxisDef {
    /// The value as written in a file.
    type Raw: Clone;
    /// The value a cell holds (the field of [`CellSettings`] of the same name).
    type Value: Clone + std::fmt::Debug;
    /// The value when neither `[grid]` nor `[base]` gives one.
    fn default() -> Self::Value;
    /// Validates a written value and converts it.
    fn read(loc: &Locator, ctx: &Ctx, a: At<Self::Raw>) -> Result<At<Self::Value>, SpecError>;
    /// Whether an `[[exclude]]` rule's value for this axis matches `cell`.
    fn matches(rule: &Self::Raw, cell: &CellSettings) -> bool;
    /// The cell's value as text.
    fn show(cell: &CellSettings) -> String;
}

/// What reading one axis may need to know of the file beyond its own values.
pub(crate) struct Ctx {
    /// Every expert named by some encoder set.
    experts: Vec<ExpertKind>,
}

impl Ctx {
    fn new(grid: &RawGrid, base: &RawCell) -> Ctx {
        let experts = match (&grid.encoders, &base.encoders) {
            (Some(sets), _) => sets.iter().flat_map(|s| s.get_ref().iter().copied()).collect(),
            (None, Some(set)) => set.get_ref().clone(),
            (None, None) => <def::Encoders as AxisDef>::default(),
        };
        Ctx { experts }
    }
}

/// One axis's values: `[grid]`'s list, else `[base]`'s value, else the default.
fn read_axis<A: AxisDef>(
    loc: &Locator,
    ctx: &Ctx,
    grid: &Option<Vec<Spanned<A::Raw>>>,
    base: &Option<Spanned<A::Raw>>,
    key: &str,
) -> Result<Vec<At<A::Value>>, SpecError> {
    let at = |s: &Spanned<A::Raw>, key: String| At { value: s.get_ref().clone(), key, span: Some(s.span()) };
    if let Some(values) = grid {
        let read = values
            .iter()
            .enumerate()
            .map(|(i, v)| A::read(loc, ctx, at(v, format!("grid.{key}[{i}]"))))
            .collect::<Result<Vec<_>, _>>()?;
        duplicates::check_axis(loc, key, &read)?;
        return Ok(read);
    }
    if let Some(v) = base {
        return Ok(vec![A::read(loc, ctx, at(v, format!("base.{key}")))?]);
    }
    Ok(vec![At { value: A::default(), key: format!("base.{key}"), span: None }])
}

/// Every index tuple of a grid with `dims` values per axis, the last axis fastest.
pub(crate) fn odometer(dims: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    (0..dims.iter().product::<usize>()).map(move |k| {
        let mut index = vec![0; dims.len()];
        let mut rest = k;
        for d in (0..dims.len()).rev() {
            index[d] = rest % dims[d];
            rest /= dims[d];
        }
        index
    })
}

fn ok<T>(_: &Locator, _: &Ctx, a: At<T>) -> Result<At<T>, SpecError> {
    Ok(a)
}

fn joined<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("+")
}

axis_table! {
    /// `encoders`
    Encoders encoders "encoders": Vec<ExpertKind> => Vec<ExpertKind> {
        ordered: false,
        default: vec![ExpertKind::Clip],
        hint: Some(format!("known encoders: {}", ExpertKind::known())),
        examples: ["[\"clip\", \"convnext\"]", "[\"convnext\", \"clip\"]"],
        read: |loc, _, a| {
            if a.value.is_empty() {
                return Err(loc.error(
                    a.span.clone(),
                    &a.key,
                    "empty encoder set",
                    Some(format!("name at least one of: {}", ExpertKind::known())),
                ));
            }
            if let Some((first, again)) = duplicates::first_repeat(&a.value) {
                return Err(loc.error(
                    a.span.clone(),
                    format!("{}[{again}]", a.key),
                    format!("expert `{}` appears twice in one set (also at [{first}])", a.value[again]),
                    None,
                ));
            }
            Ok(a)
        },
        matches: |rule, cell| rule == &cell.encoders,
        show: |cell| joined(&cell.encoders),
    }
    /// `fusion`
    Fusion fusion "fusion": FusionKind => FusionKind {
        ordered: false,
        default: FusionKind::ChannelConcat,
        hint: Some(format!("known fusions: {}", FusionKind::known())),
        examples: ["\"channel-concat\"", "\"sequence-append\""],
        read: ok,
        matches: |rule, cell| *rule == cell.fusion,
        show: |cell| cell.fusion.to_string(),
    }
    /// `resolution`
    Resolution resolution "resolution": RawSize => Resolution {
        ordered: true,
        default: Resolution::Native,
        hint: Some("an integer number of pixels, \"native\", or a table of expert = pixels, e.g. { convnext = 256 }".into()),
        examples: ["64", "128"],
        read: |loc, ctx, a| {
            let bad = |message: String| {
                loc.error(
                    a.span.clone(),
                    &a.key,
                    message,
                    Some(format!(
                        "an integer from {MIN_RESOLUTION} to {MAX_RESOLUTION} pixels, \"native\", or a table of \
                         expert = pixels (the experts not named stay native)"
                    )),
                )
            };
            let value = match &a.value {
                RawSize::Word(w) if w == "native" => Resolution::Native,
                RawSize::Pixels(p) if (MIN_RESOLUTION..=MAX_RESOLUTION).contains(p) => Resolution::Pixels(*p as usize),
                RawSize::PerExpert(map) if !map.is_empty() => {
                    let mut sides = Vec::new();
                    for (name, p) in map {
                        let Ok(kind) = name.parse::<ExpertKind>() else {
                            return Err(bad(format!("unknown expert `{name}` in resolution")));
                        };
                        if !ctx.experts.contains(&kind) {
                            return Err(bad(format!("resolution names `{name}`, which is not in any encoder set")));
                        }
                        if !(MIN_RESOLUTION..=MAX_RESOLUTION).contains(p) {
                            return Err(bad(format!("bad resolution {p} for `{name}`")));
                        }
                        sides.push((kind, *p as usize));
                    }
                    sides.sort_by_key(|(e, _)| ExpertKind::ALL.iter().position(|k| k == e));
                    Resolution::PerExpert(sides)
                }
                other => return Err(bad(format!("bad resolution {other:?}"))),
            };
            Ok(a.with(value))
        },
        matches: |rule, cell| match (rule, &cell.resolution) {
            (RawSize::Pixels(p), Resolution::Pixels(q)) => *p as usize == *q,
            (RawSize::Word(w), Resolution::Native) => w == "native",
            (RawSize::PerExpert(map), r) => cell
                .encoders
                .iter()
                .all(|e| map.get(e.as_str()).map(|&p| p as usize) == r.pixels_for(*e)),
            _ => false,
        },
        show: |cell| cell.resolution.to_string(),
    }
    /// `tiling`
    Tiling tiling "tiling": Tiling => Tiling {
        ordered: false,
        default: Tiling::Interpolate,
        hint: Some(format!("known tilings: {}", Tiling::known())),
        examples: ["\"interpolate\"", "\"tile\""],
        read: ok,
        matches: |rule, cell| *rule == cell.tiling,
        show: |cell| cell.tiling.to_string(),
    }
    /// `unlock` (a table of experts resolves per cell against the cell's encoders, see
    /// [`Unlock::normalised`])
    Unlock unlock "unlock": RawUnlock => Unlock {
        ordered: false,
        default: Unlock::All(false),
        hint: Some("true, false, or a table of expert = true/false, e.g. { clip = true, sam = false }".into()),
        examples: ["false", "{ clip = true }"],
        read: |loc, ctx, a| {
            let value = match &a.value {
                RawUnlock::All(b) => Unlock::All(*b),
                RawUnlock::PerExpert(map) => {
                    let mut on = Vec::new();
                    for (name, unlocked) in map {
                        let Ok(kind) = name.parse::<ExpertKind>() else {
                            return Err(loc.error(
                                a.span.clone(),
                                &a.key,
                                format!("unknown expert `{name}` in unlock"),
                                Some(format!("known encoders: {}", ExpertKind::known())),
                            ));
                        };
                        if !ctx.experts.contains(&kind) {
                            return Err(loc.error(
                                a.span.clone(),
                                &a.key,
                                format!("unlock names `{name}`, which is not in any encoder set"),
                                Some(
                                    "name experts of the `encoders` sets (a cell ignores the experts it does not have)"
                                        .into(),
                                ),
                            ));
                        }
                        if *unlocked {
                            on.push(kind);
                        }
                    }
                    Unlock::Only(on)
                }
            };
            Ok(a.with(value))
        },
        matches: |rule, cell| match rule {
            RawUnlock::All(b) => cell.unlock == Unlock::All(*b),
            RawUnlock::PerExpert(map) => cell
                .encoders
                .iter()
                .all(|e| map.get(e.as_str()).copied().unwrap_or(false) == cell.unlock.unlocks(*e)),
        },
        show: |cell| match &cell.unlock {
            Unlock::All(b) => b.to_string(),
            only => only.to_string(),
        },
    }
    /// `families`
    Families families "families": Vec<Family> => Vec<Family> {
        ordered: false,
        default: vec![Family::Vqa, Family::Count, Family::Pope],
        hint: Some(format!("known families: {}", Family::known())),
        examples: ["[\"vqa\"]", "[\"vqa\", \"count\"]"],
        read: |loc, _, a| {
            if a.value.is_empty() {
                return Err(loc.error(
                    a.span.clone(),
                    &a.key,
                    "empty family list",
                    Some(format!("known families: {}", Family::known())),
                ));
            }
            if let Some((first, again)) = duplicates::first_repeat(&a.value) {
                return Err(loc.error(
                    a.span.clone(),
                    format!("{}[{again}]", a.key),
                    format!("family `{}` is listed twice (also at [{first}])", a.value[again]),
                    Some("list each family once (the SFT mixture is uniform over the list)".into()),
                ));
            }
            Ok(a)
        },
        matches: |rule, cell| rule == &cell.families,
        show: |cell| joined(&cell.families),
    }
    /// `grid`
    Grid grid "grid": RawSize => TokenGrid {
        ordered: true,
        default: TokenGrid::Side(4),
        hint: Some("a side in tokens, or \"auto\"".into()),
        examples: ["4", "\"auto\""],
        read: |loc, _, a| {
            let value = match &a.value {
                RawSize::Word(w) if w == "auto" => TokenGrid::Auto,
                RawSize::Pixels(p) if (1..=MAX_GRID_SIDE as i64).contains(p) => TokenGrid::Side(*p as usize),
                other => {
                    return Err(loc.error(
                        a.span.clone(),
                        &a.key,
                        format!("bad grid {other:?}"),
                        Some(format!("a side from 1 to {MAX_GRID_SIDE} tokens, or \"auto\" (the largest expert map)")),
                    ))
                }
            };
            Ok(a.with(value))
        },
        matches: |rule, cell| match (rule, cell.grid) {
            (RawSize::Pixels(p), TokenGrid::Side(q)) => *p as usize == q,
            (RawSize::Word(w), TokenGrid::Auto) => w == "auto",
            _ => false,
        },
        show: |cell| cell.grid.to_string(),
    }
    /// `sft-steps` (None, the scale's preset, unless written)
    SftSteps sft_steps "sft-steps": i64 => Option<usize> {
        ordered: true,
        default: None,
        hint: None,
        examples: ["10", "20"],
        read: |loc, _, a| {
            if !(1..=MAX_STEPS).contains(&a.value) {
                return Err(loc.error(
                    a.span.clone(),
                    &a.key,
                    format!("sft-steps must be from 1 to {MAX_STEPS}, got {}", a.value),
                    Some("the scale presets take 6 (smoke), 700 (proxy) and 1500 (gpu) steps".into()),
                ));
            }
            let steps = a.value as usize;
            Ok(a.with(Some(steps)))
        },
        matches: |rule, cell| Some(*rule as usize) == cell.sft_steps,
        show: |cell| cell.sft_steps.map(|s| s.to_string()).unwrap_or_else(|| "preset".into()),
    }
    /// `lr` (None, the default, unless written)
    Lr lr "lr": f64 => Option<f64> {
        ordered: true,
        default: None,
        hint: None,
        examples: ["0.001", "0.002"],
        read: |loc, _, a| {
            if !(a.value > 0.0 && a.value < 1.0) {
                return Err(loc.error(
                    a.span.clone(),
                    &a.key,
                    format!("learning rate must be in (0, 1), got {}", a.value),
                    None,
                ));
            }
            let lr = a.value;
            Ok(a.with(Some(lr)))
        },
        matches: |rule, cell| Some(*rule) == cell.lr,
        show: |cell| cell.lr.map(|s| s.to_string()).unwrap_or_else(|| "default".into()),
    }
    /// `vision-lr-scale`
    VisionLrScale vision_lr_scale "vision-lr-scale": f64 => f64 {
        ordered: true,
        default: DEFAULT_VISION_LR_SCALE,
        hint: None,
        examples: ["0.1", "1.0"],
        read: |loc, _, a| {
            if !(a.value > 0.0 && a.value <= 10.0) {
                return Err(loc.error(
                    a.span.clone(),
                    &a.key,
                    format!("vision-lr-scale must be in (0, 10], got {}", a.value),
                    None,
                ));
            }
            Ok(a)
        },
        matches: |rule, cell| *rule == cell.vision_lr_scale,
        show: |cell| cell.vision_lr_scale.to_string(),
    }
    /// `query-expert`: the low-resolution expert of fusions with roles; `[base]` only.
    base query_expert "query-expert": ExpertKind;
    /// `mixture`: shares of the training mixture per family, e.g. `{ ocr = 3 }`; `[base]` only.
    base mixture "mixture": std::collections::BTreeMap<String, i64>;
    /// `pre-align`
    PreAlign pre_align "pre-align": bool => bool {
        ordered: false,
        default: false,
        hint: None,
        examples: ["false", "true"],
        read: ok,
        matches: |rule, cell| *rule == cell.pre_align,
        show: |cell| cell.pre_align.to_string(),
    }
}
