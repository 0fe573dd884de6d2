//! `eyrie report`: reports from stored results alone, one per experiment or side by side.

use super::{report_inputs, warn_corrupt, BadArgument};
use crate::cli::ReportArgs;
use anyhow::{Context, Result};
use eyrie::report::compare::Compared;
use eyrie::report::options::ReportOptions;
use eyrie::report::ReportError;
use eyrie::store::Store;
use std::path::{Path, PathBuf};

/// Writes each experiment's report, or with `--compare` one table and plot across them.
pub fn cmd_report(args: ReportArgs) -> Result<()> {
    let reports = args.reports_dir();
    let ReportArgs { files, all, compare, scale, results, format, plots, .. } = args;
    let options = ReportOptions { tables: format, plots };
    let store = Store::new(&results);
    let files = if all { experiments_with_results(Path::new("experiments"), &store)? } else { files };
    if files.is_empty() {
        return Err(BadArgument(
            "name one or more experiment files (or --all for every file in experiments/ with results)".into(),
        )
        .into());
    }
    if compare && files.len() < 2 {
        return Err(BadArgument("--compare needs two or more experiment files".into()).into());
    }
    let mut compared = Vec::new();
    for file in &files {
        let (spec, p) = report_inputs(file, scale, &store)?;
        if compare {
            let cells = eyrie::report::estimates::by_cell(&eyrie::report::collect(&p, &store)?);
            compared.push(Compared { experiment: p.experiment.clone(), cells });
            continue;
        }
        let written = match eyrie::report::write(&spec, &p, &store, &reports, &options) {
            // With --all, an experiment whose run started but has no result yet is skipped, not an error.
            Err(ReportError::NoResults(name, _)) if all => {
                eprintln!("skipping {}: `{name}` has no results yet in {}", file.display(), store.root.display());
                continue;
            }
            other => other?,
        };
        warn_corrupt(&written);
        println!("{}: wrote {}", p.experiment, written.markdown.display());
    }
    if compare {
        let names: Vec<&str> = compared.iter().map(|c| c.experiment.as_str()).collect();
        let out = reports.join(format!("compare-{}", names.join("-")));
        let path = eyrie::report::compare::write(&compared, &out, &options.plots)?;
        println!("{}", eyrie::report::compare::table(&compared));
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Every `*.toml` in `dir` whose experiment has a results folder, sorted by file name.
fn experiments_with_results(dir: &Path, store: &Store) -> Result<Vec<PathBuf>> {
    let listing = || format!("listing {}", dir.display());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(listing)? {
        let path = entry.with_context(listing)?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            files.push(path);
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let spec = eyrie::spec::load(&f)?;
        if store.experiment_dir(&spec.name).join("plan.json").exists() {
            out.push(f);
        } else {
            eprintln!("skipping {}: no results for `{}` in {}", f.display(), spec.name, store.root.display());
        }
    }
    Ok(out)
}
