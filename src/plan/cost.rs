//! Cost estimates from FLOP counts of the configs, calibrated on a 2-core CPU with the `flex` backend.

use super::stage::StageKind;
use crate::model::MllmConfig;

/// Effective training throughput of small models on the reference CPU (FLOP/s), fitted to the
/// quickstart's stage times on 2 cores with the `flex` backend.
pub const CPU_FLOPS: f64 = 1.0e10;
/// Fixed per-step overhead on the reference CPU (seconds): data, op dispatch, autodiff, optimiser.
pub const CPU_STEP_OVERHEAD: f64 = 0.05;
/// Text tokens of a typical QA sequence.
pub const TEXT_TOKENS: usize = 12;

/// Forward FLOPs of every expert of `m` on one image, with `factor(i)` applied to expert `i`.
fn vision_flops(m: &MllmConfig, factor: impl Fn(usize) -> f64) -> f64 {
    (0..m.experts.len()).map(|i| factor(i) * m.expert_flops(i)).sum()
}

/// Estimated seconds of a stage on the reference CPU.
pub fn estimate_seconds(kind: &StageKind) -> f64 {
    let (flops_per_sample, steps, batch) = match kind {
        StageKind::ExpertPretrain { expert, optim, .. } => {
            (3.0 * expert.flops(expert.native_resolution), optim.steps, optim.batch)
        }
        StageKind::LmPretrain { lm, optim, .. } => (3.0 * lm.flops(TEXT_TOKENS), optim.steps, optim.batch),
        StageKind::PreAlign { model, optim, .. } => {
            // The expert trains (forward and backward), the frozen LM passes gradients through.
            let vision = vision_flops(model, |_| 3.0);
            let lm = model.lm.flops(model.visual_tokens() + TEXT_TOKENS);
            (vision + 3.0 * model.fusion_flops() + 2.0 * lm, optim.steps, optim.batch)
        }
        StageKind::Align { model, optim, .. } => {
            let vision = vision_flops(model, |_| 1.0);
            let lm = model.lm.flops(model.visual_tokens() + TEXT_TOKENS);
            (vision + 3.0 * model.fusion_flops() + 2.0 * lm, optim.steps, optim.batch)
        }
        StageKind::Sft { model, unlock, optim, .. } => {
            let vision = vision_flops(model, |i| if unlock.unlocks(model.experts[i].0.kind) { 3.0 } else { 1.0 });
            let lm = model.lm.flops(model.visual_tokens() + TEXT_TOKENS);
            (vision + 3.0 * model.fusion_flops() + 3.0 * lm, optim.steps, optim.batch)
        }
        StageKind::Eval { families, per_family, .. } => return (families.len() * per_family) as f64 * 0.002,
    };
    steps as f64 * (flops_per_sample * batch as f64 / CPU_FLOPS + CPU_STEP_OVERHEAD)
}

/// Human-readable duration: `45s`, `3m 20s`, `1h 05m`.
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}
