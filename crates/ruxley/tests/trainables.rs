//! Trainable parameters: Jaxley's sharing semantics and their gradients.

use ruxley::cpu::CpuBackend;
use ruxley::grad::value_and_grad;
use ruxley::prelude::*;
use ruxley::{Schedule, TraceFit};
use ruxley_conformance::fdcheck::richardson;
use ruxley_conformance::reference::{Table, data_path};
use ruxley_conformance::workloads::w2;

fn tree() -> Model {
    let mut m = Model::from_branches(&[None, Some(0), Some(0), Some(1)], &[2, 3, 1, 2]).unwrap();
    m.insert(Hh::new()).unwrap();
    m.set("axial_resistivity", 100.0).unwrap();
    m.set("v", -65.0).unwrap();
    m.branch(3).add_to_group("tip").unwrap();
    m.branch(0)
        .comp(0)
        .stimulate(Waveform::step(0.5, 2.0, 0.2))
        .unwrap();
    m.branch(0).comp(0).record("v").unwrap();
    m.branch(3).comp(1).record("v").unwrap();
    m
}

#[test]
fn sharing_follows_the_view() {
    let mut m = tree();
    m.make_trainable("HH_gNa", None).unwrap();
    m.branch("all").make_trainable("HH_gK", None).unwrap();
    m.comp("all").make_trainable("HH_gLeak", None).unwrap();
    m.group("tip")
        .make_trainable("axial_resistivity", Some(150.0))
        .unwrap();
    m.branch(1)
        .comp(vec![0, 2])
        .make_trainable("radius", None)
        .unwrap();
    let layout = m.build().unwrap();
    let t = layout.trainables();
    let count = |n: &str| t.entries().iter().filter(|e| e.name == n).count();
    assert_eq!(count("HH_gNa"), 1);
    assert_eq!(count("HH_gK"), 4);
    assert_eq!(count("HH_gLeak"), 8);
    assert_eq!(count("axial_resistivity"), 1);
    assert_eq!(count("radius"), 2);
    assert_eq!(t.initial()[0], 0.12);
    // The given initial value is also set on the model.
    assert_eq!(
        layout.parameters().get("axial_resistivity").unwrap()[6],
        150.0
    );
    let ra = t
        .entries()
        .iter()
        .find(|e| e.name == "axial_resistivity")
        .unwrap();
    assert_eq!(ra.init, 150.0);
    assert!(m.branch(0).make_trainable("HH_gXX", None).is_err());
    assert!(
        m.branch(0)
            .make_trainable("HH_m", None)
            .unwrap_err()
            .to_string()
            .contains("steady state")
    );
}

#[test]
fn theta_gradients_equal_finite_differences() {
    let mut m = tree();
    m.branch("all").make_trainable("HH_gNa", None).unwrap();
    m.group("tip").make_trainable("radius", None).unwrap();
    m.make_trainable("capacitance", None).unwrap();
    m.make_stimulus_trainable(0).unwrap();
    let layout = m.build().unwrap();
    let options = RunOptions::new(0.025, 3.0);
    let n = options.grid().unwrap().n_samples();
    let loss = TraceFit::mse(vec![
        ("v_b0_c0_mV".into(), vec![-40.0; n]),
        ("v_b3_c1_mV".into(), vec![-50.0; n]),
    ]);
    let theta = layout.trainables().initial();
    let cpu = CpuBackend::sequential();
    let g = value_and_grad(
        &cpu,
        &layout,
        std::slice::from_ref(&theta),
        &options,
        &loss,
        &Schedule::StoreAll,
    )
    .unwrap();
    assert_eq!(g[0].grad.len(), 4 + 1 + 1 + 1);
    for k in 0..theta.len() {
        let at = |x: f64| {
            let mut th = theta.clone();
            th[k] = x;
            value_and_grad(&cpu, &layout, &[th], &options, &loss, &Schedule::StoreAll).unwrap()[0]
                .loss
        };
        let fd = richardson(|t| at(theta[k] + t), 1e-4 * theta[k].abs());
        let got = g[0].grad[k];
        assert!(
            (got - fd).abs() <= 1e-6 * fd.abs().max(1e-6),
            "theta[{k}]: {got:e} vs {fd:e}"
        );
    }
}

#[test]
fn w4_through_trainables_matches_jaxley() {
    let mut w = w2().unwrap();
    for name in ["HH_gNa", "HH_gK", "HH_gLeak"] {
        w.model.branch("all").make_trainable(name, None).unwrap();
    }
    let layout = w.model.build().unwrap();
    let target = Table::read(data_path(
        "reference/anchors/traces/w4_w2_target_jaxley_f64.csv",
    ))
    .unwrap();
    let loss = TraceFit::mse(vec![(
        "v_soma_mV".into(),
        target.column("v_soma_mV").unwrap().to_vec(),
    )]);
    let theta = layout.trainables().initial();
    assert_eq!(theta.len(), 93);
    let g = value_and_grad(
        &CpuBackend::new(),
        &layout,
        &[theta],
        &w.options,
        &loss,
        &Schedule::sqrt(2000),
    )
    .unwrap();
    let reference =
        Table::read(data_path("reference/anchors/gradients/w4_grad_w2_f64.csv")).unwrap();
    for (k, e) in layout.trainables().entries().iter().enumerate() {
        let column = format!("dL_d{}", e.name.trim_start_matches("HH_"));
        let want = reference.column(&column).unwrap()[e.index];
        assert!(
            (g[0].grad[k] - want).abs() < 1e-5 * want.abs(),
            "{} [{}]",
            e.name,
            e.index
        );
    }
}

#[test]
fn trainables_carry_their_parameters_plausible_ranges() {
    let mut m = tree();
    m.make_trainable("HH_gNa", None).unwrap();
    m.branch(1).make_trainable("radius", None).unwrap();
    m.branch(3).make_trainable("HH_eLeak", None).unwrap();
    m.make_stimulus_trainable(0).unwrap();
    let layout = m.build().unwrap();
    let spec = |name: &str| {
        Hh::new()
            .params()
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .bounds
    };
    use ruxley::channels::Channel;
    assert_eq!(
        layout.trainable_bounds(),
        [Some(spec("gNa")), None, Some(spec("eLeak")), None]
    );
    // A synapse parameter's range is its synapse's.
    let mut net = ruxley_conformance::models::synapse_network().unwrap();
    net.synapses()
        .make_trainable("IonotropicSynapse_gS", None)
        .unwrap();
    let layout = net.build().unwrap();
    assert_eq!(layout.trainable_bounds(), [Some((0.0, 1.0))]);
}

#[test]
fn theta_is_addressed_by_label() {
    let mut m = tree();
    m.make_trainable("HH_gNa", None).unwrap();
    m.branch("all").make_trainable("HH_gK", None).unwrap();
    let layout = m.build().unwrap();
    let t = layout.trainables();
    assert_eq!(t.entries()[0].label(), "HH_gNa[1:0]");
    let labels = t.labels();
    assert_eq!((labels.len(), labels[0].as_str()), (t.len(), "HH_gNa[1:0]"));
    let k = t.position("HH_gK[2:3]").unwrap();
    assert_eq!(labels[k], "HH_gK[2:3]");
    assert_eq!(
        (t.entries()[k].name.as_str(), t.entries()[k].index),
        ("HH_gK", 3)
    );
    assert_eq!(t.position("HH_gK[2:4]"), None);
    // Writing through the label reaches that branch's compartments only.
    let mut theta = t.initial();
    theta[k] = 0.05;
    let (p, _) = t
        .apply(&theta, layout.parameters(), layout.stimuli())
        .unwrap();
    let gk = p.get("HH_gK").unwrap();
    let tip = m.branch(3).comps().unwrap();
    for (c, &g) in gk.iter().enumerate() {
        assert_eq!(g == 0.05, tip.contains(&c), "compartment {c}");
    }
}
