//! Physics against theory: the steady state of a passive sealed cable under a
//! constant current injected at one end (Rall's cable equation), and second-
//! order convergence of the compartmental solution to it.

use ruxley::prelude::*;
use ruxley_conformance::reference::nan_max;

/// Length, radius (um), axial resistivity (ohm cm), leak (S/cm2), current (nA).
const L: f64 = 1000.0;
const RADIUS: f64 = 1.0;
const RA: f64 = 100.0;
const G_LEAK: f64 = 1e-4;
const I: f64 = 0.1;

/// V(x) - E_leak (mV) of the continuous cable: I R_inf cosh((L - x)/lambda) / sinh(L/lambda).
fn analytic(x_um: f64) -> f64 {
    let a = RADIUS * 1e-4; // cm
    let rm = 1.0 / G_LEAK; // ohm cm2
    let lambda = (rm * a / (2.0 * RA)).sqrt(); // cm
    let r_inf = RA / (std::f64::consts::PI * a * a) * lambda; // ohm
    let x = x_um * 1e-4;
    let l = L * 1e-4;
    I * 1e-9 * r_inf * ((l - x) / lambda).cosh() / (l / lambda).sinh() * 1e3
}

/// Largest relative deviation from the analytic steady state with n compartments.
fn max_error(n: usize) -> f64 {
    let mut cable = Model::from_branches(&[None], &[n]).unwrap();
    cable.set("length", L / n as f64).unwrap();
    cable.set("radius", RADIUS).unwrap();
    cable.set("axial_resistivity", RA).unwrap();
    cable.insert(Leak::new()).unwrap();
    cable.set("Leak_gLeak", G_LEAK).unwrap();
    cable.set("Leak_eLeak", -70.0).unwrap();
    cable.set("v", -70.0).unwrap();
    cable
        .comp(0)
        .stimulate(Waveform::step(0.0, 1e9, I))
        .unwrap();
    cable.comp("all").record("v").unwrap();
    // 30 membrane time constants (10 ms each): the steady state to 1e-13.
    let t = ruxley::simulate(&cable, &RunOptions::new(0.5, 300.0)).unwrap();
    (0..n)
        .map(|k| {
            let x = (k as f64 + 0.5) * L / n as f64;
            let v = t.trace(k)[t.n_samples() - 1] + 70.0;
            (v - analytic(x)).abs() / analytic(x)
        })
        .fold(0.0, nan_max)
}

#[test]
fn a_passive_cable_converges_to_the_cable_equation_at_second_order() {
    let errors: Vec<f64> = [25, 50, 100, 200].iter().map(|&n| max_error(n)).collect();
    println!("relative errors: {errors:?}");
    assert!(errors[3] < 2e-4, "{errors:?}");
    for w in errors.windows(2) {
        let order = (w[0] / w[1]).log2();
        assert!(
            (1.8..2.3).contains(&order),
            "convergence order {order} ({errors:?})"
        );
    }
}
