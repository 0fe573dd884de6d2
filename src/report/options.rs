//! What a report writes: which table formats and which plot formats.

use super::plots::PlotFormat;
use std::str::FromStr;

/// A format the result tables are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// `table.md`: one row per cell, mean ± 95% interval.
    Md,
    /// `results.csv`: one row per cell × seed.
    Csv,
    /// `table.tex`: booktabs, best per column in bold.
    Tex,
    /// `results.parquet`: one row per cell × seed.
    Parquet,
}

impl FromStr for TableFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "md" => Ok(TableFormat::Md),
            "csv" => Ok(TableFormat::Csv),
            "tex" => Ok(TableFormat::Tex),
            "parquet" => Ok(TableFormat::Parquet),
            other => Err(format!("unknown table format `{other}`; known: md, csv, tex, parquet")),
        }
    }
}

/// Parses a comma-separated list (`md,csv`); an empty string is an empty list.
pub fn parse_list<T: FromStr<Err = String>>(text: &str) -> Result<Vec<T>, String> {
    text.split(',').filter(|s| !s.trim().is_empty()).map(str::parse).collect()
}

/// Which files a report writes besides report.md.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Table formats.
    pub tables: Vec<TableFormat>,
    /// Plot formats (empty: no plots).
    pub plots: Vec<PlotFormat>,
}

impl Default for ReportOptions {
    /// Every table format, PNG and SVG plots.
    fn default() -> Self {
        ReportOptions {
            tables: vec![TableFormat::Md, TableFormat::Csv, TableFormat::Tex, TableFormat::Parquet],
            plots: vec![PlotFormat::Png, PlotFormat::Svg],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_unknown_names_list_the_known_ones() {
        assert_eq!(parse_list::<TableFormat>("md,tex").unwrap(), vec![TableFormat::Md, TableFormat::Tex]);
        assert_eq!(parse_list::<PlotFormat>("").unwrap(), vec![]);
        let e = parse_list::<TableFormat>("md,xlsx").unwrap_err();
        assert!(e.contains("xlsx") && e.contains("md, csv, tex, parquet"), "{e}");
    }
}
