//! Shared set-up of the benchmarks: the anchor workloads, lowered.

#![warn(missing_docs)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ruxley::cpu::CpuBackend;
use ruxley::grad::{ThetaGrad, value_and_grad};
use ruxley::prelude::Model;
use ruxley::{Layout, RunOptions, Schedule, TraceFit};
use ruxley_conformance::workloads::{self, Workload};

/// A lowered workload with its size.
pub struct Prepared {
    /// The layout.
    pub layout: Layout,
    /// dt, t_max, scheme.
    pub options: RunOptions,
    /// Compartments x steps of one run.
    pub comp_steps: u64,
}

/// Lowers a workload.
pub fn prepare(w: Workload) -> Prepared {
    let layout = w.model.build().expect("workload builds");
    let steps = w.options.grid().expect("valid grid").n_steps() as u64;
    Prepared {
        comp_steps: layout.n_comps() as u64 * steps,
        layout,
        options: w.options,
    }
}

/// W1-long: one compartment, 40,000 steps (1 s).
pub fn w1_long() -> Prepared {
    prepare(workloads::w1_with(1000.0, 998.0).expect("W1 builds"))
}

/// W2: 124 compartments, 2,000 steps.
pub fn w2() -> Prepared {
    prepare(workloads::w2().expect("W2 builds"))
}

/// W3: 1,232 compartments, 4,000 steps.
pub fn w3() -> Prepared {
    prepare(workloads::w3().expect("W3 builds"))
}

/// W5: the 100 parameter sets of the anchors, (gNa, gK, gLeak) scaled by
/// U(0.8, 1.2) each. The anchors drew them with numpy's generator (seed 0);
/// these come from a seeded `StdRng`: same distribution and cost.
pub fn w5_params(layout: &Layout) -> Vec<ruxley::Parameters> {
    let mut rng = StdRng::seed_from_u64(0);
    (0..100)
        .map(|_| {
            let mut p = layout.parameters().clone();
            for (name, base) in [("HH_gNa", 0.12), ("HH_gK", 0.036), ("HH_gLeak", 0.0003)] {
                let f = rng.random_range(0.8..1.2);
                p.set(name, base * f).expect("HH parameters exist");
            }
            p
        })
        .collect()
}

/// `n` parameter sets of `layout` as Jaxley's batch benchmarks draw them:
/// every HH_gNa value scaled by one factor from U(0.8, 1.2) per member,
/// member 0 at the base values.
pub fn gna_batch_params(layout: &Layout, n: usize) -> Vec<ruxley::Parameters> {
    let mut rng = StdRng::seed_from_u64(7);
    let block = layout
        .parameters()
        .layout()
        .find("HH_gNa")
        .next()
        .expect("HH_gNa exists")
        .range
        .clone();
    (0..n)
        .map(|k| {
            let f = rng.random_range(0.8..1.2);
            let f = if k == 0 { 1.0 } else { f };
            let mut p = layout.parameters().clone();
            for i in block.clone() {
                p.values_mut()[i] *= f;
            }
            p
        })
        .collect()
}

/// A gradient workload: a model with trainables, a loss and the point.
pub struct Fit {
    /// The model, with its trainables.
    pub layout: Layout,
    /// dt, t_max, scheme.
    pub options: RunOptions,
    /// The loss.
    pub loss: TraceFit,
    /// Where the gradient is taken.
    pub theta: Vec<f64>,
}

impl Fit {
    /// The loss and its gradient at `theta` on one core under `schedule`.
    pub fn gradient(&self, schedule: &Schedule) -> ThetaGrad {
        value_and_grad(
            &CpuBackend::sequential(),
            &self.layout,
            std::slice::from_ref(&self.theta),
            &self.options,
            &self.loss,
            schedule,
        )
        .expect("gradient")
        .remove(0)
    }
}

/// A network model with every synapse's gS trainable, and the mean squared
/// error of every recorded voltage to the same network with gS x 1.1 (W6's
/// gradient loss in `WORKLOADS.md`).
pub fn gs_fit(mut net: Model, options: &RunOptions) -> Fit {
    let mut target = net.clone();
    let gs = "IonotropicSynapse_gS";
    let g0 = {
        let l = net.build().expect("builds");
        l.parameters().get(gs).expect("synapses")[0]
    };
    target.synapses().set(gs, g0 * 1.1).expect("synapses");
    let t = ruxley::simulate(&target, options).expect("runs");
    let loss = TraceFit::mse_to(&t);
    net.synapses()
        .edge("all")
        .make_trainable(gs, None)
        .expect("synapses");
    let layout = net.build().expect("builds");
    let theta = layout.trainables().initial();
    Fit {
        layout,
        options: *options,
        loss,
        theta,
    }
}
