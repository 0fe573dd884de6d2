//! A checkpoint as a vision expert's module: the loaded architecture, the pixel normalisation it was
//! trained with, and its output turned into the feature map every fusion takes.

use super::clip::ClipVision;
use super::convnext::ConvNext;
use super::eva::Eva;
use super::expert::{ExpertCheckpoint, Normalisation};
use super::folder::CheckpointFolder;
use super::forward::{init_model, load_model, ForwardError, LoadedModel};
use super::pix2struct::Pix2StructVision;
use super::sam::SamVision;
use crate::data::pool::{PIXEL_MEAN, PIXEL_STD};
use burn::prelude::*;

/// The architectures that serve as vision experts.
// One per expert slot, built once per stage: the variants' size difference costs nothing, and
// burn's `Module` derive does not see through a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum CheckpointModel<B: Backend> {
    /// `CLIPVisionModel`.
    Clip(ClipVision<B>),
    /// `ConvNextModel`.
    ConvNext(ConvNext<B>),
    /// `SamVisionModel`.
    Sam(SamVision<B>),
    /// `Pix2StructVisionModel`.
    Pix2Struct(Pix2StructVision<B>),
    /// timm's EVA-02.
    Eva02(Eva<B>),
}

/// A checkpoint-backed expert.
#[derive(Module, Debug)]
pub struct CheckpointEncoder<B: Backend> {
    model: CheckpointModel<B>,
    #[module(skip)]
    normalisation: Normalisation,
    stride: usize,
}

/// Errors of loading a checkpoint expert.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// The folder or its weights could not be read.
    #[error(transparent)]
    Forward(#[from] ForwardError),
    /// The folder changed since the experiment was planned (its stage ids name the old content).
    #[error("{}: its content changed since the experiment was planned (sha256 {found}, planned {planned}); plan again", dir.display())]
    Changed {
        /// The folder.
        dir: std::path::PathBuf,
        /// Its hash now.
        found: String,
        /// Its hash when planned.
        planned: String,
    },
}

impl<B: Backend> CheckpointEncoder<B> {
    /// The module `ck` describes, with fresh weights (a stored record fills them).
    pub fn init(ck: &ExpertCheckpoint, device: &B::Device) -> Self {
        let model = init_model::<B>(ck.architecture, &ck.config, device)
            .unwrap_or_else(|e| panic!("{}: config checked when planned: {e}", ck.dir.display()));
        Self::wrap(ck, model)
    }

    /// The module with the folder's weights, after checking the folder is the one planned.
    pub fn load(ck: &ExpertCheckpoint, device: &B::Device) -> Result<Self, EncoderError> {
        let now = ExpertCheckpoint::open(&ck.dir, ck.architecture, "the planned expert")
            .map_err(|e| ForwardError::File { path: ck.dir.clone(), message: e.to_string() })?;
        if now.sha256 != ck.sha256 {
            return Err(EncoderError::Changed { dir: ck.dir.clone(), found: now.sha256, planned: ck.sha256.clone() });
        }
        let model = load_model::<B>(&CheckpointFolder::open(&ck.dir).map_err(ForwardError::from)?, device)?;
        Ok(Self::wrap(ck, model))
    }

    fn wrap(ck: &ExpertCheckpoint, model: LoadedModel<B>) -> Self {
        let model = match model {
            LoadedModel::ClipVision(m) => CheckpointModel::Clip(*m),
            LoadedModel::ConvNext(m) => CheckpointModel::ConvNext(*m),
            LoadedModel::SamVision(m) => CheckpointModel::Sam(*m),
            LoadedModel::Pix2StructVision(m) => CheckpointModel::Pix2Struct(*m),
            LoadedModel::Eva02(m) => CheckpointModel::Eva02(*m),
            LoadedModel::Llama(_) => panic!("{}: a language model is not a vision expert", ck.dir.display()),
        };
        CheckpointEncoder { model, normalisation: ck.normalisation, stride: ck.stride }
    }

    /// Encodes images (normalised as Eyrie's data normalises them) into a feature map.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, res, res]` → `[batch, out_channels, res / stride, res / stride]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let unit = x * PIXEL_STD + PIXEL_MEAN; // back to [0, 1]
        let x = match self.normalisation {
            Normalisation::PerChannel { mean, std } => {
                let device = unit.device();
                let m = Tensor::<B, 1>::from_floats(mean, &device).reshape([1, 3, 1, 1]);
                let s = Tensor::<B, 1>::from_floats(std, &device).reshape([1, 3, 1, 1]);
                (unit - m) / s
            }
            Normalisation::PerImage => standardised(unit),
        };
        match &self.model {
            CheckpointModel::Clip(m) => tokens_to_map(m.forward(x).last_hidden_state, 1),
            CheckpointModel::Eva02(m) => tokens_to_map(m.forward_features(x), 1),
            CheckpointModel::ConvNext(m) => m.forward(x).last_hidden_state,
            CheckpointModel::Sam(m) => m.forward(x),
            CheckpointModel::Pix2Struct(m) => {
                let [_, _, h, _] = x.dims();
                let g = h / self.stride;
                let map = tokens_to_map(m.forward(flattened_patches(x, self.stride), None), 0);
                debug_assert_eq!(map.dims()[2], g);
                map
            }
        }
    }
}

/// Pix2Struct's per-image standardisation: mean 0, standard deviation 1 (at least `1/√n`).
///
/// # Shapes
/// - `x`: `[batch, c, h, w]` → the same
fn standardised<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    let n = (c * h * w) as f64;
    let flat = x.reshape([b, c * h * w]);
    let mean = flat.clone().mean_dim(1);
    let centred = flat - mean;
    let std = centred.clone().powf_scalar(2.0).mean_dim(1).sqrt().clamp_min(1.0 / n.sqrt());
    (centred / std).reshape([b, c, h, w])
}

/// Pix2Struct's flattened patches: per patch, its 1-based row and column and its pixels
/// (row, column, channel order, as transformers' processor lays them out).
///
/// # Shapes
/// - `x`: `[batch, c, h, w]` → `[batch, (h/p)·(w/p), 2 + p·p·c]`
fn flattened_patches<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 3> {
    let [b, c, h, w] = x.dims();
    let (gh, gw) = (h / p, w / p);
    let patches = x.reshape([b, c, gh, p, gw, p]).permute([0, 2, 4, 3, 5, 1]).reshape([b, gh * gw, p * p * c]);
    let device = patches.device();
    let ids: Vec<f32> = (0..gh * gw).flat_map(|i| [(i / gw + 1) as f32, (i % gw + 1) as f32]).collect();
    let ids = Tensor::<B, 1>::from_floats(ids.as_slice(), &device).reshape([1, gh * gw, 2]).expand([b, gh * gw, 2]);
    Tensor::cat(vec![ids, patches], 2)
}

/// A square token sequence after `skip` leading tokens as a map.
///
/// # Shapes
/// - `tokens`: `[batch, skip + g·g, d]` → `[batch, d, g, g]`
fn tokens_to_map<B: Backend>(tokens: Tensor<B, 3>, skip: usize) -> Tensor<B, 4> {
    let [b, n, d] = tokens.dims();
    let g = ((n - skip) as f64).sqrt().round() as usize;
    tokens.slice([0..b, skip..n, 0..d]).reshape([b, g, g, d]).permute([0, 3, 1, 2])
}
