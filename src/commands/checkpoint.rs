//! `eyrie checkpoint forward`: a checkpoint folder run on named inputs, its outputs written.

use crate::cli::{BackendArg, CheckpointAction};
use anyhow::Result;
use eyrie::backend::{run_on, BackendJob};
use eyrie::checkpoint::forward::{forward, load_model, read_named, write_named, ForwardError};
use eyrie::checkpoint::CheckpointFolder;
use eyrie::spec::Precision;
use std::path::PathBuf;

/// Runs the checkpoint action.
pub fn cmd_checkpoint(action: CheckpointAction) -> Result<()> {
    let CheckpointAction::Forward { dir, inputs, out, backend } = action;
    let backend = BackendArg::or_default(backend);
    let folder = CheckpointFolder::open(&dir)?;
    let named = read_named(&inputs)?;
    let job = ForwardJob { folder, inputs: named, out: out.clone() };
    let written = run_on(backend.kind, backend.index, Precision::F32, job)??;
    println!("wrote {} ({})", out.display(), written.join(", "));
    Ok(())
}

struct ForwardJob {
    folder: CheckpointFolder,
    inputs: eyrie::checkpoint::forward::Named,
    out: PathBuf,
}

impl BackendJob for ForwardJob {
    type Output = Result<Vec<String>, ForwardError>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device, _backend: String) -> Self::Output {
        // Inference only: the inner backend, no autodiff graph.
        let model = load_model::<B::InnerBackend>(&self.folder, &device)?;
        let outputs = forward(&model, &self.inputs, &device)?;
        write_named(&self.out, &outputs)?;
        Ok(outputs.keys().cloned().collect())
    }
}
