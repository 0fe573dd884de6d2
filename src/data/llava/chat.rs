//! A checkpoint LM's chat format: its `tokenizer.json` (read by the `tokenizers` crate) and the Jinja
//! chat template of its `tokenizer_config.json` (rendered by `minijinja`), turning LLaVA conversations
//! into token ids with the loss on the answers only and the image's place marked.
//!
//! A folder without a `chat_template` gets LLaVA-1.5's `vicuna_v1` conversation (Liu et al. 2023,
//! "Improved Baselines with Visual Instruction Tuning"), written as a template.

use super::conversations::{Conversation, Role, IMAGE_TOKEN};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// LLaVA-1.5's `vicuna_v1` conversation as a Hugging Face chat template: the system sentence, then
/// `USER: … ASSISTANT: …</s>` turns.
pub const VICUNA_V1_TEMPLATE: &str = "{{ bos_token }}A chat between a curious human and an artificial intelligence assistant. \
The assistant gives helpful, detailed, and polite answers to the human's questions. \
{% for m in messages %}{% if m['role'] == 'user' %}USER: {{ m['content'] }} {% else %}ASSISTANT: {{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}\
{% if add_generation_prompt %}ASSISTANT:{% endif %}";

/// Errors of reading or applying a chat format; each names the folder.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// A file could not be read or parsed.
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The template failed to render or behaves in a way the loss mask cannot follow.
    #[error("{}: chat template: {message}", dir.display())]
    Template {
        /// The checkpoint folder.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Tokenizing failed.
    #[error("{}: tokenizer: {message}", dir.display())]
    Tokenize {
        /// The checkpoint folder.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A token's byte range in the text it came from.
type ByteSpan = (usize, usize);

/// One message as chat templates see it.
#[derive(Debug, Clone, Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

/// A conversation (or a prompt) as token ids, split where the image's tokens go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokenized {
    /// Tokens before the image (all tokens of a text-only record are in `after`).
    pub before: Vec<u32>,
    /// Tokens after the image.
    pub after: Vec<u32>,
    /// Whether each token of `after` belongs to an answer (the loss is on these).
    pub answer: Vec<bool>,
    /// Whether the record has an image.
    pub image: bool,
}

/// A checkpoint LM's tokenizer and chat template.
pub struct ChatFormat {
    dir: PathBuf,
    tokenizer: tokenizers::Tokenizer,
    env: minijinja::Environment<'static>,
    bos: String,
    eos: String,
    /// Id of the end-of-sequence token (decoding stops there).
    pub eos_id: u32,
}

/// A special token as `tokenizer_config.json` writes it: a string, or an object with `content`.
fn token_text(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content").and_then(|c| c.as_str()).map(String::from),
        _ => None,
    }
}

impl ChatFormat {
    /// Reads `tokenizer.json` and (when present) `tokenizer_config.json` of the folder `dir`.
    pub fn open(dir: &Path) -> Result<Self, ChatError> {
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| ChatError::File { path: tok_path.clone(), message: e.to_string() })?;
        let cfg_path = dir.join("tokenizer_config.json");
        let cfg: serde_json::Value = match std::fs::read_to_string(&cfg_path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| ChatError::File { path: cfg_path.clone(), message: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Value::Null,
            Err(e) => return Err(ChatError::File { path: cfg_path, message: e.to_string() }),
        };
        let bos = token_text(cfg.get("bos_token")).unwrap_or_else(|| "<s>".into());
        let eos = token_text(cfg.get("eos_token")).unwrap_or_else(|| "</s>".into());
        let eos_id = tokenizer.token_to_id(&eos).ok_or_else(|| ChatError::Tokenize {
            dir: dir.into(),
            message: format!("the end-of-sequence token {eos:?} is not in the vocabulary"),
        })?;
        let template = match cfg.get("chat_template") {
            Some(serde_json::Value::String(t)) => t.clone(),
            Some(serde_json::Value::Array(named)) => named
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                .and_then(|t| t.get("template")?.as_str().map(String::from))
                .ok_or_else(|| ChatError::File {
                    path: cfg_path.clone(),
                    message: "chat_template is a list without a `default` entry".into(),
                })?,
            _ => VICUNA_V1_TEMPLATE.into(),
        };
        let mut env = minijinja::Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
        });
        env.add_template_owned("chat", template)
            .map_err(|e| ChatError::Template { dir: dir.into(), message: e.to_string() })?;
        Ok(Self { dir: dir.into(), tokenizer, env, bos, eos, eos_id })
    }

    /// Vocabulary size, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, ChatError> {
        let tmpl = self.env.get_template("chat").expect("added at open");
        tmpl.render(minijinja::context! {
            messages => messages,
            bos_token => &self.bos,
            eos_token => &self.eos,
            add_generation_prompt => add_generation_prompt,
        })
        .map_err(|e| ChatError::Template { dir: self.dir.clone(), message: e.to_string() })
    }

    /// Token ids and byte offsets of `text` (no special tokens added: the template writes them).
    fn encode(&self, text: &str) -> Result<(Vec<u32>, Vec<ByteSpan>), ChatError> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ChatError::Tokenize { dir: self.dir.clone(), message: e.to_string() })?;
        Ok((enc.get_ids().to_vec(), enc.get_offsets().to_vec()))
    }

    /// Splits rendered `text` at its image marker (if `image`) and tokenizes it, marking the tokens
    /// that start inside one of `answers` (byte ranges of `text`).
    fn split(&self, text: &str, image: bool, answers: &[std::ops::Range<usize>]) -> Result<Tokenized, ChatError> {
        let (before_text, after_start) = match (image, text.find(IMAGE_TOKEN)) {
            (true, Some(at)) => (&text[..at], at + IMAGE_TOKEN.len()),
            (true, None) => {
                return Err(ChatError::Template {
                    dir: self.dir.clone(),
                    message: format!("the rendered conversation lost its {IMAGE_TOKEN} marker"),
                })
            }
            (false, _) => ("", 0),
        };
        if answers.iter().any(|a| a.start < after_start) {
            return Err(ChatError::Template {
                dir: self.dir.clone(),
                message: format!("an answer comes before the {IMAGE_TOKEN} marker"),
            });
        }
        let (before, _) = self.encode(before_text)?;
        let (after, offsets) = self.encode(&text[after_start..])?;
        let answer = offsets.iter().map(|(s, _)| answers.iter().any(|a| a.contains(&(s + after_start)))).collect();
        Ok(Tokenized { before, after, answer, image })
    }

    /// A training conversation as tokens: the whole rendered chat, the answers (each assistant turn's
    /// text through its end-of-turn tokens) marked for the loss.
    pub fn conversation(&self, conv: &Conversation) -> Result<Tokenized, ChatError> {
        // The image goes first in its turn, on its own line, as LLaVA's preprocessing puts it (and as
        // evaluation prompts ask).
        let contents: Vec<String> = conv
            .conversations
            .iter()
            .map(|t| match t.value.contains(IMAGE_TOKEN) {
                true => format!("{IMAGE_TOKEN}\n{}", t.value.replace(IMAGE_TOKEN, "").trim()),
                false => t.value.clone(),
            })
            .collect();
        let messages: Vec<Message> = conv
            .conversations
            .iter()
            .zip(&contents)
            .map(|(t, content)| Message {
                role: match t.from {
                    Role::Human => "user",
                    Role::Gpt => "assistant",
                },
                content: content.as_str(),
            })
            .collect();
        let full = self.render(&messages, false)?;
        let mut answers = Vec::new();
        for (k, t) in conv.conversations.iter().enumerate() {
            if t.from != Role::Gpt {
                continue;
            }
            let prompt = self.render(&messages[..k], true)?;
            let through = self.render(&messages[..=k], false)?;
            if !through.starts_with(&prompt) || !full.starts_with(&through) {
                return Err(ChatError::Template {
                    dir: self.dir.clone(),
                    message: format!(
                        "rendering is not prefix-stable at turn {k} (a conversation's first turns must \
                         render as the start of the whole), so answers cannot be told from prompts"
                    ),
                });
            }
            answers.push(prompt.len()..through.len());
        }
        self.split(&full, conv.image.is_some(), &answers)
    }

    /// An evaluation prompt: one user turn (`<image>` then the question) and the generation prompt.
    pub fn prompt(&self, question: &str) -> Result<Tokenized, ChatError> {
        let content = format!("{IMAGE_TOKEN}\n{question}");
        let text = self.render(&[Message { role: "user", content: &content }], true)?;
        self.split(&text, true, &[])
    }

    /// Text of generated ids (special tokens dropped).
    pub fn decode(&self, ids: &[u32]) -> Result<String, ChatError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| ChatError::Tokenize { dir: self.dir.clone(), message: e.to_string() })
    }
}
