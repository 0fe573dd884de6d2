//! The report's figures, made from stored results alone: scores per cell and family, score against
//! cost with the Pareto front, lines over the experiment's ordered axis (or the greedy rounds), and
//! the training loss of each stage per cell.

use super::estimates::{self, CellEstimates, IntervalKind};
use super::plots::bars::{BarGroup, GroupedBars};
use super::plots::curves::{Curve, Curves};
use super::plots::lines::{LineSeries, OrderedLines};
use super::plots::pareto::{CostPoint, ScoreVsCost};
use super::plots::{save, Figure, PlotError, PlotFormat};
use crate::search::greedy::GreedyOutcome;
use crate::spec::Axis;
use crate::stats::Estimate;
use crate::store::{CellResult, Store};
use std::path::Path;

/// A figure the report links to.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureLink {
    /// What it shows.
    pub caption: String,
    /// File stem inside the report folder (`bars` → bars.png / bars.svg).
    pub stem: String,
}

/// Stages whose loss is drawn per cell (pretraining is shared by every cell, so not per cell).
const CELL_STAGES: [&str; 3] = ["pre-align", "align", "sft"];

fn interval_note(cells: &[CellEstimates]) -> &'static str {
    let seeds = cells.iter().filter(|c| c.interval == IntervalKind::Seeds).count();
    if seeds == cells.len() {
        "whiskers: 95% t-interval over seeds"
    } else if seeds == 0 {
        "one seed; whiskers: 95% binomial interval over the test questions"
    } else {
        "whiskers: 95% t-interval over seeds (binomial over the test questions for one-seed cells)"
    }
}

/// The part of `labels` every one shares up to a `/` (e.g. `clip+convnext/channel-concat/`), and
/// the labels without it; labels equal to the prefix's remainder become `(base)`. `blind` neither
/// counts nor changes.
pub fn strip_common_prefix(labels: &[String]) -> (String, Vec<String>) {
    let seen: Vec<&String> = labels.iter().filter(|l| *l != "blind").collect();
    let mut prefix = match seen.first() {
        Some(f) => f.to_string(),
        None => return (String::new(), labels.to_vec()),
    };
    for l in &seen[1..] {
        while !l.starts_with(&prefix) {
            prefix.pop();
        }
    }
    // Only whole path components, and only when something is left of every label or the set is one cell.
    let cut = prefix.rfind('/').map(|i| i + 1).unwrap_or(0);
    let prefix = prefix[..cut].to_string();
    if prefix.is_empty() || seen.len() < 2 {
        return (String::new(), labels.to_vec());
    }
    let out = labels
        .iter()
        .map(|l| {
            if l == "blind" {
                l.clone()
            } else {
                l.strip_prefix(&prefix)
                    .map(|r| if r.is_empty() { "(base)".into() } else { r.to_string() })
                    .unwrap_or_else(|| l.clone())
            }
        })
        .collect();
    (prefix, out)
}

fn with_prefix_note(note: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        note.to_string()
    } else {
        format!("cells: {prefix}…; {note}")
    }
}

/// Bars: one group per cell (blind included), one bar per family plus the average.
pub fn bars(cells: &[CellEstimates]) -> GroupedBars {
    let fams = estimates::families(cells);
    let mut series: Vec<String> = fams.iter().map(|f| f.to_string()).collect();
    let with_average = fams.len() > 1;
    if with_average {
        series.push("average".into());
    }
    let (prefix, labels) = strip_common_prefix(&cells.iter().map(|c| c.label.clone()).collect::<Vec<_>>());
    let groups = cells
        .iter()
        .zip(labels)
        .map(|(c, label)| {
            let mut values: Vec<Option<Estimate>> = fams.iter().map(|f| c.family(*f)).collect();
            if with_average {
                values.push(Some(c.average));
            }
            BarGroup { label, values }
        })
        .collect();
    GroupedBars {
        title: "Scores per cell".into(),
        note: with_prefix_note(interval_note(cells), &prefix),
        value_desc: "score (%; POPE: F1)".into(),
        series,
        groups,
    }
}

/// Score against cost: visual tokens when the cells differ in them, else training wall time.
pub fn score_vs_cost(cells: &[CellEstimates]) -> ScoreVsCost {
    let seen: Vec<&CellEstimates> = cells.iter().filter(|c| c.settings.is_some()).collect();
    let tokens_vary = seen.iter().any(|c| c.visual_tokens != seen[0].visual_tokens);
    let (x_desc, cost): (&str, fn(&CellEstimates) -> f64) = if tokens_vary {
        ("visual tokens per image", |c| c.visual_tokens as f64)
    } else {
        ("training wall time per cell, alignment + SFT (s)", |c| c.train_seconds)
    };
    let (_, labels) = strip_common_prefix(&seen.iter().map(|c| c.label.clone()).collect::<Vec<_>>());
    let points: Vec<CostPoint> =
        seen.iter().zip(labels).map(|(c, label)| CostPoint { label, cost: cost(c), score: c.average }).collect();
    let (lo, hi) = points.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| (lo.min(p.cost), hi.max(p.cost)));
    ScoreVsCost {
        title: "Average score against cost".into(),
        x_desc: x_desc.into(),
        y_desc: "average score (%)".into(),
        points,
        log_x: lo > 0.0 && hi / lo > 10.0,
    }
}

/// Lines over the first ordered axis that varies, one line per combination of the other axes;
/// None when no ordered axis varies.
pub fn over_ordered_axis(cells: &[CellEstimates], axes: &[Axis]) -> Option<OrderedLines> {
    let seen: Vec<&CellEstimates> = cells.iter().filter(|c| c.settings.is_some()).collect();
    let value = |c: &CellEstimates, a: Axis| a.value_of(c.settings.as_ref().expect("seen cells have settings"));
    let distinct = |a: Axis| {
        let mut v: Vec<String> = Vec::new();
        for c in &seen {
            let x = value(c, a);
            if !v.contains(&x) {
                v.push(x);
            }
        }
        v
    };
    let axis = Axis::ALL.iter().copied().find(|a| a.ordered() && axes.contains(a) && distinct(*a).len() > 1)?;
    let x_labels = distinct(axis);
    let others: Vec<Axis> = axes.iter().copied().filter(|a| *a != axis && distinct(*a).len() > 1).collect();
    let mut series: Vec<LineSeries> = Vec::new();
    for c in &seen {
        let name = if others.is_empty() {
            "average".to_string()
        } else {
            others.iter().map(|a| format!("{}={}", a.key(), value(c, *a))).collect::<Vec<_>>().join(", ")
        };
        let x = x_labels.iter().position(|v| *v == value(c, axis)).expect("value listed");
        match series.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push((x, c.average)),
            None => series.push(LineSeries { name, points: vec![(x, c.average)] }),
        }
    }
    for s in &mut series {
        s.points.sort_by_key(|p| p.0);
    }
    let blind = cells.iter().find(|c| c.settings.is_none()).map(|c| ("blind (no image)".to_string(), c.average.mean));
    Some(OrderedLines {
        title: format!("Average score over {}", axis.key()),
        note: interval_note(cells).into(),
        x_desc: axis.key().to_string(),
        y_desc: "average score (%)".into(),
        x_labels,
        series,
        reference: blind,
    })
}

/// The greedy search's best score after the start and after each round (kept or not), with the
/// runner-up of each round beside it.
pub fn greedy_rounds(outcome: &GreedyOutcome, blind: Option<f64>) -> OrderedLines {
    let est = |mean: f64, half: f64| Estimate { mean, half };
    let mut x_labels = vec![crate::search::greedy::set_label(&outcome.start.set)];
    let mut best = vec![(0, est(outcome.start.mean, outcome.start.half_width))];
    let mut runner = Vec::new();
    for (i, r) in outcome.rounds.iter().enumerate() {
        let w = &r.candidates[0];
        x_labels.push(format!("+{}{}", r.winner.as_str(), if r.kept { "" } else { " (not kept)" }));
        best.push((i + 1, est(w.mean, w.half_width)));
        if let Some(second) = r.candidates.get(1) {
            runner.push((i + 1, est(second.mean, second.half_width)));
        }
    }
    let mut series = vec![LineSeries { name: "round winner".into(), points: best }];
    if !runner.is_empty() {
        series.push(LineSeries { name: "runner-up".into(), points: runner });
    }
    OrderedLines {
        title: format!("Greedy selection: {} per round", outcome.metric),
        note: "each round's best set and runner-up; whiskers: 95% t-interval over seeds".into(),
        x_desc: "round (expert added)".into(),
        y_desc: format!("{} (%)", outcome.metric),
        x_labels,
        series,
        reference: blind.map(|b| ("blind (no image)".to_string(), b)),
    }
}

#[derive(serde::Deserialize)]
struct LossLine {
    stage: String,
    step: f64,
    loss: f64,
}

/// Moving average over `window` consecutive values (shorter at the start).
pub fn smooth(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    (0..points.len())
        .map(|i| {
            let from = (i + 1).saturating_sub(window);
            let part = &points[from..=i];
            (points[i].0, part.iter().map(|p| p.1).sum::<f64>() / part.len() as f64)
        })
        .collect()
}

/// The loss of `stage` per cell (each cell's first seed) from its stored metrics.jsonl (a cell without
/// one has no curve); an error naming the file if one exists but cannot be read.
pub fn loss_curves(results: &[CellResult], store: &Store, stage: &str) -> Result<Curves, crate::store::ReadError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut curves = Vec::new();
    for r in results {
        if seen.contains(&r.label.as_str()) {
            continue;
        }
        seen.push(&r.label);
        let path = store.cell_dir(&r.experiment, &r.cell).join("metrics.jsonl");
        let Some(text) = crate::store::read::read_text(&path)? else {
            continue;
        };
        // A line that does not parse is skipped on purpose: lines are appended as a stage trains, so a
        // run killed mid-write leaves a half-written one; the curve is drawn from the rest.
        let pts: Vec<(f64, f64)> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<LossLine>(l).ok())
            .filter(|l| l.stage == stage)
            .map(|l| (l.step, l.loss))
            .collect();
        if !pts.is_empty() {
            curves.push(Curve { name: r.label.clone(), points: smooth(&pts, 5) });
        }
    }
    let (_, names) = strip_common_prefix(&curves.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
    for (c, n) in curves.iter_mut().zip(names) {
        c.name = n;
    }
    Ok(Curves {
        title: format!("Training loss of the {stage} stage, first seed of each cell (moving average of 5 logs)"),
        x_desc: "step".into(),
        y_desc: "loss (nats per answer token)".into(),
        curves,
    })
}

fn write_one<F: Figure>(
    fig: &F,
    size: (u32, u32),
    out_dir: &Path,
    stem: &str,
    caption: String,
    formats: &[PlotFormat],
    links: &mut Vec<FigureLink>,
) -> Result<(), PlotError> {
    if fig.is_empty() || formats.is_empty() {
        return Ok(());
    }
    save(fig, &out_dir.join(stem), size, formats)?;
    links.push(FigureLink { caption, stem: stem.to_string() });
    Ok(())
}

/// Writes every figure the results support into `out_dir`; returns them in report order.
/// `cells` are `results`' estimates and `lines` the ordered-axis plot, both as the report computed
/// them for its tables.
pub fn write_all(
    results: &[CellResult],
    cells: &[CellEstimates],
    lines: Option<&OrderedLines>,
    outcome: Option<&GreedyOutcome>,
    store: &Store,
    out_dir: &Path,
    formats: &[PlotFormat],
) -> Result<Vec<FigureLink>, super::ReportError> {
    let mut links = Vec::new();
    let b = bars(cells);
    write_one(&b, b.natural_size(), out_dir, "scores", "Scores per cell and family".into(), formats, &mut links)?;
    if let Some(l) = lines {
        write_one(
            l,
            l.natural_size(),
            out_dir,
            "ordered-axis",
            format!("Average score over {}", l.x_desc),
            formats,
            &mut links,
        )?;
    }
    if let Some(o) = outcome {
        let blind = cells.iter().find(|c| c.settings.is_none()).map(|c| c.average.mean);
        let g = greedy_rounds(o, blind);
        write_one(
            &g,
            g.natural_size(),
            out_dir,
            "greedy-rounds",
            "Best score per greedy round".into(),
            formats,
            &mut links,
        )?;
    }
    if cells.iter().filter(|c| c.settings.is_some()).count() > 1 {
        let p = score_vs_cost(cells);
        write_one(
            &p,
            p.natural_size(),
            out_dir,
            "score-vs-cost",
            format!("Average score against {}", p.x_desc),
            formats,
            &mut links,
        )?;
    }
    for stage in CELL_STAGES {
        let c = loss_curves(results, store, stage)?;
        write_one(
            &c,
            c.natural_size(),
            out_dir,
            &format!("loss-{stage}"),
            format!("Training loss of the {stage} stage per cell"),
            formats,
            &mut links,
        )?;
    }
    Ok(links)
}

/// Markdown that shows each figure (PNG inline when written, else a link to the SVG).
pub fn markdown(links: &[FigureLink], formats: &[PlotFormat]) -> String {
    let ext = if formats.contains(&PlotFormat::Png) { "png" } else { "svg" };
    let mut md = String::new();
    for l in links {
        let other = if formats.contains(&PlotFormat::Svg) && ext == "png" {
            format!(" ([svg]({}.svg))", l.stem)
        } else {
            String::new()
        };
        md.push_str(&format!("**{}**{}\n\n![{}]({}.{})\n\n", l.caption, other, l.caption, l.stem, ext));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::estimates::tests::result;

    #[test]
    fn common_prefixes_are_cut_at_whole_components() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (p, out) = strip_common_prefix(&l(&[
            "clip+convnext/channel-concat/frozen",
            "clip+convnext/channel-concat/unlocked",
            "blind",
        ]));
        assert_eq!(p, "clip+convnext/channel-concat/");
        assert_eq!(out, l(&["frozen", "unlocked", "blind"]));
        let (p, out) = strip_common_prefix(&l(&["clip/channel-concat/frozen", "clip/channel-concat/frozen/96px"]));
        assert_eq!((p.as_str(), out), ("clip/channel-concat/", l(&["frozen", "frozen/96px"])));
        // "clip+c…" shares "clip" but not a whole component with "clip/…".
        let (p, out) = strip_common_prefix(&l(&["clip/x", "clip+convnext/x"]));
        assert_eq!((p.as_str(), out.len()), ("", 2));
    }

    #[test]
    fn smoothing_averages_the_last_window_values() {
        let pts = [(0.0, 4.0), (1.0, 2.0), (2.0, 0.0), (3.0, 6.0)];
        assert_eq!(smooth(&pts, 2), vec![(0.0, 4.0), (1.0, 3.0), (2.0, 1.0), (3.0, 3.0)]);
    }

    #[test]
    fn lines_follow_the_ordered_axis_with_one_series_per_other_setting() {
        use crate::spec::{Resolution, Unlock};
        let mut rows = Vec::new();
        for (res, unlock, vqa) in [
            (Resolution::Native, false, 40.0),
            (Resolution::Native, true, 45.0),
            (Resolution::Pixels(96), false, 50.0),
            (Resolution::Pixels(96), true, 60.0),
        ] {
            let mut r = result(&format!("{res:?}/{unlock}"), 0, vqa, vqa);
            let mut s = crate::report::rows::tests::settings();
            s.resolution = res;
            s.unlock = Unlock::All(unlock);
            r.settings = Some(s);
            rows.push(r);
        }
        rows.push(result("blind", 0, 10.0, 10.0));
        let cells = estimates::by_cell(&rows);
        let l = over_ordered_axis(&cells, &[Axis::Resolution, Axis::Unlock]).expect("resolution varies");
        assert_eq!(l.x_labels.len(), 2);
        assert_eq!(l.series.len(), 2, "frozen and unlocked");
        let unlocked = l
            .series
            .iter()
            .find(|s| s.name == format!("unlock={}", Axis::Unlock.value_of(rows[1].settings.as_ref().unwrap())))
            .unwrap();
        assert_eq!(unlocked.points.iter().map(|p| (p.0, p.1.mean)).collect::<Vec<_>>(), vec![(0, 45.0), (1, 60.0)]);
        assert_eq!(l.reference.as_ref().unwrap().1, 10.0);
        // No ordered axis varies: no line plot.
        assert!(over_ordered_axis(&cells, &[Axis::Unlock]).is_none());
        // Tokens do not vary here, so cost is training time.
        assert!(score_vs_cost(&cells).x_desc.contains("wall time"));
        assert_eq!(score_vs_cost(&cells).points.len(), 4, "blind is not a point");
    }
}
