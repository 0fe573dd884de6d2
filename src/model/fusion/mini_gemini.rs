//! Mini-Gemini patch-info mining: each low-resolution query token attends to the k×k window of
//! every high-resolution map that lies under it; the result is added to the query and projected.

use super::to_tokens;
use crate::model::dense::linear;
use crate::model::ops::layer_norm::layer_norm;
use crate::model::projector::{Projector, ProjectorConfig};
use crate::model::resample::{resample, ResampleMode};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

/// Configuration of [`MiniGemini`].
#[derive(Config, Debug)]
pub struct MiniGeminiConfig {
    /// Channels of the query map.
    pub query_channels: usize,
    /// Channels and side of each high-resolution map.
    pub high_res: Vec<(usize, usize)>,
    /// Query token grid side.
    pub grid: usize,
    /// LM width.
    pub lm_dim: usize,
}

/// Window side that covers a `side`-sized map with `grid` windows per side (at least 1).
pub fn window(side: usize, grid: usize) -> usize {
    side.div_ceil(grid).max(1)
}

impl MiniGeminiConfig {
    /// Forward FLOPs of one image's fusion (multiply-adds counted twice): the query projection, each
    /// high-resolution map's keys and values over every window position, the scores and weighted
    /// sum, and the projector.
    pub fn flops(&self) -> f64 {
        let n = (self.grid * self.grid) as f64;
        let cq = self.query_channels as f64;
        let kv: f64 = self
            .high_res
            .iter()
            .map(|&(c, side)| {
                let k2 = window(side, self.grid).pow(2) as f64;
                2.0 * n * k2 * (2.0 * c as f64 * cq) + 2.0 * n * k2 * 2.0 * cq
            })
            .sum();
        2.0 * n * cq * cq + kv + ProjectorConfig::new(self.query_channels, self.lm_dim).flops(self.grid * self.grid)
    }

    /// Builds the fusion on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MiniGemini<B> {
        let c = self.query_channels;
        MiniGemini {
            query_norm: LayerNormConfig::new(c).init(device),
            query: LinearConfig::new(c, c).init(device),
            levels: self
                .high_res
                .iter()
                .map(|&(ch, side)| MiningLevel {
                    norm: LayerNormConfig::new(ch).init(device),
                    key: LinearConfig::new(ch, c).init(device),
                    value: LinearConfig::new(ch, c).init(device),
                    window: window(side, self.grid),
                })
                .collect(),
            projector: ProjectorConfig::new(c, self.lm_dim).init(device),
            grid: self.grid,
        }
    }
}

/// Keys and values of one high-resolution map.
#[derive(Module, Debug)]
pub struct MiningLevel<B: Backend> {
    norm: LayerNorm<B>,
    key: Linear<B>,
    value: Linear<B>,
    window: usize,
}

impl<B: Backend> MiningLevel<B> {
    /// Keys and values of the window under each query token.
    ///
    /// # Shapes
    /// - `map`: `[batch, c_l, h, w]` → two of `[batch, grid², k², c]`
    pub fn forward(&self, map: Tensor<B, 4>, grid: usize) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let [b, ch, _, _] = map.dims();
        let k = self.window;
        let side = grid * k;
        let windows = resample(map, side, side, ResampleMode::Bilinear)
            .reshape([b, ch, grid, k, grid, k])
            .permute([0, 2, 4, 3, 5, 1])
            .reshape([b, grid * grid, k * k, ch]);
        let x = layer_norm(&self.norm, windows);
        (linear(&self.key, x.clone()), linear(&self.value, x))
    }
}

/// `X + softmax(Q Kᵀ / √C) V` over each query's windows, then the projector: `(B, grid², d)`.
#[derive(Module, Debug)]
pub struct MiniGemini<B: Backend> {
    query_norm: LayerNorm<B>,
    query: Linear<B>,
    levels: Vec<MiningLevel<B>>,
    projector: Projector<B>,
    grid: usize,
}

impl<B: Backend> MiniGemini<B> {
    /// # Shapes
    /// - `query`: `[batch, c, h_q, w_q]`, `high_res[l]`: `[batch, c_l, h_l, w_l]` → `[batch, grid², lm_dim]`
    pub fn forward(&self, query: Tensor<B, 4>, high_res: Vec<Tensor<B, 4>>) -> Tensor<B, 3> {
        let x = to_tokens(query, self.grid);
        let [b, n, c] = x.dims();
        let q = linear(&self.query, layer_norm(&self.query_norm, x.clone())).reshape([b, n, 1, c]);
        let (keys, values): (Vec<_>, Vec<_>) =
            self.levels.iter().zip(high_res).map(|(l, m)| l.forward(m, self.grid)).unzip();
        let (k, v) = (Tensor::cat(keys, 2), Tensor::cat(values, 2));
        let s = k.dims()[2];
        let scores = (q * k).sum_dim(3).reshape([b, n, s]) / (c as f64).sqrt();
        let attn = softmax(scores, 2).reshape([b, n, s, 1]);
        let mined = (attn * v).sum_dim(2).reshape([b, n, c]);
        self.projector.forward(x + mined)
    }
}
