//! Content ids: a hash of a stage's canonical JSON and the schema version.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Bumped whenever a change to the code changes what a stage computes from the same config.
/// 5: POPE's test questions alternate yes/no by index (exactly balanced); pre-alignment takes the cell's seed.
pub const SCHEMA_VERSION: u32 = 5;

/// The content id of a serialisable stage description: 16 hex digits of SHA-256.
pub fn content_id<T: Serialize>(stage: &T) -> String {
    content_id_at(stage, SCHEMA_VERSION)
}

/// The content id `stage` had under world schema `version` (recognises records of older schemas).
pub fn content_id_at<T: Serialize>(stage: &T, version: u32) -> String {
    let json = serde_json::to_string(stage).expect("stage configs serialise");
    let mut h = Sha256::new();
    h.update(format!("eyrie-stage-v{version}\n").as_bytes());
    h.update(json.as_bytes());
    hex::encode(&h.finalize()[..8])
}
