//! Slurm's view of a submission's jobs: `squeue` for the live ones, then `sacct` where accounting
//! exists, else the job-completion file (`jobcomp/filetxt`), for the finished ones.

use super::{command, jobcomp, SlurmError};
use std::collections::BTreeMap;

/// Why a job failed, as Slurm says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailReason {
    /// It ran past its time limit (`TIMEOUT`).
    TimeLimit,
    /// It used more memory than it asked for (`OUT_OF_MEMORY`).
    OutOfMemory,
    /// It was cancelled (`scancel`, or an impossible dependency).
    Cancelled,
    /// Its node failed.
    NodeFail,
    /// It was preempted (and not requeued).
    Preempted,
    /// It exited with this code.
    ExitCode(i32),
    /// A signal killed it.
    Signal(i32),
    /// Another end state, by Slurm's name.
    Other(String),
}

impl std::fmt::Display for FailReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailReason::TimeLimit => f.write_str("time limit"),
            FailReason::OutOfMemory => f.write_str("out of memory"),
            FailReason::Cancelled => f.write_str("cancelled"),
            FailReason::NodeFail => f.write_str("node failure"),
            FailReason::Preempted => f.write_str("preempted"),
            FailReason::ExitCode(c) => write!(f, "exit code {c}"),
            FailReason::Signal(s) => write!(f, "killed by signal {s}"),
            FailReason::Other(s) => f.write_str(s),
        }
    }
}

/// One job's (or array task's) state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Waiting to start (Slurm's reason: `Resources`, `Dependency`, …).
    Pending(String),
    /// Running (or completing).
    Running,
    /// Ended with exit code 0.
    Completed,
    /// Ended otherwise.
    Failed(FailReason),
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobState::Pending(r) if r.is_empty() || r == "None" => f.write_str("pending"),
            JobState::Pending(r) => write!(f, "pending ({r})"),
            JobState::Running => f.write_str("running"),
            JobState::Completed => f.write_str("completed"),
            JobState::Failed(r) => write!(f, "failed: {r}"),
        }
    }
}

/// A job's state from Slurm's state name (the first word: `CANCELLED by 0`) and its exit code
/// `code:signal`; `reason` is squeue's for a pending job.
pub fn parse_state(state: &str, exit: &str, reason: &str) -> Option<JobState> {
    let name = state.split_whitespace().next()?;
    let (code, signal) = exit.split_once(':').unwrap_or((exit, "0"));
    let (code, signal) = (code.trim().parse::<i32>().unwrap_or(0), signal.trim().parse::<i32>().unwrap_or(0));
    Some(match name {
        "PENDING" | "PD" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "CONFIGURING" | "CF" | "SUSPENDED" | "S"
        | "RESV_DEL_HOLD" => JobState::Pending(reason.to_string()),
        "RUNNING" | "R" | "COMPLETING" | "CG" | "STAGE_OUT" | "SO" | "SIGNALING" => JobState::Running,
        "COMPLETED" | "CD" if code == 0 && signal == 0 => JobState::Completed,
        "TIMEOUT" | "TO" | "DEADLINE" => JobState::Failed(FailReason::TimeLimit),
        "OUT_OF_MEMORY" | "OOM" => JobState::Failed(FailReason::OutOfMemory),
        "CANCELLED" | "CA" => JobState::Failed(FailReason::Cancelled),
        "NODE_FAIL" | "NF" | "BOOT_FAIL" | "BF" => JobState::Failed(FailReason::NodeFail),
        "PREEMPTED" | "PR" => JobState::Failed(FailReason::Preempted),
        _ if signal != 0 => JobState::Failed(FailReason::Signal(signal)),
        _ if code != 0 => JobState::Failed(FailReason::ExitCode(code)),
        other => JobState::Failed(FailReason::Other(other.to_string())),
    })
}

/// The states Slurm knows of, by job key (`<job>` or `<array job>_<task>`).
pub type View = BTreeMap<String, JobState>;

/// The key of array task `index` of `array_job`.
pub fn task_key(array_job: &str, index: usize) -> String {
    format!("{array_job}_{index}")
}

/// The live jobs (`squeue`), by key: every array task on its own line.
pub fn live() -> Result<View, SlurmError> {
    Ok(parse_squeue(&command::output("squeue", &["-h", "-r", "-o", "%i|%T|%r"])?))
}

/// `squeue -h -r -o '%i|%T|%r'`'s lines as states.
pub fn parse_squeue(text: &str) -> View {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().splitn(3, '|');
            let (id, state, reason) = (f.next()?, f.next()?, f.next().unwrap_or(""));
            Some((id.to_string(), parse_state(state, "0:0", reason)?))
        })
        .collect()
}

/// The ended jobs among `jobs` (job ids; an array job's tasks come with it): from `sacct` when
/// accounting is on, else from the job-completion file, else none (what Slurm forgot, the result
/// files still tell). The words say which source answered.
pub fn ended(jobs: &[String]) -> (View, &'static str) {
    if jobs.is_empty() {
        return (View::new(), "");
    }
    let list = jobs.join(",");
    if let Ok(text) = command::output("sacct", &["-n", "-P", "-X", "-j", &list, "-o", "JobID,State,ExitCode"]) {
        return (parse_sacct(&text), "sacct");
    }
    match jobcomp::read_configured(jobs) {
        Some(view) => (view, "the job-completion file"),
        None => (View::new(), "no accounting"),
    }
}

/// `sacct -n -P -X -o JobID,State,ExitCode`'s lines as states (a pending array's `12_[3-7]` skipped).
pub fn parse_sacct(text: &str) -> View {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split('|');
            let (id, state, exit) = (f.next()?, f.next()?, f.next().unwrap_or("0:0"));
            if id.contains('[') {
                return None;
            }
            Some((id.to_string(), parse_state(state, exit, "")?))
        })
        .collect()
}

/// Slurm's view of `jobs`: the ended ones, then the live ones over them (a requeued task is live again).
pub fn view(jobs: &[String]) -> Result<(View, &'static str), SlurmError> {
    let (mut all, source) = ended(jobs);
    let live = live()?;
    let mine = |k: &str| jobs.iter().any(|j| k == j || k.strip_prefix(j.as_str()).is_some_and(|r| r.starts_with('_')));
    all.extend(live.into_iter().filter(|(k, _)| mine(k)));
    Ok((all, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_say_why() {
        assert_eq!(parse_state("TIMEOUT", "0:0", ""), Some(JobState::Failed(FailReason::TimeLimit)));
        assert_eq!(parse_state("OUT_OF_MEMORY", "0:125", ""), Some(JobState::Failed(FailReason::OutOfMemory)));
        assert_eq!(parse_state("CANCELLED by 0", "0:15", ""), Some(JobState::Failed(FailReason::Cancelled)));
        assert_eq!(parse_state("FAILED", "3:0", ""), Some(JobState::Failed(FailReason::ExitCode(3))));
        assert_eq!(parse_state("FAILED", "0:9", ""), Some(JobState::Failed(FailReason::Signal(9))));
        assert_eq!(parse_state("COMPLETED", "0:0", ""), Some(JobState::Completed));
        assert_eq!(parse_state("PENDING", "", "Dependency"), Some(JobState::Pending("Dependency".into())));
        assert_eq!(JobState::Failed(FailReason::TimeLimit).to_string(), "failed: time limit");
    }

    #[test]
    fn squeue_and_sacct_lines_are_keyed_by_task() {
        let v = parse_squeue("12_0|RUNNING|None\n12_1|PENDING|Resources\n13|PENDING|Dependency\n");
        assert_eq!(v["12_0"], JobState::Running);
        assert_eq!(v["12_1"], JobState::Pending("Resources".into()));
        assert_eq!(v["13"].to_string(), "pending (Dependency)");
        let v = parse_sacct("12_0|COMPLETED|0:0\n12_1|TIMEOUT|0:0\n12_[2-3]|PENDING|0:0\n");
        assert_eq!(v.len(), 2);
        assert_eq!(v["12_1"], JobState::Failed(FailReason::TimeLimit));
    }
}
