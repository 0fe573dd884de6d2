//! Atomic file writes: write a temporary file beside the target, then rename over it. Every error
//! names the step and the path that failed ([`FileError`], carried inside the `std::io::Error`).

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file operation failed: which one, on which path, and why (the source).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Creating a folder (and its parents) failed.
    #[error("creating folder {}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Creating or writing a file failed.
    #[error("writing {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Renaming a finished temporary file over its target failed.
    #[error("renaming {} to {}", from.display(), to.display())]
    Rename {
        /// The temporary file.
        from: PathBuf,
        /// The target.
        to: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Copying a file failed.
    #[error("copying {} to {}", from.display(), to.display())]
    Copy {
        /// The file copied.
        from: PathBuf,
        /// The copy.
        to: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl FileError {
    /// The OS error underneath.
    pub fn io(&self) -> &std::io::Error {
        match self {
            FileError::CreateDir { source, .. }
            | FileError::Write { source, .. }
            | FileError::Rename { source, .. }
            | FileError::Copy { source, .. } => source,
        }
    }
}

impl From<FileError> for std::io::Error {
    /// An `std::io::Error` of the same kind whose message is the [`FileError`]'s (step and path) and
    /// whose source is the OS error, so `{:#}` chains read `writing <path>: <why>`.
    fn from(e: FileError) -> Self {
        std::io::Error::new(e.io().kind(), e)
    }
}

/// `std::fs::create_dir_all`, its error naming the folder.
pub fn create_dir_all(path: &Path) -> Result<(), FileError> {
    std::fs::create_dir_all(path).map_err(|source| FileError::CreateDir { path: path.to_path_buf(), source })
}

/// `std::fs::write`, its error naming the file.
pub fn write_file(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), FileError> {
    std::fs::write(path, bytes).map_err(|source| FileError::Write { path: path.to_path_buf(), source })
}

/// `std::fs::copy`, its error naming both files.
pub fn copy_file(from: &Path, to: &Path) -> Result<(), FileError> {
    std::fs::copy(from, to).map(|_| ()).map_err(|source| FileError::Copy {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        source,
    })
}

/// The temporary file [`write_atomic`] writes for `path` in process `pid` of this host:
/// `.<name>.tmp-<pid>@<host>` beside it (what [`crate::store::temps::clean_stale_temps`] looks for;
/// the host keeps a cleaner on another machine sharing the folder away from it).
pub fn temp_path(path: &Path, pid: u32) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    dir.join(format!(".{name}.tmp-{pid}@{}", super::claim::host_name()))
}

/// Writes `bytes` to `path` so that readers see either the old file or the whole new one. A failed
/// write removes its temporary file; the error names the step and the path that failed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dir_all(dir)?;
    let tmp = temp_path(path, std::process::id());
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })()
    .map_err(|source| FileError::Write { path: tmp.clone(), source })
    .and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|source| FileError::Rename {
            from: tmp.clone(),
            to: path.to_path_buf(),
            source,
        })
    });
    if written.is_err() {
        // Best effort: the error that matters is the write's, returned below.
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(written?)
}

/// Appends one line to `path` (creating it); the error names the file.
pub fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(d) = path.parent() {
        create_dir_all(d)?;
    }
    let append = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        writeln!(f, "{line}")
    };
    Ok(append().map_err(|source| FileError::Write { path: path.to_path_buf(), source })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    /// A path whose parent is a regular file: every write under it fails (ENOTDIR), even as root.
    fn under_a_file(dir: &Path) -> PathBuf {
        std::fs::write(dir.join("plain"), "x").unwrap();
        dir.join("plain").join("exp").join("result.json")
    }

    #[test]
    fn a_failed_write_names_its_path_once_and_keeps_the_os_error() {
        let dir = tempfile::tempdir().unwrap();
        let target = under_a_file(dir.path());
        let err = write_atomic(&target, b"{}").unwrap_err();
        let folder = target.parent().unwrap().display().to_string();
        assert_eq!(err.to_string(), format!("creating folder {folder}"));
        let os = err.source().expect("the OS error is the source");
        assert!(os.to_string().contains("os error"), "{os}");
        assert!(os.source().is_none(), "the OS error is said once: {os:?}");
        assert_eq!(err.kind(), os.downcast_ref::<std::io::Error>().unwrap().kind());
    }

    #[test]
    fn a_failed_rename_names_both_paths_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder in the target's place: the temporary file is written, the rename fails.
        let target = dir.path().join("result.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), "x").unwrap();
        let err = write_atomic(&target, b"{}").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("renaming ") && text.ends_with(&target.display().to_string()), "{text}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("result.json")], "temporary file left behind");
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a").join("plan.json");
        write_atomic(&target, b"old").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(std::fs::read_dir(target.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn append_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("log.jsonl");
        std::fs::create_dir(&target).unwrap();
        let err = append_line(&target, "{}").unwrap_err();
        assert_eq!(err.to_string(), format!("writing {}", target.display()));
    }
}
