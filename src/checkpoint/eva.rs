//! timm's EVA-02 (`timm.models.eva.Eva` as the `eva02_*` architectures build it), up to
//! `forward_features`: a patch embedding, a class token, learned absolute positions, 2-D rotary
//! position embeddings on the patch tokens (timm's `RotaryEmbeddingCat`, rescaled to `ref_feat_shape`),
//! pre-LN blocks with q/v-biased attention and a SwiGLU MLP (Fang et al. 2023, "EVA-02"). The
//! hyper-parameters come from [`super::eva_config`].

use super::attention::{attend, merge_heads, split_heads};
use super::eva_config::EvaSettings;
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation;
use burn::tensor::TensorData;

/// timm's LayerNorm epsilon.
const EPS: f64 = 1e-6;

impl EvaSettings {
    /// Builds the model (zero weights, to be loaded) on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Eva<B> {
        let d = self.embed_dim;
        let norm = |n| LayerNormConfig::new(n).with_epsilon(EPS).init(device);
        let linear =
            |i, o, bias| LinearConfig::new(i, o).with_bias(bias).with_initializer(Initializer::Zeros).init(device);
        let vector = |n| Param::from_tensor(Tensor::zeros([n], device));
        let hidden = (d as f64 * self.mlp_ratio) as usize;
        let mlp = || {
            if self.swiglu_mlp && (self.scale_mlp || self.swiglu_align_to > 0) {
                let a = self.swiglu_align_to;
                let h = if a > 0 { hidden.div_ceil(a) * a } else { hidden };
                EvaMlp {
                    fc1: None,
                    fc1_g: Some(linear(d, h, true)),
                    fc1_x: Some(linear(d, h, true)),
                    norm: self.scale_mlp.then(|| norm(h)),
                    fc2: linear(h, d, true),
                    kind: MlpKind::SwiGlu,
                }
            } else if self.swiglu_mlp {
                let (fc1_g, fc1_x, norm) = (None, None, None);
                EvaMlp {
                    fc1: Some(linear(d, 2 * hidden, true)),
                    fc1_g,
                    fc1_x,
                    norm,
                    fc2: linear(hidden, d, true),
                    kind: MlpKind::SwiGluPacked,
                }
            } else {
                let (fc1_g, fc1_x) = (None, None);
                let norm = self.scale_mlp.then(|| norm(hidden));
                EvaMlp {
                    fc1: Some(linear(d, hidden, true)),
                    fc1_g,
                    fc1_x,
                    norm,
                    fc2: linear(hidden, d, true),
                    kind: MlpKind::Gelu,
                }
            }
        };
        let fused = self.qkv_fused;
        let blocks = (0..self.depth)
            .map(|_| EvaBlock {
                norm1: norm(d),
                attn: EvaAttention {
                    qkv: fused.then(|| linear(d, 3 * d, false)),
                    q_bias: (fused && self.qkv_bias).then(|| vector(d)),
                    v_bias: (fused && self.qkv_bias).then(|| vector(d)),
                    q_proj: (!fused).then(|| linear(d, d, self.qkv_bias)),
                    k_proj: (!fused).then(|| linear(d, d, false)),
                    v_proj: (!fused).then(|| linear(d, d, self.qkv_bias)),
                    norm: self.scale_attn_inner.then(|| norm(d)),
                    proj: linear(d, d, true),
                    heads: self.num_heads,
                },
                gamma_1: self.init_values.map(|_| vector(d)),
                norm2: norm(d),
                mlp: mlp(),
                gamma_2: self.init_values.map(|_| vector(d)),
            })
            .collect();
        let [gh, gw] = self.grid();
        let rope = self.use_rot_pos_emb.then_some(Rope {
            grid: [gh, gw],
            reference: self.ref_feat_shape,
            temperature: self.rope_temperature,
            offset: self.rope_grid_offset,
            head_dim: d / self.num_heads,
        });
        Eva {
            patch_embed: PatchEmbed {
                proj: Conv2dConfig::new([self.in_chans, d], self.patch_size)
                    .with_stride(self.patch_size)
                    .with_initializer(Initializer::Zeros)
                    .init(device),
            },
            cls_token: Param::from_tensor(Tensor::zeros([1, 1, d], device)),
            pos_embed: self.use_abs_pos_emb.then(|| Param::from_tensor(Tensor::zeros([1, 1 + gh * gw, d], device))),
            blocks,
            norm: self.final_norm.then(|| norm(d)),
            rope,
            img_size: self.img_size,
        }
    }
}

/// Which MLP a block has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlpKind {
    /// `fc2(silu(a) · b)` with `a`, `b` the halves of one `fc1` (timm's `GluMlp`).
    SwiGluPacked,
    /// `fc2(norm(silu(fc1_g x) · fc1_x x))` (timm's `SwiGLU`).
    SwiGlu,
    /// `fc2(norm(gelu(fc1 x)))` (timm's `Mlp`).
    Gelu,
}

/// How the rotary embedding is laid out (timm's `RotaryEmbeddingCat`, `in_pixels=False`, interleaved).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rope {
    grid: [usize; 2],
    reference: Option<[usize; 2]>,
    temperature: f64,
    offset: f64,
    head_dim: usize,
}

/// timm's `Eva`, up to `forward_features`.
#[derive(Module, Debug)]
pub struct Eva<B: Backend> {
    patch_embed: PatchEmbed<B>,
    cls_token: Param<Tensor<B, 3>>,
    pos_embed: Option<Param<Tensor<B, 3>>>,
    blocks: Vec<EvaBlock<B>>,
    norm: Option<LayerNorm<B>>,
    rope: Option<Rope>,
    img_size: [usize; 2],
}

/// timm's `PatchEmbed`.
#[derive(Module, Debug)]
pub struct PatchEmbed<B: Backend> {
    proj: Conv2d<B>,
}

/// `EvaBlock`.
#[derive(Module, Debug)]
pub struct EvaBlock<B: Backend> {
    norm1: LayerNorm<B>,
    attn: EvaAttention<B>,
    gamma_1: Option<Param<Tensor<B, 1>>>,
    norm2: LayerNorm<B>,
    mlp: EvaMlp<B>,
    gamma_2: Option<Param<Tensor<B, 1>>>,
}

/// `EvaAttention`: fused (`qkv`, `q_bias`, `v_bias`) or separate projections, no k bias.
#[derive(Module, Debug)]
pub struct EvaAttention<B: Backend> {
    qkv: Option<Linear<B>>,
    q_bias: Option<Param<Tensor<B, 1>>>,
    v_bias: Option<Param<Tensor<B, 1>>>,
    q_proj: Option<Linear<B>>,
    k_proj: Option<Linear<B>>,
    v_proj: Option<Linear<B>>,
    norm: Option<LayerNorm<B>>,
    proj: Linear<B>,
    heads: usize,
}

/// The block's MLP, of [`MlpKind`].
#[derive(Module, Debug)]
pub struct EvaMlp<B: Backend> {
    fc1: Option<Linear<B>>,
    fc1_g: Option<Linear<B>>,
    fc1_x: Option<Linear<B>>,
    norm: Option<LayerNorm<B>>,
    fc2: Linear<B>,
    kind: MlpKind,
}

impl<B: Backend> Eva<B> {
    /// The `[height, width]` the model takes (timm's patch embedding refuses any other).
    pub fn image_size(&self) -> [usize; 2] {
        self.img_size
    }

    /// timm's `forward_features`: the class token and the patch tokens after the blocks.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]` → `[batch, 1 + grid_h·grid_w, embed_dim]`
    pub fn forward_features(&self, x: Tensor<B, 4>) -> Tensor<B, 3> {
        let p = self.patch_embed.proj.forward(x);
        let [b, d, gh, gw] = p.dims();
        let p = p.reshape([b, d, gh * gw]).swap_dims(1, 2);
        let mut h = Tensor::cat(vec![self.cls_token.val().expand([b, 1, d]), p], 1);
        if let Some(pos) = &self.pos_embed {
            h = h + pos.val();
        }
        let device = h.device();
        let rope = self.rope.map(|r| r.tables::<B>(&device));
        for blk in &self.blocks {
            let a = blk.attn.forward(blk.norm1.forward(h.clone()), rope.as_ref());
            h = h + scaled(a, &blk.gamma_1);
            let m = blk.mlp.forward(blk.norm2.forward(h.clone()));
            h = h + scaled(m, &blk.gamma_2);
        }
        match &self.norm {
            Some(n) => n.forward(h),
            None => h,
        }
    }
}

fn scaled<B: Backend>(x: Tensor<B, 3>, gamma: &Option<Param<Tensor<B, 1>>>) -> Tensor<B, 3> {
    match gamma {
        Some(g) => x * g.val().unsqueeze_dims::<3>(&[0, 1]),
        None => x,
    }
}

/// The rotary tables: `sin`, `cos` (`[patches, head_dim]`) and the pair rotation `[head_dim, head_dim]`.
pub struct RopeTables<B: Backend> {
    sin: Tensor<B, 2>,
    cos: Tensor<B, 2>,
    rotation: Tensor<B, 2>,
}

impl Rope {
    /// timm's `build_rotary_pos_embed` for the grid: per patch, the row angles then the column angles
    /// over `head_dim / 4` bands `temperature^(-k / bands)`, each repeated for its pair of channels.
    fn tables<B: Backend>(&self, device: &B::Device) -> RopeTables<B> {
        let (hd, bands) = (self.head_dim, self.head_dim / 4);
        let freq: Vec<f32> =
            (0..bands).map(|k| 1.0 / (self.temperature as f32).powf(k as f32 / bands as f32)).collect();
        let axis = |a: usize| -> Vec<f32> {
            let n = self.grid[a];
            (0..n)
                .map(|i| {
                    let t = i as f32 + self.offset as f32;
                    match self.reference {
                        Some(r) => t / n as f32 * r[a] as f32,
                        None => t,
                    }
                })
                .collect()
        };
        let (rows, cols) = (axis(0), axis(1));
        let (mut sin, mut cos) = (Vec::new(), Vec::new());
        for &y in &rows {
            for &x in &cols {
                for t in [y, x] {
                    for &f in &freq {
                        let angle = t * f;
                        sin.extend([angle.sin(); 2]);
                        cos.extend([angle.cos(); 2]);
                    }
                }
            }
        }
        let n = rows.len() * cols.len();
        // rot(x) = [-x1, x0, -x3, x2, …] = x · R.
        let mut r = vec![0f32; hd * hd];
        for i in 0..hd / 2 {
            r[(2 * i + 1) * hd + 2 * i] = -1.0;
            r[(2 * i) * hd + 2 * i + 1] = 1.0;
        }
        let t = |v: Vec<f32>, s: [usize; 2]| Tensor::<B, 2>::from_data(TensorData::new(v, s), device);
        RopeTables { sin: t(sin, [n, hd]), cos: t(cos, [n, hd]), rotation: t(r, [hd, hd]) }
    }
}

/// Rotates every token but the first (the class token).
///
/// # Shapes
/// - `x`: `[batch, heads, 1 + patches, head_dim]` → the same
fn rotate<B: Backend>(x: Tensor<B, 4>, r: &RopeTables<B>) -> Tensor<B, 4> {
    let [b, h, n, hd] = x.dims();
    let cls = x.clone().slice([0..b, 0..h, 0..1, 0..hd]);
    let p = x.slice([0..b, 0..h, 1..n, 0..hd]);
    let turned = p.clone().matmul(r.rotation.clone().unsqueeze::<4>());
    let p = p * r.cos.clone().unsqueeze::<4>() + turned * r.sin.clone().unsqueeze::<4>();
    Tensor::cat(vec![cls, p], 2)
}

impl<B: Backend> EvaAttention<B> {
    /// Self-attention with rotary positions on the patch tokens.
    ///
    /// # Shapes
    /// - `x`: `[batch, 1 + patches, dim]` → `[batch, 1 + patches, dim]`
    pub fn forward(&self, x: Tensor<B, 3>, rope: Option<&RopeTables<B>>) -> Tensor<B, 3> {
        let [b, n, d] = x.dims();
        let heads = self.heads;
        let (q, k, v) = match &self.qkv {
            Some(qkv) => {
                let mut y = qkv.forward(x);
                if let (Some(qb), Some(vb)) = (&self.q_bias, &self.v_bias) {
                    let bias = Tensor::cat(vec![qb.val(), Tensor::zeros([d], &y.device()), vb.val()], 0);
                    y = y + bias.unsqueeze_dims::<3>(&[0, 1]);
                }
                let part = |i: usize| split_heads(y.clone().slice([0..b, 0..n, i * d..(i + 1) * d]), heads);
                (part(0), part(1), part(2))
            }
            None => {
                let proj = |l: &Option<Linear<B>>| split_heads(l.as_ref().expect("unfused").forward(x.clone()), heads);
                (proj(&self.q_proj), proj(&self.k_proj), proj(&self.v_proj))
            }
        };
        let (q, k) = match rope {
            Some(r) => (rotate(q, r), rotate(k, r)),
            None => (q, k),
        };
        let hd = d / heads;
        let o = merge_heads(attend(q, k, v, (hd as f64).powf(-0.5), None));
        let o = match &self.norm {
            Some(n) => n.forward(o),
            None => o,
        };
        self.proj.forward(o)
    }
}

impl<B: Backend> EvaMlp<B> {
    /// The MLP.
    ///
    /// # Shapes
    /// - `x`: `[batch, tokens, dim]` → `[batch, tokens, dim]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let fc = |l: &Option<Linear<B>>, x: Tensor<B, 3>| l.as_ref().expect("built for this kind").forward(x);
        let h = match self.kind {
            MlpKind::SwiGluPacked => {
                let y = fc(&self.fc1, x);
                let [b, n, w] = y.dims();
                let gate = y.clone().slice([0..b, 0..n, 0..w / 2]);
                activation::silu(gate) * y.slice([0..b, 0..n, w / 2..w])
            }
            MlpKind::SwiGlu => activation::silu(fc(&self.fc1_g, x.clone())) * fc(&self.fc1_x, x),
            MlpKind::Gelu => activation::gelu(fc(&self.fc1, x)),
        };
        let h = match &self.norm {
            Some(n) => n.forward(h),
            None => h,
        };
        self.fc2.forward(h)
    }
}
