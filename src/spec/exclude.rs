//! `[[exclude]]`: at most [`MAX_RULES`] rules, and none that removes nothing (a rule that matches
//! no cell is a typo or a leftover, and hides which cells really run).

use super::axes::named_axes;
use super::bounds::MAX_RULES;
use super::error::{Locator, SpecError};
use super::raw::RawCell;

/// Refuses more than [`MAX_RULES`] exclude rules.
pub(crate) fn check_count(loc: &Locator, rules: &[RawCell]) -> Result<(), SpecError> {
    if rules.len() <= MAX_RULES {
        return Ok(());
    }
    let span = named_axes(&rules[MAX_RULES]).first().map(|(_, s)| s.clone());
    Err(loc.error(
        span,
        format!("exclude[{MAX_RULES}]"),
        format!("{} [[exclude]] rules, more than {MAX_RULES}", rules.len()),
        Some("list fewer values in [grid] instead".into()),
    ))
}

/// Refuses the first rule that matched no cell of the grid (`matched[i]`: whether rule `i` matched
/// some cell before exclusion).
pub(crate) fn check_all_used(loc: &Locator, rules: &[RawCell], matched: &[bool]) -> Result<(), SpecError> {
    let Some(i) = matched.iter().position(|m| !m) else { return Ok(()) };
    let named = named_axes(&rules[i]);
    let (message, hint) = if named.is_empty() {
        ("the rule names no axis, so it removes no cell".to_string(), "name the values of the cells to drop")
    } else {
        let keys: Vec<&str> = named.iter().map(|(a, _)| a.key()).collect();
        (
            format!("the rule ({}) matches no cell of the grid", keys.join(", ")),
            "check its values against [grid] and [base], or remove it",
        )
    };
    Err(loc.error(named.first().map(|(_, s)| s.clone()), format!("exclude[{i}]"), message, Some(hint.into())))
}

#[cfg(test)]
mod tests {
    use crate::spec::parse;
    use std::path::Path;

    const GRID: &str = "[experiment]\nname = \"x\"\n[grid]\nencoders = [[\"clip\"], [\"clip\", \"sam\"]]\n\
                        unlock = [false, true]\n";

    #[test]
    fn a_rule_that_matches_no_cell_is_refused_with_its_index_and_line() {
        let text =
            format!("{GRID}[[exclude]]\nunlock = true\nencoders = [\"clip\"]\n[[exclude]]\nencoders = [\"sam\"]\n");
        let e = parse(Path::new("x.toml"), &text).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("exclude[1]", Some(10)), "{e}");
        assert!(e.message.contains("matches no cell"), "{e}");
        let e = parse(Path::new("x.toml"), &format!("{GRID}[[exclude]]\n")).unwrap_err();
        assert_eq!(e.key, "exclude[0]", "{e}");
        assert!(e.message.contains("names no axis"), "{e}");
    }

    #[test]
    fn rules_that_match_the_same_cell_are_both_used() {
        let text = format!("{GRID}[[exclude]]\nunlock = true\n[[exclude]]\nunlock = true\nencoders = [\"clip\"]\n");
        assert_eq!(parse(Path::new("x.toml"), &text).unwrap().cells.len(), 2);
    }

    #[test]
    fn more_than_the_bound_of_rules_is_refused() {
        let rule = "[[exclude]]\nunlock = true\n";
        let e = parse(Path::new("x.toml"), &format!("{GRID}{}", rule.repeat(101))).unwrap_err();
        assert_eq!(e.key, "exclude[100]", "{e}");
        assert!(parse(Path::new("x.toml"), &format!("{GRID}{}", rule.repeat(100))).is_ok());
    }
}
