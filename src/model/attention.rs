//! Multi-head self-attention with one fused QKV projection, through burn's attention op.

use crate::model::dense::linear;
use crate::model::ops::fused_attention::scaled_dot_product;
use crate::model::ops::layout::batched_transpose;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of [`SelfAttention`].
#[derive(Config, Debug)]
pub struct SelfAttentionConfig {
    /// Model width.
    pub dim: usize,
    /// Number of heads (must divide `dim`).
    pub heads: usize,
    /// Causal (decoder) masking. Default: false.
    #[config(default = false)]
    pub causal: bool,
}

/// Self-attention: `softmax(QKᵀ/√d) V` per head, then an output projection.
#[derive(Module, Debug)]
pub struct SelfAttention<B: Backend> {
    qkv: Linear<B>,
    out: Linear<B>,
    heads: usize,
    causal: bool,
}

impl SelfAttentionConfig {
    /// Builds the layer on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> SelfAttention<B> {
        assert_eq!(self.dim % self.heads, 0, "heads must divide the width");
        SelfAttention {
            qkv: LinearConfig::new(self.dim, 3 * self.dim).init(device),
            out: LinearConfig::new(self.dim, self.dim).init(device),
            heads: self.heads,
            causal: self.causal,
        }
    }
}

impl<B: Backend> SelfAttention<B> {
    /// Splits the fused projection into per-head q, k, v.
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, dim]` → three of `[batch, heads, seq, dim / heads]`
    pub fn qkv(&self, x: Tensor<B, 3>) -> [Tensor<B, 4>; 3] {
        let [b, n, d] = x.dims();
        let hd = d / self.heads;
        let h = self.heads;
        // [b, n, 3·h, hd] → [b, 3·h, n, hd] in one contiguous transpose; q, k, v are then thirds of
        // each sample's block.
        let qkv = batched_transpose(linear(&self.qkv, x).reshape([b, n, 3 * h, hd])).reshape([b, 3, h * n * hd]);
        let third = |i: usize| qkv.clone().slice([0..b, i..i + 1]).reshape([b, h, n, hd]);
        [third(0), third(1), third(2)]
    }

    /// Attends with already-rotated (or raw) q and k.
    ///
    /// # Shapes
    /// - `q`, `k`, `v`: `[batch, heads, seq, head_dim]` → `[batch, seq, heads * head_dim]`
    pub fn attend(&self, q: Tensor<B, 4>, k: Tensor<B, 4>, v: Tensor<B, 4>) -> Tensor<B, 3> {
        let [b, h, n, hd] = q.dims();
        let o = scaled_dot_product(q, k, v, self.causal);
        linear(&self.out, batched_transpose(o).reshape([b, n, h * hd]))
    }

    /// Plain self-attention (no position rotation).
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, dim]` → `[batch, seq, dim]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [q, k, v] = self.qkv(x);
        self.attend(q, k, v)
    }
}

/// Configuration of [`CrossAttention`].
#[derive(Config, Debug)]
pub struct CrossAttentionConfig {
    /// Width of the queries and of the output.
    pub dim: usize,
    /// Width of the keys/values' source.
    pub context_dim: usize,
    /// Number of heads (must divide `dim`).
    pub heads: usize,
}

/// Multi-head cross-attention: queries from one sequence, keys and values from another.
#[derive(Module, Debug)]
pub struct CrossAttention<B: Backend> {
    q: Linear<B>,
    kv: Linear<B>,
    out: Linear<B>,
    heads: usize,
}

impl CrossAttentionConfig {
    /// Builds the layer on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> CrossAttention<B> {
        assert_eq!(self.dim % self.heads, 0, "heads must divide the width");
        CrossAttention {
            q: LinearConfig::new(self.dim, self.dim).init(device),
            kv: LinearConfig::new(self.context_dim, 2 * self.dim).init(device),
            out: LinearConfig::new(self.dim, self.dim).init(device),
            heads: self.heads,
        }
    }
}

impl<B: Backend> CrossAttention<B> {
    /// # Shapes
    /// - `x`: `[batch, n, dim]`, `context`: `[batch, m, context_dim]` → `[batch, n, dim]`
    pub fn forward(&self, x: Tensor<B, 3>, context: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, n, d] = x.dims();
        let m = context.dims()[1];
        let (h, hd) = (self.heads, d / self.heads);
        let q = linear(&self.q, x).reshape([b, n, h, hd]).swap_dims(1, 2);
        let kv = linear(&self.kv, context).reshape([b, m, 2, h, hd]).permute([2, 0, 3, 1, 4]);
        let k = kv.clone().slice(0..1).reshape([b, h, m, hd]);
        let v = kv.slice(1..2).reshape([b, h, m, hd]);
        let o = scaled_dot_product(q, k, v, false);
        linear(&self.out, o.swap_dims(1, 2).reshape([b, n, d]))
    }
}
