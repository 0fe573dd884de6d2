//! LLaVA's training conversations: read, checked, and cut into segments with the loss on the
//! answers only.

use super::{check_images, LlavaError};
use serde::Deserialize;
use std::path::Path;

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Role {
    /// The user (`human`).
    #[serde(rename = "human")]
    Human,
    /// The assistant (`gpt`), whose words are trained.
    #[serde(rename = "gpt")]
    Gpt,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Speaker.
    pub from: Role,
    /// What was said (`<image>` marks the image in the first human turn).
    pub value: String,
}

/// One record of LLaVA's training JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Conversation {
    /// The record's id.
    #[serde(default, deserialize_with = "id_as_string")]
    pub id: String,
    /// The image, relative to the image folder (text-only records have none).
    #[serde(default)]
    pub image: Option<String>,
    /// Alternating turns, human first.
    pub conversations: Vec<Turn>,
}

fn id_as_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// The marker LLaVA puts where the image goes.
pub const IMAGE_TOKEN: &str = "<image>";

/// A piece of a conversation's text, trained or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// The image's tokens go here.
    Image,
    /// A prompt's text (no loss).
    Prompt(String),
    /// An answer's text (the loss is on these tokens).
    Answer(String),
}

impl Conversation {
    /// What is wrong with the record, if anything: turns must alternate human, gpt, …, end on an
    /// answer, and `<image>` must appear once, in the first turn, exactly when there is an image.
    pub fn problem(&self) -> Option<String> {
        if self.conversations.is_empty() {
            return Some("no turns".into());
        }
        for (i, t) in self.conversations.iter().enumerate() {
            let want = if i % 2 == 0 { Role::Human } else { Role::Gpt };
            if t.from != want {
                return Some(format!("turn {i} is from {:?}; turns alternate human, gpt, starting with human", t.from));
            }
        }
        if !self.conversations.len().is_multiple_of(2) {
            return Some("the last turn is a question with no answer".into());
        }
        let marks: Vec<usize> = self
            .conversations
            .iter()
            .enumerate()
            .flat_map(|(i, t)| std::iter::repeat_n(i, t.value.matches(IMAGE_TOKEN).count()))
            .collect();
        match (&self.image, marks.as_slice()) {
            (Some(_), [0]) | (None, []) => None,
            (Some(_), []) => Some("it names an image but no turn has <image>".into()),
            (None, _) => Some("a turn has <image> but the record names no image".into()),
            (Some(_), _) => Some(format!("<image> must appear once, in the first turn (found in turns {marks:?})")),
        }
    }

    /// The conversation as segments: prompts (no loss) and answers (loss), the image where `<image>` was.
    pub fn segments(&self) -> Vec<Segment> {
        let mut out = Vec::new();
        for t in &self.conversations {
            match t.from {
                Role::Gpt => out.push(Segment::Answer(t.value.trim().to_string())),
                Role::Human => {
                    let mut parts = t.value.split(IMAGE_TOKEN).map(str::trim).peekable();
                    while let Some(p) = parts.next() {
                        if !p.is_empty() {
                            out.push(Segment::Prompt(p.to_string()));
                        }
                        if parts.peek().is_some() {
                            out.push(Segment::Image);
                        }
                    }
                }
            }
        }
        out
    }
}

/// Reads LLaVA's training JSON and checks every record and that its images exist under `images`.
pub fn read_conversations(path: &Path, images: &Path) -> Result<Vec<Conversation>, LlavaError> {
    let text = std::fs::read_to_string(path).map_err(|source| LlavaError::Read { path: path.into(), source })?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let records: Vec<Conversation> = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| LlavaError::Parse { path: path.into(), message: format!("at `{}`: {}", e.path(), e.inner()) })?;
    for (i, r) in records.iter().enumerate() {
        if let Some(message) = r.problem() {
            return Err(LlavaError::Record {
                path: path.into(),
                record: format!("record {i} (id {:?})", r.id),
                message,
            });
        }
    }
    check_images(path, images, records.iter().filter_map(|r| r.image.as_deref()))?;
    Ok(records)
}
