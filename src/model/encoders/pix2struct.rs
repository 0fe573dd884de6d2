//! `pix2struct`: a ViT over variable-resolution patches that keeps the image's aspect ratio within a
//! patch budget, with learned row and column embeddings instead of a fixed position grid.

use super::clip::{patchify, vit_stem_flops};
use crate::model::dense::linear;
use crate::model::ops::layer_norm::layer_norm;
use crate::model::resample::{resample, ResampleMode};
use crate::model::vit_block::{VitBlock, VitBlockConfig};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;

/// Configuration of [`Pix2StructVit`].
#[derive(Config, Debug)]
pub struct Pix2StructVitConfig {
    /// Width.
    pub dim: usize,
    /// Blocks.
    pub depth: usize,
    /// Attention heads.
    pub heads: usize,
    /// Most patches per image; larger images are scaled down, aspect ratio kept.
    pub max_patches: usize,
    /// Patch side in pixels. Default: 16.
    #[config(default = 16)]
    pub patch: usize,
    /// Standard deviation of the row and column embeddings at initialisation (None: burn's N(0, 1)).
    #[config(default = "None")]
    pub position_init_std: Option<f64>,
}

/// Patch rows and columns for an `h × w` image with `patch`-pixel patches: all of its patches if
/// they fit `max_patches`, else the largest aspect-preserving grid that does.
pub fn fit_patches(h: usize, w: usize, patch: usize, max_patches: usize) -> (usize, usize) {
    let p = patch;
    if h.is_multiple_of(p) && w.is_multiple_of(p) && (h / p) * (w / p) <= max_patches {
        return (h / p, w / p);
    }
    let scale = ((max_patches * p * p) as f64 / (h * w) as f64).sqrt();
    let rows = ((h as f64 * scale / p as f64).floor() as usize).max(1);
    let cols = ((w as f64 * scale / p as f64).floor() as usize).clamp(1, (max_patches / rows).max(1));
    (rows, cols)
}

impl Pix2StructVitConfig {
    /// Patch rows and columns for an `h × w` image (see [`fit_patches`]).
    pub fn fit(&self, h: usize, w: usize) -> (usize, usize) {
        fit_patches(h, w, self.patch, self.max_patches)
    }

    /// Token grid side for a square input of side `res`.
    pub fn grid(&self, res: usize) -> usize {
        self.fit(res, res).0
    }

    /// Forward FLOPs of the patch embedding on one square image of side `res` (see
    /// [`super::clip::ClipVitConfig::stem_flops`]).
    pub fn stem_flops(&self, res: usize) -> f64 {
        vit_stem_flops(self.grid(res), self.patch, self.dim)
    }

    /// Forward FLOPs on one square image of side `res` (matrix products only, multiply-adds counted twice).
    pub fn flops(&self, res: usize) -> f64 {
        let blocks = self.depth as f64 * VitBlockConfig::new(self.dim, self.heads).flops(self.grid(res).pow(2));
        self.stem_flops(res) + blocks
    }

    /// A row or column embedding table, initialised as [`Self::position_init_std`] says.
    fn position_table(&self) -> EmbeddingConfig {
        let table = EmbeddingConfig::new(self.max_patches, self.dim);
        match self.position_init_std {
            Some(std) => table.with_initializer(Initializer::Normal { mean: 0.0, std }),
            None => table,
        }
    }

    /// Builds the encoder on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Pix2StructVit<B> {
        let d = self.dim;
        Pix2StructVit {
            patch_embed: LinearConfig::new(3 * self.patch * self.patch, d).init(device),
            row_embed: self.position_table().init(device),
            col_embed: self.position_table().init(device),
            blocks: (0..self.depth).map(|_| VitBlockConfig::new(d, self.heads).init(device)).collect(),
            norm: LayerNormConfig::new(d).init(device),
            patch: self.patch,
            max_patches: self.max_patches,
        }
    }
}

/// Pix2Struct-style encoder.
#[derive(Module, Debug)]
pub struct Pix2StructVit<B: Backend> {
    patch_embed: Linear<B>,
    row_embed: Embedding<B>,
    col_embed: Embedding<B>,
    blocks: Vec<VitBlock<B>>,
    norm: LayerNorm<B>,
    patch: usize,
    max_patches: usize,
}

impl<B: Backend> Pix2StructVit<B> {
    /// Encodes images of any aspect ratio into a feature map of the fitted patch grid.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, h, w]` → `[batch, dim, rows, cols]` with `(rows, cols)` from `fit(h, w)`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, _, hh, ww] = x.dims();
        let (rows, cols) = fit_patches(hh, ww, self.patch, self.max_patches);
        let p = self.patch;
        let x =
            if (rows * p, cols * p) == (hh, ww) { x } else { resample(x, rows * p, cols * p, ResampleMode::Bilinear) };
        let t = linear(&self.patch_embed, patchify(x, p));
        let d = t.dims()[2];
        let device = t.device();
        let ids = |f: &dyn Fn(usize) -> usize| {
            let v: Vec<i64> = (0..rows * cols).map(|i| f(i) as i64).collect();
            Tensor::<B, 2, Int>::from_data(TensorData::new(v, [1, rows * cols]), &device)
        };
        let pos = self.row_embed.forward(ids(&|i| i / cols)) + self.col_embed.forward(ids(&|i| i % cols));
        let mut t = t + pos;
        for blk in &self.blocks {
            t = blk.forward(t);
        }
        layer_norm(&self.norm, t).swap_dims(1, 2).reshape([b, d, rows, cols])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    /// The standard deviation of a row-embedding table's entries.
    fn row_std(cfg: &Pix2StructVitConfig) -> f64 {
        let e = cfg.init::<Flex>(&Default::default());
        let w = e.row_embed.weight.val();
        let n = w.dims().iter().product::<usize>() as f64;
        let mean = w.clone().mean().into_scalar() as f64;
        ((w.powf_scalar(2.0).sum().into_scalar() as f64 / n) - mean * mean).sqrt()
    }

    #[test]
    fn position_tables_start_at_the_asked_spread() {
        let cfg = Pix2StructVitConfig::new(64, 1, 4, 64);
        let default = row_std(&cfg);
        let small = row_std(&cfg.clone().with_position_init_std(Some(0.02)));
        assert!((default - 1.0).abs() < 0.05, "burn's N(0, 1): {default}");
        assert!((small - 0.02).abs() < 0.002, "{small}");
    }
}
