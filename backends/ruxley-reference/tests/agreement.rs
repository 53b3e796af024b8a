//! The reference backend and the CPU backend agree on what the suite's
//! reference data cannot cover (`ruxley_conformance::models::agreement_cases`),
//! under both schemes.

use ruxley_backend::{Backend, Batch, RunOptions, Scheme};
use ruxley_cell::Model;
use ruxley_conformance::models::agreement_cases;
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

#[test]
fn the_two_backends_agree_where_no_reference_exists() {
    for (name, model, t_max) in agreement_cases().unwrap() {
        for scheme in [Scheme::BackwardEuler, Scheme::CrankNicolson] {
            let options = RunOptions::new(0.025, t_max).with_scheme(scheme);
            let d = disagreement(&model, &options);
            // The same arithmetic in the same order: equal bits.
            assert!(d == 0.0, "{name} {scheme:?}: {d:e}");
        }
    }
}
