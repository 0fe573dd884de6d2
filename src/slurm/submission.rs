//! A submission folder, `results/<experiment>/slurm/<id>/`: what was submitted (`submission.json`),
//! the plan its tasks take cells from (`plan.json`), the tasks (`tasks.json`), the experiment file
//! as submitted (`spec.toml`), the sbatch scripts and the jobs' logs.

use super::{at, SlurmError, SlurmOptions};
use crate::plan::Plan;
use crate::spec::{Precision, Scale};
use crate::store::{read_json, write_atomic, Store};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a submission's array computes and what its driver does after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Purpose {
    /// Cells of a grid; the driver writes the report.
    Grid,
    /// One round of a greedy search; the driver judges it and submits the next round.
    GreedyRound {
        /// The round (0: the start set).
        round: usize,
    },
}

/// One array task: one cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The array index.
    pub index: usize,
    /// The cell's id.
    pub cell: String,
    /// The cell's label.
    pub label: String,
    /// The cell's seed.
    pub seed: u64,
}

/// What was submitted, and how to run it again (`submission.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The folder's name: when, and what (`20261203-120501-grid`).
    pub id: String,
    /// The experiment.
    pub experiment: String,
    /// What it computes.
    pub purpose: Purpose,
    /// The scale of its plan.
    pub scale: Scale,
    /// The float type of its plan.
    pub precision: Precision,
    /// The backend as given to `--backend` (`flex`, `cuda:0`).
    pub backend: String,
    /// The results folder (absolute).
    pub results: PathBuf,
    /// The reports folder (absolute).
    pub reports: PathBuf,
    /// The working directory of the jobs (absolute): the submitter's, as the spec's relative paths are.
    pub workdir: PathBuf,
    /// The `eyrie` binary the jobs run (absolute; on a filesystem every node sees).
    pub eyrie: PathBuf,
    /// The job options.
    pub options: SlurmOptions,
    /// The array's job id, once submitted.
    #[serde(default)]
    pub array_job: Option<String>,
    /// The driver's job id, once submitted.
    #[serde(default)]
    pub driver_job: Option<String>,
}

impl Submission {
    /// Its job ids, array first.
    pub fn jobs(&self) -> Vec<String> {
        self.array_job.iter().chain(&self.driver_job).cloned().collect()
    }
}

/// The folder of every submission of `experiment`.
pub fn slurm_dir(store: &Store, experiment: &str) -> PathBuf {
    store.experiment_dir(experiment).join("slurm")
}

/// A submission's folder and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// `results/<experiment>/slurm/<id>/`.
    pub dir: PathBuf,
}

impl Folder {
    /// The folder at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Folder { dir: dir.into() }
    }

    /// `submission.json`.
    pub fn submission_path(&self) -> PathBuf {
        self.dir.join("submission.json")
    }
    /// `plan.json`.
    pub fn plan_path(&self) -> PathBuf {
        self.dir.join("plan.json")
    }
    /// `tasks.json`.
    pub fn tasks_path(&self) -> PathBuf {
        self.dir.join("tasks.json")
    }
    /// `spec.toml`, the experiment file as submitted.
    pub fn spec_path(&self) -> PathBuf {
        self.dir.join("spec.toml")
    }
    /// `array.sbatch`.
    pub fn array_script(&self) -> PathBuf {
        self.dir.join("array.sbatch")
    }
    /// `driver.sbatch`.
    pub fn driver_script(&self) -> PathBuf {
        self.dir.join("driver.sbatch")
    }
    /// `logs/`.
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// Writes `submission.json`.
    pub fn write_submission(&self, s: &Submission) -> Result<(), SlurmError> {
        write_json(&self.submission_path(), s)
    }
    /// Writes `plan.json`.
    pub fn write_plan(&self, p: &Plan) -> Result<(), SlurmError> {
        write_json(&self.plan_path(), p)
    }
    /// Writes `tasks.json`.
    pub fn write_tasks(&self, t: &[Task]) -> Result<(), SlurmError> {
        write_json(&self.tasks_path(), &t)
    }

    /// Reads `submission.json`.
    pub fn submission(&self) -> Result<Submission, SlurmError> {
        required(&self.submission_path())
    }
    /// Reads `plan.json`.
    pub fn plan(&self) -> Result<Plan, SlurmError> {
        required(&self.plan_path())
    }
    /// Reads `tasks.json`.
    pub fn tasks(&self) -> Result<Vec<Task>, SlurmError> {
        required(&self.tasks_path())
    }
}

fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), SlurmError> {
    let text = serde_json::to_string_pretty(value).expect("submission records serialize");
    write_atomic(path, text.as_bytes()).map_err(at(path))
}

fn required<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SlurmError> {
    read_json(path)?.ok_or_else(|| SlurmError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "missing"),
    })
}

/// Every submission folder of `experiment` holding a `submission.json`, oldest first (ids sort by time).
pub fn list(store: &Store, experiment: &str) -> Result<Vec<Folder>, SlurmError> {
    let dir = slurm_dir(store, experiment);
    let entries = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SlurmError::Io { path: dir, source: e }),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(at(&dir))?;
        let f = Folder::new(e.path());
        if f.submission_path().exists() {
            out.push(f);
        }
    }
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(out)
}

/// A new submission folder's id: the time (UTC, to the second), a counter if that id is taken, and
/// what it computes.
pub fn new_id(store: &Store, experiment: &str, purpose: Purpose) -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let day = crate::bench::record::civil_date(secs / 86_400).replace('-', "");
    let t = secs % 86_400;
    let now = format!("{day}-{:02}{:02}{:02}", t / 3600, t / 60 % 60, t % 60);
    let what = match purpose {
        Purpose::Grid => "grid".to_string(),
        Purpose::GreedyRound { round } => format!("round-{round}"),
    };
    let dir = slurm_dir(store, experiment);
    (0..)
        .map(|n| if n == 0 { format!("{now}-{what}") } else { format!("{now}.{n}-{what}") })
        .find(|id| !dir.join(id).exists())
        .expect("some id is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submissions_are_listed_oldest_first_and_new_ids_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(list(&store, "x").unwrap().is_empty(), "no folder: no submissions");
        let a = new_id(&store, "x", Purpose::Grid);
        std::fs::create_dir_all(slurm_dir(&store, "x").join(&a)).unwrap();
        let b = new_id(&store, "x", Purpose::Grid);
        assert_ne!(a, b);
        assert!(a.ends_with("-grid") && b.ends_with("-grid"), "{a} {b}");
        assert!(new_id(&store, "x", Purpose::GreedyRound { round: 2 }).ends_with("-round-2"));
    }
}
