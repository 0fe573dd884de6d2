//! A claim judged from the data: the differences it rests on, each with its 95% interval and what the
//! claim expects of it, and one verdict. Every section of a report that judges a claim builds these;
//! how a section lays them out is its own business.

use crate::stats::{Estimate, Side};

/// A verdict on one claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The data show the claimed effect beyond noise.
    Reproduced,
    /// The data show the opposite, or an effect where the claim says there is none, beyond noise.
    NotReproduced,
    /// The data cannot tell: the interval holds zero, or there is no interval (one seed).
    Inconclusive,
    /// Nothing to judge: the cells the claim needs did not run.
    NotTested,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Reproduced => "reproduced",
            Verdict::NotReproduced => "not reproduced",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotTested => "not tested",
        })
    }
}

/// What a claim expects of a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A difference above zero.
    Positive,
    /// A difference below zero.
    Negative,
    /// No difference above zero beyond noise: an interval that holds zero counts as agreeing (this is
    /// the absence of a detected gain, not an equivalence test).
    NotPositive,
}

impl Expect {
    /// The verdict on `difference` (None: no data) for this expectation, from where its interval lies.
    pub fn judge(self, difference: Option<Estimate>) -> Verdict {
        let Some(d) = difference else { return Verdict::NotTested };
        match (self, d.side()) {
            (_, Side::NoInterval) => Verdict::Inconclusive,
            (Expect::Positive, Side::Above) | (Expect::Negative, Side::Below) => Verdict::Reproduced,
            (Expect::Positive, Side::Below) | (Expect::Negative, Side::Above) => Verdict::NotReproduced,
            (Expect::Positive | Expect::Negative, Side::HoldsZero) => Verdict::Inconclusive,
            (Expect::NotPositive, Side::Above) => Verdict::NotReproduced,
            (Expect::NotPositive, Side::Below | Side::HoldsZero) => Verdict::Reproduced,
        }
    }
}

/// One difference (`b − a`, with its 95% interval) and what the claim expects of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    /// The difference.
    pub difference: Estimate,
    /// What the claim expects of it.
    pub expect: Expect,
}

impl Check {
    /// A check that `difference` is as `expect` says.
    pub fn new(difference: Estimate, expect: Expect) -> Self {
        Self { difference, expect }
    }

    /// This check's verdict alone.
    pub fn verdict(self) -> Verdict {
        self.expect.judge(Some(self.difference))
    }
}

/// The verdict on a claim that rests on several checks: reproduced when every check is, not
/// reproduced when any check is, inconclusive otherwise; not tested without checks.
pub fn combine(checks: &[Check]) -> Verdict {
    let verdicts: Vec<Verdict> = checks.iter().map(|c| c.verdict()).collect();
    if verdicts.is_empty() {
        Verdict::NotTested
    } else if verdicts.iter().all(|v| *v == Verdict::Reproduced) {
        Verdict::Reproduced
    } else if verdicts.contains(&Verdict::NotReproduced) {
        Verdict::NotReproduced
    } else {
        Verdict::Inconclusive
    }
}

/// A claim with its verdict and the numbers behind it. It does not know which section shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The claim, in words.
    pub claim: String,
    /// The differences the verdict was judged from (empty when it was decided without an interval).
    pub checks: Vec<Check>,
    /// The verdict.
    pub verdict: Verdict,
    /// The numbers behind the verdict, as text.
    pub evidence: String,
}

impl Finding {
    /// A finding judged from its checks (see [`combine`]).
    pub fn judged(claim: impl Into<String>, checks: Vec<Check>, evidence: String) -> Self {
        Self { claim: claim.into(), verdict: combine(&checks), checks, evidence }
    }

    /// A finding whose verdict was decided without an interval (e.g. the claimed option ranked first).
    pub fn decided(claim: impl Into<String>, verdict: Verdict, evidence: String) -> Self {
        Self { claim: claim.into(), checks: Vec::new(), verdict, evidence }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(mean: f64, half: f64) -> Estimate {
        Estimate { mean, half }
    }

    #[test]
    fn the_interval_against_zero() {
        assert_eq!(e(3.0, 2.0).side(), Side::Above);
        assert_eq!(e(-3.0, 2.0).side(), Side::Below);
        assert_eq!(e(1.0, 2.0).side(), Side::HoldsZero);
        assert_eq!(e(-1.0, 2.0).side(), Side::HoldsZero);
        assert_eq!(e(2.0, 2.0).side(), Side::HoldsZero, "an end on zero holds it");
        assert_eq!(e(-2.0, 2.0).side(), Side::HoldsZero, "an end on zero holds it");
        assert_eq!(e(0.5, 0.0).side(), Side::Above, "a zero-width interval off zero");
        assert_eq!(e(5.0, f64::NAN).side(), Side::NoInterval);
        assert_eq!(e(f64::NAN, 1.0).side(), Side::NoInterval);
    }

    #[test]
    fn verdict_of_one_difference() {
        use Verdict::*;
        let cases = [
            // (difference, Positive, Negative, NotPositive)
            (Some(e(3.0, 2.0)), Reproduced, NotReproduced, NotReproduced),
            (Some(e(-3.0, 2.0)), NotReproduced, Reproduced, Reproduced),
            (Some(e(1.0, 2.0)), Inconclusive, Inconclusive, Reproduced),
            (Some(e(-2.0, 2.0)), Inconclusive, Inconclusive, Reproduced),
            (Some(e(9.0, f64::NAN)), Inconclusive, Inconclusive, Inconclusive),
            (None, NotTested, NotTested, NotTested),
        ];
        for (d, pos, neg, not_pos) in cases {
            assert_eq!(Expect::Positive.judge(d), pos, "{d:?} positive");
            assert_eq!(Expect::Negative.judge(d), neg, "{d:?} negative");
            assert_eq!(Expect::NotPositive.judge(d), not_pos, "{d:?} not positive");
        }
    }

    #[test]
    fn verdict_of_several_checks() {
        let up = |m: f64| Check::new(e(m, 2.0), Expect::Positive);
        assert_eq!(combine(&[up(3.0), up(5.0)]), Verdict::Reproduced);
        assert_eq!(combine(&[up(3.0), up(1.0)]), Verdict::Inconclusive, "one within noise");
        assert_eq!(combine(&[up(3.0), up(1.0), up(-4.0)]), Verdict::NotReproduced, "one against");
        assert_eq!(combine(&[]), Verdict::NotTested);
        let f = Finding::judged("c", vec![], String::new());
        assert_eq!(f.verdict, Verdict::NotTested, "missing data");
        let f = Finding::judged("c", vec![up(3.0), Check::new(e(-1.0, 2.0), Expect::NotPositive)], "x".into());
        assert_eq!((f.verdict, f.checks.len()), (Verdict::Reproduced, 2));
        assert_eq!(Verdict::NotTested.to_string(), "not tested");
    }
}
