//! The tangent of a recorded fixed ion concentration is its parameter's
//! direction (the concentration is that parameter at every sample).

use ruxley_backend::{Backend, Batch, JvpRequest, RunOptions, TangentStart};
use ruxley_cpu::CpuBackend;

#[test]
fn a_fixed_concentration_moves_with_its_parameter_only() {
    let mut m = ruxley_conformance::l5pc::calcium_cell(false).unwrap();
    // The dendrite (branch 1, global compartment 1) has calcium channels
    // but no pool: its cai is a parameter.
    m.branch(1).comp(0).record("cai").unwrap();
    m.branch(1).comp(0).record("v").unwrap();
    let layout = m.build().unwrap();
    let params = layout.parameters();
    let block = params
        .layout()
        .find("cai")
        .find(|b| b.comps.contains(&1))
        .expect("the dendrite's cai");
    let at = block.range.start + block.comps.iter().position(|&c| c == 1).unwrap();
    let options = RunOptions::new(0.025, 2.0);
    for (scale, d) in [(1.0, 0.5), (0.0, 0.0)] {
        let mut dir = vec![0.0; params.values().len()];
        dir[at] = d;
        let request = JvpRequest {
            params: (scale > 0.0).then_some(dir),
            start: TangentStart::FromParams,
            renormalize_every: None,
        };
        let r = CpuBackend::new()
            .jvp(&layout, Batch::single(), &options, &request)
            .unwrap();
        // The two probes recorded last.
        let k = r[0].traces.names().len() - 2;
        let cai = r[0].traces.trace(k);
        assert!(cai.iter().all(|&x| x == 2e-4), "{:?}", &cai[..3]);
        let dcai = r[0].tangents.trace(k);
        assert!(dcai.iter().all(|&x| x == d), "{:?}", &dcai[..3]);
        // The voltage feels it through eca only where cai drives it: its
        // tangent is finite.
        assert!(r[0].tangents.trace(k + 1).iter().all(|x| x.is_finite()));
    }
}
