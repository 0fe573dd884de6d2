//! The plan: cells (one MLLM each, per seed), their chains of stages, content ids, and cost.

pub mod cost;
pub mod ids;
pub mod memory;
pub mod stage;

pub use stage::{Optim, Stage, StageKind};

use crate::checkpoint::lm::LmCheckpoint;
use crate::data::llava::Conversations;
use crate::data::render::TextColour;
use crate::data::tokenizer::Tokenizer;
use crate::data::DataSpec;
use crate::model::encoders::ExpertConfig;
use crate::model::lm::LmConfig;
use crate::model::MllmConfig;
use crate::spec::{
    CellSettings, ExpertKind, ExpertSources, Family, FusionKind, LlavaData, Precision, PretrainSeed, Scale,
    ScalePreset, Spec, Tiling, TokenGrid, Unlock,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The world every stage draws from (fixed, so stages are shared across experiments).
pub const WORLD_SEED: u64 = 2024;
/// Seed of the pretraining stages when they are shared by every cell and seed (`pretrain-seed = "shared"`).
pub const PRETRAIN_SEED: u64 = 0;
/// Default peak learning rate of SFT.
pub const DEFAULT_SFT_LR: f64 = 2e-3;

/// One expert's geometry in a cell (recorded so a "448" expert that really sees 336 cannot hide).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpertGeometry {
    /// The expert.
    pub expert: ExpertKind,
    /// Effective input resolution in pixels.
    pub resolution: usize,
    /// Its pretraining resolution.
    pub native_resolution: usize,
    /// Output token grid side at that resolution (of the stitched map when tiled).
    pub grid: usize,
    /// Tiles per side when the expert tiles its input (0: one pass).
    #[serde(default)]
    pub tiles: usize,
    /// Tokens the expert outputs (tiles and thumbnail together when tiled).
    #[serde(default)]
    pub tokens: usize,
}

impl std::fmt::Display for ExpertGeometry {
    /// `clip@128px:16x16`, or `clip@128px:2x2 tiles of 64px+thumbnail:8x8+4x4` when tiled.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.tiles > 1 {
            let thumb = ((self.tokens - self.grid * self.grid) as f64).sqrt().round() as usize;
            write!(
                f,
                "{}@{}px:{k}x{k} tiles of {}px+thumbnail:{g}x{g}+{thumb}x{thumb}",
                self.expert,
                self.resolution,
                self.native_resolution,
                k = self.tiles,
                g = self.grid
            )
        } else {
            write!(f, "{}@{}px:{}x{}", self.expert, self.resolution, self.grid, self.grid)
        }
    }
}

/// One cell: an MLLM trained and evaluated with one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCell {
    /// Content id (its evaluation stage's id).
    pub id: String,
    /// Readable label (`blind` for the baseline).
    pub label: String,
    /// The settings (None for the blind baseline).
    pub settings: Option<CellSettings>,
    /// Seed.
    pub seed: u64,
    /// Stage ids from the first to run to the evaluation.
    pub stages: Vec<String>,
    /// Each expert's effective resolution and grid.
    pub experts: Vec<ExpertGeometry>,
    /// Visual tokens the LM receives.
    pub visual_tokens: usize,
    /// Families evaluated.
    pub families: Vec<Family>,
}

/// An experiment resolved into cells and a deduplicated stage graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Experiment name.
    pub experiment: String,
    /// Scale the plan was made at.
    pub scale: Scale,
    /// Float type the training stages run at.
    #[serde(default)]
    pub precision: Precision,
    /// The cells, in spec order (seeds innermost), blind baseline(s) last.
    pub cells: Vec<PlannedCell>,
    /// Every stage by id.
    pub stages: BTreeMap<String, Stage>,
    /// Cells of the spec that train the same model as an earlier cell and so run (and are reported)
    /// once: (this cell's label and seed, the earlier cell's label), e.g. a learning-rate scale of
    /// frozen experts. Said by `eyrie plan` and `eyrie run`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<(String, String)>,
}

impl Plan {
    /// How many cells use stage `id` (a pass over every cell: for every stage at once, use
    /// [`Plan::sharing_counts`]).
    pub fn sharing(&self, id: &str) -> usize {
        self.cells.iter().filter(|c| c.stages.iter().any(|s| s == id)).count()
    }

    /// How many cells use each stage, for every stage a cell uses, in one pass over the cells.
    pub fn sharing_counts(&self) -> HashMap<&str, usize> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for c in &self.cells {
            let mut mine: Vec<&str> = c.stages.iter().map(|s| s.as_str()).collect();
            mine.sort_unstable();
            mine.dedup();
            for id in mine {
                *counts.entry(id).or_default() += 1;
            }
        }
        counts
    }
}

struct Builder {
    scale: Scale,
    precision: Precision,
    preset: ScalePreset,
    pretrain_seed: PretrainSeed,
    stages: BTreeMap<String, Stage>,
    /// The families whose expert comes from a checkpoint folder.
    sources: ExpertSources,
    /// The checkpoint LM in place of Eyrie's own (`[lm] checkpoint`).
    lm_source: Option<LmCheckpoint>,
    /// LLaVA-format data in place of the proxy world (`[data]`).
    llava: Option<LlavaData>,
}

/// How many times the scale's `expert_steps` an expert pretrains for, each to where its own task
/// metric passes 60% at the proxy scale (`docs/experts-tuning.md`). `clip` is the text-aligned
/// expert the resolution study reads through: learning to read from captions takes it about five
/// times the steps (OCR-only caption retrieval at the proxy scale, 3/8 text: 29.7% after 1000 steps;
/// uniform mixture, 600 steps: 10.2%; chance ≈ 6%). At 200 steps segmentation (mIoU 46.9%),
/// detection (box recall 42.4%) and reading (char accuracy 44.6%) are still climbing.
/// `pix2struct`, half its words in ink, reads 35.2% of the coloured words after 2000 steps and
/// 93.4% after 4000 (docs/experts-tuning.md, fourth pass).
fn expert_step_factor(kind: ExpertKind) -> usize {
    match kind {
        ExpertKind::ConvNext => 2,
        ExpertKind::Clip | ExpertKind::Sam | ExpertKind::Eva02 => 5,
        ExpertKind::Pix2Struct => 20,
    }
}

/// How many times the scale's `train_pool` distinct scenes an expert pretrains on: `pix2struct`,
/// trained on ink words, read 54.3% of the validation words from the scale's 4096 scenes and 68.0%
/// from four times as many (one run each; docs/experts-tuning.md, fourth pass).
fn expert_pool_factor(kind: ExpertKind) -> usize {
    match kind {
        ExpertKind::Pix2Struct => 4,
        _ => 1,
    }
}

/// Peak learning rate of an expert's pretraining: `clip` at 2e-3 (retrieval 64.1% after 1000
/// steps, 57.4% at 1e-3), every other expert at 1e-3.
fn expert_lr(kind: ExpertKind) -> f64 {
    match kind {
        ExpertKind::Clip => 2e-3,
        _ => 1e-3,
    }
}

/// The families of an expert's pretraining data, a family listed twice taking two shares: `clip`
/// sees text scenes three times as often as each other family (3 samples in 8); `pix2struct`, a
/// screenshot parser, one-word scenes only; every other expert the uniform mixture.
fn expert_families(kind: ExpertKind) -> Vec<Family> {
    match kind {
        ExpertKind::Clip => {
            let mut families = Family::ALL.to_vec();
            families.extend([Family::Ocr, Family::Ocr]);
            families
        }
        ExpertKind::Pix2Struct => vec![Family::Ocr],
        _ => Family::ALL.to_vec(),
    }
}

/// The colour an expert's pretraining draws words in: `pix2struct` sees every other word in ink, as
/// screenshots and this world's documents and charts show text, the rest in their own colours
/// (trained on coloured words alone the proxy reader stayed at the per-position prior within 2000
/// steps; on ink alone it read 68.0% of ink words but 7.0% of coloured ones: docs/experts-tuning.md,
/// third and fourth passes); every other expert sees them in their own colours.
fn expert_text(kind: ExpertKind) -> TextColour {
    match kind {
        ExpertKind::Pix2Struct => TextColour::Mixed,
        _ => TextColour::Scene,
    }
}

impl Builder {
    fn add(&mut self, kind: StageKind, inputs: Vec<String>, label: String) -> String {
        let s = Stage::new(kind, inputs, label);
        let id = s.id.clone();
        self.stages.entry(id.clone()).or_insert(s);
        id
    }

    fn lm_config(&self) -> LmConfig {
        if let Some(ck) = &self.lm_source {
            return LmConfig::new(ck.vocab, ck.dim, ck.depth, ck.heads);
        }
        LmConfig::new(Tokenizer::new().vocab_size(), self.preset.lm_dim, self.preset.lm_depth, self.preset.heads)
    }

    fn all_data(&self) -> DataSpec {
        DataSpec::new(WORLD_SEED, Family::ALL.to_vec(), 3)
    }

    fn new(scale: Scale, precision: Precision, pretrain_seed: PretrainSeed) -> Self {
        Builder {
            scale,
            precision,
            preset: ScalePreset::of(scale),
            pretrain_seed,
            stages: BTreeMap::new(),
            sources: ExpertSources::new(),
            lm_source: None,
            llava: None,
        }
    }

    /// The seed expert and LM pretraining take in a cell of `seed`.
    fn pretraining_seed(&self, seed: u64) -> u64 {
        match self.pretrain_seed {
            PretrainSeed::Shared => PRETRAIN_SEED,
            PretrainSeed::PerSeed => seed,
        }
    }

    /// ` seed N` for a pretraining stage of a seed other than the shared one, else nothing.
    fn seed_suffix(seed: u64) -> String {
        if seed == PRETRAIN_SEED {
            String::new()
        } else {
            format!(" seed {seed}")
        }
    }

    /// `kind`'s architecture: its checkpoint's, or Eyrie's own at the scale.
    fn expert_config(&self, kind: ExpertKind) -> ExpertConfig {
        match self.sources.get(&kind) {
            Some(ck) => ExpertConfig::of_checkpoint(kind, ck.clone()),
            None => ExpertConfig::at_scale(kind, self.scale),
        }
    }

    /// `kind`'s pretraining for a cell of `seed` (a checkpoint's loading, the same for every seed).
    fn expert(&mut self, kind: ExpertKind, seed: u64) -> String {
        if let Some(ck) = self.sources.get(&kind) {
            let label = format!("expert-load {kind}@{} from {}", ck.native_resolution, ck.dir.display());
            return self.add(StageKind::ExpertLoad { expert: self.expert_config(kind) }, vec![], label);
        }
        let seed = self.pretraining_seed(seed);
        let cfg = ExpertConfig::at_scale(kind, self.scale);
        let label = format!("expert-pretrain {kind}@{}{}", cfg.native_resolution, Self::seed_suffix(seed));
        let steps = self.preset.expert_steps * expert_step_factor(kind);
        let lr = expert_lr(kind);
        let optim = Optim {
            steps,
            batch: self.preset.batch_size * 3 / 2,
            lr,
            seed,
            pool: self.preset.train_pool * expert_pool_factor(kind),
            precision: self.precision,
        };
        let data = DataSpec { families: expert_families(kind), text: expert_text(kind), ..self.all_data() };
        self.add(StageKind::ExpertPretrain { expert: cfg, data, optim }, vec![], label)
    }

    /// Eagle's stage (a) for expert `i` of `model`: the expert alone, at the resolution (and
    /// tiling) the cell uses it at, with its own projector, on the cell's SFT data against the frozen
    /// LM, with the cell's `seed`. Shared by every cell of that seed that uses that expert at that
    /// resolution on that data.
    fn pre_align(&mut self, model: &MllmConfig, i: usize, data: &DataSpec, pretrained: String, seed: u64) -> String {
        let (expert, res) = model.experts[i].clone();
        let one = MllmConfig {
            experts: vec![(expert.clone(), res)],
            fusion: FusionKind::ChannelConcat,
            tiling: model.tiling,
            grid: model.grid,
            query: 0,
            lm: model.lm.clone(),
            lm_checkpoint: model.lm_checkpoint.clone(),
        };
        let p = &self.preset;
        let optim = Optim {
            steps: p.sft_steps / 2,
            batch: p.batch_size,
            lr: DEFAULT_SFT_LR,
            seed,
            pool: p.train_pool,
            precision: self.precision,
        };
        let label = format!("pre-align {}@{res} seed {seed}", expert.kind);
        let lm = self.lm(seed);
        let conversations = self.conversations(false);
        self.add(
            StageKind::PreAlign { model: one, data: data.clone(), conversations, optim },
            vec![pretrained, lm],
            label,
        )
    }

    /// The conversations of the alignment stage (`align`) or of SFT and pre-alignment, when the
    /// experiment reads LLaVA-format data.
    fn conversations(&self, align: bool) -> Option<Conversations> {
        self.llava.as_ref().map(|d| Conversations {
            file: if align { d.align.clone() } else { d.train.clone() },
            max_length: d.max_length,
        })
    }

    /// LM pretraining for a cell of `seed` (a checkpoint LM's loading, the same for every seed).
    fn lm(&mut self, seed: u64) -> String {
        if let Some(ck) = &self.lm_source {
            let label = format!("lm-load from {}", ck.dir.display());
            return self.add(StageKind::LmLoad { lm: ck.clone() }, vec![], label);
        }
        let seed = self.pretraining_seed(seed);
        let optim = Optim {
            steps: self.preset.lm_steps,
            batch: 2 * self.preset.batch_size,
            lr: 3e-3,
            seed,
            pool: self.preset.train_pool,
            precision: self.precision,
        };
        let (lm, data) = (self.lm_config(), self.all_data());
        self.add(StageKind::LmPretrain { lm, data, optim }, vec![], format!("lm-pretrain{}", Self::seed_suffix(seed)))
    }

    fn eval(&mut self, families: &[Family], sft: String, label: &str) -> String {
        let kind = StageKind::Eval {
            families: families.to_vec(),
            per_family: self.preset.eval_per_family,
            data_seed: WORLD_SEED,
            eval_set: self.llava.as_ref().map(|d| d.eval.clone()),
        };
        self.add(kind, vec![sft], format!("eval {label}"))
    }

    fn cell(&mut self, c: &CellSettings, seed: u64) -> PlannedCell {
        let experts: Vec<(ExpertConfig, usize)> = c
            .encoders
            .iter()
            .map(|&k| {
                let cfg = self.expert_config(k);
                let res = c.resolution.pixels_for(k).unwrap_or(cfg.native_resolution);
                (cfg, res)
            })
            .collect();
        let mut model = MllmConfig {
            experts: experts.clone(),
            fusion: c.fusion,
            tiling: c.tiling,
            grid: 0,
            query: if c.fusion.has_roles() { c.query_index() } else { 0 },
            lm: self.lm_config(),
            lm_checkpoint: self.lm_source.clone(),
        };
        if (0..experts.len()).all(|i| model.tiles(i) <= 1) {
            // Nothing to tile at these resolutions: the same model as interpolation (and the same stages).
            model.tiling = Tiling::Interpolate;
        }
        let views = model.views();
        model.grid = match c.grid {
            TokenGrid::Side(s) => s,
            TokenGrid::Auto => views.iter().map(|v| v.side).max().unwrap_or(1),
        };
        let data = DataSpec::new(WORLD_SEED, c.training_families(), 3);
        let mut inputs: Vec<String> = Vec::new();
        for (i, &k) in c.encoders.iter().enumerate() {
            let pretrained = self.expert(k, seed);
            inputs.push(if c.pre_align && !k.text_aligned() {
                self.pre_align(&model, i, &data, pretrained, seed)
            } else {
                pretrained
            });
        }
        inputs.push(self.lm(seed));
        let mut chain = inputs.clone();
        let p = &self.preset;
        let align_optim = Optim {
            steps: p.align_steps,
            batch: p.batch_size,
            lr: 2e-3,
            seed,
            pool: p.train_pool,
            precision: self.precision,
        };
        let sft_optim = Optim {
            steps: c.sft_steps.unwrap_or(p.sft_steps),
            batch: p.batch_size,
            lr: c.lr.unwrap_or(DEFAULT_SFT_LR),
            seed,
            pool: p.train_pool,
            precision: self.precision,
        };
        let label = c.label();
        let align = self.add(
            StageKind::Align {
                model: model.clone(),
                data: data.clone(),
                conversations: self.conversations(true),
                optim: align_optim,
            },
            inputs,
            format!("align {label}"),
        );
        let vision_lr_scale = c.unlock.any().then_some(c.vision_lr_scale);
        let visual_tokens = model.visual_tokens();
        let sft = self.add(
            StageKind::Sft {
                model,
                unlock: c.unlock.clone(),
                vision_lr_scale,
                data,
                conversations: self.conversations(false),
                optim: sft_optim,
            },
            vec![align.clone()],
            format!("sft {label} seed {seed}"),
        );
        let eval = self.eval(&c.families, sft.clone(), &label);
        chain.extend([align, sft, eval.clone()]);
        let geometry = experts
            .iter()
            .enumerate()
            .map(|(i, (e, r))| {
                let mine: Vec<_> = views.iter().filter(|v| v.expert == i).collect();
                ExpertGeometry {
                    expert: e.kind,
                    resolution: *r,
                    native_resolution: e.native_resolution,
                    grid: mine[0].side,
                    tiles: mine[0].tiles,
                    tokens: mine.iter().map(|v| v.side * v.side).sum(),
                }
            })
            .collect();
        PlannedCell {
            id: eval,
            label,
            settings: Some(c.clone()),
            seed,
            stages: chain,
            experts: geometry,
            visual_tokens,
            families: c.families.clone(),
        }
    }

    /// The no-image baseline evaluated on `families`, trained on the mixture `training`.
    fn blind(&mut self, families: &[Family], training: &[Family], seed: u64, sft_steps: usize, lr: f64) -> PlannedCell {
        let lm = self.lm(seed);
        let model = MllmConfig {
            experts: vec![],
            fusion: FusionKind::ChannelConcat,
            tiling: Tiling::Interpolate,
            grid: 0,
            query: 0,
            lm: self.lm_config(),
            lm_checkpoint: self.lm_source.clone(),
        };
        let data = DataSpec::new(WORLD_SEED, training.to_vec(), 3);
        let conversations = self.conversations(false);
        let optim = Optim {
            steps: sft_steps,
            batch: self.preset.batch_size,
            lr,
            seed,
            pool: self.preset.train_pool,
            precision: self.precision,
        };
        let sft = self.add(
            StageKind::Sft { model, unlock: Unlock::All(false), vision_lr_scale: None, data, conversations, optim },
            vec![lm.clone()],
            format!("sft blind seed {seed}"),
        );
        let eval = self.eval(families, sft.clone(), "blind");
        PlannedCell {
            id: eval.clone(),
            label: "blind".into(),
            settings: None,
            seed,
            stages: vec![lm, sft, eval],
            experts: vec![],
            visual_tokens: 0,
            families: families.to_vec(),
        }
    }
}

/// A plan of the pretraining stages of `experts` alone (no cells): what `eyrie experts` runs.
pub fn experts_plan(experts: &[ExpertKind], scale: Scale, precision: Precision) -> Plan {
    let mut b = Builder::new(scale, precision, PretrainSeed::Shared);
    for &e in experts {
        b.expert(e, PRETRAIN_SEED);
    }
    Plan { experiment: "experts".into(), scale, precision, cells: vec![], stages: b.stages, merged: vec![] }
}

/// The id of `expert`'s pretraining stage at `scale`.
pub fn expert_stage_id(expert: ExpertKind, scale: Scale) -> String {
    Builder::new(scale, Precision::F32, PretrainSeed::Shared).expert(expert, PRETRAIN_SEED)
}

/// Resolves a spec at `scale` into a plan (f32).
pub fn plan(spec: &Spec, scale: Scale) -> Plan {
    plan_at_precision(spec, scale, Precision::F32)
}

/// The settings of `a` that differ from `b`'s, as `key = value` (JSON values), comma-separated.
fn differences(a: &CellSettings, b: &CellSettings) -> String {
    let (a, b) = (serde_json::to_value(a).unwrap_or_default(), serde_json::to_value(b).unwrap_or_default());
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return String::new() };
    let diff: Vec<String> = a.iter().filter(|(k, v)| b.get(*k) != Some(v)).map(|(k, v)| format!("{k} = {v}")).collect();
    diff.join(", ")
}

/// Each cell's label, made distinct within the experiment: [`CellSettings::label`] leaves out the
/// settings that rarely vary (grid, families, SFT steps, learning rates, mixture), so cells that
/// differ only there get those axes appended (`…/frozen [sft-steps = 2400]`); a label no other cell
/// shares stays as it is.
pub fn distinct_labels(cells: &[CellSettings]) -> Vec<String> {
    let labels: Vec<String> = cells.iter().map(|c| c.label()).collect();
    // Cells grouped by label in one pass (a grid may have 100,000 cells: no pass over all per cell).
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, label) in labels.iter().enumerate() {
        groups.entry(label.as_str()).or_default().push(i);
    }
    // Per shared label, the axes whose levels vary among its cells: once per group.
    let varying: HashMap<&str, Vec<crate::spec::Axis>> = groups
        .iter()
        .filter(|(_, same)| same.len() > 1)
        .map(|(label, same)| {
            let first = &cells[same[0]];
            let axes = crate::spec::Axis::ALL
                .iter()
                .copied()
                .filter(|a| same.iter().any(|&j| crate::spec::level(*a, &cells[j]) != crate::spec::level(*a, first)))
                .collect();
            (*label, axes)
        })
        .collect();
    labels
        .iter()
        .zip(cells)
        .map(|(label, c)| match varying.get(label.as_str()) {
            None => label.clone(),
            Some(axes) => {
                let parts: Vec<String> =
                    axes.iter().map(|a| format!("{} = {}", a.key(), crate::spec::level(*a, c))).collect();
                format!("{label} [{}]", parts.join(", "))
            }
        })
        .collect()
}

/// Resolves a spec at `scale` into a plan whose training stages run at `precision` (its stage ids
/// differ from the f32 plan's, so the stage cache never mixes precisions).
pub fn plan_at_precision(spec: &Spec, scale: Scale, precision: Precision) -> Plan {
    let mut b = Builder::new(scale, precision, spec.pretrain_seed);
    b.sources = spec.experts.clone();
    b.lm_source = spec.lm.clone();
    b.llava = spec.data.clone();
    let mut cells = Vec::new();
    let mut ids: HashMap<String, &CellSettings> = HashMap::new();
    let mut merged = Vec::new();
    let labels = distinct_labels(&spec.cells);
    for (c, label) in spec.cells.iter().zip(&labels) {
        for &seed in &spec.seeds {
            let mut cell = b.cell(c, seed);
            cell.label = label.clone();
            // Cells that resolve to the same model (e.g. tiling with nothing to tile) run once.
            match ids.get(&cell.id) {
                Some(first) => merged.push((
                    format!("{} with {} (seed {seed})", cell.label, differences(c, first)),
                    format!("{} with {}", cell.label, differences(first, c)),
                )),
                None => {
                    ids.insert(cell.id.clone(), c);
                    cells.push(cell);
                }
            }
        }
    }
    if spec.blind_baseline {
        // One blind row per distinct family mixture (the same questions, no image), with the longest
        // SFT budget: (the first cell with the mixture, the most steps of its cells), in order of first use.
        let mut mixtures: Vec<(&CellSettings, usize)> = Vec::new();
        let mut index: HashMap<&[Family], usize> = HashMap::new();
        for c in &spec.cells {
            let steps = c.sft_steps.unwrap_or(b.preset.sft_steps);
            match index.get(c.families.as_slice()) {
                Some(&i) => mixtures[i].1 = mixtures[i].1.max(steps),
                None => {
                    index.insert(&c.families, mixtures.len());
                    mixtures.push((c, steps));
                }
            }
        }
        for (c, steps) in mixtures {
            for &seed in &spec.seeds {
                cells.push(b.blind(&c.families, &c.training_families(), seed, steps, c.lr.unwrap_or(DEFAULT_SFT_LR)));
            }
        }
    }
    Plan { experiment: spec.name.clone(), scale, precision, cells, stages: b.stages, merged }
}

#[cfg(test)]
mod tests;
