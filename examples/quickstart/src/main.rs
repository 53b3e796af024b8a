//! Quickstart: build a CA1 pyramidal cell from its SWC reconstruction, insert
//! Hodgkin-Huxley channels, inject a step current into the soma, print the
//! spike times and plot the somatic and a dendritic voltage.
//!
//! Run: `cargo run --release -p quickstart` (writes `out/quickstart.svg`).

use std::path::Path;
use std::time::Instant;

use ruxley::analysis::spike_times;
use ruxley::prelude::*;
use ruxley_plot::{Figure, Series, write_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // ANCHOR: build
    let swc =
        root.join("data/morphologies/jaxley/tests_swc_files/morph_ca1_n120_single_point_soma.swc");
    let start = Instant::now();
    let mut cell = Model::from_swc_file(&swc, &SwcImport::new(8))?;
    cell.insert(Hh::new())?;
    cell.set("axial_resistivity", 100.0)?;
    cell.set("v", -65.0)?;
    cell.branch(0)
        .comp(0)
        .stimulate(Waveform::step(1.0, 95.0, 1.0))?;
    cell.branch(0).comp(0).record_as("v", "soma")?;
    cell.branch(60).comp(4).record_as("v", "dendrite")?;
    // ANCHOR_END: build
    println!(
        "read {} branches, {} compartments from {} in {:.1} ms",
        cell.n_branches(),
        cell.n_comps(),
        swc.file_name().unwrap_or_default().to_string_lossy(),
        start.elapsed().as_secs_f64() * 1e3
    );

    // ANCHOR: simulate
    let options = RunOptions::new(0.025, 100.0);
    let start = Instant::now();
    let traces = ruxley::simulate(&cell, &options)?;
    let soma = traces.get("v_soma_mV").expect("recorded");
    let spikes = spike_times(soma, options.dt, 0.0);
    // ANCHOR_END: simulate
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "simulated {} ms ({} steps) in {:.0} ms: {:.1} ns per compartment-step",
        options.t_max,
        traces.n_samples() - 1,
        elapsed * 1e3,
        elapsed * 1e9 / (cell.n_comps() * (traces.n_samples() - 1)) as f64
    );
    let list: Vec<String> = spikes.iter().map(|t| format!("{t:.2}")).collect();
    println!(
        "{} somatic spikes at t = [{}] ms",
        spikes.len(),
        list.join(", ")
    );

    // ANCHOR: plot
    let out = root.join("out");
    std::fs::create_dir_all(&out)?;
    let t = traces.times();
    let figure = Figure {
        title: "CA1 cell n120, HH, 1 nA step into the soma",
        x_label: "time (ms)",
        panels: vec![(
            "voltage (mV)",
            vec![
                Series {
                    label: "soma",
                    x: &t,
                    y: soma,
                },
                Series {
                    label: "dendrite (branch 60)",
                    x: &t,
                    y: traces.get("v_dendrite_mV").expect("recorded"),
                },
            ],
        )],
    };
    write_svg(out.join("quickstart.svg"), &figure, 900, 450)?;
    // ANCHOR_END: plot
    println!("wrote {}", out.join("quickstart.svg").display());
    Ok(())
}
