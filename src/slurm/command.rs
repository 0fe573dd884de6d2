//! Running Slurm's commands: `sbatch --parsable`, `scancel`, and reading the output of the others.

use super::SlurmError;
use std::path::Path;
use std::process::Command;

/// Runs `program args…`; its stdout, or an error naming the command line and its stderr.
pub fn output(program: &str, args: &[&str]) -> Result<String, SlurmError> {
    let command = std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| SlurmError::Spawn { command: command.clone(), source })?;
    if !out.status.success() {
        return Err(SlurmError::Failed {
            command,
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Submits `script` with `sbatch --parsable`; returns the job id.
pub fn sbatch(script: &Path) -> Result<String, SlurmError> {
    let path = script.display().to_string();
    let stdout = output("sbatch", &["--parsable", &path])?;
    job_id(&stdout).ok_or_else(|| SlurmError::NoJobId { command: format!("sbatch --parsable {path}"), stdout })
}

/// The job id `sbatch --parsable` printed (`123`, or `123;cluster` on a federation).
pub fn job_id(stdout: &str) -> Option<String> {
    let id = stdout.trim().split(';').next()?.trim();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_string())
}

/// Cancels `jobs` (an array job id cancels every task of it).
pub fn scancel(jobs: &[String]) -> Result<(), SlurmError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let args: Vec<&str> = jobs.iter().map(|s| s.as_str()).collect();
    output("scancel", &args).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_id_is_read_with_or_without_a_cluster_name() {
        assert_eq!(job_id("123\n").as_deref(), Some("123"));
        assert_eq!(job_id("77;cluster\n").as_deref(), Some("77"));
        assert_eq!(job_id("sbatch: error\n"), None);
        assert_eq!(job_id(""), None);
    }

    #[test]
    fn a_missing_command_is_named() {
        let e = output("eyrie-no-such-slurm-command", &["-x"]).unwrap_err().to_string();
        assert!(e.contains("eyrie-no-such-slurm-command -x"), "{e}");
    }
}
