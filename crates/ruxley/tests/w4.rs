//! W4: the gradient of the anchor loss on W2 against Jaxley's float64 autodiff.

use ruxley::cpu::CpuBackend;
use ruxley::prelude::*;
use ruxley::{Schedule, TraceFit};
use ruxley_conformance::reference::{Table, data_path};
use ruxley_conformance::workloads::w2;

#[test]
fn w4_on_w2_matches_jaxley_per_branch() {
    let w = w2().unwrap();
    let layout = w.model.build().unwrap();
    let target = Table::read(data_path(
        "reference/anchors/traces/w4_w2_target_jaxley_f64.csv",
    ))
    .unwrap();
    let loss = TraceFit::mse(vec![(
        "v_soma_mV".into(),
        target.column("v_soma_mV").unwrap().to_vec(),
    )]);
    let g = CpuBackend::new()
        .value_and_grad(
            &layout,
            Batch::single(),
            &w.options,
            &loss,
            &Schedule::StoreAll,
        )
        .unwrap()
        .remove(0);
    let reference =
        Table::read(data_path("reference/anchors/gradients/w4_grad_w2_f64.csv")).unwrap();
    let params = layout.parameters().layout();
    let mut worst: f64 = 0.0;
    for (name, column) in [
        ("HH_gNa", "dL_dgNa"),
        ("HH_gK", "dL_dgK"),
        ("HH_gLeak", "dL_dgLeak"),
    ] {
        let block = params.find(name).next().unwrap();
        let want = reference.column(column).unwrap();
        for (b, &expected) in want.iter().enumerate() {
            let comps = w.model.branch_comps(b);
            let got: f64 = block
                .comps
                .iter()
                .enumerate()
                .filter(|(_, c)| comps.contains(c))
                .map(|(k, _)| g.params[block.range.start + k])
                .sum();
            let rel = (got - expected).abs() / expected.abs();
            worst = worst.max(rel);
            assert!(
                rel < 1e-5,
                "{name} branch {b}: {got:e} vs Jaxley {expected:e} (rel {rel:.1e})"
            );
        }
    }
    println!(
        "W4 loss {:.6e}, worst relative deviation from Jaxley {worst:.2e}",
        g.loss
    );
}

#[test]
fn every_checkpoint_schedule_gives_the_identical_gradient() {
    let w = w2().unwrap();
    let layout = w.model.build().unwrap();
    let target = Table::read(data_path(
        "reference/anchors/traces/w4_w2_target_jaxley_f64.csv",
    ))
    .unwrap();
    let loss = TraceFit::mse(vec![(
        "v_soma_mV".into(),
        target.column("v_soma_mV").unwrap().to_vec(),
    )]);
    let run = |s: Schedule| {
        CpuBackend::new()
            .value_and_grad(&layout, Batch::single(), &w.options, &loss, &s)
            .unwrap()
            .remove(0)
    };
    let all = run(Schedule::StoreAll);
    assert_eq!(all.tape.recomputed_steps, 0);
    for s in [
        Schedule::Uniform(50),
        Schedule::Nested(vec![45, 45]),
        Schedule::Nested(vec![13, 13, 13]),
        Schedule::Revolve(20),
    ] {
        let g = run(s.clone());
        let first = g.params.iter().zip(&all.params).position(|(a, b)| a != b);
        assert!(
            first.is_none(),
            "{s:?}: value {first:?} differs from store-all"
        );
        assert_eq!(g.loss, all.loss);
        assert!(
            g.tape.peak_bytes < all.tape.peak_bytes / 10,
            "{s:?}: {:?}",
            g.tape
        );
        println!("{s:?}: {:?}", g.tape);
    }
}
