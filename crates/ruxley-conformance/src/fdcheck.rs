//! Checks a backend's gradient of a loss on simulated traces against
//! central finite differences of the same backend's forward runs.

use ruxley_backend::{Backend, Batch, RunOptions, Schedule};
use ruxley_cell::{Layout, Parameters, Target};
use ruxley_loss::TraceLoss;

/// One compared parameter value.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The block name and the index in it.
    pub name: String,
    /// The backend's gradient.
    pub adjoint: f64,
    /// Richardson-extrapolated central differences.
    pub finite: f64,
    /// |adjoint - finite| / max(|finite|, floor).
    pub relative: f64,
}

/// How finite differences are taken and judged.
#[derive(Debug, Clone, PartialEq)]
pub struct FdOptions {
    /// The largest relative deviation that passes.
    pub tolerance: f64,
    /// Relative steps (of a value's magnitude) to try in turn until one
    /// passes; more than one only where the loss is piecewise smooth.
    pub steps: Vec<f64>,
    /// Deviations are relative to max(|fd|, floor x the largest |gradient|
    /// value), so that values whose derivative vanishes are judged against
    /// the gradient's scale rather than their own round-off.
    pub floor: f64,
    /// Try every step and report the smallest deviation (what the
    /// differences can resolve), instead of stopping at the first step that
    /// passes.
    pub every_step: bool,
}

impl FdOptions {
    /// A smooth loss: one step (1e-4 relative), tolerance 1e-6.
    pub fn smooth() -> Self {
        Self {
            tolerance: 1e-6,
            steps: vec![1e-4],
            floor: 1e-4,
            every_step: false,
        }
    }

    /// A loss through spikes or spike-driven synapses, piecewise smooth: a
    /// large step can straddle a spike moving from one time step to the
    /// next, so steps of 1e-4, 1e-5 and 1e-6 are tried; tolerance 1e-5.
    pub fn spiking() -> Self {
        Self {
            tolerance: 1e-5,
            steps: vec![1e-4, 1e-5, 1e-6],
            floor: 1e-4,
            every_step: false,
        }
    }

    /// The same with another tolerance.
    pub fn with_tolerance(self, tolerance: f64) -> Self {
        Self { tolerance, ..self }
    }
}

/// The derivative at 0 of `f` by Richardson-extrapolated central
/// differences with step `h`: (4 c(h/2) - c(h)) / 3, c(h) = (f(h) - f(-h)) / 2h.
pub fn richardson(f: impl Fn(f64) -> f64, h: f64) -> f64 {
    let c = |h: f64| (f(h) - f(-h)) / (2.0 * h);
    (4.0 * c(h / 2.0) - c(h)) / 3.0
}

/// The largest deviation of `grad` from [`richardson`] differences of `f`
/// at `x` (steps `relative` times each |x_k|, or `relative` where x_k = 0),
/// relative to
/// max(|fd|, `floor` x the largest |grad|); infinite where either side is
/// NaN or infinite.
pub fn worst_deviation(
    f: &dyn Fn(&[f64]) -> f64,
    x: &[f64],
    grad: &[f64],
    relative: f64,
    floor: f64,
) -> f64 {
    let scale = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    (0..x.len())
        .map(|k| {
            let along = |t: f64| {
                let mut p = x.to_vec();
                p[k] += t;
                f(&p)
            };
            let magnitude = if x[k] == 0.0 { 1.0 } else { x[k].abs() };
            let fd = richardson(along, relative * magnitude);
            let dev = (fd - grad[k]).abs() / fd.abs().max(floor * scale);
            if dev.is_finite() { dev } else { f64::INFINITY }
        })
        .fold(0.0, f64::max)
}

/// The loss at `params`, or NaN if the run fails.
fn loss_at(
    backend: &dyn Backend,
    layout: &Layout,
    options: &RunOptions,
    params: &Parameters,
    loss: &dyn TraceLoss,
) -> f64 {
    let Ok(mut t) = backend.simulate(layout, Batch::params(std::slice::from_ref(params)), options)
    else {
        return f64::NAN;
    };
    let t = t.remove(0);
    let mut g = t.zeros_like();
    loss.value_and_grad(0, &t, &mut g).unwrap_or(f64::NAN)
}

/// Compares the gradient with finite differences for every value of every
/// parameter block whose name `select` accepts (initial states left at
/// their steady state are skipped: they are not values). Returns all
/// comparisons, or the first failure (NaN and infinity fail) as an error.
pub fn check_gradient(
    backend: &dyn Backend,
    layout: &Layout,
    options: &RunOptions,
    loss: &dyn TraceLoss,
    schedule: &Schedule,
    select: &dyn Fn(&str) -> bool,
    fd: &FdOptions,
) -> Result<Vec<Comparison>, String> {
    let base = layout.parameters().clone();
    let g = backend
        .value_and_grad(
            layout,
            Batch::params(std::slice::from_ref(&base)),
            options,
            loss,
            schedule,
        )
        .map_err(|e| e.to_string())?
        .remove(0);
    let scale = g.params.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if !scale.is_finite() || g.params.iter().any(|x| x.is_nan()) {
        return Err(format!("the gradient is not finite (max |g| = {scale})"));
    }
    let mut out = Vec::new();
    for block in base.layout().blocks() {
        if !select(&block.name) {
            continue;
        }
        let state = matches!(
            block.target,
            Target::ChannelState { .. } | Target::SynapseState { .. }
        );
        for k in 0..block.comps.len() {
            let j = block.range.start + k;
            let x = base.values()[j];
            if state && x.is_nan() {
                continue;
            }
            let f = |t: f64| {
                let mut p = base.clone();
                p.values_mut()[j] = x + t;
                loss_at(backend, layout, options, &p, loss)
            };
            let adjoint = g.params[j];
            let magnitude = if x == 0.0 { 10.0 } else { x.abs().max(1e-2) };
            let mut tried = Vec::new();
            let mut best = f64::NAN;
            let mut finite = f64::NAN;
            for &relative in &fd.steps {
                let h = relative * magnitude;
                let estimate = richardson(f, h);
                tried.push(estimate);
                let dev = (adjoint - estimate).abs() / estimate.abs().max(fd.floor * scale);
                // The first step, then (trying every step) any better one.
                if best.is_nan() || dev < best {
                    finite = estimate;
                    best = dev;
                }
                if best <= fd.tolerance && !fd.every_step {
                    break;
                }
            }
            let name = format!("{}[{k}]", block.name);
            let passed = best <= fd.tolerance;
            if !passed {
                return Err(format!(
                    "{name}: adjoint {adjoint:e}, finite differences {tried:?} (relative {best:.1e})"
                ));
            }
            out.push(Comparison {
                name,
                adjoint,
                finite,
                relative: best,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_deviation_sees_a_wrong_gradient_and_a_nan() {
        let f = |x: &[f64]| x[0].powi(3) + (2.0 * x[1]).sin();
        let x = [1.3, 0.4];
        let exact = [3.0 * 1.3f64.powi(2), 2.0 * 0.8f64.cos()];
        assert!(worst_deviation(&f, &x, &exact, 1e-4, 0.0) < 1e-9);
        let wrong = [exact[0], exact[1] * 1.001];
        let dev = worst_deviation(&f, &x, &wrong, 1e-4, 0.0);
        assert!((dev - 1e-3).abs() < 1e-6, "{dev}");
        assert_eq!(
            worst_deviation(&f, &x, &[f64::NAN, exact[1]], 1e-4, 0.0),
            f64::INFINITY
        );
        assert!((richardson(|t| (1.0 + t).ln(), 1e-3) - 1.0).abs() < 1e-10);
    }
}
