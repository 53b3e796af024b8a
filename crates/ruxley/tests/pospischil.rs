//! The Pospischil et al. (2008) channels against Jaxley's float64 runs
//! (`validation/jaxley_pospischil.py`): one compartment with given initial
//! gates, a spiking cell (Na, K, Km, CaL) and a rebound cell (CaT, Km).

use ruxley::channels::Leak;
use ruxley::channels::pospischil::{CaL, CaT, K, Km, Na};
use ruxley::prelude::*;
use ruxley_conformance::reference::{Table, data_path, max_abs_diff, nan_max};

/// Runs a compartment with `channels`, the values `set` (parameters and
/// initial states) and a step current, recording v and `states` under the
/// reference's column names.
fn run(
    channels: Vec<Box<dyn ruxley::channels::Channel>>,
    set: &[(&str, f64)],
    step: (f64, f64, f64),
    states: &[&str],
) -> ruxley::Traces {
    let mut m = Model::compartment();
    m.set("length", 20.0).unwrap();
    m.set("radius", 10.0).unwrap();
    m.set("capacitance", 1.0).unwrap();
    for ch in channels {
        m.comp(0).insert(ch).unwrap();
    }
    for &(name, x) in set {
        m.set(name, x).unwrap();
    }
    m.set("v", -70.0).unwrap();
    m.comp(0)
        .stimulate(Waveform::step(step.0, step.1, step.2))
        .unwrap();
    m.comp(0).record_column("v", "v_soma_mV").unwrap();
    for s in states {
        m.comp(0).record_column(s, &format!("{s}_soma")).unwrap();
    }
    ruxley::simulate(&m, &RunOptions::new(0.025, 200.0)).unwrap()
}

fn compare(ours: &ruxley::Traces, file: &str) -> f64 {
    let want = Table::read(data_path(&format!("reference/pospischil/{file}"))).unwrap();
    let mut worst: f64 = 0.0;
    for name in &want.names[1..] {
        let d = max_abs_diff(ours.get(name).unwrap(), want.column(name).unwrap());
        let tol = if name.starts_with("v_") { 1e-6 } else { 1e-9 };
        assert!(d < tol, "{file} {name}: {d:e}");
        worst = nan_max(worst, d);
    }
    worst
}

#[test]
fn the_spiking_cell_matches_jaxley() {
    let ours = run(
        vec![
            Box::new(Na),
            Box::new(K),
            Box::new(Km),
            Box::new(CaL),
            Box::new(Leak::new()),
        ],
        &[
            ("Na_gNa", 0.05),
            ("K_gK", 0.005),
            ("Km_gKm", 3e-4),
            ("Km_taumax", 400.0),
            ("CaL_gCaL", 2e-4),
            ("Leak_gLeak", 1e-4),
            ("Leak_eLeak", -70.0),
            ("ena", 50.0),
            ("ek", -90.0),
            ("eca", 120.0),
            ("vt", -58.0),
            ("Na_m", 0.02),
            ("Na_h", 0.9),
            ("K_n", 0.05),
            ("Km_p", 0.03),
            ("CaL_q", 0.01),
            ("CaL_r", 0.4),
        ],
        (10.0, 180.0, 0.15),
        &["Km_p", "CaL_q", "CaL_r"],
    );
    let v = ours.get("v_soma_mV").unwrap();
    let spikes = ruxley::analysis::spike_times(v, 0.025, 0.0);
    assert!(spikes.len() >= 5, "{spikes:?}");
    eprintln!(
        "Pospischil spiking cell ({} spikes) vs Jaxley: max |dV| {:.1e} mV",
        spikes.len(),
        compare(&ours, "jaxley_spiking.csv")
    );
}

#[test]
fn the_rebound_cell_matches_jaxley() {
    let ours = run(
        vec![Box::new(CaT), Box::new(Km), Box::new(Leak::new())],
        &[
            ("CaT_gCaT", 5e-4),
            ("CaT_vx", 2.0),
            ("Km_gKm", 1e-4),
            ("Km_taumax", 1000.0),
            ("Leak_gLeak", 5e-5),
            ("Leak_eLeak", -65.0),
            ("ek", -90.0),
            ("eca", 120.0),
            ("CaT_u", 0.1),
            ("Km_p", 0.02),
        ],
        (20.0, 80.0, -0.012),
        &["CaT_u", "Km_p"],
    );
    eprintln!(
        "Pospischil CaT cell vs Jaxley: max |dV| {:.1e} mV",
        compare(&ours, "jaxley_cat.csv")
    );
}
