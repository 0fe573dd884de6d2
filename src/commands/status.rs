//! `eyrie status`: each cell done, running, failed or pending, from the results folder.

use super::report_inputs;
use crate::cli::ExperimentArgs;
use anyhow::Result;
use eyrie::store::Store;

/// Prints the state of every cell of the experiment.
pub fn cmd_status(args: ExperimentArgs) -> Result<()> {
    let ExperimentArgs { file, scale, results } = args;
    let store = Store::new(&results);
    let (_, p) = report_inputs(&file, scale, &store)?;
    println!("experiment {} ({} cells):", p.experiment, p.cells.len());
    print!("{}", eyrie::exec::status::render(&eyrie::exec::status::status(&p, &store)?));
    Ok(())
}
