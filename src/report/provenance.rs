//! What produced an experiment's results: the command, the code's commit, the backend and the wall
//! time, stored beside the results (`results/<experiment>/run.json`) so reports can cite them.

use crate::store::Store;
use serde::{Deserialize, Serialize};

/// The last `eyrie run` of an experiment that computed anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The command line, as typed.
    pub command: String,
    /// `git rev-parse --short HEAD` of the code that ran (`-dirty` with uncommitted changes), or `unknown`.
    pub commit: String,
    /// Backend and device, e.g. `flex`.
    pub backend: String,
    /// Stage computations run at once.
    pub workers: usize,
    /// Wall seconds of the run.
    pub wall_seconds: f64,
    /// Stages computed / found cached.
    pub stages_computed: usize,
    /// Stages found cached.
    pub stages_cached: usize,
}

impl RunRecord {
    /// One line for a report.
    pub fn markdown(&self) -> String {
        format!(
            "Produced by `{}` at commit `{}` on backend `{}` with {} worker(s): {} stages computed, {} cached, in {}.",
            self.command,
            self.commit,
            self.backend,
            self.workers,
            self.stages_computed,
            self.stages_cached,
            crate::plan::cost::human_duration(self.wall_seconds)
        )
    }
}

fn path(store: &Store, experiment: &str) -> std::path::PathBuf {
    store.experiment_dir(experiment).join("run.json")
}

/// Stores `record` for `experiment`.
pub fn write(store: &Store, experiment: &str, record: &RunRecord) -> std::io::Result<()> {
    std::fs::create_dir_all(store.experiment_dir(experiment))?;
    std::fs::write(path(store, experiment), serde_json::to_string_pretty(record).expect("run record serialises"))
}

/// The stored record of `experiment`, if any.
pub fn read(store: &Store, experiment: &str) -> Option<RunRecord> {
    serde_json::from_str(&std::fs::read_to_string(path(store, experiment)).ok()?).ok()
}
