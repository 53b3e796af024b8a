//! Non-capacitive neurons: integrate-and-fire and Izhikevich cells, their
//! gradients, and surrogate gradients through spikes.

use ruxley::channels::spiking::{Fire, Izhikevich};
use ruxley::cpu::CpuBackend;
use ruxley::prelude::*;
use ruxley::{Schedule, TraceFit};
use ruxley_conformance::fdcheck::{FdOptions, check_gradient};
use ruxley_conformance::models::spiking_cell;

fn spikes(m: &Model, options: &RunOptions, name: &str) -> usize {
    let t = ruxley::simulate(m, options).unwrap();
    t.get(name).unwrap().iter().filter(|&&x| x == 1.0).count()
}

#[test]
fn integrate_and_fire_fires_regularly_and_izhikevich_bursts() {
    let options = RunOptions::new(0.025, 50.0);
    let mut lif = spiking_cell(Box::new(Fire::new()), true, 0.3).unwrap();
    lif.comp(0).record("Fire_spike").unwrap();
    let n = spikes(&lif, &options, "Fire_spike_b0_c0");
    // Leak time constant 1 ms, threshold 20 mV above rest at 23.9 mV drive:
    // a few spikes per ms is wrong, several in 40 ms is right.
    assert!((3..40).contains(&n), "{n} spikes");
    let mut izh = spiking_cell(Box::new(Izhikevich::new()), false, 0.125).unwrap();
    izh.comp(0).record("Izhikevich_spike").unwrap();
    let n = spikes(&izh, &options, "Izhikevich_spike_b0_c0");
    assert!(n >= 2, "{n} spikes");
}

fn targets(m: &Model, options: &RunOptions) -> TraceFit {
    let t = ruxley::simulate(m, options).unwrap();
    TraceFit::mse(
        t.names()
            .iter()
            .enumerate()
            .map(|(k, n)| {
                let x = t.trace(k);
                (
                    n.clone(),
                    x.iter()
                        .enumerate()
                        .map(|(s, v)| v + 2.0 * ((s % 3) as f64 - 1.0))
                        .collect(),
                )
            })
            .collect(),
    )
}

#[test]
fn gradients_of_spiking_cells_equal_finite_differences_between_spikes() {
    // Subthreshold integrate-and-fire, and a bursting Izhikevich cell: the
    // discrete-time loss is piecewise smooth, and the adjoint (true spike
    // derivative 0) is its exact derivative within a piece.
    let options = RunOptions::new(0.025, 20.0);
    let mut izh = spiking_cell(Box::new(Izhikevich::new()), false, 0.125).unwrap();
    izh.comp(0).record("Izhikevich_spike").unwrap();
    assert!(spikes(&izh, &options, "Izhikevich_spike_b0_c0") >= 1);
    for m in [spiking_cell(Box::new(Fire::new()), true, 0.1).unwrap(), izh] {
        let layout = m.build().unwrap();
        let loss = targets(&m, &options);
        check_gradient(
            &CpuBackend::sequential(),
            &layout,
            &options,
            &loss,
            &Schedule::Nested(vec![40, 20]),
            &|_| true,
            &FdOptions::spiking(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn surrogates_carry_gradients_through_spikes() {
    // The threshold of an integrate-and-fire cell moves the loss only
    // through its spikes: its true derivative is 0, a surrogate's is not.
    let options = RunOptions::new(0.025, 30.0);
    let grad_vth = |fire: Fire| {
        let m = spiking_cell(Box::new(fire), true, 0.3).unwrap();
        let layout = m.build().unwrap();
        let loss = targets(&m, &options);
        let g = CpuBackend::sequential()
            .value_and_grad(
                &layout,
                Batch::single(),
                &options,
                &loss,
                &Schedule::StoreAll,
            )
            .unwrap()
            .remove(0);
        let block = layout
            .parameters()
            .layout()
            .find("Fire_vth")
            .next()
            .unwrap();
        g.params[block.range.start]
    };
    assert_eq!(grad_vth(Fire::new()), 0.0);
    let g = grad_vth(Fire::with_surrogate(1.0));
    assert!(g.is_finite() && g != 0.0, "{g}");
}
