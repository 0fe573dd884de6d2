//! Reports from stored results alone: results.csv / .parquet (polars) beside the results, and under
//! reports/<experiment>/ the report.md (summary, results, effects, each hypothesis of the experiment
//! file judged, figures), the tables and the plots the options ask for.

pub mod compare;
pub mod estimates;
pub mod experts;
pub mod failures;
pub mod figures;
pub mod frame;
pub mod fusion;
pub mod greedy;
pub mod latex;
pub mod markdown;
pub mod options;
pub mod origin;
pub mod plots;
pub mod provenance;
pub mod rows;
pub mod seeding;

use crate::plan::Plan;
use crate::spec::Spec;
use crate::store::atomic::{copy_file, create_dir_all, write_file, FileError};
use crate::store::{CellResult, ReadError, Store};
use std::path::{Path, PathBuf};

/// Report errors. Each names the file or experiment it is about once; causes are sources, not
/// repeated in the message.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No results stored yet.
    #[error("no results for experiment `{0}` in {1}; run it first: eyrie run <file>")]
    NoResults(String, String),
    /// Results are stored, but every one is corrupt.
    #[error(
        "every stored result of experiment `{experiment}` is corrupt ({}); {RECOVER_RESULTS}",
        paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    AllCorrupt {
        /// The experiment.
        experiment: String,
        /// Its corrupt result files.
        paths: Vec<PathBuf>,
    },
    /// Building the results table failed.
    #[error("building the results table")]
    Frame(#[source] polars::error::PolarsError),
    /// Writing a table file failed.
    #[error("writing {}", path.display())]
    Table {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: polars::error::PolarsError,
    },
    /// Writing a report file or folder failed (the error names it).
    #[error(transparent)]
    File(#[from] FileError),
    /// Drawing a plot failed.
    #[error(transparent)]
    Plot(#[from] plots::PlotError),
    /// A stored record (a cell's result, the run record, the greedy record) is unreadable or corrupt.
    #[error(transparent)]
    Read(#[from] crate::store::ReadError),
}

/// How to recover a corrupt result, for messages and reports.
pub const RECOVER_RESULTS: &str =
    "rerun `eyrie run <experiment file>`: the run moves a damaged result aside and rewrites it from its cached stages";

/// The stored results of every cell of `plan` that is done, in plan order; an error if one is corrupt.
pub fn collect(plan: &Plan, store: &Store) -> Result<Vec<CellResult>, ReadError> {
    let mut results = Vec::new();
    for c in &plan.cells {
        results.extend(store.read_result(&plan.experiment, &c.id)?);
    }
    Ok(results)
}

/// A cell whose stored result exists but is not a result (truncated, garbage): left out of a report
/// and named in it.
#[derive(Debug, Clone, PartialEq)]
pub struct CorruptResult {
    /// The cell's label.
    pub label: String,
    /// Its seed.
    pub seed: u64,
    /// The result file.
    pub path: PathBuf,
    /// What the parser said.
    pub reason: String,
}

/// The results a report can use and the cells whose results are corrupt.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// The readable results, in plan order.
    pub results: Vec<CellResult>,
    /// The cells whose result file does not parse, in plan order.
    pub corrupt: Vec<CorruptResult>,
}

/// Like [`collect`], but a result file that does not parse is set aside in [`Collected::corrupt`]
/// instead of failing; one that cannot be read at all is still an error.
pub fn collect_readable(plan: &Plan, store: &Store) -> Result<Collected, ReadError> {
    let mut out = Collected::default();
    for c in &plan.cells {
        match store.read_result(&plan.experiment, &c.id) {
            Ok(r) => out.results.extend(r),
            Err(ReadError::Parse { path, source }) => out.corrupt.push(CorruptResult {
                label: c.label.clone(),
                seed: c.seed,
                path,
                reason: source.to_string(),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The report's warning about corrupt results: which cells, which files, how to recover.
pub fn corrupt_markdown(corrupt: &[CorruptResult], spec_file: &Path) -> String {
    if corrupt.is_empty() {
        return String::new();
    }
    let n = corrupt.len();
    let listed: Vec<String> = corrupt
        .iter()
        .map(|c| format!("`{}` seed {} (`{}`: {})", c.label, c.seed, c.path.display(), c.reason))
        .collect();
    format!(
        "**Warning: the stored result{} of {n} cell{} {} corrupt and left out of this report**: {}. Rerun \
         `eyrie run {}`: the run moves a damaged result aside and rewrites it from its cached stages.\n\n",
        if n == 1 { "" } else { "s" },
        if n == 1 { "" } else { "s" },
        if n == 1 { "is" } else { "are" },
        listed.join("; "),
        spec_file.display()
    )
}

/// Whether every stage and every cell of `plan` is done: each stage's meta.json and `results`
/// (the plan's readable results) for every cell.
pub fn plan_done(plan: &Plan, store: &Store, results: &[CellResult]) -> bool {
    results.len() == plan.cells.len() && plan.stages.keys().all(|id| store.is_done(id))
}

/// The plan of what last ran for `experiment`, from `results/<experiment>/plan.json`, if stored
/// (an error if it is corrupt): reports describe what ran, even after the spec file or the code's
/// stage ids changed.
pub fn stored_plan(store: &Store, experiment: &str) -> Result<Option<Plan>, crate::store::ReadError> {
    crate::store::read_json(&store.experiment_dir(experiment).join("plan.json"))
}

/// Files a report wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// `results/<experiment>/results.csv`.
    pub csv: PathBuf,
    /// `results/<experiment>/results.parquet`.
    pub parquet: PathBuf,
    /// `reports/<experiment>/report.md`.
    pub markdown: PathBuf,
    /// The cells whose stored result is corrupt, left out of the report (and named in it).
    pub corrupt: Vec<CorruptResult>,
}

/// Writes results.csv / .parquet beside the results, and reports/<experiment>/: report.md, the
/// tables in `options.tables` and the plots in `options.plots`.
pub fn write(
    spec: &Spec,
    plan: &Plan,
    store: &Store,
    reports_root: &Path,
    options: &options::ReportOptions,
) -> Result<Written, ReportError> {
    use options::TableFormat;
    let Collected { results, corrupt } = collect_readable(plan, store)?;
    if results.is_empty() {
        if !corrupt.is_empty() {
            let paths = corrupt.iter().map(|c| c.path.clone()).collect();
            return Err(ReportError::AllCorrupt { experiment: plan.experiment.clone(), paths });
        }
        return Err(ReportError::NoResults(plan.experiment.clone(), store.root.display().to_string()));
    }
    let exp = store.experiment_dir(&plan.experiment);
    let csv = exp.join("results.csv");
    let parquet = exp.join("results.parquet");
    let mut df = frame::frame(&results, &spec.axes).map_err(ReportError::Frame)?;
    frame::write(&mut df, &csv, &parquet)?;
    let out_dir = reports_root.join(&plan.experiment);
    create_dir_all(&out_dir)?;
    if options.tables.contains(&TableFormat::Csv) {
        copy_file(&csv, &out_dir.join("results.csv"))?;
    }
    if options.tables.contains(&TableFormat::Parquet) {
        copy_file(&parquet, &out_dir.join("results.parquet"))?;
    }
    let cells = estimates::by_cell(&results);
    let summary = markdown::summary(&cells, plan);
    if options.tables.contains(&TableFormat::Md) {
        write_file(&out_dir.join("table.md"), &summary)?;
    }
    if options.tables.contains(&TableFormat::Tex) {
        let caption = format!("{}: scores in percent (POPE: F1), mean and 95% interval.", plan.experiment);
        write_file(&out_dir.join("table.tex"), latex::table(&cells, &caption))?;
    }
    let outcome = crate::search::rounds::read_outcome(store, &plan.experiment)?;
    let lines = figures::over_ordered_axis(&cells, &spec.axes);
    let figures =
        figures::write_all(&results, &cells, lines.as_ref(), outcome.as_ref(), store, &out_dir, &options.plots)?;
    let backend = results.first().map(|r| r.backend.clone()).unwrap_or_default();
    let mut md = format!("# {}\n\n", plan.experiment);
    if let Some(d) = &spec.description {
        md.push_str(&format!("{d}\n\n"));
    }
    md.push_str(&format!(
        "Scale `{}`, backend `{backend}`{}, {} of {} cells done. Scores in percent on held-out test questions \
         (POPE: F1, yes = positive, which the average uses; its accuracy and yes-ratio are in results.csv, \
         `pope_accuracy` and `pope_yes_ratio`). `Δ blind` is the average minus the no-image baseline's with the \
         same seed. GFLOPs/sample: forward FLOPs of one sample (experts, fusion, LM over the visual tokens and \
         a {}-token question), from the plan.\n\n",
        plan.scale,
        if plan.precision.is_f32() { String::new() } else { format!(", precision `{}`", plan.precision) },
        results.len(),
        plan.cells.len(),
        crate::plan::cost::TEXT_TOKENS
    ));
    md.push_str(&corrupt_markdown(&corrupt, &spec.file));
    md.push_str(&failures::markdown(plan, store));
    md.push_str("## What ran\n\n");
    if let Some(run) = provenance::read(store, &plan.experiment)? {
        md.push_str(&run.markdown(corrupt.is_empty() && run.is_of(plan) && plan_done(plan, store, &results)));
        md.push_str("\n\n");
    }
    md.push_str(&origin::markdown(&results, plan));
    md.push_str(&seeding::markdown(plan));
    md.push_str(&provenance::cost_line(&results));
    md.push_str(&provenance::spec_block(spec, store)?);
    md.push_str("## Summary\n\n");
    md.push_str(&format!("Mean ± half-width of the 95% interval: {}.\n\n", markdown::interval_words(&cells)));
    md.push_str(&summary);
    if let Some(lines) = &lines {
        md.push_str(&format!("\n### Average score by {} (rows) and the other axes (columns)\n\n", lines.x_desc));
        md.push_str(&markdown::pivot(lines));
    }
    md.push_str("\n## Results\n\nOne row per cell and seed.\n\n");
    md.push_str(&markdown::table(&results));
    let effects = markdown::effects(&results, &spec.axes);
    if !effects.is_empty() {
        md.push_str("\n## Effects of each axis\n\nMean change between cells that differ only on one axis:\n\n");
        md.push_str(&effects);
    }
    if spec.axes.contains(&crate::spec::Axis::Fusion) {
        let table = fusion::markdown(&fusion::rows(plan, &results));
        if !table.is_empty() {
            md.push_str(
                "\n## Fusion strategies (Eagle, arXiv 2408.15998, Sec. 3.4)\n\nMean over seeds ± the \
                half-width of a 95% t-interval. Visual tokens, parameters and MFLOPs are the fusion's own (with its \
                projector, per image); GFLOPs/sample is the whole model's forward pass per sample (experts, fusion, \
                LM), from the plan: the cost to compare by, not wall time under concurrent workers.\n\n",
            );
            md.push_str(&table);
        }
    }
    let design = crate::hypotheses::power::design_cells(&spec.cells, &spec.hypotheses);
    let rule = spec.adaptive.map(crate::hypotheses::sequential::SequentialRule::from);
    let judged = crate::hypotheses::judge::judge_cells(&spec.hypotheses, &design, &results, rule.as_ref());
    if !judged.is_empty() {
        let stored = provenance::stored_spec(store, &plan.experiment)?;
        let pre_registered: Vec<bool> = spec
            .hypotheses
            .iter()
            .map(|h| stored.as_ref().is_some_and(|text| text.contains(h.claim.as_str())))
            .collect();
        md.push_str("\n## Hypotheses\n\n");
        md.push_str(&crate::hypotheses::markdown::section(&judged, &pre_registered));
        if let Some(rule) = &rule {
            md.push_str(&crate::hypotheses::markdown::adaptive(rule, &results));
        }
    }
    if let Some(outcome) = &outcome {
        md.push_str("\n## Greedy round-robin expert selection (Eagle, arXiv 2408.15998, Sec. 3.6)\n\n");
        md.push_str(&greedy::markdown(outcome));
    }
    if !figures.is_empty() {
        md.push_str("\n## Figures\n\n");
        md.push_str(&figures::markdown(&figures, &options.plots));
    }
    md.push_str(&markdown::files_line(&options.tables));
    let markdown_path = out_dir.join("report.md");
    write_file(&markdown_path, md)?;
    Ok(Written { csv, parquet, markdown: markdown_path, corrupt })
}
