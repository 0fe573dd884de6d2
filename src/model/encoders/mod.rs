//! Vision experts: one file per family, a config enum and a module enum.

pub mod clip;
pub mod convnext;
pub mod eva02;
pub mod pix2struct;
pub mod sam;

use crate::checkpoint::encoder::CheckpointEncoder;
use crate::checkpoint::expert::ExpertCheckpoint;
use crate::spec::{ExpertKind, Scale, ScalePreset};
use burn::prelude::*;
use clip::{ClipVit, ClipVitConfig};
use convnext::{ConvNext, ConvNextConfig};
use eva02::{Eva02Vit, Eva02VitConfig};
use pix2struct::{Pix2StructVit, Pix2StructVitConfig};
use sam::{SamVit, SamVitConfig};
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
    /// The checkpoint folder the expert comes from (instead of Eyrie's own architecture, pretrained
    /// on the proxy world); absent from the ids of proxy experts' stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<ExpertCheckpoint>,
    /// Standard deviation of the learned position embeddings at initialisation, for the experts
    /// that learn them as embedding tables (`pix2struct`'s rows and columns); None: burn's N(0, 1).
    /// Absent from the ids of the experts that do not set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_init_std: Option<f64>,
}

impl ExpertConfig {
    /// The expert's architecture at `scale`.
    pub fn at_scale(kind: ExpertKind, scale: Scale) -> Self {
        let p = ScalePreset::of(scale);
        let (dim, depth) = match kind {
            ExpertKind::Clip => (p.vision_dim, p.vision_depth),
            ExpertKind::ConvNext => (p.vision_dim * 3 / 2, 1),
            ExpertKind::Sam | ExpertKind::Pix2Struct | ExpertKind::Eva02 => (p.vision_dim, p.vision_depth),
        };
        // pix2struct's row and column tables start small, as ViT's position embeddings do (N(0, 0.02²)):
        // drawn from N(0, 1) they swamp its patch embeddings, and the proxy expert read no whole word
        // (docs/experts-tuning.md, third pass).
        let position_init_std = (kind == ExpertKind::Pix2Struct).then_some(0.02);
        Self {
            kind,
            dim,
            depth,
            heads: p.heads,
            native_resolution: kind.native_resolution(scale),
            checkpoint: None,
            position_init_std,
        }
    }

    /// The expert a checkpoint folder holds (its width, heads and depth are the checkpoint's; the
    /// fields here record its output width and native side).
    pub fn of_checkpoint(kind: ExpertKind, ck: ExpertCheckpoint) -> Self {
        Self {
            kind,
            dim: ck.out_channels,
            depth: 0,
            heads: 0,
            native_resolution: ck.native_resolution,
            checkpoint: Some(ck),
            position_init_std: None,
        }
    }

    fn clip(&self) -> ClipVitConfig {
        ClipVitConfig::new(self.dim, self.depth, self.heads, self.native_resolution)
    }

    fn convnext(&self) -> ConvNextConfig {
        ConvNextConfig::new(self.dim).with_depth(self.depth)
    }

    fn sam(&self) -> SamVitConfig {
        SamVitConfig::new(self.dim, self.depth, self.heads, self.native_resolution)
    }

    fn pix2struct(&self) -> Pix2StructVitConfig {
        // Budget: the patches of a square image at twice the native side.
        let g = 2 * self.native_resolution / 16;
        let cfg = Pix2StructVitConfig::new(self.dim, self.depth, self.heads, g * g);
        match self.position_init_std {
            Some(std) => cfg.with_position_init_std(Some(std)),
            None => cfg,
        }
    }

    fn eva02(&self) -> Eva02VitConfig {
        Eva02VitConfig::new(self.dim, self.depth, self.heads, self.native_resolution)
    }

    /// Output token grid side at (square) input resolution `res`.
    pub fn grid(&self, res: usize) -> usize {
        if let Some(ck) = &self.checkpoint {
            return ck.grid(res);
        }
        match self.kind {
            ExpertKind::Clip => self.clip().grid(res),
            ExpertKind::ConvNext => self.convnext().grid(res),
            ExpertKind::Sam => self.sam().grid(res),
            ExpertKind::Pix2Struct => self.pix2struct().grid(res),
            ExpertKind::Eva02 => self.eva02().grid(res),
        }
    }

    /// Channels of the output map.
    pub fn out_channels(&self) -> usize {
        if let Some(ck) = &self.checkpoint {
            return ck.out_channels;
        }
        match self.kind {
            ExpertKind::ConvNext => self.convnext().out_channels(),
            _ => self.dim,
        }
    }

    /// Forward FLOPs on one image at (square) input resolution `res` (matrix products and
    /// convolutions, multiply-adds counted twice).
    pub fn flops(&self, res: usize) -> f64 {
        if let Some(ck) = &self.checkpoint {
            return ck.flops(res);
        }
        match self.kind {
            ExpertKind::Clip => self.clip().flops(res),
            ExpertKind::ConvNext => self.convnext().flops(res),
            ExpertKind::Sam => self.sam().flops(res),
            ExpertKind::Pix2Struct => self.pix2struct().flops(res),
            ExpertKind::Eva02 => self.eva02().flops(res),
        }
    }

    /// Forward FLOPs of the layer that reads the pixels (patch embedding or stem), part of
    /// [`Self::flops`]: training computes no input gradient for it.
    pub fn stem_flops(&self, res: usize) -> f64 {
        if let Some(ck) = &self.checkpoint {
            // The patch embedding: 3·stride² inputs to out_channels per token (an estimate).
            let per_token = 2.0 * 3.0 * (ck.stride * ck.stride * ck.out_channels) as f64;
            return per_token * (ck.grid(res) * ck.grid(res)) as f64;
        }
        match self.kind {
            ExpertKind::Clip => self.clip().stem_flops(res),
            ExpertKind::ConvNext => self.convnext().stem_flops(res),
            ExpertKind::Sam => self.sam().stem_flops(res),
            ExpertKind::Pix2Struct => self.pix2struct().stem_flops(res),
            ExpertKind::Eva02 => self.eva02().stem_flops(res),
        }
    }

    /// Builds the expert on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Expert<B> {
        if let Some(ck) = &self.checkpoint {
            return Expert::Checkpoint(CheckpointEncoder::init(ck, device));
        }
        match self.kind {
            ExpertKind::Clip => Expert::Clip(self.clip().init(device)),
            ExpertKind::ConvNext => Expert::ConvNext(self.convnext().init(device)),
            ExpertKind::Sam => Expert::Sam(self.sam().init(device)),
            ExpertKind::Pix2Struct => Expert::Pix2Struct(self.pix2struct().init(device)),
            ExpertKind::Eva02 => Expert::Eva02(self.eva02().init(device)),
        }
    }
}

/// A vision expert of any family.
// One expert per cell slot, built once per stage: the variants' size difference costs nothing, and
// burn's `Module` derive does not see through a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Expert<B: Backend> {
    /// A ViT.
    Clip(ClipVit<B>),
    /// A ConvNeXt.
    ConvNext(ConvNext<B>),
    /// A windowed-attention ViT with a conv neck.
    Sam(SamVit<B>),
    /// A variable-resolution ViT with row/column embeddings.
    Pix2Struct(Pix2StructVit<B>),
    /// A 2D-RoPE SwiGLU ViT.
    Eva02(Eva02Vit<B>),
    /// A real model from a checkpoint folder (any family).
    Checkpoint(CheckpointEncoder<B>),
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
            Expert::Sam(m) => m.forward(x),
            Expert::Pix2Struct(m) => m.forward(x),
            Expert::Eva02(m) => m.forward(x),
            Expert::Checkpoint(m) => m.forward(x),
        }
    }
}
