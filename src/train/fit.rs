//! The training loop shared by every stage: AdamW, cosine schedule, gradient clipping, loss log,
//! and a divergence check at every logged step.

use super::divergence::{gradient_norm, Divergence, DivergenceCheck};
use super::schedule::{cosine_with_warmup, warmup_steps};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// One logged training step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    /// Stage name (e.g. `sft`).
    pub stage: String,
    /// 0-based step.
    pub step: usize,
    /// Training loss at this step.
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Seconds since the stage started.
    pub seconds: f64,
}

/// Receives progress while a stage trains.
pub trait Progress {
    /// Called after each logged step.
    fn step(&self, step: usize, total: usize, loss: f64);
}

/// Ignores progress (tests, quiet runs).
pub struct Silent;

impl Progress for Silent {
    fn step(&self, _: usize, _: usize, _: f64) {}
}

/// Optimisation settings of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    /// Steps.
    pub steps: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Gradient clipping by norm (per parameter tensor, as burn clips).
    pub clip_norm: f32,
    /// Log the loss every this many steps (reading the loss syncs the device).
    pub log_every: usize,
    /// Learning-rate multiplier of the second parameter group (the vision experts in SFT).
    pub group_lr_scale: f64,
}

impl FitSettings {
    /// Defaults for `steps` at peak `lr`.
    pub fn new(steps: usize, lr: f64) -> Self {
        Self { steps, lr, weight_decay: 0.01, clip_norm: 1.0, log_every: 10, group_lr_scale: 1.0 }
    }
}

/// Takes a second parameter group's gradients out of a step's gradients (None: one group).
pub type GroupSplit<'a, B, M> = &'a dyn Fn(&mut <B as AutodiffBackend>::Gradients, &M) -> Option<GradientsParams>;

/// Trains `model` for `settings.steps` steps; `loss_at(&model, step)` builds the step's loss.
/// Returns the trained model and the loss log, or the [`Divergence`] that stopped it: at every
/// logged step (and the last) the loss and the gradient norm must be finite and the loss within
/// [`super::divergence::DIVERGENCE_FACTOR`] of its start. A non-finite gradient at an unlogged step
/// makes the parameters, hence the next logged loss, non-finite.
pub fn fit<B, M, F>(
    model: M,
    settings: &FitSettings,
    stage: &str,
    progress: &dyn Progress,
    loss_at: F,
) -> Result<(M, Vec<StepLog>), Divergence>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    F: FnMut(&M, usize) -> Tensor<B, 1>,
{
    fit_groups(model, settings, stage, progress, &|_, _| None, loss_at)
}

/// [`fit`] with a second parameter group (its own AdamW state) at `lr × settings.group_lr_scale`.
pub fn fit_groups<B, M, F>(
    mut model: M,
    settings: &FitSettings,
    stage: &str,
    progress: &dyn Progress,
    split: GroupSplit<'_, B, M>,
    mut loss_at: F,
) -> Result<(M, Vec<StepLog>), Divergence>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    F: FnMut(&M, usize) -> Tensor<B, 1>,
{
    let adamw = || {
        AdamWConfig::new()
            .with_weight_decay(settings.weight_decay)
            .with_grad_clipping(Some(GradientClippingConfig::Norm(settings.clip_norm)))
            .init::<B, M>()
    };
    let mut optim = adamw();
    let mut group_optim = adamw();
    let warmup = warmup_steps(settings.steps);
    let start = Instant::now();
    let mut log = Vec::new();
    let mut check = DivergenceCheck::new(stage);
    for step in 0..settings.steps {
        let lr = cosine_with_warmup(step, settings.steps, warmup, settings.lr);
        let loss = loss_at(&model, step);
        let last = step + 1 == settings.steps;
        let logged = step % settings.log_every.max(1) == 0 || last;
        let value = logged.then(|| loss.clone().into_scalar_f64());
        let mut raw = loss.backward();
        if let Some(v) = value {
            check.check(step, v, gradient_norm(&model, &raw))?;
        }
        let group = split(&mut raw, &model);
        let rest = GradientsParams::from_grads(raw, &model);
        model = optim.step(lr, model, rest);
        if let Some(g) = group {
            model = group_optim.step(lr * settings.group_lr_scale, model, g);
        }
        if let Some(v) = value {
            log.push(StepLog { stage: stage.to_string(), step, loss: v, lr, seconds: start.elapsed().as_secs_f64() });
            progress.step(step + 1, settings.steps, v);
        }
    }
    Ok((model, log))
}

/// Reads a one-element tensor as f64.
pub trait ScalarF64 {
    /// The value.
    fn into_scalar_f64(self) -> f64;
}

impl<B: burn::tensor::backend::Backend> ScalarF64 for Tensor<B, 1> {
    fn into_scalar_f64(self) -> f64 {
        self.into_data().convert::<f64>().as_slice::<f64>().map(|s| s[0]).unwrap_or(f64::NAN)
    }
}
