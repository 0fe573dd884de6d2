//! The command line: run · plan · report · status · experts · bench · data preview. Every name
//! (scale, precision, backend, expert, task family, table and plot format) is parsed here into its
//! type; an unknown one exits 2 with the known ones listed.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use eyrie::report::options::{parse_list, TableFormat};
use eyrie::report::plots::PlotFormat;
use eyrie::slurm::{ExecutorKind, SlurmOptions};
use eyrie::spec::{BackendKind, ExpertKind, Family, Precision, Scale};
use std::path::{Component, Path, PathBuf};

/// Eyrie: declarative ablations of mixture-of-encoder multimodal LLMs.
#[derive(Debug, Parser)]
#[command(name = "eyrie", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train and evaluate every cell of an experiment (cached stages are reused), then print the table.
    Run(RunArgs),
    /// Show the cells and stages that would run, which are cached, the estimated cost, and what each
    /// hypothesis can detect (from an A/A calibration).
    Plan(PlanArgs),
    /// Write reports/<experiment>/ (report.md, tables, plots) from stored results alone.
    Report(ReportArgs),
    /// Cells done, running, failed (with the reason) and pending, from the results folder.
    Status(StatusArgs),
    /// A/A calibration: one cell under 2k seeds, its seed spread and the verdict rule's false-positive rate.
    Calibrate(CalibrateArgs),
    /// Pretrain (or load) every expert on its own task and print its metric against an untrained copy.
    Experts(ExpertsArgs),
    /// Time one representative cell's training step and its parts; append to reports/bench/bench.json.
    Bench(BenchArgs),
    /// Real checkpoints (Hugging Face / timm folders).
    Checkpoint {
        /// What to do with the checkpoint.
        #[command(subcommand)]
        action: CheckpointAction,
    },
    /// Cancel every Slurm job of the experiment still pending or running.
    Cancel(ExperimentArgs),
    /// One Slurm array task: the cell of index `SLURM_ARRAY_TASK_ID` of a submission folder.
    #[command(hide = true)]
    SlurmTask {
        /// The submission folder.
        dir: PathBuf,
        /// The task (default: `SLURM_ARRAY_TASK_ID`).
        #[arg(long)]
        index: Option<usize>,
    },
    /// A Slurm submission's driver, after its array: the report, or the next greedy round.
    #[command(hide = true)]
    SlurmDriver {
        /// The submission folder.
        dir: PathBuf,
    },
    /// Look at the proxy world.
    Data {
        /// What to do with the data.
        #[command(subcommand)]
        action: DataAction,
    },
}

/// `eyrie run`
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Scale preset (default: the file's, else proxy).
    #[arg(long, value_parser = one_of::<Scale>())]
    pub scale: Option<Scale>,
    /// Where and how to compute.
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Local or Slurm, and the Slurm job options.
    #[command(flatten)]
    pub slurm: SlurmArgs,
}

/// `eyrie run --executor slurm` and its job options (each over the spec's `[executor]` table).
#[derive(Debug, clap::Args)]
pub struct SlurmArgs {
    /// Where the cells run: local (this process) or slurm (one array task per cell; default: the
    /// spec's `[executor] kind`, else local).
    #[arg(long, value_parser = one_of::<ExecutorKind>())]
    pub executor: Option<ExecutorKind>,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm account.
    #[arg(long)]
    pub account: Option<String>,
    /// Time limit of each array task (sbatch --time, e.g. 2:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// Generic resources of each array task (e.g. gpu:1).
    #[arg(long)]
    pub gres: Option<String>,
    /// CPUs per array task (also its worker threads).
    #[arg(long)]
    pub cpus_per_task: Option<u32>,
    /// Memory per array task (sbatch --mem, e.g. 16G).
    #[arg(long)]
    pub mem: Option<String>,
    /// At most this many array tasks at once.
    #[arg(long)]
    pub array_parallelism: Option<u32>,
    /// One more sbatch argument (repeatable), e.g. --sbatch-arg=--qos=short.
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// Wait for the jobs to end (showing progress), then print the table as a local run does.
    #[arg(long)]
    pub wait: bool,
}

impl SlurmArgs {
    /// The job options given on the command line.
    pub fn options(&self) -> SlurmOptions {
        SlurmOptions {
            partition: self.partition.clone(),
            account: self.account.clone(),
            time: self.time.clone(),
            gres: self.gres.clone(),
            cpus_per_task: self.cpus_per_task,
            mem: self.mem.clone(),
            array_parallelism: self.array_parallelism,
            sbatch_args: self.sbatch_args.clone(),
        }
    }
}

/// `eyrie plan` and `eyrie status`: one experiment file at a scale, over a results folder.
#[derive(Debug, clap::Args)]
pub struct ExperimentArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Scale preset (default: the file's).
    #[arg(long, value_parser = one_of::<Scale>())]
    pub scale: Option<Scale>,
    /// Results folder.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
}

/// `eyrie status`
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The experiment file, scale and results folder.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Also check every stored stage against the hashes its meta.json recorded, and every cell
    /// record against its evaluation (nothing is moved: `eyrie run` moves damaged ones aside).
    #[arg(long)]
    pub verify: bool,
}

/// `eyrie plan`
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The experiment file, scale and results folder.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// The calibration whose seed spread the power planner uses (default: the experiment's own,
    /// `<results>/<name>-calibration/calibration.json`, else the first calibration at the same scale).
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Also print the seeds each hypothesis needs to detect this effect (score points) with 80% power.
    #[arg(long)]
    pub effect: Option<f64>,
    /// Also print what each training stage must hold in memory (weights, gradients, AdamW state,
    /// activations at its batch size), its parameters and its forward FLOPs per sample.
    #[arg(long)]
    pub memory: bool,
}

/// `eyrie calibrate`
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// The cell to calibrate, by label (default: the file's first cell).
    #[arg(long)]
    pub cell: Option<String>,
    /// Seeds per arm: the cell runs with 2 × this many seeds (0, 1, …).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=50))]
    pub seeds_per_arm: u64,
    /// Scale preset (default: the file's, else proxy).
    #[arg(long, value_parser = one_of::<Scale>())]
    pub scale: Option<Scale>,
    /// Where and how to compute.
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// `eyrie report`
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Experiment files (TOML). With --compare, the experiments to put side by side.
    pub files: Vec<PathBuf>,
    /// Every experiment file in experiments/ that has results.
    #[arg(long, conflicts_with = "compare")]
    pub all: bool,
    /// One table and plot across the given experiments (cells matched by label).
    #[arg(long)]
    pub compare: bool,
    /// Scale preset (default: the file's).
    #[arg(long, value_parser = one_of::<Scale>())]
    pub scale: Option<Scale>,
    /// Results folder.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Reports folder (each report goes to <out>/<experiment>/; default: `reports` for the results
    /// folder `results`, else <results>/reports).
    #[arg(long = "out", alias = "reports")]
    pub reports: Option<PathBuf>,
    /// Table formats: md, csv, tex, parquet (comma-separated).
    // `::std::vec::Vec`: one comma-separated value, not a repeated flag.
    #[arg(long, default_value = "md,csv,tex,parquet", value_parser = parse_list::<TableFormat>)]
    pub format: ::std::vec::Vec<TableFormat>,
    /// Plot formats: png, svg (comma-separated; empty for none).
    #[arg(long, default_value = "png,svg", value_parser = parse_list::<PlotFormat>)]
    pub plots: ::std::vec::Vec<PlotFormat>,
}

/// `eyrie experts`
#[derive(Debug, clap::Args)]
pub struct ExpertsArgs {
    /// Scale preset.
    #[arg(long, default_value = "proxy", value_parser = one_of::<Scale>())]
    pub scale: Scale,
    /// Only these experts (repeatable; default: all).
    #[arg(long = "expert", value_parser = one_of::<ExpertKind>())]
    pub only: Vec<ExpertKind>,
    /// Where and how to compute (the table goes to <reports>/experts/<scale>.md).
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// `eyrie bench`
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Scale preset of the cell.
    #[arg(long, default_value = "proxy", value_parser = one_of::<Scale>())]
    pub scale: Scale,
    /// Steps timed (after the warm-up); the median is reported.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Also time the PyTorch reference (bench/torch_reference.py) on the same shapes, in the same run.
    #[arg(long)]
    pub against_torch: bool,
    /// Time only the full training step, not each part (quick A/B comparisons).
    #[arg(long)]
    pub step_only: bool,
    /// Backend: flex | ndarray | wgpu | cuda | cuda-unfused (those compiled in); `cuda:1` picks a device.
    #[arg(long, value_parser = parse_backend)]
    pub backend: Option<BackendArg>,
    /// Float type (the PyTorch reference runs in the same type).
    #[arg(long, default_value = "f32", value_parser = one_of::<Precision>())]
    pub precision: Precision,
    /// Folder of bench.json.
    #[arg(long, default_value = "reports/bench")]
    pub out: PathBuf,
}

/// Options of the commands that train: backend, folders, display, workers.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Backend: flex | ndarray | wgpu | cuda | cuda-unfused (those compiled in); `cuda:1` picks a device.
    #[arg(long, value_parser = parse_backend)]
    pub backend: Option<BackendArg>,
    /// Results folder.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Reports folder (default: `reports` for the results folder `results`, else <results>/reports).
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// Stages computed at once (default: one per core, at most 4).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Float type of weights and arithmetic (half types on GPUs; stage ids differ per precision).
    #[arg(long, default_value = "f32", value_parser = one_of::<Precision>())]
    pub precision: Precision,
    /// Take a cell's stored result record as done even without its stages (committed records in a
    /// fresh clone): it is not recomputed; only what the other cells need runs.
    #[arg(long)]
    pub from_records: bool,
    /// GPU kernel cache folder (compiled kernels and autotune results, shared by every run that
    /// names it; default `<results>/.kernel-cache`, or the EYRIE_KERNEL_CACHE environment variable).
    #[arg(long)]
    pub kernel_cache: Option<PathBuf>,
}

impl ExecArgs {
    /// Fixes this process's GPU kernel cache folder (see [`eyrie::kernels`]).
    pub fn choose_kernel_cache(&self) {
        eyrie::kernels::choose_cache(self.kernel_cache.as_deref(), &self.results);
    }

    /// Where reports go: see [`reports_dir`].
    pub fn reports_dir(&self) -> PathBuf {
        reports_dir(&self.results, self.reports.as_deref())
    }
}

impl ReportArgs {
    /// Where reports go: see [`reports_dir`].
    pub fn reports_dir(&self) -> PathBuf {
        reports_dir(&self.results, self.reports.as_deref())
    }
}

/// Where reports go: `reports` when given; else `reports` for the default results folder `results`
/// of the current directory (however it is spelled: `results`, `./results`, its absolute path);
/// else `<results>/reports`, so that a run elsewhere never writes over the checkout's reports.
pub fn reports_dir(results: &Path, reports: Option<&Path>) -> PathBuf {
    const DEFAULT_RESULTS: &str = "results";
    const DEFAULT_REPORTS: &str = "reports";
    if let Some(r) = reports {
        return r.to_path_buf();
    }
    let plain: Vec<Component> = results.components().filter(|c| *c != Component::CurDir).collect();
    let is_default = plain == [Component::Normal(DEFAULT_RESULTS.as_ref())]
        || matches!(
            (results.canonicalize(), Path::new(DEFAULT_RESULTS).canonicalize()),
            (Ok(a), Ok(b)) if a == b
        );
    if is_default {
        PathBuf::from(DEFAULT_REPORTS)
    } else {
        results.join(DEFAULT_REPORTS)
    }
}

/// `eyrie data …`
#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// Write a contact sheet of test samples with their questions and answers.
    Preview {
        /// Task family.
        #[arg(long, default_value = "vqa", value_parser = one_of::<Family>())]
        family: Family,
        /// Render resolution in pixels.
        #[arg(long, default_value_t = 128)]
        resolution: usize,
        /// Number of samples.
        #[arg(long, default_value_t = 8)]
        count: usize,
        /// World seed.
        #[arg(long, default_value_t = eyrie::plan::WORLD_SEED)]
        seed: u64,
        /// Output PNG.
        #[arg(long, default_value = "preview.png")]
        out: PathBuf,
    },
    /// Write the proxy world as LLaVA-format data: `images/`, `align.json` (captions),
    /// `train.json` (questions) and `eval.jsonl` (test questions with their family).
    ExportLlava {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Training records.
        #[arg(long, default_value_t = 200)]
        train: usize,
        /// Test questions per family.
        #[arg(long, default_value_t = 20)]
        eval_per_family: usize,
        /// Task families (comma-separated; default all).
        #[arg(long, value_delimiter = ',', value_parser = one_of::<Family>())]
        families: Vec<Family>,
        /// Image side in pixels.
        #[arg(long, default_value_t = 128)]
        resolution: usize,
        /// World seed.
        #[arg(long, default_value_t = eyrie::plan::WORLD_SEED)]
        seed: u64,
    },
}

/// `eyrie checkpoint ...`
#[derive(Debug, clap::Subcommand)]
pub enum CheckpointAction {
    /// Run a checkpoint folder on named inputs (`input.<argument>`) and write its named outputs
    /// (`output.<field>`, f32): the parity check against transformers and timm.
    Forward {
        /// The checkpoint folder (config.json and model.safetensors, or shards with their index).
        dir: PathBuf,
        /// Safetensors file of the forward's inputs, named as transformers names the arguments.
        #[arg(long)]
        inputs: PathBuf,
        /// Safetensors file the outputs are written to.
        #[arg(long)]
        out: PathBuf,
        /// Backend (those compiled in).
        #[arg(long, value_parser = parse_backend)]
        backend: Option<BackendArg>,
    },
}

/// A backend and its device (`cuda:1`: the second CUDA device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendArg {
    /// The backend.
    pub kind: BackendKind,
    /// The device index (0 unless given after a colon).
    pub index: usize,
}

impl BackendArg {
    /// The backend asked for, else the default one (the first compiled-in CPU backend), device 0.
    pub fn or_default(arg: Option<BackendArg>) -> BackendArg {
        arg.unwrap_or(BackendArg { kind: eyrie::backend::default_backend(), index: 0 })
    }
}

/// Parses `--backend`: a backend name, optionally `:<device index>`.
pub fn parse_backend(text: &str) -> Result<BackendArg, String> {
    let (name, index) = match text.split_once(':') {
        Some((name, i)) => (name, i.parse::<usize>().map_err(|_| format!("bad device index in `{text}`"))?),
        None => (text, 0),
    };
    Ok(BackendArg { kind: name.parse()?, index })
}

/// A closed set of names from the spec (scales, precisions, experts, families).
trait Named: Copy + Clone + Send + Sync + 'static {
    /// Every value.
    const ALL: &'static [Self];
    /// Its spelling.
    fn name(self) -> &'static str;
}

macro_rules! named {
    ($($t:ident),+) => {$(
        impl Named for $t {
            const ALL: &'static [Self] = $t::ALL;
            fn name(self) -> &'static str {
                self.as_str()
            }
        }
    )+};
}

named!(Scale, Precision, ExpertKind, Family, ExecutorKind);

/// The value parser of a closed set of names: `--help` lists them, and an unknown one exits 2
/// listing them.
fn one_of<T: Named>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::ALL.iter().map(|v| v.name()))
        .map(|s| *T::ALL.iter().find(|v| v.name() == s).expect("clap accepts only the listed names"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_follow_their_results_unless_told_or_the_results_are_the_default() {
        let at = |results: &str, reports: Option<&str>| reports_dir(Path::new(results), reports.map(Path::new));
        assert_eq!(at("results", None), PathBuf::from("reports"));
        assert_eq!(at("./results", None), PathBuf::from("reports"));
        assert_eq!(at("results/", None), PathBuf::from("reports"));
        assert_eq!(at("/tmp/x", None), PathBuf::from("/tmp/x/reports"));
        assert_eq!(at("other/results", None), PathBuf::from("other/results/reports"));
        assert_eq!(at("/tmp/x", Some("out")), PathBuf::from("out"));
        assert_eq!(at("results", Some("out")), PathBuf::from("out"));
    }

    #[test]
    fn the_default_results_folder_by_its_absolute_path_keeps_the_checkouts_reports() {
        // Tests run in the package root, where `results/` exists.
        let absolute = Path::new("results").canonicalize().expect("the checkout has results/");
        assert_eq!(reports_dir(&absolute, None), PathBuf::from("reports"));
    }
}
