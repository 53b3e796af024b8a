//! Large batches on both cores: W1's cell (one compartment, 20 ms) with a
//! million parameter sets, as Jaxley's vmap benchmark (52.6 ms f64 on an
//! H200); every member records its voltage.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ruxley::cpu::CpuBackend;
use ruxley::{Backend, Batch, Precision};
use ruxley_benches::{gna_batch_params, prepare};
use ruxley_conformance::workloads;

fn batch_scale(c: &mut Criterion) {
    let p = prepare(workloads::w1().expect("W1 builds"));
    let n = 1_000_000;
    let sets = gna_batch_params(&p.layout, n);
    let mut g = c.benchmark_group("batch_scale");
    g.sample_size(10);
    g.throughput(Throughput::Elements(p.comp_steps * n as u64));
    for precision in [Precision::F64, Precision::F32] {
        let options = p.options.with_precision(precision);
        g.bench_function(format!("w1_x1m_{precision}"), |b| {
            b.iter(|| {
                let t = CpuBackend::new()
                    .simulate(&p.layout, Batch::params(&sets), &options)
                    .expect("runs");
                std::hint::black_box(t.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, batch_scale);
criterion_main!(benches);
