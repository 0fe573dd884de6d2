//! `eyrie cancel`: cancels every Slurm job of an experiment that is still pending or running.

use super::slurm::all_jobs;
use crate::cli::ExperimentArgs;
use anyhow::Result;
use eyrie::slurm::{command, state};
use eyrie::store::Store;

/// Cancels the experiment's live jobs (those its submission folders record), drivers first so that
/// none submits another round.
pub fn cmd_cancel(args: ExperimentArgs) -> Result<()> {
    let spec = eyrie::spec::load(&args.file)?;
    let store = Store::new(&args.results);
    let live = state::live()?;
    let mut jobs: Vec<String> = all_jobs(&store, &spec.name)?
        .into_iter()
        .filter(|j| live.keys().any(|k| k == j || k.starts_with(&format!("{j}_"))))
        .collect();
    if jobs.is_empty() {
        println!("no job of {} is pending or running", spec.name);
        return Ok(());
    }
    // Drivers were submitted after their arrays: the later ids first.
    jobs.sort_by_key(|j| std::cmp::Reverse(j.parse::<u64>().unwrap_or(0)));
    command::scancel(&jobs)?;
    println!("cancelled {} job(s) of {}: {}", jobs.len(), spec.name, jobs.join(", "));
    Ok(())
}
