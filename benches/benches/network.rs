//! W6 (50 HH cells, 243 graded synapses): forward, and the gradient with
//! respect to every synapse's gS under two checkpoint schedules.
//! `network_scale` times the large networks.

use criterion::{Criterion, criterion_group, criterion_main};
use ruxley::Schedule;
use ruxley::cpu::CpuBackend;
use ruxley::{Backend, Batch};
use ruxley_benches::gs_fit;
use ruxley_conformance::workloads::w6;

fn network(c: &mut Criterion) {
    let cpu = CpuBackend::sequential();
    let mut g = c.benchmark_group("network");
    g.sample_size(10);
    let w = w6().expect("W6");
    let layout = w.model.build().expect("builds");
    g.bench_function("w6_forward", |b| {
        b.iter(|| {
            cpu.simulate(&layout, Batch::single(), &w.options)
                .expect("runs")
        })
    });
    let fit = gs_fit(w.model.clone(), &w.options);
    let steps = w.options.grid().expect("grid").n_steps();
    for (label, schedule) in [
        ("store_all", Schedule::StoreAll),
        ("nested_sqrt", Schedule::sqrt(steps)),
    ] {
        println!(
            "w6 {label}: {} trainables, peak tape {:.2} MB",
            fit.theta.len(),
            fit.gradient(&schedule).tape.peak_bytes as f64 / 1e6
        );
        g.bench_function(format!("w6_grad_{label}"), |b| {
            b.iter(|| fit.gradient(&schedule))
        });
    }
    g.finish();
}

criterion_group!(benches, network);
criterion_main!(benches);
