//! The suite rejects deliberately broken backends: each fault fails the
//! check meant to catch it, with NaN failing rather than passing.

use ruxley_backend::Schedule;
use ruxley_conformance::broken::{Broken, Fault};
use ruxley_conformance::conformance::{self, Check};
use ruxley_conformance::fdcheck::{FdOptions, check_gradient};
use ruxley_core::Precision;
use ruxley_cpu::CpuBackend;

fn broken(fault: Fault) -> Broken<CpuBackend> {
    Broken {
        inner: CpuBackend::new(),
        fault,
    }
}

fn failed<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    let c = checks
        .iter()
        .find(|c| c.name.starts_with(name))
        .unwrap_or_else(|| panic!("no check {name}"));
    assert!(!c.passed(), "{} passed: {:e}", c.name, c.measured);
    c
}

#[test]
fn a_nan_sample_fails_the_trace_checks() {
    let checks = conformance::traces(&broken(Fault::NanSample), Precision::F64).unwrap();
    assert!(failed(&checks, "W1 BE").measured.is_nan());
    assert!(checks.iter().all(|c| !c.passed()));
    let checks = conformance::traces(&broken(Fault::NanSample), Precision::F32).unwrap();
    assert!(failed(&checks, "W2 BE").measured.is_nan());
}

#[test]
fn an_offset_of_a_tenth_of_a_microvolt_fails_the_trace_checks() {
    let checks = conformance::traces(&broken(Fault::Offset(1e-7)), Precision::F64).unwrap();
    for name in ["W1 BE", "W1 CN", "W6 BE"] {
        failed(&checks, name);
    }
}

#[test]
fn swapped_members_fail_the_batch_checks() {
    let checks = conformance::batches(&broken(Fault::SwappedMembers), Precision::F64).unwrap();
    failed(&checks, "batch of 11");
    failed(&checks, "batch gradients");
}

#[test]
fn a_nan_in_the_first_member_of_a_batch_fails_the_batch_checks() {
    let checks = conformance::batches(&broken(Fault::NanInFirstMember), Precision::F64).unwrap();
    assert!(failed(&checks, "batch of 11").measured.is_nan());
    assert!(failed(&checks, "batch gradients").measured.is_nan());
}

#[test]
fn wrong_gradients_fail_the_gradient_checks() {
    let checks =
        conformance::gradients(&broken(Fault::GradientScale(1.0 + 1e-8)), Precision::F64).unwrap();
    failed(&checks, "W4 gradient");
    let checks =
        conformance::gradients(&broken(Fault::GradientScale(1.0 + 1e-5)), Precision::F64).unwrap();
    failed(&checks, "synapse network");
    failed(&checks, "calcium cell");
    let checks = conformance::gradients(&broken(Fault::NanGradient), Precision::F64).unwrap();
    assert!(failed(&checks, "W4 gradient").measured.is_nan());
    assert!(failed(&checks, "calcium cell").measured.is_nan());
}

#[test]
fn the_finite_difference_checker_rejects_a_wrong_or_nan_gradient() {
    let m = ruxley_conformance::models::synapse_network().unwrap();
    let layout = m.build().unwrap();
    let options = ruxley_backend::RunOptions::new(0.025, 3.0);
    let n = options.grid().unwrap().n_samples();
    let loss = ruxley_loss::TraceFit::mse(
        layout
            .probes()
            .iter()
            .map(|p| (p.column_name(), vec![-60.0; n]))
            .collect(),
    );
    let select = |n: &str| n == "IonotropicSynapse_gS";
    let check = |b: &dyn ruxley_backend::Backend| {
        check_gradient(
            b,
            &layout,
            &options,
            &loss,
            &Schedule::StoreAll,
            &select,
            &FdOptions::smooth(),
        )
    };
    assert!(check(&CpuBackend::new()).is_ok());
    let err = check(&broken(Fault::GradientScale(1.0 + 1e-4))).unwrap_err();
    assert!(err.contains("IonotropicSynapse_gS[0]"), "{err}");
    let err = check(&broken(Fault::NanGradient)).unwrap_err();
    assert!(err.contains("not finite"), "{err}");
}

#[test]
fn a_backend_that_returns_nan_traces_instead_of_errors_fails_the_error_checks() {
    conformance::errors(&CpuBackend::new()).unwrap();
    let err = conformance::errors(&broken(Fault::SwallowErrors)).unwrap_err();
    assert!(err.contains("NaN parameter"), "{err}");
}
