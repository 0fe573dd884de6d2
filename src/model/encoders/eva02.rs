//! `eva02`: a ViT whose attention rotates queries and keys by 2D RoPE (rows, columns) and whose MLP
//! is SwiGLU, after EVA-02. No learned position table: RoPE positions are scaled to the native grid,
//! so any input grid works.

use super::clip::{patchify, vit_stem_flops};
use crate::model::attention::{SelfAttention, SelfAttentionConfig};
use crate::model::dense::linear;
use crate::model::ops::layer_norm::layer_norm;
use crate::model::rope::Rope2d;
use crate::model::vit_block::VitBlockConfig;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;

/// Configuration of [`Eva02Vit`].
#[derive(Config, Debug)]
pub struct Eva02VitConfig {
    /// Width.
    pub dim: usize,
    /// Blocks.
    pub depth: usize,
    /// Attention heads (head width must be a multiple of 4 for 2D RoPE).
    pub heads: usize,
    /// Pretraining resolution.
    pub native_resolution: usize,
    /// Patch side in pixels. Default: 16.
    #[config(default = 16)]
    pub patch: usize,
}

impl Eva02VitConfig {
    /// Token grid side at input resolution `res`.
    pub fn grid(&self, res: usize) -> usize {
        res / self.patch
    }

    /// Forward FLOPs of the patch embedding on one image at resolution `res` (see
    /// [`super::clip::ClipVitConfig::stem_flops`]).
    pub fn stem_flops(&self, res: usize) -> f64 {
        vit_stem_flops(self.grid(res), self.patch, self.dim)
    }

    /// Forward FLOPs on one image at resolution `res` (matrix products only, multiply-adds counted
    /// twice). Blocks are counted as plain ViT blocks: the SwiGLU's 3·dim·hidden multiply-adds per
    /// token are taken as the GELU MLP's 8·dim².
    pub fn flops(&self, res: usize) -> f64 {
        let blocks = self.depth as f64 * VitBlockConfig::new(self.dim, self.heads).flops(self.grid(res).pow(2));
        self.stem_flops(res) + blocks
    }

    /// Builds the encoder on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Eva02Vit<B> {
        assert_eq!((self.dim / self.heads) % 4, 0, "2D RoPE needs head widths divisible by 4");
        let d = self.dim;
        let hidden = (d * 8 / 3).div_ceil(8) * 8;
        Eva02Vit {
            patch_embed: LinearConfig::new(3 * self.patch * self.patch, d).init(device),
            blocks: (0..self.depth)
                .map(|_| Eva02Block {
                    norm1: LayerNormConfig::new(d).init(device),
                    attn: SelfAttentionConfig::new(d, self.heads).init(device),
                    norm2: LayerNormConfig::new(d).init(device),
                    gate: LinearConfig::new(d, hidden).init(device),
                    up: LinearConfig::new(d, hidden).init(device),
                    down: LinearConfig::new(hidden, d).init(device),
                })
                .collect(),
            norm: LayerNormConfig::new(d).init(device),
            patch: self.patch,
            native_grid: self.grid(self.native_resolution),
            heads: self.heads,
        }
    }
}

/// One EVA-02 block: pre-norm RoPE attention and a SwiGLU MLP.
#[derive(Module, Debug)]
pub struct Eva02Block<B: Backend> {
    norm1: LayerNorm<B>,
    attn: SelfAttention<B>,
    norm2: LayerNorm<B>,
    gate: Linear<B>,
    up: Linear<B>,
    down: Linear<B>,
}

impl<B: Backend> Eva02Block<B> {
    /// # Shapes
    /// - `x`: `[batch, h·w, dim]` → `[batch, h·w, dim]`
    pub fn forward(&self, x: Tensor<B, 3>, rope: &Rope2d<B>) -> Tensor<B, 3> {
        let [q, k, v] = self.attn.qkv(layer_norm(&self.norm1, x.clone()));
        let x = x + self.attn.attend(rope.rotate(q), rope.rotate(k), v);
        let h = layer_norm(&self.norm2, x.clone());
        x + linear(&self.down, silu(linear(&self.gate, h.clone())) * linear(&self.up, h))
    }
}

/// EVA-02-style encoder.
#[derive(Module, Debug)]
pub struct Eva02Vit<B: Backend> {
    patch_embed: Linear<B>,
    blocks: Vec<Eva02Block<B>>,
    norm: LayerNorm<B>,
    patch: usize,
    native_grid: usize,
    heads: usize,
}

impl<B: Backend> Eva02Vit<B> {
    /// Encodes images into a feature map.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, res, res]` → `[batch, dim, res / patch, res / patch]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, _, hh, ww] = x.dims();
        let (h, w) = (hh / self.patch, ww / self.patch);
        let mut t = linear(&self.patch_embed, patchify(x, self.patch));
        let d = t.dims()[2];
        let rope = Rope2d::new(h, w, self.native_grid, d / self.heads, &t.device());
        for blk in &self.blocks {
            t = blk.forward(t, &rope);
        }
        layer_norm(&self.norm, t).swap_dims(1, 2).reshape([b, d, h, w])
    }
}
