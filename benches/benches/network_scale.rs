//! Large networks, timed directly (median of 3; each run takes seconds):
//! building a 2,000-cell CA1 network with 1,000,000 synapses, and a
//! 200-cell CA1 network (ncomp 2, 20,000 synapses, 100 ms) forward and
//! gradient with respect to every gS, with the tape's peak memory under
//! two checkpoint schedules.

use std::time::Instant;

use ruxley::cpu::CpuBackend;
use ruxley::prelude::*;
use ruxley::synapses::IonotropicSynapse;
use ruxley::{Backend, Batch, Schedule};
use ruxley_benches::gs_fit;
use ruxley_conformance::workloads::w3_swc;

/// 200 CA1 cells (ncomp 2, HH), 20,000 synapses between their somata, the
/// first 20 cells driven; cell 0 recorded.
fn ca1_network() -> Model {
    let mut cell = Model::from_swc_file(w3_swc(), &SwcImport::new(2)).expect("CA1");
    cell.insert(Hh::new()).expect("HH");
    cell.set("axial_resistivity", 100.0).expect("ra");
    cell.set("v", -65.0).expect("v");
    let mut net = Model::network(vec![cell; 200]).expect("network");
    net.sparse_connect(
        "all",
        "all",
        IonotropicSynapse,
        20_000.0 / (200.0 * 199.0),
        7,
    )
    .expect("connects");
    net.synapses()
        .set("IonotropicSynapse_gS", 2e-3)
        .expect("synapses");
    for i in 0..20 {
        net.cell(i)
            .comp(0)
            .stimulate(Waveform::step(1.0, 98.0, 1.0))
            .expect("stimulus");
    }
    net.cell(0).comp(0).record_as("v", "cell0").expect("record");
    net
}

fn median_seconds(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[1]
}

fn main() {
    let cpu = CpuBackend::sequential();
    // Building a 2,000-cell CA1 network with about a million synapses.
    let seconds = median_seconds(|| {
        let mut cell = Model::from_swc_file(w3_swc(), &SwcImport::new(1)).expect("CA1");
        cell.insert(Hh::new()).expect("HH");
        let mut net = Model::network(vec![cell; 2000]).expect("network");
        net.sparse_connect("all", "all", IonotropicSynapse, 0.25, 1)
            .expect("connects");
        net.synapses()
            .edge("all")
            .make_trainable("IonotropicSynapse_gS", None)
            .expect("trainable");
        let layout = net.build().expect("builds");
        assert!(layout.trainables().len() > 990_000);
    });
    println!(
        "network/build_2000_ca1_1m_synapses: median {seconds:.2} s (read, copy, connect, make every gS trainable, lower)"
    );

    // The 200-cell CA1 network.
    let net = ca1_network();
    let options = RunOptions::new(0.025, 100.0);
    let layout = net.build().expect("builds");
    let forward = median_seconds(|| {
        cpu.simulate(&layout, Batch::single(), &options)
            .expect("runs");
    });
    println!(
        "network/ca1_200_forward: {} compartments, {} synapses, 4000 steps: median {forward:.2} s",
        layout.n_comps(),
        net.n_synapses()
    );
    let fit = gs_fit(net, &options);
    for (label, schedule) in [
        ("nested_sqrt", Schedule::sqrt(4000)),
        ("nested_3x16", Schedule::Nested(vec![16, 16, 16])),
    ] {
        let mut peak = 0.0;
        let grad = median_seconds(|| {
            peak = fit.gradient(&schedule).tape.peak_bytes as f64 / 1e6;
        });
        println!(
            "network/ca1_200_grad_{label}: {} trainables: median {grad:.2} s ({:.1}x forward), peak tape {peak:.0} MB",
            fit.theta.len(),
            grad / forward
        );
    }
}
