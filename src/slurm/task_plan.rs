//! The part of a plan one array task runs: its cell, and the stages that cell needs.

use crate::plan::Plan;

/// `plan` cut down to the cells `ids` and the stages their chains need (transitively); `None` if a
/// cell is not in the plan.
pub fn only_cells(plan: &Plan, ids: &[String]) -> Option<Plan> {
    let cells: Vec<_> = ids.iter().map(|id| plan.cells.iter().find(|c| &c.id == id).cloned()).collect::<Option<_>>()?;
    let mut todo: Vec<&String> = cells.iter().flat_map(|c| c.stages.iter()).collect();
    let mut stages = std::collections::BTreeMap::new();
    while let Some(id) = todo.pop() {
        if !stages.contains_key(id) {
            let stage = plan.stages.get(id)?;
            todo.extend(stage.inputs.iter());
            stages.insert(id.clone(), stage.clone());
        }
    }
    Some(Plan { cells, stages, merged: Vec::new(), ..plan.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_keeps_its_chain_and_its_inputs_only() {
        let spec = crate::spec::parse(
            std::path::Path::new("g.toml"),
            "[experiment]\nname = \"g\"\nscale = \"smoke\"\n[base]\nfamilies = [\"vqa\"]\n\
             [grid]\nencoders = [[\"clip\"], [\"convnext\"]]\n",
        )
        .unwrap();
        let plan = crate::plan::plan(&spec, crate::spec::Scale::Smoke);
        let first = &plan.cells[0];
        let part = only_cells(&plan, std::slice::from_ref(&first.id)).unwrap();
        assert_eq!(part.cells, vec![first.clone()]);
        assert!(part.stages.len() < plan.stages.len());
        for id in &first.stages {
            assert!(part.stages.contains_key(id));
            for i in &plan.stages[id].inputs {
                assert!(part.stages.contains_key(i), "input {i} of {id}");
            }
        }
        assert!(only_cells(&plan, &["nope".into()]).is_none());
    }
}
