//! The CPU backend against NEURON's traces (W1, W2; W3 in the release-mode
//! test of the umbrella crate).

use ruxley_cpu::CpuBackend;
use ruxley_testing::conformance::check_anchor_traces;

#[test]
fn w1_and_w2_match_neuron_to_1e_6_mv() {
    for (w, scheme, dev) in check_anchor_traces(&CpuBackend::new(), 1e-6) {
        println!("{w} {scheme:?}: max |dV| = {dev:.2e} mV");
    }
}
