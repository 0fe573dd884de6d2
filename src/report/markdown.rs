//! Markdown for the terminal and report.md: the results and summary tables, the pivot over an ordered
//! axis, the effects of each varied axis, and the line naming the files written.

use super::estimates::{self, CellEstimates, IntervalKind};
use super::options::TableFormat;
use super::plots::lines::OrderedLines;
use crate::plan::cost::{gflops_text, human_duration, label_forward_flops};
use crate::plan::Plan;
use crate::spec::{Axis, Family};
use crate::store::CellResult;

fn families_evaluated(results: &[CellResult]) -> Vec<Family> {
    Family::ALL.iter().copied().filter(|f| results.iter().any(|r| r.scores.get(*f).is_some())).collect()
}

fn blind_average(results: &[CellResult], seed: u64) -> Option<f64> {
    results.iter().find(|r| r.settings.is_none() && r.seed == seed).map(|r| r.scores.average)
}

/// The results table: one row per cell and seed, scores in percent.
pub fn table(results: &[CellResult]) -> String {
    let fams = families_evaluated(results);
    let mut head = vec!["label".to_string(), "seed".into()];
    head.extend(fams.iter().map(|f| f.to_string()));
    head.extend(
        [
            "average",
            "Δ blind",
            "visual tokens",
            "params (trainable)",
            "train time",
            "SFT samples/s",
            "experts (res, grid)",
        ]
        .map(String::from),
    );
    let mut out = format!("| {} |\n|{}|\n", head.join(" | "), head.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
    for r in results {
        let mut cells = vec![r.label.clone(), r.seed.to_string()];
        cells.extend(fams.iter().map(|f| r.scores.get(*f).map(|s| format!("{s:.1}")).unwrap_or_default()));
        cells.push(format!("{:.1}", r.scores.average));
        cells.push(match (r.settings.is_some(), blind_average(results, r.seed)) {
            (true, Some(b)) => format!("{:+.1}", r.scores.average - b),
            _ => String::new(),
        });
        cells.push(r.visual_tokens.to_string());
        cells.push(format!("{} ({})", r.params_total, r.params_trainable));
        cells.push(human_duration(r.train_seconds));
        cells.push(format!("{:.0}", r.sft_samples_per_second));
        cells.push(r.geometry());
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// One row per cell: each family and the average as mean ± 95% half-width, visual tokens, forward
/// GFLOPs per sample (from `plan`: the cost to compare cells by) and the mean training time.
pub fn summary(cells: &[CellEstimates], plan: &Plan) -> String {
    let fams = estimates::families(cells);
    let mut head = vec!["cell".to_string(), "seeds".into()];
    head.extend(fams.iter().map(|f| f.to_string()));
    head.extend(["average", "visual tokens", "GFLOPs/sample", "train time"].map(String::from));
    let mut out = format!("| {} |\n|{}|\n", head.join(" | "), vec!["---"; head.len()].join("|"));
    for c in cells {
        let mut row = vec![c.label.clone(), c.seeds.to_string()];
        row.extend(fams.iter().map(|f| c.family(*f).map(|e| e.to_string()).unwrap_or_default()));
        row.push(c.average.to_string());
        row.push(c.visual_tokens.to_string());
        row.push(label_forward_flops(plan, &c.label).map(gflops_text).unwrap_or_default());
        row.push(human_duration(c.train_seconds));
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// How the summary's intervals were computed, in words.
pub fn interval_words(cells: &[CellEstimates]) -> &'static str {
    let seeds = cells.iter().any(|c| c.interval == IntervalKind::Seeds);
    let binomial = cells.iter().any(|c| c.interval == IntervalKind::Binomial);
    match (seeds, binomial) {
        (true, false) => "Student t over seeds",
        (false, _) => {
            "binomial over the test questions of the one seed (normal approximation; the average combines \
            its families'). It leaves out seed-to-seed variation, which can be larger: run several seeds to include it"
        }
        (true, true) => {
            "Student t over seeds for cells with several, binomial over the test questions for cells \
            with one"
        }
    }
}

/// The line plot's numbers as a table: one row per position of the ordered axis, one column per line.
pub fn pivot(lines: &OrderedLines) -> String {
    let mut head = vec![lines.x_desc.clone()];
    head.extend(lines.series.iter().map(|s| s.name.clone()));
    let mut out = format!("| {} |\n|{}|\n", head.join(" | "), vec!["---"; head.len()].join("|"));
    for (x, label) in lines.x_labels.iter().enumerate() {
        let mut row = vec![label.clone()];
        row.extend(
            lines
                .series
                .iter()
                .map(|s| s.points.iter().find(|p| p.0 == x).map(|p| p.1.to_string()).unwrap_or_default()),
        );
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    if let Some((name, v)) = &lines.reference {
        out.push_str(&format!("\n{name}: {v:.1}.\n"));
    }
    out
}

/// Links to the table files the report wrote.
pub fn files_line(tables: &[TableFormat]) -> String {
    let links: Vec<&str> = tables
        .iter()
        .map(|t| match t {
            TableFormat::Md => "[table.md](table.md)",
            TableFormat::Csv => "[results.csv](results.csv)",
            TableFormat::Tex => "[table.tex](table.tex) (booktabs)",
            TableFormat::Parquet => "[results.parquet](results.parquet)",
        })
        .collect();
    if links.is_empty() {
        String::new()
    } else {
        format!("\nTables: {}.\n", links.join(", "))
    }
}

/// One pair's differences, B − A: the average and each family's (None where a cell lacks it).
type PairDiff = (f64, Vec<Option<f64>>);

/// For each varied axis, the mean change in each family score and the average between cells that
/// differ only on that axis (same seed), e.g. "unlock false → true: average +4.1 (2 pairs)".
pub fn effects(results: &[CellResult], axes: &[Axis]) -> String {
    let fams = families_evaluated(results);
    let mut out = String::new();
    for &axis in axes {
        // (value A, value B, every pair's differences)
        let mut pairs: Vec<(String, String, Vec<PairDiff>)> = Vec::new();
        // Values in the order the experiment lists them (native before 96 px, false before true).
        let order: Vec<String> = {
            let mut seen: Vec<String> = Vec::new();
            for v in results.iter().filter_map(|r| r.settings.as_ref()).map(|s| axis.value_of(s)) {
                if !seen.contains(&v) {
                    seen.push(v);
                }
            }
            seen
        };
        let rank = |v: &str| order.iter().position(|o| o == v).unwrap_or(usize::MAX);
        for a in results {
            let Some(sa) = &a.settings else { continue };
            for b in results {
                let Some(sb) = &b.settings else { continue };
                if a.seed != b.seed || rank(&axis.value_of(sa)) >= rank(&axis.value_of(sb)) {
                    continue;
                }
                let same_elsewhere = Axis::ALL.iter().filter(|x| **x != axis).all(|x| x.value_of(sa) == x.value_of(sb));
                if !same_elsewhere {
                    continue;
                }
                let (va, vb) = (axis.value_of(sa), axis.value_of(sb));
                let diff = b.scores.average - a.scores.average;
                let fam: Vec<Option<f64>> = fams.iter().map(|f| Some(b.scores.get(*f)? - a.scores.get(*f)?)).collect();
                match pairs.iter_mut().find(|(x, y, _)| *x == va && *y == vb) {
                    Some(p) => p.2.push((diff, fam)),
                    None => pairs.push((va, vb, vec![(diff, fam)])),
                }
            }
        }
        for (va, vb, diffs) in pairs {
            let n = diffs.len() as f64;
            let mean = diffs.iter().map(|d| d.0).sum::<f64>() / n;
            let per: Vec<String> = fams
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    let v: Vec<f64> = diffs.iter().filter_map(|d| d.1[i]).collect();
                    (!v.is_empty()).then(|| format!("{f} {:+.1}", v.iter().sum::<f64>() / v.len() as f64))
                })
                .collect();
            out.push_str(&format!(
                "- `{}`: {va} → {vb}: average {mean:+.1} ({}; {} pair{})\n",
                axis.key(),
                per.join(", "),
                diffs.len(),
                if diffs.len() == 1 { "" } else { "s" }
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::rows::tests::{result, settings};
    use crate::spec::{CellSettings, Resolution, Tiling};

    fn cell(res: Resolution, tiling: Tiling, vqa: f64) -> CellResult {
        let mut r = result("c", vqa, 50.0);
        r.settings = Some(CellSettings { resolution: res, tiling, ..settings() });
        r
    }

    #[test]
    fn the_summary_shows_each_cells_forward_gflops_from_the_plan() {
        let spec = crate::spec::parse(
            std::path::Path::new("g.toml"),
            "[experiment]\nname = \"g\"\n[base]\nfamilies = [\"vqa\", \"pope\"]\n",
        )
        .unwrap();
        let plan = crate::plan::plan(&spec, crate::spec::Scale::Smoke);
        let (cell, blind) = (&plan.cells[0], &plan.cells[1]);
        let rows = vec![result(&cell.label, 50.0, 60.0), result("blind", 20.0, 60.0)];
        let md = summary(&crate::report::estimates::by_cell(&rows), &plan);
        assert!(md.lines().next().unwrap().contains("| visual tokens | GFLOPs/sample | train time |"), "{md}");
        for c in [cell, blind] {
            let g = gflops_text(crate::plan::cost::cell_forward_flops(&plan, c).unwrap());
            assert!(md.contains(&format!(" | 16 | {g} | ")), "{} {g}: {md}", c.label);
        }
        assert_ne!(
            crate::plan::cost::cell_forward_flops(&plan, cell),
            crate::plan::cost::cell_forward_flops(&plan, blind)
        );
    }

    #[test]
    fn effects_pair_only_cells_equal_on_every_other_axis_in_spec_order() {
        let rows = vec![
            cell(Resolution::Native, Tiling::Interpolate, 40.0),
            cell(Resolution::Pixels(96), Tiling::Interpolate, 50.0),
            cell(Resolution::Pixels(96), Tiling::Tile, 70.0),
        ];
        let text = effects(&rows, &[Axis::Resolution, Axis::Tiling]);
        // native → 96 pairs only with the interpolated 96 px cell: vqa +10 (average +5), one pair.
        assert!(text.contains("`resolution`: native → 96: average +5.0 (vqa +10.0, pope +0.0; 1 pair)"), "{text}");
        assert!(text.contains("`tiling`: interpolate → tile: average +10.0"), "{text}");
        assert!(!text.contains("96 → native"), "{text}");
    }
}
