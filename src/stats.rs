//! Small statistics over seeds: means with 95% Student-t intervals, binomial intervals over test
//! questions.

/// Two-sided 95% Student-t quantile for `df` degrees of freedom (normal beyond 30).
pub fn t_quantile(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    if df == 0 {
        f64::NAN
    } else {
        T.get(df - 1).copied().unwrap_or(1.96)
    }
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

// TEMPORARY SHIM (replaced by the stats module on merge).
use statrs::distribution::{ContinuousCDF, StudentsT};

/// A one-sample Student-t analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// Values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
    /// Standard error.
    pub se: f64,
    /// Degrees of freedom.
    pub df: f64,
}

impl TTest {
    /// The analysis of `xs` (None with fewer than two).
    pub fn of(xs: &[f64]) -> Option<TTest> {
        if xs.len() < 2 || xs.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        Some(TTest { n: xs.len(), mean, sd, se: sd / n.sqrt(), df: n - 1.0 })
    }
    fn dist(&self) -> StudentsT {
        StudentsT::new(0.0, 1.0, self.df).expect("df > 0")
    }
    /// Two-sided interval at `level`.
    pub fn interval(&self, level: f64) -> (f64, f64) {
        let q = self.dist().inverse_cdf(0.5 + level / 2.0);
        (self.mean - q * self.se, self.mean + q * self.se)
    }
    /// One-sided p of mu > h0.
    pub fn p_greater(&self, h0: f64) -> f64 {
        if self.se == 0.0 {
            return if self.mean > h0 { 0.0 } else { 1.0 };
        }
        1.0 - self.dist().cdf((self.mean - h0) / self.se)
    }
    /// One-sided p of mu < h0.
    pub fn p_less(&self, h0: f64) -> f64 {
        if self.se == 0.0 {
            return if self.mean < h0 { 0.0 } else { 1.0 };
        }
        self.dist().cdf((self.mean - h0) / self.se)
    }
    /// TOST p.
    pub fn tost(&self, margin: f64) -> f64 {
        self.p_greater(-margin).max(self.p_less(margin))
    }
}

/// Holm-adjusted p-values.
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let m = ps.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| ps[a].total_cmp(&ps[b]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * ps[i]).min(1.0));
        out[i] = running;
    }
    out
}

fn tq(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).expect("df").inverse_cdf(p)
}
/// Shim: approximate.
pub fn detectable_effect(sd: f64, n: usize, alpha: f64, power: f64) -> f64 {
    let df = n as f64 - 1.0;
    (tq(1.0 - alpha, df) + tq(power, df)) * sd / (n as f64).sqrt()
}
/// Shim: approximate.
pub fn detectable_margin(sd: f64, n: usize, alpha: f64, power: f64) -> f64 {
    let df = n as f64 - 1.0;
    (tq(1.0 - alpha, df) + tq(1.0 - (1.0 - power) / 2.0, df)) * sd / (n as f64).sqrt()
}
/// Shim: approximate.
pub fn values_needed(effect: f64, sd: f64, alpha: f64, power: f64) -> Option<usize> {
    (2..=1000).find(|&n| detectable_effect(sd, n, alpha, power) <= effect)
}
