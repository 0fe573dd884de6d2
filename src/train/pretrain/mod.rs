//! Pretraining stages: each expert on its own task at its native resolution, and the LM on the world's text.

pub mod contrastive;
pub mod detection;
pub mod reading;
pub mod segmentation;

use super::batches::{batch_indices, tokens};
use super::fit::{fit, FitSettings, Progress, StepLog};
use super::Divergence;
use super::{seeded_init, HostInit};
use crate::data::{Pool, TextTask};
use crate::model::encoders::{Expert, ExpertConfig};
use crate::model::lm::{Lm, LmConfig};
use crate::model::loss::masked_cross_entropy;
use crate::spec::{Family, PretrainTask};
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use segmentation::SegmentationLabels;

/// A pretrained expert with its task metric, and the same metric of an untrained copy.
pub struct Pretrained<B: AutodiffBackend> {
    /// The expert, without its task head.
    pub expert: Expert<B>,
    /// Loss log.
    pub log: Vec<StepLog>,
    /// Task metric on the validation pool (percent).
    pub score: f64,
    /// The same metric of a freshly initialised copy (percent).
    pub untrained: f64,
    /// Secondary metrics of the trained expert (percent), e.g. whole words read.
    pub extra: Vec<(String, f64)>,
}

/// Data and settings of one expert pretraining.
pub struct PretrainJob<'a> {
    /// Architecture.
    pub cfg: &'a ExpertConfig,
    /// Training pool (images at the native resolution).
    pub pool: &'a Pool,
    /// Validation pool (images at the native resolution).
    pub val: &'a Pool,
    /// The same validation scenes with every word in its own colour, when the training draws some
    /// in ink (`pix2struct`): what the expert reads of the words the OCR questions show.
    pub val_coloured: Option<&'a Pool>,
    /// Vocabulary size (contrastive text tower).
    pub vocab: usize,
    /// Samples per step.
    pub batch: usize,
    /// Optimisation.
    pub settings: &'a FitSettings,
    /// Initialisation and data-order seed.
    pub seed: u64,
}

/// Trains a model built by `init` with `loss`, scoring it and an untrained copy with `score`.
// Each closure is one part of a pretraining task; grouping them in a struct would only rename them.
#[allow(clippy::too_many_arguments)]
fn run<B, I>(
    job: &PretrainJob,
    device: &B::Device,
    progress: &dyn Progress,
    init: I,
    loss: impl Fn(&I::Module<B>, &[usize]) -> burn::tensor::Tensor<B, 1>,
    score: impl Fn(&<I::Module<B> as AutodiffModule<B>>::InnerModule) -> f64,
    extra: impl Fn(&<I::Module<B> as AutodiffModule<B>>::InnerModule) -> Vec<(String, f64)>,
    expert: impl Fn(I::Module<B>) -> Expert<B>,
) -> Result<Pretrained<B>, Divergence>
where
    B: AutodiffBackend,
    I: HostInit,
    I::Module<B>: AutodiffModule<B>,
{
    let model = seeded_init::<B, _>(device, job.seed, &init);
    let (model, log) = fit(model, job.settings, "expert-pretrain", progress, |m: &I::Module<B>, step| {
        loss(m, &batch_indices(job.pool.len(), job.batch, step, job.seed))
    })?;
    let valid = model.valid();
    let (trained, extra) = (score(&valid), extra(&valid));
    let fresh = seeded_init::<B, _>(device, job.seed + 1, &init);
    let untrained = score(&fresh.valid());
    Ok(Pretrained { expert: expert(model), log, score: trained, untrained, extra })
}

/// Pretrains an expert on its own task ([`ExpertConfig::kind`]'s [`PretrainTask`]); an error if it diverged.
pub fn pretrain_expert<B: AutodiffBackend>(
    job: &PretrainJob,
    device: &B::Device,
    progress: &dyn Progress,
) -> Result<Pretrained<B>, Divergence> {
    let (cfg, side, pool, val) = (job.cfg, job.cfg.native_resolution, job.pool, job.val);
    let eval_batch = 64;
    match cfg.kind.pretrain_task() {
        PretrainTask::Contrastive => run(
            job,
            device,
            progress,
            contrastive::Head { cfg, vocab: job.vocab, embed_dim: 64 },
            |m, idx| contrastive::loss(m, pool, idx, side, device),
            |m| contrastive::retrieval_accuracy(m, val, side, eval_batch, device),
            |m| {
                vec![(
                    "ocr_retrieval".into(),
                    contrastive::family_retrieval_accuracy(m, val, Family::Ocr, side, eval_batch, device),
                )]
            },
            |m| m.expert,
        ),
        PretrainTask::Segmentation => {
            let grid = cfg.grid(side);
            let labels = SegmentationLabels::new(pool, side, grid);
            let val_labels = SegmentationLabels::new(val, side, grid);
            run(
                job,
                device,
                progress,
                segmentation::Head(cfg),
                |m, idx| segmentation::loss(m, &labels, pool, idx, side, device),
                |m| segmentation::mean_iou(m, val, &val_labels, side, eval_batch, device),
                |_| vec![],
                |m| m.expert,
            )
        }
        PretrainTask::Reading => run(
            job,
            device,
            progress,
            reading::Head(cfg),
            |m, idx| reading::loss(m, pool, idx, side, device),
            |m| reading::char_accuracy(m, val, side, eval_batch, device),
            |m| {
                let mut extra =
                    vec![("word_accuracy".into(), reading::word_accuracy(m, val, side, eval_batch, device))];
                if let Some(coloured) = job.val_coloured {
                    let words = reading::word_accuracy(m, coloured, side, eval_batch, device);
                    extra.push(("word_accuracy_coloured".into(), words));
                }
                extra
            },
            |m| m.expert,
        ),
        PretrainTask::Detection => run(
            job,
            device,
            progress,
            detection::Head(cfg),
            |m, idx| detection::loss(m, pool, idx, side, device),
            |m| detection::box_recall(m, val, side, eval_batch, device),
            |m| {
                let f = detection::evaluate(m, val, side, eval_batch, device);
                vec![("box_precision".into(), f.precision())]
            },
            |m| m.expert,
        ),
    }
}

/// Pretrains the LM on the world's text: questions with answers, and captions; an error if it diverged.
pub fn pretrain_lm<B: AutodiffBackend>(
    cfg: &LmConfig,
    pool: &Pool,
    batch: usize,
    settings: &FitSettings,
    seed: u64,
    device: &B::Device,
    progress: &dyn Progress,
) -> Result<(Lm<B>, Vec<StepLog>), Divergence> {
    let model = seeded_init::<B, _>(device, seed, cfg);
    fit(model, settings, "lm-pretrain", progress, |m: &Lm<B>, step| {
        let idx = batch_indices(pool.len(), batch, step, seed);
        let task = if step % 3 == 2 { TextTask::Caption } else { TextTask::Everything };
        let (inputs, targets, mask) = tokens(pool, &idx, task, device);
        masked_cross_entropy(m.forward(inputs), targets, mask)
    })
}
