//! Result rows as a polars DataFrame, written to CSV and parquet.

use super::rows::{columns, row, Value};
use crate::spec::Axis;
use crate::store::CellResult;
use polars::prelude::*;
use std::path::Path;

/// Columns holding counts, kept as integers in CSV and parquet.
const INTEGER_COLUMNS: [&str; 4] = ["seed", "visual_tokens", "params_total", "params_trainable"];

/// The results table as a DataFrame (numbers as f64, empty as null).
pub fn frame(results: &[CellResult], axes: &[Axis]) -> PolarsResult<DataFrame> {
    let cols = columns(axes);
    let rows: Vec<Vec<Value>> = results.iter().map(|r| row(r, axes)).collect();
    let mut series = Vec::with_capacity(cols.len());
    for (j, name) in cols.iter().enumerate() {
        let numeric = rows.iter().all(|r| !matches!(r[j], Value::Text(_)));
        let s = if numeric && INTEGER_COLUMNS.contains(&name.as_str()) {
            // Counts (seed, tokens, parameters) stay integers in CSV and parquet.
            let v: Vec<Option<i64>> =
                rows.iter().map(|r| if let Value::Number(x) = r[j] { Some(x as i64) } else { None }).collect();
            Series::new(name.as_str().into(), v)
        } else if numeric {
            let v: Vec<Option<f64>> =
                rows.iter().map(|r| if let Value::Number(x) = r[j] { Some(x) } else { None }).collect();
            Series::new(name.as_str().into(), v)
        } else {
            let v: Vec<Option<String>> =
                rows.iter().map(|r| if let Value::Text(t) = &r[j] { Some(t.clone()) } else { None }).collect();
            Series::new(name.as_str().into(), v)
        };
        series.push(s.into_column());
    }
    DataFrame::new_infer_height(series)
}

/// Writes `df` as CSV to `csv` and parquet to `parquet`; an error names the file that failed.
pub fn write(df: &mut DataFrame, csv: &Path, parquet: &Path) -> Result<(), super::ReportError> {
    use super::ReportError;
    use crate::store::atomic::{create_dir_all, FileError};
    if let Some(d) = csv.parent() {
        create_dir_all(d)?;
    }
    let create = |path: &Path| {
        std::fs::File::create(path).map_err(|source| FileError::Write { path: path.to_path_buf(), source })
    };
    let table = |path: &Path, source| ReportError::Table { path: path.to_path_buf(), source };
    let mut f = create(csv)?;
    CsvWriter::new(&mut f).include_header(true).finish(df).map_err(|e| table(csv, e))?;
    let mut f = create(parquet)?;
    ParquetWriter::new(&mut f).finish(df).map(|_| ()).map_err(|e| table(parquet, e))
}
