//! The records the store keeps: stage metadata and cell results.

use crate::eval::Scores;
use crate::plan::ExpertGeometry;
use crate::spec::CellSettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Written last into a stage's artifact folder: the stage is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageMeta {
    /// Content id.
    pub id: String,
    /// Stage kind (`sft`, …).
    pub kind: String,
    /// Readable label.
    pub label: String,
    /// Wall time of the stage in seconds.
    pub seconds: f64,
    /// Training samples per second (0 for evaluation).
    pub samples_per_second: f64,
    /// Loss at the first and last logged step.
    pub first_loss: Option<f64>,
    /// Loss at the last logged step.
    pub last_loss: Option<f64>,
    /// Stage-specific metrics (e.g. an expert's retrieval accuracy vs its untrained copy).
    pub metrics: BTreeMap<String, f64>,
    /// Backend that computed it.
    pub backend: String,
    /// SHA-256 (hex) of each file the stage wrote beside this record, by file name
    /// ([`super::integrity`]); empty in records written before hashes were kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
}

/// One cell × seed's result: written last and atomically into the cell's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// Experiment name.
    pub experiment: String,
    /// Cell content id.
    pub cell: String,
    /// Readable label (`blind` for the baseline).
    pub label: String,
    /// Seed.
    pub seed: u64,
    /// The cell's settings (None for the blind baseline).
    pub settings: Option<CellSettings>,
    /// Scores per family and their average.
    pub scores: Scores,
    /// Visual tokens the LM received.
    pub visual_tokens: usize,
    /// Parameters in the MLLM.
    pub params_total: usize,
    /// Parameters that trained in SFT.
    pub params_trainable: usize,
    /// Seconds of the cell's own training (alignment + SFT).
    pub train_seconds: f64,
    /// SFT training samples per second.
    pub sft_samples_per_second: f64,
    /// Wall seconds of every stage in the cell's chain, keyed by stage kind and label
    /// ([`stage_seconds_key`], e.g. `expert-pretrain clip@64`). Records written before these keys are
    /// keyed by kind alone (`expert-pretrain`, one stage of each kind kept) and read as they are.
    pub stage_seconds: BTreeMap<String, f64>,
    /// Each expert's effective resolution and grid.
    pub experts: Vec<crate::plan::ExpertGeometry>,
    /// Scale preset.
    pub scale: String,
    /// Backend.
    pub backend: String,
    /// World schema the cell's stages were computed in ([`crate::plan::ids::SCHEMA_VERSION`]); None
    /// in records written before it was recorded (a report infers it from the stored plan's stage ids).
    #[serde(default)]
    pub schema: Option<u32>,
    /// Commit of the binary that wrote this result (`-dirty` with uncommitted changes; its stages may
    /// come from the stage cache); None in records written before it was recorded.
    #[serde(default)]
    pub commit: Option<String>,
}

/// A stage's key in [`CellResult::stage_seconds`]: its label, which begins with its kind
/// (`expert-pretrain clip@64`, `sft clip/channel-concat seed 0`), else the kind, a space and the label.
pub fn stage_seconds_key(kind: &str, label: &str) -> String {
    let starts_with_kind = label.strip_prefix(kind).is_some_and(|rest| rest.is_empty() || rest.starts_with(' '));
    if starts_with_kind {
        label.to_string()
    } else {
        format!("{kind} {label}")
    }
}

impl CellResult {
    /// `clip@64px:8x8 convnext@128px:8x8` — what each expert really saw.
    pub fn geometry(&self) -> String {
        self.experts.iter().map(|g: &ExpertGeometry| g.to_string()).collect::<Vec<_>>().join(" ")
    }
}
