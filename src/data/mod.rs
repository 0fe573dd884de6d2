//! The proxy world: seeded scenes rendered at any resolution, six task families, captions, tokenizer.

pub mod llava;
pub mod pool;
pub mod preview;
pub mod render;
pub mod rng;
pub mod scene;
pub mod targets;
pub mod tasks;
pub mod text;
pub mod tokenizer;

pub use pool::{DataSpec, Pool};
pub use rng::Split;
pub use tasks::Sample;
pub use text::{text_batch, TextBatch, TextTask};
pub use tokenizer::Tokenizer;

#[cfg(test)]
mod tests;
