//! `experiment.seeds`: how many, which values, none twice.

use super::bounds::{MAX_SEED, MAX_SEEDS};
use super::error::{Locator, SpecError};
use std::collections::HashMap;
use toml::Spanned;

/// Checks the seeds as written (see [`super::bounds`]); no list means seed 0 alone.
pub(crate) fn check_seeds(loc: &Locator, seeds: Option<&Spanned<Vec<Spanned<i64>>>>) -> Result<Vec<u64>, SpecError> {
    let Some(list) = seeds else { return Ok(vec![0]) };
    let key = "experiment.seeds";
    if list.get_ref().is_empty() {
        return Err(loc.error(Some(list.span()), key, "no seeds given", Some("e.g. seeds = [0, 1, 2]".into())));
    }
    if list.get_ref().len() > MAX_SEEDS {
        return Err(loc.error(
            Some(list.span()),
            key,
            format!("{} seeds, more than {MAX_SEEDS}", list.get_ref().len()),
            Some("an A/A calibration needs about 10 seeds; split a larger study into experiments".into()),
        ));
    }
    let mut first: HashMap<i64, usize> = HashMap::new();
    let mut out = Vec::with_capacity(list.get_ref().len());
    for (i, seed) in list.get_ref().iter().enumerate() {
        let value = *seed.get_ref();
        if !(0..=MAX_SEED as i64).contains(&value) {
            return Err(loc.error(
                Some(seed.span()),
                format!("{key}[{i}]"),
                format!("seed {value} is outside 0..={MAX_SEED}"),
                None,
            ));
        }
        if let Some(j) = first.insert(value, i) {
            return Err(loc.error(
                Some(seed.span()),
                format!("{key}[{i}]"),
                format!("seed {value} is listed twice (also {key}[{j}]): it would run the same cells twice"),
                Some("list each seed once".into()),
            ));
        }
        out.push(value as u64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::spec::bounds::{MAX_SEED, MAX_SEEDS};
    use crate::spec::parse;
    use std::path::Path;

    fn seeds(list: &str) -> Result<Vec<u64>, crate::spec::SpecError> {
        parse(Path::new("s.toml"), &format!("[experiment]\nname = \"s\"\nseeds = {list}\n")).map(|s| s.seeds)
    }

    fn range(n: usize) -> String {
        format!("[{}]", (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
    }

    #[test]
    fn duplicate_seeds_are_refused_naming_the_index() {
        let e = seeds("[0, 1, 2, 1]").unwrap_err();
        assert_eq!((e.key.as_str(), e.line, e.column), ("experiment.seeds[3]", Some(3), Some(19)), "{e}");
        assert!(e.message.contains("experiment.seeds[1]"), "{e}");
        assert_eq!(seeds("[0, 1, 2, 3]").unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn seed_count_and_values_are_bounded() {
        let e = seeds(&range(MAX_SEEDS + 1)).unwrap_err();
        assert_eq!(e.key, "experiment.seeds", "{e}");
        assert_eq!(seeds(&range(MAX_SEEDS)).unwrap().len(), MAX_SEEDS);
        assert_eq!(seeds(&format!("[{MAX_SEED}]")).unwrap(), vec![MAX_SEED]);
        for bad in [format!("[{}]", MAX_SEED + 1), "[0, -1]".into()] {
            let e = seeds(&bad).unwrap_err();
            assert!(e.key.starts_with("experiment.seeds["), "{bad}: {e}");
            assert!(e.message.contains("outside"), "{bad}: {e}");
        }
        assert_eq!(seeds("[]").unwrap_err().key, "experiment.seeds");
        assert_eq!(parse(Path::new("s.toml"), "[experiment]\nname = \"s\"\n").unwrap().seeds, vec![0]);
    }
}
