//! Channel concat: every map resampled to one grid, concatenated on channels, one projector.

use super::to_tokens;
use crate::model::projector::{Projector, ProjectorConfig};
use burn::prelude::*;

/// Configuration of [`ChannelConcat`].
#[derive(Config, Debug)]
pub struct ChannelConcatConfig {
    /// Channels of each expert's map.
    pub channels: Vec<usize>,
    /// Token grid side.
    pub grid: usize,
    /// LM width.
    pub lm_dim: usize,
}

/// `(B, N, ΣC_i) → MLP → (B, N, d)`: token count fixed however many experts.
#[derive(Module, Debug)]
pub struct ChannelConcat<B: Backend> {
    projector: Projector<B>,
    grid: usize,
}

impl ChannelConcatConfig {
    /// Forward FLOPs of one image's fusion: the projector over the `grid²` tokens.
    pub fn flops(&self) -> f64 {
        ProjectorConfig::new(self.channels.iter().sum(), self.lm_dim).flops(self.grid * self.grid)
    }

    /// Builds the fusion on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ChannelConcat<B> {
        let total = self.channels.iter().sum();
        ChannelConcat { projector: ProjectorConfig::new(total, self.lm_dim).init(device), grid: self.grid }
    }
}

impl<B: Backend> ChannelConcat<B> {
    /// # Shapes
    /// - `maps[i]`: `[batch, c_i, h_i, w_i]` → `[batch, grid², lm_dim]`
    pub fn forward(&self, maps: Vec<Tensor<B, 4>>) -> Tensor<B, 3> {
        let tokens: Vec<Tensor<B, 3>> = maps.into_iter().map(|m| to_tokens(m, self.grid)).collect();
        self.projector.forward(Tensor::cat(tokens, 2))
    }
}
