//! The wgpu backend run for real (in CI on Mesa's software Vulkan device, llvmpipe): it starts every
//! stage from the same weights as flex, its losses follow flex's, and it counts the GPU kernels it
//! compiles. Built only with `--features wgpu`: `cargo test --release --features wgpu --test wgpu_backend`.
#![cfg(feature = "wgpu")]

mod common;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use eyrie::backend::{run_on, BackendJob};
use eyrie::data::{DataSpec, Pool, Split, Tokenizer};
use eyrie::model::lm::LmConfig;
use eyrie::spec::{BackendKind, Family, Precision};
use eyrie::train::pretrain::pretrain_lm;
use eyrie::train::{seeded_init, FitSettings, Silent};
use std::collections::BTreeMap;
use std::path::Path;

fn lm() -> LmConfig {
    LmConfig::new(Tokenizer::new().vocab_size(), 16, 1, 2)
}

/// The weights `seeded_init` gives on a backend, and the losses of a short LM pretraining from them.
struct InitAndTrain;

impl BackendJob for InitAndTrain {
    type Output = (Vec<Vec<f32>>, Vec<f64>);
    fn run<B: AutodiffBackend>(self, device: B::Device, _name: String) -> Self::Output {
        struct Collect(Vec<Vec<f32>>);
        impl<B: Backend> ModuleVisitor<B> for Collect {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
                self.0.push(p.val().into_data().convert::<f32>().to_vec().unwrap());
            }
        }
        let mut weights = Collect(Vec::new());
        seeded_init::<B, _>(&device, 7, &lm()).visit(&mut weights);
        let text = Pool::build(&DataSpec::new(5, Family::ALL.to_vec(), 3), Split::Train, 0, 64, &[]);
        let settings = FitSettings { log_every: 1, ..FitSettings::new(12, 1e-2) };
        let (_, log) = pretrain_lm::<B>(&lm(), &text, 16, &settings, 7, &device, &Silent).expect("no divergence");
        (weights.0, log.iter().map(|l| l.loss).collect())
    }
}

#[test]
fn wgpu_starts_from_flex_weights_and_follows_its_losses() {
    let (w_flex, loss_flex) = run_on(BackendKind::Flex, 0, Precision::F32, InitAndTrain).unwrap();
    let (w_wgpu, loss_wgpu) = run_on(BackendKind::Wgpu, 0, Precision::F32, InitAndTrain).expect("a wgpu device");
    assert_eq!(w_flex, w_wgpu, "the same seed gives the same weights on both backends");
    eprintln!("LM pretraining losses, flex vs wgpu: {loss_flex:?} vs {loss_wgpu:?}");
    for (step, (a, b)) in loss_flex.iter().zip(&loss_wgpu).enumerate() {
        // Same weights and data: only the order of floating-point sums differs.
        assert!((a - b).abs() <= 1e-3 * a.abs().max(1.0), "step {step}: flex {a} vs wgpu {b}");
    }
    let kernels = eyrie::kernels::compiled_so_far().expect("wgpu counts its compiled kernels");
    assert!(kernels > 0, "the wgpu run compiled kernels");
    eprintln!("GPU kernels compiled for LM pretraining on wgpu: {kernels}");
}

/// (first loss, last loss, metrics) of each done stage, by stage id.
fn stage_outcomes(results: &Path) -> BTreeMap<String, (String, f64, f64, serde_json::Value)> {
    common::done_stages(results)
        .into_iter()
        .map(|(id, meta)| {
            let m: serde_json::Value = serde_json::from_str(&meta).unwrap();
            let f = |k: &str| m[k].as_f64().unwrap_or(f64::NAN);
            (id, (m["label"].as_str().unwrap().to_string(), f("first_loss"), f("last_loss"), m["metrics"].clone()))
        })
        .collect()
}

#[test]
fn a_cell_runs_on_wgpu_through_the_cli_as_on_flex() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wgpu/one-cell.toml");
    let dir = tempfile::tempdir().unwrap();
    let run = |backend: &str| {
        let results = dir.path().join(backend);
        let out = common::eyrie()
            .args(["run", spec.to_str().unwrap(), "--backend", backend, "--results"])
            .arg(&results)
            .env("EYRIE_PROGRESS_SECONDS", "0")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{backend} run failed: {stderr}");
        (stage_outcomes(&results), stderr, results)
    };
    let (flex, _, _) = run("flex");
    let (wgpu, stderr, results) = run("wgpu");
    // The same stages (ids do not depend on the backend), each starting from the same weights.
    assert_eq!(flex.keys().collect::<Vec<_>>(), wgpu.keys().collect::<Vec<_>>());
    for (id, (label, first, last, _)) in &flex {
        let (_, w_first, w_last, _) = &wgpu[id];
        eprintln!("{label}: first loss {first:.5} / {w_first:.5}, last {last:.5} / {w_last:.5} (flex / wgpu)");
        if first.is_finite() {
            assert!((first - w_first).abs() <= 1e-3 * first.abs().max(1.0), "{label}: first loss {first} vs {w_first}");
            assert!((last - w_last).abs() <= 1e-3 * last.abs().max(1.0), "{label}: last loss {last} vs {w_last}");
        }
    }
    // The run says it compiled kernels, and where they are cached.
    let line = stderr.lines().find(|l| l.contains("GPU kernels compiled by this process")).unwrap_or_else(|| {
        panic!("the run reports its compiled kernels: {stderr}");
    });
    eprintln!("{line}");
    let count: usize = line.split_whitespace().next().unwrap().parse().unwrap();
    assert!(count > 0);
    assert!(results.join(".kernel-cache").is_dir(), "the kernel cache sits beside the results");
}
