//! The reference backend and the CPU backend agree on what the suite's
//! reference data cannot cover: spike-driven synapses with delays, gap
//! junctions, voltage-setting neurons, clamps, recorded currents and ion
//! quantities, under both schemes.

use ruxley_backend::{Backend, Batch, RunOptions, Scheme};
use ruxley_cell::{Model, Waveform};
use ruxley_channels::spiking::{Fire, Izhikevich};
use ruxley_conformance::models::{spiking_cell, synapse_network};
use ruxley_conformance::reference::max_abs_diff;
use ruxley_cpu::CpuBackend;
use ruxley_reference::ReferenceBackend;

/// The largest difference between the two backends' traces (all columns).
fn disagreement(model: &Model, options: &RunOptions) -> f64 {
    let layout = model.build().unwrap();
    let a = CpuBackend::new()
        .simulate(&layout, Batch::single(), options)
        .unwrap()
        .remove(0);
    let b = ReferenceBackend
        .simulate(&layout, Batch::single(), options)
        .unwrap()
        .remove(0);
    assert_eq!(a.names(), b.names());
    max_abs_diff(a.data(), b.data())
}

fn clamped_cell() -> Model {
    let mut m = Model::from_branches(&[None, Some(0), Some(0), Some(1)], &[2, 3, 2, 2]).unwrap();
    m.insert(ruxley_channels::Hh::new()).unwrap();
    m.set("axial_resistivity", 120.0).unwrap();
    m.branch(1)
        .loc(1.0)
        .clamp(Waveform::step(1.0, 2.5, -20.0))
        .unwrap();
    m.branch(0).comp(0).record("v").unwrap();
    m.branch(3).comp(1).record("v").unwrap();
    m.branch(0).comp(0).record("HH_m").unwrap();
    m
}

#[test]
fn the_two_backends_agree_where_no_reference_exists() {
    let mut net = synapse_network().unwrap();
    net.synapse_type("ExpSynapse")
        .record("ExpSynapse_g")
        .unwrap();
    let mut calcium = ruxley_conformance::l5pc::calcium_cell(false).unwrap();
    for what in ["cai", "eca", "ica"] {
        calcium.comp(0).record(what).unwrap();
    }
    let cases = [
        ("synapse network", net, 10.0),
        (
            "LIF",
            spiking_cell(Box::new(Fire::new()), true, 0.3).unwrap(),
            30.0,
        ),
        (
            "Izhikevich",
            spiking_cell(Box::new(Izhikevich::new()), false, 0.125).unwrap(),
            30.0,
        ),
        ("clamped cell", clamped_cell(), 5.0),
        ("calcium cell", calcium, 10.0),
    ];
    for (name, model, t_max) in cases {
        for scheme in [Scheme::BackwardEuler, Scheme::CrankNicolson] {
            let options = RunOptions::new(0.025, t_max).with_scheme(scheme);
            let d = disagreement(&model, &options);
            println!("{name} {scheme:?}: {d:.2e}");
            // The same arithmetic in the same order: equal bits (0 measured).
            assert!(d <= 1e-12, "{name} {scheme:?}: {d:e}");
        }
    }
}
