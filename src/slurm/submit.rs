//! Submitting: writes a submission folder, then `sbatch --parsable` the array and its driver.

use super::submission::{slurm_dir, Folder, Submission, Task};
use super::{at, command, script, SlurmError};
use crate::plan::Plan;
use crate::store::{write_atomic, Store};

/// Writes the folder of submission `s` (its id and purpose set, no job ids yet) for the cells `cells`
/// (ids, in array order) of `plan`, with the experiment file's text `spec`; submits the array, then
/// its driver (`afterany` the array); returns `s` with both job ids, also kept in `submission.json`.
/// If the driver cannot be submitted the array stays submitted (its id is kept: `eyrie cancel`
/// finds it) and the error says so.
pub fn submit(
    store: &Store,
    mut s: Submission,
    plan: &Plan,
    cells: &[String],
    spec: &[u8],
) -> Result<(Submission, Folder), SlurmError> {
    let folder = Folder::new(slurm_dir(store, &s.experiment).join(&s.id));
    let logs = folder.logs();
    std::fs::create_dir_all(&logs).map_err(at(&logs))?;
    let tasks: Vec<Task> = cells
        .iter()
        .enumerate()
        .map(|(index, id)| {
            let c = plan.cells.iter().find(|c| &c.id == id).expect("cells of the plan");
            Task { index, cell: c.id.clone(), label: c.label.clone(), seed: c.seed }
        })
        .collect();
    folder.write_plan(plan)?;
    folder.write_tasks(&tasks)?;
    write_atomic(&folder.spec_path(), spec).map_err(at(&folder.spec_path()))?;
    folder.write_submission(&s)?;
    let array = script::array(&s, &folder, tasks.len())?;
    write_atomic(&folder.array_script(), array.as_bytes()).map_err(at(&folder.array_script()))?;
    let array_job = command::sbatch(&folder.array_script())?;
    s.array_job = Some(array_job.clone());
    folder.write_submission(&s)?;
    let driver = script::driver(&s, &folder, &array_job)?;
    write_atomic(&folder.driver_script(), driver.as_bytes()).map_err(at(&folder.driver_script()))?;
    s.driver_job = Some(command::sbatch(&folder.driver_script())?);
    folder.write_submission(&s)?;
    Ok((s, folder))
}
