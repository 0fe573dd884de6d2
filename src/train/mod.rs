//! Training: the shared loop, pretraining of experts and the LM, alignment and SFT of the MLLM.

pub mod batches;
pub mod fit;
pub mod mllm_stages;
pub mod pretrain;
pub mod schedule;

pub use fit::{FitSettings, Progress, Silent, StepLog};
