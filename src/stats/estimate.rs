//! Small statistics over seeds: means with 95% Student-t intervals, binomial intervals over test
//! questions.

use super::dist::t_upper;

/// Two-sided 95% Student-t quantile t_{0.975, df} for `df` degrees of freedom (exact; NaN at 0).
pub fn t_quantile(df: usize) -> f64 {
    t_upper(0.025, df as f64)
}

/// Mean of `xs` and the half-width of its 95% t-interval (NaN with fewer than two values).
pub fn mean_interval(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n.max(1.0);
    if xs.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, t_quantile(xs.len() - 1) * (var / n).sqrt())
}

/// Mean and 95% t half-width of the paired differences `a[i] - b[i]` (same seeds in the same order).
pub fn paired_difference(a: &[f64], b: &[f64]) -> (f64, f64) {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    mean_interval(&d)
}

/// Where a 95% interval lies against zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The whole interval is above zero.
    Above,
    /// The whole interval is below zero.
    Below,
    /// The interval holds zero (an end touching zero counts): within noise.
    HoldsZero,
    /// There is no interval (one seed: the half-width is NaN).
    NoInterval,
}

/// A mean with the half-width of its 95% interval (NaN: no interval, no whisker).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The mean.
    pub mean: f64,
    /// Half-width of the 95% interval; NaN when unknown.
    pub half: f64,
}

impl Estimate {
    /// Lower end of the interval (the mean without one).
    pub fn low(self) -> f64 {
        if self.half.is_finite() {
            self.mean - self.half
        } else {
            self.mean
        }
    }
    /// `b − a` with the interval of a difference of independent estimates.
    pub fn diff(a: Estimate, b: Estimate) -> Estimate {
        Estimate { mean: b.mean - a.mean, half: (a.half.powi(2) + b.half.powi(2)).sqrt() }
    }

    /// Where the interval lies against zero: the one rule every verdict is judged by.
    pub fn side(self) -> Side {
        if self.mean.is_nan() || self.half.is_nan() {
            Side::NoInterval
        } else if self.mean > self.half {
            Side::Above
        } else if self.mean < -self.half {
            Side::Below
        } else {
            Side::HoldsZero
        }
    }

    /// Upper end of the interval (the mean without one).
    pub fn high(self) -> f64 {
        if self.half.is_finite() {
            self.mean + self.half
        } else {
            self.mean
        }
    }
}

impl std::fmt::Display for Estimate {
    /// `42.0 ± 5.0`, or `42.0` without an interval (one decimal).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.half.is_finite() {
            write!(f, "{:.1} ± {:.1}", self.mean, self.half)
        } else {
            write!(f, "{:.1}", self.mean)
        }
    }
}

/// Half-width (in points) of the 95% normal interval of a `score` in percent measured on `n`
/// questions: 1.96·√(p(1−p)/n)·100.
pub fn binomial_half_width(score: f64, n: usize) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    let p = (score / 100.0).clamp(0.0, 1.0);
    1.96 * (p * (1.0 - p) / n as f64).sqrt() * 100.0
}
