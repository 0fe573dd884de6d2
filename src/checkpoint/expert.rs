//! A checkpoint folder as one of an experiment's vision experts (`[experts.clip] checkpoint = "..."`):
//! what the plan needs to know of it (its geometry, its content hash for stage ids, how it wants its
//! pixels normalised) without loading its weights.

use super::clip::ClipVisionSettings;
use super::convnext::ConvNextSettings;
use super::eva_config::EvaSettings;
use super::folder::{Architecture, CheckpointFolder, FolderError};
use super::forward::{module_config, skipped_prefixes};
use super::pix2struct::Pix2StructVisionSettings;
use super::sam::SamVisionSettings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How an expert wants the pixels of `[0, 1]` images normalised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalisation {
    /// `(x - mean) / std` per channel (transformers' `image_mean`/`image_std`, timm's `mean`/`std`).
    PerChannel {
        /// Channel means.
        mean: [f32; 3],
        /// Channel standard deviations.
        std: [f32; 3],
    },
    /// Each image standardised by its own mean and standard deviation (Pix2Struct's processor).
    PerImage,
}

/// ImageNet's statistics, timm's default, used when a folder states none.
pub const IMAGENET: Normalisation =
    Normalisation::PerChannel { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/// A checkpoint-backed expert: everything a stage needs to build and load it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpertCheckpoint {
    /// The folder, as the experiment file writes it.
    pub dir: PathBuf,
    /// SHA-256 of `config.json` and the weight files, in order (part of every stage id that uses it).
    pub sha256: String,
    /// What the folder holds.
    pub architecture: Architecture,
    /// `config.json`, as read.
    pub config: serde_json::Value,
    /// How its pixels are normalised.
    pub normalisation: Normalisation,
    /// The side its position tables were trained at (or, for convolutional and variable-resolution
    /// models, the side its config names).
    pub native_resolution: usize,
    /// Pixels per output token a side (patch size; ConvNeXt's total stride).
    pub stride: usize,
    /// Whether it takes only its native side (absolute or relative position tables of a fixed size).
    pub fixed_side: bool,
    /// Channels of its output map.
    pub out_channels: usize,
    /// The layers that keep activations for the backward pass.
    pub layers: Layers,
    /// Parameters of the part Eyrie uses (from the safetensors headers; a full model's other parts,
    /// such as a CLIP text tower, not counted).
    pub params: u64,
}

/// Errors of using a folder as an expert; each names the folder.
#[derive(Debug, thiserror::Error)]
pub enum ExpertCheckpointError {
    /// The folder could not be read.
    #[error(transparent)]
    Folder(#[from] FolderError),
    /// It holds another architecture than the expert's family.
    #[error("{}: holds a {found}, not {expected}", dir.display())]
    WrongArchitecture {
        /// The folder.
        dir: PathBuf,
        /// What it holds.
        found: &'static str,
        /// What the expert needs.
        expected: String,
    },
    /// Its config does not describe a usable module.
    #[error("{}: {message}", dir.display())]
    Config {
        /// The folder.
        dir: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn parse<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| format!("config.json at `{}`: {}", e.path(), e.inner()))
}

/// The layers that keep activations for the backward pass, for memory estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layers {
    /// Transformer blocks over the patch tokens.
    Transformer {
        /// Blocks.
        depth: usize,
        /// Width.
        width: usize,
        /// Attention heads.
        heads: usize,
    },
    /// Convolutional stages: `(width, blocks)` each, the first at `1/first_stride` of the input side,
    /// each next one at half the side of the one before.
    Conv {
        /// `(width, blocks)` per stage.
        stages: Vec<(usize, usize)>,
        /// The first stage's stride (the stem's).
        first_stride: usize,
    },
}

/// What the plan needs of a vision architecture's config.
struct Geometry {
    native: usize,
    stride: usize,
    fixed_side: bool,
    out_channels: usize,
    layers: Layers,
}

fn transformer(depth: usize, width: usize, heads: usize) -> Layers {
    Layers::Transformer { depth, width, heads }
}

fn geometry(architecture: Architecture, config: &serde_json::Value) -> Result<Geometry, String> {
    let c = module_config(architecture, config);
    let side = |key: &str, default: usize| config.get(key).and_then(|v| v.as_u64()).map_or(default, |v| v as usize);
    let fixed =
        |native, stride, out_channels, layers| Geometry { native, stride, fixed_side: true, out_channels, layers };
    match architecture {
        Architecture::ClipVision => {
            let s: ClipVisionSettings = parse(c)?;
            let layers = transformer(s.num_hidden_layers, s.hidden_size, s.num_attention_heads);
            Ok(fixed(s.image_size, s.patch_size, s.hidden_size, layers))
        }
        Architecture::ConvNext => {
            let s: ConvNextSettings = parse(c)?;
            if let Some(p) = s.problem() {
                return Err(p);
            }
            let stride = s.patch_size << s.hidden_sizes.len().saturating_sub(1);
            let stages = s.hidden_sizes.iter().copied().zip(s.depths.iter().copied()).collect();
            Ok(Geometry {
                native: side("image_size", 224),
                stride,
                fixed_side: false,
                out_channels: *s.hidden_sizes.last().unwrap_or(&0),
                layers: Layers::Conv { stages, first_stride: s.patch_size },
            })
        }
        Architecture::SamVision => {
            let s: SamVisionSettings = parse(c)?;
            if let Some(p) = s.problem() {
                return Err(p);
            }
            let layers = transformer(s.num_hidden_layers, s.hidden_size, s.num_attention_heads);
            Ok(fixed(s.image_size, s.patch_size, s.output_channels, layers))
        }
        Architecture::Eva02 => {
            let s = EvaSettings::of_timm_config(c)?;
            if s.img_size[0] != s.img_size[1] || s.patch_size[0] != s.patch_size[1] {
                return Err(format!(
                    "EVA-02 of {:?} images with {:?} patches: Eyrie's experts are square",
                    s.img_size, s.patch_size
                ));
            }
            let layers = transformer(s.depth, s.embed_dim, s.num_heads);
            Ok(fixed(s.img_size[0], s.patch_size[0], s.embed_dim, layers))
        }
        Architecture::Pix2StructVision => {
            let s: Pix2StructVisionSettings = parse(c)?;
            let patch = ((s.patch_embed_hidden_size / 3) as f64).sqrt().round() as usize;
            if 3 * patch * patch != s.patch_embed_hidden_size {
                return Err(format!("patch_embed_hidden_size {} is not 3·p² (RGB patches)", s.patch_embed_hidden_size));
            }
            // Variable resolution: natively, the largest square whose patches fit seq_len.
            let side = (s.seq_len as f64).sqrt().floor() as usize;
            Ok(Geometry {
                native: side * patch,
                stride: patch,
                fixed_side: false,
                out_channels: s.hidden_size,
                layers: transformer(s.num_hidden_layers, s.hidden_size, s.num_attention_heads),
            })
        }
        Architecture::Llama => Err("a language model, not a vision expert".into()),
    }
}

impl ExpertCheckpoint {
    /// Reads the folder `dir` (as written in the experiment file) as an expert whose family needs
    /// `expected` (`what` names the family in errors).
    pub fn open(dir: &Path, expected: Architecture, what: &str) -> Result<Self, ExpertCheckpointError> {
        let folder = CheckpointFolder::open(dir)?;
        if folder.architecture != expected {
            return Err(ExpertCheckpointError::WrongArchitecture {
                dir: dir.into(),
                found: folder.architecture.name(),
                expected: format!("{} (the architecture of `{what}`)", expected.name()),
            });
        }
        let config_error = |message: String| ExpertCheckpointError::Config { dir: dir.into(), message };
        let g = geometry(folder.architecture, &folder.config).map_err(config_error)?;
        let normalisation = normalisation(&folder)?;
        let (sha256, params) = content_hash(&folder)?;
        Ok(ExpertCheckpoint {
            dir: dir.into(),
            sha256,
            architecture: folder.architecture,
            config: folder.config,
            normalisation,
            native_resolution: g.native,
            stride: g.stride,
            fixed_side: g.fixed_side,
            out_channels: g.out_channels,
            layers: g.layers,
            params,
        })
    }

    /// The token grid side at `res` pixels.
    pub fn grid(&self, res: usize) -> usize {
        res / self.stride.max(1)
    }

    /// Approximate forward FLOPs on one image at `res` pixels: two per parameter per output token
    /// (exact for a ViT's matrix products, an underestimate of attention and of ConvNeXt's early stages).
    pub fn flops(&self, res: usize) -> f64 {
        2.0 * self.params as f64 * (self.grid(res) * self.grid(res)) as f64
    }
}

fn read_error(path: &Path, source: std::io::Error) -> ExpertCheckpointError {
    FolderError::Read { path: path.into(), source }.into()
}

/// The statistics `preprocessor_config.json` (transformers) or `config.json`'s `pretrained_cfg`
/// (timm) state; Pix2Struct standardises each image; ImageNet's when the folder states none.
fn normalisation(folder: &CheckpointFolder) -> Result<Normalisation, ExpertCheckpointError> {
    if folder.architecture == Architecture::Pix2StructVision {
        return Ok(Normalisation::PerImage);
    }
    let triple = |v: Option<&serde_json::Value>| -> Option<[f32; 3]> {
        let a = v?.as_array()?;
        let x: Vec<f32> = a.iter().filter_map(|x| x.as_f64()).map(|x| x as f32).collect();
        (x.len() == 3).then(|| [x[0], x[1], x[2]])
    };
    let path = folder.dir.join("preprocessor_config.json");
    let stated = if path.is_file() {
        let text = std::fs::read_to_string(&path).map_err(|e| read_error(&path, e))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| FolderError::Json { path: path.clone(), message: e.to_string() })?;
        Some((triple(value.get("image_mean")), triple(value.get("image_std"))))
    } else {
        folder.config.get("pretrained_cfg").map(|p| (triple(p.get("mean")), triple(p.get("std"))))
    };
    Ok(match stated {
        Some((Some(mean), Some(std))) if std.iter().all(|&s| s > 0.0) => Normalisation::PerChannel { mean, std },
        _ => IMAGENET,
    })
}

/// SHA-256 of `config.json` and every weight file, and the parameter count of the weight files.
fn content_hash(folder: &CheckpointFolder) -> Result<(String, u64), ExpertCheckpointError> {
    let skipped = skipped_prefixes(folder.architecture, &folder.config);
    Ok(folder.content_hash(&[], &skipped)?)
}
