//! The reference data bundled with this crate, and comparisons that fail on
//! NaN and infinity.

use std::path::{Path, PathBuf};

/// This crate's `data/` folder (reference traces, gradients, the W3
/// morphology), found from the crate itself, so that a backend outside this
/// repository can run the suite; `RUXLEY_CONFORMANCE_DATA` points elsewhere
/// (for a test binary copied to another machine).
pub fn data_dir() -> PathBuf {
    match std::env::var_os("RUXLEY_CONFORMANCE_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("data"),
    }
}

/// A path under [`data_dir`].
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
        let (names, columns) =
            ruxley_traces::read_columns(path.as_ref()).map_err(|e| e.to_string())?;
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

/// The larger of two deviations, NaN if either is NaN (`f64::max` drops
/// a NaN): the fold for worst cases.
pub fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// The largest absolute difference between two series: NaN if a value of
/// either is NaN (or both are the same infinity), infinite if their lengths
/// differ or one value is infinite, so that `diff <= tolerance` fails.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs();
        if d.is_nan() {
            return f64::NAN;
        }
        worst = worst.max(d);
    }
    worst
}

/// The largest relative difference |a - b| / |b| over paired values (NaN
/// or infinite as for [`max_abs_diff`]); values of `b` below `floor` in
/// magnitude are compared against `floor`.
pub fn max_rel_diff(a: &[f64], b: &[f64], floor: f64) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs() / y.abs().max(floor);
        if d.is_nan() {
            return f64::NAN;
        }
        worst = worst.max(d);
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_fail_on_nan_and_infinity() {
        assert_eq!(max_abs_diff(&[1.0, 2.0], &[1.5, 2.0]), 0.5);
        assert!(max_abs_diff(&[f64::NAN, 2.0], &[1.0, 2.0]).is_nan());
        assert!(max_abs_diff(&[1.0, 2.0], &[1.0, f64::NAN]).is_nan());
        // A NaN after a large difference still poisons the result.
        assert!(max_abs_diff(&[9.0, f64::NAN], &[1.0, 1.0]).is_nan());
        assert!(max_abs_diff(&[f64::INFINITY], &[f64::INFINITY]).is_nan());
        assert_eq!(max_abs_diff(&[f64::INFINITY], &[0.0]), f64::INFINITY);
        assert_eq!(max_abs_diff(&[1.0], &[1.0, 2.0]), f64::INFINITY);
        let passes = |d: f64| d <= 1e-9;
        assert!(!passes(max_abs_diff(&[f64::NAN; 3], &[0.0; 3])));
        assert!(!passes(max_rel_diff(&[f64::NAN], &[1.0], 1e-12)));
        assert_eq!(max_rel_diff(&[2.0, 1e-20], &[1.0, 0.0], 1e-12), 1.0);
    }

    #[test]
    fn the_worst_case_fold_keeps_a_nan_wherever_it_comes() {
        assert_eq!([0.5, 2.0, 1.0].into_iter().fold(0.0, nan_max), 2.0);
        for at in 0..3 {
            let mut d = [0.5, 2.0, 1.0];
            d[at] = f64::NAN;
            assert!(d.into_iter().fold(0.0, nan_max).is_nan(), "NaN at {at}");
            // What `f64::max` would have done with a NaN first.
            assert!(!d.into_iter().fold(0.0, f64::max).is_nan());
        }
    }

    #[test]
    fn the_bundled_data_is_found_from_the_crate() {
        assert!(data_path("reference/anchors/traces/w1_nrn_bwd_notable.csv").is_file());
        assert!(data_path("morphologies/morph_ca1_n120_single_point_soma.swc").is_file());
    }
}
