//! `experiment.name`: it names the experiment's folders, so it must be a safe folder name that no
//! other part of Eyrie uses.

use super::bounds::{CALIBRATION_SUFFIX, MAX_NAME_LEN, RESERVED_NAMES};
use super::error::{Locator, SpecError};
use toml::Spanned;

/// Checks `experiment.name` (see [`super::bounds`]) and returns it.
pub(crate) fn check_name(loc: &Locator, name: &Spanned<String>) -> Result<String, SpecError> {
    let text = name.get_ref();
    let refuse = |message: String, hint: &str| {
        Err(loc.error(Some(name.span()), "experiment.name", message, Some(hint.to_string())))
    };
    let chars = "letters, digits, `-` and `_` only, starting with a letter or digit (it names the results folder)";
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return refuse(format!("`{text}` is not a usable experiment name"), chars);
    }
    if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return refuse(format!("`{text}` does not start with a letter or digit"), chars);
    }
    let len = text.chars().count();
    if len > MAX_NAME_LEN {
        return refuse(
            format!("the name is {len} characters long, more than {MAX_NAME_LEN}"),
            "a short name; the description can say the rest",
        );
    }
    let lower = text.to_ascii_lowercase();
    if RESERVED_NAMES.contains(&lower.as_str()) {
        return refuse(
            format!("`{text}` is reserved: Eyrie keeps its own records in a folder of that name"),
            &format!("any name but: {}", RESERVED_NAMES.join(", ")),
        );
    }
    if lower.ends_with(CALIBRATION_SUFFIX) {
        return refuse(
            format!("`{text}` ends in `{CALIBRATION_SUFFIX}`, which names the A/A calibration of another experiment"),
            "drop the suffix (`eyrie calibrate` adds it)",
        );
    }
    Ok(text.clone())
}

#[cfg(test)]
mod tests {
    use crate::spec::parse;
    use std::path::Path;

    fn named(name: &str) -> Result<String, crate::spec::SpecError> {
        parse(Path::new("n.toml"), &format!("[experiment]\nname = \"{name}\"\n")).map(|s| s.name)
    }

    #[test]
    fn long_odd_and_reserved_names_are_refused_naming_the_key() {
        for bad in [
            "",
            "a b",
            "../x",
            ".hidden",
            "-x",
            "_x",
            "artifacts",
            "Artifacts",
            "experts",
            "bench",
            "reports",
            "q-calibration",
        ] {
            let e = named(bad).expect_err(bad);
            assert_eq!((e.key.as_str(), e.line, e.column), ("experiment.name", Some(2), Some(8)), "{bad}: {e}");
        }
        let e = named(&"a".repeat(65)).expect_err("65 characters");
        assert!(e.message.contains("65 characters"), "{e}");
    }

    #[test]
    fn names_up_to_the_bound_are_accepted() {
        for good in ["a".repeat(64), "q".into(), "0-x_Y".into(), "artifacts2".into(), "calibration".into()] {
            assert_eq!(named(&good).unwrap_or_else(|e| panic!("{good}: {e}")), good);
        }
    }
}
