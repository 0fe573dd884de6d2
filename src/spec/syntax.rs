//! TOML syntax errors: the parser's message, with the key it points at when the message does not
//! say it (toml reports "duplicate key" with a span, not the key).

use super::error::{Locator, SpecError};
use std::ops::Range;

/// The spec error for a TOML syntax error with `message` at `span`.
pub(crate) fn syntax_error(loc: &Locator, span: Option<Range<usize>>, message: &str) -> SpecError {
    let message = message.trim();
    let Some(span) = span.clone().filter(|_| message.contains("duplicate")) else {
        return loc.error(span, "", message.to_string(), None);
    };
    let Some((key, is_table)) = key_at(loc.text, &span) else {
        return loc.error(Some(span), "", message.to_string(), None);
    };
    let (message, hint) = if is_table {
        (format!("table `[{key}]` is defined twice"), "merge the two tables into one")
    } else {
        let own = key.rsplit('.').next().unwrap_or(&key);
        (format!("duplicate key `{own}`"), "give each key once per table")
    };
    loc.error(Some(span), key, message, Some(hint.into()))
}

/// The dotted key at `span` (prefixed by its table, and by the key of the inline table it is in),
/// and whether the span is a table header.
fn key_at(text: &str, span: &Range<usize>) -> Option<(String, bool)> {
    let start = floor_boundary(text, span.start);
    let end = floor_boundary(text, span.end.max(span.start)).max(start);
    let own = text[start..end].trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if own.is_empty() {
        return None;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..start];
    if before.trim_start().starts_with('[') {
        return Some((own.to_string(), true));
    }
    let mut path = Vec::new();
    if let Some(table) = text[..line_start].lines().rev().find_map(header) {
        path.push(table);
    }
    if before.contains('{') {
        if let Some((outer, _)) = before.split_once('=') {
            path.push(outer.trim().to_string());
        }
    }
    path.push(own.to_string());
    Some((path.join("."), false))
}

/// The table a `[table]` or `[[array]]` header line opens.
fn header(line: &str) -> Option<String> {
    let line = line.trim();
    let inner = line.strip_prefix("[[").and_then(|l| l.split("]]").next());
    let inner = inner.or_else(|| line.strip_prefix('[').and_then(|l| l.split(']').next()))?;
    Some(inner.trim().to_string())
}

/// The largest char boundary of `text` at or before `offset`.
pub(crate) fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

#[cfg(test)]
mod tests {
    use crate::spec::parse;
    use std::path::Path;

    fn err(text: &str) -> crate::spec::SpecError {
        parse(Path::new("s.toml"), text).unwrap_err()
    }

    #[test]
    fn a_duplicate_key_is_named_with_its_table_and_position() {
        let e = err("[experiment]\nname = \"t\"\n[base]\nfusion = \"channel-concat\"\nfusion = \"sequence-append\"\n");
        assert_eq!((e.key.as_str(), e.line, e.column), ("base.fusion", Some(5), Some(1)), "{e}");
        assert!(e.to_string().contains("duplicate key `fusion`"), "{e}");
        let e = err("[experiment]\nname = \"t\"\nname = \"u\"\n");
        assert_eq!(e.key, "experiment.name", "{e}");
        let e = err("[experiment]\nname = \"t\"\n[base]\nunlock = { clip = true, clip = false }\n");
        assert_eq!(e.key, "base.unlock.clip", "{e}");
    }

    #[test]
    fn a_table_given_twice_is_named() {
        let e = err("[experiment]\nname = \"t\"\n[experiment]\nscale = \"smoke\"\n");
        assert_eq!((e.key.as_str(), e.line), ("experiment", Some(3)), "{e}");
        assert!(e.message.contains("`[experiment]` is defined twice"), "{e}");
    }

    #[test]
    fn other_syntax_errors_keep_the_parser_message() {
        let e = err("[experiment]\nname = \"t\"\nseeds = [0, 1,\n");
        assert_eq!((e.key.as_str(), e.line), ("", Some(3)), "{e}");
        assert!(e.message.contains("expected"), "{e}");
    }
}
