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
    /// The device, e.g. `CPU, 2 threads` or `cuda:0`.
    #[serde(default)]
    pub device: String,
    /// Stage computations run at once.
    pub workers: usize,
    /// Wall seconds of the run.
    pub wall_seconds: f64,
    /// Stages computed / found cached.
    pub stages_computed: usize,
    /// Stages found cached.
    pub stages_cached: usize,
    /// True from the run's start until it finishes: a killed or failed run leaves it set.
    #[serde(default)]
    pub unfinished: bool,
}

impl RunRecord {
    /// The record of a run that has just started (nothing computed yet, marked unfinished).
    pub fn started(command: String, commit: String, backend: String, device: String, workers: usize) -> Self {
        RunRecord {
            command,
            commit,
            backend,
            device,
            workers,
            wall_seconds: 0.0,
            stages_computed: 0,
            stages_cached: 0,
            unfinished: true,
        }
    }

    /// This record once its run has finished: its wall time and stage counts, no longer unfinished.
    pub fn finished(self, wall_seconds: f64, stages_computed: usize, stages_cached: usize) -> Self {
        RunRecord { wall_seconds, stages_computed, stages_cached, unfinished: false, ..self }
    }

    fn on(&self) -> String {
        if self.device.is_empty() {
            format!("backend `{}`", self.backend)
        } else {
            format!("backend `{}` ({})", self.backend, self.device)
        }
    }

    /// One line for a report.
    pub fn markdown(&self) -> String {
        if self.unfinished {
            return format!(
                "Started by `{}` at commit `{}` on {} with {} worker(s); that run did not finish (killed or \
                    failed), so its wall time is not known. Cells done are listed below; rerunning the command \
                        resumes the rest.",
                self.command,
                self.commit,
                self.on(),
                self.workers
            );
        }
        format!(
            "Produced by `{}` at commit `{}` on {} with {} worker(s): {} stages computed, {} cached, in {}.",
            self.command,
            self.commit,
            self.on(),
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

/// The stored record of `experiment`: `None` if there is none, an error if it is corrupt.
pub fn read(store: &Store, experiment: &str) -> Result<Option<RunRecord>, crate::store::ReadError> {
    crate::store::read_json(&path(store, experiment))
}

/// The cells' summed stage time by stage kind: what the results cost to compute (shared stages
/// counted once per cell that used them, as each cell records its chain).
pub fn cost_line(results: &[crate::store::CellResult]) -> String {
    let train: f64 = results.iter().map(|r| r.train_seconds).sum();
    format!(
        "Cells' own training (alignment + SFT) summed over {} cell × seed rows: {}.\n\n",
        results.len(),
        crate::plan::cost::human_duration(train)
    )
}

/// Keeps a copy of the experiment file beside its results (`results/<experiment>/spec.toml`), so a
/// report shows the spec that ran even after the file is edited.
pub fn store_spec(store: &Store, experiment: &str, file: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(store.experiment_dir(experiment))?;
    std::fs::copy(file, store.experiment_dir(experiment).join("spec.toml")).map(|_| ())
}

/// The experiment file that ran (the stored copy, else the file as it is now), folded, with its path.
pub fn spec_block(spec: &crate::spec::Spec, store: &Store) -> String {
    let stored = std::fs::read_to_string(store.experiment_dir(&spec.name).join("spec.toml")).ok();
    let text = stored.unwrap_or_else(|| std::fs::read_to_string(&spec.file).unwrap_or_default());
    let mut out = format!(
        "The spec, `{}` ({} cells × {} seed(s){}):\n\n",
        spec.file.display(),
        spec.cells.len(),
        spec.seeds.len(),
        if spec.blind_baseline { " + the blind baseline" } else { "" }
    );
    if !text.is_empty() {
        out.push_str(&format!(
            "<details><summary>{}</summary>\n\n```toml\n{}\n```\n\n</details>\n\n",
            spec.file.display(),
            text.trim_end()
        ));
    }
    out
}

/// The device a backend computes on, in words: `CPU, N threads` or `<backend>:<index>`.
pub fn device_words(backend: crate::spec::BackendKind, index: usize) -> String {
    use crate::spec::BackendKind;
    match backend {
        BackendKind::Flex | BackendKind::Ndarray => {
            format!("CPU, {} threads", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        }
        other => format!("{other}:{index}"),
    }
}
