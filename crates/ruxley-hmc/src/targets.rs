//! Targets with known moments, for tests, benchmarks and examples.

use crate::kernel::LogDensity;

/// N(mu, Sigma) with Sigma_ij = s_i s_j rho^|i-j| (AR(1) correlation, scales 1..10).
pub struct Gaussian {
    /// Means.
    pub mu: Vec<f64>,
    /// Standard deviations.
    pub scale: Vec<f64>,
    /// Correlation of neighbouring coordinates.
    pub rho: f64,
}

impl Gaussian {
    /// d coordinates with means i/10 - 2, scales in [1, 10) and neighbour correlation `rho`.
    pub fn new(d: usize, rho: f64) -> Self {
        Self {
            mu: (0..d).map(|i| i as f64 / 10.0 - 2.0).collect(),
            scale: (0..d)
                .map(|i| 1.0 + 9.0 * ((i * 37) % d) as f64 / d as f64)
                .collect(),
            rho,
        }
    }
}

impl LogDensity for Gaussian {
    fn dim(&self) -> usize {
        self.mu.len()
    }

    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        // The AR(1) precision is tridiagonal: with z = (x - mu)/s,
        // z^T P z (1 - rho^2) = sum z_i^2 - 2 rho sum z_i z_{i+1} + rho^2 sum_{interior} z_i^2.
        let d = x.len();
        let z: Vec<f64> = (0..d)
            .map(|i| (x[i] - self.mu[i]) / self.scale[i])
            .collect();
        let r = self.rho;
        let c = 1.0 / (1.0 - r * r);
        let mut q = 0.0;
        let mut gz = vec![0.0; d];
        for i in 0..d {
            let interior = if i > 0 && i + 1 < d { r * r } else { 0.0 };
            q += (1.0 + interior) * z[i] * z[i];
            gz[i] += 2.0 * (1.0 + interior) * z[i];
            if i + 1 < d {
                q -= 2.0 * r * z[i] * z[i + 1];
                gz[i] -= 2.0 * r * z[i + 1];
                gz[i + 1] -= 2.0 * r * z[i];
            }
        }
        for i in 0..d {
            grad[i] = -0.5 * c * gz[i] / self.scale[i];
        }
        -0.5 * c * q
    }
}

/// Neal's funnel: v ~ N(0, 3^2), x_i ~ N(0, e^v).
pub struct Funnel(pub usize);

impl LogDensity for Funnel {
    fn dim(&self) -> usize {
        self.0
    }

    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let v = x[0];
        let n = (self.0 - 1) as f64;
        let ss: f64 = x[1..].iter().map(|a| a * a).sum();
        grad[0] = -v / 9.0 - 0.5 * n + 0.5 * ss * (-v).exp();
        for i in 1..self.0 {
            grad[i] = -x[i] * (-v).exp();
        }
        -v * v / 18.0 - 0.5 * n * v - 0.5 * ss * (-v).exp()
    }
}

/// The banana: x ~ N(0, 1), y | x ~ N(b (x^2 - 1), 0.5^2), so E y = 0 and Var y = 2 b^2 + 1/4.
pub struct Banana(pub f64);

impl LogDensity for Banana {
    fn dim(&self) -> usize {
        2
    }

    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let r = (x[1] - self.0 * (x[0] * x[0] - 1.0)) / 0.5;
        grad[0] = -x[0] + r / 0.5 * self.0 * 2.0 * x[0];
        grad[1] = -r / 0.5;
        -0.5 * x[0] * x[0] - 0.5 * r * r
    }
}
