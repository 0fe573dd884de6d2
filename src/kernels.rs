//! GPU kernels: where the cubecl backends (wgpu, CUDA) keep the kernels they compiled and their
//! autotune results, so that only the first process on a machine compiles them, and how many
//! kernels this process has compiled (for the progress display: compiling is not hanging).
//!
//! The cache folder (default `<results>/.kernel-cache`, or `--kernel-cache DIR`, or the
//! `EYRIE_KERNEL_CACHE` environment variable) holds `cubecl/` (cubecl's compiled-kernel cache: CUDA
//! PTX, or SPIR-V in a SPIR-V wgpu build, which Eyrie's default WGSL build is not; and its autotune
//! results) and `cuda/` (the CUDA driver's own cache,
//! `CUDA_CACHE_PATH`, unless that is set already). A `cubecl.toml` of the user's takes precedence
//! where it sets a cache itself.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable that names the kernel cache folder.
pub const CACHE_ENV: &str = "EYRIE_KERNEL_CACHE";

/// The cache folder inside a results folder, when none is given.
pub const DEFAULT_SUBDIR: &str = ".kernel-cache";

static CHOSEN: OnceLock<PathBuf> = OnceLock::new();
static CONFIGURED: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Chooses the kernel cache folder for this process: `explicit`, else `EYRIE_KERNEL_CACHE`, else
/// `<results>/.kernel-cache`. The first choice of a process holds. It also points the CUDA driver's
/// cache there (`CUDA_CACHE_PATH`, 4 GiB instead of the default 256 MiB) unless that is set: call it
/// before other threads exist, since it sets environment variables.
pub fn choose_cache(explicit: Option<&Path>, results: &Path) -> PathBuf {
    CHOSEN
        .get_or_init(|| {
            let dir = explicit
                .map(Path::to_path_buf)
                .or_else(|| std::env::var_os(CACHE_ENV).map(PathBuf::from))
                .unwrap_or_else(|| results.join(DEFAULT_SUBDIR));
            if cfg!(feature = "cuda") && std::env::var_os("CUDA_CACHE_PATH").is_none() {
                let absolute = std::path::absolute(dir.join("cuda")).unwrap_or_else(|_| dir.join("cuda"));
                std::env::set_var("CUDA_CACHE_PATH", absolute);
                if std::env::var_os("CUDA_CACHE_MAXSIZE").is_none() {
                    std::env::set_var("CUDA_CACHE_MAXSIZE", "4294967296");
                }
            }
            dir
        })
        .clone()
}

/// The chosen cache folder (the default one under `results/` if none was chosen).
pub fn cache_dir() -> PathBuf {
    CHOSEN.get().cloned().unwrap_or_else(|| choose_cache(None, Path::new("results")))
}

/// The file this process's compiled kernels are counted in, once a GPU backend was configured.
fn compile_log() -> Option<&'static Path> {
    CONFIGURED.get().and_then(|p| p.as_deref())
}

/// GPU kernels this process has compiled so far (`None` before a GPU backend started, or when the
/// user's own cubecl configuration logs compilations elsewhere).
pub fn compiled_so_far() -> Option<usize> {
    let text = std::fs::read(compile_log()?).ok()?;
    Some(text.iter().filter(|&&b| b == b'\n').count())
}

/// Configures cubecl (and the CUDA driver's cache) once per process, before the first GPU device
/// starts: the caches under [`cache_dir`], and one line per compiled kernel in a log that
/// [`compiled_so_far`] counts. A configuration cubecl already read is left alone.
#[cfg(feature = "cubecl-backends")]
pub fn configure_gpu() {
    CONFIGURED.get_or_init(|| {
        let dir = cache_dir();
        match gpu::configure(&dir) {
            Ok(log) => log,
            Err(e) => {
                eprintln!("warning: GPU kernel cache {} not used: {e}", dir.display());
                None
            }
        }
    });
}

#[cfg(feature = "cubecl-backends")]
mod gpu {
    use cubecl::config::cache::CacheConfig;
    use cubecl::config::compilation::CompilationLogLevel;
    use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    /// Sets cubecl's configuration; returns the compile log's path when Eyrie owns the log.
    pub fn configure(dir: &Path) -> std::io::Result<Option<PathBuf>> {
        let cubecl_dir = dir.join("cubecl");
        let cuda_dir = dir.join("cuda");
        std::fs::create_dir_all(&cubecl_dir)?;
        std::fs::create_dir_all(&cuda_dir)?;
        let cubecl_dir = std::fs::canonicalize(cubecl_dir)?;
        let mut storage = CubeClRuntimeConfig::storage().lock();
        if storage.is_some() {
            return Ok(None);
        }
        let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
        if config.compilation.cache.is_none() {
            config.compilation.cache = Some(CacheConfig::File(cubecl_dir.clone()));
        }
        if matches!(config.autotune.cache, CacheConfig::Target) {
            config.autotune.cache = CacheConfig::File(cubecl_dir);
        }
        let logger = &mut config.compilation.logger;
        let ours = matches!(logger.level, CompilationLogLevel::Disabled) && logger.file.is_none();
        let log = ours.then(|| std::env::temp_dir().join(format!("eyrie-kernels-{}.log", std::process::id())));
        if let Some(path) = &log {
            std::fs::write(path, b"")?;
            logger.level = CompilationLogLevel::Basic;
            logger.file = Some(path.clone());
            logger.append = true;
        }
        *storage = Some(Arc::new(config));
        Ok(log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_folder_wins_over_the_default_under_results() {
        // One process, one choice: the first call fixes it (the CLI makes it before any backend starts).
        let dir = choose_cache(Some(Path::new("/tmp/k")), Path::new("res"));
        assert_eq!(dir, PathBuf::from("/tmp/k"));
        assert_eq!(cache_dir(), PathBuf::from("/tmp/k"));
        assert_eq!(choose_cache(None, Path::new("other")), PathBuf::from("/tmp/k"));
    }
}
