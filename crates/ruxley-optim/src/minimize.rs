//! The optimisation loop: evaluates an objective (value and gradient), steps
//! an optimiser, keeps the best point and the loss history, lets observers
//! watch or stop the run, and checkpoints to a file so that a killed fit
//! resumes where it stopped.

use std::path::{Path, PathBuf};

use crate::optimizer::{LrSchedule, Optimizer, clip_norm};

/// Why an objective cannot be evaluated: any error (a simulation's, a
/// transform's), kept whole so that callers can inspect it.
pub type ObjectiveError = Box<dyn std::error::Error + Send + Sync>;

/// A function to minimise: its value and gradient at x.
pub trait Objective {
    /// f(x) and its gradient, or why it cannot be evaluated at x.
    fn value_and_grad(&mut self, x: &[f64]) -> Result<(f64, Vec<f64>), ObjectiveError>;
}

impl<F: FnMut(&[f64]) -> Result<(f64, Vec<f64>), ObjectiveError>> Objective for F {
    fn value_and_grad(&mut self, x: &[f64]) -> Result<(f64, Vec<f64>), ObjectiveError> {
        self(x)
    }
}

/// When to stop.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The most iterations (optimiser steps).
    pub max_iters: usize,
    /// Stop once the loss is at most this.
    pub target_loss: Option<f64>,
    /// Stop once the gradient's norm is at most this.
    pub grad_tol: Option<f64>,
    /// Clip gradients to this norm before each step.
    pub clip_norm: Option<f64>,
    /// Learning-rate multiplier per iteration.
    pub schedule: LrSchedule,
    /// Write the state here after every iteration and resume from it if it
    /// exists when the loop starts.
    pub checkpoint: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_iters: 100,
            target_loss: None,
            grad_tol: None,
            clip_norm: None,
            schedule: LrSchedule::Constant,
            checkpoint: None,
        }
    }
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The iteration budget is spent.
    MaxIters,
    /// The loss reached the target.
    TargetLoss,
    /// The gradient vanished.
    GradTol,
    /// An observer asked to stop.
    Observer,
}

/// What an observer sees after each evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Iteration (0 is the starting point).
    pub iteration: usize,
    /// The loss at `x`.
    pub loss: f64,
    /// The gradient's norm at `x`.
    pub grad_norm: f64,
    /// The point.
    pub x: &'a [f64],
}

/// Watches a run; returns false to stop it.
pub trait Observer {
    /// Called after every evaluation.
    fn observe(&mut self, progress: &Progress) -> bool;
}

impl<F: FnMut(&Progress) -> bool> Observer for F {
    fn observe(&mut self, progress: &Progress) -> bool {
        self(progress)
    }
}

/// Shows `progress` to every observer (each sees it, even after another
/// asked to stop); false when any asks to stop.
pub(crate) fn notify(observers: &mut [&mut dyn Observer], progress: &Progress) -> bool {
    observers
        .iter_mut()
        .fold(true, |keep, o| o.observe(progress) & keep)
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The last point.
    pub x: Vec<f64>,
    /// The best point seen.
    pub best_x: Vec<f64>,
    /// Its loss.
    pub best_loss: f64,
    /// The loss at every evaluated point, in order.
    pub history: Vec<f64>,
    /// Objective evaluations in this call (excluding resumed ones).
    pub evaluations: usize,
    /// Why it stopped.
    pub stop: Stop,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum OptimError {
    /// The objective failed at a point.
    #[error("iteration {iteration}: {error}")]
    Objective {
        /// The iteration.
        iteration: usize,
        /// The objective's error.
        #[source]
        error: ObjectiveError,
    },
    /// The objective returned a non-finite value or gradient.
    #[error("iteration {iteration}: the loss or its gradient is not finite")]
    NonFinite {
        /// The iteration.
        iteration: usize,
    },
    /// The optimiser's own arithmetic failed (CMA-ES's covariance lost
    /// positive definiteness).
    #[error("iteration {iteration}: {reason}")]
    Numerical {
        /// The iteration.
        iteration: usize,
        /// What failed.
        reason: String,
    },
    /// The checkpoint file could not be read, written or used.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl OptimError {
    fn checkpoint(path: &Path, reason: impl ToString) -> Self {
        Self::Checkpoint {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// The resumable state of a run.
#[derive(Debug, Clone, PartialEq)]
struct Saved {
    iteration: usize,
    x: Vec<f64>,
    best_x: Vec<f64>,
    best_loss: f64,
    history: Vec<f64>,
    optimizer: String,
    state: Vec<f64>,
}

fn write_line(out: &mut String, key: &str, values: &[f64]) {
    out.push_str(key);
    for v in values {
        // `{:?}` prints the shortest exact representation, inf and NaN included.
        out.push_str(&format!(" {v:?}"));
    }
    out.push('\n');
}

impl Saved {
    fn to_text(&self) -> String {
        let mut s = format!("ruxley-optim checkpoint 1\noptimizer {}\n", self.optimizer);
        write_line(&mut s, "iteration", &[self.iteration as f64]);
        write_line(&mut s, "x", &self.x);
        write_line(&mut s, "best_x", &self.best_x);
        write_line(&mut s, "best_loss", &[self.best_loss]);
        write_line(&mut s, "history", &self.history);
        write_line(&mut s, "state", &self.state);
        s
    }

    fn from_text(text: &str) -> Result<Self, String> {
        let mut lines = text.lines();
        if lines.next() != Some("ruxley-optim checkpoint 1") {
            return Err("not a checkpoint of this version".into());
        }
        let mut get = |key: &str| -> Result<Vec<String>, String> {
            let line = lines.next().ok_or(format!("missing {key}"))?;
            let mut parts = line.split(' ');
            if parts.next() != Some(key) {
                return Err(format!("expected {key}, found `{line}`"));
            }
            Ok(parts.filter(|p| !p.is_empty()).map(String::from).collect())
        };
        let optimizer = get("optimizer")?.join(" ");
        let nums = |v: Vec<String>| -> Result<Vec<f64>, String> {
            v.iter()
                .map(|s| s.parse::<f64>().map_err(|e| format!("`{s}`: {e}")))
                .collect()
        };
        let iteration = nums(get("iteration")?)?
            .first()
            .copied()
            .ok_or("empty iteration")? as usize;
        let x = nums(get("x")?)?;
        let best_x = nums(get("best_x")?)?;
        let best_loss = nums(get("best_loss")?)?
            .first()
            .copied()
            .ok_or("empty best_loss")?;
        let history = nums(get("history")?)?;
        let state = nums(get("state")?)?;
        Ok(Self {
            iteration,
            x,
            best_x,
            best_loss,
            history,
            optimizer,
            state,
        })
    }
}

/// Minimises `objective` from `x0` with `optimizer`.
pub fn minimize(
    objective: &mut dyn Objective,
    x0: &[f64],
    optimizer: &mut dyn Optimizer,
    options: &Options,
    observers: &mut [&mut dyn Observer],
) -> Result<Report, OptimError> {
    let mut saved = Saved {
        iteration: 0,
        x: x0.to_vec(),
        best_x: x0.to_vec(),
        best_loss: f64::INFINITY,
        history: Vec::new(),
        optimizer: optimizer.name().into(),
        state: optimizer.state(),
    };
    if let Some(path) = &options.checkpoint
        && path.exists()
    {
        let text = std::fs::read_to_string(path).map_err(|e| OptimError::checkpoint(path, e))?;
        let s = Saved::from_text(&text).map_err(|e| OptimError::checkpoint(path, e))?;
        if s.optimizer != optimizer.name() || s.x.len() != x0.len() {
            return Err(OptimError::checkpoint(
                path,
                format!(
                    "holds a {} run of {} parameters, not {} of {}",
                    s.optimizer,
                    s.x.len(),
                    optimizer.name(),
                    x0.len()
                ),
            ));
        }
        optimizer
            .set_state(&s.state)
            .map_err(|e| OptimError::checkpoint(path, e))?;
        saved = s;
    }
    let mut evaluations = 0;
    let mut x = saved.x.clone();
    let stop = loop {
        let k = saved.iteration;
        let (loss, mut grad) =
            objective
                .value_and_grad(&x)
                .map_err(|error| OptimError::Objective {
                    iteration: k,
                    error,
                })?;
        evaluations += 1;
        if !loss.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            return Err(OptimError::NonFinite { iteration: k });
        }
        saved.history.push(loss);
        if loss < saved.best_loss {
            saved.best_loss = loss;
            saved.best_x.clone_from(&x);
        }
        let grad_norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        let progress = Progress {
            iteration: k,
            loss,
            grad_norm,
            x: &x,
        };
        if !notify(observers, &progress) {
            break Stop::Observer;
        }
        if options.target_loss.is_some_and(|t| loss <= t) {
            break Stop::TargetLoss;
        }
        if options.grad_tol.is_some_and(|t| grad_norm <= t) {
            break Stop::GradTol;
        }
        if k >= options.max_iters {
            break Stop::MaxIters;
        }
        if let Some(c) = options.clip_norm {
            clip_norm(&mut grad, c);
        }
        optimizer.step(&mut x, &grad, loss, options.schedule.factor(k));
        saved.iteration = k + 1;
        saved.x.clone_from(&x);
        saved.state = optimizer.state();
        if let Some(path) = &options.checkpoint {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, saved.to_text())
                .and_then(|()| std::fs::rename(&tmp, path))
                .map_err(|e| OptimError::checkpoint(path, e))?;
        }
    };
    Ok(Report {
        x,
        best_x: saved.best_x,
        best_loss: saved.best_loss,
        history: saved.history,
        evaluations,
        stop,
    })
}
