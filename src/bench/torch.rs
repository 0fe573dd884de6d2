//! Runs the PyTorch reference (`bench/torch_reference.py`) on the bench cell's shapes, in the same
//! run, so the two are timed side by side on the same machine state.

use super::record::TorchResult;
use super::BenchShapes;
use crate::spec::Precision;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Why the reference could not run.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// `python3 -c "import torch"` fails.
    #[error(
        "PyTorch is not importable by python3 here ({0}); install it (pip install torch) or leave out --against-torch"
    )]
    Missing(String),
    /// The script failed.
    #[error("the PyTorch reference failed: {0}")]
    Failed(String),
}

/// Whether `python3` can import torch (the reason when not).
pub fn available() -> Result<(), TorchError> {
    let out = Command::new("python3")
        .args(["-c", "import torch"])
        .output()
        .map_err(|e| TorchError::Missing(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TorchError::Missing(
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("import failed").to_string(),
        ))
    }
}

/// Runs `script` with the shapes on stdin; it prints one JSON [`TorchResult`].
/// `device` is `cpu` or `cuda` (the reference then times with `torch.cuda.synchronize`).
/// `precision` is the float type of the model and batch (the whole network cast, as Eyrie's is).
pub fn run(
    script: &Path,
    shapes: &BenchShapes,
    steps: usize,
    warmup: usize,
    threads: usize,
    device: &str,
    precision: Precision,
) -> Result<TorchResult, TorchError> {
    available()?;
    let dtype = match precision {
        Precision::F32 => "float32",
        Precision::Bf16 => "bfloat16",
        Precision::F16 => "float16",
    };
    let input = serde_json::json!({
        "shapes": shapes,
        "steps": steps,
        "warmup": warmup,
        "threads": threads,
        "device": device,
        "dtype": dtype,
    });
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| TorchError::Failed(e.to_string()))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.to_string().as_bytes())
        .map_err(|e| TorchError::Failed(e.to_string()))?;
    let out = child.wait_with_output().map_err(|e| TorchError::Failed(e.to_string()))?;
    if !out.status.success() {
        return Err(TorchError::Failed(String::from_utf8_lossy(&out.stderr).to_string()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).map_err(|e| TorchError::Failed(format!("unreadable output ({e}): {text}")))
}
