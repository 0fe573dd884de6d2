//! `convnext`: ConvNeXt stages (7×7 depthwise conv, LayerNorm, GELU MLP), stride 16 overall.

use crate::model::dense::{linear, patch_conv, patch_conv_channels_last};
use crate::model::ops::activation::gelu;
use crate::model::ops::depthwise::depthwise_conv_channels_last;
use crate::model::ops::layer_norm::layer_norm;
use crate::model::ops::layout::{to_channels_first, to_channels_last};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

/// Configuration of [`ConvNext`].
#[derive(Config, Debug)]
pub struct ConvNextConfig {
    /// Width of the last stage; the first stage is half of it.
    pub dim: usize,
    /// Blocks per stage. Default: 1.
    #[config(default = 1)]
    pub depth: usize,
}

impl ConvNextConfig {
    /// Widths of the two stages.
    pub fn widths(&self) -> [usize; 2] {
        [(self.dim / 2).max(4), self.dim]
    }

    /// Output grid side at input resolution `res` (total stride 16).
    pub fn grid(&self, res: usize) -> usize {
        res / 16
    }

    /// Channels of the output map.
    pub fn out_channels(&self) -> usize {
        self.dim
    }

    /// Forward FLOPs of the 8×8 stride-8 stem on one image at resolution `res` (the layer that
    /// reads the pixels, so training computes no input gradient for it), multiply-adds counted twice.
    pub fn stem_flops(&self, res: usize) -> f64 {
        let side = res as f64 / 8.0;
        2.0 * 3.0 * 64.0 * self.widths()[0] as f64 * side * side
    }

    /// Forward FLOPs on one image at resolution `res`: the stem, the 2×2 downsampling and, per
    /// block, the 7×7 depthwise convolution and the MLP (4× wide), multiply-adds counted twice.
    pub fn flops(&self, res: usize) -> f64 {
        let w = self.widths().map(|c| c as f64);
        let mut side = res as f64 / 8.0;
        let mut macs = 0.0;
        for s in 0..2 {
            if s > 0 {
                side /= 2.0;
                macs += w[s - 1] * 4.0 * w[s] * side * side;
            }
            macs += self.depth as f64 * (49.0 * w[s] + 8.0 * w[s] * w[s]) * side * side;
        }
        self.stem_flops(res) + 2.0 * macs
    }

    /// Builds the encoder on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ConvNext<B> {
        let w = self.widths();
        let down = |a: usize, b: usize, k: usize| Conv2dConfig::new([a, b], [k, k]).with_stride([k, k]).init(device);
        ConvNext {
            stem: down(3, w[0], 8),
            stem_norm: LayerNormConfig::new(w[0]).init(device),
            stages: (0..2)
                .map(|s| ConvNextStage {
                    down_norm: (s > 0).then(|| LayerNormConfig::new(w[s - 1]).init(device)),
                    down: (s > 0).then(|| down(w[s - 1], w[s], 2)),
                    blocks: (0..self.depth).map(|_| ConvNextBlock::new(w[s], device)).collect(),
                })
                .collect(),
        }
    }
}

/// LayerNorm over the channel axis of a map.
///
/// # Shapes
/// - `x`: `[batch, c, h, w]` → `[batch, c, h, w]`
pub(crate) fn channel_norm<B: Backend>(norm: &LayerNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    to_channels_first(layer_norm(norm, to_channels_last(x)))
}

/// One ConvNeXt block.
#[derive(Module, Debug)]
pub struct ConvNextBlock<B: Backend> {
    dw: Conv2d<B>,
    norm: LayerNorm<B>,
    fc1: Linear<B>,
    fc2: Linear<B>,
}

impl<B: Backend> ConvNextBlock<B> {
    fn new(c: usize, device: &B::Device) -> Self {
        Self {
            dw: Conv2dConfig::new([c, c], [7, 7])
                .with_groups(c)
                .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
                .init(device),
            norm: LayerNormConfig::new(c).init(device),
            fc1: LinearConfig::new(c, 4 * c).init(device),
            fc2: LinearConfig::new(4 * c, c).init(device),
        }
    }

    /// # Shapes
    /// - `x`: `[batch, c, h, w]` → `[batch, c, h, w]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = depthwise_conv_channels_last(&self.dw, x.clone());
        let y = linear(&self.fc2, gelu(linear(&self.fc1, layer_norm(&self.norm, y))));
        x + to_channels_first(y)
    }
}

/// A downsampling layer (except in the first stage) followed by blocks.
#[derive(Module, Debug)]
pub struct ConvNextStage<B: Backend> {
    down_norm: Option<LayerNorm<B>>,
    down: Option<Conv2d<B>>,
    blocks: Vec<ConvNextBlock<B>>,
}

/// A small ConvNeXt.
#[derive(Module, Debug)]
pub struct ConvNext<B: Backend> {
    stem: Conv2d<B>,
    stem_norm: LayerNorm<B>,
    stages: Vec<ConvNextStage<B>>,
}

impl<B: Backend> ConvNext<B> {
    /// Encodes images into a feature map.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, res, res]` → `[batch, dim, res / 16, res / 16]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut x = to_channels_first(layer_norm(&self.stem_norm, patch_conv_channels_last(&self.stem, x)));
        for stage in &self.stages {
            if let (Some(n), Some(d)) = (&stage.down_norm, &stage.down) {
                x = patch_conv(d, channel_norm(n, x));
            }
            for blk in &stage.blocks {
                x = blk.forward(x);
            }
        }
        x
    }
}
