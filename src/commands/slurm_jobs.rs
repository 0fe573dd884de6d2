//! What the Slurm jobs run: `eyrie slurm-task` (one array task: one cell, its stages claimed through
//! the store like a local worker's) and `eyrie slurm-driver` (after the array: the report, or the
//! greedy search's next round).

use super::slurm::{greedy_step, Step};
use super::{warn_corrupt, Provenance};
use crate::cli::parse_backend;
use anyhow::{bail, Context, Result};
use eyrie::backend::{run_on, BackendJob};
use eyrie::exec::{run_cells, RunOptions, RunSummary};
use eyrie::plan::Plan;
use eyrie::report::options::ReportOptions;
use eyrie::report::provenance;
use eyrie::slurm::submission::Folder;
use eyrie::slurm::task_plan::only_cells;
use eyrie::slurm::{Purpose, SlurmError};
use eyrie::store::Store;
use std::path::Path;

/// Runs array task `index` (default `SLURM_ARRAY_TASK_ID`) of the submission in `dir`: its cell's
/// stages not done yet (waiting on those another task holds, taking over those whose holder died),
/// then the cell's record. Exits non-zero if the cell failed.
pub fn cmd_slurm_task(dir: &Path, index: Option<usize>) -> Result<()> {
    let folder = Folder::new(dir);
    let s = folder.submission()?;
    let index = match index {
        Some(i) => i,
        None => std::env::var("SLURM_ARRAY_TASK_ID")
            .context("SLURM_ARRAY_TASK_ID is not set (not a Slurm array task): give --index")?
            .parse()
            .context("SLURM_ARRAY_TASK_ID is not a number")?,
    };
    let tasks = folder.tasks()?;
    let task = tasks.get(index).ok_or(SlurmError::NoSuchTask { dir: dir.to_path_buf(), index, count: tasks.len() })?;
    let plan = folder.plan()?;
    let part = only_cells(&plan, std::slice::from_ref(&task.cell))
        .with_context(|| format!("cell {} is not in {}", task.cell, folder.plan_path().display()))?;
    let backend = parse_backend(&s.backend).map_err(anyhow::Error::msg)?;
    // Slurm gives the task its CPUs; without task affinity every core of the node is visible.
    let workers = std::env::var("SLURM_CPUS_PER_TASK").ok().and_then(|v| v.parse().ok()).unwrap_or(1usize);
    eprintln!(
        "task {index} of {}: {} (seed {}), cell {}, job {}, host {}",
        s.id,
        task.label,
        task.seed,
        task.cell,
        std::env::var("SLURM_JOB_ID").unwrap_or_else(|_| "-".into()),
        eyrie::store::claim::host_name()
    );
    let store = Store::new(&s.results);
    let job = TaskJob { plan: &part, store: &store, workers };
    let summary = run_on(backend.kind, backend.index, s.precision, job)??;
    summary.check()?;
    let r = summary.results.first().context("the task's cell left no result")?;
    eprintln!(
        "done {} (seed {}): average {:.1}; {} stages computed, {} cached",
        r.label,
        r.seed,
        r.scores.average,
        summary.computed.len(),
        summary.cached
    );
    Ok(())
}

/// One task's cell on a backend.
struct TaskJob<'a> {
    plan: &'a Plan,
    store: &'a Store,
    workers: usize,
}

impl BackendJob for TaskJob<'_> {
    type Output = Result<RunSummary, eyrie::exec::RunError>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device, backend: String) -> Self::Output {
        let opts = RunOptions { quiet: false, backend, workers: self.workers, from_records: false };
        run_cells::<B>(self.plan, self.store, &device, &opts)
    }
}

/// Runs the driver of the submission in `dir`, after its array ended: a grid's report (failing if a
/// cell did not finish), or a greedy round's judgement and the next round's submission.
pub fn cmd_slurm_driver(dir: &Path, who: &Provenance) -> Result<()> {
    let folder = Folder::new(dir);
    let s = folder.submission()?;
    let spec = eyrie::spec::load(&folder.spec_path())?;
    let store = Store::new(&s.results);
    match s.purpose {
        Purpose::Grid => finish_grid(&spec, &folder, &store, &s.reports, who),
        Purpose::GreedyRound { round } => {
            let text = std::fs::read(folder.spec_path()).context("reading the submitted spec")?;
            match greedy_step(&spec, &s, &store, &text, Some(round), who)? {
                Step::Submitted(next) => println!(
                    "round {round} judged; submitted {} as array job {}, driver job {}",
                    next.id,
                    next.array_job.as_deref().unwrap_or("-"),
                    next.driver_job.as_deref().unwrap_or("-")
                ),
                Step::Finished(_) => println!("the search is done"),
            }
            Ok(())
        }
    }
}

/// The report of a grid from its stored results; closes the run record when every cell is done.
fn finish_grid(
    spec: &eyrie::spec::Spec,
    folder: &Folder,
    store: &Store,
    reports: &Path,
    who: &Provenance,
) -> Result<()> {
    let plan = folder.plan()?;
    let missing: Vec<String> = plan
        .cells
        .iter()
        .filter(|c| !matches!(store.read_result(&plan.experiment, &c.id), Ok(Some(_))))
        .map(|c| format!("{} (seed {})", c.label, c.seed))
        .collect();
    let written = eyrie::report::write(spec, &plan, store, reports, &ReportOptions::default())?;
    warn_corrupt(&written);
    println!("report: {}", written.markdown.display());
    if !missing.is_empty() {
        bail!("{} of {} cells did not finish: {}", missing.len(), plan.cells.len(), missing.join(", "));
    }
    provenance::close_if_unfinished(store, &plan.experiment, &provenance::plan_digest(&plan), &who.command)?;
    println!("every cell of {} is done", plan.experiment);
    Ok(())
}
