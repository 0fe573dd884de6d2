//! Sequence append: one projector per expert, tokens concatenated along the sequence.

use super::to_tokens;
use crate::model::projector::{Projector, ProjectorConfig};
use burn::prelude::*;

/// Configuration of [`SequenceAppend`].
#[derive(Config, Debug)]
pub struct SequenceAppendConfig {
    /// Channels of each expert's map.
    pub channels: Vec<usize>,
    /// Token grid side per expert.
    pub grid: usize,
    /// LM width.
    pub lm_dim: usize,
}

/// `P_i: (B, N, C_i) → (B, N, d)`, then concat → `(B, k·N, d)`: tokens grow with every expert.
#[derive(Module, Debug)]
pub struct SequenceAppend<B: Backend> {
    projectors: Vec<Projector<B>>,
    grid: usize,
}

impl SequenceAppendConfig {
    /// Forward FLOPs of one image's fusion: each expert's projector over its `grid²` tokens.
    pub fn flops(&self) -> f64 {
        self.channels.iter().map(|&c| ProjectorConfig::new(c, self.lm_dim).flops(self.grid * self.grid)).sum()
    }

    /// Builds the fusion on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> SequenceAppend<B> {
        SequenceAppend {
            projectors: self.channels.iter().map(|&c| ProjectorConfig::new(c, self.lm_dim).init(device)).collect(),
            grid: self.grid,
        }
    }
}

impl<B: Backend> SequenceAppend<B> {
    /// # Shapes
    /// - `maps[i]`: `[batch, c_i, h_i, w_i]` → `[batch, k · grid², lm_dim]`
    pub fn forward(&self, maps: Vec<Tensor<B, 4>>) -> Tensor<B, 3> {
        let parts: Vec<Tensor<B, 3>> =
            maps.into_iter().zip(&self.projectors).map(|(m, p)| p.forward(to_tokens(m, self.grid))).collect();
        Tensor::cat(parts, 1)
    }
}
