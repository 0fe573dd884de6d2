//! The MLLM's two training stages: alignment (projector only, captions) and SFT (QA mixture).

use super::batches::{batch_indices, images, tokens};
use super::fit::{fit_groups, FitSettings, Progress, StepLog};
use super::Divergence;
use crate::data::{Pool, TextTask};
use crate::model::loss::masked_cross_entropy;
use crate::model::{Mllm, MllmConfig};
use crate::spec::{ExpertKind, Unlock};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

/// Which parts of the MLLM train in a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trainable {
    /// Whether each vision expert trains (missing: frozen).
    pub experts: Vec<bool>,
    /// Fusion and projector.
    pub fusion: bool,
    /// The decoder.
    pub lm: bool,
}

impl Trainable {
    /// Stage 1 of the paper's recipe: the projector only.
    pub fn align() -> Self {
        Trainable { experts: vec![], fusion: true, lm: false }
    }

    /// Pre-alignment (Eagle's stage a): the one expert and its projector; the LM frozen.
    pub fn pre_align() -> Self {
        Trainable { experts: vec![true], fusion: true, lm: false }
    }

    /// Stage 2: LM and projector, each expert per the spec's `unlock`.
    pub fn sft(unlock: &Unlock, experts: &[ExpertKind]) -> Self {
        Trainable { experts: experts.iter().map(|&e| unlock.unlocks(e)).collect(), fusion: true, lm: true }
    }

    /// Whether expert `i` trains.
    pub fn expert(&self, i: usize) -> bool {
        self.experts.get(i).copied().unwrap_or(false)
    }
}

/// Marks the parts that must not train as constants (no gradients, bit-identical after the stage).
pub fn apply_freeze<B: AutodiffBackend>(model: Mllm<B>, t: &Trainable) -> Mllm<B> {
    let Mllm { experts, tiles, natives, query_view, query_expert, fusion, lm, llama } = model;
    Mllm {
        experts: experts.into_iter().enumerate().map(|(i, e)| if t.expert(i) { e } else { e.no_grad() }).collect(),
        tiles,
        natives,
        query_view,
        query_expert,
        fusion: fusion.map(|f| if t.fusion { f } else { f.no_grad() }),
        lm: if t.lm { lm } else { lm.no_grad() },
        llama: if t.lm { llama } else { llama.no_grad() },
    }
}

/// The experts as their own parameter group, at `lr × settings.group_lr_scale` (`vision-lr-scale`),
/// when any of them trains.
pub fn expert_group<B: AutodiffBackend>(
    trainable: &Trainable,
) -> impl Fn(&mut B::Gradients, &Mllm<B>) -> Option<GradientsParams> + '_ {
    move |grads: &mut B::Gradients, m: &Mllm<B>| {
        if !trainable.experts.iter().any(|&t| t) || m.experts.is_empty() {
            return None;
        }
        Some(GradientsParams::from_module(grads, &m.experts))
    }
}

/// Trains the MLLM on `pool` for `task` with the parts in `trainable` unlocked; an error if it diverged.
#[allow(clippy::too_many_arguments)]
pub fn train_mllm<B: AutodiffBackend>(
    model: Mllm<B>,
    cfg: &MllmConfig,
    pool: &Pool,
    task: TextTask,
    trainable: Trainable,
    batch: usize,
    settings: &FitSettings,
    seed: u64,
    stage: &str,
    device: &B::Device,
    progress: &dyn Progress,
) -> Result<(Mllm<B>, Vec<StepLog>), Divergence> {
    let model = apply_freeze(model, &trainable);
    let sides: Vec<usize> = cfg.experts.iter().map(|(_, r)| *r).collect();
    let split = expert_group::<B>(&trainable);
    fit_groups(model, settings, stage, progress, &split, |m: &Mllm<B>, step| {
        let idx = batch_indices(pool.len(), batch, step, seed);
        let imgs = sides.iter().map(|&s| images(pool, &idx, s, device)).collect();
        let (inputs, targets, mask) = tokens(pool, &idx, task, device);
        masked_cross_entropy(m.forward(imgs, inputs), targets, mask)
    })
}
