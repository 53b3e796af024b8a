//! Importing channels from NEURON: `hh.mod` and the Hay et al. (2011)
//! M-current `Im.mod` read at run time, simulated next to the built-in HH,
//! and two of their conductances fitted by gradient descent.
//!
//! Run with `cargo run --release -p nmodl_import`; writes
//! `out/nmodl_import.svg`.

use std::path::{Path, PathBuf};

use ruxley::analysis::spike_times;
use ruxley::channels::Channel;
use ruxley::grad::value_and_grad;
use ruxley::optim::{Adam, Optimizer};
use ruxley::prelude::*;
use ruxley::{DefaultBackend, Nmodl, Schedule, TraceFit};

/// The .mod files shipped with ruxley-nmodl.
fn mechanisms() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/ruxley-nmodl/mechanisms")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ANCHOR: read
    let hh = Nmodl::from_file(mechanisms().join("hh.mod"))?;
    let im = Nmodl::from_file(mechanisms().join("Im.mod"))?;
    for m in [&hh, &im] {
        let params: Vec<String> = m
            .params()
            .iter()
            .map(|p| format!("{}_{} = {} {}", m.name(), p.name, p.default, p.unit))
            .collect();
        println!(
            "{}: {}; currents {}",
            m.name(),
            params.join(", "),
            m.currents().join(", ")
        );
    }
    // ANCHOR_END: read

    // ANCHOR: compare
    // One compartment, 0.1 nA for 100 ms, with hh.mod and with the built-in HH.
    let options = RunOptions::new(0.025, 120.0);
    let with_mod = ruxley::simulate(&soma(&[Box::new(hh.clone())], 0.1)?, &options)?;
    let builtin = ruxley::simulate(&soma(&[Box::new(Hh::new())], 0.1)?, &options)?;
    let (a, b) = (
        with_mod.get("v_soma_mV").expect("recorded"),
        builtin.get("v_soma_mV").expect("recorded"),
    );
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    println!(
        "hh.mod: {} spikes; the built-in HH: {}; largest difference {worst:.1e} mV",
        spike_times(a, options.dt, 0.0).len(),
        spike_times(b, options.dt, 0.0).len()
    );
    // ANCHOR_END: compare

    // ANCHOR: fit
    // hh.mod and Im.mod together; recover the leak hh_gl and Im_gImbar
    // from a subthreshold trace made with 3e-4 and 2e-3 S/cm2 (start: x2,
    // x0.5).
    let channels = || -> [Box<dyn Channel>; 2] { [Box::new(hh.clone()), Box::new(im.clone())] };
    let mut truth = soma(&channels(), 0.02)?;
    truth.set("Im_gImbar", 2e-3)?;
    let target = ruxley::simulate(&truth, &options)?;
    let loss = TraceFit::mse(vec![(
        "v_soma_mV".into(),
        target.get("v_soma_mV").expect("recorded").to_vec(),
    )]);
    let mut cell = soma(&channels(), 0.02)?;
    cell.make_trainable("hh_gl", Some(6e-4))?;
    cell.make_trainable("Im_gImbar", Some(1e-3))?;
    let layout = cell.build()?;
    let backend = DefaultBackend::new();
    let schedule = Schedule::sqrt(options.grid()?.n_steps());
    // Steps in log-conductance: both scales move alike.
    let mut u: Vec<f64> = layout
        .trainables()
        .initial()
        .iter()
        .map(|g| g.ln())
        .collect();
    let mut adam = Adam::new(0.05);
    let start = ruxley::grad::simulate(
        &backend,
        &layout,
        &[u.iter().map(|x| x.exp()).collect()],
        &options,
    )?;
    for step in 0..=200 {
        let g: Vec<f64> = u.iter().map(|x| x.exp()).collect();
        let r = value_and_grad(
            &backend,
            &layout,
            std::slice::from_ref(&g),
            &options,
            &loss,
            &schedule,
        )?;
        if step % 40 == 0 {
            println!(
                "step {step}: loss {:.3e}, gl {:.4e}, gImbar {:.4e}",
                r[0].loss, g[0], g[1]
            );
        }
        // The chain rule into log-conductances; the step size decays.
        let du: Vec<f64> = r[0].grad.iter().zip(&g).map(|(d, x)| d * x).collect();
        adam.step(&mut u, &du, r[0].loss, 1.0 / (1.0 + step as f64 / 40.0));
    }
    let fitted: Vec<f64> = u.iter().map(|x| x.exp()).collect();
    println!(
        "recovered hh_gl = {:.4e} (truth 3e-4), Im_gImbar = {:.4e} (truth 2e-3)",
        fitted[0], fitted[1]
    );
    // ANCHOR_END: fit

    let end = ruxley::grad::simulate(&backend, &layout, &[fitted], &options)?;
    std::fs::create_dir_all("out")?;
    ruxley_plot::write_traces_svg(
        "out/nmodl_import.svg",
        "hh.mod + Im.mod: fitting two conductances",
        &[("v (mV)", "v_soma_mV")],
        &[
            ("target", &target),
            ("start", &start[0]),
            ("fitted", &end[0]),
        ],
        900,
        400,
    )?;
    println!("wrote out/nmodl_import.svg");
    Ok(())
}

/// A compartment 20 um long, radius 10 um, with `channels`, v -65 mV, a
/// step of `amp` nA from 10 to 110 ms, and its voltage recorded.
fn soma(channels: &[Box<dyn Channel>], amp: f64) -> Result<Model, ruxley::ModelError> {
    let mut cell = Model::compartment();
    cell.set("length", 20.0)?;
    cell.set("radius", 10.0)?;
    for c in channels {
        cell.insert(c.clone())?;
    }
    cell.set("v", -65.0)?;
    cell.comp(0).stimulate(Waveform::step(10.0, 100.0, amp))?;
    cell.comp(0).record_as("v", "soma")?;
    Ok(cell)
}
