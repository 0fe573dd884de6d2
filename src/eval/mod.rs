//! Evaluation: greedy decoding, exact match per family, POPE F1 and yes-ratio, the family average.

pub mod decode;
pub mod llava;
pub mod metrics;

pub use metrics::{FamilyScore, Scores};
