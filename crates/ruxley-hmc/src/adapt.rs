//! Warm-up: dual-averaging step-size adaptation and Stan's windowed
//! estimation of the metric, then sampling; many chains in parallel.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rayon::prelude::*;

use crate::kernel::{Hmc, Info, LogDensity, Nuts, State};
use crate::metric::Metric;

/// Why a chain cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SampleError {
    /// The start has a different number of values than the target.
    Dimension {
        /// Values of the start.
        start: usize,
        /// The target's dimension.
        target: usize,
    },
    /// The log-density is not finite at the (jittered) start.
    NonFiniteStart,
}

impl std::fmt::Display for SampleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dimension { start, target } => write!(
                f,
                "the start has {start} values for a {target}-dimensional target"
            ),
            Self::NonFiniteStart => {
                write!(f, "the log-density is not finite at the starting point")
            }
        }
    }
}

impl std::error::Error for SampleError {}

/// The transition kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kernel {
    /// NUTS with this maximal tree depth.
    Nuts {
        /// Maximal depth (10 is Stan's default).
        max_depth: usize,
    },
    /// Static HMC, each transition with a number of leapfrog steps drawn
    /// uniformly from 1 to `n_leapfrog` (see [`Hmc::jitter`]).
    Hmc {
        /// The most leapfrog steps per transition.
        n_leapfrog: usize,
    },
}

/// How to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The kernel.
    pub kernel: Kernel,
    /// Warm-up iterations (adaptation; not kept).
    pub warmup: usize,
    /// Kept draws.
    pub samples: usize,
    /// Target mean acceptance probability of the step-size adaptation.
    pub target_accept: f64,
    /// Estimate a dense metric (else diagonal).
    pub dense: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            kernel: Kernel::Nuts { max_depth: 10 },
            warmup: 1000,
            samples: 1000,
            target_accept: 0.8,
            dense: false,
        }
    }
}

/// One chain's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// The kept draws.
    pub draws: Vec<Vec<f64>>,
    /// Per kept transition.
    pub infos: Vec<Info>,
    /// Gradient evaluations including warm-up.
    pub n_grad_total: usize,
    /// The adapted step size.
    pub step_size: f64,
    /// The adapted metric.
    pub metric: Metric,
}

impl Chain {
    /// Divergent transitions among the kept draws.
    pub fn divergences(&self) -> usize {
        self.infos.iter().filter(|i| i.divergent).count()
    }

    /// Mean acceptance statistic of the kept draws.
    pub fn mean_accept(&self) -> f64 {
        self.infos.iter().map(|i| i.accept_prob).sum::<f64>() / self.infos.len().max(1) as f64
    }

    /// Draws of coordinate `k`.
    pub fn coordinate(&self, k: usize) -> Vec<f64> {
        self.draws.iter().map(|d| d[k]).collect()
    }
}

fn transition(
    kernel: Kernel,
    eps: f64,
    metric: &Metric,
    rng: &mut StdRng,
    target: &dyn LogDensity,
    s: &State,
) -> (State, Info) {
    match kernel {
        Kernel::Nuts { max_depth } => Nuts {
            step_size: eps,
            max_depth,
            metric: metric.clone(),
        }
        .step(rng, target, s),
        Kernel::Hmc { n_leapfrog } => Hmc {
            step_size: eps,
            n_leapfrog,
            jitter: true,
            metric: metric.clone(),
        }
        .step(rng, target, s),
    }
}

/// Doubles or halves the step size until one leapfrog step's acceptance
/// crosses 1/2 (Hoffman and Gelman's heuristic).
fn reasonable_step(
    target: &dyn LogDensity,
    metric: &Metric,
    s: &State,
    mut eps: f64,
    rng: &mut StdRng,
) -> f64 {
    // The same momentum for every trial step size.
    let seed: u64 = rng.random();
    let one = |eps: f64| {
        let h = Hmc {
            step_size: eps,
            n_leapfrog: 1,
            jitter: false,
            metric: metric.clone(),
        };
        h.step(&mut StdRng::seed_from_u64(seed), target, s)
            .1
            .accept_prob
    };
    let a = one(eps);
    let up = a > 0.5;
    for _ in 0..50 {
        let next = if up { eps * 2.0 } else { eps / 2.0 };
        let a = one(next);
        if (up && a <= 0.5) || (!up && a > 0.5) {
            return if up { eps } else { next };
        }
        eps = next;
    }
    eps
}

/// Dual averaging of log step size (Hoffman and Gelman 2014, alg. 5).
struct DualAveraging {
    mu: f64,
    h_bar: f64,
    log_eps_bar: f64,
    m: f64,
    target: f64,
}

impl DualAveraging {
    fn new(eps: f64, target: f64) -> Self {
        Self {
            mu: (10.0 * eps).ln(),
            h_bar: 0.0,
            log_eps_bar: 0.0,
            m: 0.0,
            target,
        }
    }

    fn update(&mut self, accept: f64) -> f64 {
        let (gamma, t0, kappa) = (0.05, 10.0, 0.75);
        self.m += 1.0;
        let w = 1.0 / (self.m + t0);
        self.h_bar = (1.0 - w) * self.h_bar + w * (self.target - accept);
        let log_eps = self.mu - self.m.sqrt() / gamma * self.h_bar;
        let eta = self.m.powf(-kappa);
        self.log_eps_bar = eta * log_eps + (1.0 - eta) * self.log_eps_bar;
        log_eps.exp()
    }

    fn final_step(&self) -> f64 {
        self.log_eps_bar.exp()
    }
}

/// The ends of Stan's slow adaptation windows within `warmup` iterations.
fn window_ends(warmup: usize) -> Vec<usize> {
    if warmup < 20 {
        return Vec::new();
    }
    let (init, term, base) = if warmup < 150 {
        (
            (warmup as f64 * 0.15) as usize,
            (warmup as f64 * 0.1) as usize,
            0,
        )
    } else {
        (75, 50, 25)
    };
    let end = warmup - term;
    if base == 0 {
        return vec![end];
    }
    let mut ends = Vec::new();
    let (mut start, mut size) = (init, base);
    while start < end {
        let mut stop = start + size;
        if stop + 2 * size > end {
            stop = end;
        }
        ends.push(stop);
        start = stop;
        size *= 2;
    }
    ends
}

/// Regularised covariance of the window's draws (Stan's shrinkage towards 1e-3 I).
fn estimate_metric(window: &[Vec<f64>], dense: bool) -> Metric {
    let (n, d) = (window.len() as f64, window[0].len());
    let mean: Vec<f64> = (0..d)
        .map(|k| window.iter().map(|x| x[k]).sum::<f64>() / n)
        .collect();
    let shrink = n / (n + 5.0);
    let reg = 1e-3 * 5.0 / (n + 5.0);
    if dense {
        let mut cov = vec![0.0; d * d];
        for x in window {
            for i in 0..d {
                for j in 0..=i {
                    cov[i * d + j] += (x[i] - mean[i]) * (x[j] - mean[j]) / (n - 1.0);
                }
            }
        }
        for i in 0..d {
            for j in 0..i {
                cov[j * d + i] = cov[i * d + j];
            }
        }
        let mut s: Vec<f64> = cov.iter().map(|c| shrink * c).collect();
        for i in 0..d {
            s[i * d + i] += reg;
        }
        match Metric::dense(s, d) {
            Ok(m) => return m,
            Err(_) => {
                let diag = (0..d).map(|i| shrink * cov[i * d + i] + reg).collect();
                return Metric::Diagonal(diag);
            }
        }
    }
    let diag = (0..d)
        .map(|k| {
            shrink * window.iter().map(|x| (x[k] - mean[k]).powi(2)).sum::<f64>() / (n - 1.0) + reg
        })
        .collect();
    Metric::Diagonal(diag)
}

/// Runs one chain from `x0`: warm-up (step size and metric), then `samples`
/// kept draws. Deterministic for a given `seed`.
pub fn sample_chain(
    target: &dyn LogDensity,
    x0: &[f64],
    settings: &Settings,
    seed: u64,
) -> Result<Chain, SampleError> {
    run_chain(target, x0, settings, seed, &|| {})
}

/// [`sample_chain`], calling `tick` after every transition (warm-up and
/// kept), for progress bars.
fn run_chain(
    target: &dyn LogDensity,
    x0: &[f64],
    settings: &Settings,
    seed: u64,
    tick: &(dyn Fn() + Sync),
) -> Result<Chain, SampleError> {
    let d = target.dim();
    if x0.len() != d {
        return Err(SampleError::Dimension {
            start: x0.len(),
            target: d,
        });
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut state = State::new(target, x0.to_vec());
    if !state.logp.is_finite() {
        return Err(SampleError::NonFiniteStart);
    }
    let mut metric = Metric::unit(d);
    let mut eps = reasonable_step(target, &metric, &state, 0.1, &mut rng);
    let mut da = DualAveraging::new(eps, settings.target_accept);
    let ends = window_ends(settings.warmup);
    let first = ends.first().map_or(settings.warmup, |e| {
        // the start of the first slow window
        if settings.warmup < 150 {
            (settings.warmup as f64 * 0.15) as usize
        } else {
            75
        }
        .min(*e)
    });
    let mut window: Vec<Vec<f64>> = Vec::new();
    let mut n_grad_total = 0;
    for it in 0..settings.warmup {
        let (s, info) = transition(settings.kernel, eps, &metric, &mut rng, target, &state);
        state = s;
        n_grad_total += info.n_grad;
        tick();
        eps = da.update(info.accept_prob);
        if it >= first && ends.iter().any(|&e| it < e) {
            window.push(state.x.clone());
        }
        if ends.contains(&(it + 1)) && window.len() > 2 {
            metric = estimate_metric(&window, settings.dense);
            window.clear();
            eps = reasonable_step(target, &metric, &state, eps, &mut rng);
            da = DualAveraging::new(eps, settings.target_accept);
        }
    }
    if settings.warmup > 0 {
        eps = da.final_step();
    }
    let mut draws = Vec::with_capacity(settings.samples);
    let mut infos = Vec::with_capacity(settings.samples);
    for _ in 0..settings.samples {
        let (s, info) = transition(settings.kernel, eps, &metric, &mut rng, target, &state);
        state = s;
        n_grad_total += info.n_grad;
        tick();
        draws.push(state.x.clone());
        infos.push(info);
    }
    Ok(Chain {
        draws,
        infos,
        n_grad_total,
        step_size: eps,
        metric,
    })
}

/// Runs `n_chains` chains in parallel from `x0` jittered by N(0, jitter^2),
/// chain k seeded with `seed + k` (reproducible, independent of threads).
pub fn sample_chains(
    target: &dyn LogDensity,
    x0: &[f64],
    jitter: f64,
    n_chains: usize,
    settings: &Settings,
    seed: u64,
) -> Result<Vec<Chain>, SampleError> {
    sample_chains_with_progress(target, x0, jitter, n_chains, settings, seed, &|| {})
}

/// [`sample_chains`], calling `tick` after every transition of every chain
/// (`n_chains` x (warm-up + samples) calls in all, from the chains' threads):
/// drive a progress bar with it. The draws do not depend on it.
pub fn sample_chains_with_progress(
    target: &dyn LogDensity,
    x0: &[f64],
    jitter: f64,
    n_chains: usize,
    settings: &Settings,
    seed: u64,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Chain>, SampleError> {
    let all: Vec<usize> = (0..n_chains).collect();
    sample_these_chains(target, x0, jitter, &all, settings, seed, tick)
}

/// Chains `which` of [`sample_chains_with_progress`] (chain k of it, for
/// each k listed, in that order): the same draws, so that the chains of one
/// run can be shared out between processes.
pub fn sample_these_chains(
    target: &dyn LogDensity,
    x0: &[f64],
    jitter: f64,
    which: &[usize],
    settings: &Settings,
    seed: u64,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Chain>, SampleError> {
    which
        .par_iter()
        .map(|&k| {
            let mut rng = StdRng::seed_from_u64(
                seed.wrapping_add(k as u64)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let start: Vec<f64> = x0
                .iter()
                .map(|x| x + jitter * rng.sample::<f64, _>(StandardNormal))
                .collect();
            run_chain(target, &start, settings, rng.random(), tick)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stan_windows() {
        assert_eq!(window_ends(1000), vec![100, 150, 250, 450, 950]);
        assert_eq!(window_ends(100), vec![90]);
        assert!(window_ends(10).is_empty());
    }
}
