//! Recorded traces: the rows a simulation records, on a uniform time grid,
//! with their CSV form (a `time_ms` column, then one column per trace).

#![warn(missing_docs)]

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A trace or CSV file that cannot be read: the file, the line where known,
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {reason}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// The line (1 is the header), where the problem is on one line.
    pub line: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

impl ReadError {
    fn new(path: &Path, line: Option<u64>, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            line,
            reason: reason.into(),
        }
    }
}

/// The recordings of one simulation: one row per probe, `n_samples` columns
/// at t = 0, dt, ..., t_max.
#[derive(Debug, Clone, PartialEq)]
pub struct Traces {
    names: Vec<String>,
    dt: f64,
    n_samples: usize,
    data: Vec<f64>,
}

impl Traces {
    /// Zero traces with these column names.
    pub fn zeros(names: Vec<String>, dt: f64, n_samples: usize) -> Self {
        let data = vec![0.0; names.len() * n_samples];
        Self {
            names,
            dt,
            n_samples,
            data,
        }
    }

    /// Traces of the same names and shape, all zero.
    pub fn zeros_like(&self) -> Self {
        Self::zeros(self.names.clone(), self.dt, self.n_samples)
    }

    /// The number of traces.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The number of samples per trace.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// The sampling step (ms).
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Sample times (ms).
    pub fn times(&self) -> Vec<f64> {
        (0..self.n_samples).map(|k| k as f64 * self.dt).collect()
    }

    /// Column names (`v_soma_mV`, `HH_m_b2_c2`, ...).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Trace `k`.
    pub fn trace(&self, k: usize) -> &[f64] {
        &self.data[k * self.n_samples..(k + 1) * self.n_samples]
    }

    /// Trace `k`, mutable.
    pub fn trace_mut(&mut self, k: usize) -> &mut [f64] {
        &mut self.data[k * self.n_samples..(k + 1) * self.n_samples]
    }

    /// The trace with this column name.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|k| self.trace(k))
    }

    /// All values, trace-major.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// Reads a CSV file as written by [`Traces::write_csv`] (or the reference
    /// traces): a `time_ms` column, then one column per trace, equally spaced
    /// (an error otherwise); the step is the mean spacing of the times.
    pub fn read_csv(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let path = path.as_ref();
        let (names, columns) = read_columns(path)?;
        if names.first().map(String::as_str) != Some("time_ms") || names.len() < 2 {
            return Err(ReadError::new(
                path,
                Some(1),
                "the header must be time_ms followed by trace names",
            ));
        }
        let n_samples = columns[0].len();
        let t = &columns[0];
        let dt = if n_samples > 1 {
            (t[n_samples - 1] - t[0]) / (n_samples - 1) as f64
        } else {
            0.0
        };
        if n_samples > 1 && !(dt.is_finite() && dt > 0.0) {
            return Err(ReadError::new(
                path,
                None,
                format!("the time column must increase in finite steps (mean step {dt} ms)"),
            ));
        }
        // The times must be uniform (to the precision they were written in);
        // a NaN time fails the comparison.
        let slack = 1e-6 * dt.abs();
        let uneven = |k: usize| {
            let off = ((t[k] - t[k - 1]) - dt).abs();
            off.is_nan() || off > slack
        };
        if let Some(k) = (1..n_samples).find(|&k| uneven(k)) {
            return Err(ReadError::new(
                path,
                Some(k as u64 + 2),
                format!(
                    "the time column is not uniform: {} to {} ms at sample {k}, {dt} ms on average",
                    t[k - 1],
                    t[k]
                ),
            ));
        }
        let mut data = Vec::with_capacity((names.len() - 1) * n_samples);
        for c in &columns[1..] {
            data.extend_from_slice(c);
        }
        Ok(Self {
            names: names[1..].to_vec(),
            dt,
            n_samples,
            data,
        })
    }

    /// Writes CSV: `time_ms` then one column per trace, each value in the
    /// shortest form that reads back exactly.
    pub fn write_csv(&self, mut w: impl Write) -> io::Result<()> {
        write!(w, "time_ms")?;
        for n in &self.names {
            write!(w, ",{n}")?;
        }
        writeln!(w)?;
        let decimals = time_decimals(self.dt);
        for s in 0..self.n_samples {
            write!(w, "{:.decimals$}", s as f64 * self.dt)?;
            for k in 0..self.names.len() {
                write!(w, ",{}", self.trace(k)[s])?;
            }
            writeln!(w)?;
        }
        Ok(())
    }
}

/// Reads a CSV file of numbers with a header row: the column names and
/// the columns. Errors name the file and the line.
pub fn read_columns(path: &Path) -> Result<(Vec<String>, Vec<Vec<f64>>), ReadError> {
    let csv_error = |e: csv::Error| {
        let line = e.position().map(csv::Position::line);
        let reason = match e.kind() {
            csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("{len} fields where the header has {expected_len}"),
            _ => e.to_string(),
        };
        ReadError::new(path, line, reason)
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(csv_error)?;
    let names: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(String::from)
        .collect();
    if names.is_empty() || names.iter().all(String::is_empty) {
        return Err(ReadError::new(path, None, "empty file"));
    }
    let mut columns = vec![Vec::new(); names.len()];
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map(csv::Position::line);
        for (col, f) in columns.iter_mut().zip(&record) {
            let x = f
                .parse::<f64>()
                .map_err(|e| ReadError::new(path, line, format!("`{f}`: {e}")))?;
            col.push(x);
        }
    }
    Ok((names, columns))
}

/// The decimals that write multiples of `dt` exactly enough for `dt` to be
/// read back to 1e-9 of itself: 4 for the usual steps, more for small or
/// irregular ones (up to 17).
fn time_decimals(dt: f64) -> usize {
    (4..17)
        .find(|&k| {
            let scale = 10f64.powi(k as i32);
            ((dt * scale).round() / scale - dt).abs() <= 1e-12 * dt.abs()
        })
        .unwrap_or(17)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(dt: f64, n: usize) -> Traces {
        let mut t = Traces::zeros(vec!["v".into()], dt, n);
        for (k, x) in t.trace_mut(0).iter_mut().enumerate() {
            *x = -65.0 + k as f64 / 7.0;
        }
        let path =
            std::env::temp_dir().join(format!("ruxley_traces_{}_{dt}.csv", std::process::id()));
        t.write_csv(std::fs::File::create(&path).unwrap()).unwrap();
        let back = Traces::read_csv(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(back.data(), t.data(), "values read back exactly");
        back
    }

    #[test]
    fn the_step_reads_back_whatever_its_size() {
        for dt in [0.025, 0.1, 1e-5, 2.5e-7, 1.0 / 3.0] {
            let back = round_trip(dt, 4001);
            assert!(
                (back.dt() - dt).abs() <= 1e-9 * dt,
                "{dt}: read {}",
                back.dt()
            );
        }
    }

    #[test]
    fn a_malformed_csv_is_an_error_naming_file_and_line() {
        let path = std::env::temp_dir().join(format!("ruxley_bad_{}.csv", std::process::id()));
        for (text, want) in [
            ("time_ms,v\n0,1\n0.025,x\n", ":3: `x`"),
            ("time_ms,v\n0,1\n0.025,2,3\n", "3 fields"),
            ("", "empty file"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Traces::read_csv(&path).unwrap_err().to_string();
            assert!(
                e.contains(want) && e.contains("ruxley_bad"),
                "{text:?}: {e}"
            );
        }
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_time_column_that_is_not_uniform_is_an_error() {
        let path = std::env::temp_dir().join(format!("ruxley_uneven_{}.csv", std::process::id()));
        for (text, why) in [
            ("time_ms,v\n0,1\nNaN,2\n0.05,3\n", "not uniform"),
            ("time_ms,v\n0,1\n0.025,2\nNaN,3\n", "finite steps"),
            ("time_ms,v\n0.05,1\n0.025,2\n0,3\n", "finite steps"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Traces::read_csv(&path).unwrap_err().to_string();
            assert!(e.contains(why), "{text:?}: {e}");
        }
        std::fs::write(&path, "time_ms,v\n0,1\n0.025,2\n0.06,3\n0.075,4\n").unwrap();
        let e = Traces::read_csv(&path).unwrap_err();
        std::fs::remove_file(&path).ok();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(
            e.to_string().contains("not uniform") && e.to_string().contains("sample 2"),
            "{e}"
        );
    }
}
