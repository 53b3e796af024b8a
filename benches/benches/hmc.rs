//! NUTS on the 100-dimensional correlated Gaussian: time per chain and
//! gradient evaluations per effective sample.

use criterion::{Criterion, criterion_group, criterion_main};
use ruxley_hmc::diagnostics::ess_bulk;
use ruxley_hmc::targets::Gaussian;
use ruxley_hmc::{Settings, sample_chain, sample_chains};

fn hmc(c: &mut Criterion) {
    let target = Gaussian::new(100, 0.9);
    for dense in [false, true] {
        let settings = Settings {
            dense,
            ..Settings::default()
        };
        let chains =
            sample_chains(&target, &vec![0.0; 100], 1.0, 4, &settings, 1).expect("samples");
        let min_ess = (0..100)
            .map(|k| {
                let cols: Vec<Vec<f64>> = chains.iter().map(|ch| ch.coordinate(k)).collect();
                ess_bulk(&cols.iter().map(|v| v.as_slice()).collect::<Vec<_>>())
            })
            .fold(f64::INFINITY, f64::min);
        let kept: usize = chains
            .iter()
            .map(|ch| ch.infos.iter().map(|i| i.n_grad).sum::<usize>())
            .sum();
        let total: usize = chains.iter().map(|ch| ch.n_grad_total).sum();
        println!(
            "{} metric: min bulk ESS {min_ess:.0} of 4000 draws; {:.1} gradients per effective sample \
             ({:.1} counting warm-up); mean tree {:.1} leapfrogs",
            if dense { "dense" } else { "diagonal" },
            kept as f64 / min_ess,
            total as f64 / min_ess,
            kept as f64 / 4000.0
        );
    }
    let mut g = c.benchmark_group("hmc");
    g.sample_size(10);
    g.bench_function("nuts_gaussian100_dense_1000_warmup_1000_draws", |b| {
        b.iter(|| {
            sample_chain(
                &target,
                &vec![0.0; 100],
                &Settings {
                    dense: true,
                    ..Settings::default()
                },
                3,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, hmc);
criterion_main!(benches);
