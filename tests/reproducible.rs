//! Bit-reproducible runs on `flex`: the same binary, spec and seed give the same checkpoint bytes,
//! losses and scores whatever the number of workers and of threads.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `eyrie` binary under test.
fn eyrie() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eyrie"))
}

/// Runs the smoke experiment into `dir/results` with `workers` workers on `threads` rayon threads.
fn run_smoke(dir: &Path, workers: usize, threads: usize) -> PathBuf {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/smoke.toml");
    let results = dir.join("results");
    let status = eyrie()
        .args(["run", spec.to_str().unwrap(), "--quiet", "--backend", "flex", "--workers", &workers.to_string()])
        .arg("--results")
        .arg(&results)
        .arg("--reports")
        .arg(dir.join("reports"))
        .env("RAYON_NUM_THREADS", threads.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "eyrie run --workers {workers} failed: {status}");
    results
}

/// Every file named `name` under `root/<sub>/*/`, by the folder it is in.
fn files(root: &Path, sub: &str, name: &str) -> BTreeMap<String, PathBuf> {
    std::fs::read_dir(root.join(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join(name).is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), p.join(name)))
        .collect()
}

/// Each logged step's (stage, step, loss) of a `metrics.jsonl`.
fn losses(path: &Path) -> Vec<(String, u64, f64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["stage"].as_str().unwrap().to_string(), v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap()))
        .collect()
}

/// A `result.json`'s scores.
fn scores(path: &Path) -> Value {
    serde_json::from_str::<Value>(&std::fs::read_to_string(path).unwrap()).unwrap()["scores"].clone()
}

#[test]
fn one_worker_on_one_thread_and_two_on_two_give_identical_checkpoints_losses_and_scores() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ra = run_smoke(a.path(), 1, 1);
    let rb = run_smoke(b.path(), 2, 2);

    let (ca, cb) = (files(&ra, "artifacts", "model.safetensors"), files(&rb, "artifacts", "model.safetensors"));
    assert!(!ca.is_empty(), "no checkpoint written");
    assert_eq!(ca.keys().collect::<Vec<_>>(), cb.keys().collect::<Vec<_>>(), "the same stages ran");
    let differing: Vec<&String> = ca
        .iter()
        .filter(|(id, p)| std::fs::read(p).unwrap() != std::fs::read(&cb[*id]).unwrap())
        .map(|(id, _)| id)
        .collect();
    assert!(differing.is_empty(), "checkpoints differ in {} of {} stages: {differing:?}", differing.len(), ca.len());

    let (ma, mb) = (files(&ra, "smoke/cells", "metrics.jsonl"), files(&rb, "smoke/cells", "metrics.jsonl"));
    assert!(!ma.is_empty(), "no loss log written");
    assert_eq!(ma.keys().collect::<Vec<_>>(), mb.keys().collect::<Vec<_>>(), "the same cells ran");
    for (cell, path) in &ma {
        assert_eq!(losses(path), losses(&mb[cell]), "losses of cell {cell}");
    }

    let (sa, sb) = (files(&ra, "smoke/cells", "result.json"), files(&rb, "smoke/cells", "result.json"));
    assert_eq!(sa.len(), ma.len(), "every cell has a result");
    for (cell, path) in &sa {
        assert_eq!(scores(path), scores(&sb[cell]), "scores of cell {cell}");
    }
}
