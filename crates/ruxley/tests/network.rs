//! Networks: W6 against Jaxley, connection helpers, synapse gradients.

use ruxley_testing::reference::{Table, data_path, max_abs_diff};
use ruxley_testing::workloads::w6;

#[test]
fn w6_matches_jaxley() {
    let w = w6().unwrap();
    assert_eq!(w.model.n_synapses(), 243);
    let ours = ruxley::simulate(&w.model, &w.options).unwrap();
    let want = Table::read(data_path("reference/anchors/traces/w6_jaxley_f64.csv")).unwrap();
    let mut worst: f64 = 0.0;
    for name in &want.names[1..] {
        let d = max_abs_diff(ours.get(name).unwrap(), want.column(name).unwrap());
        worst = worst.max(d);
    }
    eprintln!(
        "W6 vs Jaxley: max |dV| = {worst:.2e} mV over {} cells",
        want.names.len() - 1
    );
    assert!(worst < 1e-6, "{worst:e}");
}
