//! The kinetic energy: momentum p ~ N(0, M), K(p) = p^T M^{-1} p / 2.

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

/// The mass matrix, given by its inverse (the posterior covariance estimate).
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// Diagonal inverse mass.
    Diagonal(Vec<f64>),
    /// Dense inverse mass Sigma (row-major n x n) with its Cholesky factor L
    /// (Sigma = L L^T, lower triangular, row-major).
    Dense {
        /// Sigma = M^{-1}.
        inv_mass: Vec<f64>,
        /// Its lower Cholesky factor.
        chol: Vec<f64>,
    },
}

pub use ruxley_core::linalg::cholesky;

impl Metric {
    /// The identity metric.
    pub fn unit(n: usize) -> Self {
        Self::Diagonal(vec![1.0; n])
    }

    /// A dense metric with inverse mass `sigma` (row-major).
    pub fn dense(sigma: Vec<f64>, n: usize) -> Result<Self, String> {
        let chol = cholesky(&sigma, n)?;
        Ok(Self::Dense {
            inv_mass: sigma,
            chol,
        })
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        match self {
            Self::Diagonal(d) => d.len(),
            Self::Dense { chol, .. } => (chol.len() as f64).sqrt() as usize,
        }
    }

    /// Draws p ~ N(0, M).
    pub fn sample_momentum(&self, rng: &mut impl Rng, p: &mut [f64]) {
        match self {
            Self::Diagonal(d) => {
                for (p, s) in p.iter_mut().zip(d) {
                    let z: f64 = rng.sample(StandardNormal);
                    *p = z / s.sqrt();
                }
            }
            Self::Dense { chol, .. } => {
                // p = L^{-T} z has covariance (L L^T)^{-1} = M.
                let n = p.len();
                for x in p.iter_mut() {
                    *x = rng.sample(StandardNormal);
                }
                for i in (0..n).rev() {
                    let s: f64 = (i + 1..n).map(|k| chol[k * n + i] * p[k]).sum();
                    p[i] = (p[i] - s) / chol[i * n + i];
                }
            }
        }
    }

    /// The velocity M^{-1} p.
    pub fn velocity(&self, p: &[f64], v: &mut [f64]) {
        match self {
            Self::Diagonal(d) => {
                for ((v, p), d) in v.iter_mut().zip(p).zip(d) {
                    *v = p * d;
                }
            }
            Self::Dense { inv_mass, .. } => {
                let n = p.len();
                for i in 0..n {
                    v[i] = (0..n).map(|k| inv_mass[i * n + k] * p[k]).sum();
                }
            }
        }
    }

    /// K(p) = p^T M^{-1} p / 2.
    pub fn kinetic(&self, p: &[f64], scratch: &mut [f64]) -> f64 {
        self.velocity(p, scratch);
        0.5 * p
            .iter()
            .zip(scratch.iter())
            .map(|(a, b)| a * b)
            .sum::<f64>()
    }
}
