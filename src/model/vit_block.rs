//! The pre-norm transformer block of ViT experts: LayerNorm → attention → LayerNorm → GELU MLP.

use super::attention::{SelfAttention, SelfAttentionConfig};
use crate::model::dense::linear;
use crate::model::ops::activation::gelu;
use crate::model::ops::layer_norm::layer_norm;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of [`VitBlock`].
#[derive(Config, Debug)]
pub struct VitBlockConfig {
    /// Width.
    pub dim: usize,
    /// Attention heads.
    pub heads: usize,
    /// MLP hidden width as a multiple of `dim`. Default: 4.
    #[config(default = 4)]
    pub mlp_ratio: usize,
}

/// One ViT encoder block.
#[derive(Module, Debug)]
pub struct VitBlock<B: Backend> {
    norm1: LayerNorm<B>,
    attn: SelfAttention<B>,
    norm2: LayerNorm<B>,
    fc1: Linear<B>,
    fc2: Linear<B>,
}

impl VitBlockConfig {
    /// Forward FLOPs of the block on one sequence of `tokens` tokens: its matrix products (the
    /// attention's four projections, the MLP, and the scores and weighted sum over every pair of
    /// tokens), multiply-adds counted twice; norms and activations are not counted.
    pub fn flops(&self, tokens: usize) -> f64 {
        let (d, n) = (self.dim as f64, tokens as f64);
        let per_token = (4 + 2 * self.mlp_ratio) as f64 * d * d;
        2.0 * (per_token * n + 2.0 * n * n * d)
    }

    /// Builds the block on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> VitBlock<B> {
        VitBlock {
            norm1: LayerNormConfig::new(self.dim).init(device),
            attn: SelfAttentionConfig::new(self.dim, self.heads).init(device),
            norm2: LayerNormConfig::new(self.dim).init(device),
            fc1: LinearConfig::new(self.dim, self.dim * self.mlp_ratio).init(device),
            fc2: LinearConfig::new(self.dim * self.mlp_ratio, self.dim).init(device),
        }
    }
}

impl<B: Backend> VitBlock<B> {
    /// # Shapes
    /// - `x`: `[batch, tokens, dim]` → `[batch, tokens, dim]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = x.clone() + self.attn.forward(layer_norm(&self.norm1, x));
        x.clone() + linear(&self.fc2, gelu(linear(&self.fc1, layer_norm(&self.norm2, x))))
    }
}
