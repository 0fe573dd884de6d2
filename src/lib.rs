//! Eyrie: a declarative experiment engine for mixture-of-encoder MLLM ablations (Eagle's design space).
//!
//! spec (TOML) → plan (cells, stages, content ids) → stages (train/eval on a burn backend)
//! → store (results folder) → report (tables).

pub mod data;
pub mod model;
pub mod spec;
pub mod eval;
pub mod exec;
pub mod plan;
pub mod store;
pub mod train;
pub mod backend;
pub mod bench;
pub mod report;
pub mod search;
pub mod stats;
