//! Spec errors that point at the file, line, column and key path, with a hint.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// A bad experiment file: where, which key, what is wrong, and what would be right.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct SpecError {
    /// The experiment file.
    pub file: PathBuf,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// 1-based column, where known.
    pub column: Option<usize>,
    /// Dotted key path, e.g. `grid.encoders[1][0]`.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What would be right (the known names, the allowed values).
    pub hint: Option<String>,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)?;
        } else {
            write!(f, ": key `{}`: {}", self.key, self.message)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Builds [`SpecError`]s for one file, turning byte spans into line and column.
#[derive(Debug, Clone)]
pub struct Locator<'a> {
    /// The experiment file's path.
    pub file: PathBuf,
    /// Its text.
    pub text: &'a str,
}

impl<'a> Locator<'a> {
    /// 1-based (line, column) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..super::syntax::floor_boundary(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map(|s| s.chars().count()).unwrap_or(0) + 1;
        (line, col)
    }

    /// An error at `span` (if known) on `key`.
    pub fn error(
        &self,
        span: Option<Range<usize>>,
        key: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> SpecError {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = self.line_col(s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        SpecError { file: self.file.clone(), line, column, key: key.into(), message: message.into(), hint }
    }
}
