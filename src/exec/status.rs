//! Where an experiment stands: each cell done, running, failed (with the reason) or pending, read
//! from the results folder alone (results, live claims, failure notes).

use crate::plan::Plan;
use crate::store::claim::{live_owner, ClaimPolicy};
use crate::store::{ReadError, Store};

/// The state of one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum CellState {
    /// Its result is stored.
    Done,
    /// A live process is computing one of its stages.
    Running {
        /// The stage's label.
        stage: String,
        /// The computing process.
        pid: u32,
        /// Its host.
        host: String,
    },
    /// One of its stages failed last time it ran.
    Failed {
        /// The stage's label.
        stage: String,
        /// The error.
        reason: String,
    },
    /// Not started or interrupted; `done` of `total` stages are cached.
    Pending {
        /// Stages done.
        done: usize,
        /// Stages in its chain.
        total: usize,
    },
}

/// One cell's line of the status.
#[derive(Debug, Clone, PartialEq)]
pub struct CellStatus {
    /// Label.
    pub label: String,
    /// Seed.
    pub seed: u64,
    /// State.
    pub state: CellState,
}

/// The first stage of `cell`'s chain that is not done and whose last attempt left a failure note,
/// with the note (trimmed).
pub fn failure_note<'a>(store: &Store, cell: &'a crate::plan::PlannedCell) -> Option<(&'a String, String)> {
    cell.stages
        .iter()
        .filter(|s| !store.is_done(s))
        .find_map(|s| std::fs::read_to_string(store.failure_path(s)).ok().map(|r| (s, r.trim().to_string())))
}

/// The state of every cell of `plan`, in plan order; an error if a stored result is corrupt.
pub fn status(plan: &Plan, store: &Store) -> Result<Vec<CellStatus>, ReadError> {
    let policy = ClaimPolicy::from_env();
    plan.cells
        .iter()
        .map(|c| {
            let pending = || c.stages.iter().filter(|s| !store.is_done(s));
            let failure = || failure_note(store, c);
            let state = if let Some((id, o)) =
                pending().find_map(|s| live_owner(&store.claim_path(s), &policy).map(|o| (s, o)))
            {
                CellState::Running { stage: plan.stages[id].label.clone(), pid: o.pid, host: o.host }
            } else if let Some((id, reason)) = failure() {
                CellState::Failed { stage: plan.stages[id].label.clone(), reason }
            } else if store.read_result(&plan.experiment, &c.id)?.is_some() {
                CellState::Done
            } else {
                CellState::Pending { done: c.stages.len() - pending().count(), total: c.stages.len() }
            };
            Ok(CellStatus { label: c.label.clone(), seed: c.seed, state })
        })
        .collect()
}

/// The status as text: one line per cell, then the counts.
pub fn render(statuses: &[CellStatus]) -> String {
    let mut out = String::new();
    let (mut done, mut running, mut failed, mut pending) = (0, 0, 0, 0);
    let width = statuses.iter().map(|s| s.label.chars().count()).max().unwrap_or(0);
    for s in statuses {
        let what = match &s.state {
            CellState::Done => {
                done += 1;
                "done".to_string()
            }
            CellState::Running { stage, pid, host } => {
                running += 1;
                format!("running  {stage} (pid {pid} on {host})")
            }
            CellState::Failed { stage, reason } => {
                failed += 1;
                format!("FAILED   {stage}: {reason}")
            }
            CellState::Pending { done, total } => {
                pending += 1;
                format!("pending  {done}/{total} stages cached")
            }
        };
        out.push_str(&format!("  {:<width$}  seed {:<3} {what}\n", s.label, s.seed));
    }
    out.push_str(&format!(
        "\n{done} done, {running} running, {failed} failed, {pending} pending of {} cells\n",
        statuses.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_is_read_from_the_store() {
        let spec = crate::spec::parse(
            std::path::Path::new("st.toml"),
            "[experiment]\nname = \"st\"\nscale = \"smoke\"\n[base]\nencoders = [\"clip\"]\nfamilies = \
                [\"vqa\"]\n[grid]\nunlock = [false, true]\n",
        )
        .unwrap();
        let plan = crate::plan::plan(&spec, crate::spec::Scale::Smoke);
        assert_eq!(plan.cells.len(), 3, "two cells and the blind baseline");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        std::fs::create_dir_all(dir.path().join("artifacts")).unwrap();
        // Cell 0: a result is stored.
        let r = crate::report::estimates::tests::result("x", 0, 50.0, 50.0);
        let cell_dir = store.cell_dir("st", &plan.cells[0].id);
        std::fs::create_dir_all(&cell_dir).unwrap();
        std::fs::write(cell_dir.join("result.json"), serde_json::to_string(&r).unwrap()).unwrap();
        // Cell 1: its last stage failed.
        let last = plan.cells[1].stages.last().unwrap();
        std::fs::write(store.failure_path(last), "loss became NaN\n").unwrap();
        // Cell 2 (blind): this process holds a claim on its own last stage (earlier ones are
        // shared with the other cells, which would then be running too).
        let first = plan.cells[2].stages.last().unwrap();
        let owner = crate::store::claim::Owner::this_process();
        std::fs::write(store.claim_path(first), serde_json::to_string(&owner).unwrap()).unwrap();
        let st = status(&plan, &store).unwrap();
        assert_eq!(st[0].state, CellState::Done);
        assert_eq!(
            st[1].state,
            CellState::Failed { stage: plan.stages[last].label.clone(), reason: "loss became NaN".into() }
        );
        assert!(matches!(&st[2].state, CellState::Running { pid, .. } if *pid == std::process::id()));
        // Without the claim and the failure note, both are pending with nothing cached.
        std::fs::remove_file(store.claim_path(first)).unwrap();
        std::fs::remove_file(store.failure_path(last)).unwrap();
        let st = status(&plan, &store).unwrap();
        assert!(matches!(st[1].state, CellState::Pending { done: 0, total } if total == plan.cells[1].stages.len()));
        let text = render(&st);
        assert!(text.contains("1 done, 0 running, 0 failed, 2 pending of 3 cells"), "{text}");
    }
}
