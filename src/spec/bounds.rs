//! The upper bounds every experiment file is held to, in one table, so that a typo (`sft-steps =
//! 1000000000000`, ten thousand seeds, a grid of a million cells) is refused before anything runs
//! instead of planning for years, hanging the planner or failing deep inside a run.
//!
//! | key | bound | why |
//! |---|---|---|
//! | `experiment.name` | 1–[`MAX_NAME_LEN`] characters: letters, digits, `-`, `_`, starting with a letter or digit; not one of [`RESERVED_NAMES`] nor ending in [`CALIBRATION_SUFFIX`] (any case) | it names `results/<name>/` and `reports/<name>/`, beside the stage cache `results/artifacts/`, the `experts` records, `reports/bench/` and `<results>/reports/` (reports of a run with `--results DIR`); `eyrie calibrate` appends `-calibration` |
//! | `experiment.seeds` | 1–[`MAX_SEEDS`] seeds, distinct, each 0–[`MAX_SEED`] | a seed listed twice is the same run twice; the A/A calibration needs about 10; seeds up to 2³²−1 stay exact in result tables (f64) and leave room for derived seeds (`seed + 1`) |
//! | `sft-steps` (the only `*-steps` key) | 1–[`MAX_STEPS`] | ten thousand times the largest preset (1,500 at `gpu` scale); about a month of one proxy cell on 2 cores |
//! | `resolution` | 16–[`MAX_RESOLUTION`] pixels, a multiple of every expert's stride | Eagle (arXiv 2408.15998) feeds its high-resolution experts 1024 px; the proxy experts' native sides are 32–128 |
//! | `grid` | 1–[`MAX_GRID_SIDE`] tokens a side; `"auto"` only where the largest expert map is at most that | the LM's visual tokens per expert are the side squared (4,096 at most) |
//! | `lr` | (0, 1) | a learning rate |
//! | `vision-lr-scale` | (0, 10] | a multiplier of `lr` |
//! | `[grid]` | at most [`MAX_GRID_CELLS`] cells (the product of its lists, before `[[exclude]]`), no value listed twice | every cell is checked and planned before anything runs |
//! | cells × seeds | at most [`MAX_PLANNED_CELLS`] | a plan's cells (a greedy search: its worst case) |
//! | `[[exclude]]`, `[[hypothesis]]` | at most [`MAX_RULES`] tables each; every exclude rule removes at least one cell | each rule is matched against every cell |
//! | `greedy.min-gain` | ±[`MAX_SCORE_POINTS`] | scores are percentages |
//!
//! A spec has no batch-size key: the batch is the scale preset's (`src/spec/scale.rs`).

/// Longest experiment name, in characters (a folder name on every file system, with room for
/// `-calibration`).
pub const MAX_NAME_LEN: usize = 64;
/// Experiment names the results or reports folders already use for something else.
pub const RESERVED_NAMES: &[&str] = &["artifacts", "experts", "bench", "reports"];
/// The suffix `eyrie calibrate` gives its experiments (`<name>-calibration`).
pub const CALIBRATION_SUFFIX: &str = "-calibration";
/// Most seeds an experiment may list.
pub const MAX_SEEDS: usize = 1_000;
/// Largest seed value (2³² − 1).
pub const MAX_SEED: u64 = u32::MAX as u64;
/// Most training steps a `*-steps` key may ask for.
pub const MAX_STEPS: i64 = 10_000_000;
/// Smallest input side in pixels.
pub const MIN_RESOLUTION: i64 = 16;
/// Largest input side in pixels.
pub const MAX_RESOLUTION: i64 = 1024;
/// Largest token grid side (fixed, or what `"auto"` resolves to).
pub const MAX_GRID_SIDE: usize = 64;
/// Most cells a `[grid]` may expand to, before `[[exclude]]`.
pub const MAX_GRID_CELLS: usize = 100_000;
/// Most cells × seeds an experiment may plan (a greedy search: its worst case).
pub const MAX_PLANNED_CELLS: usize = 100_000;
/// Most `[[exclude]]` tables, and most `[[hypothesis]]` tables.
pub const MAX_RULES: usize = 100;
/// Largest score difference a setting may name (scores are percentages).
pub const MAX_SCORE_POINTS: f64 = 100.0;
