//! The Hay et al. (2011) L5PC channels against NEURON 9.0.2 runs of the
//! original NMODL files (crates/ruxley-conformance/data/reference/l5pc): one compartment per channel,
//! and the whole set on the W2 tree (aligned as `common` says).

mod common;

use common::check;
use ruxley_conformance::l5pc::{l5pc_w2, single, single_reference, single_tests};
use ruxley_conformance::reference::{Table, nan_max};

#[test]
fn single_compartment_channels_match_neuron() {
    for test in single_tests() {
        let w = single(test, 0.02).unwrap();
        let ours = ruxley::simulate(&w.model, &w.options).unwrap();
        let reference = Table::read(single_reference("Alo", test)).unwrap();
        // Measured: v 8.9e-11 mV, other columns 4.7e-12 of their largest value.
        check(&format!("Alo {test}"), &ours, &reference, 1e-9, 5e-11);
    }
}

#[test]
fn large_depolarisations_are_not_clipped() {
    // Protocol A drives v to +415 mV (K_Tst) and +434 mV (NaTa_t), where a
    // clipped exponential (jaxley-mech) is off by 2.7e-3 mV.
    for test in ["K_Tst", "NaTa_t", "SK_E2_CaHVA"] {
        let w = single(test, 0.2).unwrap();
        let ours = ruxley::simulate(&w.model, &w.options).unwrap();
        let reference = Table::read(single_reference("A", test)).unwrap();
        // Measured: v 5.2e-10 mV (at +434 mV), other columns 4.0e-12.
        check(&format!("A {test}"), &ours, &reference, 5e-9, 5e-11);
    }
}

#[test]
fn the_channel_set_on_the_w2_tree_matches_neuron() {
    let w = l5pc_w2().unwrap();
    let ours = ruxley::simulate(&w.model, &w.options).unwrap();
    let reference = Table::read(ruxley_conformance::reference::data_path(
        "reference/l5pc/nrn_L5PC_W2.csv",
    ))
    .unwrap();
    // Measured: v 8.0e-8 mV, other columns 7.7e-10 of their largest value.
    check("L5PC W2", &ours, &reference, 1e-6, 8e-9);
    let soma = ours.get("v_soma").unwrap();
    let spikes = ruxley::analysis::spike_times(soma, 0.025, 0.0);
    assert_eq!(spikes.len(), 9, "{spikes:?}");
}

#[test]
fn summed_ion_currents_are_the_sums_of_their_channels() {
    use ruxley::channels::l5pc::{Im, KTst, NaTaT, NapEt2, SkE2};
    use ruxley::prelude::*;
    let mut m = Model::compartment();
    m.set("length", 20.0).unwrap();
    m.set("radius", 10.0).unwrap();
    m.insert(NaTaT).unwrap();
    m.insert(NapEt2).unwrap();
    m.insert(KTst).unwrap();
    m.insert(Im).unwrap();
    m.insert(SkE2).unwrap();
    m.set("NaTa_t_gbar", 0.1).unwrap();
    m.set("Nap_Et2_gbar", 0.01).unwrap();
    m.set("K_Tst_gbar", 0.05).unwrap();
    m.set("Im_gbar", 0.01).unwrap();
    m.set("ek", -85.0).unwrap();
    m.comp(0).stimulate(Waveform::step(2.0, 20.0, 0.3)).unwrap();
    for what in [
        "ina",
        "ik",
        "i_NaTa_t",
        "i_Nap_Et2",
        "i_K_Tst",
        "i_Im",
        "i_SK_E2",
        "ek",
    ] {
        m.comp(0).record(what).unwrap();
    }
    let t = ruxley::simulate(&m, &RunOptions::new(0.025, 30.0)).unwrap();
    let col = |n: &str| t.get(&format!("{n}_b0_c0")).unwrap().to_vec();
    let sum = |names: &[&str]| -> Vec<f64> {
        (0..t.n_samples())
            .map(|k| names.iter().map(|n| col(n)[k]).sum())
            .collect()
    };
    let diff = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, nan_max)
    };
    let ina = col("ina");
    assert!(ina.iter().any(|x| x.abs() > 1e-2), "the cell fires");
    // Measured 0 (the site adds the currents in insertion order); the bar
    // allows another summation order.
    assert!(diff(&ina, &sum(&["i_NaTa_t", "i_Nap_Et2"])) <= 1e-15);
    assert!(diff(&col("ik"), &sum(&["i_K_Tst", "i_Im", "i_SK_E2"])) <= 1e-15);
    assert!(col("ek").iter().all(|&e| e == -85.0));
}

#[test]
fn bluepyopt_model_sets_its_released_values_inside_their_bounds() {
    use ruxley::l5pc::{FREE_PARAMETERS, insert_bluepyopt_l5pc};
    use ruxley::{Model, SwcImport};
    let swc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/morphologies/jaxley/tests_swc_files/morph_l5pc_with_axon.swc"
    );
    let mut cell = Model::from_swc_file(swc, &SwcImport::new(2).max_branch_len(300.0)).unwrap();
    insert_bluepyopt_l5pc(&mut cell).unwrap();
    for p in &FREE_PARAMETERS {
        let (lo, hi) = p.bounds;
        assert!(lo <= p.value && p.value <= hi, "{p:?}");
        let values = cell.values(p.name).unwrap();
        let comps = cell.group(p.region).comps().unwrap();
        assert!(!comps.is_empty());
        for c in comps {
            assert_eq!(values[c], Some(p.value), "{} {} comp {c}", p.region, p.name);
        }
    }
    // Ih grows along the apical dendrite from 8e-5 at the soma.
    let ih = cell.values("Ih_gbar").unwrap();
    let apical = cell.group("apical").comps().unwrap();
    let far = *apical
        .iter()
        .max_by(|&&a, &&b| cell.path_distance(a).total_cmp(&cell.path_distance(b)))
        .unwrap();
    let d = cell.path_distance(far);
    let expected = 8e-5 * (-0.8696 + 2.087 * (0.0031 * d).exp());
    assert!((ih[far].unwrap() - expected).abs() <= 1e-15, "{ih:?}");
    assert!(ih[far].unwrap() > 1e-3, "{} um: {}", d, ih[far].unwrap());
    // A cell without the regions is refused, naming the missing group.
    let mut bare = Model::from_branches(&[None, Some(0)], &[2, 2]).unwrap();
    let err = insert_bluepyopt_l5pc(&mut bare).unwrap_err().to_string();
    assert!(err.contains("apical"), "{err}");
}
