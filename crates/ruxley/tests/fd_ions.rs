//! Gradients through ions equal finite differences: calcium currents feed a
//! pool, the pool sets eca (Nernst) and gates SK channels; elsewhere eca and
//! cai are fixed parameters.

use ruxley::cpu::CpuBackend;
use ruxley::prelude::*;
use ruxley::{Schedule, TraceFit};
use ruxley_conformance::fdcheck::{FdOptions, check_gradient};
use ruxley_conformance::l5pc::calcium_cell;

fn ca_cell(explicit_cai: bool) -> Model {
    calcium_cell(explicit_cai).unwrap()
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
    let loss = TraceFit::mse(targets);
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
        &FdOptions::smooth().with_tolerance(1e-5),
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
