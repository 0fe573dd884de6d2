//! One function per subcommand, and what they share: loading a spec and its plan, the run job,
//! the provenance of this process.

mod adaptive;
mod bench;
mod calibrate;
mod cancel;
mod checkpoint;
mod data;
mod experts;
mod plan;
mod plan_memory;
mod report;
mod run;
mod slurm;
mod slurm_jobs;
mod status;
mod status_slurm;

use crate::cli::{BackendArg, Cli, Command};
use anyhow::Result;
use eyrie::backend::BackendJob;
use eyrie::exec::{run_plan, RunOptions, RunSummary};
use eyrie::plan::{plan, plan_at_precision, Plan};
use eyrie::report::provenance::CloseError;
use eyrie::report::provenance::{device_words, RunRecord};
use eyrie::report::{ReportError, Written, RECOVER_RESULTS};
use eyrie::search::rounds::{read_outcome, round_spec};
use eyrie::spec::{Precision, Scale, Spec};
use eyrie::store::{ReadError, Store};
use std::path::Path;

/// A bad argument found after parsing (exit code 2, like clap's own).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadArgument(pub String);

/// Runs the command `cli` names.
pub fn dispatch(cli: Cli) -> Result<()> {
    let provenance = Provenance::of_this_process();
    // Before any backend (or thread) starts: the GPU kernel cache, and the CUDA driver's environment.
    match &cli.command {
        Command::Run(a) => a.exec.choose_kernel_cache(),
        Command::Calibrate(a) => a.exec.choose_kernel_cache(),
        Command::Experts(a) => a.exec.choose_kernel_cache(),
        _ => {
            eyrie::kernels::cache_dir();
        }
    }
    match cli.command {
        Command::Run(args) => run::cmd_run(args, &provenance),
        Command::Plan(args) => plan::cmd_plan(args),
        Command::Calibrate(args) => calibrate::cmd_calibrate(args, &provenance),
        Command::Report(args) => report::cmd_report(args),
        Command::Status(args) => status::cmd_status(args),
        Command::Experts(args) => experts::cmd_experts(args),
        Command::Bench(args) => bench::cmd_bench(args, &provenance),
        Command::Checkpoint { action } => checkpoint::cmd_checkpoint(action),
        Command::Data { action } => data::cmd_data(action),
        Command::Cancel(args) => cancel::cmd_cancel(args),
        Command::SlurmTask { dir, index } => slurm_jobs::cmd_slurm_task(&dir, index),
        Command::SlurmDriver { dir } => slurm_jobs::cmd_slurm_driver(&dir, &provenance),
    }
}

/// What produced this process's results: the command line as typed and the commit this binary was
/// built from (`-dirty` with uncommitted changes, `unknown` outside git; set by build.rs).
pub struct Provenance {
    /// The command line, as typed.
    pub command: String,
    /// The code's commit.
    pub commit: String,
}

impl Provenance {
    /// This process's command line and build commit.
    pub fn of_this_process() -> Self {
        Provenance {
            command: std::env::args().collect::<Vec<_>>().join(" "),
            commit: eyrie::report::provenance::BUILD_COMMIT.to_string(),
        }
    }

    /// The record of a run of the plan of digest `plan` ([`eyrie::report::provenance::plan_digest`]) starting now on `backend`
    /// with `workers` (unfinished until [`RunRecord::finished`]).
    pub fn run_record(&self, backend: BackendArg, workers: usize, plan: String) -> RunRecord {
        RunRecord::started(
            self.command.clone(),
            self.commit.clone(),
            backend.kind.to_string(),
            device_words(backend.kind, backend.index),
            workers,
        )
        .of_plan(plan)
    }
}

/// The spec in `file` and its plan at `scale` (default: the file's) and `precision`.
/// Says which of the spec's cells train the same model as an earlier one, and so run once.
fn say_merged(p: &Plan) {
    for (cell, first) in &p.merged {
        eprintln!("note: {cell} trains the same model as {first} (the setting that differs changes nothing here): it runs and is reported once");
    }
}

fn load(file: &Path, scale: Option<Scale>, precision: Precision) -> Result<(Spec, Plan)> {
    let spec = eyrie::spec::load(file)?;
    let p = plan_at_precision(&spec, scale.unwrap_or(spec.scale), precision);
    Ok((spec, p))
}

/// The spec and the plan a report describes: what last ran (the stored plan) when there is one;
/// for a greedy search, every set it evaluated.
fn report_inputs(file: &Path, scale: Option<Scale>, store: &Store) -> Result<(Spec, Plan)> {
    let (spec, p) = load(file, scale, Precision::F32)?;
    let (spec, p) = match (&spec.greedy, read_outcome(store, &spec.name)?) {
        (Some(_), Some(outcome)) => {
            let all = round_spec(&spec, &outcome.evaluated_sets());
            let full = plan(&all, p.scale);
            (all, full)
        }
        _ => (spec, p),
    };
    let p = eyrie::report::stored_plan(store, &p.experiment)?.unwrap_or(p);
    Ok((spec, p))
}

/// Says on stderr which cells a report left out because their stored result is corrupt, and how to
/// recover them (the report says it too).
fn warn_corrupt(written: &Written) {
    for c in &written.corrupt {
        eprintln!(
            "warning: the stored result of `{}` seed {} is corrupt and left out of {} ({}: {}); {RECOVER_RESULTS}",
            c.label,
            c.seed,
            written.markdown.display(),
            c.path.display(),
            c.reason
        );
    }
}

/// Closes the unfinished record of a run of the plan of digest `plan` that stopped after its last
/// stage, once this run found every stage and cell of that plan done without computing any (says so
/// unless `quiet`).
fn close_record(store: &Store, experiment: &str, plan: &str, who: &Provenance, quiet: bool) -> Result<()> {
    if eyrie::report::provenance::close_if_unfinished(store, experiment, plan, &who.command)? && !quiet {
        eprintln!(
            "closed {}: the run that wrote it stopped after its last stage without closing it",
            store.experiment_dir(experiment).join("run.json").display()
        );
    }
    Ok(())
}

/// A stored record in `e`'s chain that exists but could not be used, if any.
fn read_error(e: &anyhow::Error) -> Option<&ReadError> {
    e.chain().find_map(|c| {
        // `#[error(transparent)]` wrappers hide the record error from the chain: look inside them.
        c.downcast_ref::<ReadError>()
            .or_else(|| match c.downcast_ref::<ReportError>() {
                Some(ReportError::Read(r)) => Some(r),
                _ => None,
            })
            .or_else(|| match c.downcast_ref::<eyrie::exec::RunError>() {
                Some(eyrie::exec::RunError::Read(r)) => Some(r),
                _ => None,
            })
            .or_else(|| match c.downcast_ref::<CloseError>() {
                Some(CloseError::Read(r)) => Some(r),
                _ => None,
            })
    })
}

/// How to recover from `e` when it is a corrupt record, by the record's file name.
pub fn hint(e: &anyhow::Error) -> Option<String> {
    let r = read_error(e)?;
    if !matches!(r, ReadError::Parse { .. }) {
        return None;
    }
    let path = r.path();
    let name = path.file_name()?.to_str()?;
    let folder = path.parent().unwrap_or(Path::new(".")).display();
    Some(match name {
        "result.json" => RECOVER_RESULTS.to_string(),
        "plan.json" => "`eyrie run <experiment file>` writes it anew when it starts; or move it aside, and \
                        `eyrie report` and `eyrie status` use the experiment file's plan"
            .to_string(),
        "run.json" => "it only records which command produced the results: move it aside (the next run that \
                       computes a stage writes a new one; until then the report does not say what produced them)"
            .to_string(),
        "greedy.json" => "move it aside and rerun `eyrie run <experiment file>`: the search replays its finished \
                          rounds from cached stages"
            .to_string(),
        "meta.json" | "scores.json" => format!(
            "delete the stage's folder {folder} and rerun `eyrie run <experiment file>`: that stage is computed again"
        ),
        "calibration.json" => "rerun `eyrie calibrate <experiment file>`: it is recomputed from cached stages".into(),
        _ => return None,
    })
}

/// One worker per core, at most 4 (small proxy stages leave a core idle each).
fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4)
}

/// Runs a plan's stages on whichever backend is chosen.
struct RunJob<'a> {
    plan: &'a Plan,
    store: &'a Store,
    quiet: bool,
    workers: usize,
    /// Stored result records count without their stages (see [`RunOptions::from_records`]).
    from_records: bool,
}

impl BackendJob for RunJob<'_> {
    type Output = Result<RunSummary, eyrie::exec::RunError>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device, backend: String) -> Self::Output {
        let opts = RunOptions { quiet: self.quiet, backend, workers: self.workers, from_records: self.from_records };
        run_plan::<B>(self.plan, self.store, &device, &opts)
    }
}
