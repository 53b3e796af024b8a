//! The GPU backend agrees with the CPU backend where the suite has no
//! reference data: spike-driven synapses with delays, gap junctions,
//! voltage-setting neurons, clamps, recorded currents and ion quantities,
//! both schemes, a batch with per-member stimuli.

#![cfg(feature = "wgpu")]

use ruxley_backend::{Backend, Batch, RunOptions, Scheme};
use ruxley_cell::{Model, Waveform};
use ruxley_channels::spiking::{Fire, Izhikevich};
use ruxley_conformance::models::{spiking_cell, synapse_network};
use ruxley_conformance::reference::max_abs_diff;
use ruxley_cpu::CpuBackend;
use ruxley_cubecl::GpuBackend;

fn gpu() -> GpuBackend<ruxley_cubecl::cubecl::wgpu::WgpuRuntime> {
    GpuBackend::wgpu(ruxley_cubecl::cubecl::wgpu::WgpuDevice::Cpu).expect("a Vulkan device")
}

fn clamped_cell() -> Model {
    let mut m = Model::from_branches(&[None, Some(0), Some(0), Some(1)], &[2, 3, 2, 2]).unwrap();
    m.insert(ruxley_channels::Hh::new()).unwrap();
    m.set("axial_resistivity", 120.0).unwrap();
    m.branch(1)
        .loc(1.0)
        .clamp(Waveform::step(1.0, 2.5, -20.0))
        .unwrap();
    m.branch(0).comp(0).record("v").unwrap();
    m.branch(3).comp(1).record("v").unwrap();
    m.branch(0).comp(0).record("HH_m").unwrap();
    m.branch(0).comp(0).record("i_HH").unwrap();
    m
}

#[test]
fn the_gpu_agrees_with_the_cpu_where_no_reference_exists() {
    let mut net = synapse_network().unwrap();
    net.synapse_type("ExpSynapse")
        .record("ExpSynapse_g")
        .unwrap();
    let mut calcium = ruxley_conformance::l5pc::calcium_cell(false).unwrap();
    for what in ["cai", "eca", "ica"] {
        calcium.comp(0).record(what).unwrap();
    }
    let cases = [
        ("synapse network", net, 10.0),
        (
            "LIF",
            spiking_cell(Box::new(Fire::new()), true, 0.3).unwrap(),
            30.0,
        ),
        (
            "Izhikevich",
            spiking_cell(Box::new(Izhikevich::new()), false, 0.125).unwrap(),
            30.0,
        ),
        ("clamped cell", clamped_cell(), 5.0),
        ("calcium cell", calcium, 10.0),
    ];
    let gpu = gpu();
    for (name, model, t_max) in cases {
        let layout = model.build().unwrap();
        for scheme in [Scheme::BackwardEuler, Scheme::CrankNicolson] {
            let options = RunOptions::new(0.025, t_max).with_scheme(scheme);
            let a = CpuBackend::new()
                .simulate(&layout, Batch::single(), &options)
                .unwrap();
            let b = gpu.simulate(&layout, Batch::single(), &options).unwrap();
            assert_eq!(a[0].names(), b[0].names());
            let d = max_abs_diff(a[0].data(), b[0].data());
            println!("{name} {scheme:?}: {d:.2e}");
            assert!(d <= 1e-9, "{name} {scheme:?}: {d:e}");
        }
    }
}

#[test]
fn members_with_their_own_stimuli_run_as_alone() {
    let w = ruxley_conformance::workloads::w1().unwrap();
    let layout = w.model.build().unwrap();
    let stimuli: Vec<_> = (0..5)
        .map(|k| {
            let mut s = layout.stimuli().to_vec();
            s[0].current = Waveform::step(1.0, 10.0, 0.05 * k as f64);
            s
        })
        .collect();
    let batch = Batch {
        params: &[],
        stimuli: &stimuli,
    };
    let gpu = gpu();
    let all = gpu.simulate(&layout, batch, &w.options).unwrap();
    let cpu = CpuBackend::new()
        .simulate(&layout, batch, &w.options)
        .unwrap();
    for k in 0..5 {
        let d = max_abs_diff(all[k].data(), cpu[k].data());
        assert!(d <= 1e-9, "member {k}: {d:e}");
    }
    assert!(max_abs_diff(all[0].data(), all[4].data()) > 1.0);
}

#[test]
fn a_batch_larger_than_a_device_buffer_is_refused_before_it_runs() {
    let w = ruxley_conformance::workloads::w1().unwrap();
    let layout = w.model.build().unwrap();
    let gpu = gpu();
    let per_member = 8 * w.options.grid().unwrap().n_samples() as u64;
    let members = (gpu.max_buffer_bytes() / per_member + 1) as usize;
    eprintln!(
        "largest buffer {} MB: {members} members",
        gpu.max_buffer_bytes() / 1_000_000
    );
    let params = vec![layout.parameters().clone(); members];
    let e = gpu
        .simulate(&layout, Batch::params(&params), &w.options)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("recordings") && e.contains(&format!("{members} members")),
        "{e}"
    );
}
