//! A greedy search builds its cells as it goes: every set it could reach gets the checks a grid cell
//! gets, before round 0, so that no round fails on a set the file never allowed.

use super::axes::At;
use super::cell::CellSettings;
use super::check::{check_cell_all, Origins};
use super::error::{Locator, SpecError};
use super::experts::ExpertSources;
use super::greedy::{GreedySpec, RawGreedy};
use super::Axis;

/// Checks the start cell's settings with every set `greedy` could reach; `at` says where the start
/// cell's settings were written (its encoder set is replaced by `greedy.candidates`).
pub(crate) fn check_reachable(
    loc: &Locator,
    start: &CellSettings,
    greedy: &GreedySpec,
    raw: &RawGreedy,
    at: &Origins,
    sources: &ExpertSources,
) -> Result<(), SpecError> {
    for set in greedy.reachable_sets() {
        let cell = CellSettings { encoders: set.clone(), ..start.clone() };
        let encoders = At { value: set, key: "greedy.candidates".into(), span: Some(raw.candidates.span()) };
        let origins = Origins { encoders: &encoders, ..*at };
        check_cell_all(loc, sources, &cell, &origins).map_err(|mut e| {
            e.message =
                format!("in the set [{}] the greedy search can reach: {}", Axis::Encoders.value_of(&cell), e.message);
            e
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::spec::{parse, ExpertKind};
    use std::path::Path;

    const GREEDY: &str = "[experiment]\nname = \"g\"\nsearch = \"greedy\"\n[base]\nresolution = 72\n[greedy]\n\
                          start = [\"clip\"]\ncandidates = [\"convnext\", \"sam\"]\n";

    #[test]
    fn a_set_a_round_could_build_is_checked_before_round_0() {
        // clip takes 72 pixels (stride 8), neither candidate does (stride 16): the start set alone passes.
        let e = parse(Path::new("g.toml"), GREEDY).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("base.resolution", Some(5)), "{e}");
        assert!(e.message.contains("[clip+convnext]") && e.message.contains("not divisible"), "{e}");
        assert!(parse(Path::new("g.toml"), &GREEDY.replace("72", "80")).is_ok());
    }

    #[test]
    fn an_auto_grid_too_large_for_a_candidate_is_refused() {
        // sam and convnext give 64x64 maps at 1024 pixels, clip (stride 8) 128x128.
        let text = "[experiment]\nname = \"g\"\nsearch = \"greedy\"\n[base]\nresolution = 1024\ngrid = \"auto\"\n\
                    [greedy]\nstart = [\"sam\"]\ncandidates = [\"convnext\", \"clip\"]\n";
        let e = parse(Path::new("g.toml"), text).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("base.grid", Some(6)), "{e}");
        assert!(e.message.contains("[sam+clip]") && e.message.contains("128x128"), "{e}");
        let ok = parse(Path::new("g.toml"), &text.replace("1024", "512")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.greedy.unwrap().reachable_sets().len(), 4);
    }

    #[test]
    fn reachable_sets_are_the_start_and_every_subset_within_max_rounds() {
        let text = GREEDY.replace("72", "128").replace(
            "candidates = [\"convnext\", \"sam\"]",
            "candidates = [\"convnext\", \"sam\", \"eva02\"]\nmax-rounds = 2",
        );
        let g = parse(Path::new("g.toml"), &text).unwrap().greedy.unwrap();
        let sets = g.reachable_sets();
        assert_eq!(sets.len(), 1 + 3 + 3);
        assert_eq!(sets[0], vec![ExpertKind::Clip]);
        assert!(sets.iter().all(|s| s[0] == ExpertKind::Clip && s.len() <= 3));
    }
}
