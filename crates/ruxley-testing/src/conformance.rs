//! Checks every backend must pass.

use ruxley_backend::{Backend, Batch, Scheme};

use crate::reference::{Table, data_path, max_abs_diff};
use crate::workloads::Workload;

/// Runs `workload` on `backend` with `scheme` and returns the largest
/// absolute voltage difference (mV) from the reference CSV
/// `data/reference/anchors/traces/<file>` over all its columns and samples.
pub fn deviation_from(
    backend: &dyn Backend,
    workload: &Workload,
    scheme: Scheme,
    file: &str,
) -> f64 {
    let layout = workload.model.build().expect("workload builds");
    let options = workload.options.with_scheme(scheme);
    let traces = backend
        .simulate(&layout, Batch::single(), &options)
        .expect("workload runs");
    let reference = Table::read(data_path(&format!("reference/anchors/traces/{file}")))
        .expect("reference readable");
    let mut worst: f64 = 0.0;
    for name in &reference.names[1..] {
        let got = traces[0]
            .get(name)
            .unwrap_or_else(|| panic!("no trace {name}"));
        let want = reference.column(name).expect("column exists");
        worst = worst.max(max_abs_diff(got, want));
    }
    worst
}

/// W1 and W2 under backward Euler and Crank-Nicolson against NEURON:
/// returns (workload, scheme, deviation) rows and panics above `tolerance` mV.
pub fn check_anchor_traces(backend: &dyn Backend, tolerance: f64) -> Vec<(String, Scheme, f64)> {
    let mut rows = Vec::new();
    let cases = [
        ("w1", crate::workloads::w1()),
        ("w2", crate::workloads::w2()),
    ];
    for (name, workload) in cases {
        let workload = workload.expect("workload builds");
        for (scheme, variant) in [
            (Scheme::BackwardEuler, "nrn_bwd_notable"),
            (Scheme::CrankNicolson, "nrn_cn_notable"),
        ] {
            let dev = deviation_from(backend, &workload, scheme, &format!("{name}_{variant}.csv"));
            assert!(
                dev <= tolerance,
                "{} {name} {variant}: max |dV| = {dev:.3e} mV > {tolerance:.1e}",
                backend.name()
            );
            rows.push((name.to_string(), scheme, dev));
        }
    }
    rows
}
