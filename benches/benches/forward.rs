//! Forward simulation of the anchor workloads on the CPU backend.
//! Throughput is in compartment-steps: ns per compartment-step = 1e3 / (Melem/s).
//!
//! `w5_block/<n>` runs W5 with n members side by side per block (member
//! fastest in every array): the measurement behind the batch layout.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ruxley::cpu::CpuBackend;
use ruxley::{Backend, Batch, Precision};
use ruxley_benches::{Prepared, w1_long, w2, w3, w5_params};

fn run(backend: &CpuBackend, p: &Prepared, batch: Batch) {
    let traces = backend
        .simulate(&p.layout, batch, &p.options)
        .expect("runs");
    std::hint::black_box(traces);
}

fn forward(c: &mut Criterion) {
    let seq = CpuBackend::sequential();
    let mut g = c.benchmark_group("forward");
    g.sample_size(10);
    for (name, p) in [("w1_long", w1_long()), ("w2", w2()), ("w3", w3())] {
        g.throughput(Throughput::Elements(p.comp_steps));
        g.bench_function(name, |b| b.iter(|| run(&seq, &p, Batch::single())));
    }
    let p = w2();
    let sets = w5_params(&p.layout);
    g.throughput(Throughput::Elements(p.comp_steps * sets.len() as u64));
    g.bench_function("w5_batch100_seq", |b| {
        b.iter(|| run(&seq, &p, Batch::params(&sets)))
    });
    g.bench_function("w5_batch100_rayon", |b| {
        b.iter(|| run(&CpuBackend::new(), &p, Batch::params(&sets)))
    });
    let f32_options = p.options.with_precision(Precision::F32);
    g.bench_function("w5_batch100_rayon_f32", |b| {
        b.iter(|| {
            let t = CpuBackend::new()
                .simulate(&p.layout, Batch::params(&sets), &f32_options)
                .expect("runs");
            std::hint::black_box(t);
        })
    });
    g.finish();
    let mut g = c.benchmark_group("w5_block");
    g.sample_size(10);
    g.throughput(Throughput::Elements(p.comp_steps * sets.len() as u64));
    for nb in [1, 4, 8, 16, 25, 32, 50] {
        let backend = CpuBackend::new().with_block(nb);
        g.bench_function(format!("{nb}"), |b| {
            b.iter(|| run(&backend, &p, Batch::params(&sets)))
        });
    }
    g.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
