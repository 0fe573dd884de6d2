//! Fusion strategies: how several experts' maps become one sequence of visual tokens.

pub mod channel_concat;
pub mod deformable;
pub mod llava_hr;
pub mod mini_gemini;
pub mod sequence_append;
#[cfg(test)]
mod tests;

use crate::spec::FusionKind;
use burn::prelude::*;
use channel_concat::{ChannelConcat, ChannelConcatConfig};
use deformable::{Deformable, DeformableConfig};
use llava_hr::{LlavaHr, LlavaHrConfig};
use mini_gemini::{MiniGemini, MiniGeminiConfig};
use sequence_append::{SequenceAppend, SequenceAppendConfig};

/// Everything that fixes a fusion's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct FusionConfig {
    /// Which strategy.
    pub kind: FusionKind,
    /// Channels of each map (view) the fusion receives, in order.
    pub channels: Vec<usize>,
    /// Side of each map, in order.
    pub sides: Vec<usize>,
    /// Index of the map that supplies the queries (strategies with roles: the low-resolution
    /// expert); every other map is a high-resolution map.
    pub query: usize,
    /// Attention heads of attention-based strategies.
    pub heads: usize,
    /// Blocks of the query ViT followed by an adapter (`llava-hr`).
    pub adapter_blocks: Vec<usize>,
    /// Side of the token grid each map is resampled to.
    pub grid: usize,
    /// LM width.
    pub lm_dim: usize,
}

impl FusionConfig {
    /// Number of visual tokens the LM receives.
    pub fn num_tokens(&self) -> usize {
        match self.kind {
            FusionKind::ChannelConcat | FusionKind::MiniGemini | FusionKind::Deformable | FusionKind::LlavaHr => {
                self.grid * self.grid
            }
            FusionKind::SequenceAppend => self.grid * self.grid * self.channels.len(),
        }
    }

    /// Channels and sides of the high-resolution maps (all but the query map), in order.
    pub fn high_res(&self) -> Vec<(usize, usize)> {
        (0..self.channels.len()).filter(|&i| i != self.query).map(|i| (self.channels[i], self.sides[i])).collect()
    }

    /// Parameters of the fusion and its projector (by formula, so no backend is needed; a test
    /// checks it against the built module).
    pub fn num_params(&self) -> usize {
        let d = self.lm_dim;
        let linear = |a: usize, b: usize| a * b + b;
        let norm = |c: usize| 2 * c;
        let projector = |c: usize| linear(c, d) + linear(d, d);
        let cq = self.channels[self.query];
        match self.kind {
            FusionKind::ChannelConcat => projector(self.channels.iter().sum()),
            FusionKind::SequenceAppend => self.channels.iter().map(|&c| projector(c)).sum(),
            FusionKind::MiniGemini => {
                norm(cq)
                    + linear(cq, cq)
                    + self.high_res().iter().map(|&(c, _)| norm(c) + 2 * linear(c, cq)).sum::<usize>()
                    + projector(cq)
            }
            FusionKind::Deformable => {
                let samples = self.heads * self.channels.len() * deformable::POINTS;
                norm(cq)
                    + self.channels.iter().map(|&c| linear(c, cq)).sum::<usize>()
                    + linear(cq, 2 * samples)
                    + linear(cq, samples)
                    + linear(cq, cq)
                    + projector(cq)
            }
            FusionKind::LlavaHr => {
                let hr: usize = self.high_res().iter().map(|&(c, _)| c).sum();
                let adapter =
                    linear(hr, cq) + 2 * linear(cq, cq) + (49 * cq + cq) + linear(2 * cq, cq / 2) + linear(cq / 2, 1);
                self.adapter_blocks.len() * adapter + projector(cq) + linear(hr, d)
            }
        }
    }

    /// Forward FLOPs of the fusion and its projector for one image (multiply-adds counted twice).
    pub fn flops(&self) -> f64 {
        match self.kind {
            FusionKind::ChannelConcat => self.channel_concat().flops(),
            FusionKind::SequenceAppend => self.sequence_append().flops(),
            FusionKind::MiniGemini => self.mini_gemini().flops(),
            FusionKind::LlavaHr => self.llava_hr().flops(self.sides[self.query]),
            FusionKind::Deformable => self.deformable().flops(&self.sides),
        }
    }

    /// Builds the fusion (with its projector) on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Fusion<B> {
        match self.kind {
            FusionKind::ChannelConcat => Fusion::ChannelConcat(self.channel_concat().init(device)),
            FusionKind::SequenceAppend => Fusion::SequenceAppend(self.sequence_append().init(device)),
            FusionKind::MiniGemini => Fusion::MiniGemini(self.mini_gemini().init(device)),
            FusionKind::LlavaHr => Fusion::LlavaHr(self.llava_hr().init(device)),
            FusionKind::Deformable => Fusion::Deformable(self.deformable().init(device)),
        }
    }

    fn channel_concat(&self) -> ChannelConcatConfig {
        ChannelConcatConfig::new(self.channels.clone(), self.grid, self.lm_dim)
    }

    fn sequence_append(&self) -> SequenceAppendConfig {
        SequenceAppendConfig::new(self.channels.clone(), self.grid, self.lm_dim)
    }

    fn mini_gemini(&self) -> MiniGeminiConfig {
        MiniGeminiConfig::new(self.channels[self.query], self.high_res(), self.grid, self.lm_dim)
    }

    fn llava_hr(&self) -> LlavaHrConfig {
        LlavaHrConfig::new(
            self.channels[self.query],
            self.high_res().iter().map(|&(c, _)| c).collect(),
            self.adapter_blocks.clone(),
            self.grid,
            self.lm_dim,
        )
    }

    fn deformable(&self) -> DeformableConfig {
        DeformableConfig::new(self.channels[self.query], self.channels.clone(), self.grid, self.lm_dim, self.heads)
    }
}

/// A fusion strategy with its projector(s).
// One fusion per model, built once per stage: the variants' size difference costs nothing, and
// burn's `Module` derive does not see through a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Fusion<B: Backend> {
    /// Eagle's channel concat.
    ChannelConcat(ChannelConcat<B>),
    /// Sequence append.
    SequenceAppend(SequenceAppend<B>),
    /// Mini-Gemini patch-info mining.
    MiniGemini(MiniGemini<B>),
    /// Deformable attention.
    Deformable(Deformable<B>),
    /// LLaVA-HR mixture-of-resolution adapters (runs inside the query ViT: see [`Fusion::forward`]).
    LlavaHr(LlavaHr<B>),
}

impl<B: Backend> Fusion<B> {
    /// Fuses expert maps into LM-width visual tokens; `query` is the index of the query map.
    /// `llava-hr` works inside its ViT, so the MLLM calls [`LlavaHr::forward`] instead.
    ///
    /// # Shapes
    /// - `maps[i]`: `[batch, channels[i], h_i, w_i]` → `[batch, num_tokens, lm_dim]`
    pub fn forward(&self, maps: Vec<Tensor<B, 4>>, query: usize) -> Tensor<B, 3> {
        match self {
            Fusion::ChannelConcat(f) => f.forward(maps),
            Fusion::SequenceAppend(f) => f.forward(maps),
            Fusion::MiniGemini(f) => {
                let (q, rest) = split_query(maps, query);
                f.forward(q, rest)
            }
            Fusion::Deformable(f) => {
                let q = maps[query].clone();
                f.forward(q, maps)
            }
            Fusion::LlavaHr(_) => {
                panic!("llava-hr fuses inside its ViT: call LlavaHr::forward with the ViT and its image")
            }
        }
    }
}

/// The query map and the others, in order.
fn split_query<B: Backend>(mut maps: Vec<Tensor<B, 4>>, query: usize) -> (Tensor<B, 4>, Vec<Tensor<B, 4>>) {
    let q = maps.remove(query);
    (q, maps)
}

/// Resamples a map to `grid × grid` and flattens it to tokens.
///
/// # Shapes
/// - `map`: `[batch, c, h, w]` → `[batch, grid², c]`
pub fn to_tokens<B: Backend>(map: Tensor<B, 4>, grid: usize) -> Tensor<B, 3> {
    let [b, c, _, _] = map.dims();
    let map = crate::model::resample::resample(map, grid, grid, crate::model::resample::ResampleMode::Bilinear);
    crate::model::ops::layout::batched_transpose(map.reshape([b, c, grid * grid, 1])).reshape([b, grid * grid, c])
}
