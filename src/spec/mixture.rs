//! `[base] mixture = { ocr = 3, doc = 3 }`: shares of the training mixture per family (default 1),
//! so that the families a study is about get more of the SFT budget.

use super::error::{Locator, SpecError};
use super::names::Family;
use std::collections::BTreeMap;
use toml::Spanned;

/// Largest share one family may take (a family of share k is drawn k times as often as one of share 1).
pub const MAX_SHARE: i64 = 16;

/// Reads the written shares: known families that some cell trains on, each share 1–[`MAX_SHARE`];
/// shares of 1 are dropped (the default), the rest kept in [`Family::ALL`] order.
pub(crate) fn check_mixture(
    loc: &Locator,
    written: Option<&Spanned<BTreeMap<String, i64>>>,
    families: &[Family],
) -> Result<Vec<(Family, usize)>, SpecError> {
    let Some(written) = written else { return Ok(vec![]) };
    let mut out = Vec::new();
    for (name, &share) in written.get_ref() {
        let key = format!("base.mixture.{name}");
        let Ok(family) = name.parse::<Family>() else {
            return Err(loc.error(
                Some(written.span()),
                key,
                format!("unknown family `{name}` in mixture"),
                Some(format!("known families: {}", Family::known())),
            ));
        };
        if !families.contains(&family) {
            return Err(loc.error(
                Some(written.span()),
                key,
                format!("mixture gives `{name}` a share, but no cell trains on it"),
                Some("name families of the `families` lists".into()),
            ));
        }
        if !(1..=MAX_SHARE).contains(&share) {
            return Err(loc.error(
                Some(written.span()),
                key,
                format!("share {share} of `{name}` is outside 1..={MAX_SHARE}"),
                Some("a share of k draws the family k times as often as a family of share 1".into()),
            ));
        }
        if share > 1 {
            out.push((family, share as usize));
        }
    }
    out.sort_by_key(|(f, _)| Family::ALL.iter().position(|g| g == f));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::spec::{parse, Family};
    use std::path::Path;

    fn spec(mixture: &str) -> Result<crate::spec::Spec, crate::spec::SpecError> {
        parse(
            Path::new("m.toml"),
            &format!(
                "[experiment]\nname = \"m\"\n[base]\nmixture = {mixture}\n[grid]\nfamilies = [[\"vqa\", \"ocr\"], [\"vqa\"]]\n"
            ),
        )
    }

    #[test]
    fn shares_reach_the_cells_that_train_on_the_family() {
        let s = spec("{ ocr = 3, vqa = 1 }").unwrap();
        assert_eq!(s.cells[0].mixture, vec![(Family::Ocr, 3)]);
        assert_eq!(s.cells[0].training_families(), vec![Family::Vqa, Family::Ocr, Family::Ocr, Family::Ocr]);
        // A cell without ocr keeps the uniform mixture (and the same stages as without `mixture`).
        assert!(s.cells[1].mixture.is_empty());
        assert_eq!(s.cells[1].training_families(), vec![Family::Vqa]);
    }

    #[test]
    fn bad_shares_are_refused_naming_the_family() {
        for (bad, key, words) in [
            ("{ ocr = 0 }", "base.mixture.ocr", "outside"),
            ("{ ocr = 17 }", "base.mixture.ocr", "outside"),
            ("{ chart = 2 }", "base.mixture.chart", "no cell trains on it"),
            ("{ charts = 2 }", "base.mixture.charts", "unknown family"),
        ] {
            let e = spec(bad).unwrap_err();
            assert_eq!(e.key, key, "{bad}: {e}");
            assert!(e.message.contains(words), "{bad}: {e}");
        }
    }
}
