//! `[[hypothesis]]` tables: what an experiment tests, stated before it runs (pre-registration). Each
//! names a contrast between cells, the metric it is judged on and what it expects; the report's
//! hypothesis engine judges them from the results. Validated here against the grid, so a hypothesis
//! that names a level no cell has is refused before anything runs.

use super::axes::{matches_axis, named_axes, RawCell};
use super::cell::CellSettings;
use super::error::{Locator, SpecError};
use super::greedy::{resolve_metric, GreedySpec, Metric, RawMetric};
use super::names::Family;
use super::Axis;
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The kinds of contrast, as written in `contrast = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContrastKind {
    /// Arm `b` minus arm `a`, cells paired by seed and by every axis neither arm names.
    Pair,
    /// One level of an axis against each of its other levels.
    Best,
    /// The least-squares slope of the metric over the levels of an ordered axis.
    Trend,
    /// The slope of `b − a` over the levels of an ordered axis `by`: an effect growing with another axis.
    Interaction,
}

/// What a hypothesis expects of its estimate, as written in `expect = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectKind {
    /// Above zero (pair, best).
    Better,
    /// Below zero (pair, best).
    Worse,
    /// Within ± `margin` points of zero (two one-sided tests).
    Equivalent,
    /// Above −`margin` points (non-inferiority).
    NotWorse,
    /// A slope above zero (trend, interaction).
    Increasing,
    /// A slope below zero (trend, interaction).
    Decreasing,
}

/// A validated expectation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expectation {
    /// The estimate is above zero (a gain, or a rising slope).
    Above,
    /// The estimate is below zero.
    Below,
    /// The estimate is within ± this many points.
    Equivalent(f64),
    /// The estimate is above minus this many points.
    NotWorse(f64),
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expectation::Above => f.write_str("> 0"),
            Expectation::Below => f.write_str("< 0"),
            Expectation::Equivalent(m) => write!(f, "within ±{m}"),
            Expectation::NotWorse(m) => write!(f, "> −{m}"),
        }
    }
}

/// Cells picked by their values on some axes (every axis not named matches).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Selector {
    /// Each named axis with its level as [`level`] writes it.
    pub levels: Vec<(Axis, String)>,
}

impl Selector {
    /// Whether `cell` has every named level.
    pub fn matches(&self, cell: &CellSettings) -> bool {
        self.levels.iter().all(|(a, text)| level(*a, cell) == *text)
    }

    /// The axes it names.
    pub fn axes(&self) -> Vec<Axis> {
        self.levels.iter().map(|(a, _)| *a).collect()
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.levels.iter().map(|(a, t)| format!("{} = {t}", a.key())).collect();
        f.write_str(&parts.join(", "))
    }
}

/// A cell's level on `axis` as text: [`Axis::value_of`], except that an encoder set is compared as a
/// set (a greedy search appends experts in the order it picks them).
pub fn level(axis: Axis, cell: &CellSettings) -> String {
    if axis == Axis::Encoders {
        let mut e: Vec<&str> = cell.encoders.iter().map(|e| e.as_str()).collect();
        e.sort();
        e.join("+")
    } else {
        axis.value_of(cell)
    }
}

/// A validated contrast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Contrast {
    /// `b − a`, paired by seed and by every axis neither arm names.
    Pair {
        /// The reference arm.
        a: Selector,
        /// The arm claimed to differ.
        b: Selector,
    },
    /// `level` minus each other level of its one axis, paired as [`Contrast::Pair`].
    Best {
        /// The level (one axis).
        level: Selector,
    },
    /// The slope of the metric over the ordered levels of `axis` (per level step).
    Trend {
        /// The ordered axis.
        axis: Axis,
    },
    /// The slope of `b − a` over the ordered levels of `by` (per level step).
    Interaction {
        /// The reference arm.
        a: Selector,
        /// The other arm.
        b: Selector,
        /// The ordered axis the effect should change with.
        by: Axis,
    },
}

impl std::fmt::Display for Contrast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Contrast::Pair { a, b } => write!(f, "({b}) − ({a})"),
            Contrast::Best { level } => write!(f, "({level}) − each other level"),
            Contrast::Trend { axis } => write!(f, "slope over {}", axis.key()),
            Contrast::Interaction { a, b, by } => write!(f, "slope of ({b}) − ({a}) over {}", by.key()),
        }
    }
}

/// A validated `[[hypothesis]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    /// The claim, in words.
    pub claim: String,
    /// The cells compared and how.
    pub contrast: Contrast,
    /// Only cells with these levels take part (`where`).
    pub within: Selector,
    /// The score judged.
    pub metric: Metric,
    /// What the claim expects.
    pub expect: Expectation,
}

/// `[[hypothesis]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawHypothesis {
    claim: Spanned<String>,
    contrast: Spanned<ContrastKind>,
    #[serde(default)]
    a: Option<Spanned<RawCell>>,
    #[serde(default)]
    b: Option<Spanned<RawCell>>,
    #[serde(default)]
    level: Option<Spanned<RawCell>>,
    #[serde(default)]
    axis: Option<Spanned<Axis>>,
    #[serde(default)]
    by: Option<Spanned<Axis>>,
    #[serde(default, rename = "where")]
    within: Option<Spanned<RawCell>>,
    #[serde(default)]
    metric: Option<Spanned<RawMetric>>,
    expect: Spanned<ExpectKind>,
    #[serde(default)]
    margin: Option<Spanned<f64>>,
}

/// What validating a hypothesis needs to know of the experiment.
pub(crate) struct Design<'a> {
    /// Every cell of the grid (a greedy search: the start cell).
    pub cells: &'a [CellSettings],
    /// The greedy search, when there is one: its encoder sets are cells too.
    pub greedy: Option<&'a GreedySpec>,
}

impl Design<'_> {
    /// The families every cell evaluates.
    fn families(&self) -> Vec<Family> {
        self.cells[0].families.clone()
    }

    /// The cells a selector may pick from: the grid's, or for a greedy search the start cell with the
    /// encoder set `rule` names (when the search could reach it).
    fn candidates(&self, rule: &RawCell) -> Vec<CellSettings> {
        match (self.greedy, &rule.encoders) {
            (Some(g), Some(set)) => {
                let set = set.get_ref();
                let reachable = g.start.iter().all(|e| set.contains(e))
                    && set.iter().all(|e| g.start.contains(e) || g.candidates.contains(e));
                if reachable {
                    vec![CellSettings { encoders: set.clone(), ..self.cells[0].clone() }]
                } else {
                    vec![]
                }
            }
            _ => self.cells.to_vec(),
        }
    }

    /// The distinct levels of `axis` among the cells `within` picks, in grid order.
    fn levels(&self, axis: Axis, within: &Selector) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.cells.iter().filter(|c| within.matches(c)) {
            let l = level(axis, c);
            if !out.contains(&l) {
                out.push(l);
            }
        }
        out
    }
}

fn selector(loc: &Locator, key: &str, rule: &Spanned<RawCell>, design: &Design) -> Result<Selector, SpecError> {
    let named = named_axes(rule.get_ref());
    if named.is_empty() {
        return Err(loc.error(
            Some(rule.span()),
            key,
            "names no axis",
            Some("e.g. { unlock = true } or { resolution = 128, tiling = \"interpolate\" }".into()),
        ));
    }
    let cells = design.candidates(rule.get_ref());
    let mut levels = Vec::new();
    for (axis, span) in named {
        let mut texts: Vec<String> =
            cells.iter().filter(|c| matches_axis(rule.get_ref(), axis, c)).map(|c| level(axis, c)).collect();
        texts.dedup();
        let Some(text) = texts.first() else {
            let written = loc.text.get(span.clone()).unwrap_or("?").to_string();
            let known = match design.greedy {
                Some(g) if axis == Axis::Encoders => format!(
                    "a set the search can reach: the start set [{}] plus candidates from [{}]",
                    g.start.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
                    g.candidates.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
                ),
                _ => format!("the levels the grid has: {}", design.levels(axis, &Selector::default()).join(", ")),
            };
            return Err(loc.error(
                Some(span),
                format!("{key}.{}", axis.key()),
                format!("no cell has {} = {written}", axis.key()),
                Some(known),
            ));
        };
        levels.push((axis, text.clone()));
    }
    Ok(Selector { levels })
}

fn ordered_axis(
    loc: &Locator,
    key: &str,
    axis: &Spanned<Axis>,
    within: &Selector,
    design: &Design,
) -> Result<Axis, SpecError> {
    let a = *axis.get_ref();
    if !a.ordered() {
        let ordered: Vec<&str> = Axis::ALL.iter().filter(|a| a.ordered()).map(|a| a.key()).collect();
        return Err(loc.error(
            Some(axis.span()),
            key,
            format!("axis `{}` has no order to follow", a.key()),
            Some(format!("ordered axes: {}", ordered.join(", "))),
        ));
    }
    let n = design.levels(a, within).len();
    if n < 2 {
        return Err(loc.error(
            Some(axis.span()),
            key,
            format!("axis `{}` takes {n} level(s) in the cells this hypothesis uses: nothing to follow", a.key()),
            Some(format!("vary it in [grid]: {} = [...]", a.key())),
        ));
    }
    Ok(a)
}

fn required<'a, T>(
    loc: &Locator,
    h: &RawHypothesis,
    key: &str,
    field: &'a Option<Spanned<T>>,
    what: &str,
) -> Result<&'a Spanned<T>, SpecError> {
    field.as_ref().ok_or_else(|| {
        loc.error(
            Some(h.contrast.span()),
            key,
            format!(
                "contrast `{}` needs `{}`",
                contrast_name(*h.contrast.get_ref()),
                key.rsplit('.').next().unwrap_or(key)
            ),
            Some(what.to_string()),
        )
    })
}

fn contrast_name(k: ContrastKind) -> &'static str {
    match k {
        ContrastKind::Pair => "pair",
        ContrastKind::Best => "best",
        ContrastKind::Trend => "trend",
        ContrastKind::Interaction => "interaction",
    }
}

fn refuse_extra<T>(loc: &Locator, field: &Option<Spanned<T>>, key: &str, kind: ContrastKind) -> Result<(), SpecError> {
    match field {
        Some(f) => Err(loc.error(
            Some(f.span()),
            key,
            format!("contrast `{}` does not use `{}`", contrast_name(kind), key.rsplit('.').next().unwrap_or(key)),
            Some("pair: a, b; best: level; trend: axis; interaction: a, b, by".into()),
        )),
        None => Ok(()),
    }
}

/// Two arms that pick different cells: they differ on some axis both name.
fn distinct_arms(
    loc: &Locator,
    key: &str,
    a: &Selector,
    b: &Selector,
    span: std::ops::Range<usize>,
) -> Result<(), SpecError> {
    let differ = a.levels.iter().any(|(ax, t)| b.levels.iter().any(|(bx, u)| ax == bx && t != u));
    if differ {
        Ok(())
    } else {
        Err(loc.error(
            Some(span),
            key,
            "arms `a` and `b` do not differ on any axis they both name",
            Some("e.g. a = { unlock = false } and b = { unlock = true }".into()),
        ))
    }
}

/// Validates hypothesis `i` against the experiment's design.
pub(crate) fn resolve_hypothesis(
    loc: &Locator,
    i: usize,
    h: &RawHypothesis,
    design: &Design,
) -> Result<Hypothesis, SpecError> {
    let key = |k: &str| format!("hypothesis[{i}].{k}");
    let kind = *h.contrast.get_ref();
    let claim = h.claim.get_ref().trim().to_string();
    if claim.is_empty() {
        return Err(loc.error(
            Some(h.claim.span()),
            key("claim"),
            "the claim is empty",
            Some("say it in words".into()),
        ));
    }
    let within = match &h.within {
        Some(w) => selector(loc, &key("where"), w, design)?,
        None => Selector::default(),
    };
    let arm = |name: &str, f: &Option<Spanned<RawCell>>, what: &str| -> Result<Selector, SpecError> {
        selector(loc, &key(name), required(loc, h, &key(name), f, what)?, design)
    };
    let contrast = match kind {
        ContrastKind::Pair | ContrastKind::Interaction => {
            let a = arm("a", &h.a, "a = { <axis> = <level> }: the reference arm")?;
            let b = arm("b", &h.b, "b = { <axis> = <level> }: the arm claimed to differ")?;
            distinct_arms(loc, &key("b"), &a, &b, h.b.as_ref().map(|b| b.span()).unwrap_or_default())?;
            refuse_extra(loc, &h.level, &key("level"), kind)?;
            refuse_extra(loc, &h.axis, &key("axis"), kind)?;
            if kind == ContrastKind::Pair {
                refuse_extra(loc, &h.by, &key("by"), kind)?;
                Contrast::Pair { a, b }
            } else {
                let by_raw = required(loc, h, &key("by"), &h.by, "by = \"<ordered axis>\"")?;
                let by = ordered_axis(loc, &key("by"), by_raw, &within, design)?;
                if a.axes().contains(&by) || b.axes().contains(&by) {
                    return Err(loc.error(
                        Some(by_raw.span()),
                        key("by"),
                        format!("the arms name `{}` themselves", by.key()),
                        Some("`by` is the axis the effect of a → b changes with: name another".into()),
                    ));
                }
                Contrast::Interaction { a, b, by }
            }
        }
        ContrastKind::Best => {
            let level = arm("level", &h.level, "level = { <axis> = <level> }: one level of one axis")?;
            for (f, k) in [(&h.a, "a"), (&h.b, "b")] {
                refuse_extra(loc, f, &key(k), kind)?;
            }
            refuse_extra(loc, &h.axis, &key("axis"), kind)?;
            refuse_extra(loc, &h.by, &key("by"), kind)?;
            let span = h.level.as_ref().map(|l| l.span());
            let [(axis, _)] = level.levels.as_slice() else {
                return Err(loc.error(
                    span,
                    key("level"),
                    "names more than one axis",
                    Some("one axis: its other levels are the rivals".into()),
                ));
            };
            if design.greedy.is_some() || design.levels(*axis, &within).len() < 2 {
                return Err(loc.error(
                    span,
                    key("level"),
                    format!("axis `{}` has no other level to compare with", axis.key()),
                    Some(format!("vary it in [grid]: {} = [...]", axis.key())),
                ));
            }
            Contrast::Best { level }
        }
        ContrastKind::Trend => {
            for (f, k) in [(&h.a, "a"), (&h.b, "b"), (&h.level, "level")] {
                refuse_extra(loc, f, &key(k), kind)?;
            }
            refuse_extra(loc, &h.by, &key("by"), kind)?;
            let axis_raw = required(loc, h, &key("axis"), &h.axis, "axis = \"<ordered axis>\"")?;
            Contrast::Trend { axis: ordered_axis(loc, &key("axis"), axis_raw, &within, design)? }
        }
    };
    let slope = matches!(kind, ContrastKind::Trend | ContrastKind::Interaction);
    let margin = |needed: bool| -> Result<Option<f64>, SpecError> {
        match (&h.margin, needed) {
            (Some(m), true) if m.get_ref().is_finite() && *m.get_ref() > 0.0 => Ok(Some(*m.get_ref())),
            (Some(m), true) => {
                Err(loc.error(Some(m.span()), key("margin"), "the margin must be a positive number of points", None))
            }
            (None, true) => Err(loc.error(
                Some(h.expect.span()),
                key("margin"),
                "this expectation needs a margin in score points",
                Some("e.g. margin = 2.0".into()),
            )),
            (Some(m), false) => Err(loc.error(
                Some(m.span()),
                key("margin"),
                "a margin is used only with expect = \"equivalent\" or \"not-worse\"",
                None,
            )),
            (None, false) => Ok(None),
        }
    };
    let wrong_kind = |hint: &str| {
        Err(loc.error(
            Some(h.expect.span()),
            key("expect"),
            format!(
                "expect = \"{}\" does not fit contrast `{}`",
                expect_name(*h.expect.get_ref()),
                contrast_name(kind)
            ),
            Some(hint.to_string()),
        ))
    };
    let expect = match (*h.expect.get_ref(), slope) {
        (ExpectKind::Better, false) | (ExpectKind::Increasing, true) => {
            margin(false)?;
            Expectation::Above
        }
        (ExpectKind::Worse, false) | (ExpectKind::Decreasing, true) => {
            margin(false)?;
            Expectation::Below
        }
        (ExpectKind::Equivalent, _) => Expectation::Equivalent(margin(true)?.unwrap_or_default()),
        (ExpectKind::NotWorse, false) => Expectation::NotWorse(margin(true)?.unwrap_or_default()),
        (_, true) => return wrong_kind("a slope is \"increasing\", \"decreasing\" or \"equivalent\""),
        (_, false) => return wrong_kind("a difference is \"better\", \"worse\", \"equivalent\" or \"not-worse\""),
    };
    let metric = match &h.metric {
        Some(m) => resolve_metric(loc, m, &key("metric"), &design.families())?,
        None => Metric::Average,
    };
    Ok(Hypothesis { claim, contrast, within, metric, expect })
}

fn expect_name(k: ExpectKind) -> &'static str {
    match k {
        ExpectKind::Better => "better",
        ExpectKind::Worse => "worse",
        ExpectKind::Equivalent => "equivalent",
        ExpectKind::NotWorse => "not-worse",
        ExpectKind::Increasing => "increasing",
        ExpectKind::Decreasing => "decreasing",
    }
}
