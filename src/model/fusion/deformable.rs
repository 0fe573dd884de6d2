//! Deformable attention fusion (Deformable DETR's sampling over several maps): each low-resolution
//! query token samples every expert map (level) at a few learned offsets around its reference
//! point, per head, and mixes the samples with softmax weights over levels and points.

use super::to_tokens;
use crate::model::bilinear::{bilinear_sample, reference_points};
use crate::model::dense::linear;
use crate::model::ops::layer_norm::layer_norm;
use crate::model::projector::{Projector, ProjectorConfig};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

/// Sampling points per head and level (Deformable DETR's default).
pub const POINTS: usize = 4;

/// Configuration of [`Deformable`].
#[derive(Config, Debug)]
pub struct DeformableConfig {
    /// Channels of the query map (the attention width).
    pub query_channels: usize,
    /// Channels of each sampled map (level).
    pub levels: Vec<usize>,
    /// Query token grid side.
    pub grid: usize,
    /// LM width.
    pub lm_dim: usize,
    /// Attention heads (must divide `query_channels`).
    pub heads: usize,
    /// Sampling points per head and level. Default: 4.
    #[config(default = 4)]
    pub points: usize,
}

impl DeformableConfig {
    /// Forward FLOPs of one image's fusion over levels of sides `sides` (multiply-adds counted
    /// twice): the offsets and weights from the queries, each level's values, bilinear sampling (4
    /// corners) and mixing, the output layer and the projector.
    pub fn flops(&self, sides: &[usize]) -> f64 {
        let n = (self.grid * self.grid) as f64;
        let cq = self.query_channels as f64;
        let samples = self.heads as f64 * self.levels.len() as f64 * self.points as f64;
        let values: f64 = self.levels.iter().zip(sides).map(|(&c, &s)| 2.0 * (s * s) as f64 * c as f64 * cq).sum();
        2.0 * n * cq * 3.0 * samples
            + values
            + 2.0 * n * samples * 4.0 * (cq / self.heads as f64)
            + 2.0 * n * cq * cq
            + ProjectorConfig::new(self.query_channels, self.lm_dim).flops(self.grid * self.grid)
    }

    /// Builds the fusion on `device`; offsets start at zero, so sampling starts at the reference points.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Deformable<B> {
        let c = self.query_channels;
        assert!(
            self.heads > 0 && c.is_multiple_of(self.heads),
            "deformable heads ({}) must divide the query channels ({c})",
            self.heads
        );
        let samples = self.heads * self.levels.len() * self.points;
        Deformable {
            norm: LayerNormConfig::new(c).init(device),
            values: self.levels.iter().map(|&ch| LinearConfig::new(ch, c).init(device)).collect(),
            offsets: LinearConfig::new(c, 2 * samples).with_initializer(Initializer::Zeros).init(device),
            weights: LinearConfig::new(c, samples).init(device),
            output: LinearConfig::new(c, c).init(device),
            projector: ProjectorConfig::new(c, self.lm_dim).init(device),
            grid: self.grid,
            heads: self.heads,
            points: self.points,
        }
    }
}

/// `X + Linear(Σ_{l,k} A · bilinear(V_l, p + Δp))`, then the projector: `(B, grid², d)`.
#[derive(Module, Debug)]
pub struct Deformable<B: Backend> {
    norm: LayerNorm<B>,
    values: Vec<Linear<B>>,
    offsets: Linear<B>,
    weights: Linear<B>,
    output: Linear<B>,
    projector: Projector<B>,
    grid: usize,
    heads: usize,
    points: usize,
}

impl<B: Backend> Deformable<B> {
    /// Where each query samples each level: its reference point on that level plus the learned
    /// offsets, in the level's pixel coordinates.
    ///
    /// # Shapes
    /// - `q`: `[batch, grid², c]` (normalised queries) → `[batch, grid², heads, levels, points, 2]`
    pub fn sampling_points(&self, q: Tensor<B, 3>, level_sides: &[(usize, usize)]) -> Tensor<B, 6> {
        let [b, n, _] = q.dims();
        let (h, p, levels) = (self.heads, self.points, level_sides.len());
        let device = q.device();
        let offsets = linear(&self.offsets, q).reshape([b, n, h, levels, p, 2]);
        let refs: Vec<Tensor<B, 6>> = level_sides
            .iter()
            .map(|&(mh, mw)| reference_points::<B>(self.grid, self.grid, mh, mw, &device).reshape([1, n, 1, 1, 1, 2]))
            .collect();
        offsets + Tensor::cat(refs, 3)
    }

    /// The query tokens and their sampled, weighted values before the output projection.
    ///
    /// # Shapes
    /// - `query`: `[batch, c, h_q, w_q]`, `maps[l]`: `[batch, c_l, h_l, w_l]` → two of `[batch, grid², c]`
    pub fn sample(&self, query: Tensor<B, 4>, maps: Vec<Tensor<B, 4>>) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let x = to_tokens(query, self.grid);
        let [b, n, c] = x.dims();
        let (h, p, levels) = (self.heads, self.points, maps.len());
        let dh = c / h;
        let q = layer_norm(&self.norm, x.clone());
        let sides: Vec<(usize, usize)> = maps.iter().map(|m| (m.dims()[2], m.dims()[3])).collect();
        let points = self.sampling_points(q.clone(), &sides);
        let weights = softmax(linear(&self.weights, q).reshape([b, n, h, levels * p]), 3).reshape([b, n, h, levels, p]);
        let mut acc: Option<Tensor<B, 4>> = None;
        for (l, (map, proj)) in maps.into_iter().zip(&self.values).enumerate() {
            let [_, ch, mh, mw] = map.dims();
            let v = linear(proj, map.reshape([b, ch, mh * mw]).swap_dims(1, 2));
            let v = v.reshape([b, mh, mw, h, dh]).permute([0, 3, 4, 1, 2]).reshape([b * h, dh, mh, mw]);
            let pts = points.clone().slice([0..b, 0..n, 0..h, l..l + 1, 0..p, 0..2]).reshape([b, n, h, p, 2]);
            let pts = pts.permute([0, 2, 1, 3, 4]).reshape([b * h, n * p, 2]);
            let sampled = bilinear_sample(v, pts).reshape([b, h, n, p, dh]);
            let w = weights
                .clone()
                .slice([0..b, 0..n, 0..h, l..l + 1, 0..p])
                .reshape([b, n, h, p])
                .permute([0, 2, 1, 3])
                .reshape([b, h, n, p, 1]);
            let part = (sampled * w).sum_dim(3).reshape([b, h, n, dh]);
            acc = Some(match acc {
                None => part,
                Some(a) => a + part,
            });
        }
        let out = acc.expect("at least one level").permute([0, 2, 1, 3]).reshape([b, n, c]);
        (x, out)
    }

    /// Normalised query tokens (what the offsets and weights are computed from).
    ///
    /// # Shapes
    /// - `query`: `[batch, c, h_q, w_q]` → `[batch, grid², c]`
    pub fn queries(&self, query: Tensor<B, 4>) -> Tensor<B, 3> {
        layer_norm(&self.norm, to_tokens(query, self.grid))
    }

    /// # Shapes
    /// - `query`: `[batch, c, h_q, w_q]`, `maps[l]`: `[batch, c_l, h_l, w_l]` → `[batch, grid², lm_dim]`
    pub fn forward(&self, query: Tensor<B, 4>, maps: Vec<Tensor<B, 4>>) -> Tensor<B, 3> {
        let (x, out) = self.sample(query, maps);
        self.projector.forward(x + linear(&self.output, out))
    }
}
