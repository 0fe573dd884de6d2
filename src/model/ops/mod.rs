//! Speed kernels, apart from the architecture: each op has a body every backend runs (burn's own
//! ops) and, with the `flex` feature, a fast path in `flex` taken at run time when the tensors are on
//! `flex` (see [`specialize`]); model files call these ops and show only the architecture.

pub mod activation;
pub mod depthwise;
#[cfg(feature = "flex")]
mod flex;
pub mod fused_attention;
#[cfg(test)]
pub(crate) mod grad_check;
pub mod layer_norm;
pub mod layout;
pub mod rotary;
pub mod specialize;
