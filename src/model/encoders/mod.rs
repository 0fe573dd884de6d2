//! Vision experts: one file per family, a config enum and a module enum.

pub mod clip;
pub mod convnext;

use crate::spec::{ExpertKind, Scale, ScalePreset};
use burn::prelude::*;
use clip::{ClipVit, ClipVitConfig};
use convnext::{ConvNext, ConvNextConfig};
use serde::{Deserialize, Serialize};

/// Everything that fixes an expert's architecture (part of its pretraining stage id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpertConfig {
    /// Which family.
    pub kind: ExpertKind,
    /// Width (last stage for conv experts).
    pub dim: usize,
    /// Blocks (per stage for conv experts).
    pub depth: usize,
    /// Attention heads (ViT experts).
    pub heads: usize,
    /// Pretraining resolution.
    pub native_resolution: usize,
}

impl ExpertConfig {
    /// The expert's architecture at `scale`.
    pub fn at_scale(kind: ExpertKind, scale: Scale) -> Self {
        let p = ScalePreset::of(scale);
        let (dim, depth) = match kind {
            ExpertKind::Clip => (p.vision_dim, p.vision_depth),
            ExpertKind::ConvNext => (p.vision_dim * 3 / 2, 1),
        };
        Self { kind, dim, depth, heads: p.heads, native_resolution: kind.native_resolution(scale) }
    }

    fn clip(&self) -> ClipVitConfig {
        ClipVitConfig::new(self.dim, self.depth, self.heads, self.native_resolution)
    }

    fn convnext(&self) -> ConvNextConfig {
        ConvNextConfig::new(self.dim).with_depth(self.depth)
    }

    /// Output token grid side at input resolution `res`.
    pub fn grid(&self, res: usize) -> usize {
        match self.kind {
            ExpertKind::Clip => self.clip().grid(res),
            ExpertKind::ConvNext => self.convnext().grid(res),
        }
    }

    /// Channels of the output map.
    pub fn out_channels(&self) -> usize {
        match self.kind {
            ExpertKind::Clip => self.clip().out_channels(),
            ExpertKind::ConvNext => self.convnext().out_channels(),
        }
    }

    /// Builds the expert on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Expert<B> {
        match self.kind {
            ExpertKind::Clip => Expert::Clip(self.clip().init(device)),
            ExpertKind::ConvNext => Expert::ConvNext(self.convnext().init(device)),
        }
    }
}

/// A vision expert of any family.
#[derive(Module, Debug)]
pub enum Expert<B: Backend> {
    /// A ViT.
    Clip(ClipVit<B>),
    /// A ConvNeXt.
    ConvNext(ConvNext<B>),
}

impl<B: Backend> Expert<B> {
    /// Encodes images into a feature map.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, res, res]` → `[batch, out_channels, grid(res), grid(res)]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            Expert::Clip(m) => m.forward(x),
            Expert::ConvNext(m) => m.forward(x),
        }
    }
}
