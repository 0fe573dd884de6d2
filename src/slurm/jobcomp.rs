//! Slurm's job-completion file (`JobCompType=jobcomp/filetxt`): where a cluster without accounting
//! (no slurmdbd, so no `sacct`) records each ended job, one `Key=Value …` line per job.

use super::command;
use super::state::{parse_state, task_key, View};

/// The ended jobs among `jobs` from the job-completion file `scontrol show config` names, if the
/// cluster writes one and it can be read.
pub fn read_configured(jobs: &[String]) -> Option<View> {
    let config = command::output("scontrol", &["show", "config"]).ok()?;
    let setting = |key: &str| {
        config.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    if setting("JobCompType")? != "jobcomp/filetxt" {
        return None;
    }
    let text = std::fs::read_to_string(setting("JobCompLoc")?).ok()?;
    Some(parse(&text, jobs))
}

/// The lines of `text` about `jobs` (a job id, or an array job id for its tasks), by key; a job
/// that ended twice (requeued) keeps its last line.
pub fn parse(text: &str, jobs: &[String]) -> View {
    let mut view = View::new();
    for line in text.lines() {
        let field =
            |key: &str| line.split_whitespace().find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')));
        let (Some(id), Some(state)) = (field("JobId"), field("JobState")) else { continue };
        let (key, owner) = match (field("ArrayJobId"), field("ArrayTaskId")) {
            (Some(a), Some(t)) if t.parse::<usize>().is_ok() => (task_key(a, t.parse().unwrap()), a),
            _ => (id.to_string(), id),
        };
        if !jobs.iter().any(|j| j == owner || j == id) {
            continue;
        }
        if let Some(s) = parse_state(state, field("ExitCode").unwrap_or("0:0"), "") {
            view.insert(key, s);
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slurm::state::{FailReason, JobState};

    #[test]
    fn array_tasks_are_keyed_by_their_array_and_index() {
        let text = "JobId=16 UserId=root(0) JobState=FAILED Partition=debug ArrayJobId=15 ArrayTaskId=0 \
                    DerivedExitCode=0:0 ExitCode=0:9 \n\
                    JobId=17 JobState=COMPLETED ExitCode=0:0 \n\
                    JobId=15 JobState=TIMEOUT ArrayJobId=15 ArrayTaskId=1 ExitCode=0:0 \n\
                    JobId=9 JobState=COMPLETED ExitCode=0:0 \n";
        let v = parse(text, &["15".into(), "17".into()]);
        assert_eq!(v.len(), 3, "{v:?}");
        assert_eq!(v["15_0"], JobState::Failed(FailReason::Signal(9)));
        assert_eq!(v["15_1"], JobState::Failed(FailReason::TimeLimit));
        assert_eq!(v["17"], JobState::Completed);
    }
}
