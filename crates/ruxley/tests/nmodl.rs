//! Mechanisms imported from NMODL files against NEURON and against the
//! built-in channels: the Hay et al. (2011) L5PC set written as .mod files
//! (crates/ruxley-nmodl/mechanisms) on the NEURON runs of the original files,
//! one compartment per channel and the whole set on the W2 tree; and their
//! kernels' derivatives against finite differences.

mod common;

use std::path::PathBuf;

use common::{check, compare};
use ruxley::Nmodl;
use ruxley::channels::Channel;
use ruxley_conformance::l5pc::{
    MechanismSet, builtin, from_mod_files as imported, l5pc_w2_with, mod_files_dir,
    single_reference, single_tests, single_with,
};
use ruxley_conformance::reference::{Table, data_path, max_abs_diff, nan_max};

fn mechanisms() -> PathBuf {
    PathBuf::from(mod_files_dir())
}

fn run(test: &str, amplitude: f64, set: MechanismSet) -> ruxley::Traces {
    let w = single_with(test, amplitude, set).unwrap();
    ruxley::simulate(&w.model, &w.options).unwrap()
}

/// The largest difference over the columns both hold.
fn distance(a: &ruxley::Traces, b: &ruxley::Traces) -> f64 {
    a.names()
        .iter()
        .map(|n| max_abs_diff(a.get(n).unwrap(), b.get(n).unwrap()))
        .fold(0.0, nan_max)
}

#[test]
fn imported_l5pc_channels_match_neuron_and_the_builtin_set() {
    for test in single_tests() {
        let ours = run(test, 0.02, &imported);
        let reference = Table::read(single_reference("Alo", test)).unwrap();
        check(
            &format!("Alo {test} (.mod)"),
            &ours,
            &reference,
            1e-9,
            5e-11,
        );
        // Measured: 2.1e-11 at most (v, gates, currents and cai alike).
        let d = distance(&ours, &run(test, 0.02, &builtin));
        eprintln!("Alo {test}: .mod vs built-in {d:.2e}");
        assert!(d < 2e-10, "{test}: {d:e}");
    }
    for test in ["K_Tst", "NaTa_t", "SK_E2_CaHVA"] {
        let ours = run(test, 0.2, &imported);
        let reference = Table::read(single_reference("A", test)).unwrap();
        check(&format!("A {test} (.mod)"), &ours, &reference, 5e-9, 5e-11);
    }
}

#[test]
fn the_imported_set_on_the_w2_tree_matches_neuron() {
    let w = l5pc_w2_with(&imported).unwrap();
    let ours = ruxley::simulate(&w.model, &w.options).unwrap();
    let reference = Table::read(data_path("reference/l5pc/nrn_L5PC_W2.csv")).unwrap();
    // Measured: v 8.1e-8 mV, other columns 7.8e-10 of their largest value
    // (the built-in set: 8.0e-8 and 7.7e-10).
    check("L5PC W2 (.mod)", &ours, &reference, 1e-6, 8e-9);
}

#[test]
fn the_comparison_fails_for_a_changed_mechanism() {
    // NaTa_t with its activation shifted by 0.01 mV: the checker must see it.
    let source = std::fs::read_to_string(mechanisms().join("NaTa_t.mod")).unwrap();
    let shifted = source.replacen("x = u + 38", "x = u + 38.01", 1);
    assert_ne!(shifted, source, "the shift must apply");
    let changed = Nmodl::from_source("shifted NaTa_t", &shifted).unwrap();
    let set = |s: &str| -> (Box<dyn Channel>, Option<String>) {
        let (c, g) = imported(s);
        match s {
            "NaTa_t" => (Box::new(changed.clone()), g),
            _ => (c, g),
        }
    };
    let ours = run("NaTa_t", 0.02, &set);
    let reference = Table::read(single_reference("Alo", "NaTa_t")).unwrap();
    let worst = compare(&ours, &reference)
        .into_iter()
        .filter(|c| c.0 == "v")
        .map(|c| c.1)
        .fold(0.0, nan_max);
    assert!(worst > 1e-6, "{worst:e}");
}

#[test]
fn imported_kernels_match_finite_differences() {
    use ruxley::channels::gradcheck::{Point, check_channel};
    // The shipped files and the test mechanisms (derivimplicit, kinetic
    // schemes, branches).
    let files = std::fs::read_dir(mechanisms())
        .unwrap()
        .chain(std::fs::read_dir(data_path("reference/nmodl/mod")).unwrap());
    for file in files {
        let path = file.unwrap().path();
        if path.extension().is_none_or(|e| e != "mod") {
            continue;
        }
        let m = Nmodl::from_file(&path).unwrap();
        // Voltages off the kinks of piecewise rates (K_Pst at -60 mV).
        let points: Vec<Point> = [-83.0, -61.3, -37.7, -12.1, 22.9]
            .iter()
            .enumerate()
            .map(|(k, &v)| Point {
                v,
                params: m
                    .params()
                    .iter()
                    .map(|p| if p.default == 0.0 { 1e-3 } else { p.default } * (1.0 + 0.1 * k as f64))
                    .collect(),
                states: (0..m.states().len()).map(|j| 0.2 + 0.13 * ((k + j) % 5) as f64).collect(),
                inputs: m.inputs().iter().map(|_| 1e-4 + 0.05 * k as f64).collect(),
            })
            .collect();
        check_channel(&m, &points, 0.025, 34.0, 1e-6)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// Checks the gradient of an MSE to traces near the model's own against
/// finite differences (the best of steps 1e-4, 1e-5, 1e-6, tolerance 1e-6)
/// for every parameter block but `skip`; returns the worst relative
/// deviation and requires `names` among those checked.
fn check_fd(model: &ruxley::Model, t_max: f64, names: &[&str], skip: &[&str]) -> f64 {
    use ruxley::cpu::CpuBackend;
    use ruxley::{RunOptions, Schedule, TraceFit};
    use ruxley_conformance::fdcheck::{FdOptions, check_gradient};
    let options = RunOptions::new(0.025, t_max);
    let layout = model.build().unwrap();
    let traces = ruxley::simulate(model, &options).unwrap();
    let n = options.grid().unwrap().n_samples();
    let targets = traces
        .names()
        .iter()
        .enumerate()
        .filter(|(_, name)| !["ik", "ica", "eca"].contains(&name.as_str()))
        .map(|(k, name)| {
            let x = traces.trace(k);
            let t = (0..n).map(|s| x[s] * (1.0 + 0.02 * ((s % 7) as f64 - 3.0)));
            (name.clone(), t.collect())
        })
        .collect();
    let rows = check_gradient(
        &CpuBackend::sequential(),
        &layout,
        &options,
        &TraceFit::mse(targets),
        &Schedule::Revolve(9),
        &|n| !skip.contains(&n),
        &FdOptions {
            every_step: true,
            ..FdOptions::spiking().with_tolerance(1e-6)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for name in names {
        assert!(rows.iter().any(|r| r.name == *name), "{name} not checked");
    }
    rows.iter().map(|r| r.relative).fold(0.0, nan_max)
}

#[test]
fn gradients_through_imported_mechanisms_match_finite_differences() {
    // SK_E2 and Ca_HVA around a CaDynamics_E2 pool, all read from .mod
    // files, 4 ms into a 0.2 nA step: calcium flows, eca follows. (cai[0],
    // 5e-5 mM, needs the small steps.) Measured: 1.1e-7 at worst.
    let w = single_with("SK_E2_CaHVA", 0.2, &imported).unwrap();
    let worst = check_fd(
        &w.model,
        14.0,
        &[
            "SK_E2_gSK_E2bar[0]",
            "SK_E2_zTau[0]",
            "Ca_HVA_gCa_HVAbar[0]",
            "CaDynamics_E2_gamma[0]",
            "CaDynamics_E2_decay[0]",
        ],
        &[],
    );
    eprintln!("calcium: worst relative deviation {worst:.1e}");
    // The kinetic schemes (linear and second order) and derivimplicit,
    // before the first spike. Skipped: cai and cad_di_cainf, whose effect
    // on the loss is within its round-off (their finite differences with
    // the three steps disagree with each other at 1e-4). Measured: 2.5e-8,
    // 6.8e-9 and 6.6e-8 at worst.
    for (protocol, names) in [
        ("kinetic", &["kin3_gbar[0]", "dimer_g[0]"][..]),
        ("nonlinear", &["nonlin_tau[0]", "nonlin_a[0]"][..]),
        ("di_pool", &["cad_di_taur[0]", "cad_di_k[0]"][..]),
    ] {
        let skip = ["cai", "cad_di_cainf"];
        let worst = check_fd(&protocol_model(protocol).0, 13.0, names, &skip);
        eprintln!("{protocol}: worst relative deviation {worst:.1e}");
    }
}

#[test]
fn pas_and_hh_from_mod_files_are_the_builtin_leak_and_hh() {
    use ruxley::prelude::*;
    // The W2 tree with HH and a passive leak (g 5e-5 S/cm2, e -70 mV) on
    // top, read from files and built in.
    let run = |hh: Box<dyn Channel>, leak: Box<dyn Channel>, names: [&str; 2]| {
        let mut w = ruxley_conformance::workloads::w2_with(hh).unwrap();
        w.model.insert(leak).unwrap();
        w.model.set(names[0], 5e-5).unwrap();
        w.model.set(names[1], -70.0).unwrap();
        ruxley::simulate(&w.model, &w.options).unwrap()
    };
    let files = run(imported("hh").0, imported("pas").0, ["pas_g", "pas_e"]);
    let builtin = run(
        Box::new(Hh::new()),
        Box::new(Leak::new()),
        ["Leak_gLeak", "Leak_eLeak"],
    );
    let d = distance(&files, &builtin);
    // Measured: 1.3e-8 mV (the built-in HH's rates are arranged for speed).
    eprintln!("hh.mod + pas.mod vs HH + Leak on W2: {d:.2e} mV");
    assert!(d < 1.3e-7, "{d:e}");
    let spikes = ruxley::analysis::spike_times(files.get("v_soma_mV").unwrap(), 0.025, 0.0);
    assert!(spikes.len() >= 3, "{spikes:?}");
}

/// One compartment as `validation/nmodl/run_neuron.py` runs it: hh.mod and
/// `mechanisms` (a file under reference/nmodl/mod, or a shipped one), 20 degC.
fn neuron_protocol(protocol: &str) -> (ruxley::Traces, Table) {
    let (m, _) = protocol_model(protocol);
    let ours = ruxley::simulate(&m, &ruxley::RunOptions::new(0.025, 150.0)).unwrap();
    let reference = Table::read(data_path(&format!("reference/nmodl/nrn_{protocol}.csv"))).unwrap();
    (ours, reference)
}

/// The model of a protocol of `validation/nmodl/run_neuron.py`, and its
/// clamp amplitude.
fn protocol_model(protocol: &str) -> (ruxley::Model, f64) {
    use ruxley::prelude::*;
    let test_mod =
        |name: &str| Nmodl::from_file(data_path(&format!("reference/nmodl/mod/{name}.mod")));
    let mut m = Model::compartment();
    m.set("length", 20.0).unwrap();
    m.set("radius", 10.0).unwrap();
    m.insert(imported("hh").0).unwrap();
    let (amplitude, columns): (f64, &[(&str, &str)]) = match protocol {
        "di_pool" => {
            m.insert(imported("Ca_HVA").0).unwrap();
            m.insert(test_mod("cad_di").unwrap()).unwrap();
            m.set("Ca_HVA_gCa_HVAbar", 2e-3).unwrap();
            // The pool's INITIAL (cai = cainf) is the ion's starting cai here.
            m.set("cai", 1e-4).unwrap();
            (
                0.15,
                &[
                    ("cai", "cai"),
                    ("Ca_HVA.m", "Ca_HVA_m"),
                    ("Ca_HVA.h", "Ca_HVA_h"),
                ],
            )
        }
        "nonlinear" => {
            m.insert(test_mod("nonlin").unwrap()).unwrap();
            (0.1, &[("nonlin.s", "nonlin_s")])
        }
        "passive" => {
            m.insert(imported("pas").0).unwrap();
            m.set("pas_g", 5e-5).unwrap();
            m.set("pas_e", -70.0).unwrap();
            (0.1, &[])
        }
        "kinetic" => {
            m.insert(test_mod("kin3").unwrap()).unwrap();
            m.insert(test_mod("dimer").unwrap()).unwrap();
            (
                0.12,
                &[
                    ("kin3.C1", "kin3_C1"),
                    ("kin3.O", "kin3_O"),
                    ("dimer.A", "dimer_A"),
                    ("dimer.D", "dimer_D"),
                ],
            )
        }
        _ => {
            let mut b = test_mod("branches").unwrap();
            b.set_global("vhalf", -35.0).unwrap();
            m.insert(b).unwrap();
            m.set("branches_gbar", 0.01).unwrap();
            (0.1, &[("branches.n", "branches_n")])
        }
    };
    m.set("capacitance", 1.0).unwrap();
    m.set("axial_resistivity", 100.0).unwrap();
    m.set("v", -65.0).unwrap();
    m.set_celsius(20.0).unwrap();
    m.comp(0)
        .stimulate(Waveform::step(10.0, 100.0, amplitude))
        .unwrap();
    m.comp(0).record_column("v", "v").unwrap();
    for (column, what) in columns {
        m.comp(0).record_column(what, column).unwrap();
    }
    (m, amplitude)
}

#[test]
fn derivimplicit_kinetic_schemes_tables_and_branches_match_neuron_running_the_same_files() {
    for protocol in ["di_pool", "nonlinear", "branches", "passive", "kinetic"] {
        let (ours, reference) = neuron_protocol(protocol);
        let spikes = ruxley::analysis::spike_times(ours.get("v").unwrap(), 0.025, 0.0);
        eprintln!("{protocol}: {} spikes", spikes.len());
        // Measured: v 1.8e-10 mV, other columns 2.6e-11 of their largest;
        // with the second-order scheme (its steady state is NEURON's to
        // 1.5e-10: the two Newton iterations stop at different points) v
        // 1.7e-9 mV and 1.9e-10.
        let (tol_v, tol_rel) = match protocol {
            "kinetic" => (2e-8, 2e-9),
            _ => (2e-9, 3e-10),
        };
        check(protocol, &ours, &reference, tol_v, tol_rel);
    }
}
