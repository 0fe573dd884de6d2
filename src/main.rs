//! The `eyrie` binary: parse arguments, run, map errors to exit codes (2: bad spec or arguments).

mod cli;

use anyhow::{Context, Result};
use clap::Parser;
use cli::{Cli, Command, DataAction, ExecArgs};
use eyrie::backend::{default_backend, run_on, BackendJob};
use eyrie::exec::{run_plan, RunOptions, RunSummary};
use eyrie::plan::{cost, plan, plan_at_precision, Plan};
use eyrie::report::compare::Compared;
use eyrie::report::options::{parse_list, ReportOptions};
use eyrie::report::provenance::{device_words, RunRecord};
use eyrie::search::greedy::{search, set_label};
use eyrie::search::rounds::{read_outcome, round_spec, seed_metrics, worst_case_sets, write_outcome};
use eyrie::spec::{BackendKind, ExpertKind, Family, GreedySpec, Precision, Scale, Spec, SpecError};
use eyrie::store::Store;
use std::path::Path;
use std::process::ExitCode;

/// Exit code for a bad experiment file or bad arguments.
const EXIT_BAD_SPEC: u8 = 2;
/// Exit code for a backend that cannot run here.
const EXIT_NO_BACKEND: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(spec) = e.downcast_ref::<SpecError>() {
                eprintln!("error: {spec}");
                return ExitCode::from(EXIT_BAD_SPEC);
            }
            if let Some(b) = e.downcast_ref::<eyrie::backend::BackendError>() {
                eprintln!("error: {b}");
                return ExitCode::from(EXIT_NO_BACKEND);
            }
            if e.downcast_ref::<BadArgument>().is_some() {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_SPEC);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadArgument(String);

fn scale_of(spec: &Spec, arg: &Option<String>) -> Result<Scale> {
    match arg {
        None => Ok(spec.scale),
        Some(s) => s.parse::<Scale>().map_err(|e| BadArgument(format!("--scale: {e}")).into()),
    }
}

fn load(file: &Path, scale: &Option<String>, precision: Precision) -> Result<(Spec, Plan)> {
    let spec = eyrie::spec::load(file)?;
    let scale = scale_of(&spec, scale)?;
    let p = plan_at_precision(&spec, scale, precision);
    Ok((spec, p))
}

struct BenchJob {
    scale: Scale,
    steps: usize,
    warmup: usize,
    parts: bool,
}

impl BackendJob for BenchJob {
    type Output = eyrie::bench::BenchResult;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device, _backend: String) -> Self::Output {
        eyrie::bench::bench::<B>(self.scale, self.steps, self.warmup, self.parts, &device)
    }
}

struct RunJob<'a> {
    plan: &'a Plan,
    store: &'a Store,
    quiet: bool,
    workers: usize,
}

impl BackendJob for RunJob<'_> {
    type Output = Result<RunSummary, eyrie::exec::RunError>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device, backend: String) -> Self::Output {
        run_plan::<B>(self.plan, self.store, &device, &RunOptions { quiet: self.quiet, backend, workers: self.workers })
    }
}

/// One worker per core, at most 4 (small proxy stages leave a core idle each).
fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4)
}

fn parse_precision(arg: &str) -> Result<Precision> {
    Ok(arg.parse::<Precision>().map_err(|e| BadArgument(format!("--precision: {e}")))?)
}

fn parse_backend(arg: &Option<String>) -> Result<(BackendKind, usize)> {
    let Some(text) = arg else { return Ok((default_backend(), 0)) };
    let (name, index) = match text.split_once(':') {
        Some((n, i)) => {
            (n, i.parse::<usize>().map_err(|_| BadArgument(format!("--backend: bad device index in `{text}`")))?)
        }
        None => (text.as_str(), 0),
    };
    let kind = name.parse::<BackendKind>().map_err(|e| BadArgument(format!("--backend: {e}")))?;
    Ok((kind, index))
}

/// The commit this binary was built from (`-dirty` with uncommitted changes), or `unknown` outside
/// git (set by build.rs).
fn git_commit() -> String {
    env!("EYRIE_BUILD_COMMIT").to_string()
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { file, scale, exec: ExecArgs { backend, results, reports, quiet, workers, precision } } => {
            let (kind, index) = parse_backend(&backend)?;
            let precision = parse_precision(&precision)?;
            let (spec, p) = load(&file, &scale, precision)?;
            let store = Store::new(&results);
            let workers = workers.unwrap_or_else(default_workers);
            if let Some(g) = &spec.greedy {
                return run_greedy(&spec, g, p.scale, (kind, index, precision), &store, &reports, quiet, workers);
            }
            if !quiet {
                eprintln!(
                    "{} cells ({} stages) at scale {} on {} ({precision}); results in {}",
                    p.cells.len(),
                    p.stages.len(),
                    p.scale,
                    kind,
                    results.display()
                );
            }
            if p.stages.keys().any(|id| !store.is_done(id)) {
                let record = RunRecord::started(
                    std::env::args().collect::<Vec<_>>().join(" "),
                    git_commit(),
                    kind.to_string(),
                    device_words(kind, index),
                    workers,
                );
                eyrie::report::provenance::write(&store, &p.experiment, &record)?;
                eyrie::report::provenance::store_spec(&store, &p.experiment, &file)?;
            }
            let summary = run_on(kind, index, precision, RunJob { plan: &p, store: &store, quiet, workers })??;
            if !summary.computed.is_empty() {
                let record = RunRecord {
                    command: std::env::args().collect::<Vec<_>>().join(" "),
                    commit: git_commit(),
                    backend: kind.to_string(),
                    device: device_words(kind, index),
                    workers,
                    wall_seconds: summary.seconds,
                    stages_computed: summary.computed.len(),
                    stages_cached: summary.cached,
                    unfinished: false,
                };
                eyrie::report::provenance::write(&store, &p.experiment, &record)?;
            }
            let written = eyrie::report::write(&spec, &p, &store, &reports, &ReportOptions::default())?;
            println!("{}", eyrie::report::markdown::table(&summary.results));
            let effects = eyrie::report::markdown::effects(&summary.results, &spec.axes);
            if !effects.is_empty() {
                println!("Effects:\n{effects}");
            }
            println!(
                "{} stages computed, {} cached, in {}. Report: {}",
                summary.computed.len(),
                summary.cached,
                cost::human_duration(summary.seconds),
                written.markdown.display()
            );
            Ok(())
        }
        Command::Plan { file, scale, results } => {
            let (spec, p) = load(&file, &scale, Precision::F32)?;
            match &spec.greedy {
                None => print!("{}", describe_plan(&p, &Store::new(&results))),
                Some(g) => {
                    let worst = plan(&round_spec(&spec, &worst_case_sets(g)), p.scale);
                    println!(
                        "greedy search from {} over {} candidates, metric {}, at most {} rounds: in the worst case {} sets × {} seed(s) = {} cells (+ the blind baseline).\n\
                         The plan below is that worst case as if the candidates won in their written order; the real sets depend on the winners.\n",
                        set_label(&g.start),
                        g.candidates.len(),
                        g.metric,
                        g.max_rounds,
                        g.worst_case_sets(),
                        spec.seeds.len(),
                        g.worst_case_sets() * spec.seeds.len()
                    );
                    print!("{}", describe_plan(&worst, &Store::new(&results)));
                }
            }
            Ok(())
        }
        Command::Report { files, all, compare, scale, results, reports, format, plots } => {
            let options = ReportOptions {
                tables: parse_list(&format).map_err(|e| BadArgument(format!("--format: {e}")))?,
                plots: parse_list(&plots).map_err(|e| BadArgument(format!("--plots: {e}")))?,
            };
            let store = Store::new(&results);
            let files = if all { experiments_with_results(Path::new("experiments"), &store)? } else { files };
            if files.is_empty() {
                return Err(BadArgument(
                    "name one or more experiment files (or --all for every file in experiments/ with results)".into(),
                )
                .into());
            }
            if compare && files.len() < 2 {
                return Err(BadArgument("--compare needs two or more experiment files".into()).into());
            }
            let mut compared = Vec::new();
            for file in &files {
                let (spec, p) = report_inputs(file, &scale, &store)?;
                if compare {
                    let cells = eyrie::report::estimates::by_cell(&eyrie::report::collect(&p, &store));
                    compared.push(Compared { experiment: p.experiment.clone(), cells });
                    continue;
                }
                let written = eyrie::report::write(&spec, &p, &store, &reports, &options)?;
                println!("{}: wrote {}", p.experiment, written.markdown.display());
            }
            if compare {
                let names: Vec<&str> = compared.iter().map(|c| c.experiment.as_str()).collect();
                let out = reports.join(format!("compare-{}", names.join("-")));
                let path = eyrie::report::compare::write(&compared, &out, &options.plots)?;
                println!("{}", eyrie::report::compare::table(&compared));
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Status { file, scale, results } => {
            let store = Store::new(&results);
            let (_, p) = report_inputs(&file, &scale, &store)?;
            println!("experiment {} ({} cells):", p.experiment, p.cells.len());
            print!("{}", eyrie::exec::status::render(&eyrie::exec::status::status(&p, &store)));
            Ok(())
        }
        Command::Experts { scale, only, exec: ExecArgs { backend, results, reports, quiet, workers, precision } } => {
            let (kind, index) = parse_backend(&backend)?;
            let precision = parse_precision(&precision)?;
            let scale = scale.parse::<Scale>().map_err(|e| BadArgument(format!("--scale: {e}")))?;
            let experts = if only.is_empty() {
                ExpertKind::ALL.to_vec()
            } else {
                only.iter()
                    .map(|n| n.parse::<ExpertKind>().map_err(|e| BadArgument(format!("--expert: {e}"))))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let p = eyrie::plan::experts_plan(&experts, scale, precision);
            let store = Store::new(&results);
            let summary = run_on(
                kind,
                index,
                precision,
                RunJob { plan: &p, store: &store, quiet, workers: workers.unwrap_or_else(default_workers) },
            )??;
            let table = eyrie::report::experts::table(&eyrie::report::experts::rows(&p, &store));
            let out = reports.join("experts").join(format!("{scale}.md"));
            let body = format!(
                "# Experts at the {scale} scale\n\nEach expert pretrained on its own task at its native resolution \
                 (`eyrie experts --scale {scale}`, backend {kind}); metrics on 256 validation images, against an \
                 untrained copy of the same network with the same head.\n\n{table}"
            );
            let done = format!(
                "{} stages computed, {} cached, in {}",
                summary.computed.len(),
                summary.cached,
                cost::human_duration(summary.seconds)
            );
            if only.is_empty() {
                std::fs::create_dir_all(out.parent().unwrap())?;
                std::fs::write(&out, &body)?;
                println!("{table}\n{done}. Table: {}", out.display());
            } else {
                // A partial table is printed, not written over the full one.
                println!("{table}\n{done}.");
            }
            Ok(())
        }
        Command::Bench { scale, steps, warmup, against_torch, step_only, backend, precision, out } => {
            let (kind, index) = parse_backend(&backend)?;
            let precision = parse_precision(&precision)?;
            let scale = scale.parse::<Scale>().map_err(|e| BadArgument(format!("--scale: {e}")))?;
            if steps == 0 {
                return Err(BadArgument("--steps must be at least 1".into()).into());
            }
            if against_torch {
                eyrie::bench::torch::available()?;
            }
            eprintln!("timing the bench cell (clip + convnext, channel concat, unlocked) at scale {scale} on {kind}: {warmup} + {steps} steps{}", if step_only { "" } else { ", then each part" });
            let result = run_on(kind, index, precision, BenchJob { scale, steps, warmup, parts: !step_only })?;
            let torch = if against_torch {
                let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                eprintln!("timing the PyTorch reference on the same shapes ({threads} threads)");
                let torch_device =
                    if matches!(kind, BackendKind::Cuda | BackendKind::CudaUnfused) { "cuda" } else { "cpu" };
                let t = eyrie::bench::torch::run(
                    Path::new("bench/torch_reference.py"),
                    &result.shapes,
                    steps,
                    warmup,
                    threads,
                    torch_device,
                    precision,
                )?;
                if t.params_total != result.params_total {
                    eprintln!("warning: the reference has {} parameters, Eyrie's cell {}: they do not compute the same network", t.params_total, result.params_total);
                }
                Some(t)
            } else {
                None
            };
            let mut run = eyrie::bench::record::BenchRun::new(
                &result,
                torch.as_ref(),
                kind.to_string(),
                device_words(kind, index),
                scale.to_string(),
                std::env::args().collect::<Vec<_>>().join(" "),
                git_commit(),
                eyrie::bench::record::today(),
            );
            run.precision = precision;
            if let (Some(f), Some(t)) = (run.flops_per_step, run.torch_flops_per_step) {
                if (f - t).abs() > 0.01 * t {
                    eprintln!("warning: Eyrie's cell counts {:.3} GFLOP per step, the reference {:.3}: they do not compute the same network", f / 1e9, t / 1e9);
                }
            }
            println!("{}", run.table());
            let path = out.join("bench.json");
            eyrie::bench::record::append(&path, run).with_context(|| format!("writing {}", path.display()))?;
            println!("appended to {}", path.display());
            Ok(())
        }
        Command::Data { action: DataAction::Preview { family, resolution, count, seed, out } } => {
            let family = family.parse::<Family>().map_err(|e| BadArgument(format!("--family: {e}")))?;
            if !(8..=2048).contains(&resolution) {
                return Err(BadArgument(format!("--resolution must be 8..=2048, got {resolution}")).into());
            }
            eyrie::data::preview::contact_sheet(family, resolution, count, seed, &out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}

/// Runs a greedy search: each round's cells through the executor (every stage cached, so a resumed
/// search replays finished rounds from stored results), then the record, the report and the table.
#[allow(clippy::too_many_arguments)]
fn run_greedy(
    spec: &Spec,
    g: &GreedySpec,
    scale: Scale,
    backend: (BackendKind, usize, Precision),
    store: &Store,
    reports: &Path,
    quiet: bool,
    workers: usize,
) -> Result<()> {
    let (kind, index, precision) = backend;
    let start = std::time::Instant::now();
    let (mut computed, mut cached, mut round) = (0usize, 0usize, 0usize);
    if !quiet {
        eprintln!(
            "greedy search from {} over {} candidates at scale {scale} on {kind}: at most {} cells; results in {}",
            set_label(&g.start),
            g.candidates.len(),
            g.worst_case_sets() * spec.seeds.len(),
            store.root.display()
        );
    }
    if read_outcome(store, &spec.name).is_none() {
        let record = RunRecord::started(
            std::env::args().collect::<Vec<_>>().join(" "),
            git_commit(),
            kind.to_string(),
            device_words(kind, index),
            workers,
        );
        eyrie::report::provenance::write(store, &spec.name, &record)?;
        eyrie::report::provenance::store_spec(store, &spec.name, &spec.file)?;
    }
    let outcome = search(g, &mut |sets: &[Vec<ExpertKind>]| -> Result<Vec<Vec<f64>>> {
        let p = plan_at_precision(&round_spec(spec, sets), scale, precision);
        let summary = run_on(kind, index, precision, RunJob { plan: &p, store, quiet, workers })??;
        computed += summary.computed.len();
        cached += summary.cached;
        let scores = seed_metrics(&summary.results, sets, &spec.seeds, &g.metric);
        let line: Vec<String> = sets
            .iter()
            .zip(&scores)
            .map(|(s, v)| format!("{} {:.1}", set_label(s), v.iter().sum::<f64>() / v.len() as f64))
            .collect();
        println!("round {round}: {}", line.join(", "));
        round += 1;
        Ok(scores)
    })?;
    let all = round_spec(spec, &outcome.evaluated_sets());
    let full = plan_at_precision(&all, scale, precision);
    eyrie::store::write_atomic(
        &store.experiment_dir(&spec.name).join("plan.json"),
        serde_json::to_string_pretty(&full)?.as_bytes(),
    )?;
    write_outcome(store, &spec.name, &outcome)?;
    let seconds = start.elapsed().as_secs_f64();
    if computed > 0 {
        let record = RunRecord {
            command: std::env::args().collect::<Vec<_>>().join(" "),
            commit: git_commit(),
            backend: kind.to_string(),
            device: device_words(kind, index),
            workers,
            wall_seconds: seconds,
            stages_computed: computed,
            stages_cached: cached,
            unfinished: false,
        };
        eyrie::report::provenance::write(store, &spec.name, &record)?;
    }
    let written = eyrie::report::write(&all, &full, store, reports, &ReportOptions::default())?;
    println!(
        "chosen: {} ({}); {} stages computed, {} cached, in {}. Report: {}",
        set_label(&outcome.chosen),
        outcome.stop,
        computed,
        cached,
        cost::human_duration(seconds),
        written.markdown.display()
    );
    Ok(())
}

/// The spec and the plan a report describes: what last ran (the stored plan) when there is one;
/// for a greedy search, every set it evaluated.
fn report_inputs(file: &Path, scale: &Option<String>, store: &Store) -> Result<(Spec, Plan)> {
    let (spec, p) = load(file, scale, Precision::F32)?;
    let (spec, p) = match (&spec.greedy, read_outcome(store, &spec.name)) {
        (Some(_), Some(outcome)) => {
            let all = round_spec(&spec, &outcome.evaluated_sets());
            let full = plan(&all, p.scale);
            (all, full)
        }
        _ => (spec, p),
    };
    let p = eyrie::report::stored_plan(store, &p.experiment).unwrap_or(p);
    Ok((spec, p))
}

/// Every `*.toml` in `dir` whose experiment has a results folder, sorted by file name.
fn experiments_with_results(dir: &Path, store: &Store) -> Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let spec = eyrie::spec::load(&f)?;
        if store.experiment_dir(&spec.name).join("plan.json").exists() {
            out.push(f);
        } else {
            eprintln!("skipping {}: no results for `{}` in {}", f.display(), spec.name, store.root.display());
        }
    }
    Ok(out)
}

fn describe_plan(p: &Plan, store: &Store) -> String {
    let mut out = format!(
        "experiment {} at scale {}: {} cells, {} distinct stages\n\ncells:\n",
        p.experiment,
        p.scale,
        p.cells.len(),
        p.stages.len()
    );
    for c in &p.cells {
        let done = store.read_result(&p.experiment, &c.id).is_some();
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
    out
}
