//! Cost estimates from FLOP counts of the configs, calibrated on a 2-core CPU with the `flex` backend.

use super::stage::StageKind;
use super::{Plan, PlannedCell};
use crate::data::llava::Conversations;
use crate::model::MllmConfig;

/// Effective training throughput of small models on the reference CPU (FLOP/s), fitted to the
/// quickstart's stage times on 2 cores with the `flex` backend.
pub const CPU_FLOPS: f64 = 1.0e10;
/// Fixed per-step overhead on the reference CPU (seconds): data, op dispatch, autodiff, optimiser.
pub const CPU_STEP_OVERHEAD: f64 = 0.05;
/// Text tokens of a typical QA sequence.
pub const TEXT_TOKENS: usize = 12;

/// Positions of one training sequence through `m`'s LM: its visual tokens and a typical question
/// ([`TEXT_TOKENS`]) on the proxy world; with LLaVA-format conversations, the longest sequence they
/// may make (`max-length`, visual tokens included), the bound a device must hold.
pub fn sequence_tokens(m: &MllmConfig, conversations: Option<&Conversations>) -> usize {
    match conversations {
        Some(c) => c.max_length.max(m.visual_tokens() + 1),
        None => m.visual_tokens() + TEXT_TOKENS,
    }
}

/// Forward FLOPs of every expert of `m` on one image, with `factor(i)` applied to expert `i`.
fn vision_flops(m: &MllmConfig, factor: impl Fn(usize) -> f64) -> f64 {
    (0..m.experts.len()).map(|i| factor(i) * m.expert_flops(i)).sum()
}

/// Forward FLOPs of one sample through `m`: every expert on the image (tiles and thumbnail when
/// tiled), the fusion with its projector, and the LM over the visual tokens and a typical question
/// ([`TEXT_TOKENS`]). The blind baseline (no experts) counts the LM alone.
pub fn forward_flops(m: &MllmConfig) -> f64 {
    forward_flops_of(m, None)
}

/// [`forward_flops`] with the LM over [`sequence_tokens`] positions.
pub fn forward_flops_of(m: &MllmConfig, conversations: Option<&Conversations>) -> f64 {
    vision_flops(m, |_| 1.0) + m.fusion_flops() + m.lm_flops(sequence_tokens(m, conversations))
}

/// A planned cell's forward FLOPs per sample: [`forward_flops`] of the model its SFT stage trains
/// (what it is evaluated with), from the plan alone; None when the plan lacks the cell's SFT stage.
pub fn cell_forward_flops(plan: &Plan, cell: &PlannedCell) -> Option<f64> {
    cell.stages.iter().find_map(|id| match &plan.stages.get(id)?.kind {
        StageKind::Sft { model, conversations, .. } => Some(forward_flops_of(model, conversations.as_ref())),
        _ => None,
    })
}

/// The forward FLOPs per sample of the plan's cell labelled `label` (every seed of a label is the
/// same model), as [`cell_forward_flops`].
pub fn label_forward_flops(plan: &Plan, label: &str) -> Option<f64> {
    plan.cells.iter().find(|c| c.label == label).and_then(|c| cell_forward_flops(plan, c))
}

/// GFLOPs with three significant digits: `0.0123`, `4.56`, `123`.
pub fn gflops_text(flops: f64) -> String {
    let g = flops / 1e9;
    match g {
        g if g >= 100.0 => format!("{g:.0}"),
        g if g >= 10.0 => format!("{g:.1}"),
        g if g >= 1.0 => format!("{g:.2}"),
        g if g >= 0.1 => format!("{g:.3}"),
        _ => format!("{g:.4}"),
    }
}

/// Estimated seconds of a stage on the reference CPU.
pub fn estimate_seconds(kind: &StageKind) -> f64 {
    let (flops_per_sample, steps, batch) = match kind {
        StageKind::ExpertPretrain { expert, optim, .. } => {
            (3.0 * expert.flops(expert.native_resolution), optim.steps, optim.batch)
        }
        // Reading the weights: no arithmetic.
        StageKind::ExpertLoad { .. } | StageKind::LmLoad { .. } => (0.0, 0, 1),
        StageKind::LmPretrain { lm, optim, .. } => (3.0 * lm.flops(TEXT_TOKENS), optim.steps, optim.batch),
        StageKind::PreAlign { model, conversations, optim, .. } => {
            // The expert trains (forward and backward), the frozen LM passes gradients through.
            let vision = vision_flops(model, |_| 3.0);
            let lm = model.lm_flops(sequence_tokens(model, conversations.as_ref()));
            (vision + 3.0 * model.fusion_flops() + 2.0 * lm, optim.steps, optim.batch)
        }
        StageKind::Align { model, conversations, optim, .. } => {
            let vision = vision_flops(model, |_| 1.0);
            let lm = model.lm_flops(sequence_tokens(model, conversations.as_ref()));
            (vision + 3.0 * model.fusion_flops() + 2.0 * lm, optim.steps, optim.batch)
        }
        StageKind::Sft { model, unlock, conversations, optim, .. } => {
            let vision = vision_flops(model, |i| if unlock.unlocks(model.experts[i].0.kind) { 3.0 } else { 1.0 });
            let lm = model.lm_flops(sequence_tokens(model, conversations.as_ref()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{parse, Scale};
    use std::path::Path;

    fn plan_of(base: &str) -> Plan {
        let text = format!("[experiment]\nname = \"c\"\n[base]\nfamilies = [\"vqa\"]\n{base}\n");
        crate::plan::plan(&parse(Path::new("c.toml"), &text).unwrap(), Scale::Smoke)
    }

    fn sft_model(p: &Plan, cell: &PlannedCell) -> MllmConfig {
        cell.stages
            .iter()
            .find_map(|id| match &p.stages[id].kind {
                StageKind::Sft { model, .. } => Some(model.clone()),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn a_cells_forward_flops_sum_its_experts_fusion_and_lm() {
        let p = plan_of("encoders = [\"clip\", \"convnext\"]\nfusion = \"sequence-append\"");
        let (cell, blind) = (&p.cells[0], &p.cells[1]);
        let m = sft_model(&p, cell);
        let by_hand =
            m.expert_flops(0) + m.expert_flops(1) + m.fusion_flops() + m.lm_flops(cell.visual_tokens + TEXT_TOKENS);
        assert!(m.fusion_flops() > 0.0 && cell.visual_tokens > 0);
        assert_eq!(cell_forward_flops(&p, cell), Some(by_hand));
        assert_eq!(label_forward_flops(&p, &cell.label), Some(by_hand));
        // The blind baseline runs the LM alone over the question.
        assert_eq!(cell_forward_flops(&p, blind), Some(m.lm_flops(TEXT_TOKENS)));
        assert_eq!(label_forward_flops(&p, "no such cell"), None);
    }

    #[test]
    fn more_resolution_costs_more_flops_per_sample() {
        let native = plan_of("encoders = [\"clip\"]");
        let high = plan_of("encoders = [\"clip\"]\nresolution = 64");
        let f = |p: &Plan| cell_forward_flops(p, &p.cells[0]).unwrap();
        assert!(f(&high) > f(&native), "{} vs {}", f(&high), f(&native));
    }

    #[test]
    fn gflops_keep_three_significant_digits() {
        assert_eq!(gflops_text(1.234e9), "1.23");
        assert_eq!(gflops_text(12.34e9), "12.3");
        assert_eq!(gflops_text(123.4e9), "123");
        assert_eq!(gflops_text(0.1234e9), "0.123");
        assert_eq!(gflops_text(0.01234e9), "0.0123");
    }
}
