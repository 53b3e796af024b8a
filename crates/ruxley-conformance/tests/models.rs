//! The shared models exercise what they are there for.

use ruxley_backend::{Backend, Batch, RunOptions};
use ruxley_conformance::models::agreement_cases;
use ruxley_cpu::CpuBackend;

#[test]
fn the_adaptive_reset_spikes_adapts_and_carries_a_current() {
    let (_, model, t_max) = agreement_cases()
        .unwrap()
        .into_iter()
        .find(|c| c.0 == "adaptive reset")
        .unwrap();
    let layout = model.build().unwrap();
    let tr = CpuBackend::new()
        .simulate(&layout, Batch::single(), &RunOptions::new(0.025, t_max))
        .unwrap()
        .remove(0);
    let (v, w, i) = (tr.trace(0), tr.trace(1), tr.trace(2));
    // Each reset raises w by 0.5; w decays between resets.
    let resets = w.windows(2).filter(|p| p[1] > p[0] + 0.4).count();
    assert!(resets >= 3, "{resets} resets");
    assert!(w.windows(2).any(|p| p[1] < p[0]), "w never decays");
    assert!(
        v.iter().all(|&x| x <= -50.0 + 1.0),
        "v passed the threshold"
    );
    assert!(i.iter().any(|&x| x.abs() > 1e-3), "no current");
}
