//! transformers' `LlamaForCausalLM`: token embeddings, pre-RMS-norm decoder layers with rotary
//! positions and grouped-query causal attention, a SwiGLU MLP, a final norm and the LM head (tied to
//! the embeddings when the config says so) (Touvron et al. 2023, "LLaMA"; Ainslie et al. 2023, "GQA").

use super::act::HiddenAct;
use super::attention::{attend, merge_heads, split_heads};
use super::norm::RmsNorm;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use serde::Deserialize;

/// transformers' rope settings (`rope_parameters` in 5.x; `rope_theta`/`rope_scaling` at the top in 4.x).
#[derive(Debug, Clone, Deserialize)]
pub struct RopeParameters {
    /// Base of the frequencies (default 10000).
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Only `default` is reproduced.
    #[serde(default = "default_rope_type", alias = "type")]
    pub rope_type: String,
}

fn default_theta() -> f64 {
    10000.0
}

fn default_rope_type() -> String {
    "default".into()
}

/// `LlamaConfig` as transformers writes it (missing fields take transformers' defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LlamaSettings {
    /// Vocabulary (default 32000).
    pub vocab_size: usize,
    /// Width (default 4096).
    pub hidden_size: usize,
    /// MLP width (default 11008).
    pub intermediate_size: usize,
    /// Layers (default 32).
    pub num_hidden_layers: usize,
    /// Query heads (default 32).
    pub num_attention_heads: usize,
    /// Key/value heads (default: the query heads).
    pub num_key_value_heads: Option<usize>,
    /// Head width (default: width / heads).
    pub head_dim: Option<usize>,
    /// MLP activation (default silu).
    pub hidden_act: HiddenAct,
    /// RMS norm epsilon (default 1e-6).
    pub rms_norm_eps: f64,
    /// Biases on q, k, v, o (default false).
    pub attention_bias: bool,
    /// Biases on the MLP (default false).
    pub mlp_bias: bool,
    /// LM head shares the embedding matrix (default false).
    pub tie_word_embeddings: bool,
    /// 5.x rope settings.
    pub rope_parameters: Option<RopeParameters>,
    /// 4.x rope base.
    pub rope_theta: Option<f64>,
    /// 4.x rope scaling (only none is reproduced).
    pub rope_scaling: Option<RopeParameters>,
}

impl Default for LlamaSettings {
    fn default() -> Self {
        LlamaSettings {
            vocab_size: 32000,
            hidden_size: 4096,
            intermediate_size: 11008,
            num_hidden_layers: 32,
            num_attention_heads: 32,
            num_key_value_heads: None,
            head_dim: None,
            hidden_act: HiddenAct::Silu,
            rms_norm_eps: 1e-6,
            attention_bias: false,
            mlp_bias: false,
            tie_word_embeddings: false,
            rope_parameters: None,
            rope_theta: None,
            rope_scaling: None,
        }
    }
}

impl LlamaSettings {
    fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    fn head_width(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads)
    }

    /// The rope base, or what is not reproduced.
    fn theta(&self) -> Result<f64, String> {
        let rope = self.rope_parameters.as_ref().or(self.rope_scaling.as_ref());
        match rope {
            Some(r) if r.rope_type != "default" => {
                Err(format!("rope type {:?} is not reproduced (only \"default\")", r.rope_type))
            }
            _ => Ok(self.rope_parameters.as_ref().map(|r| r.rope_theta).or(self.rope_theta).unwrap_or(10000.0)),
        }
    }

    /// A description of what is inconsistent or not reproduced, if anything.
    pub fn problem(&self) -> Option<String> {
        if let Err(e) = self.theta() {
            return Some(e);
        }
        let (h, kv) = (self.num_attention_heads, self.kv_heads());
        if h == 0 || kv == 0 || h % kv != 0 {
            return Some(format!("num_key_value_heads ({kv}) must divide num_attention_heads ({h})"));
        }
        if !self.head_width().is_multiple_of(2) {
            return Some(format!("head_dim ({}) must be even for rotary positions", self.head_width()));
        }
        None
    }

    /// Builds the model (zero weights, to be loaded) on `device`; call [`Self::problem`] first.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LlamaForCausalLm<B> {
        let (d, hd) = (self.hidden_size, self.head_width());
        let linear =
            |i, o, bias| LinearConfig::new(i, o).with_bias(bias).with_initializer(Initializer::Zeros).init(device);
        let (q, kv) = (self.num_attention_heads * hd, self.kv_heads() * hd);
        let layers = (0..self.num_hidden_layers)
            .map(|_| LlamaLayer {
                self_attn: LlamaAttention {
                    q_proj: linear(d, q, self.attention_bias),
                    k_proj: linear(d, kv, self.attention_bias),
                    v_proj: linear(d, kv, self.attention_bias),
                    o_proj: linear(q, d, self.attention_bias),
                },
                mlp: LlamaMlp {
                    gate_proj: linear(d, self.intermediate_size, self.mlp_bias),
                    up_proj: linear(d, self.intermediate_size, self.mlp_bias),
                    down_proj: linear(self.intermediate_size, d, self.mlp_bias),
                },
                input_layernorm: RmsNorm::new(d, self.rms_norm_eps, device),
                post_attention_layernorm: RmsNorm::new(d, self.rms_norm_eps, device),
            })
            .collect();
        LlamaForCausalLm {
            model: LlamaModel {
                embed_tokens: EmbeddingConfig::new(self.vocab_size, d)
                    .with_initializer(Initializer::Zeros)
                    .init(device),
                layers,
                norm: RmsNorm::new(d, self.rms_norm_eps, device),
            },
            lm_head: (!self.tie_word_embeddings).then(|| linear(d, self.vocab_size, false)),
            heads: self.num_attention_heads,
            kv_heads: self.kv_heads(),
            theta: self.theta().unwrap_or(10000.0),
            act: self.hidden_act,
        }
    }
}

/// The attention bias of an excluded key.
const MASKED: f64 = -1e4;

/// `LlamaForCausalLM`.
#[derive(Module, Debug)]
pub struct LlamaForCausalLm<B: Backend> {
    model: LlamaModel<B>,
    lm_head: Option<Linear<B>>,
    heads: usize,
    kv_heads: usize,
    theta: f64,
    act: HiddenAct,
}

/// `LlamaModel`.
#[derive(Module, Debug)]
pub struct LlamaModel<B: Backend> {
    embed_tokens: Embedding<B>,
    layers: Vec<LlamaLayer<B>>,
    norm: RmsNorm<B>,
}

/// `LlamaDecoderLayer`.
#[derive(Module, Debug)]
pub struct LlamaLayer<B: Backend> {
    self_attn: LlamaAttention<B>,
    mlp: LlamaMlp<B>,
    input_layernorm: RmsNorm<B>,
    post_attention_layernorm: RmsNorm<B>,
}

/// `LlamaAttention`.
#[derive(Module, Debug)]
pub struct LlamaAttention<B: Backend> {
    q_proj: Linear<B>,
    k_proj: Linear<B>,
    v_proj: Linear<B>,
    o_proj: Linear<B>,
}

/// `LlamaMLP`: `down(act(gate(x)) · up(x))`.
#[derive(Module, Debug)]
pub struct LlamaMlp<B: Backend> {
    gate_proj: Linear<B>,
    up_proj: Linear<B>,
    down_proj: Linear<B>,
}

/// `cos` and `sin` of transformers' rotary table (each frequency twice, halves concatenated).
///
/// # Shapes
/// - returns two of `[1, 1, seq, head_dim]`
fn rope_table<B: Backend>(seq: usize, head_dim: usize, theta: f64, device: &B::Device) -> [Tensor<B, 4>; 2] {
    let half = head_dim / 2;
    let mut cos = Vec::with_capacity(seq * head_dim);
    let mut sin = Vec::with_capacity(seq * head_dim);
    for p in 0..seq {
        let angles: Vec<f64> = (0..half).map(|i| p as f64 / theta.powf(2.0 * i as f64 / head_dim as f64)).collect();
        for a in angles.iter().chain(&angles) {
            cos.push(a.cos() as f32);
            sin.push(a.sin() as f32);
        }
    }
    let make = |v: Vec<f32>| Tensor::<B, 1>::from_floats(v.as_slice(), device).reshape([1, 1, seq, head_dim]);
    [make(cos), make(sin)]
}

/// `x · cos + rotate_half(x) · sin`, `rotate_half([a, b]) = [-b, a]` over the head's halves.
fn rotate<B: Backend>(x: Tensor<B, 4>, cos: &Tensor<B, 4>, sin: &Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, h, n, hd] = x.dims();
    let first = x.clone().slice([0..b, 0..h, 0..n, 0..hd / 2]);
    let second = x.clone().slice([0..b, 0..h, 0..n, hd / 2..hd]);
    let rotated = Tensor::cat(vec![second.neg(), first], 3);
    x * cos.clone() + rotated * sin.clone()
}

/// Each of `kv` heads repeated for the query heads that share it (`[b, kv, n, d]` → `[b, kv·rep, n, d]`).
fn repeat_kv<B: Backend>(x: Tensor<B, 4>, rep: usize) -> Tensor<B, 4> {
    if rep == 1 {
        return x;
    }
    let [b, kv, n, d] = x.dims();
    x.unsqueeze_dim::<5>(2).expand([b, kv, rep, n, d]).reshape([b, kv * rep, n, d])
}

impl<B: Backend> LlamaForCausalLm<B> {
    /// Next-token logits for every position.
    ///
    /// # Shapes
    /// - `ids`: `[batch, seq]`; `mask`: optional `[batch, seq]`, 1 for tokens, 0 for padding →
    ///   `[batch, seq, vocab]`
    pub fn forward(&self, ids: Tensor<B, 2, Int>, mask: Option<Tensor<B, 2>>) -> Tensor<B, 3> {
        self.forward_embeds(self.embed(ids), mask)
    }

    /// Token embeddings.
    ///
    /// # Shapes
    /// - `ids`: `[batch, seq]` → `[batch, seq, hidden]`
    pub fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.model.embed_tokens.forward(ids)
    }

    /// Next-token logits of a sequence of embeddings (tokens, or an image's projected features
    /// among them); masked positions are never attended to.
    ///
    /// # Shapes
    /// - `h`: `[batch, seq, hidden]`; `mask`: optional `[batch, seq]`, 1 for tokens, 0 for padding →
    ///   `[batch, seq, vocab]`
    pub fn forward_embeds(&self, h: Tensor<B, 3>, mask: Option<Tensor<B, 2>>) -> Tensor<B, 3> {
        let [b, n, _] = h.dims();
        let device = h.device();
        let mut h = h;
        let hd = self.model.layers.first().map_or(1, |l| l.self_attn.q_proj.weight.dims()[1] / self.heads);
        let [cos, sin] = rope_table::<B>(n, hd, self.theta, &device);
        // Future keys, and padded keys when a mask is given, are excluded (-1e4 is finite in f16,
        // and exp(-1e4) is 0 in every float type).
        let causal = Tensor::<B, 2>::ones([n, n], &device).triu(1).reshape([1, 1, n, n]) * MASKED;
        let bias = match mask {
            Some(m) => causal + (m.neg() + 1.0).reshape([b, 1, 1, n]) * MASKED,
            None => causal,
        };
        for layer in &self.model.layers {
            let x = layer.input_layernorm.forward(h.clone());
            let a = &layer.self_attn;
            let q = rotate(split_heads(a.q_proj.forward(x.clone()), self.heads), &cos, &sin);
            let k = rotate(split_heads(a.k_proj.forward(x.clone()), self.kv_heads), &cos, &sin);
            let v = split_heads(a.v_proj.forward(x), self.kv_heads);
            let rep = self.heads / self.kv_heads;
            let o = attend(q, repeat_kv(k, rep), repeat_kv(v, rep), (hd as f64).powf(-0.5), Some(bias.clone()));
            h = h + a.o_proj.forward(merge_heads(o));
            let x = layer.post_attention_layernorm.forward(h.clone());
            let m = &layer.mlp;
            h = h + m.down_proj.forward(self.act.forward(m.gate_proj.forward(x.clone())) * m.up_proj.forward(x));
        }
        let h = self.model.norm.forward(h);
        match &self.lm_head {
            Some(head) => head.forward(h),
            None => {
                let table = self.model.embed_tokens.weight.val(); // [vocab, d]
                let d = table.dims()[1];
                h.matmul(table.transpose().reshape([1, d, self.vocab()]))
            }
        }
    }

    /// Vocabulary size.
    pub fn vocab(&self) -> usize {
        self.model.embed_tokens.weight.dims()[0]
    }
}
