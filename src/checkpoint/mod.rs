//! Real checkpoints: folders laid out as the model hubs lay them out (transformers' `config.json` +
//! `model.safetensors`, sharded or not) loaded into modules that reproduce the reference
//! architectures exactly, so that an experiment can run on the real encoders.
//!
//! [`folder`] reads a folder and names its architecture, [`load`] applies its tensors to a module
//! (key remapping, half types to f32, missing/unused/shape errors), one file per architecture
//! builds the module from the folder's config, and [`forward`] runs any of them on named inputs
//! (`eyrie checkpoint forward`, the parity check against transformers and timm).

pub mod act;
pub mod attention;
pub mod clip;
pub mod convnext;
pub mod encoder;
pub mod eva;
pub mod eva_config;
pub mod expert;
pub mod folder;
pub mod forward;
pub mod llama;
pub mod lm;
pub mod load;
pub mod norm;
pub mod pix2struct;
pub mod sam;

pub use folder::{Architecture, CheckpointFolder, FolderError};
pub use load::LoadError;
