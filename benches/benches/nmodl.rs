//! Mechanisms read from NMODL files next to the built-in ones: W2 with
//! `hh.mod` against W2 with the built-in HH (forward, and the W4 gradient:
//! per-branch gNa, gK, gLeak), and the L5PC set on W2 from .mod files
//! against the built-in set.

use criterion::{Criterion, criterion_group, criterion_main};
use ruxley::channels::Channel;
use ruxley::cpu::CpuBackend;
use ruxley::{Backend, Batch, Schedule, TraceFit};
use ruxley_benches::{Fit, prepare};
use ruxley_conformance::l5pc::{builtin, from_mod_files, l5pc_w2_with};
use ruxley_conformance::workloads::{Workload, w2_with};

/// W2 with `channel` and the W4 loss: its three conductances (named
/// `names`) trainable per branch; the MSE to the soma trace with them
/// scaled by 1.05, 0.95 and 1.10.
fn w4(mut w: Workload, names: [&str; 3]) -> Fit {
    for name in names {
        w.model
            .branch("all")
            .make_trainable(name, None)
            .expect("everywhere");
    }
    let layout = w.model.build().expect("builds");
    let mut target = layout.parameters().clone();
    for (name, f) in names.iter().zip([1.05, 0.95, 1.10]) {
        let base = layout.parameters().get(name).expect("exists")[0];
        target.set(name, base * f).expect("exists");
    }
    let t = CpuBackend::new()
        .simulate(&layout, Batch::params(&[target]), &w.options)
        .expect("runs");
    let soma = t[0].get("v_soma_mV").expect("recorded").to_vec();
    let theta = layout.trainables().initial();
    Fit {
        layout,
        options: w.options,
        loss: TraceFit::mse(vec![("v_soma_mV".into(), soma)]),
        theta,
    }
}

fn nmodl(c: &mut Criterion) {
    let cpu = CpuBackend::sequential();
    let mut g = c.benchmark_group("nmodl");
    g.sample_size(10);
    let hh: [(&str, Box<dyn Channel>, [&str; 3]); 2] = [
        (
            "builtin",
            Box::new(ruxley::channels::Hh::new()),
            ["HH_gNa", "HH_gK", "HH_gLeak"],
        ),
        (
            "hh_mod",
            from_mod_files("hh").0,
            ["hh_gnabar", "hh_gkbar", "hh_gl"],
        ),
    ];
    for (label, channel, names) in hh {
        let w = w2_with(channel).expect("W2");
        let fwd = prepare(w.clone());
        g.bench_function(format!("w2_forward_{label}"), |b| {
            b.iter(|| {
                cpu.simulate(&fwd.layout, Batch::single(), &fwd.options)
                    .expect("runs")
            })
        });
        let fit = w4(w, names);
        let schedule = Schedule::sqrt(fit.options.grid().expect("grid").n_steps());
        g.bench_function(format!("w2_grad_{label}"), |b| {
            b.iter(|| fit.gradient(&schedule))
        });
    }
    for (label, w) in [
        ("builtin", l5pc_w2_with(&builtin).expect("L5PC")),
        ("mod_files", l5pc_w2_with(&from_mod_files).expect("L5PC")),
    ] {
        let p = prepare(w);
        g.bench_function(format!("l5pc_w2_forward_{label}"), |b| {
            b.iter(|| {
                cpu.simulate(&p.layout, Batch::single(), &p.options)
                    .expect("runs")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, nmodl);
criterion_main!(benches);
