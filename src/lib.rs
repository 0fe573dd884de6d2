//! Eyrie: a declarative experiment engine for mixture-of-encoder MLLM ablations (Eagle's design space).
//!
//! spec (TOML) → plan (cells, stages, content ids) → stages (train/eval on a burn backend)
//! → store (results folder) → report (tables).

pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod eval;
pub mod exec;
pub mod hypotheses;
pub mod kernels;
pub mod model;
pub mod plan;
pub mod report;
pub mod search;
pub mod slurm;
// A `SpecError` carries the file, key path, position, message and hint: it is built at most once per
// run, so its size on the error path costs nothing worth boxing it for.
#[allow(clippy::result_large_err)]
pub mod spec;
pub mod stats;
pub mod store;
pub mod train;
