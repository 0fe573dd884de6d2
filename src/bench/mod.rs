//! `eyrie bench`: times one representative proxy cell's SFT training step (clip + convnext, channel
//! concat, both experts unlocked, the LM) through the real training loop, and each part alone
//! (batch building, each expert's forward + backward, the fusion, the LM), on any backend.

pub mod flops;
pub mod record;
pub mod torch;

use crate::data::{Pool, Split, TextTask};
use crate::model::Mllm;
use crate::plan::stage::StageKind;
use crate::spec::{Scale, Spec};
use crate::train::batches::{batch_indices, images, tokens};
use crate::train::fit::FitSettings;
use crate::train::mllm_stages::{apply_freeze, train_mllm, Trainable};
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The benchmarked cell: the fusion experiment's channel-concat pair, unlocked, every family.
pub const BENCH_SPEC: &str = r#"
[experiment]
name = "bench-cell"
[base]
encoders = ["clip", "convnext"]
fusion = "channel-concat"
unlock = true
families = ["vqa", "count", "pope", "ocr", "chart", "doc"]
"#;

/// The bench cell's spec.
pub fn bench_spec() -> Spec {
    crate::spec::parse(std::path::Path::new("bench.toml"), BENCH_SPEC).expect("the embedded bench spec is valid")
}

/// One timed part: median milliseconds per call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartTime {
    /// What was timed.
    pub part: String,
    /// Median milliseconds per call.
    pub ms: f64,
}

/// The shapes of the bench cell, for a reference implementation to reproduce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchShapes {
    /// Samples per step.
    pub batch: usize,
    /// Each expert: kind, width, depth, heads, input side in pixels, output grid side.
    pub experts: Vec<(String, usize, usize, usize, usize, usize)>,
    /// The fusion strategy (`channel-concat`).
    pub fusion: String,
    /// Token grid side of the fusion's output.
    pub grid: usize,
    /// LM width, depth, heads, vocabulary.
    pub lm: (usize, usize, usize, usize),
    /// Text tokens per sample.
    pub text_len: usize,
    /// Visual tokens per sample.
    pub visual_tokens: usize,
    /// Learning rate of the LM/projector group and the experts' scale.
    pub lr: (f64, f64),
}

/// What `bench` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// Median milliseconds of one full training step (batch, forward, loss, backward, AdamW).
    pub step_ms: f64,
    /// The fastest timed step: the least disturbed by other work on a shared machine, for A/B
    /// comparisons between builds.
    pub step_fastest_ms: f64,
    /// Steps timed (after the warm-up).
    pub steps: usize,
    /// Parameters of the cell.
    pub params_total: usize,
    /// Parameters that train.
    pub params_trainable: usize,
    /// Each part alone.
    pub parts: Vec<PartTime>,
    /// The shapes.
    pub shapes: BenchShapes,
    /// Mean training loss of the first and of the last three logged steps (warm-up included): the
    /// step learns, at whatever precision it ran.
    pub loss_first_last: (f64, f64),
    /// Seconds until the first training step finished: on a GPU mostly compiling its kernels.
    pub first_step_seconds: f64,
    /// GPU kernels compiled by the end of the training steps (counted only on a cubecl backend that
    /// compiled into Eyrie's kernel log; `None` on the CPU).
    pub kernels_compiled: Option<usize>,
}

impl BenchResult {
    /// Samples per second of the full step.
    pub fn samples_per_second(&self) -> f64 {
        self.shapes.batch as f64 * 1000.0 / self.step_ms
    }
}

/// Median of `xs` (0 when empty).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median milliseconds of `f` over `reps` calls after `warmup` untimed ones; `f` must finish its
/// work (sync the device) before returning.
fn time_ms(warmup: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    median(&times)
}

/// Prints the first steps and every tenth to stderr with the seconds since the start, so a run cut
/// short (a GPU still compiling kernels) still shows how far it got.
struct StepPrinter(Instant);

impl crate::train::Progress for StepPrinter {
    fn step(&self, step: usize, total: usize, loss: f64) {
        if step <= 3 || step.is_multiple_of(10) || step == total {
            eprintln!("  step {step}/{total}: loss {loss:.3}, {:.1} s since the start", self.0.elapsed().as_secs_f64());
        }
    }
}

/// Times the bench cell at `scale`: `steps` full training steps (after `warmup`) and, with `parts`,
/// each part; an error if its training diverged.
pub fn bench<B: AutodiffBackend>(
    scale: Scale,
    steps: usize,
    warmup: usize,
    parts: bool,
    device: &B::Device,
) -> Result<BenchResult, crate::train::Divergence> {
    let spec = bench_spec();
    let p = crate::plan::plan(&spec, scale);
    let cell = &p.cells[0];
    let (model, unlock, vision_lr_scale, data, optim) = cell
        .stages
        .iter()
        .find_map(|id| match &p.stages[id].kind {
            StageKind::Sft { model, unlock, vision_lr_scale, data, optim, .. } => {
                Some((model.clone(), unlock.clone(), *vision_lr_scale, data.clone(), optim.clone()))
            }
            _ => None,
        })
        .expect("the bench cell has an SFT stage");
    let sides: Vec<usize> = model.experts.iter().map(|(_, r)| *r).collect();
    let batch = optim.batch;
    let pool = Pool::build(&data, Split::Train, 0, 4 * batch, &sides);
    let kinds: Vec<_> = model.experts.iter().map(|(e, _)| e.kind).collect();
    let trainable = Trainable::sft(&unlock, &kinds);
    let m: Mllm<B> = crate::train::seeded_init(device, 0, &model);
    let params_total = m.num_params();
    let params_trainable = crate::exec::stages::trainable_params(&m, &trainable);
    let sync = || B::sync(device).expect("device sync");

    // The full step, through the training loop itself (a log, hence a sync, every step).
    let settings = FitSettings {
        log_every: 1,
        group_lr_scale: vision_lr_scale.unwrap_or(1.0),
        ..FitSettings::new(warmup + steps, optim.lr)
    };
    let printer = StepPrinter(Instant::now());
    let (m, log) = train_mllm(
        m,
        &model,
        &pool,
        TextTask::Answer,
        trainable.clone(),
        batch,
        &settings,
        0,
        "bench",
        device,
        &printer,
    )?;
    let deltas: Vec<f64> =
        log.windows(2).skip(warmup.saturating_sub(1)).map(|w| (w[1].seconds - w[0].seconds) * 1000.0).collect();
    let step_ms = median(&deltas);
    let step_fastest_ms = deltas.iter().copied().fold(f64::INFINITY, f64::min);
    let mean_loss = |l: &[crate::train::fit::StepLog]| l.iter().map(|e| e.loss).sum::<f64>() / l.len().max(1) as f64;
    let ends = log.len().min(3);
    let loss_first_last = (mean_loss(&log[..ends]), mean_loss(&log[log.len() - ends..]));
    let first_step_seconds = log.first().map(|l| l.seconds).unwrap_or(0.0);
    // The log is written by cubecl's logger thread: give it a moment to catch up with the last compile.
    let kernels_compiled = crate::kernels::compiled_so_far().map(|_| {
        std::thread::sleep(std::time::Duration::from_millis(500));
        crate::kernels::compiled_so_far().unwrap_or(0)
    });

    let m = apply_freeze(m, &trainable);
    let idx = batch_indices(pool.len(), batch, 0, 0);
    let mut timed = Vec::new();
    timed.push(PartTime {
        part: "batch (images + tokens)".into(),
        ms: time_ms(1, steps, || {
            let imgs: Vec<Tensor<B, 4>> = sides.iter().map(|&s| images(&pool, &idx, s, device)).collect();
            let _ = tokens::<B>(&pool, &idx, TextTask::Answer, device);
            drop(imgs);
            sync();
        }),
    });
    let imgs: Vec<Tensor<B, 4>> = sides.iter().map(|&s| images(&pool, &idx, s, device)).collect();
    let (ids, targets, mask) = tokens::<B>(&pool, &idx, TextTask::Answer, device);
    let shapes = BenchShapes {
        batch,
        experts: model
            .experts
            .iter()
            .map(|(e, r)| (e.kind.as_str().to_string(), e.dim, e.depth, e.heads, *r, e.grid(*r)))
            .collect(),
        fusion: model.fusion.to_string(),
        grid: model.grid,
        lm: (model.lm.dim, model.lm.depth, model.lm.heads, model.lm.vocab),
        text_len: ids.dims()[1],
        visual_tokens: model.visual_tokens(),
        lr: (optim.lr, vision_lr_scale.unwrap_or(1.0)),
    };
    if !parts {
        return Ok(BenchResult {
            step_ms,
            step_fastest_ms,
            steps: deltas.len(),
            params_total,
            params_trainable,
            parts: Vec::new(),
            shapes,
            loss_first_last,
            first_step_seconds,
            kernels_compiled,
        });
    }
    timed.push(PartTime {
        part: "whole model forward + loss + backward (no optimiser)".into(),
        ms: time_ms(1, steps, || {
            let loss = crate::model::loss::masked_cross_entropy(
                m.forward(imgs.clone(), ids.clone()),
                targets.clone(),
                mask.clone(),
            );
            let _ = loss.backward();
            sync();
        }),
    });
    for ((e, (ec, _)), x) in m.experts.iter().zip(&model.experts).zip(&imgs) {
        timed.push(PartTime {
            part: format!("{} forward + backward", ec.kind.as_str()),
            ms: time_ms(1, steps, || {
                let _ = e.forward(x.clone()).mean().backward();
                sync();
            }),
        });
    }
    let maps: Vec<Tensor<B, 4>> = m.experts.iter().zip(&imgs).map(|(e, x)| e.forward(x.clone()).detach()).collect();
    if let Some(f) = &m.fusion {
        timed.push(PartTime {
            part: format!("fusion {} + projector, forward + backward", model.fusion),
            ms: time_ms(1, steps, || {
                let leaves: Vec<Tensor<B, 4>> = maps.iter().map(|t| t.clone().require_grad()).collect();
                let _ = f.forward(leaves, m.query_view).mean().backward();
                sync();
            }),
        });
    }
    let [b, t] = ids.dims();
    let visual_tokens = model.visual_tokens();
    let embeds = Tensor::<B, 3>::random([b, visual_tokens + t, model.lm.dim], Distribution::Normal(0.0, 1.0), device);
    timed.push(PartTime {
        part: "LM forward + backward".into(),
        ms: time_ms(1, steps, || {
            let _ = m.decode(embeds.clone().require_grad(), None).mean().backward();
            sync();
        }),
    });
    Ok(BenchResult {
        step_ms,
        step_fastest_ms,
        steps: deltas.len(),
        params_total,
        params_trainable,
        parts: timed,
        shapes,
        loss_first_last,
        first_step_seconds,
        kernels_compiled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_lists() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn bench_times_every_part_at_smoke_scale() {
        type B = burn::backend::Autodiff<burn::backend::Flex>;
        let r = bench::<B>(Scale::Smoke, 3, 1, true, &Default::default()).unwrap();
        assert_eq!(r.steps, 3);
        assert!(r.step_ms > 0.0 && r.samples_per_second() > 0.0);
        assert!(r.step_fastest_ms > 0.0 && r.step_fastest_ms <= r.step_ms);
        let names: Vec<&str> = r.parts.iter().map(|p| p.part.as_str()).collect();
        assert_eq!(names.len(), 6, "{names:?}");
        assert!(
            names.iter().any(|n| n.starts_with("clip")) && names.iter().any(|n| n.starts_with("convnext")),
            "{names:?}"
        );
        assert!(r.parts.iter().all(|p| p.ms > 0.0));
        assert!(r.params_trainable <= r.params_total && r.params_trainable > 0);
        assert_eq!(r.shapes.experts.len(), 2);
    }
}
