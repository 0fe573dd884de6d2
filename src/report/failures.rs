//! The report's list of failed cells: which stage failed and why, from the failure notes the
//! executor keeps beside the stage cache (the same source as `eyrie status`).

use crate::exec::status::{status, CellState};
use crate::plan::Plan;
use crate::store::{ReadError, Store};

/// A "Failed cells" section (empty when no cell failed).
pub fn markdown(plan: &Plan, store: &Store) -> Result<String, ReadError> {
    let failed: Vec<String> = status(plan, store)?
        .into_iter()
        .filter_map(|s| match s.state {
            CellState::Failed { stage, reason } => Some(format!(
                "| {} | {} | {stage} | {} |",
                s.label,
                s.seed,
                reason.replace('|', "\\|").replace('\n', " ")
            )),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "## Failed cells\n\n{} cell(s) failed and are left out of every table, effect and hypothesis below \
         (`eyrie status` shows the same; rerunning retries the failed stage).\n\n| cell | seed | failed stage | \
         reason |\n|---|---|---|---|\n{}\n\n",
        failed.len(),
        failed.join("\n")
    ))
}
