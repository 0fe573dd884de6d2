//! The closed vocabulary of the proxy world: special tokens, words, and characters for spelled strings.

/// Padding (never a target).
pub const PAD: u32 = 0;
/// Start of text.
pub const BOS: u32 = 1;
/// End of an answer or caption.
pub const EOS: u32 = 2;
/// Separates a question from its answer.
pub const SEP: u32 = 3;

const SPECIALS: [&str; 4] = ["<pad>", "<bos>", "<eos>", "<sep>"];

/// Every word the world's questions, answers and captions use.
pub const WORDS: &[&str] = &[
    "what", "colour", "shape", "is", "the", "are", "there", "how", "many", "objects", "object", "word", "written",
    "value", "of", "bar", "chart", "form", "with", "bars", "fields", "a", "and", "?", "yes", "no", "red", "green",
    "blue", "yellow", "purple", "orange", "circle", "square", "triangle", "diamond", "small", "large", "text", "id",
    "age", "room", "code", "in", "image", "picture",
];

/// Characters a spelled string may use (OCR words, digits).
pub const CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// Maps words and characters to ids and back.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    words: Vec<String>,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokenizer {
    /// The world's tokenizer.
    pub fn new() -> Self {
        let mut words: Vec<String> = SPECIALS.iter().map(|s| s.to_string()).collect();
        words.extend(WORDS.iter().map(|s| s.to_string()));
        words.extend(CHARS.chars().map(|c| format!("#{c}")));
        Self { words }
    }

    /// Number of token ids.
    pub fn vocab_size(&self) -> usize {
        self.words.len()
    }

    /// Id of a vocabulary word. Panics on a word outside the world (a bug in the world, not user input).
    pub fn word(&self, w: &str) -> u32 {
        self.words[SPECIALS.len()..SPECIALS.len() + WORDS.len()]
            .iter()
            .position(|x| x == w)
            .map(|i| (i + SPECIALS.len()) as u32)
            .unwrap_or_else(|| panic!("word `{w}` is not in the world's vocabulary"))
    }

    /// Ids of space-separated vocabulary words.
    pub fn words(&self, text: &str) -> Vec<u32> {
        text.split_whitespace().map(|w| self.word(w)).collect()
    }

    /// Id of one spelling character.
    pub fn char(&self, c: char) -> u32 {
        let i = CHARS.find(c).unwrap_or_else(|| panic!("character `{c}` cannot be spelled"));
        (SPECIALS.len() + WORDS.len() + i) as u32
    }

    /// Ids spelling a string character by character.
    pub fn spell(&self, s: &str) -> Vec<u32> {
        s.chars().map(|c| self.char(c)).collect()
    }

    /// Text of ids: words joined by spaces, spelled characters joined together; stops at EOS.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut out = String::new();
        let mut prev_char = false;
        for &id in ids {
            if id == EOS {
                break;
            }
            let Some(w) = self.words.get(id as usize) else { continue };
            let is_char = w.starts_with('#') && w.len() > 1;
            let piece = if is_char { &w[1..] } else { w.as_str() };
            let joins_previous_char = is_char && prev_char;
            if !out.is_empty() && !joins_previous_char {
                out.push(' ');
            }
            out.push_str(piece);
            prev_char = is_char;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_words_and_spelling() {
        let t = Tokenizer::new();
        let mut ids = t.words("what word is written ?");
        ids.push(SEP);
        ids.extend(t.spell("cat42"));
        ids.push(EOS);
        ids.extend(t.words("red"));
        assert_eq!(t.decode(&ids), "what word is written ? <sep> cat42");
        assert_eq!(t.vocab_size(), 4 + WORDS.len() + 36);
    }

    #[test]
    #[should_panic(expected = "not in the world's vocabulary")]
    fn unknown_word_is_a_bug() {
        Tokenizer::new().word("zebra");
    }
}
