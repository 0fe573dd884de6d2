//! The experiment file as written: private serde types that refuse unknown keys.

pub(crate) use super::axes::{RawCell, RawGrid};
use super::experts::RawExpert;
use super::greedy::{RawGreedy, SearchKind};
use super::hypothesis::RawHypothesis;
use super::llava_data::{RawData, RawLm};
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
    #[serde(default)]
    pub experts: BTreeMap<String, RawExpert>,
    #[serde(default)]
    pub lm: Option<RawLm>,
    #[serde(default)]
    pub data: Option<RawData>,
    #[serde(default)]
    pub executor: Option<super::executor::RawExecutor>,
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
    pub seeds: Option<Spanned<RawSeeds>>,
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
    /// Per expert (`resolution = { convnext = 256 }`).
    PerExpert(BTreeMap<String, i64>),
}

/// `unlock` as written: a boolean for every expert, or a table of expert name → boolean.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawUnlock {
    All(bool),
    PerExpert(BTreeMap<String, bool>),
}

/// `experiment.seeds` as written: a list of seeds, or `{ min, max }` for adaptive seeds.
#[derive(Debug)]
pub(crate) enum RawSeeds {
    /// `seeds = [0, 1, 2]`.
    List(Vec<Spanned<i64>>),
    /// `seeds = { min = 3, max = 10 }`.
    Adaptive(RawAdaptiveSeeds),
}

/// `seeds = { min = 3, max = 10 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdaptiveSeeds {
    pub min: Spanned<i64>,
    pub max: Spanned<i64>,
}

impl<'de> Deserialize<'de> for RawSeeds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seeds;
        impl<'de> serde::de::Visitor<'de> for Seeds {
            type Value = RawSeeds;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of seeds (e.g. [0, 1, 2]) or adaptive seeds (e.g. { min = 3, max = 10 })")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawSeeds, A::Error> {
                let mut out = Vec::new();
                while let Some(seed) = seq.next_element::<Spanned<i64>>()? {
                    out.push(seed);
                }
                Ok(RawSeeds::List(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawSeeds, A::Error> {
                RawAdaptiveSeeds::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(RawSeeds::Adaptive)
            }
        }
        d.deserialize_any(Seeds)
    }
}
