//! How much an experiment may ask for at once: cells in its grid, cells × seeds in its plan, and
//! hypotheses (bounds in [`super::bounds`]).

use super::bounds::{MAX_GRID_CELLS, MAX_PLANNED_CELLS, MAX_RULES};
use super::error::{Locator, SpecError};
use super::Axis;
use std::ops::Range;

/// Refuses a `[grid]` whose lists (`dims` values per axis, in `Axis::ALL` order) multiply to more
/// than [`MAX_GRID_CELLS`] cells, before any cell is built.
pub(crate) fn check_grid(loc: &Locator, dims: &[usize], varied: &[Axis]) -> Result<(), SpecError> {
    let cells = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if cells.is_some_and(|n| n <= MAX_GRID_CELLS) {
        return Ok(());
    }
    let sizes: Vec<String> = varied.iter().map(|a| format!("{} {}", dims[*a as usize], a.key())).collect();
    Err(loc.error(
        None,
        "grid",
        format!(
            "the grid has {} cells ({}), more than {MAX_GRID_CELLS}",
            cells.map_or("too many".to_string(), |n| n.to_string()),
            sizes.join(" × ")
        ),
        Some("split the study into experiments, or vary fewer axes at once".into()),
    ))
}

/// Refuses a plan of more than [`MAX_PLANNED_CELLS`] cells × seeds (`seeds_span`: where the seeds
/// were written).
pub(crate) fn check_planned(
    loc: &Locator,
    cells: usize,
    seeds: usize,
    seeds_span: Option<Range<usize>>,
) -> Result<(), SpecError> {
    if cells.saturating_mul(seeds) <= MAX_PLANNED_CELLS {
        return Ok(());
    }
    Err(loc.error(
        seeds_span,
        "experiment.seeds",
        format!("{cells} cells × {seeds} seeds = {} runs, more than {MAX_PLANNED_CELLS}", cells.saturating_mul(seeds)),
        Some("fewer seeds or fewer cells".into()),
    ))
}

/// Refuses more than [`MAX_RULES`] hypotheses.
pub(crate) fn check_rules(loc: &Locator, hypotheses: usize) -> Result<(), SpecError> {
    if hypotheses <= MAX_RULES {
        return Ok(());
    }
    Err(loc.error(
        None,
        format!("hypothesis[{MAX_RULES}]"),
        format!("{hypotheses} [[hypothesis]] tables, more than {MAX_RULES}"),
        Some("test the main claims; a hundred tests share one Holm correction".into()),
    ))
}

#[cfg(test)]
mod tests {
    use crate::spec::parse;
    use std::path::Path;

    fn list(n: usize, step: usize) -> String {
        format!("[{}]", (0..n).map(|i| (i * step + step).to_string()).collect::<Vec<_>>().join(", "))
    }

    #[test]
    fn a_grid_beyond_the_bound_is_refused_before_expansion() {
        // 1000 × 1000 sft-steps × lr values: a million cells.
        let lrs = format!("[{}]", (1..=101).map(|i| format!("{}e-5", i)).collect::<Vec<_>>().join(", "));
        let text = format!("[experiment]\nname = \"z\"\n[grid]\nsft-steps = {}\nlr = {lrs}\n", list(1000, 1));
        let e = parse(Path::new("z.toml"), &text).unwrap_err();
        assert_eq!(e.key, "grid", "{e}");
        assert!(e.message.contains("101000 cells (1000 sft-steps × 101 lr)"), "{e}");
        let ok = format!("[experiment]\nname = \"z\"\n[grid]\nsft-steps = {}\nlr = {lrs}\n", list(990, 1));
        assert_eq!(parse(Path::new("z.toml"), &ok).unwrap().cells.len(), 99_990);
    }

    #[test]
    fn cells_times_seeds_beyond_the_bound_is_refused() {
        let text =
            |n| format!("[experiment]\nname = \"z\"\nseeds = {}\n[grid]\nsft-steps = {}\n", list(1000, 1), list(n, 1));
        let e = parse(Path::new("z.toml"), &text(101)).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("experiment.seeds", Some(3)), "{e}");
        assert_eq!(parse(Path::new("z.toml"), &text(100)).unwrap().cells.len(), 100);
    }

    #[test]
    fn more_hypotheses_than_the_bound_are_refused() {
        let h = "[[hypothesis]]\nclaim = \"c\"\ncontrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\n\
                 expect = \"better\"\n";
        let text = |n: usize| format!("[experiment]\nname = \"z\"\n[grid]\nunlock = [false, true]\n{}", h.repeat(n));
        assert_eq!(parse(Path::new("z.toml"), &text(101)).unwrap_err().key, "hypothesis[100]");
        assert_eq!(parse(Path::new("z.toml"), &text(100)).unwrap().hypotheses.len(), 100);
    }
}
