//! The largest Lyapunov exponent of an HH compartment: negative at a stable
//! resting point, zero on the limit cycle of tonic firing.

use ruxley::cpu::CpuBackend;
use ruxley::lyapunov::largest_exponent;
use ruxley_conformance::workloads::w1_with;

#[test]
fn rest_is_stable_and_tonic_firing_is_neutral() {
    // W1's compartment without input, and with 0.1 nA throughout.
    let quiet = w1_with(400.0, 0.0).unwrap();
    let rest = largest_exponent(
        &CpuBackend::new(),
        &quiet.model.build().unwrap(),
        &quiet.options,
        100.0,
        40,
    )
    .unwrap();
    let firing = w1_with(4000.0, 4000.0).unwrap();
    let cycle = largest_exponent(
        &CpuBackend::new(),
        &firing.model.build().unwrap(),
        &firing.options,
        200.0,
        40,
    )
    .unwrap();
    println!("rest {rest:.4} /ms, tonic firing {cycle:.5} /ms");
    // At rest the slowest decay of HH is tens of ms: clearly negative.
    assert!(rest < -0.02, "rest {rest}");
    // On a limit cycle the tangent along the flow neither grows nor decays;
    // the estimate approaches 0 like 1/T.
    assert!(cycle.abs() < 1e-3, "cycle {cycle}");
}
