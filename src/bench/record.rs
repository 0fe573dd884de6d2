//! `reports/bench/bench.json`: every bench run kept as a list (newest last), each with the backend,
//! device, step time, the PyTorch reference's step time where it ran beside it, and their ratio.

use super::{BenchResult, PartTime};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One part's time beside the reference's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartRow {
    /// What was timed.
    pub part: String,
    /// Median ms in Eyrie.
    pub ms: f64,
    /// Median ms in the PyTorch reference, where it has the part.
    pub torch_ms: Option<f64>,
}

/// One `eyrie bench` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRun {
    /// Backend, e.g. `flex`.
    pub backend: String,
    /// Device, e.g. `CPU, 2 threads`.
    pub device: String,
    /// Scale preset of the cell.
    pub scale: String,
    /// Median ms of one full training step.
    pub step_ms: f64,
    /// The fastest timed step (ms), for A/B comparisons on a shared machine (absent in older runs).
    #[serde(default)]
    pub step_fastest_ms: Option<f64>,
    /// Samples per second of the full step.
    pub samples_per_second: f64,
    /// The reference's median ms per step, where it ran beside this one.
    pub torch_step_ms: Option<f64>,
    /// The reference's fastest step (ms), where it ran.
    #[serde(default)]
    pub torch_step_fastest_ms: Option<f64>,
    /// torch_step_ms / step_ms: above 1 means faster than PyTorch.
    pub speed_ratio: Option<f64>,
    /// Parameters in the cell (and in the reference, which must match).
    pub params_total: usize,
    /// The reference's parameter count, where it ran.
    pub torch_params_total: Option<usize>,
    /// Float type of the step (f32 in runs recorded before precisions existed).
    #[serde(default)]
    pub precision: crate::spec::Precision,
    /// FLOPs of one step counted from the cell's shapes ([`super::flops::training_step`]).
    #[serde(default)]
    pub flops_per_step: Option<f64>,
    /// FLOPs of one step as the reference counted them while running (`FlopCounterMode`).
    #[serde(default)]
    pub torch_flops_per_step: Option<f64>,
    /// flops_per_step over the median step time, in TFLOP/s.
    #[serde(default)]
    pub tflops: Option<f64>,
    /// Mean loss of the first and the last three steps of the timed training run.
    #[serde(default)]
    pub loss_first_last: Option<(f64, f64)>,
    /// Seconds until the first step finished (kernel compilation on a GPU).
    #[serde(default)]
    pub first_step_seconds: Option<f64>,
    /// GPU kernels compiled by the end of the training steps (cubecl backends; absent on the CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernels_compiled: Option<usize>,
    /// Each part.
    pub parts: Vec<PartRow>,
    /// The cell's shapes.
    pub shapes: super::BenchShapes,
    /// The command line.
    pub command: String,
    /// The code's commit.
    pub commit: String,
    /// UTC date, YYYY-MM-DD.
    pub date: String,
}

/// What the PyTorch reference measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorchResult {
    /// Median ms per full step.
    pub step_ms: f64,
    /// The fastest timed step (ms).
    #[serde(default)]
    pub step_fastest_ms: Option<f64>,
    /// Parameters of its model.
    pub params_total: usize,
    /// Its parts, named as Eyrie's.
    pub parts: Vec<PartTime>,
    /// torch version and threads, e.g. `torch 2.5.1, 2 threads`.
    pub runtime: String,
    /// FLOPs of one forward + loss + backward, counted by `FlopCounterMode` (absent in old scripts).
    #[serde(default)]
    pub flops_per_step: Option<f64>,
}

/// Where and how a bench ran: what a record says besides the times.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The backend's name, e.g. `flex`.
    pub backend: String,
    /// The device in words, e.g. `CPU (2 cores)`.
    pub device: String,
    /// The scale of the bench cell.
    pub scale: String,
    /// The command line.
    pub command: String,
    /// The code's commit.
    pub commit: String,
    /// The date, `YYYY-MM-DD`.
    pub date: String,
}

impl BenchRun {
    /// Combines Eyrie's measurement with the reference's (if it ran).
    pub fn new(r: &BenchResult, torch: Option<&TorchResult>, ctx: RunContext) -> Self {
        let RunContext { backend, device, scale, command, commit, date } = ctx;
        let flops = super::flops::training_step(&r.shapes);
        let parts = r
            .parts
            .iter()
            .map(|p| PartRow {
                part: p.part.clone(),
                ms: p.ms,
                torch_ms: torch.and_then(|t| t.parts.iter().find(|q| q.part == p.part).map(|q| q.ms)),
            })
            .collect();
        BenchRun {
            backend,
            device,
            scale,
            step_ms: r.step_ms,
            step_fastest_ms: Some(r.step_fastest_ms),
            samples_per_second: r.samples_per_second(),
            torch_step_ms: torch.map(|t| t.step_ms),
            torch_step_fastest_ms: torch.and_then(|t| t.step_fastest_ms),
            speed_ratio: torch.map(|t| t.step_ms / r.step_ms),
            params_total: r.params_total,
            torch_params_total: torch.map(|t| t.params_total),
            precision: Default::default(),
            flops_per_step: Some(flops),
            torch_flops_per_step: torch.and_then(|t| t.flops_per_step),
            tflops: Some(flops / r.step_ms / 1e9),
            loss_first_last: Some(r.loss_first_last),
            first_step_seconds: Some(r.first_step_seconds),
            kernels_compiled: r.kernels_compiled,
            parts,
            shapes: r.shapes.clone(),
            command,
            commit,
            date,
        }
    }

    /// The table printed after a run.
    pub fn table(&self) -> String {
        let torch = self.torch_step_ms.is_some();
        let mut out = String::from(if torch {
            "| part | eyrie ms | torch ms | speed ratio |\n|---|---:|---:|---:|\n"
        } else {
            "| part | eyrie ms |\n|---|---:|\n"
        });
        let row = |name: &str, ms: f64, t: Option<f64>| match (torch, t) {
            (true, Some(t)) => format!("| {name} | {ms:.1} | {t:.1} | {:.2} |\n", t / ms),
            (true, None) => format!("| {name} | {ms:.1} | – | – |\n"),
            _ => format!("| {name} | {ms:.1} |\n"),
        };
        out.push_str(&row("**full training step**", self.step_ms, self.torch_step_ms));
        for p in &self.parts {
            out.push_str(&row(&p.part, p.ms, p.torch_ms));
        }
        match (self.step_fastest_ms, self.torch_step_fastest_ms) {
            (Some(f), Some(t)) => {
                out.push_str(&format!("\nfastest step: {f:.1} ms, torch {t:.1} ms (ratio {:.2})\n", t / f))
            }
            (Some(f), None) => out.push_str(&format!("\nfastest step: {f:.1} ms\n")),
            _ => {}
        }
        out.push_str(&format!(
            "\n{} on {}: {:.1} steps/s, {:.0} samples/s (batch {}), {} parameters{}\n",
            self.backend,
            self.device,
            1000.0 / self.step_ms,
            self.samples_per_second,
            self.shapes.batch,
            self.params_total,
            self.torch_params_total.map(|t| format!(" (reference: {t})")).unwrap_or_default()
        ));
        if let (Some(f), Some(t)) = (self.flops_per_step, self.tflops) {
            let reference = self
                .torch_flops_per_step
                .map(|r| format!(" (reference counted {:.3} GFLOP)", r / 1e9))
                .unwrap_or_default();
            out.push_str(&format!("{:.3} GFLOP per step{reference}: {t:.2} TFLOP/s in {}\n", f / 1e9, self.precision));
        }
        if let Some((first, last)) = self.loss_first_last {
            out.push_str(&format!("training loss {first:.3} → {last:.3} over the run's steps\n"));
        }
        if let Some(s) = self.first_step_seconds {
            out.push_str(&format!("first step done after {s:.1} s (on a GPU: mostly compiling kernels)\n"));
        }
        if let Some(k) = self.kernels_compiled {
            out.push_str(&format!("GPU kernels compiled by the end of the training steps: {k}\n"));
        }
        out
    }
}

/// The bench history could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The stored history exists but cannot be read or parsed (it is left as it is).
    #[error(transparent)]
    Read(#[from] crate::store::ReadError),
    /// The history could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The runs stored in `path` (empty when absent; an error when present but unreadable or corrupt).
pub fn read(path: &Path) -> Result<Vec<BenchRun>, crate::store::ReadError> {
    Ok(crate::store::read_json(path)?.unwrap_or_default())
}

/// Appends `run` to the list in `path`; a corrupt history is refused, never overwritten.
pub fn append(path: &Path, run: BenchRun) -> Result<(), HistoryError> {
    let mut runs = read(path)?;
    runs.push(run);
    let write_error = |source| HistoryError::Write { path: path.to_path_buf(), source };
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(write_error)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&runs).expect("bench runs serialise")).map_err(write_error)
}

/// Today's UTC date as YYYY-MM-DD (civil-from-days, no time-zone database needed).
pub fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    civil_date(secs / 86_400)
}

/// The date `days` after 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(20_783), "2026-11-26");
    }

    #[test]
    fn runs_append_and_the_ratio_is_torch_over_eyrie() {
        let r = BenchResult {
            step_ms: 200.0,
            step_fastest_ms: 190.0,
            steps: 3,
            params_total: 10,
            params_trainable: 8,
            parts: vec![
                PartTime { part: "LM forward + backward".into(), ms: 50.0 },
                PartTime { part: "batch (images + tokens)".into(), ms: 5.0 },
            ],
            shapes: super::super::BenchShapes {
                batch: 32,
                experts: vec![],
                fusion: "channel-concat".into(),
                grid: 8,
                lm: (64, 2, 4, 100),
                text_len: 20,
                visual_tokens: 64,
                lr: (1e-3, 0.1),
            },
            loss_first_last: (4.0, 3.0),
            first_step_seconds: 0.5,
            kernels_compiled: None,
        };
        let t = TorchResult {
            step_ms: 100.0,
            step_fastest_ms: Some(95.0),
            params_total: 10,
            parts: vec![PartTime { part: "LM forward + backward".into(), ms: 25.0 }],
            runtime: "torch".into(),
            flops_per_step: None,
        };
        let ctx = RunContext {
            backend: "flex".into(),
            device: "CPU".into(),
            scale: "proxy".into(),
            command: "eyrie bench".into(),
            commit: "abc".into(),
            date: "2026-11-26".into(),
        };
        let run = BenchRun::new(&r, Some(&t), ctx);
        assert_eq!(run.speed_ratio, Some(0.5));
        assert_eq!(run.parts[0].torch_ms, Some(25.0));
        assert_eq!(run.parts[1].torch_ms, None);
        assert_eq!(run.samples_per_second, 160.0);
        let table = run.table();
        assert!(
            table.contains("| **full training step** | 200.0 | 100.0 | 0.50 |")
                && table.contains("| batch (images + tokens) | 5.0 | – | – |"),
            "{table}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench/bench.json");
        append(&path, run.clone()).unwrap();
        append(&path, run.clone()).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1], run);
        // A damaged history is refused, and left as it was (not replaced by a one-run list).
        std::fs::write(&path, "[{\"backend\": ").unwrap();
        let err = append(&path, run.clone()).unwrap_err().to_string();
        assert!(err.contains("bench.json"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[{\"backend\": ");
    }
}
