//! Reading JSON records: a missing file is `None`, an unreadable or corrupt one an error naming it.

use std::path::{Path, PathBuf};

/// A record file exists but cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file exists but could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not the JSON record expected there.
    #[error("corrupt or unexpected JSON in {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a text file: `Ok(None)` if it does not exist, an error naming it if it exists but cannot
/// be read (or is not UTF-8).
pub fn read_text(path: &Path) -> Result<Option<String>, ReadError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReadError::Io { path: path.to_path_buf(), source }),
    }
}

/// Reads and parses a JSON file: `Ok(None)` if it does not exist, an error if it exists but cannot
/// be read or parsed.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, ReadError> {
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    serde_json::from_str(&text).map(Some).map_err(|source| ReadError::Parse { path: path.to_path_buf(), source })
}

impl ReadError {
    /// The file that could not be used.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. } | ReadError::Parse { path, .. } => path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let got: Option<serde_json::Value> = read_json(&dir.path().join("absent.json")).unwrap();
        assert!(got.is_none());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it_and_keeping_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        std::fs::write(&path, "{\"truncated\": ").unwrap();
        let err = read_json::<serde_json::Value>(&path).unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        assert!(matches!(err, ReadError::Parse { .. }), "{err:?}");
        assert!(err.source().is_some_and(|s| s.is::<serde_json::Error>()), "{err:?}");
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.json");
        std::fs::create_dir(&path).unwrap();
        let err = read_json::<serde_json::Value>(&path).unwrap_err();
        assert!(matches!(err, ReadError::Io { .. }) && err.to_string().contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn a_well_formed_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ok.json");
        std::fs::write(&path, "{\"a\": 1}").unwrap();
        let got: Option<serde_json::Value> = read_json(&path).unwrap();
        assert_eq!(got, Some(serde_json::json!({"a": 1})));
    }
}
