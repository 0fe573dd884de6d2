//! Runs a checkpoint on named inputs and writes its named outputs: the parity check against the
//! reference libraries (`eyrie checkpoint forward DIR --inputs IN --out OUT`). Inputs are named
//! `input.<argument>` as transformers names the forward's arguments, outputs `output.<field>` as it
//! names the output's fields; both are safetensors files, outputs in f32.

use super::clip::{ClipVision, ClipVisionSettings};
use super::convnext::{ConvNext, ConvNextSettings};
use super::folder::{Architecture, CheckpointFolder, FolderError};
use super::llama::{LlamaForCausalLm, LlamaSettings};
use super::load::{load_weights, KeyMap, LoadError};
use super::pix2struct::{Pix2StructVision, Pix2StructVisionSettings};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Named tensors, as read from or written to a safetensors file.
pub type Named = BTreeMap<String, TensorData>;

/// Errors of running a checkpoint on inputs; each names its subject.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The folder could not be read.
    #[error(transparent)]
    Folder(#[from] FolderError),
    /// The weights did not fit the model.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A safetensors file of inputs or outputs could not be read or written.
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An input the architecture needs is not in the inputs file.
    #[error("{architecture} needs the input `{name}` ([{shape}]), which the inputs file lacks (it has: {have})")]
    MissingInput {
        /// The architecture.
        architecture: &'static str,
        /// The input's name.
        name: &'static str,
        /// Its expected shape, in words.
        shape: &'static str,
        /// The inputs present.
        have: String,
    },
    /// An input has the wrong shape.
    #[error("input `{name}` has shape {found:?}: {expected}")]
    InputShape {
        /// The input's name.
        name: &'static str,
        /// What it has.
        found: Vec<usize>,
        /// What is expected.
        expected: String,
    },
}

/// A loaded checkpoint, of whichever architecture its folder holds.
#[derive(Debug)]
pub enum LoadedModel<B: Backend> {
    /// `CLIPVisionModel`.
    ClipVision(Box<ClipVision<B>>),
    /// `ConvNextModel`.
    ConvNext(Box<ConvNext<B>>),
    /// `LlamaForCausalLM`.
    Llama(Box<LlamaForCausalLm<B>>),
    /// `Pix2StructVisionModel`.
    Pix2StructVision(Box<Pix2StructVision<B>>),
}

/// Builds the folder's architecture from its config and loads its weights.
pub fn load_model<B: Backend>(folder: &CheckpointFolder, device: &B::Device) -> Result<LoadedModel<B>, ForwardError> {
    let bad_config = |message: String| FolderError::Json { path: folder.dir.join("config.json"), message };
    Ok(match folder.architecture {
        Architecture::ClipVision => {
            // A full CLIPModel nests the tower's settings and also holds the text tower.
            let full = folder.config.get("vision_config").is_some();
            let settings: ClipVisionSettings =
                folder.config_as(folder.config.get("vision_config").unwrap_or(&folder.config))?;
            let mut model = settings.init::<B>(device);
            let mut keys = KeyMap {
                rewrites: ClipVision::<B>::key_rewrites(),
                skip_suffixes: vec!["position_ids".into()],
                ..KeyMap::default()
            };
            if full {
                keys.skip_prefixes =
                    ["text_model.", "visual_projection.", "text_projection.", "logit_scale"].map(String::from).to_vec();
            }
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::ClipVision(Box::new(model))
        }
        Architecture::ConvNext => {
            let settings: ConvNextSettings = folder.config_as(&folder.config)?;
            if let Some(p) = settings.problem() {
                return Err(bad_config(p).into());
            }
            let mut model = settings.init::<B>(device);
            let keys = KeyMap {
                rewrites: ConvNext::<B>::key_rewrites(),
                skip_prefixes: vec!["classifier.".into()],
                ..KeyMap::default()
            };
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::ConvNext(Box::new(model))
        }
        Architecture::Llama => {
            let settings: LlamaSettings = folder.config_as(&folder.config)?;
            if let Some(p) = settings.problem() {
                return Err(bad_config(p).into());
            }
            let mut model = settings.init::<B>(device);
            let keys = KeyMap {
                // A bare `LlamaModel` has no `model.` prefix (and no head).
                rewrites: vec![(r"^(embed_tokens|layers|norm)\.".into(), "model.$1.".into())],
                skip_suffixes: vec!["rotary_emb.inv_freq".into()],
                ..KeyMap::default()
            };
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::Llama(Box::new(model))
        }
        Architecture::Pix2StructVision => {
            // A full Pix2StructForConditionalGeneration nests the encoder's settings and keys.
            let full = folder.config.get("vision_config").is_some();
            let settings: Pix2StructVisionSettings =
                folder.config_as(folder.config.get("vision_config").unwrap_or(&folder.config))?;
            let mut model = settings.init::<B>(device);
            let keys = if full {
                KeyMap {
                    rewrites: vec![(r"^encoder\.".into(), String::new())],
                    skip_prefixes: vec!["decoder.".into()],
                    ..KeyMap::default()
                }
            } else {
                KeyMap::default()
            };
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::Pix2StructVision(Box::new(model))
        }
    })
}

fn pixels<B: Backend>(
    inputs: &Named,
    architecture: Architecture,
    channels: Option<usize>,
    device: &B::Device,
) -> Result<Tensor<B, 4>, ForwardError> {
    let name = "input.pixel_values";
    let data = required(inputs, name, architecture.name(), "batch, channels, height, width")?;
    let dims = data.shape.to_vec();
    if dims.len() != 4 || channels.is_some_and(|c| dims[1] != c) {
        return Err(ForwardError::InputShape {
            name,
            found: dims,
            expected: format!(
                "[batch, {}, height, width] expected",
                channels.map_or("channels".into(), |c| c.to_string())
            ),
        });
    }
    Ok(Tensor::from_data(data.clone().convert_dtype(DType::F32), device))
}

/// The input `name`, or an error naming it, its shape and the inputs present.
fn required<'a>(
    inputs: &'a Named,
    name: &'static str,
    architecture: &'static str,
    shape: &'static str,
) -> Result<&'a TensorData, ForwardError> {
    inputs.get(name).ok_or_else(|| ForwardError::MissingInput {
        architecture,
        name,
        shape,
        have: inputs.keys().cloned().collect::<Vec<_>>().join(", "),
    })
}

fn token_ids<B: Backend>(inputs: &Named, vocab: usize, device: &B::Device) -> Result<Tensor<B, 2, Int>, ForwardError> {
    let name = "input.input_ids";
    let data = required(inputs, name, Architecture::Llama.name(), "batch, seq")?;
    let dims = data.shape.to_vec();
    let ids: Vec<i64> = data.clone().convert_dtype(DType::I64).to_vec().unwrap_or_default();
    if dims.len() != 2 || ids.iter().any(|&i| i < 0 || i as usize >= vocab) {
        return Err(ForwardError::InputShape {
            name,
            found: dims,
            expected: format!("[batch, seq] of token ids below the vocabulary size {vocab} expected"),
        });
    }
    Ok(Tensor::from_data(TensorData::new(ids, data.shape.clone()), device))
}

/// Runs `model` on `inputs`; the outputs are named as transformers names them, in f32.
pub fn forward<B: Backend>(model: &LoadedModel<B>, inputs: &Named, device: &B::Device) -> Result<Named, ForwardError> {
    let mut out = Named::new();
    match model {
        LoadedModel::ClipVision(m) => {
            let x = pixels::<B>(inputs, Architecture::ClipVision, None, device)?;
            let [_, _, h, w] = x.dims();
            if h != m.image_size() || w != m.image_size() {
                return Err(ForwardError::InputShape {
                    name: "input.pixel_values",
                    found: x.dims().to_vec(),
                    expected: format!("CLIP's position table is for {0}x{0} images", m.image_size()),
                });
            }
            let o = m.forward(x);
            out.insert("output.last_hidden_state".into(), o.last_hidden_state.into_data());
            out.insert("output.pooler_output".into(), o.pooler_output.into_data());
        }
        LoadedModel::ConvNext(m) => {
            let o = m.forward(pixels::<B>(inputs, Architecture::ConvNext, None, device)?);
            out.insert("output.last_hidden_state".into(), o.last_hidden_state.into_data());
            out.insert("output.pooler_output".into(), o.pooler_output.into_data());
        }
        LoadedModel::Llama(m) => {
            let ids = token_ids::<B>(inputs, m.vocab(), device)?;
            let mask = inputs
                .get("input.attention_mask")
                .map(|d| Tensor::<B, 2>::from_data(d.clone().convert_dtype(DType::F32), device));
            if let Some(m) = &mask {
                if m.dims() != ids.dims() {
                    return Err(ForwardError::InputShape {
                        name: "input.attention_mask",
                        found: m.dims().to_vec(),
                        expected: format!("the shape of input.input_ids, {:?}", ids.dims()),
                    });
                }
            }
            out.insert("output.logits".into(), m.forward(ids, mask).into_data());
        }
        LoadedModel::Pix2StructVision(m) => {
            let name = "input.flattened_patches";
            let data = required(inputs, name, Architecture::Pix2StructVision.name(), "batch, seq, 2 + patch values")?;
            let dims = data.shape.to_vec();
            if dims.len() != 3 || dims[2] != m.patch_width() {
                return Err(ForwardError::InputShape {
                    name,
                    found: dims,
                    expected: format!("[batch, seq, {}] expected (row id, column id, patch values)", m.patch_width()),
                });
            }
            let patches = Tensor::<B, 3>::from_data(data.clone().convert_dtype(DType::F32), device);
            let [b, n, _] = patches.dims();
            let ids = patches
                .clone()
                .slice([0..b, 0..n, 0..2])
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .unwrap_or_default();
            if ids.iter().any(|&i| i < 0.0 || i as usize >= m.max_id()) {
                return Err(ForwardError::InputShape {
                    name,
                    found: vec![b, n, m.patch_width()],
                    expected: format!("row and column ids in 0..{} expected", m.max_id()),
                });
            }
            let mask = inputs
                .get("input.attention_mask")
                .map(|d| Tensor::<B, 2>::from_data(d.clone().convert_dtype(DType::F32), device));
            if let Some(mk) = &mask {
                if mk.dims() != [b, n] {
                    return Err(ForwardError::InputShape {
                        name: "input.attention_mask",
                        found: mk.dims().to_vec(),
                        expected: format!("[{b}, {n}] expected (one per patch)"),
                    });
                }
            }
            out.insert("output.last_hidden_state".into(), m.forward(patches, mask).into_data());
        }
    }
    Ok(out.into_iter().map(|(k, v)| (k, v.convert_dtype(DType::F32))).collect())
}

/// Reads every tensor of a safetensors file (f32, f16, bf16, f64, i64, i32; other types are an error).
pub fn read_named(path: &Path) -> Result<Named, ForwardError> {
    let fail = |message: String| ForwardError::File { path: path.into(), message };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| fail(e.to_string()))?;
    let mut named = Named::new();
    for (name, view) in file.tensors() {
        use safetensors::Dtype as S;
        let dtype = match view.dtype() {
            S::F32 => DType::F32,
            S::F16 => DType::F16,
            S::BF16 => DType::BF16,
            S::F64 => DType::F64,
            S::I64 => DType::I64,
            S::I32 => DType::I32,
            other => {
                return Err(fail(format!(
                    "tensor `{name}` has type {other:?}; f32, f16, bf16, f64, i64 or i32 expected"
                )))
            }
        };
        named.insert(name, TensorData::from_bytes_vec(view.data().to_vec(), view.shape().to_vec(), dtype));
    }
    Ok(named)
}

/// Writes named f32 tensors to a safetensors file.
pub fn write_named(path: &Path, named: &Named) -> Result<(), ForwardError> {
    let fail = |message: String| ForwardError::File { path: path.into(), message };
    let views: Vec<(String, safetensors::tensor::TensorView)> = named
        .iter()
        .map(|(name, data)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, data.shape.to_vec(), data.as_bytes())
                    .map_err(|e| fail(format!("tensor `{name}`: {e}")))?;
            Ok((name.clone(), view))
        })
        .collect::<Result<_, ForwardError>>()?;
    let bytes = safetensors::serialize(views, None).map_err(|e| fail(e.to_string()))?;
    crate::store::write_atomic(path, &bytes).map_err(|e| fail(e.to_string()))
}
