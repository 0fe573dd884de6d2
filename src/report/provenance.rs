//! What produced an experiment's results: the command, the code's commit, the backend and the wall
//! time, stored beside the results (`results/<experiment>/run.json`) so reports can cite them.

use crate::store::Store;
use serde::{Deserialize, Serialize};

/// The commit this code was built from: `git rev-parse --short HEAD`, `-dirty` with uncommitted
/// changes to tracked files, `unknown` outside git (set by build.rs).
pub const BUILD_COMMIT: &str = env!("EYRIE_BUILD_COMMIT");

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
    /// World schema of the code that ran ([`crate::plan::ids::SCHEMA_VERSION`]); None in records
    /// written before it was recorded.
    #[serde(default)]
    pub schema: Option<u32>,
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
            schema: Some(crate::plan::ids::SCHEMA_VERSION),
        }
    }

    /// This record once its run has finished: its wall time and stage counts, no longer unfinished.
    pub fn finished(self, wall_seconds: f64, stages_computed: usize, stages_cached: usize) -> Self {
        RunRecord { wall_seconds, stages_computed, stages_cached, unfinished: false, ..self }
    }

    /// `commit `x``, with ` (world schema N)` when recorded.
    fn at(&self) -> String {
        match self.schema {
            Some(v) => format!("commit `{}` (world schema {v})", self.commit),
            None => format!("commit `{}`", self.commit),
        }
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
                "Started by `{}` at {} on {} with {} worker(s); that run did not finish (killed or \
                    failed), so its wall time is not known. Cells done are listed below; rerunning the command \
                        resumes the rest.",
                self.command,
                self.at(),
                self.on(),
                self.workers
            );
        }
        format!(
            "Produced by `{}` at {} on {} with {} worker(s): {} stages computed, {} cached, in {}.",
            self.command,
            self.at(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_records_its_schema_and_an_old_record_reads_without_one() {
        let started = RunRecord::started("eyrie run x.toml".into(), "abc1234".into(), "flex".into(), String::new(), 2);
        assert_eq!(started.schema, Some(crate::plan::ids::SCHEMA_VERSION));
        let done = started.finished(61.0, 3, 4);
        let schema = crate::plan::ids::SCHEMA_VERSION;
        assert!(
            done.markdown().contains(&format!("at commit `abc1234` (world schema {schema}) on")),
            "{}",
            done.markdown()
        );
        let text = serde_json::to_string(&done).unwrap();
        assert_eq!(serde_json::from_str::<RunRecord>(&text).unwrap(), done);
        // The committed fusion run's record predates the field: it reads, schema not recorded.
        let old = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/results/fusion/run.json")).unwrap();
        let old: RunRecord = serde_json::from_str(&old).unwrap();
        assert_eq!((old.schema, old.commit.as_str()), (None, "ad4ff5b"));
        assert!(old.markdown().contains("at commit `ad4ff5b` on"), "{}", old.markdown());
    }
}
