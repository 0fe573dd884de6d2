//! Floating-point operations of one training step (forward + loss + backward) of the bench cell,
//! counted from its shapes the way PyTorch's `FlopCounterMode` counts them, so Eyrie's count and
//! the reference's measured count can be compared: matrix products, convolutions and attention
//! only (2 per multiply-add; norms, activations, softmax and the optimiser are not counted). The
//! forward count is each module config's own (`flops`); a backward pass costs one product for the
//! weight gradient plus one for the input gradient, so a step costs three forwards, less the input
//! gradient of the layer over the images (each expert's stem), which needs none; attention costs
//! 4·b·h·n²·d forward and twice that backward, causal or not.

use super::BenchShapes;
use crate::model::encoders::ExpertConfig;
use crate::model::lm::LmConfig;
use crate::model::MllmConfig;
use crate::spec::{ExpertKind, FusionKind, Tiling};

/// The cell's architecture, read back from its shapes: each expert at its input side (no tiling).
///
/// # Panics
/// On an expert or fusion name that Eyrie does not know.
fn mllm_config(shapes: &BenchShapes) -> MllmConfig {
    let experts = shapes
        .experts
        .iter()
        .map(|(kind, dim, depth, heads, side, _grid)| {
            let kind: ExpertKind = kind.parse().unwrap_or_else(|e| panic!("flops: {e}"));
            (
                ExpertConfig {
                    kind,
                    dim: *dim,
                    depth: *depth,
                    heads: *heads,
                    native_resolution: *side,
                    checkpoint: None,
                    position_init_std: None,
                },
                *side,
            )
        })
        .collect();
    let (dim, depth, heads, vocab) = shapes.lm;
    MllmConfig {
        lm_checkpoint: None,
        experts,
        fusion: shapes.fusion.parse::<FusionKind>().unwrap_or_else(|e| panic!("flops: {e}")),
        tiling: Tiling::Interpolate,
        grid: shapes.grid,
        query: 0,
        lm: LmConfig { vocab, dim, depth, heads },
    }
}

/// FLOPs of one training step of the cell with `shapes` (see the module note for what counts).
pub fn training_step(shapes: &BenchShapes) -> f64 {
    let cfg = mllm_config(shapes);
    let experts: f64 = (0..cfg.experts.len()).map(|i| cfg.expert_flops(i)).sum();
    let stems: f64 = cfg.experts.iter().map(|(e, side)| e.stem_flops(*side)).sum();
    let lm = cfg.lm.flops(shapes.visual_tokens + shapes.text_len);
    let forward = experts + cfg.fusion_flops() + lm;
    shapes.batch as f64 * (3.0 * forward - stems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes() -> BenchShapes {
        BenchShapes {
            batch: 2,
            experts: vec![("clip".into(), 16, 1, 2, 32, 4)],
            fusion: "channel-concat".into(),
            grid: 4,
            lm: (16, 1, 2, 50),
            text_len: 8,
            visual_tokens: 16,
            lr: (1e-3, 0.1),
        }
    }

    #[test]
    fn counts_a_small_cell_by_hand() {
        // clip: 16 tokens of 192 → 16 (no input grad), one block at width 16, 2 heads of 8.
        let clip = 2.0 * (32 * 192 * 16) as f64 * 2.0
            + 3.0 * 2.0 * (32 * 16 * (48 + 16 + 64) + 32 * 64 * 16) as f64
            + 12.0 * (2 * 2 * 16 * 16 * 8) as f64;
        // fusion: 16 tokens of 16 channels → 16 → 16.
        let fusion = 3.0 * 2.0 * (32 * 16 * 16 * 2) as f64;
        // LM: 24 tokens, hidden 48 (16·8/3 = 42 → 48), vocabulary 50.
        let lm = 3.0 * 2.0 * (48 * 16 * (48 + 16 + 48 + 48) + 48 * 48 * 16 + 48 * 16 * 50) as f64
            + 12.0 * (2 * 2 * 24 * 24 * 8) as f64;
        assert_eq!(training_step(&shapes()), clip + fusion + lm);
    }

    #[test]
    fn the_proxy_cell_counts_what_the_reference_counted() {
        // The proxy bench cell's shapes (reports/bench/bench.json) and the count PyTorch's
        // FlopCounterMode measured on the reference.
        let s = BenchShapes {
            batch: 32,
            experts: vec![("clip".into(), 64, 2, 4, 64, 8), ("convnext".into(), 96, 1, 4, 128, 8)],
            fusion: "channel-concat".into(),
            grid: 4,
            lm: (64, 2, 4, 86),
            text_len: 16,
            visual_tokens: 16,
            lr: (2e-3, 0.1),
        };
        assert_eq!(training_step(&s), 4_768_530_432.0);
    }

    #[test]
    fn grows_linearly_in_the_batch() {
        let mut s = shapes();
        let one = training_step(&s);
        s.batch = 6;
        assert_eq!(training_step(&s), 3.0 * one);
    }
}
