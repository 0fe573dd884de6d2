//! The sbatch scripts of a submission: the array (one task per cell) and its driver.

use super::submission::{Folder, Submission};
use super::SlurmError;
use std::path::Path;

/// `text` single-quoted for the shell (`'` written as `'\''`).
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn path_word(p: &Path) -> Result<String, SlurmError> {
    let s = p.display().to_string();
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(SlurmError::BadOption {
            name: "path",
            value: s,
            why: "a path on an #SBATCH line cannot hold blanks or control characters",
        });
    }
    Ok(s)
}

/// The array script: task `i` runs `eyrie slurm-task <folder>`, which reads `SLURM_ARRAY_TASK_ID`.
/// Tasks are requeued after a node failure or preemption (`--requeue`; claims make a rerun safe) and
/// append to their log across requeues.
pub fn array(s: &Submission, folder: &Folder, tasks: usize) -> Result<String, SlurmError> {
    let mut range = format!("0-{}", tasks.saturating_sub(1));
    if let Some(p) = s.options.array_parallelism {
        range.push_str(&format!("%{p}"));
    }
    let mut lines = vec![
        format!("--job-name=eyrie-{}", s.experiment),
        format!("--array={range}"),
        format!("--output={}/task-%a.out", path_word(&folder.logs())?),
        format!("--chdir={}", path_word(&s.workdir)?),
        "--requeue".to_string(),
        "--open-mode=append".to_string(),
    ];
    lines.extend(s.options.task_args()?);
    let run = format!(
        "exec {} slurm-task {}",
        quote(&s.eyrie.display().to_string()),
        quote(&folder.dir.display().to_string())
    );
    Ok(script(&lines, &run))
}

/// The driver script: after every task of `array_job` ended, however it ended (`afterany`: a failed
/// cell is data, and `afterok` would leave the driver pending forever), `eyrie slurm-driver <folder>`.
pub fn driver(s: &Submission, folder: &Folder, array_job: &str) -> Result<String, SlurmError> {
    let mut lines = vec![
        format!("--job-name=eyrie-{}-driver", s.experiment),
        format!("--dependency=afterany:{array_job}"),
        format!("--output={}/driver.out", path_word(&folder.logs())?),
        format!("--chdir={}", path_word(&s.workdir)?),
        "--open-mode=append".to_string(),
    ];
    lines.extend(s.options.shared_args()?);
    let run = format!(
        "exec {} slurm-driver {}",
        quote(&s.eyrie.display().to_string()),
        quote(&folder.dir.display().to_string())
    );
    Ok(script(&lines, &run))
}

fn script(sbatch: &[String], run: &str) -> String {
    let mut text =
        String::from("#!/bin/bash\n# Written by `eyrie run --executor slurm`; `sbatch` it again to rerun.\n");
    for l in sbatch {
        text.push_str(&format!("#SBATCH {l}\n"));
    }
    text.push_str(run);
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slurm::{Purpose, SlurmOptions};
    use std::path::PathBuf;

    fn submission() -> Submission {
        Submission {
            id: "x".into(),
            experiment: "smoke".into(),
            purpose: Purpose::Grid,
            scale: crate::spec::Scale::Smoke,
            precision: Default::default(),
            backend: "flex".into(),
            results: "/r".into(),
            reports: "/rep".into(),
            workdir: "/w".into(),
            eyrie: "/bin/it's eyrie".into(),
            options: SlurmOptions { array_parallelism: Some(3), gres: Some("gpu:1".into()), ..Default::default() },
            array_job: None,
            driver_job: None,
        }
    }

    #[test]
    fn the_array_runs_one_task_per_cell_at_most_p_at_once() {
        let f = Folder::new(PathBuf::from("/r/smoke/slurm/x"));
        let text = array(&submission(), &f, 4).unwrap();
        assert!(text.starts_with("#!/bin/bash\n"), "{text}");
        for line in [
            "#SBATCH --array=0-3%3\n",
            "#SBATCH --output=/r/smoke/slurm/x/logs/task-%a.out\n",
            "#SBATCH --chdir=/w\n",
            "#SBATCH --requeue\n",
            "#SBATCH --gres=gpu:1\n",
            "exec '/bin/it'\\''s eyrie' slurm-task '/r/smoke/slurm/x'\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn the_driver_waits_for_every_task_however_it_ended_and_needs_no_gpu() {
        let f = Folder::new(PathBuf::from("/r/smoke/slurm/x"));
        let text = driver(&submission(), &f, "42").unwrap();
        assert!(text.contains("#SBATCH --dependency=afterany:42\n"), "{text}");
        assert!(!text.contains("gres"), "{text}");
        assert!(text.contains("slurm-driver '/r/smoke/slurm/x'"), "{text}");
    }
}
