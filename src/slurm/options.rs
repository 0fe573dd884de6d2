//! Where cells run (locally or on Slurm) and the Slurm job options: from `--executor` and its flags
//! over the spec's `[executor]` table.

use super::SlurmError;
use serde::{Deserialize, Serialize};

/// Where `eyrie run` computes the cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutorKind {
    /// In this process (worker threads), the default.
    #[default]
    Local,
    /// As Slurm jobs: one array task per cell.
    Slurm,
}

impl ExecutorKind {
    /// Every executor.
    pub const ALL: &'static [ExecutorKind] = &[ExecutorKind::Local, ExecutorKind::Slurm];

    /// Its spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Local => "local",
            ExecutorKind::Slurm => "slurm",
        }
    }
}

impl std::fmt::Display for ExecutorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Slurm job options of the array tasks (each `None`: Slurm's default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SlurmOptions {
    /// `--partition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// `--account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `--time`, the time limit of each task (e.g. `2:00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `--gres` (e.g. `gpu:1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gres: Option<String>,
    /// `--cpus-per-task` (also the task's worker threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_per_task: Option<u32>,
    /// `--mem`, memory per task (e.g. `16G`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    /// At most this many array tasks at once (`--array=0-N%P`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_parallelism: Option<u32>,
    /// More `sbatch` arguments, one `#SBATCH` line each (e.g. `--qos=short`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sbatch_args: Vec<String>,
}

impl SlurmOptions {
    /// These options where given, else `base`'s (command-line flags over the spec's table); extra
    /// `sbatch` arguments add up (the spec's first).
    pub fn over(&self, base: &SlurmOptions) -> SlurmOptions {
        SlurmOptions {
            partition: self.partition.clone().or_else(|| base.partition.clone()),
            account: self.account.clone().or_else(|| base.account.clone()),
            time: self.time.clone().or_else(|| base.time.clone()),
            gres: self.gres.clone().or_else(|| base.gres.clone()),
            cpus_per_task: self.cpus_per_task.or(base.cpus_per_task),
            mem: self.mem.clone().or_else(|| base.mem.clone()),
            array_parallelism: self.array_parallelism.or(base.array_parallelism),
            sbatch_args: base.sbatch_args.iter().chain(&self.sbatch_args).cloned().collect(),
        }
    }

    /// The array tasks' `sbatch` options (not `--array`), checked to fit on `#SBATCH` lines.
    pub fn task_args(&self) -> Result<Vec<String>, SlurmError> {
        let mut args = self.shared_args()?;
        if let Some(g) = &self.gres {
            args.push(format!("--gres={}", word("gres", g)?));
        }
        if let Some(c) = self.cpus_per_task {
            args.push(format!("--cpus-per-task={c}"));
        }
        if let Some(m) = &self.mem {
            args.push(format!("--mem={}", word("mem", m)?));
        }
        for a in &self.sbatch_args {
            args.push(word("sbatch-args", a)?.to_string());
        }
        Ok(args)
    }

    /// The driver job's options: where and under which account the tasks run (a driver needs no GPU,
    /// one CPU and little time).
    pub fn shared_args(&self) -> Result<Vec<String>, SlurmError> {
        let mut args = Vec::new();
        if let Some(p) = &self.partition {
            args.push(format!("--partition={}", word("partition", p)?));
        }
        if let Some(a) = &self.account {
            args.push(format!("--account={}", word("account", a)?));
        }
        if let Some(t) = &self.time {
            args.push(format!("--time={}", word("time", t)?));
        }
        Ok(args)
    }
}

/// `value` if it is one non-empty word without blanks or control characters (an `#SBATCH` line is
/// split at blanks and ends at the line break).
fn word<'a>(name: &'static str, value: &'a str) -> Result<&'a str, SlurmError> {
    let bad = |why| SlurmError::BadOption { name, value: value.to_string(), why };
    if value.is_empty() {
        return Err(bad("empty"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("blanks and control characters cannot go on an #SBATCH line"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_spec_and_extra_arguments_add_up() {
        let spec = SlurmOptions {
            partition: Some("gpu".into()),
            time: Some("1:00:00".into()),
            sbatch_args: vec!["--qos=long".into()],
            ..Default::default()
        };
        let cli = SlurmOptions { time: Some("10".into()), sbatch_args: vec!["--nice=5".into()], ..Default::default() };
        let merged = cli.over(&spec);
        assert_eq!(merged.partition.as_deref(), Some("gpu"));
        assert_eq!(merged.time.as_deref(), Some("10"));
        assert_eq!(merged.sbatch_args, ["--qos=long", "--nice=5"]);
    }

    #[test]
    fn task_arguments_carry_every_option_and_the_driver_only_where_it_runs() {
        let o = SlurmOptions {
            partition: Some("p".into()),
            account: Some("a".into()),
            time: Some("5".into()),
            gres: Some("gpu:1".into()),
            cpus_per_task: Some(4),
            mem: Some("8G".into()),
            array_parallelism: Some(2),
            sbatch_args: vec!["--requeue".into()],
        };
        assert_eq!(
            o.task_args().unwrap(),
            ["--partition=p", "--account=a", "--time=5", "--gres=gpu:1", "--cpus-per-task=4", "--mem=8G", "--requeue"]
        );
        assert_eq!(o.shared_args().unwrap(), ["--partition=p", "--account=a", "--time=5"]);
    }

    #[test]
    fn an_option_that_would_break_the_script_is_refused_by_name() {
        let o = SlurmOptions { partition: Some("gpu\n#SBATCH --x".into()), ..Default::default() };
        let e = o.task_args().unwrap_err().to_string();
        assert!(e.contains("partition") && e.contains("control"), "{e}");
        let o = SlurmOptions { sbatch_args: vec!["--comment=a b".into()], ..Default::default() };
        assert!(o.task_args().unwrap_err().to_string().contains("sbatch-args"));
    }
}
