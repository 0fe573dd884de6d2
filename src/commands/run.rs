//! `eyrie run`: every cell of an experiment (or a greedy search's rounds), then the record, the
//! report and the table.

use super::{close_record, default_workers, load, warn_corrupt, BadArgument, Provenance, RunJob};
use crate::cli::{BackendArg, RunArgs};
use anyhow::{bail, Result};
use eyrie::backend::run_on;
use eyrie::plan::{cost, plan_at_precision};
use eyrie::report::options::ReportOptions;
use eyrie::report::provenance;
use eyrie::search::greedy::{search, set_label};
use eyrie::search::rounds::{read_outcome, round_spec, seed_metrics, worst_case_sets, write_outcome};
use eyrie::slurm::{ExecutorKind, SlurmOptions};
use eyrie::spec::{ExpertKind, GreedySpec, Precision, Scale, Spec};
use eyrie::store::Store;
use std::path::Path;

/// Trains and evaluates every cell not done yet, records what ran, writes the report, prints the table.
pub fn cmd_run(args: RunArgs, who: &Provenance) -> Result<()> {
    let RunArgs { file, scale, exec, slurm } = args;
    let backend = BackendArg::or_default(exec.backend);
    let precision = exec.precision;
    let (spec, p) = load(&file, scale, precision)?;
    super::say_merged(&p);
    match slurm.executor.unwrap_or(spec.executor.kind) {
        ExecutorKind::Slurm => return super::slurm::submit_run(&spec, &p, &exec, &slurm, who),
        ExecutorKind::Local if slurm.wait || slurm.options() != SlurmOptions::default() => {
            bail!(BadArgument("Slurm options (--wait, --partition, …) need --executor slurm".into()))
        }
        ExecutorKind::Local => {}
    }
    let store = Store::new(&exec.results);
    let workers = exec.workers.unwrap_or_else(default_workers);
    let reports = exec.reports_dir();
    if let Some(g) = &spec.greedy {
        let on = Compute { backend, precision, quiet: exec.quiet, workers, from_records: exec.from_records };
        return run_greedy(&spec, g, p.scale, &on, &store, &reports, who);
    }
    if let Some(adaptive) = spec.adaptive {
        let on = Compute { backend, precision, quiet: exec.quiet, workers, from_records: exec.from_records };
        return super::adaptive::run_adaptive(&spec, adaptive.into(), p.scale, &on, &store, &reports, who);
    }
    let digest = provenance::plan_digest(&p);
    let record = who.run_record(backend, workers, digest.clone());
    if !exec.quiet {
        eprintln!(
            "{} cells ({} stages) at scale {} on {} ({precision}); results in {}",
            p.cells.len(),
            p.stages.len(),
            p.scale,
            backend.kind,
            exec.results.display()
        );
    }
    // With --from-records, a cell with a stored result is done whether or not its stages are here.
    let work_left = if exec.from_records {
        p.cells.iter().any(|c| !matches!(store.read_result(&p.experiment, &c.id), Ok(Some(_))))
    } else {
        p.stages.keys().any(|id| !store.is_done(id))
    };
    if work_left {
        provenance::write(&store, &p.experiment, &record)?;
        provenance::store_spec(&store, &p.experiment, &file)?;
    }
    let job = RunJob { plan: &p, store: &store, quiet: exec.quiet, workers, from_records: exec.from_records };
    let summary = run_on(backend.kind, backend.index, precision, job)??;
    if !summary.computed.is_empty() {
        let done = record.finished(summary.seconds, summary.computed.len(), summary.cached);
        provenance::write(&store, &p.experiment, &done)?;
    } else if summary.failed_stages.is_empty() {
        // Every stage and cell of the plan is done (the executor returned every cell's result).
        close_record(&store, &p.experiment, &digest, who, exec.quiet)?;
    }
    let written = eyrie::report::write(&spec, &p, &store, &reports, &ReportOptions::default())?;
    warn_corrupt(&written);
    println!("{}", eyrie::report::markdown::table(&summary.results));
    let effects = eyrie::report::markdown::effects(&summary.results, &spec.axes);
    if !effects.is_empty() {
        println!("Effects:\n{effects}");
    }
    if !summary.from_records.is_empty() {
        let n = summary.from_records.len();
        println!("{n} cells taken from their stored result records (--from-records), not recomputed");
    }
    println!(
        "{} stages computed, {} cached, in {}. Report: {}",
        summary.computed.len(),
        summary.cached,
        cost::human_duration(summary.seconds),
        written.markdown.display()
    );
    // Failed cells: the others ran and are reported; the exit code says the grid is incomplete.
    summary.check()?;
    Ok(())
}

/// Where and how a greedy search or adaptive seeds compute their rounds.
#[derive(Clone, Copy)]
pub(super) struct Compute {
    pub backend: BackendArg,
    pub precision: Precision,
    pub quiet: bool,
    pub workers: usize,
    /// Stored result records count without their stages.
    pub from_records: bool,
}

/// Runs a greedy search: each round's cells through the executor (every stage cached, so a resumed
/// search replays finished rounds from stored results), then the record, the report and the table.
fn run_greedy(
    spec: &Spec,
    g: &GreedySpec,
    scale: Scale,
    on: &Compute,
    store: &Store,
    reports: &Path,
    who: &Provenance,
) -> Result<()> {
    let Compute { backend, precision, quiet, workers, from_records } = *on;
    // A search's rounds depend on its winners: it is known by its worst-case plan.
    let digest = provenance::plan_digest(&plan_at_precision(&round_spec(spec, &worst_case_sets(g)), scale, precision));
    let record = who.run_record(backend, workers, digest.clone());
    let start = std::time::Instant::now();
    let (mut computed, mut cached, mut round) = (0usize, 0usize, 0usize);
    if !quiet {
        eprintln!(
            "greedy search from {} over {} candidates at scale {scale} on {}: at most {} cells; results in {}",
            set_label(&g.start),
            g.candidates.len(),
            backend.kind,
            g.worst_case_sets() * spec.seeds.len(),
            store.root.display()
        );
    }
    if read_outcome(store, &spec.name)?.is_none() {
        provenance::write(store, &spec.name, &record)?;
        provenance::store_spec(store, &spec.name, &spec.file)?;
    }
    let outcome = search(g, &mut |sets: &[Vec<ExpertKind>]| -> Result<Vec<Vec<f64>>> {
        let p = plan_at_precision(&round_spec(spec, sets), scale, precision);
        let summary =
            run_on(backend.kind, backend.index, precision, RunJob { plan: &p, store, quiet, workers, from_records })??;
        computed += summary.computed.len();
        cached += summary.cached;
        // A round with a failed cell cannot be judged fairly: the search stops there.
        summary.check().map_err(|e| anyhow::anyhow!("greedy round {round} cannot be judged: {e}"))?;
        let scores = seed_metrics(&summary.results, sets, &spec.seeds, &g.metric);
        println!("round {round}: {}", round_line(sets, &scores));
        round += 1;
        Ok(scores)
    })?;
    let all = round_spec(spec, &outcome.evaluated_sets());
    let full = plan_at_precision(&all, scale, precision);
    let exp_dir = store.experiment_dir(&spec.name);
    // Created here so that a failure names the folder (write_outcome's own error would not).
    eyrie::store::atomic::create_dir_all(&exp_dir)?;
    eyrie::store::write_atomic(&exp_dir.join("plan.json"), serde_json::to_string_pretty(&full)?.as_bytes())?;
    write_outcome(store, &spec.name, &outcome)?;
    let seconds = start.elapsed().as_secs_f64();
    if computed > 0 {
        provenance::write(store, &spec.name, &record.finished(seconds, computed, cached))?;
    } else {
        // The search replayed every round from stored results: all its stages and cells are done.
        close_record(store, &spec.name, &digest, who, quiet)?;
    }
    let written = eyrie::report::write(&all, &full, store, reports, &ReportOptions::default())?;
    warn_corrupt(&written);
    println!(
        "chosen: {} ({}); {} stages computed, {} cached, in {}. Report: {}",
        set_label(&outcome.chosen),
        outcome.stop,
        computed,
        cached,
        cost::human_duration(seconds),
        written.markdown.display()
    );
    Ok(())
}

/// One greedy round's sets with their mean score over seeds, for the progress line.
pub(crate) fn round_line(sets: &[Vec<ExpertKind>], scores: &[Vec<f64>]) -> String {
    let line: Vec<String> = sets
        .iter()
        .zip(scores)
        .map(|(s, v)| format!("{} {:.1}", set_label(s), v.iter().sum::<f64>() / v.len() as f64))
        .collect();
    line.join(", ")
}
