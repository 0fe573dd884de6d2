//! The multimodal LM: experts → fusion (with projector) → visual prefix → decoder.

use super::encoders::{Expert, ExpertConfig};
use super::fusion::{Fusion, FusionConfig};
use super::lm::{Lm, LmConfig};
use crate::spec::FusionKind;
use burn::prelude::*;

/// Everything that fixes an MLLM's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct MllmConfig {
    /// The experts, with each one's input resolution.
    pub experts: Vec<(ExpertConfig, usize)>,
    /// The fusion strategy (ignored when there are no experts: the blind baseline).
    pub fusion: FusionKind,
    /// Token grid side.
    pub grid: usize,
    /// The decoder.
    pub lm: LmConfig,
}

impl MllmConfig {
    /// The fusion's shape, or None for the blind baseline.
    pub fn fusion_config(&self) -> Option<FusionConfig> {
        (!self.experts.is_empty()).then(|| FusionConfig {
            kind: self.fusion,
            channels: self.experts.iter().map(|(e, _)| e.out_channels()).collect(),
            grid: self.grid,
            lm_dim: self.lm.dim,
        })
    }

    /// Visual tokens the LM receives.
    pub fn visual_tokens(&self) -> usize {
        self.fusion_config().map(|f| f.num_tokens()).unwrap_or(0)
    }

    /// Builds the model with fresh weights on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Mllm<B> {
        Mllm {
            experts: self.experts.iter().map(|(e, _)| e.init(device)).collect(),
            fusion: self.fusion_config().map(|f| f.init(device)),
            lm: self.lm.init(device),
        }
    }
}

/// A multimodal LM (or, with no experts, the blind baseline).
#[derive(Module, Debug)]
pub struct Mllm<B: Backend> {
    /// The vision experts, in spec order.
    pub experts: Vec<Expert<B>>,
    /// Fusion and projector.
    pub fusion: Option<Fusion<B>>,
    /// The decoder.
    pub lm: Lm<B>,
}

impl<B: Backend> Mllm<B> {
    /// Visual tokens of a batch of images (one tensor per expert, each at that expert's resolution).
    ///
    /// # Shapes
    /// - `images[i]`: `[batch, 3, res_i, res_i]` → `Some([batch, visual_tokens, lm_dim])`
    pub fn encode_images(&self, images: Vec<Tensor<B, 4>>) -> Option<Tensor<B, 3>> {
        let fusion = self.fusion.as_ref()?;
        let maps = self.experts.iter().zip(images).map(|(e, x)| e.forward(x)).collect();
        Some(fusion.forward(maps))
    }

    /// Logits over the text positions, given visual tokens (if any).
    ///
    /// # Shapes
    /// - `visual`: `[batch, n_v, dim]`, `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn forward_with_visual(&self, visual: Option<Tensor<B, 3>>, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let text = self.lm.embed(ids);
        match visual {
            None => self.lm.forward_embeds(text),
            Some(v) => {
                let [b, nv, _] = v.dims();
                let [_, n, _] = text.dims();
                let logits = self.lm.forward_embeds(Tensor::cat(vec![v, text], 1));
                let vocab = logits.dims()[2];
                logits.slice([0..b, nv..nv + n, 0..vocab])
            }
        }
    }

    /// Logits over the text positions.
    ///
    /// # Shapes
    /// - `images[i]`: `[batch, 3, res_i, res_i]`, `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn forward(&self, images: Vec<Tensor<B, 4>>, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let visual = self.encode_images(images);
        self.forward_with_visual(visual, ids)
    }
}
