//! Checkpoints in safetensors through burn-store, written atomically.

use burn::prelude::*;
use burn_store::{ModuleSnapshot, SafetensorsStore, SafetensorsStoreError};
use std::path::{Path, PathBuf};

/// Checkpoint errors: each names the file and keeps its cause.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The module could not be encoded as safetensors.
    #[error("cannot encode checkpoint {}", path.display())]
    Encode {
        /// The file it was meant for.
        path: PathBuf,
        /// Why.
        #[source]
        source: SafetensorsStoreError,
    },
    /// Writing the file failed.
    #[error("cannot write checkpoint {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Reading the file failed or it did not match the model.
    #[error("cannot load checkpoint {}", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: SafetensorsStoreError,
    },
    /// The file lacks tensors the model has.
    #[error("cannot load checkpoint {}: tensors missing from the file: {missing:?}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The missing tensors (path, container stack).
        missing: Vec<(String, String)>,
    },
}

/// The one metadata entry of every checkpoint (key, value).
pub const METADATA: (&str, &str) = ("format", "safetensors");

/// Saves `module` to `path` (via a temporary file and a rename); the same module gives the same bytes.
///
/// The safetensors header lists tensors sorted by name, but its metadata is a `HashMap` written in
/// its random iteration order; burn-store's three default entries (format, producer, version) made
/// the bytes differ from run to run. The metadata is therefore cleared down to one entry,
/// [`METADATA`], whose order cannot vary.
pub fn save<B: Backend, M: ModuleSnapshot<B>>(module: &M, path: &Path) -> Result<(), CheckpointError> {
    let encode = |source| CheckpointError::Encode { path: path.to_path_buf(), source };
    let mut store = SafetensorsStore::from_bytes(None).clear_metadata().metadata(METADATA.0, METADATA.1);
    module.save_into(&mut store).map_err(encode)?;
    let bytes = store.get_bytes().map_err(encode)?;
    super::write_atomic(path, &bytes).map_err(|source| CheckpointError::Write { path: path.to_path_buf(), source })
}

/// Loads `path` into `module` (which must have the same structure).
pub fn load<B: Backend, M: ModuleSnapshot<B>>(mut module: M, path: &Path) -> Result<M, CheckpointError> {
    let mut store = SafetensorsStore::from_file(path);
    let result =
        module.load_from(&mut store).map_err(|source| CheckpointError::Load { path: path.to_path_buf(), source })?;
    if !result.missing.is_empty() {
        return Err(CheckpointError::Missing { path: path.to_path_buf(), missing: result.missing });
    }
    Ok(to_device_float(module))
}

/// Casts every float parameter to its device's float type (a checkpoint folder's weights are read
/// as f32 whatever the run's precision; Eyrie's own stages store the run's type already).
pub(crate) fn to_device_float<B: Backend, M: Module<B>>(module: M) -> M {
    struct Cast;
    impl<B: Backend> burn::module::ModuleMapper<B> for Cast {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<B, D>>,
        ) -> burn::module::Param<Tensor<B, D>> {
            let (id, tensor, mapper) = param.consume();
            let want = burn::tensor::get_device_settings::<B>(&tensor.device()).float_dtype;
            let tensor = if tensor.dtype() == want.into() { tensor } else { tensor.cast(want) };
            burn::module::Param::from_mapped_value(id, tensor, mapper)
        }
    }
    module.map(&mut Cast)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn saving_the_same_module_again_gives_the_same_bytes() {
        type B = burn::backend::Flex;
        let dir = tempfile::tempdir().unwrap();
        let device = Default::default();
        let module = burn::nn::LinearConfig::new(2, 3).init::<B>(&device);
        // Several saves: with burn-store's three metadata entries in a `HashMap`, each save drew
        // one of six orders, so eight equal files by chance are about one in 280,000.
        let files: Vec<Vec<u8>> = (0..8)
            .map(|i| {
                let path = dir.path().join(format!("{i}.safetensors"));
                save::<B, _>(&module, &path).unwrap();
                std::fs::read(&path).unwrap()
            })
            .collect();
        assert!(files.iter().all(|f| f == &files[0]), "checkpoint bytes differ between saves");
        let header_len = u64::from_le_bytes(files[0][..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&files[0][8..8 + header_len]).unwrap();
        assert_eq!(header["__metadata__"], serde_json::json!({ METADATA.0: METADATA.1 }));
        let loaded =
            load::<B, _>(burn::nn::LinearConfig::new(2, 3).init::<B>(&device), &dir.path().join("0.safetensors"));
        assert_eq!(loaded.unwrap().weight.val().into_data(), module.weight.val().into_data());
    }

    #[test]
    fn a_corrupt_checkpoint_names_the_file_and_keeps_the_cause() {
        type B = burn::backend::Flex;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, b"not a safetensors file").unwrap();
        let device = Default::default();
        let module = burn::nn::LinearConfig::new(2, 3).init::<B>(&device);
        let err = load::<B, _>(module, &path).unwrap_err();
        assert!(matches!(err, CheckpointError::Load { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        assert!(err.source().is_some_and(|s| s.is::<SafetensorsStoreError>()), "{err:?}");
    }
}
