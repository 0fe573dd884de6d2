//! Values listed twice: a grid value (`unlock = [true, true]`, the same encoder set twice) or two
//! grid cells that come out the same would run the same model twice and count it as two cells.

use super::axes::{At, Axis};
use super::cell::CellSettings;
use super::error::{Locator, SpecError};
use std::collections::HashMap;
use std::fmt::Debug;

/// The indices `(first, again)` of the first value of `items` that equals an earlier one, compared
/// by their `Debug` text (linear time; every value type's `Debug` tells equal values from unequal).
pub(crate) fn first_repeat<T: Debug>(items: impl IntoIterator<Item = T>) -> Option<(usize, usize)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.into_iter().enumerate() {
        if let Some(j) = seen.insert(format!("{item:?}"), i) {
            return Some((j, i));
        }
    }
    None
}

/// Refuses a `[grid]` list (`values`, read from `grid.<key>`) with a value listed twice.
pub(crate) fn check_axis<T: Debug>(loc: &Locator, key: &str, values: &[At<T>]) -> Result<(), SpecError> {
    match first_repeat(values.iter().map(|a| &a.value)) {
        None => Ok(()),
        Some((first, again)) => Err(loc.error(
            values[again].span.clone(),
            &values[again].key,
            format!("the same value as {}: the grid would run those cells twice", values[first].key),
            Some(format!("list each value of grid.{key} once")),
        )),
    }
}

/// Refuses two expanded cells with the same settings (e.g. `unlock = [true, { clip = true }]` over
/// a set of clip alone), naming the grid values that coincide; `indices[i]` is cell `i`'s value
/// index per axis, in `Axis::ALL` order.
pub(crate) fn check_cells(loc: &Locator, cells: &[CellSettings], indices: &[Vec<usize>]) -> Result<(), SpecError> {
    let Some((first, again)) = first_repeat(cells) else { return Ok(()) };
    let differ: Vec<(Axis, usize, usize)> = Axis::ALL
        .iter()
        .map(|&a| (a, indices[first][a as usize], indices[again][a as usize]))
        .filter(|(_, i, j)| i != j)
        .collect();
    let key = differ.first().map(|(a, _, j)| format!("grid.{}[{j}]", a.key())).unwrap_or_else(|| "grid".into());
    let values: Vec<String> =
        differ.iter().map(|(a, i, j)| format!("grid.{k}[{i}] and grid.{k}[{j}]", k = a.key())).collect();
    Err(loc.error(
        None,
        key,
        format!(
            "two cells have the same settings ({}): {} give the same model",
            cells[first].label(),
            values.join(", ")
        ),
        Some("list values that differ, or exclude one of the cells with [[exclude]]".into()),
    ))
}

#[cfg(test)]
mod tests {
    use super::first_repeat;
    use crate::spec::parse;
    use std::path::Path;

    fn grid(lines: &str) -> Result<usize, crate::spec::SpecError> {
        let text =
            format!("[experiment]\nname = \"d\"\n[base]\nencoders = [\"clip\", \"convnext\"]\n[grid]\n{lines}\n");
        parse(Path::new("d.toml"), &text).map(|s| s.cells.len())
    }

    #[test]
    fn first_repeat_finds_the_second_occurrence() {
        assert_eq!(first_repeat([3, 1, 4, 1, 5]), Some((1, 3)));
        assert_eq!(first_repeat([0.1, 0.2]), None);
        assert_eq!(first_repeat(Vec::<u8>::new()), None);
    }

    #[test]
    fn a_grid_value_listed_twice_is_refused_naming_its_index() {
        let cases = [
            ("unlock = [true, false, true]", "grid.unlock[2]", "grid.unlock[0]"),
            ("encoders = [[\"clip\"], [\"sam\"], [\"clip\"]]", "grid.encoders[2]", "grid.encoders[0]"),
            ("families = [[\"vqa\"], [\"vqa\"]]", "grid.families[1]", "grid.families[0]"),
            ("resolution = [128, \"native\", 128]", "grid.resolution[2]", "grid.resolution[0]"),
            ("lr = [0.001, 1e-3]", "grid.lr[1]", "grid.lr[0]"),
        ];
        for (line, key, first) in cases {
            let e = grid(line).expect_err(line);
            assert_eq!(e.key, key, "{line}: {e}");
            assert!(e.message.contains(first), "{line}: {e}");
            assert_eq!(e.line, Some(6), "{line}: {e}");
        }
        assert_eq!(grid("unlock = [true, false]\nencoders = [[\"clip\"], [\"clip\", \"sam\"]]").unwrap(), 4);
        assert_eq!(grid("lr = [0.001, 0.0011]").unwrap(), 2);
    }

    #[test]
    fn a_family_or_expert_listed_twice_in_one_value_is_refused_naming_its_index() {
        let e = grid("families = [[\"vqa\", \"pope\", \"vqa\"]]").unwrap_err();
        assert_eq!(e.key, "grid.families[0][2]", "{e}");
        assert!(e.message.contains("`vqa` is listed twice (also at [0])"), "{e}");
        let e = grid("encoders = [[\"clip\", \"sam\", \"clip\"]]").unwrap_err();
        assert_eq!(e.key, "grid.encoders[0][2]", "{e}");
        assert_eq!(grid("families = [[\"vqa\", \"pope\"]]").unwrap(), 1);
    }

    #[test]
    fn sft_steps_are_bounded() {
        let e = grid("sft-steps = [10, 10000001]").unwrap_err();
        assert_eq!(e.key, "grid.sft-steps[1]", "{e}");
        assert!(e.message.contains("from 1 to 10000000"), "{e}");
        assert_eq!(grid("sft-steps = [1, 10000000]").unwrap(), 2);
    }

    #[test]
    fn two_cells_with_the_same_settings_are_refused_naming_the_axis() {
        let e = grid("encoders = [[\"clip\"]]\nunlock = [true, { clip = true }]").unwrap_err();
        assert_eq!(e.key, "grid.unlock[1]", "{e}");
        assert!(e.message.contains("clip/channel-concat/unlocked"), "{e}");
        assert!(e.message.contains("grid.unlock[0] and grid.unlock[1]"), "{e}");
        assert_eq!(grid("encoders = [[\"clip\", \"sam\"]]\nunlock = [true, { clip = true }]").unwrap(), 2);
    }
}
