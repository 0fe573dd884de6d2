//! Runs a checkpoint on named inputs and writes its named outputs: the parity check against the
//! reference libraries (`eyrie checkpoint forward DIR --inputs IN --out OUT`). Inputs are named
//! `input.<argument>` as transformers names the forward's arguments, outputs `output.<field>` as it
//! names the output's fields; both are safetensors files, outputs in f32.
//!
//! [`build`] makes a folder's module, [`inputs`] reads and checks the named inputs, [`run`] runs a
//! module on them, and [`files`] reads and writes the safetensors files.

mod build;
mod files;
mod inputs;
mod run;

pub use build::{init_model, key_map, load_model, module_config, skipped_prefixes};
pub use files::{read_named, write_named};
pub use run::forward;

use super::clip::ClipVision;
use super::convnext::ConvNext;
use super::eva::Eva;
use super::folder::FolderError;
use super::llama::LlamaForCausalLm;
use super::load::LoadError;
use super::pix2struct::Pix2StructVision;
use super::sam::SamVision;
use burn::prelude::*;
use burn::tensor::TensorData;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// `SamVisionModel`.
    SamVision(Box<SamVision<B>>),
    /// timm's EVA-02.
    Eva02(Box<Eva<B>>),
}
