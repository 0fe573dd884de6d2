//! transformers' `CLIPVisionModel`: patch embedding without bias, a class token, learned position
//! embeddings, a pre-norm, pre-LN transformer layers, and the class token post-normed as the pooled
//! output (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language Supervision").

use super::act::HiddenAct;
use super::attention::{attend, merge_heads, split_heads};
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use serde::Deserialize;

/// `CLIPVisionConfig` as transformers writes it (missing fields take transformers' defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ClipVisionSettings {
    /// Width (default 768).
    pub hidden_size: usize,
    /// MLP width (default 3072).
    pub intermediate_size: usize,
    /// Layers (default 12).
    pub num_hidden_layers: usize,
    /// Heads (default 12).
    pub num_attention_heads: usize,
    /// Input channels (default 3).
    pub num_channels: usize,
    /// Input side in pixels (default 224).
    pub image_size: usize,
    /// Patch side (default 32).
    pub patch_size: usize,
    /// MLP activation (default quick_gelu).
    pub hidden_act: HiddenAct,
    /// LayerNorm epsilon (default 1e-5).
    pub layer_norm_eps: f64,
}

impl Default for ClipVisionSettings {
    fn default() -> Self {
        ClipVisionSettings {
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            num_channels: 3,
            image_size: 224,
            patch_size: 32,
            hidden_act: HiddenAct::QuickGelu,
            layer_norm_eps: 1e-5,
        }
    }
}

impl ClipVisionSettings {
    /// Patches per side at the configured image size.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Builds the model (zero weights, to be loaded) on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ClipVision<B> {
        let d = self.hidden_size;
        let norm = || LayerNormConfig::new(d).with_epsilon(self.layer_norm_eps).init(device);
        let linear = |i, o| LinearConfig::new(i, o).with_initializer(Initializer::Zeros).init(device);
        let layers = (0..self.num_hidden_layers)
            .map(|_| ClipLayer {
                self_attn: ClipAttention {
                    q_proj: linear(d, d),
                    k_proj: linear(d, d),
                    v_proj: linear(d, d),
                    out_proj: linear(d, d),
                    heads: self.num_attention_heads,
                },
                layer_norm1: norm(),
                mlp: ClipMlp { fc1: linear(d, self.intermediate_size), fc2: linear(self.intermediate_size, d) },
                layer_norm2: norm(),
            })
            .collect();
        let p = self.patch_size;
        ClipVision {
            vision_model: ClipVisionTransformer {
                embeddings: ClipEmbeddings {
                    class_embedding: Param::from_tensor(Tensor::zeros([d], device)),
                    patch_embedding: Conv2dConfig::new([self.num_channels, d], [p, p])
                        .with_stride([p, p])
                        .with_bias(false)
                        .with_initializer(Initializer::Zeros)
                        .init(device),
                    position_embedding: EmbeddingConfig::new(self.grid() * self.grid() + 1, d)
                        .with_initializer(Initializer::Zeros)
                        .init(device),
                },
                pre_layrnorm: norm(),
                encoder: ClipEncoder { layers },
                post_layernorm: norm(),
            },
            act: self.hidden_act,
            image_size: self.image_size,
        }
    }
}

/// `CLIPVisionModel`: its one field carries transformers' `vision_model.` key prefix.
#[derive(Module, Debug)]
pub struct ClipVision<B: Backend> {
    /// The tower.
    pub vision_model: ClipVisionTransformer<B>,
    act: HiddenAct,
    image_size: usize,
}

/// `CLIPVisionTransformer`.
#[derive(Module, Debug)]
pub struct ClipVisionTransformer<B: Backend> {
    embeddings: ClipEmbeddings<B>,
    pre_layrnorm: LayerNorm<B>,
    encoder: ClipEncoder<B>,
    post_layernorm: LayerNorm<B>,
}

/// `CLIPVisionEmbeddings`.
#[derive(Module, Debug)]
pub struct ClipEmbeddings<B: Backend> {
    class_embedding: Param<Tensor<B, 1>>,
    patch_embedding: Conv2d<B>,
    position_embedding: Embedding<B>,
}

/// `CLIPEncoder`.
#[derive(Module, Debug)]
pub struct ClipEncoder<B: Backend> {
    layers: Vec<ClipLayer<B>>,
}

/// `CLIPEncoderLayer`: pre-LN attention and MLP with residuals.
#[derive(Module, Debug)]
pub struct ClipLayer<B: Backend> {
    self_attn: ClipAttention<B>,
    layer_norm1: LayerNorm<B>,
    mlp: ClipMlp<B>,
    layer_norm2: LayerNorm<B>,
}

/// `CLIPAttention`: separate q, k, v projections with biases.
#[derive(Module, Debug)]
pub struct ClipAttention<B: Backend> {
    q_proj: Linear<B>,
    k_proj: Linear<B>,
    v_proj: Linear<B>,
    out_proj: Linear<B>,
    heads: usize,
}

/// `CLIPMLP`.
#[derive(Module, Debug)]
pub struct ClipMlp<B: Backend> {
    fc1: Linear<B>,
    fc2: Linear<B>,
}

/// The outputs transformers returns.
#[derive(Debug, Clone)]
pub struct ClipVisionOutput<B: Backend> {
    /// `[batch, 1 + patches, hidden]`, the last layer's output (not post-normed).
    pub last_hidden_state: Tensor<B, 3>,
    /// `[batch, hidden]`, the class token post-normed.
    pub pooler_output: Tensor<B, 2>,
}

impl<B: Backend> ClipVision<B> {
    /// The key rewrites from transformers' names: transformers 5 saves a `CLIPVisionModel`'s tower
    /// without the `vision_model.` prefix that 4.x and a full `CLIPModel` write.
    pub fn key_rewrites() -> Vec<(String, String)> {
        vec![(r"^(embeddings|pre_layrnorm|encoder|post_layernorm)\.".into(), "vision_model.$1.".into())]
    }

    /// The side in pixels the position table was trained at.
    pub fn image_size(&self) -> usize {
        self.image_size
    }

    /// Runs the tower.
    ///
    /// # Shapes
    /// - `pixels`: `[batch, channels, image_size, image_size]` →
    ///   `last_hidden_state [batch, 1 + grid², hidden]`, `pooler_output [batch, hidden]`
    pub fn forward(&self, pixels: Tensor<B, 4>) -> ClipVisionOutput<B> {
        let m = &self.vision_model;
        let e = &m.embeddings;
        let patches = e.patch_embedding.forward(pixels); // [b, d, g, g]
        let [b, d, gh, gw] = patches.dims();
        let patches = patches.reshape([b, d, gh * gw]).swap_dims(1, 2);
        let class = e.class_embedding.val().reshape([1, 1, d]).expand([b, 1, d]);
        let positions = e.position_embedding.weight.val().unsqueeze_dim::<3>(0);
        let mut h = m.pre_layrnorm.forward(Tensor::cat(vec![class, patches], 1) + positions);
        for layer in &m.encoder.layers {
            let a = layer.self_attn.forward(layer.layer_norm1.forward(h.clone()));
            h = h + a;
            let x = layer.layer_norm2.forward(h.clone());
            h = h + layer.mlp.fc2.forward(self.act.forward(layer.mlp.fc1.forward(x)));
        }
        let n = h.dims()[1];
        let pooled = m.post_layernorm.forward(h.clone().slice([0..b, 0..1]).reshape([b, d]));
        debug_assert_eq!(n, gh * gw + 1);
        ClipVisionOutput { last_hidden_state: h, pooler_output: pooled }
    }
}

impl<B: Backend> ClipAttention<B> {
    /// Self-attention.
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, hidden]` → `[batch, seq, hidden]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let h = self.heads;
        let hd = x.dims()[2] / h;
        let q = split_heads(self.q_proj.forward(x.clone()), h);
        let k = split_heads(self.k_proj.forward(x.clone()), h);
        let v = split_heads(self.v_proj.forward(x), h);
        self.out_proj.forward(merge_heads(attend(q, k, v, (hd as f64).powf(-0.5), None)))
    }
}
