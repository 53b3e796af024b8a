//! The GPU backend agrees with the CPU backend where the suite has no
//! reference data (`ruxley_conformance::models::agreement_cases`, both
//! schemes, both kernel shapes), on a batch with per-member stimuli, on
//! unstable runs and on cells too large for shared memory.

#![cfg(feature = "wgpu")]

use ruxley_backend::{Backend, Batch, RunOptions, Scheme, SimError};
use ruxley_cell::{Model, Waveform};
use ruxley_conformance::models::agreement_cases;
use ruxley_conformance::reference::max_abs_diff;
use ruxley_cpu::CpuBackend;
use ruxley_cubecl::GpuBackend;

type Gpu = GpuBackend<ruxley_cubecl::cubecl::wgpu::WgpuRuntime>;

fn gpu() -> Gpu {
    GpuBackend::wgpu(ruxley_cubecl::cubecl::wgpu::WgpuDevice::Cpu).expect("a Vulkan device")
}

/// The backend with one thread per member, and with a cube of 32 threads
/// per member (fewer than the rows: each thread takes several).
fn every_shape() -> [Gpu; 2] {
    [1, 32].map(|lanes| {
        let mut g = gpu();
        g.threads_per_member = Some(lanes);
        g
    })
}

#[test]
fn the_gpu_agrees_with_the_cpu_where_no_reference_exists() {
    let shapes = every_shape();
    for (name, model, t_max) in agreement_cases().unwrap() {
        let layout = model.build().unwrap();
        for scheme in [Scheme::BackwardEuler, Scheme::CrankNicolson] {
            let options = RunOptions::new(0.025, t_max).with_scheme(scheme);
            let a = CpuBackend::new()
                .simulate(&layout, Batch::single(), &options)
                .unwrap();
            let b = shapes[0]
                .simulate(&layout, Batch::single(), &options)
                .unwrap();
            assert_eq!(a[0].names(), b[0].names());
            let d = max_abs_diff(a[0].data(), b[0].data());
            println!("{name} {scheme:?}: {d:.2e}");
            assert!(d <= 1e-9, "{name} {scheme:?}: {d:e}");
            // A cube per member does the same arithmetic in the same order.
            for g in &shapes[1..] {
                let c = g.simulate(&layout, Batch::single(), &options).unwrap();
                let d = max_abs_diff(b[0].data(), c[0].data());
                assert!(
                    d == 0.0,
                    "{name} {scheme:?}, {:?}: {d:e}",
                    g.threads_per_member
                );
            }
        }
    }
}

#[test]
fn every_kernel_shape_reports_the_same_first_unstable_site() {
    // Two cells, uncoupled: two stimuli on one compartment of the second
    // drive it beyond any bound in step 7 while the first stays at rest,
    // so the first unstable node is not node 0.
    let cell = || {
        let mut m = Model::from_branches(&[None, Some(0), Some(0)], &[3, 2, 4]).unwrap();
        m.insert(ruxley_channels::Hh::new()).unwrap();
        m
    };
    let mut m = Model::network(vec![cell(), cell()]).unwrap();
    let mut series = vec![0.0; 40];
    series[7] = 1e306;
    for _ in 0..2 {
        m.cell(1)
            .branch(2)
            .comp(3)
            .stimulate(Waveform::Series(series.clone()))
            .unwrap();
    }
    m.cell(0).branch(0).comp(0).record("v").unwrap();
    let layout = m.build().unwrap();
    let options = RunOptions::new(0.025, 1.0);
    let site = |r: Result<Vec<ruxley_traces::Traces>, SimError>| match r {
        Err(SimError::Unstable {
            member, step, site, ..
        }) => (member, step, site),
        other => panic!("{other:?}"),
    };
    let want = site(CpuBackend::new().simulate(&layout, Batch::single(), &options));
    assert_eq!((want.1, want.2.0), (7, 1), "{want:?}");
    for g in every_shape() {
        let got = site(g.simulate(&layout, Batch::single(), &options));
        assert_eq!(got, want, "{:?}", g.threads_per_member);
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
    let cpu = CpuBackend::new()
        .simulate(&layout, batch, &w.options)
        .unwrap();
    for gpu in every_shape() {
        let all = gpu.simulate(&layout, batch, &w.options).unwrap();
        for k in 0..5 {
            let d = max_abs_diff(all[k].data(), cpu[k].data());
            assert!(d <= 1e-9, "member {k}, {:?}: {d:e}", gpu.threads_per_member);
        }
        assert!(max_abs_diff(all[0].data(), all[4].data()) > 1.0);
    }
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

#[test]
fn a_cell_too_large_for_shared_memory_is_solved_in_device_memory() {
    // Three branches of more compartments in all than a cube solves in
    // shared memory.
    let limit = gpu().shared_solve_nodes::<f64>();
    let per_branch = limit / 3 + 10;
    let mut m = Model::from_branches(&[None, Some(0), Some(0)], &[per_branch; 3]).unwrap();
    m.insert(ruxley_channels::Hh::new()).unwrap();
    m.branch(1)
        .comp(3)
        .stimulate(Waveform::step(0.1, 0.5, 2.0))
        .unwrap();
    m.branch(0).comp(0).record("v").unwrap();
    m.branch(2).comp(per_branch - 1).record("v").unwrap();
    let layout = m.build().unwrap();
    eprintln!(
        "shared memory holds {limit} nodes; the cell has {}",
        layout.n_nodes()
    );
    assert!(layout.n_nodes() > limit);
    let options = RunOptions::new(0.025, 1.0);
    let cpu = CpuBackend::new()
        .simulate(&layout, Batch::single(), &options)
        .unwrap();
    let [thread, cube] = every_shape();
    let a = thread.simulate(&layout, Batch::single(), &options).unwrap();
    let b = cube.simulate(&layout, Batch::single(), &options).unwrap();
    let d = max_abs_diff(cpu[0].data(), a[0].data());
    assert!(d <= 1e-9, "{d:e}");
    assert!(max_abs_diff(a[0].data(), b[0].data()) == 0.0);
    // The stimulus moved the voltage (the comparison is not of resting
    // traces).
    let v = a[0].trace(0);
    assert!(v.iter().cloned().fold(f64::MIN, f64::max) > v[0] + 1.0);
}

#[test]
fn an_impossible_cube_is_an_error() {
    let w = ruxley_conformance::workloads::w1().unwrap();
    let layout = w.model.build().unwrap();
    for lanes in [0, 1 << 20] {
        let mut g = gpu();
        g.threads_per_member = Some(lanes);
        let e = g
            .simulate(&layout, Batch::single(), &w.options)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("threads_per_member") && e.contains(&lanes.to_string()),
            "{e}"
        );
    }
}

#[test]
fn no_steps_per_launch_is_an_error() {
    let w = ruxley_conformance::workloads::w1().unwrap();
    let layout = w.model.build().unwrap();
    let mut g = gpu();
    g.steps_per_launch = 0;
    let e = g
        .simulate(&layout, Batch::single(), &w.options)
        .unwrap_err()
        .to_string();
    assert!(e.contains("steps_per_launch"), "{e}");
}
