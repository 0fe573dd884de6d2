//! Computing one stage of each kind on a backend: load inputs, train or evaluate, save outputs.

use crate::checkpoint::encoder::CheckpointEncoder;
use crate::data::llava::chat::ChatFormat;
use crate::data::llava::Conversations;
use crate::data::render::TextColour;
use crate::data::{DataSpec, Pool, Split, TextTask, Tokenizer};
use crate::eval::decode::greedy_answers;
use crate::eval::llava::evaluate_set;
use crate::eval::metrics::score;
use crate::eval::Scores;
use crate::model::encoders::{Expert, ExpertConfig};
use crate::model::lm::{Lm, LmConfig};
use crate::model::{Mllm, MllmConfig};
use crate::plan::{Optim, StageKind};
use crate::store::checkpoint::{self, CheckpointError};
use crate::store::Store;
use crate::train::llava::{answers_kept, train_on_conversations, ConversationSet};
use crate::train::mllm_stages::{train_mllm, Trainable};
use crate::train::pretrain::{pretrain_expert, pretrain_lm, PretrainJob};
use crate::train::{seeded_init, unseeded, FitSettings, Progress, StepLog};
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What computing a stage produced besides its checkpoint.
#[derive(Debug, Default)]
pub struct StageOutput {
    /// Loss log.
    pub log: Vec<StepLog>,
    /// Metrics (retrieval accuracy, parameter counts, …).
    pub metrics: BTreeMap<String, f64>,
    /// Scores (evaluation only).
    pub scores: Option<Scores>,
    /// Training samples seen.
    pub samples: usize,
}

/// Pools kept in memory between stages of one process.
#[derive(Default)]
pub struct PoolCache {
    pools: Vec<(String, Arc<Pool>)>,
}

impl PoolCache {
    /// The pool of `n` samples of `spec` from `split` rendered at `sides`, built once.
    pub fn get(&mut self, spec: &DataSpec, split: Split, n: usize, sides: &[usize]) -> Arc<Pool> {
        let mut sides = sides.to_vec();
        sides.sort();
        sides.dedup();
        let key = format!("{}|{split:?}|{n}|{sides:?}", serde_json::to_string(spec).unwrap());
        if let Some((_, p)) = self.pools.iter().find(|(k, _)| *k == key) {
            return p.clone();
        }
        let pool = Arc::new(Pool::build(spec, split, 0, n, &sides));
        if self.pools.len() >= 4 {
            self.pools.remove(0);
        }
        self.pools.push((key, pool.clone()));
        pool
    }
}

fn fit_settings(o: &Optim) -> FitSettings {
    FitSettings::new(o.steps, o.lr)
}

fn load_expert<B: AutodiffBackend>(
    store: &Store,
    id: &str,
    cfg: &ExpertConfig,
    device: &B::Device,
) -> Result<Expert<B>, CheckpointError> {
    checkpoint::load(unseeded::<B, _>(device, cfg), &store.checkpoint(id))
}

fn load_lm<B: AutodiffBackend>(
    store: &Store,
    id: &str,
    cfg: &LmConfig,
    device: &B::Device,
) -> Result<Lm<B>, CheckpointError> {
    checkpoint::load(unseeded::<B, _>(device, cfg), &store.checkpoint(id))
}

/// Loads the MLLM saved by stage `id` (an align or SFT stage).
pub fn load_mllm<B: AutodiffBackend>(
    store: &Store,
    id: &str,
    m: &MllmConfig,
    device: &B::Device,
) -> Result<Mllm<B>, CheckpointError> {
    // Every parameter is loaded: nothing is drawn.
    checkpoint::load(unseeded::<B, _>(device, m), &store.checkpoint(id))
}

/// Loads the decoder saved by stage `id` (LM pretraining or a checkpoint LM's loading) into `m`.
fn load_decoder<B: AutodiffBackend>(
    m: &mut Mllm<B>,
    store: &Store,
    id: &str,
    model: &MllmConfig,
    device: &B::Device,
) -> Result<(), CheckpointError> {
    match &model.lm_checkpoint {
        Some(ck) => {
            let init = unseeded::<B, _>(device, ck);
            m.llama = Some(checkpoint::load(init, &store.checkpoint(id))?);
        }
        None => m.lm = Some(load_lm::<B>(store, id, &model.lm, device)?),
    }
    Ok(())
}

/// What a training stage of an MLLM needs besides its model and data.
struct TrainJob<'a> {
    cfg: &'a MllmConfig,
    trainable: Trainable,
    optim: &'a Optim,
    settings: FitSettings,
    stage: &'static str,
}

/// Trains on the stage's LLaVA-format `conversations` when it has them, else on the proxy world's
/// `data` for `task` (its pool at the model's expert sides, built once per process).
#[allow(clippy::too_many_arguments)]
fn train_stage<B: AutodiffBackend>(
    m: Mllm<B>,
    job: &TrainJob,
    data: &DataSpec,
    conversations: Option<&Conversations>,
    task: TextTask,
    pools: &mut PoolCache,
    device: &B::Device,
    progress: &dyn Progress,
) -> Result<(Mllm<B>, Vec<StepLog>), super::RunError> {
    if let Some(c) = conversations {
        return train_conversations(m, job, c, device, progress);
    }
    let o = job.optim;
    let sides: Vec<usize> = job.cfg.experts.iter().map(|(_, r)| *r).collect();
    let pool = pools.get(data, Split::Train, o.pool, &sides);
    let t = job.trainable.clone();
    Ok(train_mllm(m, job.cfg, &pool, task, t, o.batch, &job.settings, o.seed, job.stage, device, progress)?)
}

/// Trains on LLaVA-format conversations, tokenized with the checkpoint LM's chat format.
fn train_conversations<B: AutodiffBackend>(
    m: Mllm<B>,
    job: &TrainJob,
    c: &Conversations,
    device: &B::Device,
    progress: &dyn Progress,
) -> Result<(Mllm<B>, Vec<StepLog>), super::RunError> {
    let ck = job.cfg.lm_checkpoint.as_ref().expect("LLaVA-format data comes with a checkpoint LM");
    let set = ConversationSet::read(&c.file, &ChatFormat::open(&ck.dir)?)?;
    let visual = job.cfg.visual_tokens();
    let (answers, cut) = answers_kept(&set, visual, c.max_length);
    if answers == 0 {
        return Err(super::RunError::NoAnswers { file: c.file.path.clone(), max_length: c.max_length, visual });
    }
    if cut > 0 {
        eprintln!(
            "warning: {}: {cut} of {} records are longer than max-length {} (with {visual} visual tokens) and lose their end",
            c.file.path.display(),
            set.examples.len(),
            c.max_length
        );
    }
    let o = job.optim;
    Ok(train_on_conversations(
        m,
        job.cfg,
        &set,
        job.trainable.clone(),
        o.batch,
        c.max_length,
        &job.settings,
        o.seed,
        job.stage,
        device,
        progress,
    )?)
}

/// Parameters that train in SFT (all but the frozen experts).
pub fn trainable_params<B: AutodiffBackend>(m: &Mllm<B>, trainable: &Trainable) -> usize {
    let frozen: usize =
        m.experts.iter().enumerate().filter(|(i, _)| !trainable.expert(*i)).map(|(_, e)| e.num_params()).sum();
    m.num_params() - frozen
}

/// Computes stage `kind` with `inputs`, saving its checkpoint under `id`.
#[allow(clippy::too_many_arguments)]
pub fn compute<B: AutodiffBackend>(
    store: &Store,
    id: &str,
    kind: &StageKind,
    inputs: &[String],
    input_kinds: &[StageKind],
    pools: &mut PoolCache,
    device: &B::Device,
    progress: &dyn Progress,
) -> Result<StageOutput, super::RunError> {
    let vocab = Tokenizer::new().vocab_size();
    let mut out = StageOutput::default();
    match kind {
        StageKind::ExpertPretrain { expert, data, optim } => {
            let side = expert.native_resolution;
            let pool = pools.get(data, Split::Train, optim.pool, &[side]);
            let val = Pool::build(data, Split::Validation, 0, 256, &[side]);
            let coloured = (!data.text.is_scene()).then(|| {
                let scene = DataSpec { text: TextColour::Scene, ..data.clone() };
                Pool::build(&scene, Split::Validation, 0, 256, &[side])
            });
            let job = PretrainJob {
                cfg: expert,
                pool: &pool,
                val: &val,
                val_coloured: coloured.as_ref(),
                vocab,
                batch: optim.batch,
                settings: &fit_settings(optim),
                seed: optim.seed,
            };
            let done = pretrain_expert::<B>(&job, device, progress)?;
            let metric = expert.kind.pretrain_task().metric();
            out.metrics.insert(metric.into(), done.score);
            out.metrics.insert(format!("{metric}_untrained"), done.untrained);
            out.metrics.insert("params".into(), done.expert.num_params() as f64);
            out.metrics.extend(done.extra.iter().cloned());
            out.samples = optim.steps * optim.batch;
            out.log = done.log;
            checkpoint::save(&done.expert, &store.checkpoint(id))?;
        }
        StageKind::ExpertLoad { expert } => {
            let ck = expert.checkpoint.as_ref().expect("an expert-load stage names its checkpoint");
            let loaded = Expert::Checkpoint(CheckpointEncoder::<B>::load(ck, device)?);
            out.metrics.insert("params".into(), loaded.num_params() as f64);
            checkpoint::save(&loaded, &store.checkpoint(id))?;
        }
        StageKind::LmLoad { lm } => {
            let loaded = lm.load::<B>(device)?;
            out.metrics.insert("params".into(), loaded.num_params() as f64);
            checkpoint::save(&loaded, &store.checkpoint(id))?;
        }
        StageKind::LmPretrain { lm, data, optim } => {
            let pool = pools.get(data, Split::Train, optim.pool, &[]);
            let (model, log) =
                pretrain_lm::<B>(lm, &pool, optim.batch, &fit_settings(optim), optim.seed, device, progress)?;
            out.samples = optim.steps * optim.batch;
            out.log = log;
            checkpoint::save(&model, &store.checkpoint(id))?;
        }
        StageKind::PreAlign { model, data, conversations, optim } => {
            let cfg = model;
            let mut m = seeded_init::<B, _>(device, optim.seed, cfg);
            let (expert, _) = &model.experts[0];
            m.experts[0] = load_expert::<B>(store, &inputs[0], expert, device)?;
            load_decoder(&mut m, store, &inputs[1], model, device)?;
            // The expert moves at the default unlocked-expert rate, as in SFT (at the full rate it
            // loses what its own pretraining gave it).
            let settings = FitSettings { group_lr_scale: crate::spec::DEFAULT_VISION_LR_SCALE, ..fit_settings(optim) };
            let job = TrainJob { cfg, trainable: Trainable::pre_align(), optim, settings, stage: "pre-align" };
            let (m, log) =
                train_stage(m, &job, data, conversations.as_ref(), TextTask::Answer, pools, device, progress)?;
            out.samples = optim.steps * optim.batch;
            out.log = log;
            checkpoint::save(&m.experts[0], &store.checkpoint(id))?;
        }
        StageKind::Align { model, data, conversations, optim } => {
            let cfg = model;
            let mut m = seeded_init::<B, _>(device, optim.seed, cfg);
            for (i, ((e, _), input)) in model.experts.iter().zip(inputs).enumerate() {
                m.experts[i] = load_expert::<B>(store, input, e, device)?;
            }
            load_decoder(&mut m, store, inputs.last().expect("align has an LM input"), model, device)?;
            let job =
                TrainJob { cfg, trainable: Trainable::align(), optim, settings: fit_settings(optim), stage: "align" };
            let (m, log) =
                train_stage(m, &job, data, conversations.as_ref(), TextTask::Caption, pools, device, progress)?;
            out.samples = optim.steps * optim.batch;
            out.log = log;
            checkpoint::save(&m, &store.checkpoint(id))?;
        }
        StageKind::Sft { model, unlock, vision_lr_scale, data, conversations, optim } => {
            let cfg = model;
            let input = &inputs[0];
            let m = match &input_kinds[0] {
                StageKind::LmPretrain { .. } | StageKind::LmLoad { .. } => {
                    // The blind baseline: the decoder alone.
                    let mut m = Mllm {
                        experts: vec![],
                        tiles: vec![],
                        natives: vec![],
                        query_view: 0,
                        query_expert: 0,
                        fusion: None,
                        lm: None,
                        llama: None,
                    };
                    load_decoder(&mut m, store, input, model, device)?;
                    m
                }
                _ => load_mllm::<B>(store, input, model, device)?,
            };
            out.metrics.insert("params_total".into(), m.num_params() as f64);
            let kinds: Vec<_> = model.experts.iter().map(|(e, _)| e.kind).collect();
            let trainable = Trainable::sft(unlock, &kinds);
            out.metrics.insert("params_trainable".into(), trainable_params(&m, &trainable) as f64);
            let settings = FitSettings { group_lr_scale: vision_lr_scale.unwrap_or(1.0), ..fit_settings(optim) };
            let job = TrainJob { cfg, trainable, optim, settings, stage: "sft" };
            let (m, log) =
                train_stage(m, &job, data, conversations.as_ref(), TextTask::Answer, pools, device, progress)?;
            out.samples = optim.steps * optim.batch;
            out.log = log;
            checkpoint::save(&m, &store.checkpoint(id))?;
        }
        StageKind::Eval { families, per_family, data_seed, eval_set } => {
            let StageKind::Sft { model, .. } = &input_kinds[0] else { unreachable!("eval reads an SFT stage") };
            let m = load_mllm::<B>(store, &inputs[0], model, device)?.valid();
            if let Some(set) = eval_set {
                let ck = model.lm_checkpoint.as_ref().expect("a JSONL evaluation set comes with a checkpoint LM");
                let chat = ChatFormat::open(&ck.dir)?;
                out.scores = Some(evaluate_set(&m, model, &chat, set, families, device)?);
                return Ok(out);
            }
            let t = Tokenizer::new();
            let sides: Vec<usize> = model.experts.iter().map(|(_, r)| *r).collect();
            let mut fam_scores = Vec::new();
            for f in families {
                let spec = DataSpec::new(*data_seed, vec![*f], 3);
                let pool = Pool::build(&spec, Split::Test, 0, *per_family, &sides);
                let answers = greedy_answers(&m, &sides, &pool, 64, device);
                let preds: Vec<String> = answers.iter().map(|a| t.decode(a)).collect();
                let refs: Vec<String> = pool.samples.iter().map(|s| t.decode(&s.answer_ids)).collect();
                fam_scores.push(score(*f, &preds, &refs));
            }
            out.scores = Some(Scores::new(fam_scores));
        }
    }
    Ok(out)
}
