//! Content ids: a hash of a stage's canonical JSON and the schema version.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Bumped whenever a change to the code changes what a stage computes from the same config.
pub const SCHEMA_VERSION: u32 = 4;

/// The content id of a serialisable stage description: 16 hex digits of SHA-256.
pub fn content_id<T: Serialize>(stage: &T) -> String {
    let json = serde_json::to_string(stage).expect("stage configs serialise");
    let mut h = Sha256::new();
    h.update(format!("eyrie-stage-v{SCHEMA_VERSION}\n").as_bytes());
    h.update(json.as_bytes());
    hex::encode(&h.finalize()[..8])
}
