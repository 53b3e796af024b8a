//! A recurrent network of twelve HH cells, single compartments and
//! ball-and-stick cells, joined by graded (Ionotropic) synapses and by
//! delayed spike-driven (exponential) ones. Every Ionotropic conductance is
//! trained so that the network reproduces the voltages of a target network
//! whose conductances differ.
//!
//! Run with `cargo run --release -p network`; writes `out/network.svg`.

use std::path::Path;

use indicatif::ProgressBar;
use ruxley::grad::value_and_grad;
use ruxley::prelude::*;
use ruxley::synapses::{ExpSynapse, IonotropicSynapse};
use ruxley::{DefaultBackend, Schedule, TraceFit};
use ruxley_optim::{LbfgsOptions, Progress, Transforms, lbfgs};
use ruxley_plot::{Figure, Series, write_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ANCHOR: build
    // Eight point neurons and four ball-and-stick cells (soma + dendrite).
    let point = || -> Result<Model, ruxley::ModelError> {
        let mut m = Model::compartment();
        m.set("length", 20.0)?;
        m.set("radius", 10.0)?;
        Ok(m)
    };
    let ball_and_stick = || -> Result<Model, ruxley::ModelError> {
        let mut m = Model::from_branches(&[None, Some(0)], &[1, 4])?;
        m.branch(0).set("length", 20.0)?;
        m.branch(0).set("radius", 10.0)?;
        m.branch(1).set("length", 50.0)?;
        m.branch(1).set("radius", 1.0)?;
        Ok(m)
    };
    let mut cells = Vec::new();
    for k in 0..12 {
        cells.push(if k < 8 { point()? } else { ball_and_stick()? });
    }
    let mut net = Model::network(cells)?;
    net.insert(Hh::new())?;
    net.set("axial_resistivity", 100.0)?;
    net.set("v", -65.0)?;
    // Graded synapses between random pairs, and delayed spike-driven ones
    // from the first three cells onto the ball-and-stick dendrites.
    let graded = net.sparse_connect("all", "all", IonotropicSynapse, 0.2, 42)?;
    for (k, pre) in (0..3).enumerate() {
        let post = net.root_comp(8 + k) + 3; // a dendritic compartment
        net.connect(net.root_comp(pre), post, ExpSynapse)?;
    }
    net.synapse_type("ExpSynapse").set("ExpSynapse_w", 5e-3)?;
    net.synapse_type("ExpSynapse").set("delay", 2.0)?;
    for cell in 0..3 {
        net.cell(cell)
            .comp(0)
            .stimulate(Waveform::step(2.0, 36.0, 0.1 + 0.02 * cell as f64))?;
    }
    for cell in 0..12 {
        net.cell(cell)
            .comp(0)
            .record_as("v", &format!("cell{cell}"))?;
    }
    // ANCHOR_END: build
    println!(
        "{} cells, {} compartments, {} synapses ({} graded)",
        net.n_cells(),
        net.n_comps(),
        net.n_synapses(),
        graded.len()
    );

    // ANCHOR: train
    // The target: the same network with conductances drawn in [2, 6] nS.
    let options = RunOptions::new(0.025, 40.0);
    let truth: Vec<f64> = (0..graded.len())
        .map(|k| 2e-3 + 4e-3 * ((k as f64 * 0.618_034) % 1.0))
        .collect();
    net.synapse_type("IonotropicSynapse")
        .edge("all")
        .make_trainable("IonotropicSynapse_gS", Some(4e-3))?;
    let layout = net.build()?;
    let backend = DefaultBackend::new();
    let target = ruxley::grad::simulate(&backend, &layout, std::slice::from_ref(&truth), &options)?
        .remove(0);
    let loss = TraceFit::mse_to(&target);
    // L-BFGS in the unbounded space of a sigmoid onto [0.1, 10] nS.
    let transform = Transforms::sigmoid_boxes(&vec![(1e-4, 1e-2); truth.len()])?;
    let schedule = Schedule::sqrt(options.grid()?.n_steps());
    let mut objective = |u: &[f64]| {
        let theta = transform.forward(u);
        let g = value_and_grad(&backend, &layout, &[theta], &options, &loss, &schedule)?;
        Ok((g[0].loss, transform.pull_back(u, &g[0].grad)))
    };
    let bar = ProgressBar::new_spinner();
    let mut report = |p: &Progress| {
        bar.inc(1);
        bar.set_message(format!(
            "iteration {}: loss {:.3e} mV^2",
            p.iteration, p.loss
        ));
        true
    };
    let start = layout.trainables().initial();
    let fit = lbfgs(
        &mut objective,
        &transform.inverse(&start)?,
        &LbfgsOptions {
            max_iters: 60,
            target_loss: Some(1e-6),
            ..LbfgsOptions::default()
        },
        &mut [&mut report],
    )?;
    bar.finish_and_clear();
    let fitted = transform.forward(&fit.best_x);
    // ANCHOR_END: train
    let mut errors: Vec<f64> = fitted
        .iter()
        .zip(&truth)
        .map(|(a, b)| ((a - b) / b).abs())
        .collect();
    errors.sort_by(f64::total_cmp);
    println!(
        "loss {:.3e} -> {:.3e} mV^2 in {} gradients; relative error of the {} conductances: median {:.1e}, {} within 10 %",
        fit.history[0],
        fit.best_loss,
        fit.history.len(),
        truth.len(),
        errors[errors.len() / 2],
        errors.iter().filter(|&&e| e < 0.1).count()
    );

    let runs = ruxley::grad::simulate(&backend, &layout, &[start, fitted], &options)?;
    let t = target.times();
    let panel = |cell: usize| {
        let name = format!("v_cell{cell}_mV");
        (
            format!("cell {cell} (mV)"),
            [
                ("target", &target),
                ("start", &runs[0]),
                ("fitted", &runs[1]),
            ]
            .map(|(label, tr)| (label, tr.get(&name).expect("recorded").to_vec())),
        )
    };
    let panels: Vec<_> = [3, 6, 9].map(panel).into();
    let figure = Figure {
        title: "Training the graded synapses of a 12-cell network",
        x_label: "time (ms)",
        panels: panels
            .iter()
            .map(|(title, series)| {
                (
                    title.as_str(),
                    series
                        .iter()
                        .map(|(label, y)| Series { label, x: &t, y })
                        .collect(),
                )
            })
            .collect(),
        log_y: false,
    };
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../out");
    std::fs::create_dir_all(&out)?;
    write_svg(out.join("network.svg"), &figure, 900, 800)?;
    println!("wrote {}", out.join("network.svg").display());
    Ok(())
}
