//! The report's hypotheses section: one row per hypothesis (the numbers, the interval, the test, the
//! corrected p-value and the verdict), then each comparison's per-seed estimates.

use super::judge::{interval_level, test_words, Judged, Tested, Verdict, ALPHA};

fn interval_text(t: &Tested, level: f64) -> String {
    match &t.test {
        Some(test) => {
            let (lo, hi) = test.interval(level);
            format!("{:+.1} [{:+.1}, {:+.1}]", test.mean, lo, hi)
        }
        None => format!("{:+.1} (no interval)", t.mean()),
    }
}

fn p_text(p: Option<(f64, f64)>) -> String {
    match p {
        Some((raw, adjusted)) => format!("{} ({})", p_fmt(adjusted), p_fmt(raw)),
        None => "—".into(),
    }
}

fn p_fmt(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// The section's body: an explanation, the table and the per-seed details. `pre_registered` tells,
/// per hypothesis, whether it was in the experiment file that ran.
pub fn section(judged: &[Judged], pre_registered: &[bool]) -> String {
    if judged.is_empty() {
        return String::new();
    }
    let with_p = judged.iter().filter(|j| j.p_support.is_some()).count();
    let correction = if with_p == 0 {
        "No hypothesis here has two or more seeds, so none is tested.".to_string()
    } else {
        format!(
            "p-values are Holm-corrected across the {with_p} hypotheses with seeds (raw in brackets; the claims' and \
             their opposites' p-values separately) and compared with {ALPHA}."
        )
    };
    let mut md = format!(
        "Each hypothesis's contrast gives one estimate per seed, in score points, from cells paired by seed. With \
         two or more seeds it is tested with Student's t over the seeds (the interval is the t interval: 95%, or 90% \
         for two one-sided tests); a claim of several comparisons (`best`) is supported only if every comparison \
         is, and contradicted if any is (Bonferroni within it); a comparison whose estimate is the same for every \
         seed has no spread to test and stays inconclusive. {correction} With one seed a hypothesis is only \
         indicative: seed-to-seed spread is larger than the spread over test questions, so one seed decides \
         nothing.\n\n"
    );
    let posthoc: Vec<usize> =
        (0..judged.len()).filter(|&i| !pre_registered.get(i).copied().unwrap_or(false)).map(|i| i + 1).collect();
    if !posthoc.is_empty() {
        md.push_str(&format!(
            "Not pre-registered: hypotheses {} are not in the experiment file that ran (`spec.toml` beside the \
             results); they were stated after these results existed.\n\n",
            posthoc.iter().map(|i| format!("H{i}")).collect::<Vec<_>>().join(", ")
        ));
    }
    md.push_str(
        "| # | claim | contrast | metric | expects | seeds | estimate [interval] | test | p claim (Holm) | p opposite (Holm) | verdict |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (i, j) in judged.iter().enumerate() {
        let h = &j.hypothesis;
        let level = interval_level(h.expect);
        let estimate = match j.tested.as_slice() {
            [] => "—".to_string(),
            [one] => interval_text(one, level),
            many => format!("{} comparisons, below", many.len()),
        };
        let within = if h.within.levels.is_empty() { String::new() } else { format!(" where {}", h.within) };
        let verdict = match j.verdict {
            Verdict::Supported | Verdict::Contradicted => format!("**{}**", j.verdict),
            v => v.to_string(),
        };
        md.push_str(&format!(
            "| H{} | {} | {}{within} | {} | {} | {} | {estimate} | {} | {} | {} | {verdict} |\n",
            i + 1,
            h.claim,
            h.contrast,
            h.metric,
            h.expect,
            j.seeds(),
            test_words(h.expect),
            p_text(j.p_support),
            p_text(j.p_contra),
        ));
    }
    md.push_str("\nPer-seed estimates:\n\n");
    for (i, j) in judged.iter().enumerate() {
        if j.tested.is_empty() {
            md.push_str(&format!("- H{}: the cells it compares did not run.\n", i + 1));
            continue;
        }
        for t in &j.tested {
            let seeds: Vec<String> = t.per_seed.iter().map(|(s, x)| format!("seed {s} {x:+.1}")).collect();
            md.push_str(&format!(
                "- H{}: {}: {}; mean {}{}\n",
                i + 1,
                t.comparison.name,
                seeds.join(", "),
                interval_text(t, interval_level(j.hypothesis.expect)),
                t.p_support.map(|p| format!(", p {}", p_fmt(p))).unwrap_or_default()
            ));
        }
    }
    md
}

/// The adaptive-seeds subsection: the stopping rule in words and how many seeds each cell got.
pub fn adaptive(rule: &super::sequential::SequentialRule, results: &[crate::store::CellResult]) -> String {
    // Counted per cell (its settings' key: labels leave some settings out), shown by label.
    let mut seeds: Vec<(String, String, usize)> = Vec::new();
    for r in results {
        let key = r.settings.as_ref().map_or_else(|| r.label.clone(), |s| s.key());
        match seeds.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, n)) => *n += 1,
            None => seeds.push((key, r.label.clone(), 1)),
        }
    }
    let mut md = format!(
        "\n### Adaptive seeds\n\nThe p-values above are sequential p-values: {}\n\n| cell | seeds |\n|---|---|\n",
        rule.words(ALPHA)
    );
    for (_, label, n) in &seeds {
        md.push_str(&format!("| {label} | {n} |\n"));
    }
    md.push_str(&format!("\n{} runs in all.\n", results.len()));
    md
}
