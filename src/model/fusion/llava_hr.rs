//! LLaVA-HR's mixture-of-resolution adapters: a fast low-resolution ViT branch and a slow
//! high-resolution branch; after chosen ViT blocks, an adapter mixes the high-resolution features
//! into the ViT tokens through a tanh gate. Every adapter's output convolutions start at zero, so at
//! step 0 the ViT computes exactly what it computes alone.
//!
//! Simplification: the high-resolution expert runs once and every adapter reads its final map
//! (LLaVA-HR interleaves the two networks stage by stage).

use super::to_tokens;
use crate::model::dense::linear;
use crate::model::encoders::clip::ClipVit;
use crate::model::ops::activation::gelu;
use crate::model::ops::depthwise::depthwise_conv;
use crate::model::projector::{Projector, ProjectorConfig};
use crate::model::resample::{resample, ResampleMode};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

/// Configuration of [`LlavaHr`].
#[derive(Config, Debug)]
pub struct LlavaHrConfig {
    /// Width of the ViT branch.
    pub vit_channels: usize,
    /// Channels of each high-resolution map (concatenated on channels after resampling).
    pub high_res: Vec<usize>,
    /// Indices of the ViT blocks followed by an adapter.
    pub adapter_blocks: Vec<usize>,
    /// Token grid side.
    pub grid: usize,
    /// LM width.
    pub lm_dim: usize,
}

impl LlavaHrConfig {
    /// Forward FLOPs of one image's fusion with a `vit_side × vit_side` ViT map (multiply-adds
    /// counted twice): per adapter, two 1×1 convolutions on the high-resolution features and a 7×7
    /// depthwise and a 1×1 convolution on the ViT map (the gate not counted); then the projector and
    /// the high-resolution output layer over the `grid²` tokens.
    pub fn flops(&self, vit_side: usize) -> f64 {
        let n = (self.grid * self.grid) as f64;
        let (cq, d) = (self.vit_channels as f64, self.lm_dim as f64);
        let hr: f64 = self.high_res.iter().map(|&c| c as f64).sum();
        let m = vit_side.pow(2) as f64;
        let adapter = 2.0 * m * (hr * cq + cq * cq + 49.0 * cq + cq * cq);
        let projector = ProjectorConfig::new(self.vit_channels, self.lm_dim).flops(self.grid * self.grid);
        self.adapter_blocks.len() as f64 * adapter + projector + 2.0 * n * hr * d
    }

    /// Builds the fusion on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LlavaHr<B> {
        let (c, hr) = (self.vit_channels, self.high_res.iter().sum());
        LlavaHr {
            adapters: self.adapter_blocks.iter().map(|_| MrAdapter::new(c, hr, device)).collect(),
            blocks: self.adapter_blocks.clone(),
            vit_projector: ProjectorConfig::new(c, self.lm_dim).init(device),
            high_res_out: LinearConfig::new(hr, self.lm_dim).with_initializer(Initializer::Zeros).init(device),
            grid: self.grid,
        }
    }
}

/// One mixture-of-resolution adapter.
#[derive(Module, Debug)]
pub struct MrAdapter<B: Backend> {
    hr_in: Conv2d<B>,
    hr_out: Conv2d<B>,
    dw: Conv2d<B>,
    vit_out: Conv2d<B>,
    gate_in: Linear<B>,
    gate_out: Linear<B>,
}

impl<B: Backend> MrAdapter<B> {
    fn new(c: usize, hr: usize, device: &B::Device) -> Self {
        let zero =
            |a: usize, b: usize| Conv2dConfig::new([a, b], [1, 1]).with_initializer(Initializer::Zeros).init(device);
        Self {
            hr_in: Conv2dConfig::new([hr, c], [1, 1]).init(device),
            hr_out: zero(c, c),
            dw: Conv2dConfig::new([c, c], [7, 7])
                .with_groups(c)
                .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
                .init(device),
            vit_out: zero(c, c),
            gate_in: LinearConfig::new(2 * c, c / 2).init(device),
            gate_out: LinearConfig::new(c / 2, 1).init(device),
        }
    }

    /// `s' = Conv(GELU(Conv(s)))` at the ViT grid, `f' = f + Conv(GELU(DWConv7(f)))`,
    /// `g = tanh(MLP(mean[f'; s']))`, returns `f' + g·s'`.
    ///
    /// # Shapes
    /// - `f`: `[batch, c, h, w]`, `s`: `[batch, c_hr, h, w]` → `[batch, c, h, w]`
    pub fn forward(&self, f: Tensor<B, 4>, s: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, c, _, _] = f.dims();
        let s = self.hr_out.forward(gelu(self.hr_in.forward(s)));
        let f = f.clone() + self.vit_out.forward(gelu(depthwise_conv(&self.dw, f)));
        let pooled = Tensor::cat(vec![f.clone(), s.clone()], 1).mean_dim(3).mean_dim(2).reshape([b, 2 * c]);
        let g = linear(&self.gate_out, gelu(linear(&self.gate_in, pooled))).tanh().reshape([b, 1, 1, 1]);
        f + s * g
    }
}

/// The adapted ViT, then `Projector(f) + Linear(s)`: `(B, grid², d)`.
#[derive(Module, Debug)]
pub struct LlavaHr<B: Backend> {
    adapters: Vec<MrAdapter<B>>,
    blocks: Vec<usize>,
    vit_projector: Projector<B>,
    high_res_out: Linear<B>,
    grid: usize,
}

impl<B: Backend> LlavaHr<B> {
    /// Runs `vit` on `x` with the adapters after their blocks, reading the high-resolution maps.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, r, r]`, `high_res[i]`: `[batch, c_i, h_i, w_i]` → `[batch, c, r/p, r/p]`
    pub fn adapted_vit(&self, vit: &ClipVit<B>, x: Tensor<B, 4>, high_res: &Tensor<B, 4>) -> Tensor<B, 4> {
        let (mut t, h, w) = vit.embed(x);
        let [b, _, c] = t.dims();
        let s = resample(high_res.clone(), h, w, ResampleMode::Bilinear);
        for i in 0..vit.depth() {
            t = vit.block(i, t);
            if let Some(k) = self.blocks.iter().position(|&j| j == i) {
                let f = t.swap_dims(1, 2).reshape([b, c, h, w]);
                t = self.adapters[k].forward(f, s.clone()).reshape([b, c, h * w]).swap_dims(1, 2);
            }
        }
        vit.finish(t, h, w)
    }

    /// High-resolution maps resampled to one grid and concatenated on channels.
    ///
    /// # Shapes
    /// - `maps[i]`: `[batch, c_i, h_i, w_i]` → `[batch, Σc_i, h_max, w_max]`
    pub fn join_high_res(maps: Vec<Tensor<B, 4>>) -> Tensor<B, 4> {
        let side = maps.iter().map(|m| m.dims()[2]).max().unwrap_or(1);
        Tensor::cat(maps.into_iter().map(|m| resample(m, side, side, ResampleMode::Bilinear)).collect(), 1)
    }

    /// # Shapes
    /// - `vit`: the query ViT, `x`: `[batch, 3, r, r]`, `high_res[i]`: `[batch, c_i, h_i, w_i]`
    ///   → `[batch, grid², lm_dim]`
    pub fn forward(&self, vit: &ClipVit<B>, x: Tensor<B, 4>, high_res: Vec<Tensor<B, 4>>) -> Tensor<B, 3> {
        let s = Self::join_high_res(high_res);
        let f = self.adapted_vit(vit, x, &s);
        self.vit_tokens(f) + linear(&self.high_res_out, to_tokens(s, self.grid))
    }

    /// The ViT branch's share of the tokens: the adapted ViT's map at the token grid, projected.
    ///
    /// # Shapes
    /// - `f`: `[batch, c, h, w]` → `[batch, grid², lm_dim]`
    pub fn vit_tokens(&self, f: Tensor<B, 4>) -> Tensor<B, 3> {
        self.vit_projector.forward(to_tokens(f, self.grid))
    }
}
