//! `eyrie calibrate`: one cell of an experiment under 2k seeds (an experiment of its own,
//! `<name>-calibration`, resumable and cached like any run), then its A/A calibration.

use super::{close_record, default_workers, warn_corrupt, BadArgument, Provenance, RunJob};
use crate::cli::{BackendArg, CalibrateArgs};
use anyhow::Result;
use eyrie::backend::run_on;
use eyrie::hypotheses::calibration::Calibration;
use eyrie::plan::{cost, plan_at_precision};
use eyrie::report::options::ReportOptions;
use eyrie::report::provenance;
use eyrie::spec::Spec;
use eyrie::store::atomic::write_file;
use eyrie::store::{write_atomic, Store};

/// The experiment a calibration runs: `cell` of `spec` alone under seeds 0..2·arm, no baseline, no hypotheses.
pub fn calibration_spec(spec: &Spec, cell: Option<&str>, arm: u64) -> Result<Spec, BadArgument> {
    let chosen = match cell {
        None => spec.cells[0].clone(),
        Some(label) => spec.cells.iter().find(|c| c.label() == label).cloned().ok_or_else(|| {
            BadArgument(format!(
                "no cell `{label}` in {}; its cells: {}",
                spec.file.display(),
                spec.cells.iter().map(|c| c.label()).collect::<Vec<_>>().join(", ")
            ))
        })?,
    };
    Ok(Spec {
        name: format!("{}-calibration", spec.name),
        description: Some(format!("A/A calibration of `{}` from experiment `{}`.", chosen.label(), spec.name)),
        seeds: (0..2 * arm).collect(),
        blind_baseline: false,
        cells: vec![chosen],
        greedy: None,
        hypotheses: vec![],
        ..spec.clone()
    })
}

/// Runs the calibration cell under every seed, stores `calibration.json` beside its results and
/// `calibration.md` in its reports folder, and prints the table.
pub fn cmd_calibrate(args: CalibrateArgs, who: &Provenance) -> Result<()> {
    let CalibrateArgs { file, cell, seeds_per_arm, scale, exec } = args;
    let spec = eyrie::spec::load(&file)?;
    let cal = calibration_spec(&spec, cell.as_deref(), seeds_per_arm)?;
    let p = plan_at_precision(&cal, scale.unwrap_or(spec.scale), exec.precision);
    let backend = BackendArg::or_default(exec.backend);
    let store = Store::new(&exec.results);
    let workers = exec.workers.unwrap_or_else(default_workers);
    if !exec.quiet {
        eprintln!(
            "calibrating `{}` of {}: {} seeds ({} stages) at scale {} into {}",
            cal.cells[0].label(),
            spec.name,
            cal.seeds.len(),
            p.stages.len(),
            p.scale,
            store.experiment_dir(&cal.name).display()
        );
    }
    let digest = provenance::plan_digest(&p);
    let record = who.run_record(backend, workers, digest.clone());
    if p.stages.keys().any(|id| !store.is_done(id)) {
        provenance::write(&store, &p.experiment, &record)?;
        provenance::store_spec(&store, &p.experiment, &file)?;
    }
    let job = RunJob { plan: &p, store: &store, quiet: exec.quiet, workers, from_records: exec.from_records };
    let summary = run_on(backend.kind, backend.index, exec.precision, job)??;
    summary.check()?;
    if !summary.computed.is_empty() {
        let done = record.finished(summary.seconds, summary.computed.len(), summary.cached);
        provenance::write(&store, &p.experiment, &done)?;
    } else {
        close_record(&store, &p.experiment, &digest, who, exec.quiet)?;
    }
    let written = eyrie::report::write(&cal, &p, &store, &exec.reports_dir(), &ReportOptions::default())?;
    warn_corrupt(&written);
    let calibration = Calibration::from_results(
        &spec.name,
        &cal.cells[0].label(),
        &p.scale.to_string(),
        &summary.results,
        seeds_per_arm as usize,
    )?;
    let json = store.experiment_dir(&cal.name).join("calibration.json");
    write_atomic(&json, serde_json::to_string_pretty(&calibration)?.as_bytes())?;
    let md = written.markdown.with_file_name("calibration.md");
    write_file(&md, calibration.markdown())?;
    println!("{}", calibration.markdown());
    println!(
        "{} stages computed, {} cached, in {}. Calibration: {} and {}",
        summary.computed.len(),
        summary.cached,
        cost::human_duration(summary.seconds),
        json.display(),
        md.display()
    );
    Ok(())
}
