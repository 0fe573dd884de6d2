//! Which stages of the plan that ran take the cell's seed and which are shared by every seed
//! (expert and LM pretraining by default, like a public checkpoint; `pretrain-seed = "per-seed"`
//! gives each seed its own), read from the stored plan's stages.

use crate::plan::{Plan, StageKind, PRETRAIN_SEED};

/// How the stages of one kind were seeded across the plan's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeding {
    /// Every cell's stage of this kind ran with the cell's own seed.
    PerCell,
    /// Every cell's stage of this kind ran with this one seed.
    Shared(u64),
    /// Neither (stages of several seeds, not the cells').
    Mixed,
}

/// The kinds of training stages, in chain order, with their names in words; pretraining first.
const KINDS: [(&str, &str); 5] = [
    ("expert-pretrain", "expert pretraining"),
    ("lm-pretrain", "LM pretraining"),
    ("pre-align", "pre-alignment"),
    ("align", "alignment"),
    ("sft", "SFT"),
];

/// The seed a training stage ran with (None for evaluation).
fn stage_seed(kind: &StageKind) -> Option<u64> {
    kind.optim().map(|o| o.seed)
}

/// How the plan's stages of kind `name` were seeded (None when no cell has one). Pretraining that ran
/// with the shared seed in every cell counts as shared, even where that is also the cell's own seed.
pub fn seeding(plan: &Plan, name: &str) -> Option<Seeding> {
    let pairs: Vec<(u64, u64)> = plan
        .cells
        .iter()
        .flat_map(|c| c.stages.iter().filter_map(|id| plan.stages.get(id)).map(move |s| (c.seed, s)))
        .filter(|(_, s)| s.kind.name() == name)
        .filter_map(|(seed, s)| Some((seed, stage_seed(&s.kind)?)))
        .collect();
    let first = pairs.first()?.1;
    let pretraining = name.ends_with("pretrain");
    let all_shared = pairs.iter().all(|&(_, s)| s == first);
    Some(if pretraining && all_shared && first == PRETRAIN_SEED {
        Seeding::Shared(first)
    } else if pairs.iter().all(|&(cell, s)| cell == s) {
        Seeding::PerCell
    } else if all_shared {
        Seeding::Shared(first)
    } else {
        Seeding::Mixed
    })
}

/// One line for the report's "What ran": which stages take each cell's seed, which one seed for all.
pub fn markdown(plan: &Plan) -> String {
    let found: Vec<(&str, &str, Seeding)> =
        KINDS.iter().filter_map(|&(name, words)| Some((name, words, seeding(plan, name)?))).collect();
    let mut parts = Vec::new();
    let per: Vec<&str> = found.iter().filter(|f| f.2 == Seeding::PerCell).map(|f| f.1).collect();
    if !per.is_empty() {
        parts.push(format!("{} take each cell's seed", per.join(", ")));
    }
    let mut shared: Vec<u64> =
        found.iter().filter_map(|f| if let Seeding::Shared(s) = f.2 { Some(s) } else { None }).collect();
    shared.sort_unstable();
    shared.dedup();
    for s in shared {
        let kinds: Vec<&str> = found.iter().filter(|f| f.2 == Seeding::Shared(s)).map(|f| f.1).collect();
        parts.push(format!("{} ran once with seed {s} for every cell", kinds.join(", ")));
    }
    let mixed: Vec<&str> = found.iter().filter(|f| f.2 == Seeding::Mixed).map(|f| f.1).collect();
    if !mixed.is_empty() {
        parts.push(format!("{} ran with several seeds, not the cells'", mixed.join(", ")));
    }
    if parts.is_empty() {
        return String::new();
    }
    let pretraining = found.iter().filter(|f| f.0.ends_with("pretrain")).map(|f| f.2).collect::<Vec<_>>();
    let policy = if !pretraining.is_empty() && pretraining.iter().all(|s| *s == Seeding::PerCell) {
        " Pretraining is per seed (`pretrain-seed = \"per-seed\"`): the seed-to-seed spread includes it."
    } else if !pretraining.is_empty() && pretraining.iter().all(|s| matches!(s, Seeding::Shared(_))) {
        " Pretraining is shared, like a public checkpoint (`pretrain-seed = \"shared\"`, the default): the \
         seed-to-seed spread leaves its variation out."
    } else {
        ""
    };
    format!("Seeds: {}.{policy}\n\n", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{parse, Scale};
    use std::path::Path;

    fn plan_of(extra: &str, seeds: &str) -> Plan {
        let text = format!(
            "[experiment]\nname = \"s\"\nseeds = {seeds}\n{extra}\n[base]\nencoders = [\"clip\", \"sam\"]\n\
             families = [\"vqa\"]\npre-align = true\n"
        );
        crate::plan::plan(&parse(Path::new("s.toml"), &text).unwrap(), Scale::Smoke)
    }

    #[test]
    fn shared_pretraining_and_per_cell_training_are_told_apart() {
        let p = plan_of("", "[0, 1]");
        assert_eq!(seeding(&p, "expert-pretrain"), Some(Seeding::Shared(0)));
        assert_eq!(seeding(&p, "lm-pretrain"), Some(Seeding::Shared(0)));
        for kind in ["pre-align", "align", "sft"] {
            assert_eq!(seeding(&p, kind), Some(Seeding::PerCell), "{kind}");
        }
        let md = markdown(&p);
        assert!(md.contains("pre-alignment, alignment, SFT take each cell's seed"), "{md}");
        assert!(md.contains("expert pretraining, LM pretraining ran once with seed 0 for every cell"), "{md}");
        assert!(md.contains("`pretrain-seed = \"shared\"`"), "{md}");
    }

    #[test]
    fn per_seed_pretraining_is_reported_per_cell() {
        let p = plan_of("pretrain-seed = \"per-seed\"", "[0, 1]");
        assert_eq!(seeding(&p, "expert-pretrain"), Some(Seeding::PerCell));
        assert_eq!(seeding(&p, "lm-pretrain"), Some(Seeding::PerCell));
        let md = markdown(&p);
        assert!(md.contains("expert pretraining, LM pretraining, pre-alignment, alignment, SFT take each cell's seed"));
        assert!(md.contains("`pretrain-seed = \"per-seed\"`"), "{md}");
    }

    #[test]
    fn a_stage_kind_seeded_with_one_seed_for_several_cell_seeds_is_shared() {
        // As plans stored before pre-alignment took the cell's seed: every pre-align stage at seed 0.
        let mut p = plan_of("", "[1, 2]");
        for s in p.stages.values_mut() {
            if let StageKind::PreAlign { optim, .. } = &mut s.kind {
                optim.seed = 0;
            }
        }
        assert_eq!(seeding(&p, "pre-align"), Some(Seeding::Shared(0)));
        assert_eq!(seeding(&p, "eval"), None);
    }
}
