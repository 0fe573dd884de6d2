//! What produced an experiment's results: the command, the code's commit, the backend and the wall
//! time, stored beside the results (`results/<experiment>/run.json`) so reports can cite them.

use crate::store::atomic::{copy_file, create_dir_all, FileError};
use crate::store::{ReadError, Store};
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
    /// The command that closed this record after its run stopped past its last stage without closing
    /// it (every stage and cell of its plan was done); None when the run closed it itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    /// What the run set out to compute: [`plan_digest`] of its plan (for a greedy search, of its
    /// worst-case plan). None in records written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// A content id of the cells of `plan` (their ids, sorted): two plans with the same cells have the
/// same digest, so a run record can be matched to the stored plan it set out to compute.
pub fn plan_digest(plan: &crate::plan::Plan) -> String {
    let mut ids: Vec<&str> = plan.cells.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    crate::plan::ids::content_id(&(plan.experiment.as_str(), ids))
}

impl RunRecord {
    /// The record of a run that has just started (nothing computed yet, marked unfinished), of no
    /// known plan until [`RunRecord::of_plan`].
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
            closed_by: None,
            plan: None,
        }
    }

    /// This record, of the run that sets out to compute the plan of digest `plan` ([`plan_digest`]).
    pub fn of_plan(self, plan: String) -> Self {
        RunRecord { plan: Some(plan), ..self }
    }

    /// Whether this record's run set out to compute exactly `plan` (false when it did not record its plan).
    pub fn is_of(&self, plan: &crate::plan::Plan) -> bool {
        self.plan.as_deref() == Some(plan_digest(plan).as_str())
    }

    /// This record once its run has finished: its wall time and stage counts, no longer unfinished.
    pub fn finished(self, wall_seconds: f64, stages_computed: usize, stages_cached: usize) -> Self {
        RunRecord { wall_seconds, stages_computed, stages_cached, unfinished: false, ..self }
    }

    /// This unfinished record closed by `command`, a later run that found every stage and cell of its
    /// plan done: finished, its wall time and stage counts not known.
    pub fn closed(self, command: String) -> Self {
        RunRecord { unfinished: false, closed_by: Some(command), ..self }
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

    /// One line for a report. `plan_done`: every stage and cell of the stored plan is done (so an
    /// unfinished record's run did finish its work and stopped before closing its record).
    pub fn markdown(&self, plan_done: bool) -> String {
        if self.unfinished && plan_done {
            return format!(
                "Started by `{}` at {} on {} with {} worker(s); it finished (every stage and cell of its plan is \
                    done) but its record was not closed: the process stopped after its last stage, so its wall \
                    time and stage counts are not known. Rerunning the command closes the record (nothing left to \
                    compute).",
                self.command,
                self.at(),
                self.on(),
                self.workers
            );
        }
        if let Some(closer) = &self.closed_by {
            return format!(
                "Produced by `{}` at {} on {} with {} worker(s); it finished, but its process stopped after its \
                    last stage without closing its record, which `{closer}` closed on finding every stage and cell \
                    done, so its wall time and stage counts are not known.",
                self.command,
                self.at(),
                self.on(),
                self.workers
            );
        }
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

/// Stores `record` for `experiment` (atomically: a killed writer leaves the old record or the new one).
pub fn write(store: &Store, experiment: &str, record: &RunRecord) -> std::io::Result<()> {
    crate::store::write_atomic(
        &path(store, experiment),
        serde_json::to_string_pretty(record).expect("run record serialises").as_bytes(),
    )
}

/// Closes `experiment`'s stored record if it is unfinished and its run set out to compute the plan of
/// digest `plan` ([`plan_digest`]), naming `command` as the closer; call it only when every stage and
/// cell of that plan is done. Returns whether it closed one (an error if the record is corrupt or
/// cannot be written). A record of another plan (another scale, other cells) or of no recorded plan
/// is left as it is.
pub fn close_if_unfinished(store: &Store, experiment: &str, plan: &str, command: &str) -> Result<bool, CloseError> {
    match read(store, experiment)? {
        Some(record) if record.unfinished && record.plan.as_deref() == Some(plan) => {
            write(store, experiment, &record.closed(command.to_string()))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Closing a run record failed.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// The stored record is unreadable or corrupt.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the closed record failed (the error names the file).
    #[error(transparent)]
    Write(#[from] std::io::Error),
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
pub fn store_spec(store: &Store, experiment: &str, file: &std::path::Path) -> Result<(), FileError> {
    create_dir_all(&store.experiment_dir(experiment))?;
    copy_file(file, &store.experiment_dir(experiment).join("spec.toml"))
}

/// The copy of the experiment file kept beside its results: `None` if there is none, an error naming
/// it if it cannot be read.
pub fn stored_spec(store: &Store, experiment: &str) -> Result<Option<String>, ReadError> {
    crate::store::read::read_text(&store.experiment_dir(experiment).join("spec.toml"))
}

/// The experiment file that ran (the stored copy, else the file as it is now), folded, with its path;
/// an error naming the file if one exists but cannot be read.
pub fn spec_block(spec: &crate::spec::Spec, store: &Store) -> Result<String, ReadError> {
    let text = match stored_spec(store, &spec.name)? {
        Some(text) => text,
        None => crate::store::read::read_text(&spec.file)?.unwrap_or_default(),
    };
    let seeds = match spec.adaptive {
        Some(a) => format!("{} to {} adaptive seeds", a.min, a.max),
        None => format!("{} seed(s)", spec.seeds.len()),
    };
    let mut out = format!(
        "The spec, `{}` ({} cells × {seeds}{}):\n\n",
        spec.file.display(),
        spec.cells.len(),
        if spec.blind_baseline { " + the blind baseline" } else { "" }
    );
    if !text.is_empty() {
        out.push_str(&format!(
            "<details><summary>{}</summary>\n\n```toml\n{}\n```\n\n</details>\n\n",
            spec.file.display(),
            text.trim_end()
        ));
    }
    Ok(out)
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
            done.markdown(false).contains(&format!("at commit `abc1234` (world schema {schema}) on")),
            "{}",
            done.markdown(false)
        );
        let text = serde_json::to_string(&done).unwrap();
        assert_eq!(serde_json::from_str::<RunRecord>(&text).unwrap(), done);
        // The committed fusion run's record predates the field: it reads, schema not recorded.
        let old = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/results/fusion/run.json")).unwrap();
        let old: RunRecord = serde_json::from_str(&old).unwrap();
        assert_eq!((old.schema, old.commit.as_str()), (None, "ad4ff5b"));
        assert!(old.markdown(false).contains("at commit `ad4ff5b` on"), "{}", old.markdown(false));
    }

    fn started() -> RunRecord {
        RunRecord::started("eyrie run q.toml".into(), "abc1234".into(), "flex".into(), String::new(), 2)
    }

    #[test]
    fn an_unfinished_record_of_a_plan_all_done_reads_as_finished_but_not_closed() {
        let killed = started();
        let midway = killed.markdown(false);
        assert!(midway.contains("did not finish") && !midway.contains("it finished"), "{midway}");
        let after_last_stage = killed.markdown(true);
        assert!(after_last_stage.contains("it finished"), "{after_last_stage}");
        assert!(after_last_stage.contains("its record was not closed"), "{after_last_stage}");
        assert!(!after_last_stage.contains("did not finish"), "{after_last_stage}");
        // A record its own run closed says what it did, whatever the plan.
        let done = started().finished(61.0, 3, 4);
        assert_eq!(done.markdown(true), done.markdown(false));
        assert!(done.markdown(true).contains("3 stages computed, 4 cached"));
    }

    #[test]
    fn a_later_run_closes_an_unfinished_record_of_its_plan_and_keeps_who_produced_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let close = |command: &str| close_if_unfinished(&store, "q", "plan-a", command).unwrap();
        assert!(!close("eyrie run again"), "no record: nothing to close");
        // A record of another plan (say, another scale), or of no recorded plan, is not this run's to close.
        for other in [started().of_plan("plan-b".into()), started()] {
            write(&store, "q", &other).unwrap();
            assert!(!close("eyrie run again"));
            assert_eq!(read(&store, "q").unwrap().unwrap(), other);
        }
        write(&store, "q", &started().of_plan("plan-a".into())).unwrap();
        assert!(close("eyrie run again"));
        let closed = read(&store, "q").unwrap().unwrap();
        assert!(!closed.unfinished);
        assert_eq!(
            (closed.command.as_str(), closed.closed_by.as_deref()),
            ("eyrie run q.toml", Some("eyrie run again"))
        );
        let text = closed.markdown(true);
        assert!(text.contains("Produced by `eyrie run q.toml`") && text.contains("`eyrie run again` closed"), "{text}");
        assert!(!close("a third"), "a closed record stays as it is");
        assert_eq!(read(&store, "q").unwrap().unwrap(), closed);
        // A record its own run finished is not touched.
        write(&store, "q", &started().of_plan("plan-a".into()).finished(1.0, 1, 0)).unwrap();
        assert!(!close("x"));
        // A corrupt one is an error naming it, not overwritten.
        std::fs::write(path(&store, "q"), "{").unwrap();
        let err = close_if_unfinished(&store, "q", "plan-a", "x").unwrap_err();
        assert!(err.to_string().contains("run.json"), "{err}");
        assert_eq!(std::fs::read_to_string(path(&store, "q")).unwrap(), "{");
    }

    #[test]
    fn a_plan_digest_is_of_its_cells() {
        let spec =
            crate::spec::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/smoke.toml")))
                .unwrap();
        let smoke = crate::plan::plan(&spec, crate::spec::Scale::Smoke);
        let proxy = crate::plan::plan(&spec, crate::spec::Scale::Proxy);
        let record = started().of_plan(plan_digest(&smoke));
        assert!(record.is_of(&smoke) && !record.is_of(&proxy));
        assert!(!started().is_of(&smoke), "a record of no recorded plan is of none");
        let mut reordered = smoke.clone();
        reordered.cells.reverse();
        assert!(record.is_of(&reordered), "the digest does not depend on the cells' order");
    }

    #[test]
    fn a_record_without_a_closer_is_written_as_before() {
        let text = serde_json::to_string(&started()).unwrap();
        assert!(!text.contains("closed_by") && !text.contains("\"plan\""), "{text}");
    }
}
