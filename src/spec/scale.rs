//! Named scale presets: model widths, data sizes and step counts.

use super::names::Scale;
use serde::{Deserialize, Serialize};

/// Sizes of every part of a run, fixed by the scale preset (a spec's `[base.train]` may override steps).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScalePreset {
    /// Width of every vision expert's transformer / final stage.
    pub vision_dim: usize,
    /// Transformer blocks in ViT experts.
    pub vision_depth: usize,
    /// Width of the language model.
    pub lm_dim: usize,
    /// Decoder blocks in the language model.
    pub lm_depth: usize,
    /// Attention heads (vision and language).
    pub heads: usize,
    /// Steps of each expert's own pretraining.
    pub expert_steps: usize,
    /// Steps of language-model pretraining on the world's text.
    pub lm_steps: usize,
    /// Steps of the alignment stage (projector only, captions).
    pub align_steps: usize,
    /// Steps of supervised fine-tuning on the QA mixture.
    pub sft_steps: usize,
    /// Samples per training batch.
    pub batch_size: usize,
    /// Test questions per family at evaluation.
    pub eval_per_family: usize,
    /// Distinct training scenes held in memory (the stream cycles over them).
    pub train_pool: usize,
}

impl ScalePreset {
    /// The preset for a named scale.
    pub fn of(scale: Scale) -> Self {
        match scale {
            Scale::Smoke => Self::smoke(),
            Scale::Proxy => Self::proxy(),
            Scale::Gpu => Self::gpu(),
        }
    }

    /// Seconds per cell: tiny models, a handful of steps.
    pub fn smoke() -> Self {
        Self {
            vision_dim: 16,
            vision_depth: 1,
            lm_dim: 16,
            lm_depth: 1,
            heads: 2,
            expert_steps: 4,
            lm_steps: 4,
            align_steps: 3,
            sft_steps: 6,
            batch_size: 8,
            eval_per_family: 8,
            train_pool: 64,
        }
    }

    /// Minutes per cell on a 2-core CPU.
    pub fn proxy() -> Self {
        Self {
            vision_dim: 64,
            vision_depth: 2,
            lm_dim: 64,
            lm_depth: 2,
            heads: 4,
            expert_steps: 200,
            lm_steps: 300,
            align_steps: 120,
            sft_steps: 700,
            batch_size: 32,
            eval_per_family: 200,
            train_pool: 4096,
        }
    }

    /// The proxy's world and resolutions with 4× wider, 2× deeper models, 4× the batch and 2–3× the
    /// steps: enough work per step for a GPU (on 2 CPU cores a cell would take hours).
    pub fn gpu() -> Self {
        Self {
            vision_dim: 256,
            vision_depth: 4,
            lm_dim: 256,
            lm_depth: 4,
            heads: 8,
            expert_steps: 600,
            lm_steps: 900,
            align_steps: 300,
            sft_steps: 1500,
            batch_size: 128,
            eval_per_family: 500,
            train_pool: 16384,
        }
    }
}
