//! A hypothesis's contrast as weights on cells: each comparison's estimate for one seed is the
//! weighted sum of the cells' scores with that seed. Pairs, trends and interactions are all linear in
//! the cells' scores, so one form serves judging (from results) and power planning (from the plan).

use crate::spec::{level, Axis, CellSettings, Contrast, Hypothesis, Selector};

/// One estimate a hypothesis rests on: a linear combination of cells' scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// What it compares, e.g. `fusion = channel-concat − fusion = llava-hr`.
    pub name: String,
    /// Each cell's key ([`CellSettings::key`]) and weight (weights of a difference sum to zero).
    pub weights: Vec<(String, f64)>,
}

impl Comparison {
    /// Σ weight²: the variance of one seed's estimate in units of one cell's seed variance, when
    /// cells vary independently.
    pub fn variance_factor(&self) -> f64 {
        self.weights.iter().map(|(_, w)| w * w).sum()
    }
}

/// A cell as contrasts see it: its key ([`CellSettings::key`]) and settings.
pub type CellRef<'a> = (&'a str, &'a CellSettings);

fn add(weights: &mut Vec<(String, f64)>, label: &str, w: f64) {
    match weights.iter_mut().find(|(l, _)| l == label) {
        Some((_, x)) => *x += w,
        None => weights.push((label.to_string(), w)),
    }
}

/// Whether two cells agree on every axis except `free`.
fn same_elsewhere(x: &CellSettings, y: &CellSettings, free: &[Axis]) -> bool {
    Axis::ALL.iter().filter(|a| !free.contains(a)).all(|a| level(*a, x) == level(*a, y))
}

/// The pairs (a-cell, b-cell) that differ only on the axes the arms name.
fn pairs<'a>(cells: &[CellRef<'a>], a: &Selector, b: &Selector) -> Vec<(CellRef<'a>, CellRef<'a>)> {
    let mut free = a.axes();
    free.extend(b.axes());
    let mut out = Vec::new();
    for &ca in cells.iter().filter(|(_, s)| a.matches(s)) {
        for &cb in cells.iter().filter(|(_, s)| b.matches(s)) {
            if same_elsewhere(ca.1, cb.1, &free) {
                out.push((ca, cb));
            }
        }
    }
    out
}

/// `b − a` averaged over the pairs, scaled by `scale` (None without pairs).
fn pair_weights(cells: &[CellRef], a: &Selector, b: &Selector, scale: f64, into: &mut Vec<(String, f64)>) -> bool {
    let p = pairs(cells, a, b);
    if p.is_empty() {
        return false;
    }
    let w = scale / p.len() as f64;
    for ((la, _), (lb, _)) in p {
        add(into, lb, w);
        add(into, la, -w);
    }
    true
}

/// The distinct levels of `axis` among `cells`, in their order.
fn levels(cells: &[CellRef], axis: Axis) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, s) in cells {
        let l = level(axis, s);
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// Least-squares slope weights over level indices 0..k: w_i = (i − ī) / Σ(j − ī)².
fn slope_weights(k: usize) -> Vec<f64> {
    let mean = (k as f64 - 1.0) / 2.0;
    let ss: f64 = (0..k).map(|i| (i as f64 - mean).powi(2)).sum();
    (0..k).map(|i| (i as f64 - mean) / ss).collect()
}

/// The comparisons of `h` over `cells` (those `h.within` picks; the blind baseline never takes
/// part). Empty when the cells it needs are absent.
pub fn comparisons(h: &Hypothesis, cells: &[CellRef]) -> Vec<Comparison> {
    let cells: Vec<CellRef> = cells.iter().copied().filter(|(_, s)| h.within.matches(s)).collect();
    match &h.contrast {
        Contrast::Pair { a, b } => {
            let mut weights = Vec::new();
            if pair_weights(&cells, a, b, 1.0, &mut weights) {
                vec![Comparison { name: format!("({b}) − ({a})"), weights }]
            } else {
                vec![]
            }
        }
        Contrast::Best { level: me } => {
            let (axis, mine) = me.levels[0].clone();
            levels(&cells, axis)
                .into_iter()
                .filter(|l| *l != mine)
                .filter_map(|other| {
                    let rival = Selector { levels: vec![(axis, other.clone())] };
                    let mut weights = Vec::new();
                    pair_weights(&cells, &rival, me, 1.0, &mut weights)
                        .then(|| Comparison { name: format!("{} {mine} − {other}", axis.key()), weights })
                })
                .collect()
        }
        Contrast::Trend { axis } => {
            let ls = levels(&cells, *axis);
            if ls.len() < 2 {
                return vec![];
            }
            let mut weights = Vec::new();
            for (l, w) in ls.iter().zip(slope_weights(ls.len())) {
                let at: Vec<&CellRef> = cells.iter().filter(|(_, s)| level(*axis, s) == *l).collect();
                for (label, _) in &at {
                    add(&mut weights, label, w / at.len() as f64);
                }
            }
            vec![Comparison { name: format!("slope over {} ({})", axis.key(), ls.join(", ")), weights }]
        }
        Contrast::Interaction { a, b, by } => {
            let with_pairs: Vec<String> = levels(&cells, *by)
                .into_iter()
                .filter(|l| {
                    let at: Vec<CellRef> = cells.iter().copied().filter(|(_, s)| level(*by, s) == *l).collect();
                    !pairs(&at, a, b).is_empty()
                })
                .collect();
            if with_pairs.len() < 2 {
                return vec![];
            }
            let mut weights = Vec::new();
            for (l, w) in with_pairs.iter().zip(slope_weights(with_pairs.len())) {
                let at: Vec<CellRef> = cells.iter().copied().filter(|(_, s)| level(*by, s) == *l).collect();
                pair_weights(&at, a, b, w, &mut weights);
            }
            let name = format!("slope of ({b}) − ({a}) over {} ({})", by.key(), with_pairs.join(", "));
            vec![Comparison { name, weights }]
        }
    }
}
