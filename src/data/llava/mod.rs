//! LLaVA-format data: training conversations (LLaVA-1.5's JSON: an image and turns of `human` and
//! `gpt`, `<image>` marking where the image goes) and evaluation sets as JSONL (image, question,
//! answer, family), scored by VQA-style normalised exact match (Liu et al. 2023, "Improved Baselines
//! with Visual Instruction Tuning"; Antol et al. 2015, "VQA: Visual Question Answering").

pub mod answer;
pub mod chat;
pub mod conversations;
pub mod eval_set;
pub mod export;
pub mod images;

pub use answer::{normalise, score_answers};
pub use conversations::{read_conversations, Conversation, Role, Segment, Turn};
pub use eval_set::{read_eval_set, EvalItem};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A LLaVA-format data file as stages read it: its path, the SHA-256 of its contents (part of the
/// ids of the stages that read it) and the folder its records' images are relative to (the images
/// are not hashed: a dataset's image folder is too large to read at every plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlavaFile {
    /// The file, as the experiment file writes it.
    pub path: PathBuf,
    /// SHA-256 of its contents.
    pub sha256: String,
    /// The image folder.
    pub images: PathBuf,
}

/// LLaVA-format conversations a training stage reads in place of the proxy world's samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversations {
    /// The training file.
    pub file: LlavaFile,
    /// Longest sequence, in positions (text and visual tokens); longer records lose their end.
    pub max_length: usize,
}

impl LlavaFile {
    /// Describes `path` (hashing it) with its image folder.
    pub fn open(path: &std::path::Path, images: &std::path::Path) -> Result<Self, LlavaError> {
        let sha256 = crate::checkpoint::folder::sha256_files(&[path])
            .map_err(|e| LlavaError::Parse { path: path.into(), message: e.to_string() })?;
        Ok(Self { path: path.into(), sha256, images: images.into() })
    }
}

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
mod chat_tests;
#[cfg(test)]
mod tests;
