//! `eyrie status`: each cell done, running, failed or pending, from the results folder.

use super::report_inputs;
use crate::cli::{ExperimentArgs, StatusArgs};
use anyhow::{bail, Result};
use eyrie::store::Store;

/// Prints the state of every cell of the experiment; with `verify`, checks every stored stage and
/// cell record and fails (exit 1) if any is damaged.
pub fn cmd_status(args: StatusArgs) -> Result<()> {
    let StatusArgs { experiment: ExperimentArgs { file, scale, results }, verify } = args;
    let store = Store::new(&results);
    let (_, p) = report_inputs(&file, scale, &store)?;
    // Damage first: a corrupt record would stop the status below.
    let damage = if verify { eyrie::exec::verify::find_damage(&p, &store) } else { Vec::new() };
    for (what, why) in &damage {
        println!("DAMAGED {what}: {why}");
    }
    println!("experiment {} ({} cells):", p.experiment, p.cells.len());
    print!("{}", eyrie::exec::status::render(&eyrie::exec::status::status(&p, &store)?));
    super::status_slurm::print(&store, &p.experiment)?;
    if verify {
        let stored = p.stages.keys().filter(|id| store.is_done(id)).count();
        if !damage.is_empty() {
            bail!(
                "{} damaged among {stored} stored stages and the cell records; `eyrie run` moves each aside and \
                 computes it again",
                damage.len()
            );
        }
        println!("verified: {stored} stored stages and every cell record intact");
    }
    Ok(())
}
