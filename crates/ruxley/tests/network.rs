//! Networks: W6 against Jaxley, connection helpers, synapse gradients.

use ruxley_conformance::reference::{Table, data_path, max_abs_diff, nan_max};
use ruxley_conformance::workloads::w6;

#[test]
fn w6_matches_jaxley() {
    let w = w6().unwrap();
    assert_eq!(w.model.n_synapses(), 243);
    let ours = ruxley::simulate(&w.model, &w.options).unwrap();
    let want = Table::read(data_path("reference/anchors/traces/w6_jaxley_f64.csv")).unwrap();
    let mut worst: f64 = 0.0;
    for name in &want.names[1..] {
        let d = max_abs_diff(ours.get(name).unwrap(), want.column(name).unwrap());
        worst = nan_max(worst, d);
    }
    eprintln!(
        "W6 vs Jaxley: max |dV| = {worst:.2e} mV over {} cells",
        want.names.len() - 1
    );
    assert!(worst < 1e-6, "{worst:e}");
}

use ruxley::cpu::CpuBackend;
use ruxley::prelude::*;
use ruxley::synapses::{ExpSynapse, IonotropicSynapse};
use ruxley::{Schedule, TraceFit};
use ruxley_conformance::fdcheck::{Comparison, FdOptions, check_gradient};
use ruxley_conformance::models::synapse_network;

fn check_network(scheme: Scheme, schedule: Schedule) {
    let net = synapse_network().unwrap();
    let layout = net.build().unwrap();
    let options = RunOptions::new(0.025, 12.0).with_scheme(scheme);
    let traces = ruxley::simulate(&net, &options).unwrap();
    // Cell 0 fires and, through its synapses, so does cell 2.
    for name in ["v_c0_b0_c0_mV", "v_c2_b0_c0_mV"] {
        let v = traces.get(name).unwrap();
        assert!(
            v.iter().cloned().fold(f64::MIN, f64::max) > 0.0,
            "{name} does not fire"
        );
    }
    let targets = traces
        .names()
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let x = traces.trace(k);
            (
                name.clone(),
                x.iter()
                    .enumerate()
                    .map(|(s, v)| v + 3.0 * ((s % 5) as f64 - 2.0))
                    .collect(),
            )
        })
        .collect();
    let loss = TraceFit::mse(targets);
    let rows = check_gradient(
        &CpuBackend::sequential(),
        &layout,
        &options,
        &loss,
        &schedule,
        &|_| true,
        &FdOptions::spiking(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_move_the_loss(
        &rows,
        &[
            "IonotropicSynapse_gS[0]",
            "IonotropicSynapse_v_th[0]",
            "ExpSynapse_w[0]",
            "ExpSynapse_tau[0]",
            "AlphaSynapse_w[0]",
            "TanhRateSynapse_slope[0]",
            "GapJunction_g[1]",
        ],
    );
}

/// The named parameters change the loss (their checks are not vacuous).
fn assert_move_the_loss(rows: &[Comparison], names: &[&str]) {
    for name in names {
        let r = rows
            .iter()
            .find(|r| r.name == *name)
            .unwrap_or_else(|| panic!("{name}"));
        assert!(r.finite.abs() > 0.0, "{name} does not move the loss");
    }
}

#[test]
fn synapse_gradients_equal_finite_differences() {
    check_network(Scheme::BackwardEuler, Schedule::StoreAll);
}

#[test]
fn synapse_gradients_under_crank_nicolson_and_checkpoints() {
    check_network(Scheme::CrankNicolson, Schedule::Nested(vec![20, 24]));
}

#[test]
fn recorded_synapse_states_follow_their_update_and_carry_gradients() {
    let mut net = synapse_network().unwrap();
    net.synapse_type("IonotropicSynapse")
        .record("IonotropicSynapse_s")
        .unwrap();
    net.synapses().record("AlphaSynapse_g").unwrap();
    assert!(matches!(
        net.synapses().record("IonotropicSynapse_x"),
        Err(ruxley::ModelError::UnknownName { .. })
    ));
    let options = RunOptions::new(0.025, 12.0);
    let traces = ruxley::simulate(&net, &options).unwrap();

    // s of synapse 0 (cell 0 -> cell 1) from cell 0's voltage and the
    // documented update with the default parameters: s starts at s_inf and
    // relaxes to it exponentially with tau = (1 - s_inf) / k_minus.
    let (k_minus, v_th, delta) = (0.025, -35.0, 10.0);
    let s_inf = |v: f64| 1.0 / (1.0 + ((v_th - v) / delta).exp());
    let v_pre = traces.get("v_c0_b0_c0_mV").unwrap();
    let s = traces.get("IonotropicSynapse_s_syn0").unwrap();
    let mut want = s_inf(v_pre[0]);
    let mut worst: f64 = 0.0;
    for k in 0..s.len() {
        worst = worst.max((s[k] - want).abs());
        if k + 1 < s.len() {
            let inf = s_inf(v_pre[k]);
            let e = (-options.dt * k_minus / (1.0 - inf)).exp();
            want = want * e + inf * (1.0 - e);
        }
    }
    assert!(worst < 1e-12, "{worst:e}");
    assert!(s.iter().cloned().fold(0.0, f64::max) > 0.5, "cell 0 fires");
    let g = traces.get("AlphaSynapse_g_syn2").unwrap();
    assert!(
        g.iter().cloned().fold(0.0, f64::max) > 1e-3,
        "a spike arrives"
    );

    // A loss on the synapse states alone.
    let loss = TraceFit::mse(
        ["IonotropicSynapse_s_syn0", "AlphaSynapse_g_syn2"]
            .map(|n| {
                let x = traces.get(n).unwrap();
                (n.to_string(), x.iter().map(|v| v * 0.9 + 0.01).collect())
            })
            .into(),
    );
    let rows = check_gradient(
        &CpuBackend::sequential(),
        &net.build().unwrap(),
        &options,
        &loss,
        &Schedule::Nested(vec![20, 24]),
        &|_| true,
        &FdOptions::spiking(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_move_the_loss(
        &rows,
        &[
            "IonotropicSynapse_v_th[0]",
            "AlphaSynapse_w[0]",
            "HH_gNa[0]",
        ],
    );
}

#[test]
fn gradient_runs_leave_out_currents_and_say_so_when_a_loss_needs_one() {
    let mut net = synapse_network().unwrap();
    net.cell(0).comp(0).record("i_HH").unwrap();
    let options = RunOptions::new(0.025, 2.0);
    let traces = ruxley::simulate(&net, &options).unwrap();
    let target = |n: &str| {
        let x = traces.get(n).unwrap();
        (n.to_string(), x.iter().map(|v| v + 1.0).collect())
    };
    net.synapses()
        .make_trainable("IonotropicSynapse_gS", None)
        .unwrap();
    let layout = net.build().unwrap();
    let theta = layout.trainables().initial();
    let backend = CpuBackend::sequential();
    let schedule = Schedule::StoreAll;
    // A loss on voltages only: the recorded current does not stand in the way.
    let ok = TraceFit::mse(vec![target("v_c1_b0_c0_mV")]);
    let g = ruxley::grad::value_and_grad(
        &backend,
        &layout,
        std::slice::from_ref(&theta),
        &options,
        &ok,
        &schedule,
    )
    .unwrap();
    assert!(g[0].traces.get("i_HH_c0_b0_c0").is_none());
    assert!(g[0].grad[0] != 0.0);
    // A loss on the current is refused, naming it.
    let bad = TraceFit::mse(vec![target("i_HH_c0_b0_c0")]);
    let e = ruxley::grad::value_and_grad(&backend, &layout, &[theta], &options, &bad, &schedule)
        .unwrap_err()
        .to_string();
    assert!(e.contains("i_HH_c0_b0_c0") && e.contains("currents"), "{e}");
}

/// The (pre cell, post cell) pairs of the synapses in `ids`.
fn cell_pairs(net: &Model, ids: std::ops::Range<usize>) -> Vec<(usize, usize)> {
    ids.map(|id| {
        let (a, b) = net.synapse_ends(id).unwrap();
        (net.locate(a).0, net.locate(b).0)
    })
    .collect()
}

#[test]
fn connection_helpers_make_the_documented_pairs() {
    let n = 30;
    let fresh = || Model::network(vec![Model::compartment(); n]).unwrap();

    // Every pair, no cell to itself.
    let mut net = fresh();
    let ids = net
        .fully_connect(vec![0, 1, 2], vec![1, 2, 3], IonotropicSynapse)
        .unwrap();
    let pairs = cell_pairs(&net, ids);
    assert_eq!(
        pairs,
        vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 1), (2, 3)]
    );

    // Seeded, each pair at most once, no autapses, about p of all pairs.
    let sparse = |seed: u64| {
        let mut net = fresh();
        let ids = net
            .sparse_connect("all", "all", IonotropicSynapse, 0.3, seed)
            .unwrap();
        cell_pairs(&net, ids)
    };
    let (a, b, c) = (sparse(5), sparse(5), sparse(6));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let mut unique = a.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), a.len());
    assert!(a.iter().all(|(i, j)| i != j));
    // 870 ordered pairs at p = 0.3: mean 261, standard deviation 13.5.
    assert!((193..=329).contains(&a.len()), "{}", a.len());
    assert!(matches!(
        fresh().sparse_connect("all", "all", IonotropicSynapse, 1.5, 1),
        Err(ruxley::ModelError::InvalidValue { .. })
    ));

    // A connectivity matrix, row-major.
    let mut net = fresh();
    let matrix = vec![vec![false, true], vec![true, true]];
    let ids = net
        .connectivity_matrix_connect(vec![4, 7], vec![8, 9], IonotropicSynapse, &matrix)
        .unwrap();
    assert_eq!(cell_pairs(&net, ids), vec![(4, 9), (7, 8), (7, 9)]);
    assert!(
        net.connectivity_matrix_connect(vec![4], vec![8, 9], IonotropicSynapse, &matrix)
            .is_err()
    );

    // Pairs of view selections, one to one.
    let mut net = Model::network(vec![
        Model::from_branches(&[None, Some(0)], &[1, 4]).unwrap();
        3
    ])
    .unwrap();
    let pre = net.cell(vec![0, 1]).branch(0).comp(0).comps().unwrap();
    let post = net.cell(2).branch(1).comp(vec![1, 3]).comps().unwrap();
    let ids = net.connect_each(&pre, &post, IonotropicSynapse).unwrap();
    let ends: Vec<_> = ids.map(|id| net.synapse_ends(id).unwrap()).collect();
    assert_eq!(ends, vec![(pre[0], post[0]), (pre[1], post[1])]);
    assert_eq!(net.locate(post[1]), (2, 1, 3));
    assert!(
        net.connect_each(&pre, &post[..1], IonotropicSynapse)
            .is_err()
    );
}

#[test]
fn synapse_views_train_per_synapse_per_type_or_shared() {
    let mut net = Model::network(vec![Model::compartment(); 4]).unwrap();
    net.fully_connect(vec![0, 1], vec![2, 3], IonotropicSynapse)
        .unwrap();
    net.connect(net.root_comp(3), net.root_comp(0), ExpSynapse)
        .unwrap();
    net.connect(net.root_comp(2), net.root_comp(1), ExpSynapse)
        .unwrap();
    // One value shared by the four Ionotropic synapses, one per ExpSynapse,
    // one for each of the first two Ionotropic synapses.
    net.synapse_type("IonotropicSynapse")
        .make_trainable("IonotropicSynapse_gS", Some(2e-3))
        .unwrap();
    net.synapse_type("ExpSynapse")
        .edge("all")
        .make_trainable("ExpSynapse_w", None)
        .unwrap();
    net.synapse_type("IonotropicSynapse")
        .edge(vec![0, 1])
        .make_trainable("IonotropicSynapse_k_minus", None)
        .unwrap();
    assert!(
        net.synapses()
            .make_trainable("NoSuchSynapse_g", None)
            .is_err()
    );
    let layout = net.build().unwrap();
    let names: Vec<_> = layout
        .trainables()
        .entries()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "IonotropicSynapse_gS",
            "ExpSynapse_w",
            "ExpSynapse_w",
            "IonotropicSynapse_k_minus",
            "IonotropicSynapse_k_minus"
        ]
    );
    let theta = [1.0, 2.0, 3.0, 4.0, 5.0];
    let (p, _) = layout
        .trainables()
        .apply(&theta, layout.parameters(), layout.stimuli())
        .unwrap();
    assert_eq!(p.get("IonotropicSynapse_gS").unwrap(), [1.0; 4]);
    assert_eq!(p.get("ExpSynapse_w").unwrap(), [2.0, 3.0]);
    assert_eq!(
        p.get("IonotropicSynapse_k_minus").unwrap(),
        [4.0, 5.0, 0.025, 0.025]
    );
}
