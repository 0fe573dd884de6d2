//! transformers' `ConvNextModel`: a patchify stem, four stages of depthwise 7x7 convolution blocks
//! with channels-last LayerNorm, an inverted MLP and a layer scale, downsampling between stages, and
//! the global average post-normed as the pooled output (Liu et al. 2022, "A ConvNet for the 2020s").

use super::act::HiddenAct;
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use serde::Deserialize;

/// `ConvNextConfig` as transformers writes it (missing fields take transformers' defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ConvNextSettings {
    /// Input channels (default 3).
    pub num_channels: usize,
    /// Stem patch side (default 4).
    pub patch_size: usize,
    /// Widths per stage (default 96, 192, 384, 768).
    pub hidden_sizes: Vec<usize>,
    /// Blocks per stage (default 3, 3, 9, 3).
    pub depths: Vec<usize>,
    /// MLP activation (default gelu).
    pub hidden_act: HiddenAct,
    /// Epsilon of the final LayerNorm (default 1e-12; the blocks' norms use 1e-6 as transformers does).
    pub layer_norm_eps: f64,
    /// Initial layer scale; 0 or less means no layer scale (default 1e-6).
    pub layer_scale_init_value: f64,
}

impl Default for ConvNextSettings {
    fn default() -> Self {
        ConvNextSettings {
            num_channels: 3,
            patch_size: 4,
            hidden_sizes: vec![96, 192, 384, 768],
            depths: vec![3, 3, 9, 3],
            hidden_act: HiddenAct::Gelu,
            layer_norm_eps: 1e-12,
            layer_scale_init_value: 1e-6,
        }
    }
}

/// The epsilon transformers' `ConvNextLayerNorm` uses inside the network, whatever the config says.
const BLOCK_EPS: f64 = 1e-6;

impl ConvNextSettings {
    /// Builds the model (zero weights, to be loaded) on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ConvNext<B> {
        let norm = |d, eps| LayerNormConfig::new(d).with_epsilon(eps).init(device);
        let linear = |i, o| LinearConfig::new(i, o).with_initializer(Initializer::Zeros).init(device);
        let conv = |i, o, k: usize, s: usize| {
            Conv2dConfig::new([i, o], [k, k]).with_stride([s, s]).with_initializer(Initializer::Zeros).init(device)
        };
        let sizes = &self.hidden_sizes;
        let stages = sizes
            .iter()
            .zip(&self.depths)
            .enumerate()
            .map(|(i, (&dim, &depth))| {
                let input = if i == 0 { sizes[0] } else { sizes[i - 1] };
                let stride = if i == 0 { 1 } else { 2 };
                let downsampling_layer = (input != dim || stride > 1)
                    .then(|| Downsample { norm: norm(input, BLOCK_EPS), conv: conv(input, dim, stride, stride) });
                let layers = (0..depth)
                    .map(|_| ConvNextLayer {
                        dwconv: Conv2dConfig::new([dim, dim], [7, 7])
                            .with_groups(dim)
                            .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
                            .with_initializer(Initializer::Zeros)
                            .init(device),
                        layernorm: norm(dim, BLOCK_EPS),
                        pwconv1: linear(dim, 4 * dim),
                        pwconv2: linear(4 * dim, dim),
                        layer_scale_parameter: (self.layer_scale_init_value > 0.0)
                            .then(|| Param::from_tensor(Tensor::zeros([dim], device))),
                    })
                    .collect();
                ConvNextStage { downsampling_layer, layers }
            })
            .collect();
        let p = self.patch_size;
        ConvNext {
            embeddings: ConvNextEmbeddings {
                patch_embeddings: conv(self.num_channels, sizes[0], p, p),
                layernorm: norm(sizes[0], BLOCK_EPS),
            },
            encoder: ConvNextEncoder { stages },
            layernorm: norm(*sizes.last().expect("validated: at least one stage"), self.layer_norm_eps),
            act: self.hidden_act,
        }
    }

    /// A description of what is inconsistent, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.hidden_sizes.is_empty() || self.hidden_sizes.len() != self.depths.len() {
            return Some(format!(
                "hidden_sizes ({}) and depths ({}) must list the same, non-zero number of stages",
                self.hidden_sizes.len(),
                self.depths.len()
            ));
        }
        None
    }
}

/// `ConvNextModel`.
#[derive(Module, Debug)]
pub struct ConvNext<B: Backend> {
    embeddings: ConvNextEmbeddings<B>,
    encoder: ConvNextEncoder<B>,
    layernorm: LayerNorm<B>,
    act: HiddenAct,
}

/// `ConvNextEmbeddings`: the patchify stem and a channels-first norm.
#[derive(Module, Debug)]
pub struct ConvNextEmbeddings<B: Backend> {
    patch_embeddings: Conv2d<B>,
    layernorm: LayerNorm<B>,
}

/// `ConvNextEncoder`.
#[derive(Module, Debug)]
pub struct ConvNextEncoder<B: Backend> {
    stages: Vec<ConvNextStage<B>>,
}

/// `ConvNextStage`: an optional downsampling, then blocks.
#[derive(Module, Debug)]
pub struct ConvNextStage<B: Backend> {
    downsampling_layer: Option<Downsample<B>>,
    layers: Vec<ConvNextLayer<B>>,
}

/// transformers' `downsampling_layer` (a `Sequential` of a channels-first norm, `.0`, and a strided conv, `.1`).
#[derive(Module, Debug)]
pub struct Downsample<B: Backend> {
    norm: LayerNorm<B>,
    conv: Conv2d<B>,
}

/// `ConvNextLayer`.
#[derive(Module, Debug)]
pub struct ConvNextLayer<B: Backend> {
    dwconv: Conv2d<B>,
    layernorm: LayerNorm<B>,
    pwconv1: Linear<B>,
    pwconv2: Linear<B>,
    layer_scale_parameter: Option<Param<Tensor<B, 1>>>,
}

/// The outputs transformers returns.
#[derive(Debug, Clone)]
pub struct ConvNextOutput<B: Backend> {
    /// `[batch, channels, height, width]`, the last stage's map.
    pub last_hidden_state: Tensor<B, 4>,
    /// `[batch, channels]`, the spatial mean post-normed.
    pub pooler_output: Tensor<B, 2>,
}

/// A LayerNorm over the channels of a `[batch, channels, height, width]` map.
fn channels_first<B: Backend>(norm: &LayerNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    norm.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2])
}

impl<B: Backend> ConvNext<B> {
    /// The key rewrites from transformers' names (`downsampling_layer.0/.1`, an optional `convnext.` prefix).
    pub fn key_rewrites() -> Vec<(String, String)> {
        vec![
            (r"^convnext\.".into(), String::new()),
            (r"downsampling_layer\.0\.".into(), "downsampling_layer.norm.".into()),
            (r"downsampling_layer\.1\.".into(), "downsampling_layer.conv.".into()),
        ]
    }

    /// Runs the network.
    ///
    /// # Shapes
    /// - `pixels`: `[batch, channels, height, width]` →
    ///   `last_hidden_state [batch, last width, height / (patch · 2^(stages-1)), …]`, `pooler_output [batch, last width]`
    pub fn forward(&self, pixels: Tensor<B, 4>) -> ConvNextOutput<B> {
        let e = &self.embeddings;
        let mut h = channels_first(&e.layernorm, e.patch_embeddings.forward(pixels));
        for stage in &self.encoder.stages {
            if let Some(d) = &stage.downsampling_layer {
                h = d.conv.forward(channels_first(&d.norm, h));
            }
            for layer in &stage.layers {
                let x = layer.dwconv.forward(h.clone()).permute([0, 2, 3, 1]);
                let x = layer.pwconv2.forward(self.act.forward(layer.pwconv1.forward(layer.layernorm.forward(x))));
                let x = match &layer.layer_scale_parameter {
                    Some(s) => x * s.val().unsqueeze_dims::<4>(&[0, 1, 2]),
                    None => x,
                };
                h = h + x.permute([0, 3, 1, 2]);
            }
        }
        let [b, c, _, _] = h.dims();
        let mean = h.clone().mean_dim(3).mean_dim(2).reshape([b, c]);
        ConvNextOutput { last_hidden_state: h, pooler_output: self.layernorm.forward(mean) }
    }
}
