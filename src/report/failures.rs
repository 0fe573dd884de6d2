//! The report's list of failed cells: which stage failed and why, from the failure notes the
//! executor keeps beside the stage cache (the same source as `eyrie status`).

use crate::plan::Plan;
use crate::store::Store;

/// A "Failed cells" section (empty when no cell failed): each cell with a stage not done whose
/// last attempt left a failure note.
pub fn markdown(plan: &Plan, store: &Store) -> String {
    let mut failed = Vec::new();
    for c in &plan.cells {
        if let Some((stage, reason)) = crate::exec::status::failure_note(store, c) {
            let reason = reason.replace('|', "\\|").replace('\n', " ");
            failed.push(format!("| {} | {} | {} | {reason} |", c.label, c.seed, plan.stages[stage].label));
        }
    }
    if failed.is_empty() {
        return String::new();
    }
    format!(
        "## Failed cells\n\n{} cell(s) failed and are left out of every table, effect and hypothesis below \
         (`eyrie status` shows the same; rerunning retries the failed stage).\n\n| cell | seed | failed stage | \
         reason |\n|---|---|---|---|\n{}\n\n",
        failed.len(),
        failed.join("\n")
    )
}
