//! Gradients through ions equal finite differences: calcium currents feed a
//! pool, the pool sets eca (Nernst) and gates SK channels; elsewhere eca and
//! cai are fixed parameters.

use ruxley::backend::{Mse, Schedule};
use ruxley::channels::l5pc::{CaDynamicsE2, CaHva, CaLvast, Ih, Im, NaTs2T, SKv31, SkE2};
use ruxley::cpu::CpuBackend;
use ruxley::prelude::*;
use ruxley_testing::fdcheck::check_gradient;

fn ca_cell(explicit_cai: bool) -> Model {
    let mut m = Model::from_branches(&[None, Some(0)], &[1, 2]).unwrap();
    m.branch(0).set("radius", 8.0).unwrap();
    m.branch(0).set("length", 16.0).unwrap();
    m.branch(1).set("radius", 1.0).unwrap();
    m.branch(1).set("length", 20.0).unwrap();
    m.insert(Leak::new()).unwrap();
    m.set("Leak_eLeak", -70.0).unwrap();
    let mut soma = |c: Box<dyn ruxley::channels::Channel>, name: &str, g: f64| {
        m.branch(0).insert_boxed(c).unwrap();
        if !name.is_empty() {
            m.branch(0).set(name, g).unwrap();
        }
    };
    soma(Box::new(CaDynamicsE2), "CaDynamics_E2_decay", 20.0);
    soma(Box::new(CaHva), "Ca_HVA_gbar", 2e-3);
    soma(Box::new(CaLvast), "Ca_LVAst_gbar", 5e-3);
    soma(Box::new(SkE2), "SK_E2_gbar", 5e-3);
    soma(Box::new(NaTs2T), "NaTs2_t_gbar", 0.5);
    soma(Box::new(SKv31), "SKv3_1_gbar", 0.2);
    let mut dend = |c: Box<dyn ruxley::channels::Channel>, name: &str, g: f64| {
        m.branch(1).insert_boxed(c).unwrap();
        m.branch(1).set(name, g).unwrap();
    };
    dend(Box::new(Ih), "Ih_gbar", 1e-4);
    dend(Box::new(Im), "Im_gbar", 1e-3);
    dend(Box::new(CaHva), "Ca_HVA_gbar", 1e-3);
    dend(Box::new(SkE2), "SK_E2_gbar", 1e-3);
    m.branch(1).set("cai", 2e-4).unwrap();
    m.branch(1).set("eca", 125.0).unwrap();
    if explicit_cai {
        m.branch(0).set("CaDynamics_E2_cai", 1.5e-4).unwrap();
    }
    m.set_celsius(34.0).unwrap();
    m.set("ena", 50.0).unwrap();
    m.set("ek", -85.0).unwrap();
    m.set("axial_resistivity", 150.0).unwrap();
    m.set("v", -70.0).unwrap();
    m.branch(0)
        .comp(0)
        .stimulate(Waveform::step(1.0, 8.0, 0.3))
        .unwrap();
    m.branch(0).comp(0).record("v").unwrap();
    m.branch(0).comp(0).record("cai").unwrap();
    m.branch(0).comp(0).record("SK_E2_z").unwrap();
    m.branch(1).comp(1).record("v").unwrap();
    m.branch(1).comp(1).record("cai").unwrap();
    m
}

fn check(explicit_cai: bool, scheme: Scheme, schedule: Schedule) {
    let m = ca_cell(explicit_cai);
    let layout = m.build().unwrap();
    let options = RunOptions::new(0.025, 12.0).with_scheme(scheme);
    let n = options.grid().unwrap().n_samples();
    let traces = ruxley::simulate(&m, &options).unwrap();
    // Targets near the trajectory, so that every term matters.
    let targets = traces
        .names()
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let x = traces.trace(k);
            let t: Vec<f64> = (0..n)
                .map(|s| x[s] * (1.0 + 0.02 * ((s % 7) as f64 - 3.0)))
                .collect();
            (name.clone(), t)
        })
        .collect();
    let loss = Mse::new(targets);
    // The pool must have moved calcium for the test to mean something.
    let cai = traces.get("cai_b0_c0").unwrap();
    assert!(
        cai.iter().cloned().fold(0.0, f64::max) > 2.0 * cai[0],
        "{:?}",
        &cai[..3]
    );
    let rows = check_gradient(
        &CpuBackend::sequential(),
        &layout,
        &options,
        &loss,
        &schedule,
        &|_| true,
        1e-5,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{} values checked", rows.len());
    for name in [
        "eca[0]",
        "cai[1]",
        "cao[0]",
        "CaDynamics_E2_gamma[0]",
        "SK_E2_zTau[0]",
    ] {
        assert!(rows.iter().any(|r| r.name == name), "{name} not checked");
    }
}

#[test]
fn gradients_through_calcium_equal_finite_differences() {
    check(false, Scheme::BackwardEuler, Schedule::StoreAll);
}

#[test]
fn explicit_initial_calcium_crank_nicolson_and_checkpoints() {
    check(true, Scheme::CrankNicolson, Schedule::Revolve(7));
}
