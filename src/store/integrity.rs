//! Integrity of the stage cache: every artifact's `meta.json` records a SHA-256 of each file the
//! stage wrote; a stage is checked against it before it is reused, and a damaged one is moved aside
//! (`results/artifacts/.damaged/<id>-<unix time>/`, with a note saying why) to be computed again.
//! Artifacts written before hashes were recorded get a structural check of their checkpoint instead.

use super::{read_json, ReadError, StageMeta, Store};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The files of an artifact folder that are hashed (when present), besides `meta.json`.
pub const HASHED_FILES: [&str; 3] = ["model.safetensors", "log.jsonl", "scores.json"];

/// The hex SHA-256 of a file's bytes.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The hashes of the [`HASHED_FILES`] present in `dir`, by file name.
pub fn hash_outputs(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut hashes = BTreeMap::new();
    for name in HASHED_FILES {
        let path = dir.join(name);
        if path.exists() {
            hashes.insert(name.to_string(), hash_file(&path)?);
        }
    }
    Ok(hashes)
}

/// What is wrong with a stored stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// `meta.json` exists but cannot be read or parsed.
    Meta(String),
    /// A file the metadata lists is missing.
    Missing(String),
    /// A file's bytes differ from the hash recorded when it was written.
    Changed(String),
    /// A file cannot be read.
    Unreadable(String, String),
    /// A checkpoint with no recorded hash is not a whole safetensors file.
    Truncated(String, String),
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::Meta(why) => write!(f, "meta.json is corrupt ({why})"),
            Damage::Missing(name) => write!(f, "{name} is missing"),
            Damage::Changed(name) => write!(f, "{name} differs from the hash recorded when it was written"),
            Damage::Unreadable(name, why) => write!(f, "{name} cannot be read ({why})"),
            Damage::Truncated(name, why) => write!(f, "{name} is not a whole safetensors file ({why})"),
        }
    }
}

/// The result of checking one stored stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Not stored (no `meta.json`).
    Absent,
    /// Every recorded hash matches.
    Intact,
    /// Written before hashes were recorded; its checkpoint (if any) is structurally whole.
    Unhashed,
    /// Damaged: what is wrong.
    Damaged(Vec<Damage>),
}

/// Checks stage `id`'s stored files against its metadata.
pub fn check_stage(store: &Store, id: &str) -> Check {
    let dir = store.artifact_dir(id);
    let meta: StageMeta = match read_json(&store.meta_path(id)) {
        Ok(None) => return Check::Absent,
        Ok(Some(m)) => m,
        Err(ReadError::Parse { source, .. }) => return Check::Damaged(vec![Damage::Meta(source.to_string())]),
        Err(ReadError::Io { source, .. }) => return Check::Damaged(vec![Damage::Meta(source.to_string())]),
    };
    if meta.files.is_empty() {
        let model = dir.join("model.safetensors");
        return match model.exists().then(|| safetensors_whole(&model)) {
            Some(Err(why)) => Check::Damaged(vec![Damage::Truncated("model.safetensors".into(), why)]),
            _ => Check::Unhashed,
        };
    }
    let mut damage = Vec::new();
    for (name, recorded) in &meta.files {
        let path = dir.join(name);
        match hash_file(&path) {
            Ok(h) if &h == recorded => {}
            Ok(_) => damage.push(Damage::Changed(name.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => damage.push(Damage::Missing(name.clone())),
            Err(e) => damage.push(Damage::Unreadable(name.clone(), e.to_string())),
        }
    }
    if damage.is_empty() {
        Check::Intact
    } else {
        Check::Damaged(damage)
    }
}

/// Whether a safetensors file is whole: its header parses and its length is what the header says.
pub fn safetensors_whole(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let len = u64::from_le_bytes(bytes.get(..8).ok_or("shorter than its 8-byte header length")?.try_into().unwrap());
    let header_end = 8usize.checked_add(usize::try_from(len).map_err(|_| "header length overflows")?);
    let header = header_end.and_then(|end| bytes.get(8..end)).ok_or("shorter than its header")?;
    let header: serde_json::Value = serde_json::from_slice(header).map_err(|e| format!("header: {e}"))?;
    let data_end = header
        .as_object()
        .ok_or("header is not an object")?
        .iter()
        .filter(|(k, _)| k.as_str() != "__metadata__")
        .filter_map(|(_, v)| v["data_offsets"][1].as_u64())
        .max()
        .unwrap_or(0);
    let expected = 8 + len + data_end;
    if bytes.len() as u64 != expected {
        return Err(format!("{} bytes, its header describes {expected}", bytes.len()));
    }
    Ok(())
}

/// Moves stage `id`'s folder aside into `artifacts/.damaged/` with a note of `why`; returns where.
pub fn quarantine(store: &Store, id: &str, why: &str) -> std::io::Result<PathBuf> {
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let aside = store.root.join("artifacts").join(".damaged").join(format!("{id}-{at}"));
    std::fs::create_dir_all(aside.parent().expect("has a parent"))?;
    std::fs::rename(store.artifact_dir(id), &aside)?;
    std::fs::write(aside.join("DAMAGED.txt"), format!("{why}\n"))?;
    Ok(aside)
}

/// Moves a damaged record file aside (`<name>.damaged-<unix time>` beside it); returns where.
pub fn quarantine_file(path: &Path) -> std::io::Result<PathBuf> {
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("record");
    let aside = path.with_file_name(format!("{name}.damaged-{at}"));
    std::fs::rename(path, &aside)?;
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(store: &Store, id: &str, model: &[u8], hashed: bool) {
        let dir = store.artifact_dir(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.safetensors"), model).unwrap();
        std::fs::write(dir.join("log.jsonl"), "{}\n").unwrap();
        let meta = StageMeta {
            id: id.into(),
            kind: "sft".into(),
            label: "sft x".into(),
            seconds: 1.0,
            samples_per_second: 0.0,
            first_loss: None,
            last_loss: None,
            metrics: Default::default(),
            backend: "flex".into(),
            files: if hashed { hash_outputs(&dir).unwrap() } else { Default::default() },
        };
        std::fs::write(store.meta_path(id), serde_json::to_string(&meta).unwrap()).unwrap();
    }

    /// A whole safetensors file with one 2-element f32 tensor.
    fn safetensors() -> Vec<u8> {
        let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header);
        b.extend_from_slice(&[0u8; 8]);
        b
    }

    #[test]
    fn a_stage_is_intact_until_a_byte_changes_or_a_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert_eq!(check_stage(&store, "a"), Check::Absent);
        stage(&store, "a", &safetensors(), true);
        assert_eq!(check_stage(&store, "a"), Check::Intact);
        let model = store.checkpoint("a");
        let mut bytes = std::fs::read(&model).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&model, &bytes).unwrap();
        assert_eq!(check_stage(&store, "a"), Check::Damaged(vec![Damage::Changed("model.safetensors".into())]));
        std::fs::remove_file(store.artifact_dir("a").join("log.jsonl")).unwrap();
        let Check::Damaged(d) = check_stage(&store, "a") else { panic!() };
        assert!(d.contains(&Damage::Missing("log.jsonl".into())), "{d:?}");
        std::fs::write(store.meta_path("a"), "{\"id\": ").unwrap();
        assert!(matches!(check_stage(&store, "a"), Check::Damaged(d) if matches!(d[0], Damage::Meta(_))));
    }

    #[test]
    fn an_unhashed_checkpoint_is_checked_for_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        stage(&store, "old", &safetensors(), false);
        assert_eq!(check_stage(&store, "old"), Check::Unhashed);
        let whole = safetensors();
        stage(&store, "cut", &whole[..whole.len() - 3], false);
        assert!(matches!(check_stage(&store, "cut"), Check::Damaged(d) if matches!(d[0], Damage::Truncated(..))));
        stage(&store, "junk", b"not safetensors at all", false);
        assert!(matches!(check_stage(&store, "junk"), Check::Damaged(_)));
    }

    #[test]
    fn quarantine_moves_the_folder_aside_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        stage(&store, "a", &safetensors(), true);
        let aside = quarantine(&store, "a", "model.safetensors changed").unwrap();
        assert!(!store.artifact_dir("a").exists());
        assert!(!store.is_done("a"));
        assert!(aside.join("model.safetensors").exists());
        assert_eq!(std::fs::read_to_string(aside.join("DAMAGED.txt")).unwrap(), "model.safetensors changed\n");
        let record = dir.path().join("result.json");
        std::fs::write(&record, "{").unwrap();
        let moved = quarantine_file(&record).unwrap();
        assert!(!record.exists() && moved.exists(), "{}", moved.display());
    }
}
