//! A checkpoint folder as the hubs lay it out: `config.json` and `model.safetensors` (or shards
//! listed in `model.safetensors.index.json`); which architecture it holds.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The architectures Eyrie reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Architecture {
    /// transformers' `CLIPVisionModel` (or the vision tower of a `CLIPModel`).
    ClipVision,
    /// transformers' `ConvNextModel`.
    ConvNext,
    /// transformers' `LlamaForCausalLM`.
    Llama,
    /// transformers' `Pix2StructVisionModel` (or the encoder of a `Pix2StructForConditionalGeneration`).
    Pix2StructVision,
    /// transformers' `SamVisionModel` (or the vision encoder of a `SamModel`).
    SamVision,
    /// timm's EVA-02 (`Eva` built as one of the `eva02_*` architectures), as timm's hub export lays it out.
    Eva02,
}

impl Architecture {
    /// Every architecture, in the order errors list them.
    pub const ALL: [Architecture; 6] = [
        Architecture::ClipVision,
        Architecture::ConvNext,
        Architecture::Llama,
        Architecture::Pix2StructVision,
        Architecture::SamVision,
        Architecture::Eva02,
    ];

    /// The reference class name.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::ClipVision => "CLIPVisionModel",
            Architecture::ConvNext => "ConvNextModel",
            Architecture::Llama => "LlamaForCausalLM",
            Architecture::Pix2StructVision => "Pix2StructVisionModel",
            Architecture::SamVision => "SamVisionModel",
            Architecture::Eva02 => "timm eva02_*",
        }
    }

    /// The architecture of a transformers `model_type`, if Eyrie has it.
    fn of_model_type(t: &str) -> Option<Self> {
        match t {
            "clip" | "clip_vision_model" => Some(Architecture::ClipVision),
            "convnext" => Some(Architecture::ConvNext),
            "llama" => Some(Architecture::Llama),
            "pix2struct" | "pix2struct_vision_model" => Some(Architecture::Pix2StructVision),
            "sam" | "sam_vision_model" => Some(Architecture::SamVision),
            _ => None,
        }
    }
}

/// Errors of reading a checkpoint folder; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file could not be parsed or lacks what is needed.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The config names no architecture Eyrie has.
    #[error("{}: model type {found:?} is not one Eyrie reproduces (known: {known})", path.display())]
    UnknownArchitecture {
        /// The config file.
        path: PathBuf,
        /// What it says (`model_type`, `architectures`).
        found: String,
        /// The known ones.
        known: String,
    },
    /// Neither weight file is there.
    #[error("{}: no model.safetensors or model.safetensors.index.json", dir.display())]
    NoWeights {
        /// The folder.
        dir: PathBuf,
    },
}

/// A checkpoint folder, read: its config and its weight files.
#[derive(Debug, Clone)]
pub struct CheckpointFolder {
    /// The folder.
    pub dir: PathBuf,
    /// `config.json` as read.
    pub config: serde_json::Value,
    /// What it holds.
    pub architecture: Architecture,
    /// The safetensors files, in the order the index lists them (one when not sharded).
    pub weights: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct ShardIndex {
    weight_map: std::collections::BTreeMap<String, String>,
}

impl CheckpointFolder {
    /// Reads `dir`'s config and finds its weights.
    pub fn open(dir: &Path) -> Result<Self, FolderError> {
        let config_path = dir.join("config.json");
        let config: serde_json::Value = read_json(&config_path)?;
        let architecture = architecture_of(&config, &config_path)?;
        let weights = weight_files(dir)?;
        Ok(CheckpointFolder { dir: dir.to_path_buf(), config, architecture, weights })
    }

    /// SHA-256 of `config.json`, every weight file and then `extra` (files beside them, such as a
    /// tokenizer), and the parameters of the weight files but those under `skipped` prefixes.
    pub fn content_hash(&self, extra: &[PathBuf], skipped: &[String]) -> Result<(String, u64), FolderError> {
        let config = self.dir.join("config.json");
        let files: Vec<&Path> = std::iter::once(config.as_path())
            .chain(self.weights.iter().map(PathBuf::as_path))
            .chain(extra.iter().map(PathBuf::as_path))
            .collect();
        let sha = sha256_files(&files)?;
        let mut params = 0u64;
        for path in &self.weights {
            params +=
                safetensors_params(path, skipped).map_err(|source| FolderError::Read { path: path.clone(), source })?;
        }
        Ok((sha, params))
    }

    /// The config, parsed as `T` (an error names `config.json` and the field).
    pub fn config_as<T: serde::de::DeserializeOwned>(&self, value: &serde_json::Value) -> Result<T, FolderError> {
        serde_path_to_error::deserialize(value).map_err(|e| FolderError::Json {
            path: self.dir.join("config.json"),
            message: format!("at `{}`: {}", e.path(), e.inner()),
        })
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, FolderError> {
    let text = std::fs::read_to_string(path).map_err(|source| FolderError::Read { path: path.into(), source })?;
    serde_json::from_str(&text).map_err(|e| FolderError::Json { path: path.into(), message: e.to_string() })
}

fn architecture_of(config: &serde_json::Value, path: &Path) -> Result<Architecture, FolderError> {
    // timm's hub export names the architecture (its factory function) instead of a model type.
    if let Some(name) = config.get("architecture").and_then(|a| a.as_str()) {
        if name.starts_with("eva02") {
            return Ok(Architecture::Eva02);
        }
        return Err(FolderError::UnknownArchitecture {
            path: path.into(),
            found: format!("timm {name}"),
            known: Architecture::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", "),
        });
    }
    let model_type = config.get("model_type").and_then(|t| t.as_str()).unwrap_or("");
    Architecture::of_model_type(model_type).ok_or_else(|| FolderError::UnknownArchitecture {
        path: path.into(),
        found: match config.get("architectures") {
            Some(a) => format!("{model_type} ({a})"),
            None => model_type.to_string(),
        },
        known: Architecture::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", "),
    })
}

fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, FolderError> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index_path = dir.join("model.safetensors.index.json");
    if !index_path.is_file() {
        return Err(FolderError::NoWeights { dir: dir.into() });
    }
    let index: ShardIndex = read_json(&index_path)?;
    let mut seen = BTreeSet::new();
    let shards: Vec<PathBuf> =
        index.weight_map.values().filter(|f| seen.insert(f.as_str())).map(|f| dir.join(f)).collect();
    if shards.is_empty() {
        return Err(FolderError::Json { path: index_path, message: "its weight_map lists no file".into() });
    }
    Ok(shards)
}

/// SHA-256 of the files' contents, one after another.
pub fn sha256_files(files: &[&Path]) -> Result<String, FolderError> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for path in files {
        let read_error = |source| FolderError::Read { path: path.to_path_buf(), source };
        let mut file = std::fs::File::open(path).map_err(read_error)?;
        loop {
            let n = file.read(&mut buf).map_err(read_error)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// Elements of the tensors a safetensors file holds, but those under `skipped` prefixes, from its header.
fn safetensors_params(path: &Path, skipped: &[String]) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len)?;
    let mut header = vec![0u8; u64::from_le_bytes(len).min(100 << 20) as usize];
    file.read_exact(&mut header)?;
    let value: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let shapes = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "__metadata__" && !skipped.iter().any(|p| k.starts_with(p.as_str())));
    Ok(shapes
        .filter_map(|(_, t)| t.get("shape")?.as_array().map(|s| s.iter().filter_map(|d| d.as_u64()).product::<u64>()))
        .sum())
}
