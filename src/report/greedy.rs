//! The greedy round-robin section of a report: Eagle (arXiv 2408.15998) Sec. 3.6 "Extension to
//! multi-experts". Every round's candidates with their intervals, the winner and its gain, the
//! trajectory, and the chosen sets beside the paper's.

use crate::search::greedy::{set_label, GreedyOutcome};
use crate::spec::ExpertKind;

fn score_text(mean: f64, half: f64) -> String {
    if half.is_nan() {
        format!("{mean:.1}")
    } else {
        format!("{mean:.1} ± {half:.1}")
    }
}

/// The paper's set after `round` additions from CLIP, where the paper names it (Sec. 3.6).
fn paper_set(round: usize) -> Option<Vec<ExpertKind>> {
    use ExpertKind::*;
    match round {
        1 => Some(vec![Clip, ConvNext]),
        3 => Some(vec![Clip, ConvNext, Pix2Struct, Eva02]),
        4 => Some(vec![Clip, ConvNext, Pix2Struct, Eva02, Sam]),
        _ => None,
    }
}

fn same_members(a: &[ExpertKind], b: &[ExpertKind]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

/// The section's markdown.
pub fn markdown(o: &GreedyOutcome) -> String {
    let mut md = format!(
        "Metric: `{}`, mean over seeds ± the half-width of a 95% t-interval. The winner of each round is compared \
         with the runner-up paired by seed. Stopped: {}.\n\n",
        o.metric, o.stop
    );
    md.push_str("| round | candidate set | score | gain over the round's start | note |\n|---|---|---|---|---|\n");
    md.push_str(&format!(
        "| 0 | {} (start) | {} |  |  |\n",
        set_label(&o.start.set),
        score_text(o.start.mean, o.start.half_width)
    ));
    for r in &o.rounds {
        for (i, c) in r.candidates.iter().enumerate() {
            let note = if i == 0 {
                let vs = match (r.over_runner_up, r.beats_runner_up()) {
                    (Some((d, h)), Some(true)) => format!(", beats the runner-up by {d:+.1} ± {h:.1} (beyond noise)"),
                    (Some((d, h)), Some(false)) => format!(", over the runner-up {d:+.1} ± {h:.1} (within noise)"),
                    (Some((d, _)), None) => format!(", over the runner-up {d:+.1} (one seed: no interval)"),
                    _ => String::new(),
                };
                format!("**winner**{}{vs}", if r.kept { "" } else { " — not kept (gain below min-gain)" })
            } else {
                String::new()
            };
            let set = if i == 0 { format!("**{}**", set_label(&c.set)) } else { set_label(&c.set) };
            md.push_str(&format!(
                "| {} | {set} | {} | {:+.1} | {note} |\n",
                r.index,
                score_text(c.mean, c.half_width),
                c.mean - r.from_mean
            ));
        }
    }
    md.push_str("\nTrajectory of the best score: ");
    let traj: Vec<String> = o.trajectory().iter().map(|(s, m)| format!("{} {m:.1}", set_label(s))).collect();
    md.push_str(&traj.join(" → "));
    md.push_str(
        "\n\nBeside the paper's order (CLIP → +ConvNeXt → … X4 = CLIP, ConvNeXt, Pix2Struct, EVA-02; \
         X5 adds SAM):\n\n",
    );
    md.push_str("| after round | chosen here | paper | same experts |\n|---|---|---|---|\n");
    for (k, (set, _)) in o.trajectory().iter().enumerate().skip(1) {
        let (paper, same) = match paper_set(k) {
            Some(p) => (set_label(&p), if same_members(set, &p) { "yes" } else { "no" }),
            None => ("(not named)".into(), "—"),
        };
        md.push_str(&format!("| {k} | {} | {paper} | {same} |\n", set_label(set)));
    }
    md
}
