//! `eyrie run --executor slurm`: submits the cells not done as a job array with a driver after it
//! (for a greedy search, the first round not done), and with `--wait` follows the jobs to the end.

use super::{BadArgument, Provenance};
use crate::cli::{BackendArg, ExecArgs, SlurmArgs};
use anyhow::{bail, Context, Result};
use eyrie::plan::{plan_at_precision, Plan};
use eyrie::report::options::ReportOptions;
use eyrie::report::provenance;
use eyrie::search::greedy::{search, set_label, GreedyOutcome};
use eyrie::search::rounds::{read_outcome, round_spec, seed_metrics, worst_case_sets, write_outcome};
use eyrie::slurm::state::{self, JobState};
use eyrie::slurm::submission::{self, Folder};
use eyrie::slurm::{Purpose, Submission};
use eyrie::spec::{ExpertKind, Spec};
use eyrie::store::Store;
use std::path::Path;
use std::time::Duration;

/// Submits `spec`'s work (plan `p`) to Slurm; with `--wait`, waits and reports as a local run does.
pub fn submit_run(spec: &Spec, p: &Plan, exec: &ExecArgs, slurm: &SlurmArgs, who: &Provenance) -> Result<()> {
    if spec.adaptive.is_some() {
        bail!(BadArgument(
            "adaptive seeds cannot run on Slurm yet (each round's seeds depend on the last round's verdicts, \
             which no driver job judges yet): run it with --executor local"
                .into()
        ));
    }
    if exec.from_records {
        bail!(BadArgument("--from-records runs locally only: drop --executor slurm".into()));
    }
    let store = Store::new(&exec.results);
    let backend = BackendArg::or_default(exec.backend);
    let template = template(spec, p, exec, slurm, backend)?;
    let text = std::fs::read(&spec.file).with_context(|| format!("reading {}", spec.file.display()))?;
    if let Some(g) = &spec.greedy {
        let digest =
            provenance::plan_digest(&plan_at_precision(&round_spec(spec, &worst_case_sets(g)), p.scale, p.precision));
        if read_outcome(&store, &spec.name)?.is_none() {
            provenance::write(&store, &spec.name, &who.run_record(backend, 1, digest))?;
            provenance::store_spec(&store, &spec.name, &spec.file)?;
        }
        match greedy_step(spec, &template, &store, &text, None, who)? {
            Step::Submitted(s) => say_submitted(&s),
            Step::Finished(o) => println!("the search is done: chosen {} ({})", set_label(&o.chosen), o.stop),
        }
        return if slurm.wait { wait_greedy(spec, &store) } else { Ok(()) };
    }
    let todo: Vec<String> = p
        .cells
        .iter()
        .filter(|c| {
            let stored = matches!(store.read_result(&p.experiment, &c.id), Ok(Some(_)));
            !(stored && c.stages.iter().all(|s| store.is_done(s)))
        })
        .map(|c| c.id.clone())
        .collect();
    if todo.is_empty() {
        println!("every cell of {} is done: nothing to submit", p.experiment);
    } else {
        provenance::write(&store, &p.experiment, &who.run_record(backend, 1, provenance::plan_digest(p)))?;
        provenance::store_spec(&store, &p.experiment, &spec.file)?;
        let exp_dir = store.experiment_dir(&p.experiment);
        eyrie::store::atomic::create_dir_all(&exp_dir)?;
        eyrie::store::write_atomic(&exp_dir.join("plan.json"), serde_json::to_string_pretty(p)?.as_bytes())?;
        let id = submission::new_id(&store, &p.experiment, Purpose::Grid);
        let (s, _) = eyrie::slurm::submit::submit(&store, Submission { id, ..template }, p, &todo, &text)?;
        say_submitted(&s);
    }
    if slurm.wait {
        wait_grid(spec, p, &store, &exec.reports_dir())?;
    }
    Ok(())
}

/// The submission every round copies: where and how its jobs run (id and purpose still to set).
fn template(spec: &Spec, p: &Plan, exec: &ExecArgs, slurm: &SlurmArgs, backend: BackendArg) -> Result<Submission> {
    let absolute = |path: &Path| std::path::absolute(path).with_context(|| format!("resolving {}", path.display()));
    Ok(Submission {
        id: String::new(),
        experiment: spec.name.clone(),
        purpose: Purpose::Grid,
        scale: p.scale,
        precision: p.precision,
        backend: format!("{}:{}", backend.kind, backend.index),
        results: absolute(&exec.results)?,
        reports: absolute(&exec.reports_dir())?,
        workdir: std::env::current_dir().context("the current directory")?,
        eyrie: std::env::current_exe().context("the path of this eyrie binary")?,
        options: slurm.options().over(&spec.executor.slurm),
        array_job: None,
        driver_job: None,
    })
}

fn say_submitted(s: &Submission) {
    let what = match s.purpose {
        Purpose::Grid => "cells".to_string(),
        Purpose::GreedyRound { round } => format!("greedy round {round}"),
    };
    println!(
        "submitted {} ({what}): array job {}, driver job {} (afterany); folder {}",
        s.experiment,
        s.array_job.as_deref().unwrap_or("-"),
        s.driver_job.as_deref().unwrap_or("-"),
        submission::slurm_dir(&eyrie::store::Store::new(&s.results), &s.experiment).join(&s.id).display()
    );
}

/// What one step of a greedy search on Slurm did.
pub enum Step {
    /// The first round not done was submitted.
    Submitted(Box<Submission>),
    /// Every round is done: the search's outcome (recorded, reported).
    Finished(GreedyOutcome),
}

/// Why the replay of a search stopped before its end.
enum Halt {
    Submitted(Box<Submission>),
    Error(anyhow::Error),
}

/// Replays `spec`'s greedy search from the stored cell results; submits the first round whose cells
/// are not all done (a copy of `template`), or, when every round is done, records the outcome, the
/// full plan and the report. `judged`: the round whose array just ended (a driver): if it is still
/// not done, its failed cells stop the search (as a failed round stops a local search) instead of
/// being submitted again.
pub fn greedy_step(
    spec: &Spec,
    template: &Submission,
    store: &Store,
    spec_text: &[u8],
    judged: Option<usize>,
    who: &Provenance,
) -> Result<Step> {
    let g = spec.greedy.as_ref().expect("a greedy spec");
    let (scale, precision) = (template.scale, template.precision);
    let mut round = 0usize;
    let mut evaluate = |sets: &[Vec<ExpertKind>]| -> Result<Vec<Vec<f64>>, Halt> {
        let p = plan_at_precision(&round_spec(spec, sets), scale, precision);
        let mut results = Vec::new();
        let mut missing = Vec::new();
        for c in &p.cells {
            match store.read_result(&p.experiment, &c.id).map_err(|e| Halt::Error(e.into()))? {
                Some(r) => results.push(r),
                None => missing.push(c),
            }
        }
        if missing.is_empty() {
            let scores = seed_metrics(&results, sets, &spec.seeds, &g.metric);
            println!("round {round}: {}", super::run::round_line(sets, &scores));
            round += 1;
            return Ok(scores);
        }
        if judged == Some(round) {
            let labels: Vec<String> = missing.iter().map(|c| format!("{} (seed {})", c.label, c.seed)).collect();
            return Err(Halt::Error(anyhow::anyhow!(
                "greedy round {round} cannot be judged: its array ended without {}; `eyrie run {} --executor slurm` \
                 submits them again",
                labels.join(", "),
                spec.file.display()
            )));
        }
        let submit = || -> Result<Submission> {
            let exp_dir = store.experiment_dir(&p.experiment);
            eyrie::store::atomic::create_dir_all(&exp_dir)?;
            eyrie::store::write_atomic(&exp_dir.join("plan.json"), serde_json::to_string_pretty(&p)?.as_bytes())?;
            let purpose = Purpose::GreedyRound { round };
            let s = Submission {
                id: submission::new_id(store, &spec.name, purpose),
                purpose,
                array_job: None,
                driver_job: None,
                ..template.clone()
            };
            let cells: Vec<String> = missing.iter().map(|c| c.id.clone()).collect();
            Ok(eyrie::slurm::submit::submit(store, s, &p, &cells, spec_text)?.0)
        };
        Err(submit().map_or_else(Halt::Error, |s| Halt::Submitted(Box::new(s))))
    };
    let outcome = match search(g, &mut evaluate) {
        Ok(o) => o,
        Err(Halt::Submitted(s)) => return Ok(Step::Submitted(s)),
        Err(Halt::Error(e)) => return Err(e),
    };
    let all = round_spec(spec, &outcome.evaluated_sets());
    let full = plan_at_precision(&all, scale, precision);
    let exp_dir = store.experiment_dir(&spec.name);
    eyrie::store::atomic::create_dir_all(&exp_dir)?;
    eyrie::store::write_atomic(&exp_dir.join("plan.json"), serde_json::to_string_pretty(&full)?.as_bytes())?;
    write_outcome(store, &spec.name, &outcome)?;
    let digest = provenance::plan_digest(&plan_at_precision(&round_spec(spec, &worst_case_sets(g)), scale, precision));
    provenance::close_if_unfinished(store, &spec.name, &digest, &who.command)?;
    let written = eyrie::report::write(&all, &full, store, &template.reports, &ReportOptions::default())?;
    super::warn_corrupt(&written);
    println!("chosen: {} ({}). Report: {}", set_label(&outcome.chosen), outcome.stop, written.markdown.display());
    Ok(Step::Finished(outcome))
}

/// Every job id of every submission of `experiment`.
pub fn all_jobs(store: &Store, experiment: &str) -> Result<Vec<String>> {
    let mut jobs = Vec::new();
    for f in submission::list(store, experiment)? {
        jobs.extend(f.submission()?.jobs());
    }
    Ok(jobs)
}

/// Waits until no job of `experiment` is pending or running, printing a line whenever the counts
/// change (`done` counts the cells done so far).
fn wait_jobs(store: &Store, experiment: &str, done: &dyn Fn() -> String) -> Result<()> {
    let mut last = String::new();
    loop {
        // Slurm first, then the submissions: a driver that submitted the next round and ended in
        // between is not live, but the round it submitted is listed and live.
        let live = state::live()?;
        let jobs = all_jobs(store, experiment)?;
        let mine: Vec<&JobState> = live
            .iter()
            .filter(|(k, _)| jobs.iter().any(|j| *k == j || k.starts_with(&format!("{j}_"))))
            .map(|(_, s)| s)
            .collect();
        let running = mine.iter().filter(|s| matches!(s, JobState::Running)).count();
        let pending = mine.iter().filter(|s| matches!(s, JobState::Pending(_))).count();
        let line = format!("slurm: {}; jobs running {running}, pending {pending}", done());
        if line != last {
            eprintln!("{line}");
            last = line;
        }
        if mine.is_empty() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `--wait` for a grid: the jobs' end, then the table, or the cells that did not finish.
fn wait_grid(spec: &Spec, p: &Plan, store: &Store, reports: &Path) -> Result<()> {
    let done = || p.cells.iter().filter(|c| matches!(store.read_result(&p.experiment, &c.id), Ok(Some(_)))).count();
    wait_jobs(store, &p.experiment, &|| format!("{}/{} cells done", done(), p.cells.len()))?;
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for c in &p.cells {
        match store.read_result(&p.experiment, &c.id)? {
            Some(r) => results.push(r),
            None => missing.push(format!("{} (seed {})", c.label, c.seed)),
        }
    }
    let written = eyrie::report::write(spec, p, store, reports, &ReportOptions::default())?;
    super::warn_corrupt(&written);
    println!("{}", eyrie::report::markdown::table(&results));
    if !missing.is_empty() {
        bail!(
            "{} of {} cells did not finish: {} (`eyrie status {}` says why; rerunning submits them again)",
            missing.len(),
            p.cells.len(),
            missing.join(", "),
            spec.file.display()
        );
    }
    println!("{} cells done. Report: {}", results.len(), written.markdown.display());
    Ok(())
}

/// `--wait` for a greedy search: every round's jobs (each driver submits the next), then the outcome.
fn wait_greedy(spec: &Spec, store: &Store) -> Result<()> {
    let cells = || {
        std::fs::read_dir(store.experiment_dir(&spec.name).join("cells"))
            .map(|rd| rd.filter_map(|e| e.ok()).filter(|e| e.path().join("result.json").exists()).count())
            .unwrap_or(0)
    };
    wait_jobs(store, &spec.name, &|| format!("{} cells done", cells()))?;
    match read_outcome(store, &spec.name)? {
        Some(o) => {
            println!("chosen: {} ({})", set_label(&o.chosen), o.stop);
            Ok(())
        }
        None => {
            let last = submission::list(store, &spec.name)?.pop().map(|f: Folder| f.logs().join("driver.out"));
            bail!(
                "the search stopped before its end (see {})",
                last.map_or("the drivers' logs".into(), |p| p.display().to_string())
            )
        }
    }
}
