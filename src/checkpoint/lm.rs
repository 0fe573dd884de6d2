//! A checkpoint folder as an experiment's language model (`[lm] checkpoint = "..."`): a Llama-family
//! `LlamaForCausalLM` with its `tokenizer.json` and chat template, described without loading its
//! weights (its shape for the plan, its content hash for stage ids).

use super::folder::{Architecture, CheckpointFolder, FolderError};
use super::llama::{LlamaForCausalLm, LlamaSettings};
use crate::data::llava::chat::{ChatError, ChatFormat};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A checkpoint-backed LM: everything a stage needs to build and load it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LmCheckpoint {
    /// The folder, as the experiment file writes it.
    pub dir: PathBuf,
    /// SHA-256 of `config.json`, the weights, `tokenizer.json` and `tokenizer_config.json`.
    pub sha256: String,
    /// `config.json`, as read.
    pub config: serde_json::Value,
    /// Width of its hidden states (the projector's output width).
    pub dim: usize,
    /// Rows of its embedding table.
    pub vocab: usize,
    /// Decoder layers.
    pub depth: usize,
    /// Query heads.
    pub heads: usize,
    /// Parameters (from the safetensors headers).
    pub params: u64,
}

/// Errors of using a folder as the LM; each names the folder.
#[derive(Debug, thiserror::Error)]
pub enum LmCheckpointError {
    /// The folder could not be read.
    #[error(transparent)]
    Folder(#[from] FolderError),
    /// It holds another architecture.
    #[error("{}: holds a {found}, not a {} (the LM must be a Llama-family causal LM)", dir.display(), Architecture::Llama.name())]
    WrongArchitecture {
        /// The folder.
        dir: PathBuf,
        /// What it holds.
        found: &'static str,
    },
    /// Its config cannot be reproduced.
    #[error("{}: config.json: {message}", dir.display())]
    Config {
        /// The folder.
        dir: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Its tokenizer or chat template cannot be used.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// The folder changed since the experiment was planned.
    #[error("{}: changed since the experiment was planned (content hash {found}, planned {planned}); plan again", dir.display())]
    Changed {
        /// The folder.
        dir: PathBuf,
        /// Its hash now.
        found: String,
        /// The planned hash.
        planned: String,
    },
    /// Its weights could not be loaded.
    #[error("{}: {message}", dir.display())]
    Load {
        /// The folder.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl LmCheckpoint {
    /// Reads the folder `dir` (as written in the experiment file): a Llama causal LM with a
    /// `tokenizer.json` whose vocabulary fits its embedding table.
    pub fn open(dir: &Path) -> Result<Self, LmCheckpointError> {
        let folder = CheckpointFolder::open(dir)?;
        if folder.architecture != Architecture::Llama {
            return Err(LmCheckpointError::WrongArchitecture { dir: dir.into(), found: folder.architecture.name() });
        }
        let s = settings(dir, &folder.config)?;
        let chat = ChatFormat::open(dir)?;
        if chat.vocab_size() > s.vocab_size {
            return Err(LmCheckpointError::Config {
                dir: dir.into(),
                message: format!(
                    "tokenizer.json has {} tokens but the embedding table only {} rows (vocab_size)",
                    chat.vocab_size(),
                    s.vocab_size
                ),
            });
        }
        let extra: Vec<PathBuf> =
            ["tokenizer.json", "tokenizer_config.json"].iter().map(|f| dir.join(f)).filter(|p| p.is_file()).collect();
        let (sha256, params) = folder.content_hash(&extra, &[])?;
        Ok(LmCheckpoint {
            dir: dir.into(),
            sha256,
            dim: s.hidden_size,
            vocab: s.vocab_size,
            depth: s.num_hidden_layers,
            heads: s.num_attention_heads,
            config: folder.config,
            params,
        })
    }

    /// The model with fresh (zero) weights, to be filled from a stored record.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LlamaForCausalLm<B> {
        settings(&self.dir, &self.config).unwrap_or_else(|e| panic!("config checked when planned: {e}")).init(device)
    }

    /// The model with the folder's weights, after checking the folder is the one planned.
    pub fn load<B: Backend>(&self, device: &B::Device) -> Result<LlamaForCausalLm<B>, LmCheckpointError> {
        let now = Self::open(&self.dir)?;
        if now.sha256 != self.sha256 {
            return Err(LmCheckpointError::Changed {
                dir: self.dir.clone(),
                found: now.sha256,
                planned: self.sha256.clone(),
            });
        }
        let folder = CheckpointFolder::open(&self.dir)?;
        match super::forward::load_model::<B>(&folder, device) {
            Ok(super::forward::LoadedModel::Llama(m)) => Ok(*m),
            Ok(_) => unreachable!("the architecture was checked"),
            Err(e) => Err(LmCheckpointError::Load { dir: self.dir.clone(), message: e.to_string() }),
        }
    }

    /// Forward FLOPs on one sequence of `tokens` tokens: two per parameter per token (the matrix
    /// products; attention scores not counted).
    pub fn flops(&self, tokens: usize) -> f64 {
        2.0 * self.params as f64 * tokens as f64
    }
}

fn settings(dir: &Path, config: &serde_json::Value) -> Result<LlamaSettings, LmCheckpointError> {
    let config_error = |message: String| LmCheckpointError::Config { dir: dir.into(), message };
    let s: LlamaSettings = serde_path_to_error::deserialize(config)
        .map_err(|e| config_error(format!("at `{}`: {}", e.path(), e.inner())))?;
    match s.problem() {
        Some(p) => Err(config_error(p)),
        None => Ok(s),
    }
}
