//! `clip`: a ViT with learned position embeddings, bicubically interpolated to other input grids.

use crate::model::dense::linear;
use crate::model::ops::layer_norm::layer_norm;
use crate::model::resample::{resample, ResampleMode};
use crate::model::vit_block::{VitBlock, VitBlockConfig};
use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;

/// Configuration of [`ClipVit`].
#[derive(Config, Debug)]
pub struct ClipVitConfig {
    /// Width of every block.
    pub dim: usize,
    /// Number of blocks.
    pub depth: usize,
    /// Attention heads.
    pub heads: usize,
    /// Patch side in pixels. Default: 8.
    #[config(default = 8)]
    pub patch: usize,
    /// Pretraining resolution; position embeddings are learned on its grid.
    pub native_resolution: usize,
}

impl ClipVitConfig {
    /// Token grid side at input resolution `res`.
    pub fn grid(&self, res: usize) -> usize {
        res / self.patch
    }

    /// Channels of the output map.
    pub fn out_channels(&self) -> usize {
        self.dim
    }

    /// Forward FLOPs of the patch embedding on one image at resolution `res` (the layer that reads
    /// the pixels, so training computes no input gradient for it), multiply-adds counted twice.
    pub fn stem_flops(&self, res: usize) -> f64 {
        vit_stem_flops(self.grid(res), self.patch, self.dim)
    }

    /// Forward FLOPs on one image at resolution `res` (matrix products only, multiply-adds counted twice).
    pub fn flops(&self, res: usize) -> f64 {
        let blocks = self.depth as f64 * VitBlockConfig::new(self.dim, self.heads).flops(self.grid(res).pow(2));
        self.stem_flops(res) + blocks
    }

    /// Builds the encoder on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ClipVit<B> {
        let g = self.grid(self.native_resolution);
        ClipVit {
            patch_embed: LinearConfig::new(3 * self.patch * self.patch, self.dim).init(device),
            pos: Param::from_tensor(Tensor::random([1, self.dim, g, g], Distribution::Normal(0.0, 0.02), device)),
            blocks: (0..self.depth).map(|_| VitBlockConfig::new(self.dim, self.heads).init(device)).collect(),
            norm: LayerNormConfig::new(self.dim).init(device),
            patch: self.patch,
        }
    }
}

/// A plain ViT encoder.
#[derive(Module, Debug)]
pub struct ClipVit<B: Backend> {
    patch_embed: Linear<B>,
    pos: Param<Tensor<B, 4>>,
    blocks: Vec<VitBlock<B>>,
    norm: LayerNorm<B>,
    patch: usize,
}

/// Forward FLOPs of a patch embedding (`patch`-pixel RGB patches to `dim`) over a `grid × grid`
/// token grid, multiply-adds counted twice.
pub fn vit_stem_flops(grid: usize, patch: usize, dim: usize) -> f64 {
    2.0 * (grid * grid) as f64 * (3 * patch * patch) as f64 * dim as f64
}

/// Cuts images into flattened patches.
///
/// # Shapes
/// - `x`: `[batch, 3, h·p, w·p]` → `[batch, h·w, 3·p·p]`
pub fn patchify<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 3> {
    crate::model::ops::layout::patches(x, p)
}

/// Learned position embeddings on their native grid, bicubically resampled to `h × w` (exact at the
/// native size) and laid out as tokens.
///
/// # Shapes
/// - `pos`: `[1, dim, g, g]` → `[1, h·w, dim]`
pub fn position_tokens<B: Backend>(pos: Tensor<B, 4>, h: usize, w: usize) -> Tensor<B, 3> {
    let d = pos.dims()[1];
    resample(pos, h, w, ResampleMode::Bicubic).reshape([1, d, h * w]).swap_dims(1, 2)
}

impl<B: Backend> ClipVit<B> {
    /// Encodes images into a feature map.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, res, res]` → `[batch, dim, res / patch, res / patch]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let (mut t, h, w) = self.embed(x);
        for i in 0..self.depth() {
            t = self.block(i, t);
        }
        self.finish(t, h, w)
    }

    /// Patch tokens with position embeddings, and the token grid.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, h·patch, w·patch]` → `([batch, h·w, dim], h, w)`
    pub fn embed(&self, x: Tensor<B, 4>) -> (Tensor<B, 3>, usize, usize) {
        let [_, _, hh, ww] = x.dims();
        let (h, w) = (hh / self.patch, ww / self.patch);
        let tokens = linear(&self.patch_embed, patchify(x, self.patch));
        (tokens + position_tokens(self.pos.val(), h, w), h, w)
    }

    /// Number of transformer blocks.
    pub fn depth(&self) -> usize {
        self.blocks.len()
    }

    /// Block `i`.
    ///
    /// # Shapes
    /// - `t`: `[batch, n, dim]` → `[batch, n, dim]`
    pub fn block(&self, i: usize, t: Tensor<B, 3>) -> Tensor<B, 3> {
        self.blocks[i].forward(t)
    }

    /// The final norm, laid out as a map.
    ///
    /// # Shapes
    /// - `t`: `[batch, h·w, dim]` → `[batch, dim, h, w]`
    pub fn finish(&self, t: Tensor<B, 3>, h: usize, w: usize) -> Tensor<B, 4> {
        let [b, _, d] = t.dims();
        layer_norm(&self.norm, t).swap_dims(1, 2).reshape([b, d, h, w])
    }
}
