//! Gradients on the anchor workloads: W4 (per-branch gNa, gK, gLeak; MSE to
//! the soma trace with gNa x1.05, gK x0.95, gLeak x1.10) on W2 and W3, under
//! several checkpoint schedules, next to the forward run.

use criterion::{Criterion, criterion_group, criterion_main};
use ruxley::cpu::CpuBackend;
use ruxley::{Backend, Batch, Schedule, TraceFit};
use ruxley_benches::{Fit, prepare};
use ruxley_conformance::l5pc::l5pc_w2;
use ruxley_conformance::workloads::{Workload, w2, w3};

/// The W4 set-up of a workload: trainable layout, loss, theta.
fn w4(mut w: Workload) -> Fit {
    for name in ["HH_gNa", "HH_gK", "HH_gLeak"] {
        w.model
            .branch("all")
            .make_trainable(name, None)
            .expect("HH everywhere");
    }
    let layout = w.model.build().expect("builds");
    let mut target = layout.parameters().clone();
    for (name, f) in [("HH_gNa", 1.05), ("HH_gK", 0.95), ("HH_gLeak", 1.10)] {
        let base = layout.parameters().get(name).expect("exists")[0];
        target.set(name, base * f).expect("exists");
    }
    let t = CpuBackend::new()
        .simulate(&layout, Batch::params(&[target]), &w.options)
        .expect("runs");
    let loss = TraceFit::mse(vec![(
        "v_soma_mV".into(),
        t[0].get("v_soma_mV").expect("recorded").to_vec(),
    )]);
    let theta = layout.trainables().initial();
    Fit {
        layout,
        options: w.options,
        loss,
        theta,
    }
}

fn gradient(c: &mut Criterion) {
    let cpu = CpuBackend::sequential();
    let mut g = c.benchmark_group("gradient");
    g.sample_size(10);
    for (name, w) in [("w2", w2().expect("W2")), ("w3", w3().expect("W3"))] {
        let fwd = prepare(w.clone());
        g.bench_function(format!("{name}_forward"), |b| {
            b.iter(|| {
                cpu.simulate(&fwd.layout, Batch::single(), &fwd.options)
                    .expect("runs")
            })
        });
        let fit = w4(w);
        let steps = fit.options.grid().expect("grid").n_steps();
        for (label, schedule) in [
            ("store_all", Schedule::StoreAll),
            ("nested_sqrt", Schedule::sqrt(steps)),
            ("revolve_50", Schedule::Revolve(50)),
        ] {
            let once = fit.gradient(&schedule);
            println!(
                "{name} {label}: {} trainables, peak tape {:.1} MB ({} states), {} recomputed steps",
                fit.theta.len(),
                once.tape.peak_bytes as f64 / 1e6,
                once.tape.peak_states,
                once.tape.recomputed_steps
            );
            g.bench_function(format!("{name}_grad_{label}"), |b| {
                b.iter(|| fit.gradient(&schedule))
            });
        }
    }
    // From the SWC file to the first gradient (no compilation step).
    g.bench_function("w3_read_swc_to_first_gradient", |b| {
        b.iter(|| w4(w3().expect("W3")).gradient(&Schedule::sqrt(4000)))
    });
    // The Hay L5PC channels with calcium dynamics on the W2 tree: every
    // region's densities trainable.
    let fit = l5pc_densities();
    g.bench_function("l5pc_w2_forward", |b| {
        b.iter(|| {
            cpu.simulate(&fit.layout, Batch::single(), &fit.options)
                .expect("runs")
        })
    });
    let schedule = Schedule::sqrt(fit.options.grid().expect("grid").n_steps());
    println!("l5pc_w2 nested_sqrt: {} trainables", fit.theta.len());
    g.bench_function("l5pc_w2_grad_nested_sqrt", |b| {
        b.iter(|| fit.gradient(&schedule))
    });
    g.finish();
}

/// `l5pc_w2` with each region's channel densities trainable (one value per
/// region and channel), and the MSE of its voltages to the same cell with
/// every density x 1.05.
fn l5pc_densities() -> Fit {
    let mut w = l5pc_w2().expect("L5PC on W2");
    let names = w
        .model
        .build()
        .expect("builds")
        .parameters()
        .layout()
        .names();
    for region in ["soma", "apical", "basal"] {
        for name in names.iter().filter(|n| n.ends_with("_gbar")) {
            // Not every channel is in every region.
            let _ = w.model.group(region).make_trainable(name, None);
        }
    }
    let layout = w.model.build().expect("builds");
    let theta = layout.trainables().initial();
    let scaled: Vec<f64> = theta.iter().map(|x| x * 1.05).collect();
    let t =
        ruxley::grad::simulate(&CpuBackend::new(), &layout, &[scaled], &w.options).expect("runs");
    let loss = TraceFit::mse(
        t[0].names()
            .iter()
            .filter(|n| n.starts_with("v"))
            .map(|n| (n.clone(), t[0].get(n).expect("recorded").to_vec()))
            .collect(),
    );
    Fit {
        layout,
        options: w.options,
        loss,
        theta,
    }
}

criterion_group!(benches, gradient);
criterion_main!(benches);
