//! transformers' `Pix2StructVisionModel`: flattened patches of variable-resolution images, each
//! carrying its row and column id (embedded and added to the projected patch), T5-style layers (RMS
//! norms without bias, unscaled dot-product attention over the unpadded patches, gated-GELU MLP) and a
//! final norm (Lee et al. 2023, "Pix2Struct: Screenshot Parsing as Pretraining for Visual Language
//! Understanding").

use super::act::HiddenAct;
use super::attention::{attend, merge_heads, split_heads};
use super::norm::RmsNorm;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use serde::Deserialize;

/// `Pix2StructVisionConfig` as transformers writes it (missing fields take transformers' defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Pix2StructVisionSettings {
    /// Width (default 768).
    pub hidden_size: usize,
    /// Values per flattened patch, without the two ids (default 768 = 16·16·3).
    pub patch_embed_hidden_size: usize,
    /// MLP width (default 2048).
    pub d_ff: usize,
    /// Head width (default 64).
    pub d_kv: usize,
    /// Layers (default 12).
    pub num_hidden_layers: usize,
    /// Heads (default 12).
    pub num_attention_heads: usize,
    /// RMS norm epsilon (default 1e-6).
    pub layer_norm_eps: f64,
    /// MLP activation (default gelu_new).
    pub dense_act_fn: HiddenAct,
    /// Rows (and columns) the id tables hold (default 4096).
    pub seq_len: usize,
}

impl Default for Pix2StructVisionSettings {
    fn default() -> Self {
        Pix2StructVisionSettings {
            hidden_size: 768,
            patch_embed_hidden_size: 768,
            d_ff: 2048,
            d_kv: 64,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            layer_norm_eps: 1e-6,
            dense_act_fn: HiddenAct::GeluTanh,
            seq_len: 4096,
        }
    }
}

impl Pix2StructVisionSettings {
    /// Builds the model (zero weights, to be loaded) on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Pix2StructVision<B> {
        let d = self.hidden_size;
        let inner = self.num_attention_heads * self.d_kv;
        let linear = |i, o| LinearConfig::new(i, o).with_bias(false).with_initializer(Initializer::Zeros).init(device);
        let norm = || RmsNorm::new(d, self.layer_norm_eps, device);
        let table = || EmbeddingConfig::new(self.seq_len, d).with_initializer(Initializer::Zeros).init(device);
        let layer = (0..self.num_hidden_layers)
            .map(|_| Pix2StructLayer {
                attention: Pix2StructAttention {
                    query: linear(d, inner),
                    key: linear(d, inner),
                    value: linear(d, inner),
                    output: linear(inner, d),
                },
                mlp: Pix2StructMlp { wi_0: linear(d, self.d_ff), wi_1: linear(d, self.d_ff), wo: linear(self.d_ff, d) },
                pre_mlp_layer_norm: norm(),
                pre_attention_layer_norm: norm(),
            })
            .collect();
        Pix2StructVision {
            embeddings: Pix2StructEmbeddings {
                patch_projection: LinearConfig::new(self.patch_embed_hidden_size, d)
                    .with_initializer(Initializer::Zeros)
                    .init(device),
                row_embedder: table(),
                column_embedder: table(),
            },
            encoder: Pix2StructEncoder { layer },
            layernorm: norm(),
            heads: self.num_attention_heads,
            act: self.dense_act_fn,
        }
    }
}

/// `Pix2StructVisionModel`.
#[derive(Module, Debug)]
pub struct Pix2StructVision<B: Backend> {
    embeddings: Pix2StructEmbeddings<B>,
    encoder: Pix2StructEncoder<B>,
    layernorm: RmsNorm<B>,
    heads: usize,
    act: HiddenAct,
}

/// `Pix2StructVisionEmbeddings`.
#[derive(Module, Debug)]
pub struct Pix2StructEmbeddings<B: Backend> {
    patch_projection: Linear<B>,
    row_embedder: Embedding<B>,
    column_embedder: Embedding<B>,
}

/// `Pix2StructVisionEncoder`.
#[derive(Module, Debug)]
pub struct Pix2StructEncoder<B: Backend> {
    layer: Vec<Pix2StructLayer<B>>,
}

/// `Pix2StructVisionLayer`.
#[derive(Module, Debug)]
pub struct Pix2StructLayer<B: Backend> {
    attention: Pix2StructAttention<B>,
    mlp: Pix2StructMlp<B>,
    pre_mlp_layer_norm: RmsNorm<B>,
    pre_attention_layer_norm: RmsNorm<B>,
}

/// `Pix2StructVisionAttention` (no biases, no 1/√d scaling).
#[derive(Module, Debug)]
pub struct Pix2StructAttention<B: Backend> {
    query: Linear<B>,
    key: Linear<B>,
    value: Linear<B>,
    output: Linear<B>,
}

/// `Pix2StructVisionMlp`: `wo(act(wi_0(x)) · wi_1(x))`.
#[derive(Module, Debug)]
pub struct Pix2StructMlp<B: Backend> {
    wi_0: Linear<B>,
    wi_1: Linear<B>,
    wo: Linear<B>,
}

impl<B: Backend> Pix2StructVision<B> {
    /// Values per flattened patch this model expects, with the two ids.
    pub fn patch_width(&self) -> usize {
        self.embeddings.patch_projection.weight.dims()[0] + 2
    }

    /// Rows (and columns) the id tables hold.
    pub fn max_id(&self) -> usize {
        self.embeddings.row_embedder.weight.dims()[0]
    }

    /// Encodes flattened patches.
    ///
    /// # Shapes
    /// - `patches`: `[batch, seq, 2 + patch values]` (row id, column id, then the pixels)
    /// - `mask`: `[batch, seq]`, 1 for patches, 0 for padding (transformers' default when absent:
    ///   patches whose values sum to non-zero)
    /// - returns `[batch, seq, hidden]`
    pub fn forward(&self, patches: Tensor<B, 3>, mask: Option<Tensor<B, 2>>) -> Tensor<B, 3> {
        let [b, n, w] = patches.dims();
        let mask = mask.unwrap_or_else(|| patches.clone().sum_dim(2).reshape([b, n]).not_equal_elem(0.0).float());
        let ids = |c: usize| patches.clone().slice([0..b, 0..n, c..c + 1]).reshape([b, n]).int();
        let e = &self.embeddings;
        let mut h = e.patch_projection.forward(patches.clone().slice([0..b, 0..n, 2..w]))
            + e.row_embedder.forward(ids(0))
            + e.column_embedder.forward(ids(1));
        let bias = (mask.neg() + 1.0).reshape([b, 1, 1, n]) * -1e30;
        for layer in &self.encoder.layer {
            let x = layer.pre_attention_layer_norm.forward(h.clone());
            let a = &layer.attention;
            let q = split_heads(a.query.forward(x.clone()), self.heads);
            let k = split_heads(a.key.forward(x.clone()), self.heads);
            let v = split_heads(a.value.forward(x), self.heads);
            h = h + a.output.forward(merge_heads(attend(q, k, v, 1.0, Some(bias.clone()))));
            let x = layer.pre_mlp_layer_norm.forward(h.clone());
            let m = &layer.mlp;
            h = h + m.wo.forward(self.act.forward(m.wi_0.forward(x.clone())) * m.wi_1.forward(x));
        }
        self.layernorm.forward(h)
    }
}
