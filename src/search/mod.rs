//! Searches that choose an experiment's cells as they go, from the scores of cells already run.

pub mod greedy;
pub mod rounds;
