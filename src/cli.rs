//! The command line: run · plan · report · data preview.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
    Run {
        /// The experiment file (TOML).
        file: PathBuf,
        /// Scale preset: smoke | proxy (default: the file's, else proxy).
        #[arg(long)]
        scale: Option<String>,
        /// Where and how to compute.
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Show the cells and stages that would run, which are cached, and the estimated cost.
    Plan {
        /// The experiment file (TOML).
        file: PathBuf,
        /// Scale preset: smoke | proxy.
        #[arg(long)]
        scale: Option<String>,
        /// Results folder.
        #[arg(long, default_value = "results")]
        results: PathBuf,
    },
    /// Write reports/<experiment>/ (report.md, tables, plots) from stored results alone.
    Report {
        /// Experiment files (TOML). With --compare, the experiments to put side by side.
        files: Vec<PathBuf>,
        /// Every experiment file in experiments/ that has results.
        #[arg(long, conflicts_with = "compare")]
        all: bool,
        /// One table and plot across the given experiments (cells matched by label).
        #[arg(long)]
        compare: bool,
        /// Scale preset: smoke | proxy.
        #[arg(long)]
        scale: Option<String>,
        /// Results folder.
        #[arg(long, default_value = "results")]
        results: PathBuf,
        /// Reports folder (each report goes to <out>/<experiment>/).
        #[arg(long = "out", default_value = "reports", alias = "reports")]
        reports: PathBuf,
        /// Table formats: md, csv, tex, parquet (comma-separated).
        #[arg(long, default_value = "md,csv,tex,parquet")]
        format: String,
        /// Plot formats: png, svg (comma-separated; empty for none).
        #[arg(long, default_value = "png,svg")]
        plots: String,
    },
    /// Cells done, running, failed (with the reason) and pending, from the results folder.
    Status {
        /// The experiment file (TOML).
        file: PathBuf,
        /// Scale preset: smoke | proxy.
        #[arg(long)]
        scale: Option<String>,
        /// Results folder.
        #[arg(long, default_value = "results")]
        results: PathBuf,
    },
    /// Pretrain (or load) every expert on its own task and print its metric against an untrained copy.
    Experts {
        /// Scale preset: smoke | proxy.
        #[arg(long, default_value = "proxy")]
        scale: String,
        /// Only these experts (repeatable; default: all).
        #[arg(long = "expert")]
        only: Vec<String>,
        /// Where and how to compute (the table goes to <reports>/experts/<scale>.md).
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Time one representative cell's training step and its parts; append to reports/bench/bench.json.
    Bench {
        /// Scale preset of the cell: smoke | proxy.
        #[arg(long, default_value = "proxy")]
        scale: String,
        /// Steps timed (after the warm-up); the median is reported.
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Untimed steps first.
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Also time the PyTorch reference (bench/torch_reference.py) on the same shapes, in the same run.
        #[arg(long)]
        against_torch: bool,
        /// Time only the full training step, not each part (quick A/B comparisons).
        #[arg(long)]
        step_only: bool,
        /// Backend: flex | ndarray | wgpu | cuda | cuda-unfused (those compiled in); `cuda:1` picks a device.
        #[arg(long)]
        backend: Option<String>,
        /// Float type: f32 | bf16 | f16 (the PyTorch reference runs in the same type).
        #[arg(long, default_value = "f32")]
        precision: String,
        /// Folder of bench.json.
        #[arg(long, default_value = "reports/bench")]
        out: PathBuf,
    },
    /// Look at the proxy world.
    Data {
        /// What to do with the data.
        #[command(subcommand)]
        action: DataAction,
    },
}

/// Options of the commands that train: backend, folders, display, workers.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Backend: flex | ndarray | wgpu | cuda | cuda-unfused (those compiled in); `cuda:1` picks a device.
    #[arg(long)]
    pub backend: Option<String>,
    /// Results folder.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Reports folder.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// Stages computed at once (default: one per core, at most 4).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Float type of weights and arithmetic: f32 | bf16 | f16 (half types on GPUs; stage ids differ per precision).
    #[arg(long, default_value = "f32")]
    pub precision: String,
}

/// `eyrie data …`
#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// Write a contact sheet of test samples with their questions and answers.
    Preview {
        /// Task family: vqa | count | ocr | chart | doc | pope.
        #[arg(long, default_value = "vqa")]
        family: String,
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
}
