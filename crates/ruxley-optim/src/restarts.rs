//! Parallel restarts: many runs from different starting points, best first.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use crate::minimize::{OptimError, Report};

/// `n` starting points drawn uniformly from the boxes `bounds`, reproducibly from `seed`.
pub fn uniform_starts(bounds: &[(f64, f64)], n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            bounds
                .iter()
                .map(|&(lo, hi)| lo + (hi - lo) * rng.random::<f64>())
                .collect()
        })
        .collect()
}

/// Runs `run` from every start in parallel (each run gets its index) and
/// returns the reports sorted by their best loss, best first (ties in start
/// order).
pub fn restarts(
    starts: &[Vec<f64>],
    run: impl Fn(usize, &[f64]) -> Result<Report, OptimError> + Sync,
) -> Result<Vec<Report>, OptimError> {
    let mut reports = run_starts(starts, run)?;
    best_first(&mut reports);
    Ok(reports)
}

/// Runs `run` from every start in parallel; the reports in start order.
pub fn run_starts(
    starts: &[Vec<f64>],
    run: impl Fn(usize, &[f64]) -> Result<Report, OptimError> + Sync,
) -> Result<Vec<Report>, OptimError> {
    starts
        .par_iter()
        .enumerate()
        .map(|(k, x0)| run(k, x0))
        .collect()
}

/// Sorts reports in start order by their best loss, best first (a stable
/// sort: ties stay in start order).
pub fn best_first(reports: &mut [Report]) {
    reports.sort_by(|a, b| a.best_loss.total_cmp(&b.best_loss));
}
