//! LLaVA-format data: training conversations (LLaVA-1.5's JSON: an image and turns of `human` and
//! `gpt`, `<image>` marking where the image goes) and evaluation sets as JSONL (image, question,
//! answer, family), scored by VQA-style normalised exact match (Liu et al. 2023, "Improved Baselines
//! with Visual Instruction Tuning"; Antol et al. 2015, "VQA: Visual Question Answering").

pub mod answer;
pub mod conversations;
pub mod eval_set;

pub use answer::{normalise, score_answers};
pub use conversations::{read_conversations, Conversation, Role, Segment, Turn};
pub use eval_set::{read_eval_set, EvalItem};

use std::path::PathBuf;

/// Errors of reading LLaVA-format data; each names the file and the record (index and id, or line).
#[derive(Debug, thiserror::Error)]
pub enum LlavaError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and what (serde's message, with the key path or line).
        message: String,
    },
    /// A record breaks a rule of the format.
    #[error("{}: {record}: {message}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// Which record (`record 3 (id "abc")` or `line 7`).
        record: String,
        /// What is wrong.
        message: String,
    },
    /// Images the records name are not in the image folder.
    #[error("{}: {count} images named by its records are not under {}: {}", path.display(), images.display(), first.join(", "))]
    MissingImages {
        /// The data file.
        path: PathBuf,
        /// The image folder.
        images: PathBuf,
        /// How many are missing.
        count: usize,
        /// The first few (at most 5).
        first: Vec<String>,
    },
}

/// Checks that every image in `names` exists under `images`; the error lists the first few missing.
fn check_images<'a>(
    path: &std::path::Path,
    images: &std::path::Path,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), LlavaError> {
    let missing: Vec<String> = names.filter(|n| !images.join(n).is_file()).map(String::from).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(LlavaError::MissingImages {
        path: path.into(),
        images: images.into(),
        count: missing.len(),
        first: missing.into_iter().take(5).collect(),
    })
}

#[cfg(test)]
mod tests;
