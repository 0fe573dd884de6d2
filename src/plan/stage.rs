//! Stage descriptions: everything that determines a stage's output, and nothing else.

use super::ids::{content_id_at, SCHEMA_VERSION};
use crate::checkpoint::lm::LmCheckpoint;
use crate::data::llava::{Conversations, LlavaFile};
use crate::data::DataSpec;
use crate::model::encoders::ExpertConfig;
use crate::model::lm::LmConfig;
use crate::model::MllmConfig;
use crate::spec::{Family, Precision, Unlock};
use serde::{Deserialize, Serialize};

/// Optimisation settings that a stage's output depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Optim {
    /// Steps.
    pub steps: usize,
    /// Samples per step.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Initialisation and data-order seed.
    pub seed: u64,
    /// Distinct training samples cycled over.
    pub pool: usize,
    /// Float type of the weights and the arithmetic (absent from the id when f32).
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

/// What a stage does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StageKind {
    /// An expert's own pretraining on its task (contrastive, segmentation, reading or detection) at its
    /// native resolution.
    ExpertPretrain {
        /// Architecture.
        expert: ExpertConfig,
        /// Data.
        data: DataSpec,
        /// Optimisation.
        optim: Optim,
    },
    /// A checkpoint-backed expert read from its folder (in place of pretraining): its output is the
    /// expert with the checkpoint's weights.
    ExpertLoad {
        /// Architecture, with the checkpoint (folder and content hash).
        expert: ExpertConfig,
    },
    /// A checkpoint LM read from its folder (in place of LM pretraining): its output is the LM with
    /// the checkpoint's weights.
    LmLoad {
        /// The folder, its content hash and its shape.
        lm: LmCheckpoint,
    },
    /// LM pretraining on the world's text.
    LmPretrain {
        /// Architecture.
        lm: LmConfig,
        /// Data.
        data: DataSpec,
        /// Optimisation.
        optim: Optim,
    },
    /// Pre-alignment (Eagle's stage a) of one expert that is not text-aligned: the expert, unlocked,
    /// with its own projector, trained on SFT data against the frozen LM. Its output is the expert.
    PreAlign {
        /// A one-expert MLLM: the expert at the resolution it will be used at, and the LM.
        model: MllmConfig,
        /// Data (the cell's SFT mixture).
        data: DataSpec,
        /// LLaVA-format conversations read in place of `data`'s samples.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversations: Option<Conversations>,
        /// Optimisation.
        optim: Optim,
    },
    /// Alignment: projector only, on captions.
    Align {
        /// Architecture.
        model: MllmConfig,
        /// Data.
        data: DataSpec,
        /// LLaVA-format conversations read in place of `data`'s samples.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversations: Option<Conversations>,
        /// Optimisation.
        optim: Optim,
    },
    /// Supervised fine-tuning on the QA mixture.
    Sft {
        /// Architecture (no experts: the blind baseline).
        model: MllmConfig,
        /// Which experts train.
        unlock: Unlock,
        /// Learning-rate multiplier of the experts (present only when they train).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vision_lr_scale: Option<f64>,
        /// Data.
        data: DataSpec,
        /// LLaVA-format conversations read in place of `data`'s samples.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversations: Option<Conversations>,
        /// Optimisation.
        optim: Optim,
    },
    /// Evaluation on the test split.
    Eval {
        /// Families scored.
        families: Vec<Family>,
        /// Questions per family.
        per_family: usize,
        /// World seed of the test split.
        data_seed: u64,
        /// A JSONL evaluation set asked in place of the world's test split.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eval_set: Option<LlavaFile>,
    },
}

impl StageKind {
    /// Short name for tables and logs.
    pub fn name(&self) -> &'static str {
        match self {
            StageKind::ExpertPretrain { .. } => "expert-pretrain",
            StageKind::ExpertLoad { .. } => "expert-load",
            StageKind::LmLoad { .. } => "lm-load",
            StageKind::LmPretrain { .. } => "lm-pretrain",
            StageKind::PreAlign { .. } => "pre-align",
            StageKind::Align { .. } => "align",
            StageKind::Sft { .. } => "sft",
            StageKind::Eval { .. } => "eval",
        }
    }

    /// The optimisation settings of a training stage (None for loading and evaluation).
    pub fn optim(&self) -> Option<&Optim> {
        match self {
            StageKind::ExpertPretrain { optim, .. }
            | StageKind::LmPretrain { optim, .. }
            | StageKind::PreAlign { optim, .. }
            | StageKind::Align { optim, .. }
            | StageKind::Sft { optim, .. } => Some(optim),
            StageKind::ExpertLoad { .. } | StageKind::LmLoad { .. } | StageKind::Eval { .. } => None,
        }
    }

    /// Samples per training step (0 for loading and evaluation).
    pub fn batch(&self) -> usize {
        self.optim().map_or(0, |o| o.batch)
    }

    /// Training steps (0 for loading and evaluation).
    pub fn steps(&self) -> usize {
        self.optim().map_or(0, |o| o.steps)
    }
}

/// A stage with its inputs and content id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Content id (hash of `kind` and `inputs`).
    pub id: String,
    /// What it does.
    pub kind: StageKind,
    /// Ids of the stages whose outputs it reads, in a fixed order.
    pub inputs: Vec<String>,
    /// A readable description, e.g. `expert-pretrain clip@64`.
    pub label: String,
}

impl Stage {
    /// Builds a stage and computes its id.
    pub fn new(kind: StageKind, inputs: Vec<String>, label: String) -> Self {
        let mut s = Self { id: String::new(), kind, inputs, label };
        s.id = s.id_at(SCHEMA_VERSION);
        s
    }

    /// The id this description (kind and input ids) has under world schema `version`.
    pub fn id_at(&self, version: u32) -> String {
        #[derive(Serialize)]
        struct Hashed<'a> {
            kind: &'a StageKind,
            inputs: &'a [String],
        }
        content_id_at(&Hashed { kind: &self.kind, inputs: &self.inputs }, version)
    }

    /// The world schema this stage's stored id was computed in: the version in `1..=SCHEMA_VERSION`
    /// whose id of the same description matches, or None when none does (the description's JSON
    /// changed since, so the schema cannot be told).
    pub fn schema(&self) -> Option<u32> {
        (1..=SCHEMA_VERSION).rev().find(|&v| self.id_at(v) == self.id)
    }
}
