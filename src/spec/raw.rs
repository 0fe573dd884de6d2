//! The experiment file as written: private serde types that refuse unknown keys.

pub(crate) use super::axes::{RawCell, RawGrid};
use super::greedy::{RawGreedy, SearchKind};
use super::hypothesis::RawHypothesis;
use super::names::{PretrainSeed, Scale};
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
    #[serde(default)]
    pub hypothesis: Vec<RawHypothesis>,
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
    pub seeds: Option<Spanned<Vec<Spanned<i64>>>>,
    #[serde(default)]
    pub blind_baseline: Option<bool>,
    #[serde(default)]
    pub search: Option<Spanned<SearchKind>>,
    #[serde(default)]
    pub pretrain_seed: Option<PretrainSeed>,
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
