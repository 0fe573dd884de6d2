//! `eyrie run` with adaptive seeds (`seeds = { min, max }`): every cell runs `min` seeds, then the
//! cells of hypotheses still undecided get one more seed per round until each is decided or `max`
//! is reached (the stopping rule: `eyrie::hypotheses::sequential`). Every round goes through the
//! same executor and stage cache, so a resumed run replays finished rounds from stored results.

use super::run::Compute;
use super::{close_record, warn_corrupt, Provenance, RunJob};
use anyhow::Result;
use eyrie::backend::run_on;
use eyrie::hypotheses::judge::judge_cells;
use eyrie::hypotheses::power::design_cells;
use eyrie::hypotheses::sequential::{open_cells, SequentialRule};
use eyrie::plan::{cost, plan_at_precision, Plan};
use eyrie::report::options::ReportOptions;
use eyrie::report::provenance;
use eyrie::spec::{Scale, Spec};
use eyrie::store::{CellResult, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The spec of one round: the `open` cells (by label) under seeds `0..n`; the blind baseline only
/// in the first round (it takes part in no hypothesis).
pub fn round_spec(spec: &Spec, open: &BTreeSet<String>, n: usize, first: bool) -> Spec {
    Spec {
        seeds: (0..n as u64).collect(),
        cells: spec.cells.iter().filter(|c| open.contains(&c.key())).cloned().collect(),
        blind_baseline: spec.blind_baseline && first,
        ..spec.clone()
    }
}

/// `full` (every cell under every seed up to the maximum) restricted to the cells that ran, with the
/// stages they use: the plan the report reads.
pub fn ran_plan(full: Plan, ran: &BTreeSet<String>) -> Plan {
    let cells: Vec<_> = full.cells.into_iter().filter(|c| ran.contains(&c.id)).collect();
    let used: BTreeSet<&String> = cells.iter().flat_map(|c| c.stages.iter()).collect();
    let stages = full.stages.iter().filter(|(id, _)| used.contains(id)).map(|(k, v)| (k.clone(), v.clone())).collect();
    Plan { cells, stages, ..full }
}

/// The rounds of adaptive seeds: `run` computes one round's spec and returns its cells' results
/// and, if any cell failed, why (the rounds stop there: a round with failed cells cannot be judged
/// fairly). After each round the hypotheses are judged with `rule`; the next round runs the cells
/// of those still inconclusive with one more seed, until none is or `rule.max` is reached. Returns
/// the failure, if any.
pub fn drive<E>(
    spec: &Spec,
    rule: &SequentialRule,
    mut run: impl FnMut(&Spec) -> Result<(Vec<CellResult>, Option<E>)>,
) -> Result<Option<E>> {
    let design = design_cells(&spec.cells, &spec.hypotheses);
    let mut open: BTreeSet<String> = spec.cells.iter().map(|c| c.key()).collect();
    let mut results: BTreeMap<String, CellResult> = BTreeMap::new();
    for n in rule.min..=rule.max {
        let (got, failed) = run(&round_spec(spec, &open, n, n == rule.min))?;
        results.extend(got.into_iter().map(|r| (r.cell.clone(), r)));
        if failed.is_some() {
            return Ok(failed);
        }
        let all: Vec<CellResult> = results.values().cloned().collect();
        let judged = judge_cells(&spec.hypotheses, &design, &all, Some(rule));
        open = open_cells(&judged);
        let verdicts: Vec<String> =
            judged.iter().enumerate().map(|(i, j)| format!("H{} {} ({} seeds)", i + 1, j.verdict, j.seeds())).collect();
        println!("after {n} seeds: {}; {} cells still open", verdicts.join(", "), open.len());
        if open.is_empty() {
            break;
        }
    }
    Ok(None)
}

/// Runs rounds of seeds until every hypothesis is decided or has the most seeds, then the record,
/// the report and the verdicts.
pub fn run_adaptive(
    spec: &Spec,
    rule: SequentialRule,
    scale: Scale,
    on: &Compute,
    store: &Store,
    reports: &Path,
    who: &Provenance,
) -> Result<()> {
    let Compute { backend, precision, quiet, workers, from_records } = *on;
    let most = Spec { seeds: (0..rule.max as u64).collect(), ..spec.clone() };
    let full = plan_at_precision(&most, scale, precision);
    let record = who.run_record(backend, workers, provenance::plan_digest(&full));
    let start = std::time::Instant::now();
    if !quiet {
        eprintln!(
            "{} cells with adaptive seeds ({} to {} per cell) at scale {scale} on {}: at most {} runs; results in {}",
            spec.cells.len(),
            rule.min,
            rule.max,
            backend.kind,
            full.cells.len(),
            store.root.display()
        );
    }
    provenance::write(store, &spec.name, &record)?;
    provenance::store_spec(store, &spec.name, &spec.file)?;
    let (mut computed, mut cached, mut taken) = (0usize, 0usize, BTreeSet::new());
    let mut ran: BTreeSet<String> = BTreeSet::new();
    let failure = drive(spec, &rule, |round| {
        let p = plan_at_precision(round, scale, precision);
        let summary =
            run_on(backend.kind, backend.index, precision, RunJob { plan: &p, store, quiet, workers, from_records })??;
        computed += summary.computed.len();
        cached += summary.cached;
        taken.extend(summary.from_records.iter().cloned());
        ran.extend(p.cells.iter().map(|c| c.id.clone()));
        let failed = summary.check().err();
        Ok((summary.results, failed))
    })?;
    let final_plan = ran_plan(full, &ran);
    let digest = provenance::plan_digest(&final_plan);
    let exp_dir = store.experiment_dir(&spec.name);
    eyrie::store::write_atomic(&exp_dir.join("plan.json"), serde_json::to_string_pretty(&final_plan)?.as_bytes())?;
    let seconds = start.elapsed().as_secs_f64();
    if computed > 0 || failure.is_some() {
        let done = record.of_plan(digest.clone());
        let done = if failure.is_some() { done } else { done.finished(seconds, computed, cached) };
        provenance::write(store, &spec.name, &done)?;
    } else {
        close_record(store, &spec.name, &digest, who, quiet)?;
    }
    let written = eyrie::report::write(spec, &final_plan, store, reports, &ReportOptions::default())?;
    warn_corrupt(&written);
    if !taken.is_empty() {
        println!("{} runs taken from their stored result records (--from-records), not recomputed", taken.len());
    }
    println!(
        "{} runs over {} cells; {} stages computed, {} cached, in {}. Report: {}",
        final_plan.cells.len(),
        spec.cells.len(),
        computed,
        cached,
        cost::human_duration(seconds),
        written.markdown.display()
    );
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyrie::spec::parse;

    fn spec() -> Spec {
        parse(
            Path::new("a.toml"),
            "[experiment]\nname = \"a\"\nscale = \"smoke\"\nseeds = { min = 2, max = 4 }\n[base]\nencoders = [\"clip\", \"convnext\"]\n\
             [grid]\nunlock = [false, true]\nfusion = [\"channel-concat\", \"sequence-append\"]\n[[hypothesis]]\n\
             claim = \"u\"\ncontrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\nmetric = \"average\"\n\
             expect = \"better\"\n",
        )
        .unwrap()
    }

    #[test]
    fn a_round_runs_only_the_open_cells_and_the_baseline_only_first() {
        let s = spec();
        let open: BTreeSet<String> = [s.cells[1].key()].into_iter().collect();
        let r = round_spec(&s, &open, 3, false);
        assert_eq!((r.cells.len(), r.seeds.clone(), r.blind_baseline), (1, vec![0, 1, 2], false));
        let first = round_spec(&s, &s.cells.iter().map(|c| c.key()).collect(), 2, true);
        assert_eq!((first.cells.len(), first.seeds, first.blind_baseline), (4, vec![0, 1], true));
    }

    #[test]
    fn the_plan_that_ran_keeps_only_its_cells_and_their_stages() {
        let s = spec();
        let full = plan_at_precision(&Spec { seeds: vec![0, 1, 2, 3], ..s.clone() }, Scale::Smoke, Default::default());
        let keep: BTreeSet<String> = full.cells.iter().take(3).map(|c| c.id.clone()).collect();
        let p = ran_plan(full.clone(), &keep);
        assert_eq!(p.cells.len(), 3);
        let used: BTreeSet<&String> = p.cells.iter().flat_map(|c| c.stages.iter()).collect();
        assert_eq!(p.stages.keys().collect::<BTreeSet<_>>(), used);
        assert!(p.stages.len() < full.stages.len());
    }

    /// A result of `cell` with `seed` scoring `average`, from a committed record as a template.
    fn result(cell: &eyrie::spec::CellSettings, seed: u64, average: f64) -> CellResult {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/quickstart/cells");
        let first = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path().join("result.json");
        let mut r: CellResult = serde_json::from_slice(&std::fs::read(first).unwrap()).unwrap();
        r.cell = format!("{}-{seed}", cell.key());
        r.label = cell.label();
        r.seed = seed;
        r.settings = Some(cell.clone());
        r.scores.average = average;
        r
    }

    #[test]
    fn rounds_add_seeds_only_to_the_cells_of_undecided_claims() {
        let s = parse(
            Path::new("d.toml"),
            "[experiment]\nname = \"d\"\nseeds = { min = 3, max = 6 }\n[base]\nencoders = [\"clip\", \"convnext\"]\n\
             [grid]\nfusion = [\"channel-concat\", \"sequence-append\"]\nunlock = [false, true]\n[[hypothesis]]\n\
             claim = \"u\"\ncontrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\n\
             where = { fusion = \"channel-concat\" }\nmetric = \"average\"\nexpect = \"better\"\n[[hypothesis]]\n\
             claim = \"f\"\ncontrast = \"pair\"\na = { fusion = \"channel-concat\" }\nb = { fusion = \"sequence-append\" }\n\
             where = { unlock = false }\nmetric = \"average\"\nexpect = \"better\"\n",
        )
        .unwrap();
        // Unlocking adds 10 points; the fusion nothing; every cell and seed has its own noise (|·| ≤ 1).
        let score = |c: &eyrie::spec::CellSettings, seed: u64| {
            use rand::{Rng, SeedableRng};
            let k = s.cells.iter().position(|x| x == c).unwrap() as u64;
            let noise: f64 = rand_chacha::ChaCha8Rng::seed_from_u64(seed * 31 + k).random_range(-1.0..1.0);
            50.0 + if c.unlock.any() { 10.0 } else { 0.0 } + noise
        };
        let mut rounds: Vec<(usize, Vec<u64>, bool)> = Vec::new();
        let failed = drive::<String>(&s, &SequentialRule { min: 3, max: 6 }, |round| {
            rounds.push((round.cells.len(), round.seeds.clone(), round.blind_baseline));
            let results =
                round.cells.iter().flat_map(|c| round.seeds.iter().map(|&seed| result(c, seed, score(c, seed))));
            Ok((results.collect(), None))
        })
        .unwrap();
        assert!(failed.is_none());
        // Round 1: all four cells, 3 seeds, with the baseline. The unlock claim is decided at once, so
        // only the two cells of the fusion claim (which has no effect) go on, one seed a round, to 6.
        assert_eq!(rounds[0], (4, vec![0, 1, 2], true));
        assert_eq!(
            &rounds[1..],
            &[(2, vec![0, 1, 2, 3], false), (2, vec![0, 1, 2, 3, 4], false), (2, (0..6).collect(), false)]
        );
        // A failed round stops the rounds and is returned.
        let mut calls = 0;
        let failed = drive(&s, &SequentialRule { min: 3, max: 6 }, |_| {
            calls += 1;
            Ok((vec![], Some("cell x diverged".to_string())))
        })
        .unwrap();
        assert_eq!((calls, failed.as_deref()), (1, Some("cell x diverged")));
    }
}
