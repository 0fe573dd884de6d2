//! The results folder: artifacts by content id, cell records, atomic writes, claims.
//!
//! ```text
//! results/artifacts/<stage-id>/model.safetensors, meta.json (written last: the stage is done)
//! results/artifacts/<stage-id>.claim                        (a process is computing it)
//! results/<experiment>/plan.json
//! results/<experiment>/cells/<cell-id>/spec.json, metrics.jsonl, result.json (written last)
//! ```

pub mod atomic;
pub mod checkpoint;
pub mod claim;
pub mod integrity;
pub mod read;
pub mod records;
pub mod temps;

pub use atomic::{append_line, write_atomic};
pub use claim::{try_claim, Claim, ClaimResult};
pub use read::{read_json, ReadError};
pub use records::{CellResult, StageMeta};

use std::path::PathBuf;

/// A results folder.
#[derive(Debug, Clone)]
pub struct Store {
    /// Its root (default `results/`).
    pub root: PathBuf,
}

impl Store {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Folder of a stage's outputs.
    pub fn artifact_dir(&self, id: &str) -> PathBuf {
        self.root.join("artifacts").join(id)
    }

    /// A stage's checkpoint file.
    pub fn checkpoint(&self, id: &str) -> PathBuf {
        self.artifact_dir(id).join("model.safetensors")
    }

    /// A stage's metadata (its presence means the stage is done).
    pub fn meta_path(&self, id: &str) -> PathBuf {
        self.artifact_dir(id).join("meta.json")
    }

    /// Whether stage `id` is complete.
    pub fn is_done(&self, id: &str) -> bool {
        self.meta_path(id).exists()
    }

    /// The claim file of stage `id`.
    pub fn claim_path(&self, id: &str) -> PathBuf {
        self.root.join("artifacts").join(format!("{id}.claim"))
    }

    /// Where the reason of a stage's last failure is kept (removed when it succeeds).
    pub fn failure_path(&self, id: &str) -> PathBuf {
        self.root.join("artifacts").join(format!("{id}.failed"))
    }

    /// An experiment's folder.
    pub fn experiment_dir(&self, experiment: &str) -> PathBuf {
        self.root.join(experiment)
    }

    /// A cell's folder.
    pub fn cell_dir(&self, experiment: &str, cell: &str) -> PathBuf {
        self.experiment_dir(experiment).join("cells").join(cell)
    }

    /// Reads a stage's metadata: `None` if the stage is not done, an error if its record is corrupt.
    pub fn read_meta(&self, id: &str) -> Result<Option<StageMeta>, ReadError> {
        read_json(&self.meta_path(id))
    }

    /// Reads a cell's result: `None` if the cell is not done, an error if its record is corrupt.
    pub fn read_result(&self, experiment: &str, cell: &str) -> Result<Option<CellResult>, ReadError> {
        read_json(&self.cell_dir(experiment, cell).join("result.json"))
    }
}
