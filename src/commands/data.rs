//! `eyrie data`: looking at the proxy world.

use super::BadArgument;
use crate::cli::DataAction;
use anyhow::{Context, Result};

/// Writes a contact sheet of test samples.
pub fn cmd_data(action: DataAction) -> Result<()> {
    let DataAction::Preview { family, resolution, count, seed, out } = action;
    if !(8..=2048).contains(&resolution) {
        return Err(BadArgument(format!("--resolution must be 8..=2048, got {resolution}")).into());
    }
    eyrie::data::preview::contact_sheet(family, resolution, count, seed, &out)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
