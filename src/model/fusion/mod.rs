//! Fusion strategies: how several experts' maps become one sequence of visual tokens.

pub mod channel_concat;
pub mod sequence_append;

use crate::spec::FusionKind;
use burn::prelude::*;
use channel_concat::{ChannelConcat, ChannelConcatConfig};
use sequence_append::{SequenceAppend, SequenceAppendConfig};

/// Everything that fixes a fusion's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct FusionConfig {
    /// Which strategy.
    pub kind: FusionKind,
    /// Channels of each expert's map, in order.
    pub channels: Vec<usize>,
    /// Side of the token grid each map is resampled to.
    pub grid: usize,
    /// LM width.
    pub lm_dim: usize,
}

impl FusionConfig {
    /// Number of visual tokens the LM receives.
    pub fn num_tokens(&self) -> usize {
        match self.kind {
            FusionKind::ChannelConcat => self.grid * self.grid,
            FusionKind::SequenceAppend => self.grid * self.grid * self.channels.len(),
        }
    }

    /// Builds the fusion (with its projector) on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Fusion<B> {
        match self.kind {
            FusionKind::ChannelConcat => {
                Fusion::ChannelConcat(ChannelConcatConfig::new(self.channels.clone(), self.grid, self.lm_dim).init(device))
            }
            FusionKind::SequenceAppend => {
                Fusion::SequenceAppend(SequenceAppendConfig::new(self.channels.clone(), self.grid, self.lm_dim).init(device))
            }
        }
    }
}

/// A fusion strategy with its projector(s).
#[derive(Module, Debug)]
pub enum Fusion<B: Backend> {
    /// Eagle's channel concat.
    ChannelConcat(ChannelConcat<B>),
    /// Sequence append.
    SequenceAppend(SequenceAppend<B>),
}

impl<B: Backend> Fusion<B> {
    /// Fuses expert maps into LM-width visual tokens.
    ///
    /// # Shapes
    /// - `maps[i]`: `[batch, channels[i], h_i, w_i]` → `[batch, num_tokens, lm_dim]`
    pub fn forward(&self, maps: Vec<Tensor<B, 4>>) -> Tensor<B, 3> {
        match self {
            Fusion::ChannelConcat(f) => f.forward(maps),
            Fusion::SequenceAppend(f) => f.forward(maps),
        }
    }
}

/// Resamples a map to `grid × grid` and flattens it to tokens.
///
/// # Shapes
/// - `map`: `[batch, c, h, w]` → `[batch, grid², c]`
pub fn to_tokens<B: Backend>(map: Tensor<B, 4>, grid: usize) -> Tensor<B, 3> {
    let [b, c, _, _] = map.dims();
    crate::model::resample::resample(map, grid, grid, crate::model::resample::ResampleMode::Bilinear)
        .reshape([b, c, grid * grid])
        .swap_dims(1, 2)
}
