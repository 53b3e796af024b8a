//! Checks a backend's gradient of a loss on simulated traces against
//! central finite differences of the same backend's forward runs.

use ruxley_backend::{Backend, Batch, RunOptions, Schedule, TraceLoss};
use ruxley_cell::{Layout, Parameters, Target};

/// One compared parameter value.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The block name and the index in it.
    pub name: String,
    /// The backend's gradient.
    pub adjoint: f64,
    /// Richardson-extrapolated central differences.
    pub finite: f64,
}

/// The loss at `params`.
fn loss_at(
    backend: &dyn Backend,
    layout: &Layout,
    options: &RunOptions,
    params: &Parameters,
    loss: &dyn TraceLoss,
) -> f64 {
    let t = backend
        .simulate(layout, Batch::params(std::slice::from_ref(params)), options)
        .expect("the perturbed model runs")
        .remove(0);
    let mut g = t.zeros_like();
    loss.value_and_grad(0, &t, &mut g)
        .expect("the loss evaluates")
}

/// Compares the gradient with finite differences for every value of every
/// parameter block whose name `select` accepts (initial states left at
/// their steady state are skipped: they are not values). A value passes
/// when |adjoint - fd| <= `tolerance` max(|fd|, 1e-4 max|gradient|) for
/// the central difference at a relative step of 1e-4, or, failing that, at
/// 1e-5 or 1e-6: spike-driven synapses make the loss piecewise smooth, and
/// a large step can straddle a spike moving from one time step to the next.
/// Returns all comparisons, or the first failure as an error.
pub fn check_gradient(
    backend: &dyn Backend,
    layout: &Layout,
    options: &RunOptions,
    loss: &dyn TraceLoss,
    schedule: &Schedule,
    select: &dyn Fn(&str) -> bool,
    tolerance: f64,
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
    let mut out = Vec::new();
    for block in base.layout().blocks() {
        if !select(&block.name) {
            continue;
        }
        let state = matches!(block.target, Target::ChannelState { .. });
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
            let c = |h: f64| (f(h) - f(-h)) / (2.0 * h);
            let adjoint = g.params[j];
            let mut tried = Vec::new();
            let magnitude = if x == 0.0 { 10.0 } else { x.abs().max(1e-2) };
            for relative in [1e-4, 1e-5, 1e-6] {
                let h = relative * magnitude;
                let finite = (4.0 * c(h / 2.0) - c(h)) / 3.0;
                tried.push(finite);
                if (adjoint - finite).abs() <= tolerance * finite.abs().max(1e-4 * scale) {
                    break;
                }
            }
            let finite = *tried.last().expect("tried once");
            let name = format!("{}[{k}]", block.name);
            if (adjoint - finite).abs() > tolerance * finite.abs().max(1e-4 * scale) {
                return Err(format!(
                    "{name}: adjoint {adjoint:e}, finite differences {tried:?}"
                ));
            }
            out.push(Comparison {
                name,
                adjoint,
                finite,
            });
        }
    }
    Ok(out)
}
