//! `eyrie data`: looking at the proxy world.

use super::BadArgument;
use crate::cli::DataAction;
use anyhow::{Context, Result};
use eyrie::spec::Family;

/// Writes a contact sheet of test samples, or the world as LLaVA-format data.
pub fn cmd_data(action: DataAction) -> Result<()> {
    match action {
        DataAction::Preview { family, resolution, count, seed, out } => {
            check_resolution(resolution)?;
            eyrie::data::preview::contact_sheet(family, resolution, count, seed, &out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
        }
        DataAction::ExportLlava { out, train, eval_per_family, families, resolution, seed } => {
            check_resolution(resolution)?;
            if train == 0 {
                return Err(BadArgument("--train must be at least 1".into()).into());
            }
            let families = if families.is_empty() { Family::ALL.to_vec() } else { families };
            let done = eyrie::data::llava::export::export(&out, &families, train, eval_per_family, resolution, seed)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {}: {} training records (align.json, train.json), {} evaluation questions (eval.jsonl), images/",
                out.display(),
                done.train,
                done.eval
            );
        }
    }
    Ok(())
}

fn check_resolution(resolution: usize) -> Result<()> {
    if !(8..=2048).contains(&resolution) {
        return Err(BadArgument(format!("--resolution must be 8..=2048, got {resolution}")).into());
    }
    Ok(())
}
