//! Rotary position embeddings (rotate-half layout): the position tables, 1D for the decoder and 2D
//! (rows, columns) for `eva02`. The rotation itself is the op [`rotate`].

use crate::model::ops::rotary::rotate;
use burn::prelude::*;

/// cos and sin tables for the given (possibly fractional) positions.
///
/// # Shapes
/// - returns two of `[1, 1, positions.len(), dim]`
pub fn tables<B: Backend>(positions: &[f32], dim: usize, device: &B::Device) -> (Tensor<B, 4>, Tensor<B, 4>) {
    let half = dim / 2;
    let mut cos = Vec::with_capacity(positions.len() * dim);
    let mut sin = Vec::with_capacity(positions.len() * dim);
    for &pos in positions {
        for i in 0..dim {
            let f = 1.0 / 10000f32.powf((i % half) as f32 * 2.0 / dim as f32);
            cos.push((pos * f).cos());
            sin.push((pos * f).sin());
        }
    }
    let t = |v: Vec<f32>| Tensor::<B, 1>::from_floats(v.as_slice(), device).reshape([1, 1, positions.len(), dim]);
    (t(cos), t(sin))
}

/// 2D rotary tables of an `h × w` token grid (row-major): the first half of each head rotates by
/// row, the second by column. Positions are measured in units of a `native`-side grid, so a larger
/// grid interpolates between the positions seen in pretraining instead of extrapolating.
pub struct Rope2d<B: Backend> {
    rows: (Tensor<B, 4>, Tensor<B, 4>),
    cols: (Tensor<B, 4>, Tensor<B, 4>),
}

impl<B: Backend> Rope2d<B> {
    /// Tables for a grid of `h × w` tokens and heads of `head_dim`.
    pub fn new(h: usize, w: usize, native: usize, head_dim: usize, device: &B::Device) -> Self {
        let scale_h = native as f32 / h as f32;
        let scale_w = native as f32 / w as f32;
        let rows: Vec<f32> = (0..h * w).map(|i| (i / w) as f32 * scale_h).collect();
        let cols: Vec<f32> = (0..h * w).map(|i| (i % w) as f32 * scale_w).collect();
        Self { rows: tables(&rows, head_dim / 2, device), cols: tables(&cols, head_dim / 2, device) }
    }

    /// Rotates q or k.
    ///
    /// # Shapes
    /// - `x`: `[batch, heads, h·w, head_dim]` → same
    pub fn rotate(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, h, n, d] = x.dims();
        let a = x.clone().slice([0..b, 0..h, 0..n, 0..d / 2]);
        let c = x.slice([0..b, 0..h, 0..n, d / 2..d]);
        Tensor::cat(vec![rotate(a, &self.rows.0, &self.rows.1), rotate(c, &self.cols.0, &self.cols.1)], 3)
    }
}
