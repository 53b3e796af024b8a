//! L-BFGS with a backtracking (Armijo) line search, for deterministic
//! objectives such as a simulation fitted to a synthetic target.

use crate::minimize::{Objective, Observer, OptimError, Progress, Report, Stop, notify};

/// Settings of [`lbfgs`].
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsOptions {
    /// The most iterations (line searches).
    pub max_iters: usize,
    /// Pairs of steps and gradient changes remembered.
    pub memory: usize,
    /// Stop once the loss is at most this.
    pub target_loss: Option<f64>,
    /// Stop once the gradient's norm is at most this.
    pub grad_tol: Option<f64>,
    /// The longest first step of a line search (in the norm of x).
    pub max_step: f64,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        Self {
            max_iters: 100,
            memory: 10,
            target_loss: None,
            grad_tol: None,
            max_step: 1.0,
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimises `objective` from `x0` by L-BFGS (Nocedal and Wright, alg. 7.4)
/// with Armijo backtracking; every evaluation is shown to the observers.
pub fn lbfgs(
    objective: &mut dyn Objective,
    x0: &[f64],
    options: &LbfgsOptions,
    observers: &mut [&mut dyn Observer],
) -> Result<Report, OptimError> {
    let mut evaluations = 0usize;
    let mut history = Vec::new();
    let mut eval =
        |x: &[f64], k: usize, history: &mut Vec<f64>, observers: &mut [&mut dyn Observer]| {
            let (f, g) = objective
                .value_and_grad(x)
                .map_err(|error| OptimError::Objective {
                    iteration: k,
                    error,
                })?;
            if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
                return Err(OptimError::NonFinite { iteration: k });
            }
            evaluations += 1;
            history.push(f);
            let grad_norm = dot(&g, &g).sqrt();
            let progress = Progress {
                iteration: k,
                loss: f,
                grad_norm,
                x,
            };
            // Every observer sees every evaluation; any may ask to stop.
            let keep = notify(observers, &progress);
            Ok((f, g, keep))
        };
    let mut x = x0.to_vec();
    let (mut f, mut g, keep) = eval(&x, 0, &mut history, observers)?;
    let (mut best_x, mut best_loss) = (x.clone(), f);
    let mut pairs: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    let mut stop = if keep { Stop::MaxIters } else { Stop::Observer };
    for k in 1..=options.max_iters {
        if stop == Stop::Observer {
            break;
        }
        if options.target_loss.is_some_and(|t| f <= t) {
            stop = Stop::TargetLoss;
            break;
        }
        if options.grad_tol.is_some_and(|t| dot(&g, &g).sqrt() <= t) {
            stop = Stop::GradTol;
            break;
        }
        // Two-loop recursion: d = -H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(pairs.len());
        for (s, y, rho) in pairs.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(q, y)| *q -= a * y);
            alphas.push(a);
        }
        let gamma = pairs.last().map_or(1.0, |(s, y, _)| dot(s, y) / dot(y, y));
        q.iter_mut().for_each(|q| *q *= gamma);
        for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(q, s)| *q += (a - b) * s);
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            pairs.clear();
            d = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
        let norm = dot(&d, &d).sqrt();
        let mut t = if pairs.is_empty() {
            (options.max_step / norm).min(1.0)
        } else {
            1.0f64.min(options.max_step / norm)
        };
        let mut accepted = None;
        for _ in 0..30 {
            let xt: Vec<f64> = x.iter().zip(&d).map(|(x, d)| x + t * d).collect();
            let (ft, gt, keep) = eval(&xt, k, &mut history, observers)?;
            if !keep {
                stop = Stop::Observer;
            }
            if ft <= f + 1e-4 * t * slope {
                accepted = Some((xt, ft, gt));
                break;
            }
            if stop == Stop::Observer {
                break;
            }
            t *= 0.5;
        }
        let Some((xn, fn_, gn)) = accepted else {
            if stop != Stop::Observer {
                stop = Stop::GradTol;
            }
            break;
        };
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            pairs.push((s, y, 1.0 / sy));
            if pairs.len() > options.memory {
                pairs.remove(0);
            }
        }
        (x, f, g) = (xn, fn_, gn);
        if f < best_loss {
            best_loss = f;
            best_x.clone_from(&x);
        }
    }
    if options.target_loss.is_some_and(|t| f <= t) {
        stop = Stop::TargetLoss;
    }
    Ok(Report {
        x,
        best_x,
        best_loss,
        history,
        evaluations,
        stop,
    })
}
