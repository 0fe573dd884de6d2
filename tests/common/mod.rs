//! Helpers shared by the end-to-end tests.

use std::path::Path;
use std::process::Command;

/// The `eyrie` binary under test.
pub fn eyrie() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eyrie"))
}

/// Every done stage of a results folder (id, metadata), sorted: a stage computed again after a
/// resume shows up as changed metadata.
pub fn done_stages(results: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(results.join("artifacts"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join("meta.json").exists())
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().to_string(),
                        std::fs::read_to_string(e.path().join("meta.json")).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
