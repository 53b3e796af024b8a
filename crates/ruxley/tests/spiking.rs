//! Non-capacitive neurons: integrate-and-fire and Izhikevich cells, their
//! gradients, and surrogate gradients through spikes.

use ruxley::backend::{Mse, Schedule};
use ruxley::channels::spiking::{Fire, Izhikevich};
use ruxley::cpu::CpuBackend;
use ruxley::prelude::*;
use ruxley_testing::fdcheck::check_gradient;

/// The W1 cylinder (C = 12.57 pF) with a mechanism and a step current.
fn cell(mechanism: Box<dyn ruxley::channels::Channel>, leak: bool, amp: f64) -> Model {
    let mut m = Model::compartment();
    m.set("length", 20.0).unwrap();
    m.set("radius", 10.0).unwrap();
    if leak {
        m.insert(Leak::new()).unwrap();
        m.set("Leak_gLeak", 1e-3).unwrap();
        m.set("Leak_eLeak", -70.0).unwrap();
    }
    m.view().insert_boxed(mechanism).unwrap();
    m.set("v", -70.0).unwrap();
    m.comp(0).stimulate(Waveform::step(2.0, 40.0, amp)).unwrap();
    m.comp(0).record("v").unwrap();
    m
}

fn spikes(m: &Model, options: &RunOptions, name: &str) -> usize {
    let t = ruxley::simulate(m, options).unwrap();
    t.get(name).unwrap().iter().filter(|&&x| x == 1.0).count()
}

#[test]
fn integrate_and_fire_fires_regularly_and_izhikevich_bursts() {
    let options = RunOptions::new(0.025, 50.0);
    let mut lif = cell(Box::new(Fire::new()), true, 0.3);
    lif.comp(0).record("Fire_spike").unwrap();
    let n = spikes(&lif, &options, "Fire_spike_b0_c0");
    // Leak time constant 1 ms, threshold 20 mV above rest at 23.9 mV drive:
    // a few spikes per ms is wrong, several in 40 ms is right.
    assert!((3..40).contains(&n), "{n} spikes");
    let mut izh = cell(Box::new(Izhikevich::new()), false, 0.125);
    izh.comp(0).record("Izhikevich_spike").unwrap();
    let n = spikes(&izh, &options, "Izhikevich_spike_b0_c0");
    assert!(n >= 2, "{n} spikes");
}

fn targets(m: &Model, options: &RunOptions) -> Mse {
    let t = ruxley::simulate(m, options).unwrap();
    Mse::new(
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
    let mut izh = cell(Box::new(Izhikevich::new()), false, 0.125);
    izh.comp(0).record("Izhikevich_spike").unwrap();
    assert!(spikes(&izh, &options, "Izhikevich_spike_b0_c0") >= 1);
    for m in [cell(Box::new(Fire::new()), true, 0.1), izh] {
        let layout = m.build().unwrap();
        let loss = targets(&m, &options);
        check_gradient(
            &CpuBackend::sequential(),
            &layout,
            &options,
            &loss,
            &Schedule::Nested(vec![40, 20]),
            &|_| true,
            1e-5,
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
        let m = cell(Box::new(fire), true, 0.3);
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
