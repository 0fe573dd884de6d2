//! The Slurm part of `eyrie status`: each submission's tasks and driver, Slurm's state merged with
//! the result files (a task whose cell has its result is done whatever Slurm says).

use anyhow::Result;
use eyrie::slurm::state::{self, task_key, JobState};
use eyrie::slurm::submission;
use eyrie::slurm::Purpose;
use eyrie::store::Store;

/// Prints every Slurm submission of `experiment` (nothing if it has none).
pub fn print(store: &Store, experiment: &str) -> Result<()> {
    let folders = submission::list(store, experiment)?;
    if folders.is_empty() {
        return Ok(());
    }
    let subs = folders.iter().map(|f| Ok((f, f.submission()?, f.tasks()?))).collect::<Result<Vec<_>>>()?;
    let jobs: Vec<String> = subs.iter().flat_map(|(_, s, _)| s.jobs()).collect();
    let (view, source) = match state::view(&jobs) {
        Ok(v) => v,
        Err(e) => {
            println!("Slurm: cannot ask Slurm ({e}); from the result files only");
            (Default::default(), "")
        }
    };
    if !source.is_empty() {
        println!("Slurm ({} submission(s); ended jobs from {source}):", subs.len());
    }
    for (folder, s, tasks) in &subs {
        let what = match s.purpose {
            Purpose::Grid => "cells".to_string(),
            Purpose::GreedyRound { round } => format!("greedy round {round}"),
        };
        println!(
            "  {} ({what}): array job {}, driver job {}; {}",
            s.id,
            s.array_job.as_deref().unwrap_or("-"),
            s.driver_job.as_deref().unwrap_or("-"),
            folder.dir.display()
        );
        for t in tasks {
            let done = matches!(store.read_result(&s.experiment, &t.cell), Ok(Some(_)));
            let slurm = s.array_job.as_ref().and_then(|a| view.get(&task_key(a, t.index)));
            println!("    task {:>3} {} (seed {}): {}", t.index, t.label, t.seed, merged(done, slurm));
        }
        if let Some(d) = &s.driver_job {
            let text = view.get(d).map_or("unknown to Slurm".to_string(), |st| st.to_string());
            println!("    driver: {text} (log {})", folder.logs().join("driver.out").display());
        }
    }
    Ok(())
}

/// A task's state: done if its cell's result is stored, else Slurm's word.
fn merged(done: bool, slurm: Option<&JobState>) -> String {
    match (done, slurm) {
        (true, Some(s @ JobState::Failed(_))) => format!("done (its cell's result is stored; the job {s})"),
        (true, _) => "done".to_string(),
        (false, Some(JobState::Completed)) => "ended without its cell's result".to_string(),
        (false, Some(s)) => s.to_string(),
        (false, None) => "not done; unknown to Slurm".to_string(),
    }
}
