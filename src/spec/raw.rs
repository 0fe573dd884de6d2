//! The experiment file as written: private serde types that refuse unknown keys.

use super::greedy::{RawGreedy, SearchKind};
use super::names::{ExpertKind, Family, FusionKind, Scale, Tiling};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSpec {
    pub experiment: RawExperiment,
    #[serde(default)]
    pub base: RawCell,
    #[serde(default)]
    pub grid: RawGrid,
    #[serde(default)]
    pub exclude: Vec<RawCell>,
    #[serde(default)]
    pub greedy: Option<RawGreedy>,
}

/// `[experiment]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawExperiment {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub scale: Option<Scale>,
    #[serde(default)]
    pub seeds: Option<Spanned<Vec<u64>>>,
    #[serde(default)]
    pub blind_baseline: Option<bool>,
    #[serde(default)]
    pub search: Option<Spanned<SearchKind>>,
}

/// A size as written: a number, or a word (`native` for resolutions, `auto` for grids).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawSize {
    Pixels(i64),
    Word(String),
}

/// `unlock` as written: a boolean for every expert, or a table of expert name → boolean.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawUnlock {
    All(bool),
    PerExpert(BTreeMap<String, bool>),
}

/// One value per setting: `[base]` and each `[[exclude]]` rule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCell {
    pub encoders: Option<Spanned<Vec<ExpertKind>>>,
    pub fusion: Option<Spanned<FusionKind>>,
    pub resolution: Option<Spanned<RawSize>>,
    pub tiling: Option<Spanned<Tiling>>,
    pub unlock: Option<Spanned<RawUnlock>>,
    pub families: Option<Spanned<Vec<Family>>>,
    pub grid: Option<Spanned<RawSize>>,
    pub sft_steps: Option<Spanned<i64>>,
    pub lr: Option<Spanned<f64>>,
    pub vision_lr_scale: Option<Spanned<f64>>,
    pub query_expert: Option<Spanned<ExpertKind>>,
    pub pre_align: Option<Spanned<bool>>,
}

/// `[grid]`: a list of values per axis.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawGrid {
    pub encoders: Option<Vec<Spanned<Vec<ExpertKind>>>>,
    pub fusion: Option<Vec<Spanned<FusionKind>>>,
    pub resolution: Option<Vec<Spanned<RawSize>>>,
    pub tiling: Option<Vec<Spanned<Tiling>>>,
    pub unlock: Option<Vec<Spanned<RawUnlock>>>,
    pub families: Option<Vec<Spanned<Vec<Family>>>>,
    pub grid: Option<Vec<Spanned<RawSize>>>,
    pub sft_steps: Option<Vec<Spanned<i64>>>,
    pub lr: Option<Vec<Spanned<f64>>>,
    pub vision_lr_scale: Option<Vec<Spanned<f64>>>,
    pub pre_align: Option<Vec<Spanned<bool>>>,
}
