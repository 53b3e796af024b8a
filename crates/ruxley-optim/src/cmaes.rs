//! CMA-ES (Hansen's covariance matrix adaptation evolution strategy), the
//! gradient-free baseline: the same objectives, starting points and reports
//! as the gradient methods, without using the gradient.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use ruxley_core::linalg::{cholesky, solve_lower};

use crate::minimize::{ObjectiveError, Observer, OptimError, Progress, Report, Stop, notify};

/// Settings of [`cmaes`].
#[derive(Debug, Clone, PartialEq)]
pub struct CmaesOptions {
    /// Initial step size (in the units of x).
    pub sigma: f64,
    /// Offspring per generation (0: the default 4 + 3 ln n).
    pub population: usize,
    /// The most objective evaluations.
    pub max_evals: usize,
    /// Stop once the best loss is at most this.
    pub target_loss: Option<f64>,
    /// Seed of the sampling.
    pub seed: u64,
}

impl Default for CmaesOptions {
    fn default() -> Self {
        Self {
            sigma: 0.3,
            population: 0,
            max_evals: 10_000,
            target_loss: None,
            seed: 0,
        }
    }
}

/// Minimises `f` (values only; NaN or infinity count as the worst) from `x0`.
/// The history holds the best loss after each generation.
pub fn cmaes(
    f: &mut dyn FnMut(&[f64]) -> Result<f64, ObjectiveError>,
    x0: &[f64],
    options: &CmaesOptions,
    observers: &mut [&mut dyn Observer],
) -> Result<Report, OptimError> {
    let n = x0.len();
    let nf = n as f64;
    let lambda = if options.population > 0 {
        options.population
    } else {
        4 + (3.0 * nf.ln()) as usize
    };
    let mu = lambda / 2;
    let raw: Vec<f64> = (0..mu)
        .map(|i| (mu as f64 + 0.5).ln() - ((i + 1) as f64).ln())
        .collect();
    let sum: f64 = raw.iter().sum();
    let w: Vec<f64> = raw.iter().map(|x| x / sum).collect();
    let mu_eff = 1.0 / w.iter().map(|x| x * x).sum::<f64>();
    let c_sigma = (mu_eff + 2.0) / (nf + mu_eff + 5.0);
    let d_sigma = 1.0 + 2.0 * (((mu_eff - 1.0) / (nf + 1.0)).sqrt() - 1.0).max(0.0) + c_sigma;
    let c_c = (4.0 + mu_eff / nf) / (nf + 4.0 + 2.0 * mu_eff / nf);
    let c_1 = 2.0 / ((nf + 1.3).powi(2) + mu_eff);
    let c_mu = (1.0 - c_1).min(2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((nf + 2.0).powi(2) + mu_eff));
    let chi_n = nf.sqrt() * (1.0 - 1.0 / (4.0 * nf) + 1.0 / (21.0 * nf * nf));

    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut mean = x0.to_vec();
    let mut sigma = options.sigma;
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        c[i * n + i] = 1.0;
    }
    let (mut p_sigma, mut p_c) = (vec![0.0; n], vec![0.0; n]);
    let (mut best_x, mut best_loss) = (x0.to_vec(), f64::INFINITY);
    let mut history = Vec::new();
    let mut evals = 0;
    let mut generation = 0;
    let stop = loop {
        let l = cholesky(&c, n).map_err(|e| OptimError::Numerical {
            iteration: generation,
            reason: format!("covariance: {e}"),
        })?;
        let mut offspring: Vec<(f64, Vec<f64>)> = Vec::with_capacity(lambda);
        for _ in 0..lambda {
            let z: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
            let y: Vec<f64> = (0..n)
                .map(|i| (0..=i).map(|k| l[i * n + k] * z[k]).sum())
                .collect();
            let x: Vec<f64> = mean.iter().zip(&y).map(|(m, y)| m + sigma * y).collect();
            let v = f(&x).map_err(|error| OptimError::Objective {
                iteration: generation,
                error,
            })?;
            evals += 1;
            let v = if v.is_nan() { f64::INFINITY } else { v };
            if v < best_loss {
                best_loss = v;
                best_x.clone_from(&x);
            }
            offspring.push((v, y));
        }
        offspring.sort_by(|a, b| a.0.total_cmp(&b.0));
        history.push(best_loss);
        let progress = Progress {
            iteration: generation,
            loss: best_loss,
            grad_norm: f64::NAN,
            x: &best_x,
        };
        if !notify(observers, &progress) {
            break Stop::Observer;
        }
        if options.target_loss.is_some_and(|t| best_loss <= t) {
            break Stop::TargetLoss;
        }
        if evals + lambda > options.max_evals {
            break Stop::MaxIters;
        }
        // Recombination, evolution paths, step size and covariance.
        let mut y_w = vec![0.0; n];
        for (wi, (_, y)) in w.iter().zip(&offspring) {
            for k in 0..n {
                y_w[k] += wi * y[k];
            }
        }
        for k in 0..n {
            mean[k] += sigma * y_w[k];
        }
        let mut c_inv_half_y = y_w.clone();
        solve_lower(&l, n, &mut c_inv_half_y);
        let a = (c_sigma * (2.0 - c_sigma) * mu_eff).sqrt();
        for k in 0..n {
            p_sigma[k] = (1.0 - c_sigma) * p_sigma[k] + a * c_inv_half_y[k];
        }
        let norm_ps = p_sigma.iter().map(|x| x * x).sum::<f64>().sqrt();
        sigma *= ((c_sigma / d_sigma) * (norm_ps / chi_n - 1.0)).exp();
        let generations = (generation + 1) as f64;
        let h_sigma = norm_ps / (1.0 - (1.0 - c_sigma).powf(2.0 * generations)).sqrt()
            < (1.4 + 2.0 / (nf + 1.0)) * chi_n;
        let h = if h_sigma { 1.0 } else { 0.0 };
        let b = (c_c * (2.0 - c_c) * mu_eff).sqrt();
        for k in 0..n {
            p_c[k] = (1.0 - c_c) * p_c[k] + h * b * y_w[k];
        }
        let decay = 1.0 - c_1 - c_mu + (1.0 - h) * c_1 * c_c * (2.0 - c_c);
        for i in 0..n {
            for j in 0..=i {
                let rank_mu: f64 = w
                    .iter()
                    .zip(&offspring)
                    .map(|(wi, (_, y))| wi * y[i] * y[j])
                    .sum();
                let v = decay * c[i * n + j] + c_1 * p_c[i] * p_c[j] + c_mu * rank_mu;
                c[i * n + j] = v;
                c[j * n + i] = v;
            }
        }
        if !sigma.is_finite() || sigma <= 0.0 {
            break Stop::GradTol;
        }
        generation += 1;
    };
    Ok(Report {
        x: mean,
        best_x,
        best_loss,
        history,
        evaluations: evals,
        stop,
    })
}
