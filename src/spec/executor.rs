//! `[executor]`: where `eyrie run` computes the cells unless `--executor` says otherwise, and the
//! Slurm job options (command-line flags override each).

use crate::slurm::{ExecutorKind, SlurmOptions};
use serde::{Deserialize, Serialize};

/// The spec's executor settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executor {
    /// Where cells run by default (`kind = "slurm"`; default local).
    #[serde(default)]
    pub kind: ExecutorKind,
    /// The Slurm job options.
    #[serde(default)]
    pub slurm: SlurmOptions,
}

/// `[executor]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawExecutor {
    #[serde(default)]
    kind: Option<ExecutorKind>,
    #[serde(default)]
    partition: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    gres: Option<String>,
    #[serde(default)]
    cpus_per_task: Option<u32>,
    #[serde(default)]
    mem: Option<String>,
    #[serde(default)]
    array_parallelism: Option<u32>,
    #[serde(default)]
    sbatch_args: Vec<String>,
}

impl RawExecutor {
    /// The settings it states.
    pub(crate) fn resolve(&self) -> Executor {
        let r = self;
        Executor {
            kind: r.kind.unwrap_or_default(),
            slurm: SlurmOptions {
                partition: r.partition.clone(),
                account: r.account.clone(),
                time: r.time.clone(),
                gres: r.gres.clone(),
                cpus_per_task: r.cpus_per_task,
                mem: r.mem.clone(),
                array_parallelism: r.array_parallelism,
                sbatch_args: r.sbatch_args.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::slurm::ExecutorKind;

    fn parse(extra: &str) -> Result<crate::spec::Spec, crate::spec::SpecError> {
        crate::spec::parse(
            std::path::Path::new("e.toml"),
            &format!("[experiment]\nname = \"e\"\nscale = \"smoke\"\n[base]\nfamilies = [\"vqa\"]\n{extra}"),
        )
    }

    #[test]
    fn the_executor_table_sets_the_kind_and_slurm_options() {
        assert_eq!(parse("").unwrap().executor, Default::default());
        let s = parse(
            "[executor]\nkind = \"slurm\"\npartition = \"gpu\"\ngres = \"gpu:1\"\ncpus-per-task = 4\n\
             array-parallelism = 8\nsbatch-args = [\"--qos=short\"]\n",
        )
        .unwrap();
        assert_eq!(s.executor.kind, ExecutorKind::Slurm);
        assert_eq!(s.executor.slurm.partition.as_deref(), Some("gpu"));
        assert_eq!(s.executor.slurm.cpus_per_task, Some(4));
        assert_eq!(s.executor.slurm.sbatch_args, ["--qos=short"]);
    }

    #[test]
    fn an_unknown_executor_or_key_is_a_spec_error() {
        let e = parse("[executor]\nkind = \"pbs\"\n").unwrap_err().to_string();
        assert!(e.contains("executor.kind") && e.contains("pbs"), "{e}");
        let e = parse("[executor]\nqueue = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("queue"), "{e}");
    }
}
