//! The machinery behind the axis table in `axes.rs`: from one declaration per axis it writes the raw
//! `[base]`/`[[exclude]]` and `[grid]` types, the [`Axis`](super::Axis) enum and its methods, one
//! [`AxisDef`](super::axes::AxisDef) type per axis, the values a grid takes per axis and exclude matching.

/// Declares the axes. Each row is either an axis a grid may vary,
/// `Variant field "key": Raw => Value { ordered: .., default: .., .. }`, or a setting only `[base]`
/// (and `[[exclude]]`, which ignores it) may give, `base field "key": Raw;`. Rows keep their order in
/// the raw types (serde lists the keys it expects in that order); axes keep theirs in `Axis::ALL`,
/// the grid expansion (the last axis varies fastest) and the columns of tables.
macro_rules! axis_table {
    // A setting of `[base]` only: a field of the raw cell, not an axis.
    (@munch [$($cell:tt)*] [$($grid:tt)*] [$($axes:tt)*]
        $(#[$doc:meta])* base $field:ident $key:literal : $raw:ty;
        $($rest:tt)*
    ) => {
        axis_table!(@munch
            [$($cell)* $(#[$doc])* #[serde(rename = $key)] pub $field: Option<Spanned<$raw>>,]
            [$($grid)*]
            [$($axes)*]
            $($rest)*
        );
    };
    // A grid axis: a field of both raw types and an axis.
    (@munch [$($cell:tt)*] [$($grid:tt)*] [$($axes:tt)*]
        $(#[$doc:meta])* $variant:ident $field:ident $key:literal : $raw:ty => $value:ty { $($body:tt)* }
        $($rest:tt)*
    ) => {
        axis_table!(@munch
            [$($cell)* #[serde(rename = $key)] pub $field: Option<Spanned<$raw>>,]
            [$($grid)* #[serde(rename = $key)] pub $field: Option<Vec<Spanned<$raw>>>,]
            [$($axes)* { $(#[$doc])* $variant $field $key, $raw, $value, $($body)* }]
            $($rest)*
        );
    };
    (@munch [$($cell:tt)*] [$($grid:tt)*] [$({
        $(#[$doc:meta])* $variant:ident $field:ident $key:literal, $raw:ty, $value:ty,
        ordered: $ordered:expr,
        default: $default:expr,
        hint: $hint:expr,
        examples: $examples:expr,
        read: $read:expr,
        matches: $matches:expr,
        show: $show:expr $(,)?
    })*]) => {
        /// One value per setting: `[base]` and each `[[exclude]]` rule.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct RawCell {
            $($cell)*
        }

        /// `[grid]`: a list of values per axis.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct RawGrid {
            $($grid)*
        }

        impl RawGrid {
            /// The axes this grid lists values for, in `Axis::ALL` order.
            pub(crate) fn varied(&self) -> Vec<Axis> {
                let mut out = Vec::new();
                $(if self.$field.is_some() {
                    out.push(Axis::$variant);
                })*
                out
            }
        }

        /// An axis that a grid may vary.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum Axis {
            $($(#[$doc])* #[serde(rename = $key)] $variant,)*
        }

        impl Axis {
            /// Every axis, in declaration order.
            pub const ALL: &'static [Axis] = &[$(Axis::$variant),*];

            /// The key as written in experiment files and the column name in tables.
            pub fn key(self) -> &'static str {
                match self {
                    $(Axis::$variant => $key,)*
                }
            }

            /// This axis's value in `cell`, as text.
            pub fn value_of(self, cell: &CellSettings) -> String {
                match self {
                    $(Axis::$variant => <def::$variant as AxisDef>::show(cell),)*
                }
            }

            /// Whether the axis's values have an order worth a line plot.
            pub fn ordered(self) -> bool {
                match self {
                    $(Axis::$variant => $ordered,)*
                }
            }

            /// What a value of this axis may be, for error messages.
            pub fn hint(self) -> Option<String> {
                match self {
                    $(Axis::$variant => $hint,)*
                }
            }

            /// Two values as written in a file (each valid in a cell of two experts at 128 pixels).
            pub fn examples(self) -> [&'static str; 2] {
                match self {
                    $(Axis::$variant => $examples,)*
                }
            }
        }

        /// One type per axis, carrying its declaration.
        pub(crate) mod def {
            $(
                /// The axis of the same name.
                pub(crate) struct $variant;
            )*
        }

        $(
            impl AxisDef for def::$variant {
                type Raw = $raw;
                type Value = $value;

                fn default() -> $value {
                    $default
                }

                fn read(loc: &Locator, ctx: &Ctx, a: At<$raw>) -> Result<At<$value>, SpecError> {
                    let f: fn(&Locator, &Ctx, At<$raw>) -> Result<At<$value>, SpecError> = $read;
                    f(loc, ctx, a)
                }

                fn matches(rule: &$raw, cell: &CellSettings) -> bool {
                    let f: fn(&$raw, &CellSettings) -> bool = $matches;
                    f(rule, cell)
                }

                fn show(cell: &CellSettings) -> String {
                    let f: fn(&CellSettings) -> String = $show;
                    f(cell)
                }
            }
        )*

        /// The values each axis takes, with where each was written.
        pub(crate) struct AxisValues {
            $(pub $field: Vec<At<$value>>,)*
        }

        impl AxisValues {
            /// Reads every axis from `[grid]`, else `[base]`, else its default, in `Axis::ALL` order.
            pub(crate) fn read(loc: &Locator, grid: &RawGrid, base: &RawCell) -> Result<AxisValues, SpecError> {
                let ctx = Ctx::new(grid, base);
                Ok(AxisValues {
                    $($field: read_axis::<def::$variant>(loc, &ctx, &grid.$field, &base.$field, $key)?,)*
                })
            }

            /// How many values each axis takes, in `Axis::ALL` order.
            pub(crate) fn dims(&self) -> Vec<usize> {
                vec![$(self.$field.len()),*]
            }

            /// The cell at `index` (one value index per axis, in `Axis::ALL` order).
            pub(crate) fn cell(&self, index: &[usize], query_expert: Option<ExpertKind>) -> CellSettings {
                CellSettings {
                    $($field: self.$field[index[Axis::$variant as usize]].value.clone(),)*
                    query_expert,
                    // Set from `[base]` afterwards (`spec::mixture`).
                    mixture: Vec::new(),
                }
            }
        }

        /// The axes a rule (`[[exclude]]`, a hypothesis's arm) names, each with where its value was written.
        pub(crate) fn named_axes(rule: &RawCell) -> Vec<(Axis, std::ops::Range<usize>)> {
            let mut out = Vec::new();
            $(if let Some(v) = &rule.$field {
                out.push((Axis::$variant, v.span()));
            })*
            out
        }

        /// Whether `rule`'s value for `axis` matches `cell` (true when the rule does not name it).
        pub(crate) fn matches_axis(rule: &RawCell, axis: Axis, cell: &CellSettings) -> bool {
            match axis {
                $(Axis::$variant => rule.$field.as_ref().is_none_or(|v| <def::$variant as AxisDef>::matches(v.get_ref(), cell)),)*
            }
        }

        /// Whether an `[[exclude]]` rule removes `cell`: it names at least one axis and every axis it
        /// names matches.
        pub(crate) fn excluded(rule: &RawCell, cell: &CellSettings) -> bool {
            let mut any = false;
            $(if let Some(v) = &rule.$field {
                any = true;
                if !<def::$variant as AxisDef>::matches(v.get_ref(), cell) {
                    return false;
                }
            })*
            any
        }
    };
    // The entry: every row, none munched yet.
    ($($rows:tt)*) => {
        axis_table!(@munch [] [] [] $($rows)*);
    };
}

pub(crate) use axis_table;
