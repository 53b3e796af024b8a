//! Fitting a spiking trace with three losses: fit gNa and gK of an HH
//! compartment to a target trace (0.12, 0.036 S/cm2) from four distant
//! starts, by L-BFGS, under the mean squared error, the paper's window
//! statistics (mean and s.d. in 8 windows) and soft-DTW (the paper's cost),
//! and judge every fit by the squared error of its trace.
//!
//! Run: `cargo run --release -p losses`.

use ruxley::cpu::CpuBackend;
use ruxley::grad::{simulate, value_and_grad};
use ruxley::loss::{SoftDtw, WindowStats};
use ruxley::prelude::*;
use ruxley::{Compare, Schedule, TraceFit, TraceLoss};
use ruxley_optim::{LbfgsOptions, Progress, Transforms, lbfgs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cell = Model::compartment();
    cell.set("length", 20.0)?;
    cell.set("radius", 10.0)?;
    cell.insert(Hh::new())?;
    cell.set("v", -65.0)?;
    cell.comp(0).stimulate(Waveform::step(2.0, 36.0, 0.12))?;
    cell.comp(0).record_as("v", "soma")?;
    cell.make_trainable("HH_gNa", None)?;
    cell.make_trainable("HH_gK", None)?;
    let layout = cell.build()?;
    let options = RunOptions::new(0.025, 40.0);
    let backend = CpuBackend::new();
    let truth = vec![0.12, 0.036];
    println!(
        "starts (gNa, gK): (0.05, 0.08) (0.25, 0.01) (0.2, 0.08) (0.06, 0.02); fitted (gNa, gK), gradients, trace MSE (mV^2):"
    );
    let target = simulate(&backend, &layout, std::slice::from_ref(&truth), &options)?.remove(0);
    let v = target.get("v_soma_mV").expect("recorded").to_vec();
    let n = v.len();
    let starts = [[0.05, 0.08], [0.25, 0.01], [0.2, 0.08], [0.06, 0.02]];
    // ANCHOR: losses
    let losses: Vec<(&str, TraceFit)> = vec![
        (
            "mean squared error",
            TraceFit::new().term("v_soma_mV", v.clone(), Compare::Mse, 1.0),
        ),
        (
            "window statistics",
            TraceFit::new().term(
                "v_soma_mV",
                v.clone(),
                Compare::Windows(WindowStats::equal(n, 8, 8.0, 4.0)),
                1.0,
            ),
        ),
        (
            "soft-DTW",
            TraceFit::new().term(
                "v_soma_mV",
                v.clone(),
                Compare::SoftDtw(SoftDtw {
                    gamma: 1.0,
                    time_weight: 1.0,
                }),
                1e-3,
            ),
        ),
    ];
    // ANCHOR_END: losses
    let transform = Transforms::sigmoid_boxes(&[(0.02, 0.3), (0.005, 0.1)])?;
    let bar = ruxley::progress::bar(losses.len() * starts.len(), "fits", true);
    for (name, loss) in &losses {
        let mse = |theta: &[f64]| -> Result<f64, Box<dyn std::error::Error>> {
            let trace = simulate(&backend, &layout, &[theta.to_vec()], &options)?.remove(0);
            let mut g = trace.zeros_like();
            Ok(losses[0].1.value_and_grad(0, &trace, &mut g)?)
        };
        let mut line = format!("{name:>20}:");
        for start in starts {
            let mut objective = |u: &[f64]| {
                let theta = transform.forward(u);
                let g = value_and_grad(
                    &backend,
                    &layout,
                    &[theta],
                    &options,
                    loss,
                    &Schedule::StoreAll,
                )?;
                Ok((g[0].loss, transform.pull_back(u, &g[0].grad)))
            };
            let mut report = |p: &Progress| {
                bar.set_message(format!(
                    "{name}: iteration {}, loss {:.3e}",
                    p.iteration, p.loss
                ));
                true
            };
            let fit = lbfgs(
                &mut objective,
                &transform.inverse(&start)?,
                &LbfgsOptions {
                    max_iters: 60,
                    max_step: 1.0,
                    ..LbfgsOptions::default()
                },
                &mut [&mut report],
            )?;
            bar.inc(1);
            let theta = transform.forward(&fit.best_x);
            // Every fit is judged by the same yardstick: the MSE of its trace.
            let err = mse(&theta)?;
            line += &format!(
                "  ({:.3}, {:.4}) {:>3} grads, MSE {err:8.3}",
                theta[0], theta[1], fit.evaluations
            );
        }
        bar.suspend(|| println!("{line}"));
    }
    bar.finish_and_clear();
    Ok(())
}
