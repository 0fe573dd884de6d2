//! One function per subcommand, and what they share: loading a spec and its plan, the run job,
//! the provenance of this process.

mod bench;
mod calibrate;
mod data;
mod experts;
mod plan;
mod report;
mod run;
mod status;

use crate::cli::{BackendArg, Cli, Command};
use anyhow::Result;
use eyrie::backend::BackendJob;
use eyrie::exec::{run_plan, RunOptions, RunSummary};
use eyrie::plan::{plan, plan_at_precision, Plan};
use eyrie::report::provenance::{device_words, RunRecord};
use eyrie::search::rounds::{read_outcome, round_spec};
use eyrie::spec::{Precision, Scale, Spec};
use eyrie::store::Store;
use std::path::Path;

/// A bad argument found after parsing (exit code 2, like clap's own).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadArgument(pub String);

/// Runs the command `cli` names.
pub fn dispatch(cli: Cli) -> Result<()> {
    let provenance = Provenance::of_this_process();
    match cli.command {
        Command::Run(args) => run::cmd_run(args, &provenance),
        Command::Plan(args) => plan::cmd_plan(args),
        Command::Calibrate(args) => calibrate::cmd_calibrate(args, &provenance),
        Command::Report(args) => report::cmd_report(args),
        Command::Status(args) => status::cmd_status(args),
        Command::Experts(args) => experts::cmd_experts(args),
        Command::Bench(args) => bench::cmd_bench(args, &provenance),
        Command::Data { action } => data::cmd_data(action),
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

    /// The record of a run starting now on `backend` with `workers` (unfinished until
    /// [`RunRecord::finished`]).
    pub fn run_record(&self, backend: BackendArg, workers: usize) -> RunRecord {
        RunRecord::started(
            self.command.clone(),
            self.commit.clone(),
            backend.kind.to_string(),
            device_words(backend.kind, backend.index),
            workers,
        )
    }
}

/// The spec in `file` and its plan at `scale` (default: the file's) and `precision`.
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
}

impl BackendJob for RunJob<'_> {
    type Output = Result<RunSummary, eyrie::exec::RunError>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device, backend: String) -> Self::Output {
        run_plan::<B>(self.plan, self.store, &device, &RunOptions { quiet: self.quiet, backend, workers: self.workers })
    }
}
