//! The largest Lyapunov exponent of a Hodgkin-Huxley compartment as a
//! function of a constant input current, and of a network of twenty of them
//! as a function of their inhibitory coupling, computed from forward-mode
//! tangents of the exact discrete dynamics (renormalised every millisecond).
//!
//! Run: `cargo run --release -p lyapunov` (writes `out/lyapunov.svg`).

use std::path::Path;

use ruxley::cpu::CpuBackend;
use ruxley::lyapunov::largest_exponent;
use ruxley::prelude::*;
use ruxley_plot::{Figure, Series, write_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut currents = Vec::new();
    let mut exponents = Vec::new();
    for k in 0..=15 {
        // ANCHOR: lyapunov
        let amplitude = 0.02 * k as f64; // nA
        let mut cell = Model::compartment();
        cell.set("length", 20.0)?;
        cell.set("radius", 10.0)?;
        cell.insert(Hh::new())?;
        cell.set("v", -65.0)?;
        cell.comp(0)
            .stimulate(Waveform::step(0.0, 3000.0, amplitude))?;
        let options = RunOptions::new(0.025, 3000.0);
        let lambda = largest_exponent(&CpuBackend::new(), &cell.build()?, &options, 500.0, 40)?;
        // ANCHOR_END: lyapunov
        println!("I = {amplitude:.2} nA: largest Lyapunov exponent {lambda:+.5} /ms");
        currents.push(amplitude);
        exponents.push(lambda);
    }
    // ANCHOR: network
    // Twenty HH cells driven at different rates, coupled by graded
    // inhibitory synapses of increasing strength.
    for gs in [0.0, 1e-2, 3e-2, 1e-1, 3e-1, 1.0] {
        let mut cell = Model::compartment();
        cell.set("length", 20.0)?;
        cell.set("radius", 10.0)?;
        let mut net = Model::network(vec![cell; 20])?;
        net.insert(Hh::new())?;
        net.set("v", -65.0)?;
        for k in 0..20 {
            net.cell(k)
                .comp(0)
                .stimulate(Waveform::step(0.0, 2000.0, 0.1 + 0.005 * k as f64))?;
        }
        net.sparse_connect("all", "all", ruxley::synapses::IonotropicSynapse, 0.2, 1)?;
        net.synapses().set("IonotropicSynapse_gS", gs)?;
        net.synapses().set("IonotropicSynapse_e_syn", -75.0)?;
        let options = RunOptions::new(0.025, 2000.0);
        let lambda = largest_exponent(&CpuBackend::new(), &net.build()?, &options, 500.0, 40)?;
        println!("network, gS = {gs:.0e} uS: largest Lyapunov exponent {lambda:+.5} /ms");
    }
    // ANCHOR_END: network
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../out");
    std::fs::create_dir_all(&out)?;
    let figure = Figure {
        title: "HH compartment: largest Lyapunov exponent",
        x_label: "input current (nA)",
        panels: vec![(
            "exponent (1/ms)",
            vec![Series {
                label: "lambda_max",
                x: &currents,
                y: &exponents,
            }],
        )],
        log_y: false,
    };
    write_svg(out.join("lyapunov.svg"), &figure, 800, 400)?;
    println!("wrote {}", out.join("lyapunov.svg").display());
    Ok(())
}
