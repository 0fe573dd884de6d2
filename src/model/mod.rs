//! Models: experts, fusions, projector, the decoder LM and the assembled MLLM.

pub mod attention;
pub mod bilinear;
pub mod dense;
pub mod encoders;
pub mod fusion;
pub mod lm;
pub mod loss;
pub mod mllm;
pub mod ops;
pub mod projector;
pub mod resample;
pub mod rope;
pub mod tiling;
pub mod vit_block;

pub use mllm::{Mllm, MllmConfig};

#[cfg(test)]
mod tests;
