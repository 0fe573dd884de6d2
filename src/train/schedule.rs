//! Learning-rate schedule: linear warm-up then cosine decay to a tenth of the peak.

/// The learning rate at `step` (0-based) of `total`, warming up over `warmup` steps.
pub fn cosine_with_warmup(step: usize, total: usize, warmup: usize, peak: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = (total.saturating_sub(warmup)).max(1) as f64;
    let t = ((step - warmup) as f64 / span).min(1.0);
    let floor = peak * 0.1;
    floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
}

/// Warm-up length: 3% of the steps (the paper's recipe), at least one.
pub fn warmup_steps(total: usize) -> usize {
    (total * 3).div_ceil(100).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays() {
        assert_eq!(warmup_steps(100), 3);
        assert_eq!(warmup_steps(103), 4);
        let (total, w) = (103, 3);
        assert!((cosine_with_warmup(0, total, w, 1.0) - 1.0 / 3.0).abs() < 1e-9);
        assert!((cosine_with_warmup(2, total, w, 1.0) - 1.0).abs() < 1e-9);
        assert!((cosine_with_warmup(3, total, w, 1.0) - 1.0).abs() < 1e-9);
        assert!((cosine_with_warmup(102, total, w, 1.0) - 0.1).abs() < 1e-3);
        let mid = cosine_with_warmup(53, total, w, 1.0);
        assert!((mid - 0.55).abs() < 1e-9, "{mid}");
    }
}
