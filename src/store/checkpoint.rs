//! Checkpoints in safetensors through burn-store, written atomically.

use burn::prelude::*;
use burn_store::{ModuleSnapshot, SafetensorsStore};
use std::path::Path;

/// Checkpoint errors.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Writing failed.
    #[error("cannot save checkpoint {path}: {message}")]
    Save {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// Reading failed or did not match the model.
    #[error("cannot load checkpoint {path}: {message}")]
    Load {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// Saves `module` to `path` (via a temporary file and a rename).
pub fn save<B: Backend, M: ModuleSnapshot<B>>(module: &M, path: &Path) -> Result<(), CheckpointError> {
    let err = |m: String| CheckpointError::Save { path: path.display().to_string(), message: m };
    let mut store = SafetensorsStore::from_bytes(None);
    module.save_into(&mut store).map_err(|e| err(format!("{e:?}")))?;
    let bytes = store.get_bytes().map_err(|e| err(format!("{e:?}")))?;
    super::write_atomic(path, &bytes).map_err(|e| err(e.to_string()))
}

/// Loads `path` into `module` (which must have the same structure).
pub fn load<B: Backend, M: ModuleSnapshot<B>>(mut module: M, path: &Path) -> Result<M, CheckpointError> {
    let err = |m: String| CheckpointError::Load { path: path.display().to_string(), message: m };
    let mut store = SafetensorsStore::from_file(path);
    let result = module.load_from(&mut store).map_err(|e| err(format!("{e:?}")))?;
    if !result.missing.is_empty() {
        return Err(err(format!("tensors missing from the file: {:?}", result.missing)));
    }
    Ok(module)
}
