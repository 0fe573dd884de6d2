//! What a stage must hold in memory (`eyrie plan --memory`): the weights of every part, gradients and
//! AdamW's two moments for the parts that train, and the activations kept for the backward pass at
//! the stage's batch size. Estimates, stated with their formulas in the README.

use super::cost::{sequence_tokens, TEXT_TOKENS};
use super::stage::StageKind;
use crate::checkpoint::expert::Layers;
use crate::data::llava::Conversations;
use crate::model::encoders::ExpertConfig;
use crate::model::lm::LmConfig;
use crate::model::MllmConfig;
use crate::spec::{ExpertKind, Precision};

/// Parameter counts of Eyrie's own modules (which need a backend to build; a checkpoint expert's
/// count comes from its headers).
pub trait ParamCounter {
    /// Parameters of a proxy expert.
    fn expert(&self, e: &ExpertConfig) -> u64;
    /// Parameters of the LM.
    fn lm(&self, lm: &LmConfig) -> u64;
}

/// A stage's memory, in bytes (and its parameter counts).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Footprint {
    /// Parameters of every part the stage builds.
    pub params: u64,
    /// Of which train.
    pub trainable: u64,
    /// Weights, at the stage's precision.
    pub weights: u64,
    /// Gradients of the trainable weights.
    pub gradients: u64,
    /// AdamW's first and second moments of the trainable weights.
    pub optimiser: u64,
    /// Activations kept for the backward pass, for the whole batch.
    pub activations: u64,
}

impl Footprint {
    /// Everything together.
    pub fn total(&self) -> u64 {
        self.weights + self.gradients + self.optimiser + self.activations
    }
}

/// Bytes per element at `precision`.
fn bytes(precision: Precision) -> u64 {
    if precision == Precision::F32 {
        4
    } else {
        2
    }
}

/// Activation elements one transformer block keeps per sequence of `s` tokens of width `h` with `a`
/// heads: `s·h·(17 + 2.5·a·s/h)`, Korthikanti et al. 2022 ("Reducing Activation Recomputation in
/// Large Transformer Models", Eq. 2, `34 + 5as/h` bytes at 16 bits, without recomputation).
fn block_elements(s: f64, h: f64, a: f64) -> f64 {
    s * h * (17.0 + 2.5 * a * s / h)
}

/// Activation elements a ConvNeXt block keeps per position of width `c`: the depthwise conv, norm,
/// the 4x-wide expansion before and after its activation, the projection and the layer scale
/// (about twelve widths).
const CONV_BLOCK_WIDTHS: f64 = 12.0;

fn layers_elements(layers: &Layers, side: usize, tokens: f64) -> f64 {
    match layers {
        Layers::Transformer { depth, width, heads } => {
            *depth as f64 * block_elements(tokens, *width as f64, *heads as f64)
        }
        Layers::Conv { stages, first_stride } => {
            let mut s = side as f64 / *first_stride as f64;
            let mut total = 0.0;
            for (i, (width, blocks)) in stages.iter().enumerate() {
                if i > 0 {
                    s /= 2.0;
                }
                total += *blocks as f64 * CONV_BLOCK_WIDTHS * *width as f64 * s * s;
            }
            total
        }
    }
}

/// The layers of an expert, checkpoint or proxy.
fn expert_layers(e: &ExpertConfig) -> Layers {
    match (&e.checkpoint, e.kind) {
        (Some(ck), _) => ck.layers.clone(),
        // Eyrie's ConvNeXt: two stages (half width, then full) after a stride-8 stem.
        (None, ExpertKind::ConvNext) => {
            Layers::Conv { stages: vec![((e.dim / 2).max(4), e.depth), (e.dim, e.depth)], first_stride: 8 }
        }
        (None, _) => Layers::Transformer { depth: e.depth, width: e.dim, heads: e.heads },
    }
}

/// Activation elements of one image through expert `i` of `m` (its tiles and thumbnail when tiled).
fn expert_elements(m: &MllmConfig, i: usize) -> f64 {
    let (e, res) = &m.experts[i];
    let tiles = m.tiles(i);
    let (side, passes) = if tiles > 1 { (e.native_resolution, (tiles * tiles + 1) as f64) } else { (*res, 1.0) };
    let g = e.grid(side) as f64;
    passes * layers_elements(&expert_layers(e), side, g * g)
}

/// Activation elements of one sequence of `s` tokens through the LM, its logits included.
fn lm_elements(lm: &LmConfig, s: usize) -> f64 {
    lm.depth as f64 * block_elements(s as f64, lm.dim as f64, lm.heads as f64) + 2.0 * (s * lm.vocab) as f64
}

fn expert_params(e: &ExpertConfig, counter: &dyn ParamCounter) -> u64 {
    e.checkpoint.as_ref().map_or_else(|| counter.expert(e), |ck| ck.params)
}

/// Parameters and activation elements (per sample) of an MLLM stage whose trainable parts are
/// `expert_trains(i)`, the fusion, and the LM when `lm_trains`.
fn mllm(
    m: &MllmConfig,
    conversations: Option<&Conversations>,
    expert_trains: impl Fn(usize) -> bool,
    lm_trains: bool,
    counter: &dyn ParamCounter,
) -> (u64, u64, f64) {
    let experts: Vec<u64> = m.experts.iter().map(|(e, _)| expert_params(e, counter)).collect();
    let fusion = m.fusion_config().map_or(0, |f| f.num_params() as u64);
    let lm = m.lm_checkpoint.as_ref().map_or_else(|| counter.lm(&m.lm), |ck| ck.params);
    let params = experts.iter().sum::<u64>() + fusion + lm;
    let trainable = (0..experts.len()).filter(|&i| expert_trains(i)).map(|i| experts[i]).sum::<u64>()
        + fusion
        + if lm_trains { lm } else { 0 };
    // Gradients reach the projector through the LM whatever trains, so its activations are kept.
    let acts = lm_elements(&m.lm, sequence_tokens(m, conversations))
        + (0..m.experts.len()).filter(|&i| expert_trains(i)).map(|i| expert_elements(m, i)).sum::<f64>();
    (params, trainable, acts)
}

/// The memory `kind` needs at `precision` (evaluation and loading: the weights alone).
pub fn footprint(kind: &StageKind, precision: Precision, counter: &dyn ParamCounter) -> Footprint {
    let b = bytes(precision);
    let (params, trainable, per_sample, batch) = match kind {
        StageKind::ExpertPretrain { expert, optim, .. } => {
            let p = expert_params(expert, counter);
            let side = expert.native_resolution;
            let g = expert.grid(side) as f64;
            (p, p, layers_elements(&expert_layers(expert), side, g * g), optim.batch)
        }
        StageKind::ExpertLoad { expert } => (expert_params(expert, counter), 0, 0.0, 0),
        StageKind::LmLoad { lm } => (lm.params, 0, 0.0, 0),
        StageKind::LmPretrain { lm, optim, .. } => {
            let p = counter.lm(lm);
            (p, p, lm_elements(lm, TEXT_TOKENS), optim.batch)
        }
        StageKind::PreAlign { model, conversations, optim, .. } => {
            let (p, t, a) = mllm(model, conversations.as_ref(), |i| i == 0, false, counter);
            (p, t, a, optim.batch)
        }
        StageKind::Align { model, conversations, optim, .. } => {
            let (p, t, a) = mllm(model, conversations.as_ref(), |_| false, false, counter);
            (p, t, a, optim.batch)
        }
        StageKind::Sft { model, unlock, conversations, optim, .. } => {
            let unlocked = |i: usize| unlock.unlocks(model.experts[i].0.kind);
            let (p, t, a) = mllm(model, conversations.as_ref(), unlocked, true, counter);
            (p, t, a, optim.batch)
        }
        StageKind::Eval { .. } => (0, 0, 0.0, 0),
    };
    Footprint {
        params,
        trainable,
        weights: params * b,
        gradients: trainable * b,
        optimiser: 2 * trainable * b,
        activations: (per_sample * batch as f64 * b as f64) as u64,
    }
}

/// Bytes in binary units with three significant digits: `512 B`, `1.50 KiB`, `12.3 GiB`.
pub fn bytes_text(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    match (u, x) {
        (0, _) => format!("{n} B"),
        (_, x) if x >= 100.0 => format!("{x:.0} {}", UNITS[u]),
        (_, x) if x >= 10.0 => format!("{x:.1} {}", UNITS[u]),
        _ => format!("{x:.2} {}", UNITS[u]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{parse, Scale};
    use std::path::Path;

    /// Fixed counts: every proxy expert 1000 parameters, the LM 5000.
    struct Fixed;
    impl ParamCounter for Fixed {
        fn expert(&self, _: &ExpertConfig) -> u64 {
            1000
        }
        fn lm(&self, _: &LmConfig) -> u64 {
            5000
        }
    }

    fn sft_stages(precision: Precision) -> Vec<(bool, Footprint, MllmConfig, usize)> {
        let text = "[experiment]\nname = \"m\"\nblind-baseline = false\n[base]\nfamilies = [\"vqa\"]\n\
                    encoders = [\"clip\", \"convnext\"]\n[grid]\nunlock = [false, true]\n";
        let plan = crate::plan::plan(&parse(Path::new("m.toml"), text).unwrap(), Scale::Smoke);
        let mut out: Vec<_> = plan
            .stages
            .values()
            .filter_map(|s| match &s.kind {
                StageKind::Sft { model, unlock, optim, .. } => Some((
                    unlock.unlocks(ExpertKind::Clip),
                    footprint(&s.kind, precision, &Fixed),
                    model.clone(),
                    optim.batch,
                )),
                _ => None,
            })
            .collect();
        out.sort_by_key(|(unlocked, ..)| *unlocked);
        out
    }

    #[test]
    fn unlocking_the_experts_adds_their_weights_state_and_activations() {
        let stages = sft_stages(Precision::F32);
        let [(false, frozen, m, batch), (true, unlocked, ..)] = &stages[..] else { panic!("{stages:?}") };
        let fusion = m.fusion_config().unwrap().num_params() as u64;
        assert_eq!(frozen.params, 2000 + fusion + 5000);
        assert_eq!(frozen.trainable, fusion + 5000);
        assert_eq!(unlocked.params, frozen.params);
        assert_eq!(unlocked.trainable, frozen.trainable + 2000);
        assert_eq!(unlocked.weights, 4 * unlocked.params);
        assert_eq!((unlocked.gradients, unlocked.optimiser), (4 * unlocked.trainable, 8 * unlocked.trainable));
        let experts = (expert_elements(m, 0) + expert_elements(m, 1)) * *batch as f64 * 4.0;
        let extra = (unlocked.activations - frozen.activations) as f64;
        assert!((extra - experts).abs() <= 2.0, "{extra} vs {experts}");
        assert!(frozen.activations > 0);
        // Half precision halves every figure.
        let half = sft_stages(Precision::Bf16);
        assert_eq!(half[1].1.weights * 2, unlocked.weights);
        assert_eq!(half[1].1.optimiser * 2, unlocked.optimiser);
    }

    #[test]
    fn a_transformer_block_keeps_korthikantis_activations() {
        // GPT-3 175B's numbers in the paper: s = 2048, h = 12288, a = 96, 16-bit: sbh(34 + 5as/h) bytes.
        let (s, h, a) = (2048.0, 12288.0, 96.0);
        assert_eq!(2.0 * block_elements(s, h, a), s * h * (34.0 + 5.0 * a * s / h));
    }

    #[test]
    fn byte_counts_read_in_binary_units() {
        assert_eq!(bytes_text(512), "512 B");
        assert_eq!(bytes_text(1536), "1.50 KiB");
        assert_eq!(bytes_text(12 * 1024 * 1024 * 1024 + 300 * 1024 * 1024), "12.3 GiB");
    }
}
