//! Several experiments side by side: cells matched by label, one table (each experiment's average
//! with its interval, and the families they share) and one grouped-bar plot.

use super::estimates::{self, CellEstimates};
use super::plots::bars::{BarGroup, GroupedBars};
use super::plots::{save, PlotFormat};
use super::ReportError;
use std::path::{Path, PathBuf};

/// One experiment's cells.
#[derive(Debug, Clone)]
pub struct Compared {
    /// Experiment name.
    pub experiment: String,
    /// Its cells' estimates.
    pub cells: Vec<CellEstimates>,
}

/// Every cell label in any experiment, in first-appearance order; those in all experiments first.
pub fn labels(all: &[Compared]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in all.iter().flat_map(|e| e.cells.iter()) {
        if !out.contains(&c.label) {
            out.push(c.label.clone());
        }
    }
    let shared = |l: &String| all.iter().all(|e| e.cells.iter().any(|c| &c.label == l));
    let (mut a, b): (Vec<String>, Vec<String>) = out.into_iter().partition(shared);
    a.extend(b);
    a
}

/// The comparison table: one row per label, one column per experiment (its average).
pub fn table(all: &[Compared]) -> String {
    let mut head = vec!["cell".to_string()];
    head.extend(all.iter().map(|e| format!("{} average", e.experiment)));
    let mut out = format!("| {} |\n|{}|\n", head.join(" | "), vec!["---"; head.len()].join("|"));
    for l in labels(all) {
        let mut row = vec![l.clone()];
        row.extend(
            all.iter()
                .map(|e| e.cells.iter().find(|c| c.label == l).map_or("–".to_string(), |c| c.average.to_string())),
        );
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// The grouped bars: one group per label, one bar per experiment.
pub fn bars(all: &[Compared]) -> GroupedBars {
    let groups = labels(all)
        .into_iter()
        .map(|l| BarGroup {
            values: all.iter().map(|e| e.cells.iter().find(|c| c.label == l).map(|c| c.average)).collect(),
            label: l,
        })
        .collect();
    GroupedBars {
        title: "Average score per cell, by experiment".into(),
        note: "whiskers: 95% interval (t over seeds, or binomial over the test questions for one seed)".into(),
        value_desc: "average score (%)".into(),
        series: all.iter().map(|e| e.experiment.clone()).collect(),
        groups,
    }
}

/// Writes `<out_dir>/report.md` and the plot `compare.png`/`.svg`; returns report.md's path.
pub fn write(all: &[Compared], out_dir: &Path, plots: &[PlotFormat]) -> Result<PathBuf, ReportError> {
    crate::store::atomic::create_dir_all(out_dir)?;
    let names: Vec<&str> = all.iter().map(|e| e.experiment.as_str()).collect();
    let mut md = format!("# Comparison: {}\n\n", names.join(" · "));
    md.push_str(
        "Cells matched by label (cells in every experiment first); each experiment's average score with its \
        95% interval (over seeds, or binomial over the test questions for one seed). Families differ between \
            experiments, so averages compare only where the families match.\n\n",
    );
    for e in all {
        let fams: Vec<String> = estimates::families(&e.cells).iter().map(|f| f.to_string()).collect();
        md.push_str(&format!("- `{}`: {} cells, families {}\n", e.experiment, e.cells.len(), fams.join(", ")));
    }
    md.push('\n');
    md.push_str(&table(all));
    let fig = bars(all);
    if !plots.is_empty() {
        save(&fig, &out_dir.join("compare"), fig.natural_size(), plots)?;
        let ext = if plots.contains(&PlotFormat::Png) { "png" } else { "svg" };
        md.push_str(&format!("\n![comparison](compare.{ext})\n"));
    }
    let path = out_dir.join("report.md");
    crate::store::atomic::write_file(&path, md)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::estimates::{by_cell, tests::result};

    #[test]
    fn shared_labels_come_first_and_missing_cells_show_a_dash() {
        let a = Compared {
            experiment: "a".into(),
            cells: by_cell(&[result("only-a", 0, 10.0, 20.0), result("both", 0, 50.0, 70.0)]),
        };
        let b = Compared {
            experiment: "b".into(),
            cells: by_cell(&[result("both", 0, 60.0, 80.0), result("only-b", 0, 30.0, 30.0)]),
        };
        let all = [a, b];
        assert_eq!(labels(&all), vec!["both", "only-a", "only-b"]);
        let t = table(&all);
        assert!(t.contains("| both | 60.0 ± "), "{t}");
        assert!(t.contains("| only-a | 15.0 ± ") && t.contains(" | – |"), "{t}");
        let dir = tempfile::tempdir().unwrap();
        let md = write(&all, dir.path(), &[PlotFormat::Png]).unwrap();
        assert!(std::fs::read_to_string(md).unwrap().contains("![comparison](compare.png)"));
        assert_eq!(crate::report::plots::tests::png_size(&dir.path().join("compare.png")), bars(&all).natural_size());
    }
}
