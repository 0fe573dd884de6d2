//! Evaluation sets as JSONL: one question a line, with its image, reference answer(s) and family.

use super::{check_images, LlavaError};
use crate::spec::Family;
use serde::Deserialize;
use std::path::Path;

/// Reference answers: one, or several (any counts as right).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Answers {
    /// One answer.
    One(String),
    /// Several acceptable answers.
    Many(Vec<String>),
}

/// One evaluation question.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalItem {
    /// The image, relative to the image folder.
    pub image: String,
    /// The question.
    pub question: String,
    /// The reference answer(s).
    pub answer: Answers,
    /// The family the question is scored under.
    pub family: Family,
}

impl EvalItem {
    /// The reference answers as a list.
    pub fn answers(&self) -> Vec<&str> {
        match &self.answer {
            Answers::One(a) => vec![a.as_str()],
            Answers::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Reads an evaluation JSONL (blank lines skipped) and checks its images exist under `images`.
pub fn read_eval_set(path: &Path, images: &Path) -> Result<Vec<EvalItem>, LlavaError> {
    let text = std::fs::read_to_string(path).map_err(|source| LlavaError::Read { path: path.into(), source })?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(line);
        let item: EvalItem = serde_path_to_error::deserialize(&mut de).map_err(|e| LlavaError::Record {
            path: path.into(),
            record: format!("line {}", i + 1),
            message: format!("at `{}`: {} (families: {})", e.path(), e.inner(), Family::known()),
        })?;
        if item.answers().is_empty() {
            return Err(LlavaError::Record {
                path: path.into(),
                record: format!("line {}", i + 1),
                message: "no reference answer".into(),
            });
        }
        items.push(item);
    }
    check_images(path, images, items.iter().map(|i| i.image.as_str()))?;
    Ok(items)
}
