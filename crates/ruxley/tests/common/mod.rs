//! Comparing traces with the NEURON reference files of the L5PC channels.
//!
//! Alignment: v, the pool's cai, and the currents and eca of the step ending
//! at each sample are recorded exactly as NEURON records them. Gates are
//! recorded as used during the step ending at the sample (Jaxley's
//! convention), which is NEURON's value one row earlier.

use ruxley::Traces;
use ruxley_conformance::reference::{Table, nan_max};

/// Max |ours - NEURON| per reference column (gates shifted by one row).
pub fn compare(ours: &Traces, reference: &Table) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    for (name, col) in reference.names.iter().zip(&reference.columns) {
        if name == "time_ms" || name == "i_stim_nA" {
            continue;
        }
        let mine = ours.get(name).unwrap_or_else(|| panic!("no column {name}"));
        assert_eq!(mine.len(), col.len(), "{name}");
        let gate = name.contains('.');
        let pairs: Vec<(f64, f64)> = if gate {
            mine[1..]
                .iter()
                .copied()
                .zip(col[..col.len() - 1].iter().copied())
                .collect()
        } else {
            mine.iter().copied().zip(col.iter().copied()).collect()
        };
        let diff = pairs.iter().map(|(a, b)| (a - b).abs()).fold(0.0, nan_max);
        let scale = col.iter().map(|x| x.abs()).fold(0.0, f64::max);
        out.push((name.clone(), diff, scale));
    }
    out
}

/// Voltages to `tol_v` mV; every other column (gates, currents, `cai`,
/// `eca`) to `tol_rel` of its largest value (the files hold 12 significant
/// digits).
pub fn check(what: &str, ours: &Traces, reference: &Table, tol_v: f64, tol_rel: f64) {
    for (name, diff, scale) in compare(ours, reference) {
        let voltage = name == "v" || name.starts_with("v_");
        let tol = if voltage {
            tol_v
        } else {
            tol_rel * scale.max(1e-300)
        };
        eprintln!("{what} {name}: max |diff| {diff:.2e} (scale {scale:.2e})");
        assert!(diff <= tol, "{what} {name}: {diff:e} > {tol:e}");
    }
}
