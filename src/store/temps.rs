//! Leftover temporary files: [`super::write_atomic`] writes `.<name>.tmp-<pid>` beside its target
//! and renames it; a writer killed in between leaves the file forever. [`clean_stale_temps`] removes
//! those whose writer is no longer alive.

use super::Store;
use std::path::{Path, PathBuf};

/// A folder could not be listed or a stale file removed.
#[derive(Debug, thiserror::Error)]
pub enum TempsError {
    /// Listing a folder failed.
    #[error("listing {}", path.display())]
    List {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Removing a stale temporary file failed.
    #[error("removing the stale temporary file {}", path.display())]
    Remove {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl From<TempsError> for std::io::Error {
    /// An `std::io::Error` of the same kind carrying the [`TempsError`] (its path and its source).
    fn from(e: TempsError) -> Self {
        let kind = match &e {
            TempsError::List { source, .. } | TempsError::Remove { source, .. } => source.kind(),
        };
        std::io::Error::new(kind, e)
    }
}

/// The writer's pid of a temporary file name `.<name>.tmp-<pid>@<host>` written on this host (or
/// `.<name>.tmp-<pid>`, as older versions named them), else `None` (not a temporary file, or one
/// written on another host, whose pids mean nothing here).
pub fn temp_owner(file_name: &str) -> Option<u32> {
    let (name, owner) = file_name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    let pid = match owner.split_once('@') {
        Some((pid, host)) if host == super::claim::host_name() => pid,
        Some(_) => return None,
        None => owner,
    };
    if name.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Removes every temporary file `.<name>.tmp-<pid>` under `dir` (recursively, not following symbolic
/// links) whose writer `pid` is not a live process; returns the files removed, sorted. A missing
/// `dir` removes nothing. Files of live writers, other files and folders are left alone.
pub fn clean_stale_temps(dir: &Path) -> Result<Vec<PathBuf>, TempsError> {
    let mut removed = Vec::new();
    walk(dir, &mut removed)?;
    removed.sort();
    Ok(removed)
}

fn walk(dir: &Path, removed: &mut Vec<PathBuf>) -> Result<(), TempsError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(TempsError::List { path: dir.to_path_buf(), source }),
    };
    for entry in entries {
        let entry = entry.map_err(|source| TempsError::List { path: dir.to_path_buf(), source })?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| TempsError::List { path: path.clone(), source })?;
        if kind.is_dir() {
            walk(&path, removed)?;
            continue;
        }
        let stale = kind.is_file()
            && entry.file_name().to_str().and_then(temp_owner).is_some_and(|pid| !super::claim::alive(pid));
        if stale {
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                // Another cleaner got there first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(TempsError::Remove { path, source }),
            }
        }
    }
    Ok(())
}

/// [`clean_stale_temps`] over what a run of `experiment` writes: `<results>/<experiment>/` and
/// `<results>/artifacts/`; returns the files removed.
pub fn clean_run_temps(store: &Store, experiment: &str) -> Result<Vec<PathBuf>, TempsError> {
    let mut removed = clean_stale_temps(&store.experiment_dir(experiment))?;
    removed.extend(clean_stale_temps(&store.root.join("artifacts"))?);
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::atomic::temp_path;

    /// A pid no process has: above the kernel's maximum (4194304 on 64-bit Linux).
    const DEAD: u32 = 999_999_999;

    #[test]
    fn the_writer_pid_is_read_from_the_name_only_when_it_is_a_temporary_file() {
        assert_eq!(temp_owner(".result.json.tmp-123"), Some(123));
        assert_eq!(temp_owner(".model.safetensors.tmp-7"), Some(7));
        assert_eq!(
            temp_owner(&temp_path(Path::new("a/meta.json"), 42).file_name().unwrap().to_string_lossy()),
            Some(42)
        );
        assert_eq!(temp_owner(".result.json.tmp-9@another-host"), None, "another host's pids mean nothing here");
        for not in
            ["result.json", "result.json.tmp-1", ".result.json.tmp-", ".result.json.tmp-12a", ".tmp-5", ".x.tmp--1"]
        {
            assert_eq!(temp_owner(not), None, "{not}");
        }
    }

    #[test]
    fn stale_temporary_files_are_removed_and_live_ones_and_records_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cell = dir.path().join("quickstart").join("cells").join("abc");
        let stage = dir.path().join("artifacts").join("def");
        std::fs::create_dir_all(&cell).unwrap();
        std::fs::create_dir_all(&stage).unwrap();
        let stale_result = temp_path(&cell.join("result.json"), DEAD);
        let stale_checkpoint = temp_path(&stage.join("model.safetensors"), DEAD);
        let live = temp_path(&cell.join("metrics.jsonl"), std::process::id());
        let record = cell.join("result.json");
        let lookalike_dir = temp_path(&stage.join("folder"), DEAD);
        for f in [&stale_result, &stale_checkpoint, &live, &record] {
            std::fs::write(f, "x").unwrap();
        }
        std::fs::create_dir(&lookalike_dir).unwrap();
        let store = Store::new(dir.path());
        let mut expected = vec![stale_checkpoint.clone(), stale_result.clone()];
        expected.sort();
        let mut removed = clean_run_temps(&store, "quickstart").unwrap();
        removed.sort();
        assert_eq!(removed, expected);
        assert!(!stale_result.exists() && !stale_checkpoint.exists());
        assert!(live.exists() && record.exists() && lookalike_dir.exists());
        assert!(clean_run_temps(&store, "quickstart").unwrap().is_empty(), "a second pass removes nothing");
    }

    #[test]
    fn a_missing_folder_removes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(clean_stale_temps(&dir.path().join("absent")).unwrap().is_empty());
    }

    #[test]
    fn an_unlistable_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let err = clean_stale_temps(&file).unwrap_err();
        assert_eq!(err.to_string(), format!("listing {}", file.display()));
    }
}
