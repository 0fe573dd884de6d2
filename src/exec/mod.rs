//! The local executor: runs a plan's cells stage by stage, reusing cached stages, claiming work
//! so that several processes on one results folder never compute a stage twice.

pub mod stages;
pub mod status;
pub mod ui;
pub mod verify;

use crate::eval::Scores;
use crate::plan::{Plan, StageKind};
use crate::store::claim::{ClaimPolicy, Owner};
use crate::store::{try_claim, write_atomic, CellResult, ClaimResult, StageMeta, Store};
use burn::tensor::backend::AutodiffBackend;
use stages::{compute, PoolCache};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use ui::Ui;

/// A run failed (not a spec problem).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Reading or writing a file or folder of the results folder failed.
    #[error("results folder: {}", path.display())]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint could not be saved or loaded.
    #[error(transparent)]
    Checkpoint(#[from] crate::store::checkpoint::CheckpointError),
    /// A stored record (stage metadata, scores, a cell's result) exists but is unreadable or corrupt.
    #[error(transparent)]
    Read(#[from] crate::store::ReadError),
    /// A stage's input is missing although the plan says it ran.
    #[error("stage {0} finished without its outputs; delete results/artifacts/{0} and rerun")]
    Missing(String),
    /// A stage's training diverged (non-finite or exploding loss, non-finite gradient).
    #[error(transparent)]
    Diverged(#[from] crate::train::Divergence),
    /// A checkpoint-backed expert's folder could not be loaded.
    #[error(transparent)]
    Encoder(#[from] crate::checkpoint::encoder::EncoderError),
    /// The checkpoint LM's folder could not be loaded.
    #[error(transparent)]
    LmCheckpoint(#[from] crate::checkpoint::lm::LmCheckpointError),
    /// LLaVA-format training data could not be read or tokenized.
    #[error(transparent)]
    Conversations(#[from] crate::train::llava::ConversationSetError),
    /// A JSONL evaluation set could not be read or asked.
    #[error(transparent)]
    EvalSet(#[from] crate::eval::llava::EvalSetError),
    /// The checkpoint LM's tokenizer or chat template could not be used.
    #[error(transparent)]
    Chat(#[from] crate::data::llava::chat::ChatError),
    /// `max-length` leaves no answer token of a conversation file to train on.
    #[error(
        "{}: max-length {max_length} leaves no answer token to train on (each record's prompt and {visual} \
         visual tokens fill it); raise [data] max-length",
        file.display()
    )]
    NoAnswers {
        /// The conversation file.
        file: std::path::PathBuf,
        /// The limit.
        max_length: usize,
        /// Visual tokens of the cell's model.
        visual: usize,
    },
    /// A stage's computation panicked.
    #[error("stage {0} panicked: {1}")]
    Panicked(String, String),
}

/// A cell that could not finish in this run: one stage of its chain failed.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedCell {
    /// The cell's label.
    pub label: String,
    /// Its seed.
    pub seed: u64,
    /// The label of the stage that failed (the cell's own or one it depends on).
    pub stage: String,
    /// Why, with its causes.
    pub reason: String,
}

impl std::fmt::Display for FailedCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (seed {}): stage {} failed: {}", self.label, self.seed, self.stage, self.reason)
    }
}

/// Stages failed: the run went on with the rest, and says which cells failed and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", failure_text(.cells, .stages, *.total))]
pub struct CellsFailed {
    /// The failed cells.
    pub cells: Vec<FailedCell>,
    /// Every stage that failed in the run (label, reason).
    pub stages: Vec<(String, String)>,
    /// Cells in the plan.
    pub total: usize,
}

fn failure_text(cells: &[FailedCell], stages: &[(String, String)], total: usize) -> String {
    let mut text = format!("{} stage(s) failed", stages.len());
    if total > 0 {
        text.push_str(&format!(", {} of {total} cells failed", cells.len()));
    }
    for (label, reason) in stages {
        text.push_str(&format!("\n  stage {label}: {reason}"));
    }
    for c in cells {
        text.push_str(&format!("\n  cell {} (seed {}): stage {} failed", c.label, c.seed, c.stage));
    }
    text
}

/// Turns an io error on `path` into a [`RunError::Io`] naming it.
pub(crate) fn at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io { path: path.to_path_buf(), source }
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunSummary {
    /// Stages computed by this process.
    pub computed: Vec<String>,
    /// Stages found already done.
    pub cached: usize,
    /// Results of the cells that finished, in plan order.
    pub results: Vec<CellResult>,
    /// Cells that could not finish (a stage of their chain failed), in plan order.
    pub failed: Vec<FailedCell>,
    /// Stages that failed in this run (label, reason), in plan order.
    pub failed_stages: Vec<(String, String)>,
    /// Cells (ids) taken from their stored result records without their stages (`from_records`).
    pub from_records: Vec<String>,
    /// Wall seconds of the run.
    pub seconds: f64,
}

impl RunSummary {
    /// An error listing the failed cells, if any failed.
    pub fn check(&self) -> Result<(), CellsFailed> {
        if self.failed.is_empty() && self.failed_stages.is_empty() {
            return Ok(());
        }
        Err(CellsFailed {
            cells: self.failed.clone(),
            stages: self.failed_stages.clone(),
            total: self.results.len() + self.failed.len(),
        })
    }
}

/// Run-time settings that do not change results.
pub struct RunOptions {
    /// Hide progress bars.
    pub quiet: bool,
    /// Backend name recorded in results.
    pub backend: String,
    /// Stages computed at once by this process (threads); ready stages are picked in plan order.
    pub workers: usize,
    /// Count a cell whose result record is stored as done even when its stages are not (a fresh
    /// clone of committed records): the cell is not recomputed, and only the stages that unfinished
    /// cells need are run. The record is matched by the cell's id, its evaluation stage's content id.
    pub from_records: bool,
}

/// Work shared by the worker threads of one run.
#[derive(Default)]
struct Shared {
    in_progress: HashSet<String>,
    computed: Vec<String>,
    finished_cells: HashSet<String>,
    /// Stages that failed in this run, with the reason: they and their dependants are not run again.
    failed: BTreeMap<String, String>,
    /// An error of the results folder itself (not of one stage): the run stops.
    error: Option<RunError>,
    /// Stages another process holds, with the owner last seen (said once per owner).
    waiting: BTreeMap<String, Owner>,
}

impl Shared {
    /// The failed stage that stops `id` (itself or one of its inputs, transitively), if any.
    fn blocker(&self, plan: &Plan, id: &str) -> Option<String> {
        if self.failed.contains_key(id) {
            return Some(id.to_string());
        }
        plan.stages[id].inputs.iter().find_map(|i| self.blocker(plan, i))
    }
}

/// Every stage id of the plan once, in run order (cells in order, each cell's chain in order, then
/// stages that belong to no cell).
pub fn stage_order(plan: &Plan) -> Vec<String> {
    let mut seen = HashSet::new();
    let chains = plan.cells.iter().flat_map(|c| c.stages.iter());
    chains.chain(plan.stages.keys()).filter(|id| seen.insert((*id).clone())).cloned().collect()
}

/// Runs every stage of `plan` that is not done yet, then writes every cell's result.
///
/// Stages run like a build: a worker takes the first stage in plan order whose inputs are done and
/// that nobody (no thread, no other process) is computing. Nothing done is ever computed again.
/// A stage that fails (diverges, panics, cannot load its inputs) fails its cells: its dependants
/// are not run, the other cells go on, and the summary lists the failed cells with the reason
/// (also kept beside the stage for `eyrie status`). An error of the results folder itself stops
/// the run.
pub fn run_plan<B: AutodiffBackend>(
    plan: &Plan,
    store: &Store,
    device: &B::Device,
    opts: &RunOptions,
) -> Result<RunSummary, RunError> {
    let exp_dir = store.experiment_dir(&plan.experiment);
    std::fs::create_dir_all(&exp_dir).map_err(at(&exp_dir))?;
    let plan_path = exp_dir.join("plan.json");
    write_atomic(&plan_path, serde_json::to_string_pretty(plan).unwrap().as_bytes()).map_err(at(&plan_path))?;
    run_cells::<B>(plan, store, device, opts)
}

/// [`run_plan`] without recording `plan` as the experiment's plan (`results/<experiment>/plan.json`):
/// for a part of the experiment's plan, such as one Slurm array task's cell, whose whole plan its
/// submitter recorded.
pub fn run_cells<B: AutodiffBackend>(
    plan: &Plan,
    store: &Store,
    device: &B::Device,
    opts: &RunOptions,
) -> Result<RunSummary, RunError> {
    let start = Instant::now();
    let ui = Ui::new(plan.cells.len(), opts.quiet);
    let removed = crate::store::temps::clean_run_temps(store, &plan.experiment).map_err(std::io::Error::from);
    for path in removed.map_err(at(&store.root))? {
        ui.warn(&format!("removed {}: a temporary file its writer (a stopped process) left", path.display()));
    }
    verify::verify_plan(plan, store, &ui)?;
    let claims = ClaimPolicy::from_env();
    clear_claims_of_done_stages(plan, store, &claims, &ui)?;
    let shared = Mutex::new(Shared::default());
    let mut from_records = Vec::new();
    for cell in &plan.cells {
        // By default a stored result counts only with its stages: result records are committed
        // without the checkpoints, and a fresh clone's run recomputes them and rewrites the results.
        let stages_done = cell.stages.iter().all(|s| store.is_done(s));
        if store.read_result(&plan.experiment, &cell.id)?.is_some() && (stages_done || opts.from_records) {
            shared.lock().unwrap().finished_cells.insert(cell.id.clone());
            if !stages_done {
                from_records.push(cell.id.clone());
            }
            ui.cell_done(&cell.label);
        }
    }
    let order =
        if opts.from_records { needed_stages(plan, &shared.lock().unwrap().finished_cells) } else { stage_order(plan) };
    let ctx = Ctx { plan, store, ui: &ui, order: &order, shared: &shared, backend: &opts.backend, claims: &claims };
    std::thread::scope(|s| {
        for _ in 0..opts.workers.max(1) {
            s.spawn(|| worker::<B>(&ctx, device));
        }
    });
    ui.finish();
    // A peer killed between finishing a stage and releasing its claim while this run went on; a
    // failure here must not hide the run's own outcome.
    if let Err(e) = clear_claims_of_done_stages(plan, store, &claims, &ui) {
        ui.warn(&format!("could not clear the claims stopped processes left: {e}"));
    }
    let shared = shared.into_inner().unwrap();
    if let Some(e) = shared.error {
        return Err(e);
    }
    let (mut results, mut failed) = (Vec::new(), Vec::new());
    for c in &plan.cells {
        let blocker = c.stages.iter().find_map(|s| shared.blocker(plan, s));
        match blocker {
            Some(stage) => {
                // A result from an earlier run of this cell no longer stands: kept aside, not reported.
                let result = store.cell_dir(&plan.experiment, &c.id).join("result.json");
                if result.exists() {
                    std::fs::rename(&result, result.with_extension("json.stale")).map_err(at(&result))?;
                }
                failed.push(FailedCell {
                    label: c.label.clone(),
                    seed: c.seed,
                    stage: plan.stages[&stage].label.clone(),
                    reason: shared.failed[&stage].clone(),
                })
            }
            None => results
                .push(store.read_result(&plan.experiment, &c.id)?.ok_or_else(|| RunError::Missing(c.id.clone()))?),
        }
    }
    let not_computed = order.iter().filter(|id| !store.is_done(id)).count();
    let failed_stages = order
        .iter()
        .filter_map(|id| shared.failed.get(id).map(|r| (plan.stages[id].label.clone(), r.clone())))
        .collect();
    Ok(RunSummary {
        failed_stages,
        cached: order.len() - shared.computed.len() - not_computed,
        computed: shared.computed,
        results,
        failed,
        from_records,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Removes the claims that stopped processes left on stages that are done (a process killed
/// between finishing a stage and releasing its claim): workers never look at a done stage again, so
/// nothing else would. Claims of live owners are kept.
fn clear_claims_of_done_stages(plan: &Plan, store: &Store, policy: &ClaimPolicy, ui: &Ui) -> Result<(), RunError> {
    for id in plan.stages.keys() {
        let path = store.claim_path(id);
        if path.exists() && store.is_done(id) && crate::store::claim::clear_stale(&path, policy).map_err(at(&path))? {
            ui.warn(&format!("removed the claim a stopped process left on {} (done)", plan.stages[id].label));
        }
    }
    Ok(())
}

/// The stages, in run order, that the cells not in `finished` need (their chains and, transitively,
/// the chains' inputs).
fn needed_stages(plan: &Plan, finished: &HashSet<String>) -> Vec<String> {
    let mut needed = HashSet::new();
    let mut todo: Vec<&String> =
        plan.cells.iter().filter(|c| !finished.contains(&c.id)).flat_map(|c| c.stages.iter()).collect();
    while let Some(id) = todo.pop() {
        if needed.insert(id.clone()) {
            todo.extend(plan.stages[id].inputs.iter());
        }
    }
    stage_order(plan).into_iter().filter(|id| needed.contains(id)).collect()
}

struct Ctx<'a> {
    plan: &'a Plan,
    store: &'a Store,
    ui: &'a Ui,
    order: &'a [String],
    shared: &'a Mutex<Shared>,
    backend: &'a str,
    claims: &'a ClaimPolicy,
}

fn worker<B: AutodiffBackend>(ctx: &Ctx, device: &B::Device) {
    let mut pools = PoolCache::default();
    loop {
        if let Err(e) = finish_cells(ctx) {
            ctx.shared.lock().unwrap().error.get_or_insert(e);
        }
        let (pick, all_done) = {
            let mut sh = ctx.shared.lock().unwrap();
            if sh.error.is_some() {
                return;
            }
            let mut all_done = true;
            let mut pick = None;
            for id in ctx.order {
                if ctx.store.is_done(id) || sh.blocker(ctx.plan, id).is_some() {
                    continue;
                }
                all_done = false;
                let ready = ctx.plan.stages[id].inputs.iter().all(|i| ctx.store.is_done(i));
                if !ready || sh.in_progress.contains(id) {
                    continue;
                }
                match claimed_elsewhere(ctx.store, id, ctx.claims) {
                    Some(owner) => {
                        if sh.waiting.get(id) != Some(&owner) {
                            let label = &ctx.plan.stages[id].label;
                            ctx.ui.warn(&format!("waiting for {label}: {owner} is computing it"));
                            sh.waiting.insert(id.clone(), owner);
                        }
                    }
                    None => {
                        pick = Some(id.clone());
                        break;
                    }
                }
            }
            if let Some(id) = &pick {
                sh.in_progress.insert(id.clone());
            }
            (pick, all_done)
        };
        match pick {
            Some(id) => {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    ensure_stage::<B>(ctx, &id, device, &mut pools)
                }))
                .unwrap_or_else(|p| Err(RunError::Panicked(id.clone(), panic_message(&p))));
                let mut sh = ctx.shared.lock().unwrap();
                sh.in_progress.remove(&id);
                match r {
                    Ok(true) => {
                        let _ = std::fs::remove_file(ctx.store.failure_path(&id));
                        sh.computed.push(id)
                    }
                    // Done meanwhile, or claimed by another process (or its claim is being written): look again shortly.
                    Ok(false) => {
                        drop(sh);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => {
                        // Kept for `eyrie status`; the next successful run of the stage removes it.
                        let reason = with_causes(&e);
                        let note = ctx.store.failure_path(&id);
                        if let Err(e) = std::fs::write(&note, &reason) {
                            ctx.ui.warn(&format!("cannot keep the failure note {}: {e}", note.display()));
                        }
                        ctx.ui.warn(&format!("FAILED {}: {reason}", ctx.plan.stages[&id].label));
                        sh.failed.insert(id, reason);
                    }
                }
            }
            None if all_done => {
                if let Err(e) = finish_cells(ctx) {
                    ctx.shared.lock().unwrap().error.get_or_insert(e);
                }
                return;
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// An error and its chain of causes, `: `-separated (the failure note `eyrie status` shows); a cause
/// the message already quotes is not repeated.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text.push_str(&format!(": {c_text}"));
        }
        cause = c.source();
    }
    text
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// The live owner of stage `id`'s claim, if it is another process.
fn claimed_elsewhere(store: &Store, id: &str, policy: &ClaimPolicy) -> Option<Owner> {
    crate::store::claim::live_owner(&store.claim_path(id), policy).filter(|o| !o.is_this_process())
}

/// Writes the result of every cell whose stages are all done and that has none yet.
fn finish_cells(ctx: &Ctx) -> Result<(), RunError> {
    for cell in &ctx.plan.cells {
        if ctx.shared.lock().unwrap().finished_cells.contains(&cell.id)
            || !cell.stages.iter().all(|s| ctx.store.is_done(s))
        {
            continue;
        }
        if !ctx.shared.lock().unwrap().finished_cells.insert(cell.id.clone()) {
            continue;
        }
        let (plan, store) = (ctx.plan, ctx.store);
        let result = cell_result(plan, store, cell, ctx.backend)?;
        let dir = store.cell_dir(&plan.experiment, &cell.id);
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            write_atomic(&path, bytes).map_err(|source| RunError::Io { path, source })
        };
        write("spec.json", serde_json::to_string_pretty(cell).unwrap().as_bytes())?;
        let mut metrics = String::new();
        for id in &cell.stages {
            let log = store.artifact_dir(id).join("log.jsonl");
            metrics.push_str(&std::fs::read_to_string(&log).map_err(at(&log))?);
        }
        write("metrics.jsonl", metrics.as_bytes())?;
        write("result.json", serde_json::to_string_pretty(&result).unwrap().as_bytes())?;
        ctx.ui.println(&format!("done {} (seed {}): average {:.1}", cell.label, cell.seed, result.scores.average));
        ctx.ui.cell_done(&cell.label);
    }
    Ok(())
}

/// Makes sure stage `id` is done; returns whether this call computed it (false: done or claimed elsewhere).
fn ensure_stage<B: AutodiffBackend>(
    ctx: &Ctx,
    id: &str,
    device: &B::Device,
    pools: &mut PoolCache,
) -> Result<bool, RunError> {
    let (plan, store, ui, backend) = (ctx.plan, ctx.store, ctx.ui, ctx.backend);
    if store.is_done(id) {
        // A process killed between finishing the stage and releasing its claim left the claim behind.
        let claim_path = store.claim_path(id);
        crate::store::claim::clear_stale(&claim_path, ctx.claims).map_err(at(&claim_path))?;
        return Ok(false);
    }
    let claim_path = store.claim_path(id);
    let claim = match try_claim(&claim_path, ctx.claims).map_err(at(&claim_path))? {
        ClaimResult::Claimed(c) => c,
        ClaimResult::Busy(_) => return Ok(false),
    };
    if let Some(why) = &claim.took_over {
        ui.warn(&format!("taking over {}: {why}", plan.stages[id].label));
    }
    if store.is_done(id) {
        return Ok(false);
    }
    let stage = &plan.stages[id];
    let input_kinds: Vec<StageKind> = stage.inputs.iter().map(|i| plan.stages[i].kind.clone()).collect();
    for i in &stage.inputs {
        if !store.is_done(i) {
            return Err(RunError::Missing(i.clone()));
        }
    }
    let bar = ui.stage(&stage.label, stage.kind.steps());
    let t0 = Instant::now();
    let out = compute::<B>(store, id, &stage.kind, &stage.inputs, &input_kinds, pools, device, &bar)?;
    let seconds = t0.elapsed().as_secs_f64();
    drop(bar);
    let dir = store.artifact_dir(id);
    std::fs::create_dir_all(&dir).map_err(at(&dir))?;
    let write = |path: std::path::PathBuf, bytes: &[u8]| {
        write_atomic(&path, bytes).map_err(|source| RunError::Io { path, source })
    };
    let log: String = out.log.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect();
    write(dir.join("log.jsonl"), log.as_bytes())?;
    if let Some(scores) = &out.scores {
        write(dir.join("scores.json"), serde_json::to_string_pretty(scores).unwrap().as_bytes())?;
    }
    let meta = StageMeta {
        id: id.to_string(),
        kind: stage.kind.name().to_string(),
        label: stage.label.clone(),
        seconds,
        samples_per_second: if seconds > 0.0 { out.samples as f64 / seconds } else { 0.0 },
        first_loss: out.log.first().map(|l| l.loss),
        last_loss: out.log.last().map(|l| l.loss),
        metrics: out.metrics,
        backend: backend.to_string(),
        files: crate::store::integrity::hash_outputs(&dir).map_err(at(&dir))?,
    };
    write(store.meta_path(id), serde_json::to_string_pretty(&meta).unwrap().as_bytes())?;
    let extra = match &stage.kind {
        StageKind::ExpertPretrain { expert, .. } => {
            let metric = expert.kind.pretrain_task().metric();
            meta.metrics.get(metric).map(|a| {
                format!(
                    ", {metric} {a:.1}% (untrained {:.1}%)",
                    meta.metrics.get(&format!("{metric}_untrained")).unwrap_or(&0.0)
                )
            })
        }
        _ => None,
    };
    ui.println(&format!(
        "  {} in {}{}",
        stage.label,
        crate::plan::cost::human_duration(seconds),
        extra.unwrap_or_default()
    ));
    drop(claim);
    Ok(true)
}

fn cell_result(
    plan: &Plan,
    store: &Store,
    cell: &crate::plan::PlannedCell,
    backend: &str,
) -> Result<CellResult, RunError> {
    let mut stage_seconds = BTreeMap::new();
    let mut train_seconds = 0.0;
    let mut sps = 0.0;
    let mut params = (0usize, 0usize);
    for id in &cell.stages {
        let meta = store.read_meta(id)?.ok_or_else(|| RunError::Missing(id.clone()))?;
        let kind = &plan.stages[id].kind;
        stage_seconds.insert(crate::store::records::stage_seconds_key(&meta.kind, &meta.label), meta.seconds);
        match kind {
            StageKind::Align { .. } => train_seconds += meta.seconds,
            StageKind::Sft { .. } => {
                train_seconds += meta.seconds;
                sps = meta.samples_per_second;
                params = (
                    meta.metrics.get("params_total").copied().unwrap_or(0.0) as usize,
                    meta.metrics.get("params_trainable").copied().unwrap_or(0.0) as usize,
                );
            }
            _ => {}
        }
    }
    let scores: Scores = crate::store::read_json(&store.artifact_dir(&cell.id).join("scores.json"))?
        .ok_or_else(|| RunError::Missing(cell.id.clone()))?;
    Ok(CellResult {
        experiment: plan.experiment.clone(),
        cell: cell.id.clone(),
        label: cell.label.clone(),
        seed: cell.seed,
        settings: cell.settings.clone(),
        scores,
        visual_tokens: cell.visual_tokens,
        params_total: params.0,
        params_trainable: params.1,
        train_seconds,
        sft_samples_per_second: sps,
        stage_seconds,
        experts: cell.experts.clone(),
        scale: plan.scale.to_string(),
        backend: backend.to_string(),
        schema: Some(crate::plan::ids::SCHEMA_VERSION),
        commit: Some(crate::report::provenance::BUILD_COMMIT.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_records_the_time_of_every_stage_of_its_chain() {
        // Two experts: two expert-pretrain stages, each with its own time.
        let spec = crate::spec::parse(
            std::path::Path::new("two.toml"),
            "[experiment]\nname = \"two\"\nscale = \"smoke\"\nblind-baseline = false\n[base]\n\
             encoders = [\"clip\", \"sam\"]\nfamilies = [\"vqa\"]\n",
        )
        .unwrap();
        let plan = crate::plan::plan(&spec, crate::spec::Scale::Smoke);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let cell = &plan.cells[0];
        for (i, id) in cell.stages.iter().enumerate() {
            let stage = &plan.stages[id];
            let meta = StageMeta {
                id: id.clone(),
                kind: stage.kind.name().to_string(),
                label: stage.label.clone(),
                seconds: i as f64 + 1.0,
                samples_per_second: 0.0,
                first_loss: None,
                last_loss: None,
                metrics: Default::default(),
                backend: "flex".into(),
                files: Default::default(),
            };
            std::fs::create_dir_all(store.artifact_dir(id)).unwrap();
            std::fs::write(store.meta_path(id), serde_json::to_string(&meta).unwrap()).unwrap();
        }
        let scores = crate::report::estimates::tests::result("x", 0, 50.0, 50.0).scores;
        std::fs::create_dir_all(store.artifact_dir(&cell.id)).unwrap();
        std::fs::write(store.artifact_dir(&cell.id).join("scores.json"), serde_json::to_string(&scores).unwrap())
            .unwrap();
        let result = cell_result(&plan, &store, cell, "flex").unwrap();
        assert_eq!(result.schema, Some(crate::plan::ids::SCHEMA_VERSION));
        assert_eq!(result.commit.as_deref(), Some(crate::report::provenance::BUILD_COMMIT));
        assert_eq!(result.backend, "flex");
        assert_eq!(result.stage_seconds.len(), cell.stages.len(), "{:?}", result.stage_seconds);
        let pretrain: Vec<_> = result.stage_seconds.keys().filter(|k| k.starts_with("expert-pretrain ")).collect();
        assert_eq!(pretrain.len(), 2, "{:?}", result.stage_seconds);
        let total: f64 = result.stage_seconds.values().sum();
        let n = cell.stages.len() as f64;
        assert_eq!(total, n * (n + 1.0) / 2.0, "every stage's own time");
    }

    #[test]
    fn a_corrupt_stage_record_is_an_error_not_a_missing_stage() {
        let spec = crate::spec::parse(
            std::path::Path::new("one.toml"),
            "[experiment]\nname = \"one\"\nscale = \"smoke\"\nblind-baseline = false\n[base]\n\
             encoders = [\"clip\"]\nfamilies = [\"vqa\"]\n",
        )
        .unwrap();
        let plan = crate::plan::plan(&spec, crate::spec::Scale::Smoke);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let id = &plan.cells[0].stages[0];
        std::fs::create_dir_all(store.artifact_dir(id)).unwrap();
        std::fs::write(store.meta_path(id), "{").unwrap();
        let err = cell_result(&plan, &store, &plan.cells[0], "flex").unwrap_err();
        assert!(matches!(err, RunError::Read(_)), "{err:?}");
        assert!(err.to_string().contains(&store.meta_path(id).display().to_string()), "{err}");
    }
}
