//! Bayesian inference with gradients of the simulator: the posterior of gNa,
//! gK and gLeak of an HH compartment given a voltage recording with 2 mV of
//! Gaussian noise, under uniform priors on boxes, sampled by NUTS in the
//! unbounded space of the paper's sigmoid transform.
//!
//! Run: `cargo run --release -p posterior`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use ruxley::cpu::CpuBackend;
use ruxley::grad::{simulate, value_and_grad};
use ruxley::prelude::*;
use ruxley::{Layout, Schedule, TraceFit};
use ruxley_hmc::diagnostics::{ess_bulk, split_rhat};
use ruxley_hmc::{LogDensity, Settings, Transformed, sample_chains_with_progress};
use ruxley_optim::Transforms;

/// The log-likelihood of the conductances: Gaussian noise of `sigma` mV on
/// every sample; the uniform prior is the transform's box.
struct Likelihood {
    layout: Layout,
    options: RunOptions,
    loss: TraceFit,
    samples: f64,
    sigma: f64,
}

// ANCHOR: likelihood
impl LogDensity for Likelihood {
    fn dim(&self) -> usize {
        self.layout.trainables().len()
    }

    fn logp_and_grad(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let backend = CpuBackend::sequential();
        match value_and_grad(
            &backend,
            &self.layout,
            &[theta.to_vec()],
            &self.options,
            &self.loss,
            &Schedule::StoreAll,
        ) {
            Ok(g) => {
                // The loss is the mean squared error: log L = -N mse / (2 sigma^2).
                let scale = -self.samples / (2.0 * self.sigma * self.sigma);
                for (d, g) in grad.iter_mut().zip(&g[0].grad) {
                    *d = scale * g;
                }
                scale * g[0].loss
            }
            // An unstable simulation is outside the support.
            Err(_) => f64::NEG_INFINITY,
        }
    }
}
// ANCHOR_END: likelihood

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cell = Model::compartment();
    cell.set("length", 20.0)?;
    cell.set("radius", 10.0)?;
    cell.insert(Hh::new())?;
    cell.set("v", -65.0)?;
    cell.comp(0).stimulate(Waveform::step(1.0, 18.0, 0.1))?;
    cell.comp(0).record_as("v", "soma")?;
    for name in ["HH_gNa", "HH_gK", "HH_gLeak"] {
        cell.make_trainable(name, None)?;
    }
    let layout = cell.build()?;
    let options = RunOptions::new(0.025, 20.0);
    let truth = layout.trainables().initial();
    // The recording: the true trace plus 2 mV of white noise.
    let clean = simulate(
        &CpuBackend::new(),
        &layout,
        std::slice::from_ref(&truth),
        &options,
    )?
    .remove(0);
    let mut rng = StdRng::seed_from_u64(2025);
    let noise = Normal::new(0.0, 2.0)?;
    let data: Vec<f64> = clean
        .get("v_soma_mV")
        .expect("recorded")
        .iter()
        .map(|v| v + noise.sample(&mut rng))
        .collect();
    let samples = data.len() as f64;
    let likelihood = Likelihood {
        layout,
        options,
        loss: TraceFit::mse(vec![("v_soma_mV".into(), data)]),
        samples,
        sigma: 2.0,
    };

    // ANCHOR: sample
    let bounds = [(0.05, 0.25), (0.01, 0.1), (1e-4, 1e-3)];
    let transforms = Transforms::sigmoid_boxes(&bounds)?;
    let target = Transformed {
        inner: &likelihood,
        transforms: transforms.clone(),
    };
    let u0 = transforms.inverse(&[0.1, 0.05, 5e-4])?;
    let settings = Settings {
        warmup: 400,
        samples: 400,
        dense: true,
        ..Settings::default()
    };
    let n_chains = 4;
    let bar = ruxley::progress::bar(
        n_chains * (settings.warmup + settings.samples),
        "NUTS",
        true,
    );
    let chains =
        sample_chains_with_progress(&target, &u0, 0.2, n_chains, &settings, 7, &|| bar.inc(1))?;
    bar.finish_and_clear();
    // ANCHOR_END: sample

    let names = ["gNa", "gK", "gLeak"];
    println!(
        "{} chains x {} draws; {} divergences",
        chains.len(),
        settings.samples,
        chains.iter().map(|c| c.divergences()).sum::<usize>()
    );
    let mut failures = Vec::new();
    for k in 0..3 {
        let cols: Vec<Vec<f64>> = chains
            .iter()
            .map(|c| c.draws.iter().map(|u| transforms.forward(u)[k]).collect())
            .collect();
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let all: Vec<f64> = cols.iter().flatten().copied().collect();
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        let sd =
            (all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (all.len() as f64 - 1.0)).sqrt();
        let rhat = split_rhat(&refs);
        println!(
            "{:>6}: posterior {mean:.4e} +- {sd:.2e} S/cm2 (true {:.4e}); R-hat {rhat:.3}, bulk ESS {:.0}",
            names[k],
            truth[k],
            ess_bulk(&refs)
        );
        // What the book claims: converged chains, the truth inside the
        // posterior (3 s.d. for a single run's noise).
        if !(rhat < 1.01 && (mean - truth[k]).abs() < 3.0 * sd) {
            failures.push(names[k]);
        }
    }
    let grads: usize = chains.iter().map(|c| c.n_grad_total).sum();
    println!("{grads} gradients of the simulation in all");
    if !failures.is_empty() {
        return Err(format!("not converged on the truth: {failures:?}").into());
    }
    Ok(())
}
