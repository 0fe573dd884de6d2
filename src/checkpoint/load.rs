//! Applies a checkpoint's tensors to a module through burn-store: PyTorch layouts to burn's
//! (Linear weights transposed, norm `weight`/`bias` as `gamma`/`beta`), keys remapped where the
//! module names differ, f16/bf16 widened to f32; every missing, unused or misshapen tensor is an error.

use burn::prelude::*;
use burn::tensor::DType;
use burn_store::{
    ApplyError, KeyRemapper, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore,
    SafetensorsStoreError, TensorSnapshot,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Errors of loading weights; each names the folder or file and every tensor at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A weight file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: SafetensorsStoreError,
    },
    /// Tensors whose shapes differ from the model's.
    #[error("{}: tensors whose shape differs from the model built from config.json (burn's layout: \
             Linear weights are [in, out]): {}", dir.display(), list.join("; "))]
    Shapes {
        /// The folder.
        dir: PathBuf,
        /// `name: file [..], model [..]` per tensor.
        list: Vec<String>,
    },
    /// The model has tensors the checkpoint lacks.
    #[error("{}: {} tensors of the model are missing from the checkpoint: {}", dir.display(), names.len(), names.join(", "))]
    Missing {
        /// The folder.
        dir: PathBuf,
        /// The missing tensors (the model's names).
        names: Vec<String>,
    },
    /// The checkpoint has tensors the model does not use.
    #[error("{}: {} tensors of the checkpoint are not used by the model: {}", dir.display(), names.len(), names.join(", "))]
    Unused {
        /// The folder.
        dir: PathBuf,
        /// The unused tensors (the checkpoint's names, after remapping).
        names: Vec<String>,
    },
    /// A tensor could not be read or converted.
    #[error("{}: {message}", dir.display())]
    Tensor {
        /// The folder.
        dir: PathBuf,
        /// burn-store's message.
        message: String,
    },
}

/// How a checkpoint's names meet a module's.
#[derive(Debug, Clone, Default)]
pub struct KeyMap {
    /// Regex rewrites of the checkpoint's names (pattern, replacement), applied in order.
    pub rewrites: Vec<(String, String)>,
    /// Checkpoint names (after the rewrites) starting with one of these are not the module's and
    /// are skipped (e.g. the text tower of a full CLIP checkpoint).
    pub skip_prefixes: Vec<String>,
    /// Checkpoint names ending with one of these are buffers the module recomputes (e.g. `position_ids`).
    pub skip_suffixes: Vec<String>,
}

impl KeyMap {
    fn skipped(&self, name: &str) -> bool {
        self.skip_prefixes.iter().any(|p| name.starts_with(p.as_str()))
            || self.skip_suffixes.iter().any(|s| name.ends_with(s.as_str()))
    }
}

/// Widens f16 and bf16 tensors to f32 as they load.
#[derive(Debug, Clone, Copy, Default)]
struct ToF32;

impl ModuleAdapter for ToF32 {
    fn adapt(&self, snapshot: &TensorSnapshot) -> TensorSnapshot {
        if !matches!(snapshot.dtype, DType::F16 | DType::BF16) {
            return snapshot.clone();
        }
        let data = snapshot.clone_data_fn();
        TensorSnapshot::from_closure(
            Rc::new(move || Ok(data()?.convert_dtype(DType::F32))),
            DType::F32,
            snapshot.shape.clone(),
            snapshot.path_stack.clone().unwrap_or_default(),
            snapshot.container_stack.clone().unwrap_or_default(),
            snapshot.tensor_id.unwrap_or_default(),
        )
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(*self)
    }
}

/// The burn name of a PyTorch norm parameter (`x.weight` → `x.gamma`, `x.bias` → `x.beta`).
fn norm_alias(name: &str) -> Option<String> {
    name.strip_suffix(".weight")
        .map(|s| format!("{s}.gamma"))
        .or_else(|| name.strip_suffix(".bias").map(|s| format!("{s}.beta")))
}

/// Loads every tensor of `module` from `files` (one or the shards of one checkpoint in `dir`).
pub fn load_weights<B: Backend, M: ModuleSnapshot<B>>(
    module: &mut M,
    dir: &Path,
    files: &[PathBuf],
    keys: &KeyMap,
) -> Result<(), LoadError> {
    let mut remapper = KeyRemapper::new();
    for (pattern, to) in &keys.rewrites {
        remapper = remapper.add_pattern(pattern, to).expect("key patterns are written in the code and valid");
    }
    let (mut applied, mut unused, mut shapes) = (BTreeSet::new(), Vec::new(), Vec::new());
    for file in files {
        let mut store = SafetensorsStore::from_file(file)
            .with_from_adapter(PyTorchToBurnAdapter.chain(ToF32))
            .remap(remapper.clone())
            .validate(false)
            .allow_partial(true);
        let result = module.load_from(&mut store).map_err(|source| LoadError::Read { path: file.clone(), source })?;
        applied.extend(result.applied);
        unused.extend(result.unused.into_iter().filter(|n| !keys.skipped(n)));
        // burn-store lists a norm's `weight`/`bias` as unused even when it applied them as `gamma`/`beta`.
        unused.retain(|n| !norm_alias(n).is_some_and(|alias| applied.contains(&alias)));
        for e in result.errors {
            match e {
                ApplyError::ShapeMismatch { path, expected, found } => {
                    shapes.push(format!("{path}: file {:?}, model {:?}", found.to_vec(), expected.to_vec()))
                }
                other => return Err(LoadError::Tensor { dir: dir.into(), message: other.to_string() }),
            }
        }
    }
    if !shapes.is_empty() {
        return Err(LoadError::Shapes { dir: dir.into(), list: shapes });
    }
    let missing: Vec<String> =
        module.collect(None, None, false).iter().map(|s| s.full_path()).filter(|p| !applied.contains(p)).collect();
    if !missing.is_empty() {
        return Err(LoadError::Missing { dir: dir.into(), names: missing });
    }
    if !unused.is_empty() {
        unused.sort();
        return Err(LoadError::Unused { dir: dir.into(), names: unused });
    }
    Ok(())
}
