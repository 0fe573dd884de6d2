//! `sam`: a ViT whose blocks attend within local windows, with a few global blocks, and a conv neck
//! (1×1 conv, LayerNorm, 3×3 conv, LayerNorm), after SAM's image encoder.

use super::clip::{patchify, position_tokens, vit_stem_flops};
use super::convnext::channel_norm;
use crate::model::dense::linear;
use crate::model::vit_block::{VitBlock, VitBlockConfig};
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::Distribution;

/// Configuration of [`SamVit`].
#[derive(Config, Debug)]
pub struct SamVitConfig {
    /// Width.
    pub dim: usize,
    /// Blocks.
    pub depth: usize,
    /// Attention heads.
    pub heads: usize,
    /// Pretraining resolution.
    pub native_resolution: usize,
    /// Patch side in pixels. Default: 16.
    #[config(default = 16)]
    pub patch: usize,
    /// Window side in tokens. Default: 4.
    #[config(default = 4)]
    pub window: usize,
}

impl SamVitConfig {
    /// Token grid side at input resolution `res`.
    pub fn grid(&self, res: usize) -> usize {
        res / self.patch
    }

    /// Whether block `i` attends globally (every third block and the last; the rest use windows).
    pub fn is_global(&self, i: usize) -> bool {
        (i + 1).is_multiple_of(3) || i + 1 == self.depth
    }

    /// Forward FLOPs of the patch embedding on one image at resolution `res` (see
    /// [`super::clip::ClipVitConfig::stem_flops`]).
    pub fn stem_flops(&self, res: usize) -> f64 {
        vit_stem_flops(self.grid(res), self.patch, self.dim)
    }

    /// Forward FLOPs on one image at resolution `res` (matrix products only, multiply-adds counted
    /// twice). Windowed blocks are counted as global ones; the neck's 1×1 and 3×3 convolutions add
    /// 10·dim² multiply-adds per token.
    pub fn flops(&self, res: usize) -> f64 {
        let n = self.grid(res).pow(2);
        let blocks = self.depth as f64 * VitBlockConfig::new(self.dim, self.heads).flops(n);
        let neck = 2.0 * 10.0 * (self.dim * self.dim) as f64 * n as f64;
        self.stem_flops(res) + blocks + neck
    }

    /// Builds the encoder on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> SamVit<B> {
        let g = self.grid(self.native_resolution);
        let d = self.dim;
        SamVit {
            patch_embed: LinearConfig::new(3 * self.patch * self.patch, d).init(device),
            pos: Param::from_tensor(Tensor::random([1, d, g, g], Distribution::Normal(0.0, 0.02), device)),
            blocks: (0..self.depth).map(|_| VitBlockConfig::new(d, self.heads).init(device)).collect(),
            global: (0..self.depth).map(|i| self.is_global(i)).collect(),
            neck1: Conv2dConfig::new([d, d], [1, 1]).with_bias(false).init(device),
            neck_norm1: LayerNormConfig::new(d).init(device),
            neck2: Conv2dConfig::new([d, d], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            neck_norm2: LayerNormConfig::new(d).init(device),
            patch: self.patch,
            window: self.window,
        }
    }
}

/// SAM-style image encoder.
#[derive(Module, Debug)]
pub struct SamVit<B: Backend> {
    patch_embed: Linear<B>,
    pos: Param<Tensor<B, 4>>,
    blocks: Vec<VitBlock<B>>,
    global: Vec<bool>,
    neck1: Conv2d<B>,
    neck_norm1: LayerNorm<B>,
    neck2: Conv2d<B>,
    neck_norm2: LayerNorm<B>,
    patch: usize,
    window: usize,
}

/// Cuts a token grid into non-overlapping windows, padding with zeros to a multiple of `ws`.
///
/// # Shapes
/// - `x`: `[batch, h·w, d]` → `[batch · (H/ws) · (W/ws), ws², d]` with `H`, `W` padded up
pub fn window_partition<B: Backend>(x: Tensor<B, 3>, h: usize, w: usize, ws: usize) -> Tensor<B, 3> {
    let [b, _, d] = x.dims();
    let (hp, wp) = (h.div_ceil(ws) * ws, w.div_ceil(ws) * ws);
    let mut grid = x.reshape([b, h, w, d]);
    if wp > w {
        grid = Tensor::cat(vec![grid.clone(), Tensor::zeros([b, h, wp - w, d], &grid.device())], 2);
    }
    if hp > h {
        grid = Tensor::cat(vec![grid.clone(), Tensor::zeros([b, hp - h, wp, d], &grid.device())], 1);
    }
    let (nh, nw) = (hp / ws, wp / ws);
    grid.reshape([b, nh, ws, nw, ws, d]).permute([0, 1, 3, 2, 4, 5]).reshape([b * nh * nw, ws * ws, d])
}

/// Inverse of [`window_partition`]: stitches windows back and drops the padding.
///
/// # Shapes
/// - `x`: `[batch · (H/ws) · (W/ws), ws², d]` → `[batch, h·w, d]`
pub fn window_unpartition<B: Backend>(x: Tensor<B, 3>, b: usize, h: usize, w: usize, ws: usize) -> Tensor<B, 3> {
    let d = x.dims()[2];
    let (nh, nw) = (h.div_ceil(ws), w.div_ceil(ws));
    let grid = x.reshape([b, nh, nw, ws, ws, d]).permute([0, 1, 3, 2, 4, 5]).reshape([b, nh * ws, nw * ws, d]);
    grid.slice([0..b, 0..h, 0..w, 0..d]).reshape([b, h * w, d])
}

impl<B: Backend> SamVit<B> {
    /// Encodes images into a feature map.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, res, res]` → `[batch, dim, res / patch, res / patch]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, _, hh, ww] = x.dims();
        let (h, w) = (hh / self.patch, ww / self.patch);
        let mut t = linear(&self.patch_embed, patchify(x, self.patch));
        let d = t.dims()[2];
        t = t + position_tokens(self.pos.val(), h, w);
        for (blk, &global) in self.blocks.iter().zip(&self.global) {
            t = if global || (h <= self.window && w <= self.window) {
                blk.forward(t)
            } else {
                window_unpartition(blk.forward(window_partition(t, h, w, self.window)), b, h, w, self.window)
            };
        }
        let map = t.swap_dims(1, 2).reshape([b, d, h, w]);
        let map = channel_norm(&self.neck_norm1, self.neck1.forward(map));
        channel_norm(&self.neck_norm2, self.neck2.forward(map))
    }
}
