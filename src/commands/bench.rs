//! `eyrie bench`: time one representative cell's training step (and the PyTorch reference).

use super::{BadArgument, Provenance};
use crate::cli::{BackendArg, BenchArgs};
use anyhow::{Context, Result};
use eyrie::backend::{run_on, BackendJob};
use eyrie::report::provenance::device_words;
use eyrie::spec::{BackendKind, Scale};
use std::path::Path;

/// Times the bench cell on the chosen backend and appends the run to `<out>/bench.json`.
pub fn cmd_bench(args: BenchArgs, who: &Provenance) -> Result<()> {
    let BenchArgs { scale, steps, warmup, against_torch, step_only, backend, precision, out } = args;
    let BackendArg { kind, index } = BackendArg::or_default(backend);
    if steps == 0 {
        return Err(BadArgument("--steps must be at least 1".into()).into());
    }
    if against_torch {
        eyrie::bench::torch::available()?;
    }
    eprintln!(
        "timing the bench cell (clip + convnext, channel concat, unlocked) at scale {scale} on {kind}: \
         {warmup} + {steps} steps{}",
        if step_only { "" } else { ", then each part" }
    );
    let result = run_on(kind, index, precision, BenchJob { scale, steps, warmup, parts: !step_only })??;
    let torch = if against_torch {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        eprintln!("timing the PyTorch reference on the same shapes ({threads} threads)");
        let torch_device = if matches!(kind, BackendKind::Cuda | BackendKind::CudaUnfused) { "cuda" } else { "cpu" };
        let t = eyrie::bench::torch::run(
            Path::new("bench/torch_reference.py"),
            &result.shapes,
            steps,
            warmup,
            threads,
            torch_device,
            precision,
        )?;
        if t.params_total != result.params_total {
            eprintln!(
                "warning: the reference has {} parameters, Eyrie's cell {}: they do not compute the same network",
                t.params_total, result.params_total
            );
        }
        Some(t)
    } else {
        None
    };
    let ctx = eyrie::bench::record::RunContext {
        backend: kind.to_string(),
        device: device_words(kind, index),
        scale: scale.to_string(),
        command: who.command.clone(),
        commit: who.commit.clone(),
        date: eyrie::bench::record::today(),
    };
    let mut run = eyrie::bench::record::BenchRun::new(&result, torch.as_ref(), ctx);
    run.precision = precision;
    if let (Some(f), Some(t)) = (run.flops_per_step, run.torch_flops_per_step) {
        if (f - t).abs() > 0.01 * t {
            eprintln!(
                "warning: Eyrie's cell counts {:.3} GFLOP per step, the reference {:.3}: \
                 they do not compute the same network",
                f / 1e9,
                t / 1e9
            );
        }
    }
    println!("{}", run.table());
    let path = out.join("bench.json");
    eyrie::bench::record::append(&path, run).with_context(|| format!("writing {}", path.display()))?;
    println!("appended to {}", path.display());
    Ok(())
}

/// The bench, on whichever backend is chosen.
struct BenchJob {
    scale: Scale,
    steps: usize,
    warmup: usize,
    parts: bool,
}

impl BackendJob for BenchJob {
    type Output = Result<eyrie::bench::BenchResult, eyrie::train::Divergence>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device, _backend: String) -> Self::Output {
        eyrie::bench::bench::<B>(self.scale, self.steps, self.warmup, self.parts, &device)
    }
}
