//! `eyrie experts`: every expert pretrained on its own task, against an untrained copy.

use super::{default_workers, RunJob};
use crate::cli::{BackendArg, ExpertsArgs};
use anyhow::Result;
use eyrie::backend::run_on;
use eyrie::plan::cost;
use eyrie::spec::ExpertKind;
use eyrie::store::Store;

/// Pretrains (or loads) the experts, prints their table, and writes it when every expert is in it.
pub fn cmd_experts(args: ExpertsArgs) -> Result<()> {
    let ExpertsArgs { scale, only, exec } = args;
    let backend = BackendArg::or_default(exec.backend);
    let experts = if only.is_empty() { ExpertKind::ALL.to_vec() } else { only.clone() };
    let p = eyrie::plan::experts_plan(&experts, scale, exec.precision);
    let store = Store::new(&exec.results);
    let job = RunJob {
        plan: &p,
        store: &store,
        quiet: exec.quiet,
        workers: exec.workers.unwrap_or_else(default_workers),
        from_records: exec.from_records,
    };
    let summary = run_on(backend.kind, backend.index, exec.precision, job)??;
    summary.check()?;
    let table = eyrie::report::experts::table(&eyrie::report::experts::rows(&p, &store)?);
    let out = exec.reports_dir().join("experts").join(format!("{scale}.md"));
    let body = format!(
        "# Experts at the {scale} scale\n\nEach expert pretrained on its own task at its native resolution \
         (`eyrie experts --scale {scale}`, backend {}); metrics on 256 validation images, against an \
         untrained copy of the same network with the same head.\n\n{table}",
        backend.kind
    );
    let done = format!(
        "{} stages computed, {} cached, in {}",
        summary.computed.len(),
        summary.cached,
        cost::human_duration(summary.seconds)
    );
    if only.is_empty() {
        eyrie::store::atomic::create_dir_all(out.parent().expect("<reports>/experts/<scale>.md has a folder"))?;
        eyrie::store::atomic::write_file(&out, &body)?;
        println!("{table}\n{done}. Table: {}", out.display());
    } else {
        // A partial table is printed, not written over the full one.
        println!("{table}\n{done}.");
    }
    Ok(())
}
