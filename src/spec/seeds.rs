//! `experiment.seeds`: a list (how many, which values, none twice), or adaptive seeds `{ min, max }`.

use super::bounds::{MAX_SEED, MAX_SEEDS};
use super::error::{Locator, SpecError};
use super::raw::{RawAdaptiveSeeds, RawSeeds};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use toml::Spanned;

/// Adaptive seeds (`seeds = { min = 3, max = 10 }`): every cell runs seeds `0..min`; then the cells
/// of hypotheses still undecided get one more seed at a time, in order, until each hypothesis is
/// decided or has `max` seeds. The stopping rule is `hypotheses::sequential`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdaptiveSeeds {
    /// Seeds every cell runs (at least 2: one seed has no spread to test).
    pub min: usize,
    /// Most seeds any cell runs.
    pub max: usize,
}

/// Checks the seeds as written (see [`super::bounds`]): the seeds every cell runs first, and the
/// adaptive rule if any. No `seeds` means seed 0 alone.
pub(crate) fn check_seeds(
    loc: &Locator,
    seeds: Option<&Spanned<RawSeeds>>,
) -> Result<(Vec<u64>, Option<AdaptiveSeeds>), SpecError> {
    let Some(written) = seeds else { return Ok((vec![0], None)) };
    match written.get_ref() {
        RawSeeds::List(list) => Ok((check_list(loc, written.span(), list)?, None)),
        RawSeeds::Adaptive(range) => {
            let adaptive = check_adaptive(loc, range)?;
            Ok(((0..adaptive.min as u64).collect(), Some(adaptive)))
        }
    }
}

/// Adaptive seeds decide hypotheses: an experiment without any, or a greedy search (whose rounds
/// are judged by its own rule), cannot use them.
pub(crate) fn check_adaptive_use(
    loc: &Locator,
    span: Option<std::ops::Range<usize>>,
    greedy: bool,
    hypotheses: usize,
) -> Result<(), SpecError> {
    if greedy {
        return Err(loc.error(
            span,
            "experiment.seeds",
            "adaptive seeds are not supported with search = \"greedy\" (its rounds are judged by the search's own rule)",
            Some("list the seeds, e.g. seeds = [0, 1, 2]".into()),
        ));
    }
    if hypotheses == 0 {
        return Err(loc.error(
            span,
            "experiment.seeds",
            "adaptive seeds run more seeds until the hypotheses are decided, and this experiment states none",
            Some("add [[hypothesis]] tables, or list the seeds, e.g. seeds = [0, 1, 2]".into()),
        ));
    }
    Ok(())
}

fn check_adaptive(loc: &Locator, range: &RawAdaptiveSeeds) -> Result<AdaptiveSeeds, SpecError> {
    let (min, max) = (*range.min.get_ref(), *range.max.get_ref());
    if !(2..=MAX_SEEDS as i64).contains(&min) {
        return Err(loc.error(
            Some(range.min.span()),
            "experiment.seeds.min",
            format!("min = {min}: adaptive seeds start from 2 to {MAX_SEEDS} seeds per cell"),
            Some("one seed has no spread to test; e.g. seeds = { min = 3, max = 10 }".into()),
        ));
    }
    if !(min..=MAX_SEEDS as i64).contains(&max) {
        return Err(loc.error(
            Some(range.max.span()),
            "experiment.seeds.max",
            format!("max = {max}: must be from min ({min}) to {MAX_SEEDS}"),
            Some("e.g. seeds = { min = 3, max = 10 }".into()),
        ));
    }
    Ok(AdaptiveSeeds { min: min as usize, max: max as usize })
}

fn check_list(loc: &Locator, span: std::ops::Range<usize>, list: &[Spanned<i64>]) -> Result<Vec<u64>, SpecError> {
    let key = "experiment.seeds";
    if list.is_empty() {
        return Err(loc.error(Some(span), key, "no seeds given", Some("e.g. seeds = [0, 1, 2]".into())));
    }
    if list.len() > MAX_SEEDS {
        return Err(loc.error(
            Some(span),
            key,
            format!("{} seeds, more than {MAX_SEEDS}", list.len()),
            Some("an A/A calibration needs about 10 seeds; split a larger study into experiments".into()),
        ));
    }
    let mut first: HashMap<i64, usize> = HashMap::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, seed) in list.iter().enumerate() {
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

    fn adaptive(written: &str, hypothesis: bool) -> Result<crate::spec::Spec, crate::spec::SpecError> {
        let h = "[grid]\nunlock = [false, true]\n[[hypothesis]]\nclaim = \"u\"\ncontrast = \"pair\"\n\
                 a = { unlock = false }\nb = { unlock = true }\nmetric = \"average\"\nexpect = \"better\"\n";
        let text = format!(
            "[experiment]\nname = \"s\"\nseeds = {written}\n[base]\nencoders = [\"clip\"]\n{}",
            if hypothesis { h } else { "" }
        );
        parse(Path::new("s.toml"), &text)
    }

    #[test]
    fn adaptive_seeds_start_with_min_and_are_checked() {
        let s = adaptive("{ min = 3, max = 10 }", true).unwrap();
        assert_eq!(s.seeds, vec![0, 1, 2]);
        assert_eq!(s.adaptive, Some(crate::spec::AdaptiveSeeds { min: 3, max: 10 }));
        for (bad, key) in [
            ("{ min = 1, max = 10 }", "experiment.seeds.min"),
            ("{ min = 5, max = 4 }", "experiment.seeds.max"),
            ("{ min = 3, max = 1001 }", "experiment.seeds.max"),
        ] {
            let e = adaptive(bad, true).unwrap_err();
            assert_eq!(e.key, key, "{bad}: {e}");
            assert_eq!(e.line, Some(3), "{bad}: {e}");
        }
        let e = adaptive("{ min = 3, maximum = 10 }", true).unwrap_err();
        assert!(e.message.contains("maximum"), "{e}");
        let e = adaptive("{ min = 3, max = 10 }", false).unwrap_err();
        assert!(e.message.contains("states none"), "{e}");
        assert_eq!(adaptive("{ min = 3, max = 3 }", true).unwrap().adaptive.unwrap().max, 3);
        assert!(adaptive("\"many\"", true).unwrap_err().message.contains("adaptive seeds"));
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
