//! transformers' `SamVisionModel` (or the vision encoder of a full `SamModel`): a patch embedding,
//! a learned absolute position map, pre-LN blocks with windowed attention (the grid zero-padded to
//! whole windows) or global attention at `global_attn_indexes`, decomposed relative position biases,
//! and a neck of a 1x1 conv, a channels-first LayerNorm, a 3x3 conv and another LayerNorm
//! (Kirillov et al. 2023, "Segment Anything"; the attention after Li et al. 2022, "MViTv2").

use super::act::HiddenAct;
use super::attention::{attend, merge_heads};
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::Deserialize;

/// `SamVisionConfig` as transformers writes it (missing fields take transformers' defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SamVisionSettings {
    /// Width (default 768).
    pub hidden_size: usize,
    /// Channels of the neck's output (default 256).
    pub output_channels: usize,
    /// Layers (default 12).
    pub num_hidden_layers: usize,
    /// Heads (default 12).
    pub num_attention_heads: usize,
    /// Input channels (default 3).
    pub num_channels: usize,
    /// Input side in pixels (default 1024).
    pub image_size: usize,
    /// Patch side (default 16).
    pub patch_size: usize,
    /// MLP activation (default gelu).
    pub hidden_act: HiddenAct,
    /// Epsilon of the blocks' LayerNorms (default 1e-6; the neck's are 1e-6 whatever this says).
    pub layer_norm_eps: f64,
    /// Whether the qkv projection has a bias (default true).
    pub qkv_bias: bool,
    /// MLP width over the hidden width when `mlp_dim` is not given (default 4).
    pub mlp_ratio: f64,
    /// MLP width (default `hidden_size · mlp_ratio`).
    pub mlp_dim: Option<usize>,
    /// Whether a learned absolute position map is added (default true).
    pub use_abs_pos: bool,
    /// Whether attention adds decomposed relative position biases (default true).
    pub use_rel_pos: bool,
    /// Window side of the windowed layers, in patches (default 14).
    pub window_size: usize,
    /// The layers that attend globally instead (default 2, 5, 8, 11).
    pub global_attn_indexes: Vec<usize>,
}

impl Default for SamVisionSettings {
    fn default() -> Self {
        SamVisionSettings {
            hidden_size: 768,
            output_channels: 256,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            num_channels: 3,
            image_size: 1024,
            patch_size: 16,
            hidden_act: HiddenAct::Gelu,
            layer_norm_eps: 1e-6,
            qkv_bias: true,
            mlp_ratio: 4.0,
            mlp_dim: None,
            use_abs_pos: true,
            use_rel_pos: true,
            window_size: 14,
            global_attn_indexes: vec![2, 5, 8, 11],
        }
    }
}

/// The epsilon of the neck's `SamLayerNorm`s (transformers' default, not taken from the config).
const NECK_EPS: f64 = 1e-6;

impl SamVisionSettings {
    /// Patches per side at the configured image size.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// A description of what is inconsistent, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.patch_size == 0 || self.grid() == 0 {
            return Some(format!("image_size {} holds no patch of {}", self.image_size, self.patch_size));
        }
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Some(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        None
    }

    /// Builds the model (zero weights, to be loaded) on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> SamVision<B> {
        let d = self.hidden_size;
        let head_dim = d / self.num_attention_heads;
        let mlp = self.mlp_dim.unwrap_or((d as f64 * self.mlp_ratio) as usize);
        let norm = |n, eps| LayerNormConfig::new(n).with_epsilon(eps).init(device);
        let linear =
            |i, o, bias| LinearConfig::new(i, o).with_bias(bias).with_initializer(Initializer::Zeros).init(device);
        let table = |side: usize| Param::from_tensor(Tensor::zeros([2 * side - 1, head_dim], device));
        let layers = (0..self.num_hidden_layers)
            .map(|i| {
                let window_size = if self.global_attn_indexes.contains(&i) { 0 } else { self.window_size };
                let side = if window_size == 0 { self.grid() } else { window_size };
                SamLayer {
                    layer_norm1: norm(d, self.layer_norm_eps),
                    attn: SamAttention {
                        qkv: linear(d, 3 * d, self.qkv_bias),
                        proj: linear(d, d, true),
                        rel_pos_h: self.use_rel_pos.then(|| table(side)),
                        rel_pos_w: self.use_rel_pos.then(|| table(side)),
                        heads: self.num_attention_heads,
                    },
                    layer_norm2: norm(d, self.layer_norm_eps),
                    mlp: SamMlp { lin1: linear(d, mlp, true), lin2: linear(mlp, d, true) },
                    window_size,
                }
            })
            .collect();
        let (p, g, c) = (self.patch_size, self.grid(), self.output_channels);
        let conv = |i, o, k: usize, pad: usize| {
            Conv2dConfig::new([i, o], [k, k])
                .with_bias(false)
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_initializer(Initializer::Zeros)
                .init(device)
        };
        SamVision {
            vision_encoder: SamVisionEncoder {
                patch_embed: SamPatchEmbed {
                    projection: Conv2dConfig::new([self.num_channels, d], [p, p])
                        .with_stride([p, p])
                        .with_initializer(Initializer::Zeros)
                        .init(device),
                },
                pos_embed: self.use_abs_pos.then(|| Param::from_tensor(Tensor::zeros([1, g, g, d], device))),
                layers,
                neck: SamNeck {
                    conv1: conv(d, c, 1, 0),
                    layer_norm1: norm(c, NECK_EPS),
                    conv2: conv(c, c, 3, 1),
                    layer_norm2: norm(c, NECK_EPS),
                },
            },
            act: self.hidden_act,
            image_size: self.image_size,
        }
    }
}

/// `SamVisionModel`: its one field carries transformers' `vision_encoder.` key prefix.
#[derive(Module, Debug)]
pub struct SamVision<B: Backend> {
    /// The encoder.
    pub vision_encoder: SamVisionEncoder<B>,
    act: HiddenAct,
    image_size: usize,
}

/// `SamVisionEncoder`.
#[derive(Module, Debug)]
pub struct SamVisionEncoder<B: Backend> {
    patch_embed: SamPatchEmbed<B>,
    pos_embed: Option<Param<Tensor<B, 4>>>,
    layers: Vec<SamLayer<B>>,
    neck: SamNeck<B>,
}

/// `SamPatchEmbeddings`.
#[derive(Module, Debug)]
pub struct SamPatchEmbed<B: Backend> {
    projection: Conv2d<B>,
}

/// `SamVisionLayer`: pre-LN (windowed or global) attention and MLP with residuals.
#[derive(Module, Debug)]
pub struct SamLayer<B: Backend> {
    layer_norm1: LayerNorm<B>,
    attn: SamAttention<B>,
    layer_norm2: LayerNorm<B>,
    mlp: SamMlp<B>,
    window_size: usize,
}

/// `SamVisionAttention`: fused qkv, decomposed relative position biases.
#[derive(Module, Debug)]
pub struct SamAttention<B: Backend> {
    qkv: Linear<B>,
    proj: Linear<B>,
    rel_pos_h: Option<Param<Tensor<B, 2>>>,
    rel_pos_w: Option<Param<Tensor<B, 2>>>,
    heads: usize,
}

/// `SamMLPBlock`.
#[derive(Module, Debug)]
pub struct SamMlp<B: Backend> {
    lin1: Linear<B>,
    lin2: Linear<B>,
}

/// `SamVisionNeck`.
#[derive(Module, Debug)]
pub struct SamNeck<B: Backend> {
    conv1: Conv2d<B>,
    layer_norm1: LayerNorm<B>,
    conv2: Conv2d<B>,
    layer_norm2: LayerNorm<B>,
}

/// A LayerNorm over the channels of a `[batch, channels, height, width]` map.
fn channels_first<B: Backend>(norm: &LayerNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    norm.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2])
}

impl<B: Backend> SamVision<B> {
    /// The side in pixels the model takes (transformers refuses any other).
    pub fn image_size(&self) -> usize {
        self.image_size
    }

    /// Runs the encoder; transformers' `last_hidden_state` is the neck's output.
    ///
    /// # Shapes
    /// - `pixels`: `[batch, channels, image_size, image_size]` → `[batch, output_channels, grid, grid]`
    pub fn forward(&self, pixels: Tensor<B, 4>) -> Tensor<B, 4> {
        let e = &self.vision_encoder;
        let mut h = e.patch_embed.projection.forward(pixels).permute([0, 2, 3, 1]); // [b, g, g, d]
        if let Some(p) = &e.pos_embed {
            h = h + p.val();
        }
        for layer in &e.layers {
            let x = layer.layer_norm1.forward(h.clone());
            let a = if layer.window_size > 0 {
                let [_, gh, gw, _] = x.dims();
                let (windows, padded) = window_partition(x, layer.window_size);
                window_unpartition(layer.attn.forward(windows), layer.window_size, padded, [gh, gw])
            } else {
                layer.attn.forward(x)
            };
            h = h + a;
            let x = layer.layer_norm2.forward(h.clone());
            h = h.clone() + layer.mlp.lin2.forward(self.act.forward(layer.mlp.lin1.forward(x)));
        }
        let n = &e.neck;
        let x = channels_first(&n.layer_norm1, n.conv1.forward(h.permute([0, 3, 1, 2])));
        channels_first(&n.layer_norm2, n.conv2.forward(x))
    }
}

/// Zero-pads the grid to whole windows and cuts it into them.
///
/// # Shapes
/// - `x`: `[batch, h, w, c]` → `[batch · windows, size, size, c]`, and the padded `[h, w]`
fn window_partition<B: Backend>(x: Tensor<B, 4>, size: usize) -> (Tensor<B, 4>, [usize; 2]) {
    let [b, h, w, c] = x.dims();
    let (ph, pw) = (h.div_ceil(size) * size, w.div_ceil(size) * size);
    let device = x.device();
    let mut x = x;
    if ph > h {
        x = Tensor::cat(vec![x, Tensor::zeros([b, ph - h, w, c], &device)], 1);
    }
    if pw > w {
        x = Tensor::cat(vec![x, Tensor::zeros([b, ph, pw - w, c], &device)], 2);
    }
    let windows = x.reshape([b, ph / size, size, pw / size, size, c]).permute([0, 1, 3, 2, 4, 5]).reshape([
        b * (ph / size) * (pw / size),
        size,
        size,
        c,
    ]);
    (windows, [ph, pw])
}

/// Joins windows back into the grid and drops the padding: the inverse of [`window_partition`].
///
/// # Shapes
/// - `windows`: `[batch · windows, size, size, c]` → `[batch, h, w, c]` (`original` = `[h, w]`)
fn window_unpartition<B: Backend>(
    windows: Tensor<B, 4>,
    size: usize,
    [ph, pw]: [usize; 2],
    [h, w]: [usize; 2],
) -> Tensor<B, 4> {
    let [n, _, _, c] = windows.dims();
    let b = n / ((ph / size) * (pw / size));
    windows
        .reshape([b, ph / size, pw / size, size, size, c])
        .permute([0, 1, 3, 2, 4, 5])
        .reshape([b, ph, pw, c])
        .slice([0..b, 0..h, 0..w, 0..c])
}

impl<B: Backend> SamAttention<B> {
    /// Self-attention over each map's positions.
    ///
    /// # Shapes
    /// - `x`: `[batch, h, w, hidden]` → `[batch, h, w, hidden]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, h, w, d] = x.dims();
        let (heads, n) = (self.heads, h * w);
        let hd = d / heads;
        let qkv = self.qkv.forward(x.reshape([b, n, d])).reshape([b, n, 3, heads, hd]).permute([2, 0, 3, 1, 4]);
        let part = |i: usize| qkv.clone().slice(i..i + 1).reshape([b, heads, n, hd]);
        let (q, k, v) = (part(0), part(1), part(2));
        let bias = match (&self.rel_pos_h, &self.rel_pos_w) {
            (Some(th), Some(tw)) => Some(
                decomposed_rel_pos(q.clone().reshape([b * heads, n, hd]), th.val(), tw.val(), [h, w])
                    .reshape([b, heads, n, n]),
            ),
            _ => None,
        };
        let o = merge_heads(attend(q, k, v, (hd as f64).powf(-0.5), bias));
        self.proj.forward(o).reshape([b, h, w, d])
    }
}

/// The relative position bias `q · R_h[i_h - j_h] + q · R_w[i_w - j_w]` of every query/key pair.
///
/// # Shapes
/// - `q`: `[batch·heads, h·w, head_dim]`, `table_h`: `[L_h, head_dim]`, `table_w`: `[L_w, head_dim]`
/// - returns `[batch·heads, h·w, h·w]`
fn decomposed_rel_pos<B: Backend>(
    q: Tensor<B, 3>,
    table_h: Tensor<B, 2>,
    table_w: Tensor<B, 2>,
    [h, w]: [usize; 2],
) -> Tensor<B, 3> {
    let [bh, _, c] = q.dims();
    let rh = rel_pos(h, h, table_h); // [h, h, c]
    let rw = rel_pos(w, w, table_w); // [w, w, c]
    let q = q.reshape([bh, h, w, c]);
    // rel_h[b, i, j, k] = Σ_c q[b, i, j, c] · rh[i, k, c]
    let rel_h = q.clone().permute([1, 0, 2, 3]).reshape([h, bh * w, c]).matmul(rh.swap_dims(1, 2));
    let rel_h = rel_h.reshape([h, bh, w, h]).permute([1, 0, 2, 3]);
    // rel_w[b, i, j, k] = Σ_c q[b, i, j, c] · rw[j, k, c]
    let rel_w = q.permute([2, 0, 1, 3]).reshape([w, bh * h, c]).matmul(rw.swap_dims(1, 2));
    let rel_w = rel_w.reshape([w, bh, h, w]).permute([1, 2, 0, 3]);
    (rel_h.unsqueeze_dim::<5>(4) + rel_w.unsqueeze_dim::<5>(3)).reshape([bh, h * w, h * w])
}

/// transformers' `get_rel_pos`: the table resized (linearly) to `2·max(q, k) - 1` rows if it has
/// another length, then the row of each query/key offset.
///
/// # Shapes
/// - `table`: `[L, c]` → `[q_size, k_size, c]`
fn rel_pos<B: Backend>(q_size: usize, k_size: usize, table: Tensor<B, 2>) -> Tensor<B, 3> {
    let [len, c] = table.dims();
    let rows = 2 * q_size.max(k_size) - 1;
    let device = table.device();
    let table = if len == rows {
        table
    } else {
        let m = linear_resize_matrix(len, rows);
        Tensor::<B, 2>::from_data(TensorData::new(m, [rows, len]), &device).matmul(table)
    };
    let (qs, ks) = (q_size as f32, k_size as f32);
    let (sq, sk) = ((ks / qs).max(1.0), (qs / ks).max(1.0));
    let index: Vec<i64> = (0..q_size)
        .flat_map(|i| (0..k_size).map(move |j| ((i as f32 * sq - j as f32 * sk) + (ks - 1.0) * sk) as i64))
        .collect();
    let index = Tensor::<B, 1, Int>::from_data(TensorData::new(index, [q_size * k_size]), &device);
    table.select(0, index).reshape([q_size, k_size, c])
}

/// The `[to, from]` matrix of PyTorch's 1-D linear interpolation (`align_corners=False`).
fn linear_resize_matrix(from: usize, to: usize) -> Vec<f32> {
    let scale = from as f64 / to as f64;
    let mut m = vec![0f32; to * from];
    for i in 0..to {
        let src = ((i as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(from - 1);
        let i1 = (i0 + 1).min(from - 1);
        let t = src - i0 as f64;
        m[i * from + i0] += (1.0 - t) as f32;
        m[i * from + i1] += t as f32;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn a_table_is_resized_as_pytorch_interpolates_linearly() {
        // F.interpolate(tensor([[[0., 1., 2.]]]), size=5, mode="linear") = [0, 0.4, 1, 1.6, 2].
        let m = linear_resize_matrix(3, 5);
        let out: Vec<f32> = (0..5).map(|i| (0..3).map(|j| m[i * 3 + j] * j as f32).sum()).collect();
        for (a, b) in out.iter().zip([0.0, 0.4, 1.0, 1.6, 2.0]) {
            assert!((a - b).abs() < 1e-6, "{out:?}");
        }
        let identity = linear_resize_matrix(4, 4);
        assert!((0..4).all(|i| identity[i * 4 + i] == 1.0));
    }

    #[test]
    fn windows_round_trip_through_padding() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::random([2, 5, 5, 3], burn::tensor::Distribution::Default, &dev);
        let (w, padded) = window_partition(x.clone(), 3);
        assert_eq!(w.dims(), [8, 3, 3, 3]);
        assert_eq!(padded, [6, 6]);
        let back = window_unpartition(w, 3, padded, [5, 5]);
        back.into_data().assert_eq(&x.into_data(), true);
    }

    #[test]
    fn relative_offsets_index_the_table_from_the_far_end() {
        let dev = Default::default();
        let table = Tensor::<Flex, 2>::from_floats([[0.0], [1.0], [2.0], [3.0], [4.0]], &dev);
        let r = rel_pos(3, 3, table).reshape([9]).into_data().to_vec::<f32>().unwrap();
        // row (i - j) + 2: the offsets of a 3-wide window.
        assert_eq!(r, vec![2.0, 1.0, 0.0, 3.0, 2.0, 1.0, 4.0, 3.0, 2.0]);
    }
}
