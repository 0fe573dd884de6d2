//! `eyrie plan`: the cells and stages that would run, which are cached, and the estimated cost.

use super::load;
use crate::cli::{ExperimentArgs, PlanArgs};
use anyhow::{Context, Result};
use eyrie::hypotheses::calibration::{self, Calibration};
use eyrie::hypotheses::power;
use eyrie::hypotheses::sequential::SequentialRule;
use eyrie::plan::{cost, plan, Plan};
use eyrie::search::greedy::set_label;
use eyrie::search::rounds::{round_spec, worst_case_sets};
use eyrie::spec::Precision;
use eyrie::store::Store;
use std::path::{Path, PathBuf};

/// Prints the plan (for a greedy search, its worst case), then what each hypothesis can detect.
pub fn cmd_plan(args: PlanArgs) -> Result<()> {
    let PlanArgs { experiment, calibration, effect, memory } = args;
    let ExperimentArgs { file, scale, results } = experiment;
    let (spec, p) = load(&file, scale, Precision::F32)?;
    super::say_merged(&p);
    let store = Store::new(&results);
    match &spec.greedy {
        None if spec.adaptive.is_some() => {
            let most =
                eyrie::spec::Spec { seeds: (0..spec.adaptive.map_or(0, |a| a.max as u64)).collect(), ..spec.clone() };
            println!(
                "adaptive seeds: every cell runs seeds {:?} first, then only the cells of undecided hypotheses get \
                 more; the plan below is the most that can run (every cell under every seed).\n",
                spec.seeds
            );
            print!("{}", describe_plan(&plan(&most, p.scale), &store)?);
        }
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
    if memory {
        print!("\n{}", super::plan_memory::memory_lines(&p)?);
    }
    if !spec.hypotheses.is_empty() {
        print!("{}", power_lines(&spec, &p.scale.to_string(), &store, calibration.as_deref(), effect)?);
    }
    Ok(())
}

/// The calibration to size power with: `explicit`, else the experiment's own, else the first one (by
/// folder name) at the same scale in the results folder.
fn find_calibration(
    spec: &eyrie::spec::Spec,
    scale: &str,
    store: &Store,
    explicit: Option<&Path>,
) -> Result<Option<(PathBuf, Calibration)>> {
    if let Some(path) = explicit {
        let c = calibration::read(path)?.with_context(|| format!("no calibration at {}", path.display()))?;
        return Ok(Some((path.to_path_buf(), c)));
    }
    let own = store.experiment_dir(&format!("{}-calibration", spec.name)).join("calibration.json");
    let mut candidates = vec![own];
    let listing = || format!("listing {}", store.root.display());
    match std::fs::read_dir(&store.root) {
        Ok(dir) => {
            let mut others = Vec::new();
            for entry in dir {
                others.push(entry.with_context(listing)?.path().join("calibration.json"));
            }
            others.sort();
            candidates.extend(others);
        }
        // No results folder yet: no calibration.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(listing),
    }
    for path in candidates {
        if let Some(c) = calibration::read(&path)? {
            if c.scale == scale {
                return Ok(Some((path, c)));
            }
        }
    }
    Ok(None)
}

/// What each hypothesis can detect, or how to get a calibration.
fn power_lines(
    spec: &eyrie::spec::Spec,
    scale: &str,
    store: &Store,
    explicit: Option<&Path>,
    effect: Option<f64>,
) -> Result<String> {
    let Some((path, cal)) = find_calibration(spec, scale, store, explicit)? else {
        return Ok(format!(
            "\npower: no calibration at scale {scale} in {}; run `eyrie calibrate {}` first (its seed spread sizes \
             what each hypothesis can detect)\n",
            store.root.display(),
            spec.file.display()
        ));
    };
    let cells = power::design_cells(&spec.cells, &spec.hypotheses);
    let Some(adaptive) = spec.adaptive else {
        let rows = power::plan_power(&spec.hypotheses, &cells, spec.seeds.len(), &cal, effect);
        return Ok(power::text(&rows, &path.display().to_string(), effect));
    };
    let rule = SequentialRule::from(adaptive);
    let share = rule.share(rule.max);
    let rows = power::plan_power_at(&spec.hypotheses, &cells, rule.max, share, &cal, effect);
    Ok(format!(
        "\nadaptive seeds {}..{}: the lines below are the power of the last look alone, at {:.1}% of the level \
         (a lower bound: the earlier looks add to it; seeds needed are for that look alone){}",
        rule.min,
        rule.max,
        100.0 * share,
        power::text(&rows, &path.display().to_string(), effect)
    ))
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
    let sharing = p.sharing_counts();
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
            sharing.get(id.as_str()).copied().unwrap_or(0),
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
