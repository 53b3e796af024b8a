//! Gradients on the anchor workloads: W4 (per-branch gNa, gK, gLeak; MSE to
//! the soma trace with gNa x1.05, gK x0.95, gLeak x1.10) on W2 and W3, under
//! several checkpoint schedules, next to the forward run.

use criterion::{Criterion, criterion_group, criterion_main};
use ruxley::cpu::CpuBackend;
use ruxley::grad::value_and_grad;
use ruxley::{Backend, Batch, Layout, Mse, RunOptions, Schedule};
use ruxley_benches::prepare;
use ruxley_testing::l5pc::l5pc_w2;
use ruxley_testing::workloads::{Workload, w2, w3};

/// The W4 set-up of a workload: trainable layout, loss, theta.
fn w4(mut w: Workload) -> (Layout, RunOptions, Mse, Vec<f64>) {
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
    let loss = Mse::new(vec![(
        "v_soma_mV".into(),
        t[0].get("v_soma_mV").expect("recorded").to_vec(),
    )]);
    let theta = layout.trainables().initial();
    (layout, w.options, loss, theta)
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
        let (layout, options, loss, theta) = w4(w);
        let steps = options.grid().expect("grid").n_steps();
        for (label, schedule) in [
            ("store_all", Schedule::StoreAll),
            ("nested_sqrt", Schedule::sqrt(steps)),
            ("revolve_50", Schedule::Revolve(50)),
        ] {
            let once = value_and_grad(
                &cpu,
                &layout,
                std::slice::from_ref(&theta),
                &loss,
                &options,
                &schedule,
            )
            .expect("gradient");
            println!(
                "{name} {label}: {} trainables, peak tape {:.1} MB ({} states), {} recomputed steps",
                theta.len(),
                once[0].tape.peak_bytes as f64 / 1e6,
                once[0].tape.peak_states,
                once[0].tape.recomputed_steps
            );
            g.bench_function(format!("{name}_grad_{label}"), |b| {
                b.iter(|| {
                    value_and_grad(
                        &cpu,
                        &layout,
                        std::slice::from_ref(&theta),
                        &loss,
                        &options,
                        &schedule,
                    )
                    .expect("gradient")
                })
            });
        }
    }
    // From the SWC file to the first gradient (no compilation step).
    g.bench_function("w3_read_swc_to_first_gradient", |b| {
        b.iter(|| {
            let (layout, options, loss, theta) = w4(w3().expect("W3"));
            value_and_grad(
                &cpu,
                &layout,
                &[theta],
                &loss,
                &options,
                &Schedule::sqrt(4000),
            )
            .expect("gradient")
        })
    });
    // The Hay L5PC channels with calcium dynamics on the W2 tree: every
    // region's densities trainable.
    let (layout, options, loss, theta) = l5pc_densities();
    g.bench_function("l5pc_w2_forward", |b| {
        b.iter(|| {
            cpu.simulate(&layout, Batch::single(), &options)
                .expect("runs")
        })
    });
    let schedule = Schedule::sqrt(options.grid().expect("grid").n_steps());
    println!("l5pc_w2 nested_sqrt: {} trainables", theta.len());
    g.bench_function("l5pc_w2_grad_nested_sqrt", |b| {
        b.iter(|| {
            value_and_grad(
                &cpu,
                &layout,
                std::slice::from_ref(&theta),
                &loss,
                &options,
                &schedule,
            )
            .expect("gradient")
        })
    });
    g.finish();
}

/// `l5pc_w2` with each region's channel densities trainable (one value per
/// region and channel), and the MSE of its voltages to the same cell with
/// every density x 1.05.
fn l5pc_densities() -> (Layout, RunOptions, Mse, Vec<f64>) {
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
    let loss = Mse::new(
        t[0].names()
            .iter()
            .filter(|n| n.starts_with("v"))
            .map(|n| (n.clone(), t[0].get(n).expect("recorded").to_vec()))
            .collect(),
    );
    (layout, w.options, loss, theta)
}

criterion_group!(benches, gradient);
criterion_main!(benches);
