//! Reading the bundled reference data.

use std::path::{Path, PathBuf};

/// The repository's `data/` folder.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

/// A path under `data/`.
pub fn data_path(relative: &str) -> PathBuf {
    data_dir().join(relative)
}

/// A CSV table of numbers with a header row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names.
    pub names: Vec<String>,
    /// Columns.
    pub columns: Vec<Vec<f64>>,
}

impl Table {
    /// Reads a CSV file of numbers.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header = lines
            .next()
            .ok_or_else(|| format!("{}: empty file", path.display()))?;
        let names: Vec<String> = header.split(',').map(|s| s.trim().to_string()).collect();
        let mut columns = vec![Vec::new(); names.len()];
        for (k, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != names.len() {
                return Err(format!(
                    "{}: line {}: {} fields, expected {}",
                    path.display(),
                    k + 2,
                    fields.len(),
                    names.len()
                ));
            }
            for (col, f) in columns.iter_mut().zip(fields) {
                col.push(
                    f.trim()
                        .parse::<f64>()
                        .map_err(|e| format!("{}: line {}: {e}", path.display(), k + 2))?,
                );
            }
        }
        Ok(Self { names, columns })
    }

    /// The column of this name.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|k| self.columns[k].as_slice())
    }
}

/// The largest absolute difference between two equally long series.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "series lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
