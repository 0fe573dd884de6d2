//! The Slurm executor: an experiment's cells as a job array whose tasks run one cell each through
//! the store's claims, a small driver job after each array (`afterany`) that writes the report or
//! judges a greedy round and submits the next, and Slurm's view of those jobs for `eyrie status`.
//!
//! ```text
//! results/<experiment>/slurm/<submission>/submission.json  what was submitted, the job ids
//!                                         plan.json        the plan the tasks run cells of
//!                                         tasks.json       array index → cell
//!                                         spec.toml        the experiment file as submitted
//!                                         array.sbatch, driver.sbatch, logs/
//! ```

pub mod command;
pub mod jobcomp;
pub mod options;
pub mod script;
pub mod state;
pub mod submission;
pub mod submit;
pub mod task_plan;

pub use options::{ExecutorKind, SlurmOptions};
pub use submission::{Purpose, Submission, Task};

/// A Slurm submission could not be prepared, submitted or read back.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// A Slurm command could not be started (not installed, not on PATH).
    #[error("cannot run `{command}` (is Slurm's client installed and on PATH?)")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A Slurm command exited with an error.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// `sbatch --parsable` printed something that is not a job id.
    #[error("`{command}` printed no job id: {stdout:?}")]
    NoJobId {
        /// The command line.
        command: String,
        /// What it printed.
        stdout: String,
    },
    /// A file or folder of a submission could not be read or written.
    #[error("Slurm submission folder: {}", path.display())]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of a submission is missing or corrupt.
    #[error(transparent)]
    Read(#[from] crate::store::ReadError),
    /// An option would not survive the sbatch script (a line break, a blank in an `#SBATCH` line).
    #[error("Slurm option {name} = {value:?}: {why}")]
    BadOption {
        /// The option.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The task index is not one of the submission's tasks.
    #[error("array task {index} is not a task of {} ({count} tasks)", dir.display())]
    NoSuchTask {
        /// The submission folder.
        dir: std::path::PathBuf,
        /// The index asked for.
        index: usize,
        /// Tasks in the submission.
        count: usize,
    },
}

/// Turns an io error on `path` into a [`SlurmError::Io`] naming it.
pub(crate) fn at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SlurmError + '_ {
    move |source| SlurmError::Io { path: path.to_path_buf(), source }
}
