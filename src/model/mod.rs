//! Models: experts, fusions, projector, the decoder LM and the assembled MLLM.

pub mod activation;
pub mod attention;
pub mod bilinear;
pub mod dense;
pub mod depthwise;
pub mod encoders;
pub mod fused_attention;
pub mod fusion;
#[cfg(test)]
pub(crate) mod grad_check;
pub mod layer_norm;
pub mod layout;
pub mod lm;
pub mod loss;
pub mod mllm;
pub mod projector;
pub mod resample;
pub mod rope;
pub mod specialize;
pub mod tiling;
pub mod vit_block;

pub use mllm::{Mllm, MllmConfig};

#[cfg(test)]
mod tests;
