//! LaTeX tables (booktabs): one row per cell, mean ± 95% half-width per family and the average,
//! the best mean of each column in bold (the blind baseline never counts as best).

use super::estimates::{self, CellEstimates};
use crate::stats::Estimate;

/// Escapes LaTeX's special characters in text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str(r"\textbackslash{}"),
            '_' | '&' | '%' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str(r"\textasciitilde{}"),
            '^' => out.push_str(r"\textasciicircum{}"),
            '±' => out.push_str(r"$\pm$"),
            _ => out.push(ch),
        }
    }
    out
}

fn cell(e: Option<Estimate>, best: Option<f64>) -> String {
    let Some(e) = e else { return "--".into() };
    let mean = format!("{:.1}", e.mean);
    let mean = if best.is_some_and(|b| (b - e.mean).abs() < 1e-9) { format!(r"\textbf{{{mean}}}") } else { mean };
    if e.half.is_finite() {
        format!(r"{mean} {{\scriptsize $\pm$ {:.1}}}", e.half)
    } else {
        mean
    }
}

/// The table as a complete `table` environment with a caption.
pub fn table(cells: &[CellEstimates], caption: &str) -> String {
    let fams = estimates::families(cells);
    let best = |get: &dyn Fn(&CellEstimates) -> Option<Estimate>| -> Option<f64> {
        cells
            .iter()
            .filter(|c| c.settings.is_some())
            .filter_map(get)
            .map(|e| e.mean)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    };
    let mut out = String::new();
    out.push_str("% requires \\usepackage{booktabs}\n\\begin{table}[t]\n\\centering\n\\small\n");
    out.push_str(&format!("\\begin{{tabular}}{{lr{}r}}\n\\toprule\n", "r".repeat(fams.len())));
    let mut head = vec!["cell".to_string(), "seeds".into()];
    head.extend(fams.iter().map(|f| escape(&f.to_string())));
    head.push("average".into());
    out.push_str(&format!("{} \\\\\n\\midrule\n", head.join(" & ")));
    let fam_best: Vec<Option<f64>> = fams.iter().map(|f| best(&|c: &CellEstimates| c.family(*f))).collect();
    let avg_best = best(&|c: &CellEstimates| Some(c.average));
    for (i, c) in cells.iter().enumerate() {
        if c.settings.is_none() && i > 0 {
            out.push_str("\\midrule\n");
        }
        let mut row = vec![format!("\\texttt{{{}}}", escape(&c.label)), c.seeds.to_string()];
        row.extend(fams.iter().zip(&fam_best).map(|(f, b)| cell(c.family(*f), *b)));
        row.push(cell(Some(c.average), avg_best));
        out.push_str(&format!("{} \\\\\n", row.join(" & ")));
    }
    out.push_str(&format!("\\bottomrule\n\\end{{tabular}}\n\\caption{{{}}}\n\\end{{table}}\n", escape(caption)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::estimates::{by_cell, tests::result};

    /// Braces balance when escaped ones are skipped.
    fn balanced(tex: &str) -> bool {
        let mut depth = 0i32;
        let mut prev = ' ';
        for ch in tex.chars() {
            if prev != '\\' {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth < 0 {
                    return false;
                }
            }
            prev = if prev == '\\' && ch == '\\' { ' ' } else { ch };
        }
        depth == 0
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape("a_b & 50% #1 $x {y} ~ ^"),
            r"a\_b \& 50\% \#1 \$x \{y\} \textasciitilde{} \textasciicircum{}"
        );
    }

    #[test]
    fn table_is_balanced_escaped_and_bolds_the_best_non_blind_mean() {
        let mut a = result("clip/channel_concat/frozen", 0, 40.0, 70.0);
        a.settings = Some(crate::report::rows::tests::settings());
        let mut b = result("clip/unlocked", 0, 55.0, 60.0);
        b.settings = Some(crate::report::rows::tests::settings());
        let blind = result("blind", 0, 90.0, 90.0);
        let tex = table(&by_cell(&[a, b, blind]), "Scores (%) of run_1");
        assert!(balanced(&tex), "{tex}");
        assert!(tex.contains(r"\begin{tabular}{lrrrr}") && tex.contains(r"\toprule") && tex.contains(r"\bottomrule"));
        assert!(tex.contains(r"clip/channel\_concat/frozen") && tex.contains(r"run\_1"));
        assert!(!tex.contains("channel_concat"), "no raw underscore");
        // vqa best is 55.0 (b), pope best 70.0 (a), average best 57.5 (b); blind's 90 is not bold.
        assert!(tex.contains(r"\textbf{55.0}") && tex.contains(r"\textbf{70.0}") && tex.contains(r"\textbf{57.5}"));
        assert!(!tex.contains(r"\textbf{90.0}"));
        assert_eq!(tex.matches(r"\textbf").count(), 3);
    }
}
