//! Holm's step-down adjustment of a family of p-values (Holm 1979).

/// Holm-adjusted p-values, in the order given (as statsmodels `multipletests(method="holm")`): the i-th smallest
/// p times (m − i + 1), made non-decreasing along that order, capped at 1. All NaN if any p is NaN or outside [0, 1].
pub fn holm(ps: &[f64]) -> Vec<f64> {
    if ps.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return vec![f64::NAN; ps.len()];
    }
    let m = ps.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| ps[a].total_cmp(&ps[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(ps[i] * (m - rank) as f64).min(1.0);
        adjusted[i] = running;
    }
    adjusted
}
