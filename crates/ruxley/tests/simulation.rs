//! Simulation behaviour: batching, stimuli, clamps, recordings, errors.

use ruxley::backend::SimError;
use ruxley::cell::Stimulus;
use ruxley::cpu::CpuBackend;
use ruxley::prelude::*;
use ruxley_conformance::workloads::{w1, w2};

fn ball_and_stick() -> Model {
    let mut m = Model::from_branches(&[None, Some(0)], &[1, 5]).unwrap();
    m.branch(0).set("radius", 10.0).unwrap();
    m.branch(0).set("length", 20.0).unwrap();
    m.branch(1).set("radius", 1.0).unwrap();
    m.branch(1).set("length", 40.0).unwrap();
    m.insert(Hh::new()).unwrap();
    m.set("axial_resistivity", 100.0).unwrap();
    m.set("v", -65.0).unwrap();
    m
}

#[test]
fn a_batch_equals_separate_runs_and_runs_in_parallel_deterministically() {
    let w = w2().unwrap();
    let layout = w.model.build().unwrap();
    let mut sets = Vec::new();
    for k in 0..6 {
        let mut p = layout.parameters().clone();
        let f = 0.8 + 0.08 * k as f64;
        p.set("HH_gNa", 0.12 * f).unwrap();
        p.set("HH_gK", 0.036 / f).unwrap();
        sets.push(p);
    }
    let par = CpuBackend::new()
        .simulate(&layout, Batch::params(&sets), &w.options)
        .unwrap();
    let seq = CpuBackend::sequential()
        .simulate(&layout, Batch::params(&sets), &w.options)
        .unwrap();
    assert_eq!(par, seq);
    for (k, p) in sets.iter().enumerate() {
        let one = CpuBackend::new()
            .simulate(&layout, Batch::params(std::slice::from_ref(p)), &w.options)
            .unwrap();
        assert_eq!(one[0], par[k]);
    }
    assert_ne!(par[0], par[5]);
}

#[test]
fn stimulus_sets_pair_with_parameter_sets() {
    let w = w1().unwrap();
    let layout = w.model.build().unwrap();
    let stim = |amp: f64| {
        vec![Stimulus {
            comp: 0,
            current: Waveform::step(1.0, 18.0, amp),
        }]
    };
    let stimuli = vec![stim(0.0), stim(0.1)];
    let runs = CpuBackend::new()
        .simulate(
            &layout,
            Batch {
                params: &[],
                stimuli: &stimuli,
            },
            &w.options,
        )
        .unwrap();
    let quiet = runs[0].get("v_soma_mV").unwrap();
    // Without input the cell relaxes near -65 mV (HH's rest is -64.997 mV) and never fires.
    assert!(quiet.iter().all(|v| (v + 65.0).abs() < 0.1));
    let reference = ruxley::simulate(&w.model, &w.options).unwrap();
    assert_eq!(runs[1], reference);
    let three = vec![layout.parameters().clone(); 3];
    let err = CpuBackend::new().simulate(
        &layout,
        Batch {
            params: &three,
            stimuli: &stimuli,
        },
        &w.options,
    );
    assert!(matches!(err, Err(SimError::Batch(_))));
}

#[test]
fn a_series_stimulus_equals_the_same_step() {
    let w = w1().unwrap();
    let mut m = w.model.clone();
    m.clear_stimuli();
    let n = 800;
    let series: Vec<f64> = (0..n)
        .map(|k| if (40..760).contains(&k) { 0.1 } else { 0.0 })
        .collect();
    m.comp(0).stimulate(Waveform::Series(series)).unwrap();
    let a = ruxley::simulate(&m, &w.options).unwrap();
    let b = ruxley::simulate(&w.model, &w.options).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_clamped_compartment_follows_its_command_and_drives_its_neighbours() {
    let mut m = ball_and_stick();
    m.branch(1)
        .comp(2)
        .clamp(Waveform::step(2.0, 3.0, 0.0))
        .unwrap();
    m.branch(1).comp(2).record_as("v", "clamped").unwrap();
    m.branch(1).comp(3).record_as("v", "next").unwrap();
    m.branch(0).comp(0).record_as("v", "soma").unwrap();
    for scheme in [Scheme::BackwardEuler, Scheme::CrankNicolson] {
        let t = ruxley::simulate(&m, &RunOptions::new(0.025, 8.0).with_scheme(scheme)).unwrap();
        let v = t.get("v_clamped_mV").unwrap();
        // Steps 80..200 are clamped: samples 81..=200 hold the command.
        assert!(v[81..=200].iter().all(|&x| x.abs() < 1e-12), "{scheme:?}");
        assert!((v[80] + 65.0).abs() < 1.0, "free before the clamp");
        let next = t.get("v_next_mV").unwrap();
        assert!(
            next[200] > -40.0,
            "the neighbour is pulled up ({})",
            next[200]
        );
        assert!(t.get("v_soma_mV").unwrap()[200] > -64.0);
        assert!(v[202] < -0.5, "free after the clamp");
    }
}

#[test]
fn states_and_currents_are_recorded() {
    let mut m = ball_and_stick();
    m.branch(0)
        .comp(0)
        .stimulate(Waveform::step(0.5, 2.0, 0.3))
        .unwrap();
    m.branch(0).comp(0).record("HH_m").unwrap();
    m.branch(0).comp(0).record("i_HH").unwrap();
    m.branch(0).comp(0).record("v").unwrap();
    let t = ruxley::simulate(&m, &RunOptions::new(0.025, 3.0)).unwrap();
    assert_eq!(t.names(), &["HH_m_b0_c0", "i_HH_b0_c0", "v_b0_c0_mV"]);
    let mss = t.get("HH_m_b0_c0").unwrap();
    assert!(
        (mss[0] - 0.052932).abs() < 1e-5,
        "m starts at its steady state: {}",
        mss[0]
    );
    assert!(
        mss.iter().cloned().fold(0.0, f64::max) > 0.5,
        "m opens during the spike"
    );
    assert!(
        t.get("i_HH_b0_c0").unwrap()[0].abs() < 1e-3,
        "near rest the net current is small"
    );
    let err = m.branch(1).comp(0).record("Leak_gLeak").unwrap_err();
    assert!(err.to_string().contains("HH_m"), "{err}");
}

#[test]
fn explicit_initial_states_override_the_steady_state() {
    let mut m = ball_and_stick();
    m.branch(0).set("HH_m", 0.5).unwrap();
    m.branch(0).comp(0).record("HH_m").unwrap();
    let t = ruxley::simulate(&m, &RunOptions::new(0.025, 0.025)).unwrap();
    assert_eq!(t.trace(0)[0], 0.5);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let w = w1().unwrap();
    let layout = w.model.build().unwrap();
    let cpu = CpuBackend::new();
    for (dt, t_max) in [
        (0.0, 1.0),
        (-0.1, 1.0),
        (f64::NAN, 1.0),
        (0.025, -1.0),
        (0.025, f64::INFINITY),
    ] {
        let err = cpu
            .simulate(&layout, Batch::single(), &RunOptions::new(dt, t_max))
            .unwrap_err();
        assert!(matches!(err, SimError::Time(_)), "{dt} {t_max}: {err}");
    }
    let mut p = layout.parameters().clone();
    p.set("HH_gNa", f64::NAN).unwrap();
    let err = cpu
        .simulate(&layout, Batch::params(&[p]), &w.options)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HH_gNa") && err.contains("branch 0 compartment 0"),
        "{err}"
    );
    let mut p = layout.parameters().clone();
    p.set("axial_resistivity", 0.0).unwrap();
    assert!(
        cpu.simulate(&layout, Batch::params(&[p]), &w.options)
            .is_err()
    );
    let mut m = w.model.clone();
    assert!(
        m.set("HH_gXX", 1.0)
            .unwrap_err()
            .to_string()
            .contains("HH_gNa")
    );
    assert!(m.set("radius", -1.0).is_err());
    assert!(m.set("v", f64::NAN).is_err());
    assert!(
        m.branch(3)
            .set("v", 1.0)
            .unwrap_err()
            .to_string()
            .contains("branch index 3")
    );
    assert!(m.branch(0).comp(1).set("v", 1.0).is_err());
    assert!(m.branch(0).loc(1.5).set("v", 1.0).is_err());
    assert!(m.group("apical").set("v", 1.0).is_err());
    assert!(m.comp(0).stimulate(Waveform::step(1.0, -1.0, 0.1)).is_err());
    assert!(
        m.comp(0)
            .stimulate(Waveform::Series(vec![0.0, f64::INFINITY]))
            .is_err()
    );
}

#[test]
fn a_blow_up_names_the_step_time_and_compartment() {
    let mut m = ball_and_stick();
    let mut series = vec![0.0; 40];
    series[10] = 1e306;
    m.branch(1)
        .comp(4)
        .stimulate(Waveform::Series(series))
        .unwrap();
    m.branch(0).comp(0).record("v").unwrap();
    let err = ruxley::simulate(&m, &RunOptions::new(0.025, 1.0)).unwrap_err();
    match err {
        ruxley::Error::Sim(SimError::Unstable {
            step, time, site, ..
        }) => {
            assert_eq!(step, 10);
            assert!((time - 0.025 * (step + 1) as f64).abs() < 1e-12);
            assert_eq!(site.0, 0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_nan_voltage_is_reported_where_it_appears() {
    use ruxley::cpu::{KernelSource, Stepper};
    let mut m = ball_and_stick();
    m.branch(0).comp(0).record("v").unwrap();
    let layout = m.build().unwrap();
    let grid = ruxley::core::TimeGrid::new(0.025, 1.0).unwrap();
    let stepper = Stepper::<f64>::new(
        &layout,
        &[(layout.parameters(), &[])],
        grid,
        Scheme::BackwardEuler,
        KernelSource::Native,
    )
    .unwrap();
    let mut ws = stepper.workspace();
    let mut state = stepper.init(&mut ws);
    assert!(stepper.check_stable(0, &state, 0).is_ok());
    let node = layout.node_of_comp()[3] as usize;
    state.v[node] = f64::NAN;
    match stepper.check_stable(4, &state, 2) {
        Err(SimError::Unstable {
            member: 2,
            step: 4,
            site: (0, 1, 2),
            value,
            ..
        }) => assert!(value.is_nan()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tree_levels_partition_the_nodes_by_depth() {
    // Two cells of different shapes: both roots at depth 0.
    let a = Model::from_branches(&[None, Some(0), Some(0), Some(1)], &[2, 3, 1, 2]).unwrap();
    let b = Model::from_branches(&[None, Some(0)], &[4, 1]).unwrap();
    let net = Model::network(vec![a, b]).unwrap();
    let layout = net.build().unwrap();
    let (levels, parent) = (layout.levels(), layout.parent());
    assert_eq!(levels[0], 0);
    assert_eq!(*levels.last().unwrap() as usize, layout.n_nodes());
    let level_of = |i: usize| {
        levels
            .windows(2)
            .position(|w| (w[0] as usize..w[1] as usize).contains(&i))
            .unwrap()
    };
    for i in 0..layout.n_nodes() {
        match parent[i] {
            ruxley::cell::NONE => assert_eq!(level_of(i), 0, "root {i}"),
            p => assert_eq!(level_of(i), level_of(p as usize) + 1, "node {i}"),
        }
    }
    // The deepest path: branch 0 (2 compartments), its branch point,
    // branch 1 (3), its branch point, branch 3 (2): 9 levels.
    assert_eq!(levels.len() - 1, 9);
}

#[test]
fn compartment_polylines_chain_along_each_branch() {
    let swc = ruxley_conformance::reference::data_path(
        "morphologies/morph_ca1_n120_single_point_soma.swc",
    );
    let m = Model::from_swc_file(&swc, &SwcImport::new(3)).unwrap();
    let points = m.comp_points();
    assert_eq!(points.len(), m.n_comps());
    // Points equal up to the interpolation's round-off (1e-12 um).
    let same = |a: Option<&[f64; 4]>, b: Option<&[f64; 4]>| match (a, b) {
        (Some(a), Some(b)) => a
            .iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + y.abs())),
        _ => false,
    };
    for b in 0..m.n_branches() {
        let comps = m.branch_comps(b);
        let whole = m.branch_points(b);
        assert!(
            same(points[comps.start].first(), whole.first()),
            "branch {b}"
        );
        assert!(
            same(points[comps.end - 1].last(), whole.last()),
            "branch {b}"
        );
        for c in comps.start + 1..comps.end {
            assert!(same(points[c - 1].last(), points[c].first()), "comp {c}");
        }
    }
}
