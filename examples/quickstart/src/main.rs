//! Quickstart: build a CA1 pyramidal cell from its SWC reconstruction, insert
//! Hodgkin-Huxley channels, inject a step current into the soma, print the
//! spike times; then perturb the sodium and potassium conductances of its
//! soma, basal and apical dendrites, and recover them by gradient-based
//! optimisation (L-BFGS in the paper's sigmoid space) of the mean squared
//! error of seven voltage traces. Writes `out/quickstart.svg` and `out/quickstart_loss.svg`.
//!
//! Run: `cargo run --release -p quickstart`.

use std::path::Path;
use std::time::Instant;

use indicatif::ProgressBar;
use ruxley::analysis::spike_times;
use ruxley::cpu::CpuBackend;
use ruxley::grad::{simulate, value_and_grad};
use ruxley::prelude::*;
use ruxley::{Schedule, TraceFit};
use ruxley_optim::{LbfgsOptions, Progress, Transforms, lbfgs};
use ruxley_plot::{Figure, Series, write_svg, write_traces_svg};

/// The regions whose conductances are fitted, and the factors that make the
/// target cell from the default one.
const REGIONS: [&str; 3] = ["soma", "basal", "apical"];
const TRUE_FACTORS: [(f64, f64); 3] = [(1.15, 0.90), (0.85, 1.10), (1.10, 0.85)];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // ANCHOR: build
    let swc =
        root.join("data/morphologies/jaxley/tests_swc_files/morph_ca1_n120_single_point_soma.swc");
    let start = Instant::now();
    let mut cell = Model::from_swc_file(&swc, &SwcImport::new(4))?;
    cell.insert(Hh::new())?;
    cell.set("axial_resistivity", 100.0)?;
    cell.set("v", -65.0)?;
    let soma = Selection::new().branch(0).comp(0);
    cell.at(&soma).stimulate(Waveform::step(1.0, 48.0, 1.0))?;
    cell.at(&soma).record_as("v", "soma")?;
    // Three basal and three apical compartments (the second one of each is plotted).
    for region in ["basal", "apical"] {
        let comps = cell.group(region).comps()?;
        for (k, q) in [1, 2, 3].iter().enumerate() {
            let label = if k == 1 {
                region.to_string()
            } else {
                format!("{region}{k}")
            };
            cell.comp(comps[comps.len() * q / 4])
                .record_as("v", &label)?;
        }
    }
    // ANCHOR_END: build
    println!(
        "read {} branches, {} compartments from {} in {:.1} ms",
        cell.n_branches(),
        cell.n_comps(),
        swc.file_name().unwrap_or_default().to_string_lossy(),
        start.elapsed().as_secs_f64() * 1e3
    );

    // ANCHOR: simulate
    let options = RunOptions::new(0.025, 50.0);
    let start = Instant::now();
    let traces = ruxley::simulate(&cell, &options)?;
    let soma = traces.get("v_soma_mV").expect("recorded");
    let spikes = spike_times(soma, options.dt, 0.0);
    // ANCHOR_END: simulate
    let elapsed = start.elapsed().as_secs_f64();
    let steps = traces.n_samples() - 1;
    println!(
        "simulated {} ms ({steps} steps) in {:.0} ms: {:.1} ns per compartment-step",
        options.t_max,
        elapsed * 1e3,
        elapsed * 1e9 / (cell.n_comps() * steps) as f64
    );
    let list: Vec<String> = spikes.iter().map(|t| format!("{t:.2}")).collect();
    println!(
        "{} somatic spikes at t = [{}] ms",
        spikes.len(),
        list.join(", ")
    );

    // ANCHOR: fit
    // One trainable gNa and gK per region (Jaxley's sharing: a group is one site).
    for region in REGIONS {
        cell.group(region).make_trainable("HH_gNa", None)?;
        cell.group(region).make_trainable("HH_gK", None)?;
    }
    let layout = cell.build()?;
    let defaults = layout.trainables().initial();
    let truth: Vec<f64> = TRUE_FACTORS
        .iter()
        .zip(defaults.chunks(2))
        .flat_map(|(f, g)| [g[0] * f.0, g[1] * f.1])
        .collect();
    // The synthetic target: the same cell with the true conductances.
    let target = simulate(
        &CpuBackend::new(),
        &layout,
        std::slice::from_ref(&truth),
        &options,
    )?
    .remove(0);
    let loss = TraceFit::mse_to(&target);
    // Optimise in the unbounded space of the paper's sigmoid onto [0.5, 2] x default.
    let bounds: Vec<(f64, f64)> = defaults.iter().map(|g| (0.5 * g, 2.0 * g)).collect();
    let transform = Transforms::sigmoid_boxes(&bounds)?;
    let backend = CpuBackend::new();
    let schedule = Schedule::sqrt(options.grid()?.n_steps());
    let mut objective = |u: &[f64]| {
        let theta = transform.forward(u);
        let g = value_and_grad(&backend, &layout, &[theta], &options, &loss, &schedule)?;
        Ok((g[0].loss, transform.pull_back(u, &g[0].grad)))
    };
    // A progress line on the terminal: gradients so far and the loss.
    let bar = ProgressBar::new_spinner();
    let mut report = |p: &Progress| {
        bar.inc(1);
        bar.set_message(format!(
            "gradient {} (iteration {}): loss {:.5} mV^2",
            bar.position(),
            p.iteration,
            p.loss
        ));
        true
    };
    let start = Instant::now();
    let u0 = transform.inverse(&defaults)?;
    let fit = lbfgs(
        &mut objective,
        &u0,
        &LbfgsOptions {
            max_iters: 60,
            target_loss: Some(1e-5),
            max_step: 0.5,
            ..LbfgsOptions::default()
        },
        &mut [&mut report],
    )?;
    bar.finish_and_clear();
    let fitted = transform.forward(&fit.best_x);
    // ANCHOR_END: fit
    println!(
        "fitted in {:.1} s ({} gradients): loss {:.5} -> {:.2e} mV^2",
        start.elapsed().as_secs_f64(),
        fit.history.len(),
        fit.history[0],
        fit.best_loss
    );
    for (k, region) in REGIONS.iter().enumerate() {
        for (j, name) in ["gNa", "gK"].iter().enumerate() {
            let i = 2 * k + j;
            println!(
                "{region:>6} {name:<3}: start {:.5}  fitted {:.5}  true {:.5} S/cm2",
                defaults[i], fitted[i], truth[i]
            );
        }
    }
    // What the book shows: every conductance recovered (to 6e-4 measured).
    let errors: Vec<f64> = fitted
        .iter()
        .zip(&truth)
        .map(|(f, t)| ((f - t) / t).abs())
        .collect();
    if !errors.iter().all(|e| *e < 5e-3) {
        return Err(format!(
            "the fit did not recover the conductances (relative errors {errors:.1?})"
        )
        .into());
    }

    let runs = simulate(
        &backend,
        &layout,
        &[defaults.clone(), fitted.clone()],
        &options,
    )?;
    let (before, after) = (&runs[0], &runs[1]);
    // ANCHOR: plot
    let out = root.join("out");
    std::fs::create_dir_all(&out)?;
    write_traces_svg(
        out.join("quickstart.svg"),
        "CA1 cell n120, HH: fitting per-region gNa and gK",
        &[
            ("soma (mV)", "v_soma_mV"),
            ("basal dendrite (mV)", "v_basal_mV"),
            ("apical dendrite (mV)", "v_apical_mV"),
        ],
        &[("target", &target), ("before", before), ("after", after)],
        900,
        900,
    )?;
    // ANCHOR_END: plot
    let steps: Vec<f64> = (0..fit.history.len()).map(|k| k as f64).collect();
    let figure = Figure {
        title: "L-BFGS on the traces",
        x_label: "gradient evaluation",
        panels: vec![(
            "loss (mV^2)",
            vec![Series {
                label: "mean squared error",
                x: &steps,
                y: &fit.history,
            }],
        )],
        log_y: true,
    };
    write_svg(out.join("quickstart_loss.svg"), &figure, 700, 350)?;
    println!(
        "wrote {} and quickstart_loss.svg",
        out.join("quickstart.svg").display()
    );
    Ok(())
}
