//! Training: the shared loop, pretraining of experts and the LM, alignment and SFT of the MLLM.

pub mod batches;
pub mod divergence;
pub mod fit;
pub mod host_init;
pub mod llava;
pub mod mllm_stages;
pub mod pretrain;
pub mod schedule;

pub use divergence::Divergence;
pub use fit::{FitSettings, Progress, Silent, StepLog};

pub use host_init::{seeded_init, unseeded, HostInit};
