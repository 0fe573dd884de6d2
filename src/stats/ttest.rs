//! The one-sample Student-t test: interval, one-sided p-values and TOST equivalence (Student 1908;
//! Schuirmann 1987).

use super::dist::{t_sf, t_upper};

/// A one-sample Student-t analysis of `xs` (e.g. per-seed paired differences).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// Number of values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation (denominator n − 1).
    pub sd: f64,
    /// Standard error of the mean, sd/√n.
    pub se: f64,
    /// Degrees of freedom, n − 1.
    pub df: f64,
}

impl TTest {
    /// The analysis of `xs`; None with fewer than 2 values or any value NaN or infinite.
    pub fn of(xs: &[f64]) -> Option<TTest> {
        if xs.len() < 2 || xs.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let n = xs.len();
        let count = n as f64;
        let mean = xs.iter().sum::<f64>() / count;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (count - 1.0)).sqrt();
        Some(TTest { n, mean, sd, se: sd / count.sqrt(), df: count - 1.0 })
    }

    /// Two-sided confidence interval for the true mean at `level` (e.g. 0.95): mean ± t_{(1+level)/2, df}·se.
    /// Zero-width at sd = 0; (NaN, NaN) unless 0 < `level` < 1.
    pub fn interval(&self, level: f64) -> (f64, f64) {
        let half = t_upper((1.0 - level) / 2.0, self.df) * self.se;
        if !(level > 0.0 && level < 1.0) || half.is_nan() {
            (f64::NAN, f64::NAN)
        } else {
            (self.mean - half, self.mean + half)
        }
    }

    /// The t statistic (mean − h0)/se (NaN at sd = 0).
    pub fn statistic(&self, h0: f64) -> f64 {
        if self.se > 0.0 {
            (self.mean - h0) / self.se
        } else {
            f64::NAN
        }
    }

    /// One-sided p-value of H1: mu > `h0`. At sd = 0: 0 when the mean is above `h0`, else 1. NaN for a NaN `h0`.
    pub fn p_greater(&self, h0: f64) -> f64 {
        if h0.is_nan() {
            f64::NAN
        } else if self.se > 0.0 {
            t_sf(self.statistic(h0), self.df)
        } else if self.mean > h0 {
            0.0
        } else {
            1.0
        }
    }

    /// One-sided p-value of H1: mu < `h0`. At sd = 0: 0 when the mean is below `h0`, else 1. NaN for a NaN `h0`.
    pub fn p_less(&self, h0: f64) -> f64 {
        if h0.is_nan() {
            f64::NAN
        } else if self.se > 0.0 {
            t_sf(-self.statistic(h0), self.df)
        } else if self.mean < h0 {
            0.0
        } else {
            1.0
        }
    }

    /// Two-sided p-value of H1: mu ≠ `h0` (twice the smaller one-sided p, at most 1).
    pub fn p_two_sided(&self, h0: f64) -> f64 {
        (2.0 * self.p_greater(h0).min(self.p_less(h0))).min(1.0)
    }

    /// TOST p-value for equivalence within (−`margin`, +`margin`): the larger of the one-sided p-values of
    /// mu > −margin and mu < +margin (Schuirmann 1987). NaN unless `margin` is positive and finite.
    pub fn tost(&self, margin: f64) -> f64 {
        if margin.is_finite() && margin > 0.0 {
            self.p_greater(-margin).max(self.p_less(margin))
        } else {
            f64::NAN
        }
    }
}
