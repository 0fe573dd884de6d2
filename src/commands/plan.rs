//! `eyrie plan`: the cells and stages that would run, which are cached, and the estimated cost.

use super::load;
use crate::cli::ExperimentArgs;
use anyhow::Result;
use eyrie::plan::{cost, plan, Plan};
use eyrie::search::greedy::set_label;
use eyrie::search::rounds::{round_spec, worst_case_sets};
use eyrie::spec::Precision;
use eyrie::store::Store;

/// Prints the plan (for a greedy search, its worst case).
pub fn cmd_plan(args: ExperimentArgs) -> Result<()> {
    let ExperimentArgs { file, scale, results } = args;
    let (spec, p) = load(&file, scale, Precision::F32)?;
    let store = Store::new(&results);
    match &spec.greedy {
        None => print!("{}", describe_plan(&p, &store)?),
        Some(g) => {
            let worst = plan(&round_spec(&spec, &worst_case_sets(g)), p.scale);
            println!(
                "greedy search from {} over {} candidates, metric {}, at most {} rounds: \
                 in the worst case {} sets × {} seed(s) = {} cells (+ the blind baseline).\n\
                 The plan below is that worst case as if the candidates won in their written order; \
                 the real sets depend on the winners.\n",
                set_label(&g.start),
                g.candidates.len(),
                g.metric,
                g.max_rounds,
                g.worst_case_sets(),
                spec.seeds.len(),
                g.worst_case_sets() * spec.seeds.len()
            );
            print!("{}", describe_plan(&worst, &store)?);
        }
    }
    Ok(())
}

/// The plan's cells (done or not) and stages in run order (cached or not), with the estimated cost.
fn describe_plan(p: &Plan, store: &Store) -> Result<String> {
    let mut out = format!(
        "experiment {} at scale {}: {} cells, {} distinct stages\n\ncells:\n",
        p.experiment,
        p.scale,
        p.cells.len(),
        p.stages.len()
    );
    for c in &p.cells {
        let done = store.read_result(&p.experiment, &c.id)?.is_some();
        let geo: Vec<String> = c.experts.iter().map(|g| g.to_string()).collect();
        out.push_str(&format!(
            "  {} {:<45} seed {}  {} visual tokens  {}{}\n",
            c.id,
            c.label,
            c.seed,
            c.visual_tokens,
            geo.join(" "),
            if done { "  [done]" } else { "" }
        ));
    }
    out.push_str("\nstages (in run order):\n");
    let (mut total, mut remaining) = (0.0, 0.0);
    for id in &eyrie::exec::stage_order(p) {
        let s = &p.stages[id];
        let est = cost::estimate_seconds(&s.kind);
        total += est;
        let cached = store.is_done(id);
        if !cached {
            remaining += est;
        }
        out.push_str(&format!(
            "  {} {:<50} shared by {:>2} cell(s)  {:>6} steps  ~{:>8}  {}\n",
            id,
            s.label,
            p.sharing(id),
            s.kind.steps(),
            cost::human_duration(est),
            if cached { "cached" } else { "to run" }
        ));
    }
    out.push_str(&format!(
        "\nestimated cost: {} in all, {} still to run (stage times summed, as one worker on a 2-core CPU with flex)\n",
        cost::human_duration(total),
        cost::human_duration(remaining)
    ));
    Ok(out)
}
