//! Cost estimates from FLOP counts of the configs, calibrated on a 2-core CPU with the `flex` backend.

use super::stage::{ModelSpec, StageKind};
use crate::model::encoders::ExpertConfig;
use crate::model::lm::LmConfig;
use crate::spec::ExpertKind;

/// Effective training throughput of small models on the reference CPU (FLOP/s), fitted to the
/// quickstart's stage times on 2 cores with the `flex` backend.
pub const CPU_FLOPS: f64 = 1.0e10;
/// Fixed per-step overhead on the reference CPU (seconds): data, op dispatch, autodiff, optimiser.
pub const CPU_STEP_OVERHEAD: f64 = 0.05;
/// Text tokens of a typical QA sequence.
pub const TEXT_TOKENS: usize = 12;

/// Forward FLOPs of one expert on one image at resolution `res`.
pub fn expert_flops(e: &ExpertConfig, res: usize) -> f64 {
    let d = e.dim as f64;
    match e.kind {
        ExpertKind::Clip | ExpertKind::Sam | ExpertKind::Pix2Struct | ExpertKind::Eva02 => {
            let n = e.grid(res).pow(2) as f64;
            let p = e.kind.stride() as f64;
            let embed = n * 3.0 * p * p * d;
            let block = 12.0 * d * d * n + 2.0 * n * n * d;
            // SAM's neck: a 1×1 and a 3×3 convolution.
            let neck = if e.kind == ExpertKind::Sam { 10.0 * d * d * n } else { 0.0 };
            2.0 * (embed + e.depth as f64 * block + neck)
        }
        ExpertKind::ConvNext => {
            let w = [(e.dim / 2).max(4) as f64, d];
            let mut side = res as f64 / 8.0;
            let mut macs = 3.0 * 64.0 * w[0] * side * side;
            for s in 0..2 {
                if s > 0 {
                    side /= 2.0;
                    macs += w[s - 1] * 4.0 * w[s] * side * side;
                }
                macs += e.depth as f64 * (49.0 * w[s] + 8.0 * w[s] * w[s]) * side * side;
            }
            2.0 * macs
        }
    }
}

/// Forward FLOPs of the LM on `tokens` tokens.
pub fn lm_flops(lm: &LmConfig, tokens: usize) -> f64 {
    let (d, n) = (lm.dim as f64, tokens as f64);
    let block = (4.0 * d * d + 3.0 * d * lm.hidden() as f64) * n + 2.0 * n * n * d;
    2.0 * (lm.depth as f64 * block + d * lm.vocab as f64 * n)
}

fn visual_tokens(m: &ModelSpec) -> usize {
    m.mllm_config().visual_tokens()
}

/// Forward FLOPs of the fusion (with its projector) on one image.
fn fusion_flops(m: &ModelSpec) -> f64 {
    m.mllm_config().fusion_config().map(|f| f.flops()).unwrap_or(0.0)
}

/// Forward FLOPs of every expert of `m` on one image, with `factor(i)` applied to expert `i`
/// (tiled experts run once per tile and once on the thumbnail, at their native resolution).
fn vision_flops(m: &ModelSpec, factor: impl Fn(usize) -> f64) -> f64 {
    let cfg = m.mllm_config();
    m.experts
        .iter()
        .enumerate()
        .map(|(i, (e, r))| {
            let k = cfg.tiles(i);
            let f = if k > 1 { (k * k + 1) as f64 * expert_flops(e, e.native_resolution) } else { expert_flops(e, *r) };
            factor(i) * f
        })
        .sum()
}

/// Estimated seconds of a stage on the reference CPU.
pub fn estimate_seconds(kind: &StageKind) -> f64 {
    let (flops_per_sample, steps, batch) = match kind {
        StageKind::ExpertPretrain { expert, optim, .. } => {
            (3.0 * expert_flops(expert, expert.native_resolution), optim.steps, optim.batch)
        }
        StageKind::LmPretrain { lm, optim, .. } => (3.0 * lm_flops(lm, TEXT_TOKENS), optim.steps, optim.batch),
        StageKind::PreAlign { model, optim, .. } => {
            // The expert trains (forward and backward), the frozen LM passes gradients through.
            let vision = vision_flops(model, |_| 3.0);
            let lm = lm_flops(&model.lm, visual_tokens(model) + TEXT_TOKENS);
            (vision + 3.0 * fusion_flops(model) + 2.0 * lm, optim.steps, optim.batch)
        }
        StageKind::Align { model, optim, .. } => {
            let vision = vision_flops(model, |_| 1.0);
            let lm = lm_flops(&model.lm, visual_tokens(model) + TEXT_TOKENS);
            (vision + 3.0 * fusion_flops(model) + 2.0 * lm, optim.steps, optim.batch)
        }
        StageKind::Sft { model, unlock, optim, .. } => {
            let vision = vision_flops(model, |i| if unlock.unlocks(model.experts[i].0.kind) { 3.0 } else { 1.0 });
            let lm = lm_flops(&model.lm, visual_tokens(model) + TEXT_TOKENS);
            (vision + 3.0 * fusion_flops(model) + 3.0 * lm, optim.steps, optim.batch)
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
