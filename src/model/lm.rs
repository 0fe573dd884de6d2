//! The Llama-style decoder: token embedding, RMSNorm, rotary attention, SwiGLU, tied-free LM head.

use super::attention::{SelfAttention, SelfAttentionConfig};
use super::ops::rotary::rotate;
use super::rope::tables;
use crate::model::dense::linear;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, RmsNorm, RmsNormConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;

/// Everything that fixes the LM's architecture (part of its pretraining stage id).
#[derive(Config, Debug, PartialEq)]
pub struct LmConfig {
    /// Vocabulary size.
    pub vocab: usize,
    /// Width.
    pub dim: usize,
    /// Decoder blocks.
    pub depth: usize,
    /// Attention heads.
    pub heads: usize,
}

impl LmConfig {
    /// SwiGLU hidden width (≈ 8/3 · dim, rounded to 8).
    pub fn hidden(&self) -> usize {
        (self.dim * 8 / 3).div_ceil(8) * 8
    }

    /// Forward FLOPs on one sequence of `tokens` tokens: per block the attention's four projections,
    /// its scores and weighted sum (causal or not, every pair counted) and the SwiGLU, then the LM
    /// head; multiply-adds counted twice, the embedding lookup, norms and activations not counted.
    pub fn flops(&self, tokens: usize) -> f64 {
        let (d, n) = (self.dim as f64, tokens as f64);
        let block = (4.0 * d * d + 3.0 * d * self.hidden() as f64) * n + 2.0 * n * n * d;
        2.0 * (self.depth as f64 * block + d * self.vocab as f64 * n)
    }

    /// Builds the LM on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Lm<B> {
        Lm {
            embed: EmbeddingConfig::new(self.vocab, self.dim).init(device),
            blocks: (0..self.depth)
                .map(|_| LmBlock {
                    norm1: RmsNormConfig::new(self.dim).init(device),
                    attn: SelfAttentionConfig::new(self.dim, self.heads).with_causal(true).init(device),
                    norm2: RmsNormConfig::new(self.dim).init(device),
                    gate: LinearConfig::new(self.dim, self.hidden()).with_bias(false).init(device),
                    up: LinearConfig::new(self.dim, self.hidden()).with_bias(false).init(device),
                    down: LinearConfig::new(self.hidden(), self.dim).with_bias(false).init(device),
                    heads: self.heads,
                })
                .collect(),
            norm: RmsNormConfig::new(self.dim).init(device),
            head: LinearConfig::new(self.dim, self.vocab).with_bias(false).init(device),
        }
    }
}

/// One decoder block.
#[derive(Module, Debug)]
pub struct LmBlock<B: Backend> {
    norm1: RmsNorm<B>,
    attn: SelfAttention<B>,
    norm2: RmsNorm<B>,
    gate: Linear<B>,
    up: Linear<B>,
    down: Linear<B>,
    heads: usize,
}

impl<B: Backend> LmBlock<B> {
    /// # Shapes
    /// - `x`: `[batch, seq, dim]`, tables `[1, 1, seq, head_dim]` → `[batch, seq, dim]`
    pub fn forward(&self, x: Tensor<B, 3>, cos: &Tensor<B, 4>, sin: &Tensor<B, 4>) -> Tensor<B, 3> {
        let [q, k, v] = self.attn.qkv(self.norm1.forward(x.clone()));
        let x = x + self.attn.attend(rotate(q, cos, sin), rotate(k, cos, sin), v);
        let h = self.norm2.forward(x.clone());
        x + linear(&self.down, silu(linear(&self.gate, h.clone())) * linear(&self.up, h))
    }
}

/// The decoder.
#[derive(Module, Debug)]
pub struct Lm<B: Backend> {
    embed: Embedding<B>,
    blocks: Vec<LmBlock<B>>,
    norm: RmsNorm<B>,
    head: Linear<B>,
}

impl<B: Backend> Lm<B> {
    /// Token embeddings.
    ///
    /// # Shapes
    /// - `ids`: `[batch, seq]` → `[batch, seq, dim]`
    pub fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.embed.forward(ids)
    }

    /// Runs the decoder over embeddings (visual prefix and text) and returns logits.
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, dim]` → `[batch, seq, vocab]`
    pub fn forward_embeds(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [_, n, d] = x.dims();
        let heads = self.blocks.first().map(|b| b.heads).unwrap_or(1);
        let positions: Vec<f32> = (0..n).map(|p| p as f32).collect();
        let (cos, sin) = tables::<B>(&positions, d / heads, &x.device());
        let mut x = x;
        for blk in &self.blocks {
            x = blk.forward(x, &cos, &sin);
        }
        linear(&self.head, self.norm.forward(x))
    }

    /// Logits of a token sequence.
    ///
    /// # Shapes
    /// - `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn forward(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.forward_embeds(self.embed(ids))
    }
}
