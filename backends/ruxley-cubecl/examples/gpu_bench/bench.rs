//! The benchmark proper (built with a runtime feature).

use std::time::Instant;

use ruxley_backend::{Backend, Batch, RunOptions};
use ruxley_cell::{Layout, Parameters};
use ruxley_conformance::conformance;
use ruxley_core::Precision;
use ruxley_cubecl::GpuBackend;
use serde_json::{Map, Value, json};

#[cfg(feature = "cuda")]
type Gpu = GpuBackend<ruxley_cubecl::cubecl::cuda::CudaRuntime>;
#[cfg(not(feature = "cuda"))]
type Gpu = GpuBackend<ruxley_cubecl::cubecl::wgpu::WgpuRuntime>;

/// The backend: CUDA device 0, or (built without `cuda`) lavapipe, for
/// trying the script.
fn backend() -> Result<Gpu, ruxley_backend::SimError> {
    #[cfg(feature = "cuda")]
    {
        GpuBackend::cuda(0)
    }
    #[cfg(not(feature = "cuda"))]
    {
        GpuBackend::wgpu(ruxley_cubecl::cubecl::wgpu::WgpuDevice::Cpu)
    }
}

/// Median of `reps` timed runs (after one warm-up) of the kernels and of
/// the whole call with traces downloaded (when `download`).
fn time(
    gpu: &Gpu,
    layout: &Layout,
    params: &[Parameters],
    options: &RunOptions,
    reps: usize,
    download: bool,
) -> Result<(f64, f64), String> {
    let batch = Batch::params(params);
    gpu.run_on_device(layout, batch, options)
        .map_err(|e| e.to_string())?;
    let mut kernels = Vec::new();
    let mut whole = Vec::new();
    for _ in 0..reps {
        let t = gpu
            .run_on_device(layout, batch, options)
            .map_err(|e| e.to_string())?;
        kernels.push(t.kernels.as_secs_f64());
        if download {
            let start = Instant::now();
            let r = gpu
                .simulate(layout, batch, options)
                .map_err(|e| e.to_string())?;
            whole.push(start.elapsed().as_secs_f64());
            std::hint::black_box(r.len());
        }
    }
    let median = |mut x: Vec<f64>| {
        if x.is_empty() {
            return f64::NAN;
        }
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    Ok((median(kernels), median(whole)))
}

pub fn main() {
    // BENCH_SCALE divides the batch sizes (to try the script on lavapipe).
    let scale: usize = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut gpu = match backend() {
        Ok(g) => g,
        Err(e) => {
            println!("{}", json!({ "error": e.to_string() }));
            std::process::exit(2);
        }
    };
    // BENCH_LANES fixes the threads per member of the conformance checks
    // (else chosen by batch size).
    gpu.threads_per_member = std::env::var("BENCH_LANES")
        .ok()
        .and_then(|s| s.parse().ok());
    let mut json = Map::new();
    let mut put = |key: String, value: Value| {
        json.insert(key, value);
    };
    put("device".into(), json!(gpu.device()));
    put(
        "conformance_threads_per_member".into(),
        json!(gpu.threads_per_member),
    );
    // Whether every check ran and passed.
    let mut conforms = true;
    // Conformance first.
    let start = Instant::now();
    let mut checks = Vec::new();
    let guarded = |f: &dyn Fn() -> Result<Vec<conformance::Check>, String>| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err("panicked".into()))
    };
    for p in [Precision::F64, Precision::F32] {
        match guarded(&|| conformance::traces(&gpu, p)) {
            Ok(c) => checks.extend(c),
            Err(e) => {
                conforms = false;
                put(format!("traces_error_{p}"), json!(e));
            }
        }
        match guarded(&|| conformance::batches(&gpu, p)) {
            Ok(c) => checks.extend(c),
            Err(e) => {
                conforms = false;
                put(format!("batches_error_{p}"), json!(e));
            }
        }
    }
    let errors = guarded(&|| conformance::errors(&gpu).map(|()| Vec::new()));
    for c in &checks {
        eprintln!(
            "{}: {:.3e} (bar {:.0e}) {}",
            c.name,
            c.measured,
            c.tolerance,
            if c.passed() { "ok" } else { "FAILED" }
        );
    }
    conforms &= errors.is_ok() && checks.iter().all(|c| c.passed());
    // A measured NaN is written as null.
    let checks: Vec<Value> = checks
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "measured": c.measured,
                "bar": c.tolerance,
                "passed": c.passed(),
            })
        })
        .collect();
    put("checks".into(), json!(checks));
    put("errors_check".into(), json!(format!("{errors:?}")));
    put("conforms".into(), json!(conforms));
    put("conformance_s".into(), json!(start.elapsed().as_secs_f64()));
    // Timings.
    let w1 = ruxley_conformance::workloads::w1().expect("W1");
    let w2 = ruxley_conformance::workloads::w2().expect("W2");
    let w3 = ruxley_conformance::workloads::w3().expect("W3");
    let w6 = ruxley_conformance::workloads::w6().expect("W6");
    let l1 = w1.model.build().expect("W1");
    let l2 = w2.model.build().expect("W2");
    let l3 = w3.model.build().expect("W3");
    let l6 = w6.model.build().expect("W6");
    // Name, model, members, repetitions, download, threads per member
    // (`_thread`: one; `_cube`: a cube per member).
    type Case<'a> = (&'a str, &'a Layout, &'a RunOptions, usize, usize, bool, u32);
    // A cube per member as the backend chooses it for a small batch (not
    // the conformance checks' BENCH_LANES).
    let mut chooser = gpu.clone();
    chooser.threads_per_member = None;
    let cube = |layout: &Layout| chooser.lanes_for(1, layout);
    let cases: Vec<Case> = vec![
        ("w2_x100_cube", &l2, &w2.options, 100, 3, true, cube(&l2)),
        ("w2_x1000_cube", &l2, &w2.options, 1000, 3, true, cube(&l2)),
        ("w2_x3000_cube", &l2, &w2.options, 3000, 3, false, cube(&l2)),
        (
            "w2_x10000_cube",
            &l2,
            &w2.options,
            10_000,
            3,
            false,
            cube(&l2),
        ),
        ("w3_x1_cube", &l3, &w3.options, 1, 2, true, cube(&l3)),
        ("w6_x1_cube", &l6, &w6.options, 1, 3, true, cube(&l6)),
        ("w6_x100_cube", &l6, &w6.options, 100, 2, false, cube(&l6)),
        ("w6_x1000_cube", &l6, &w6.options, 1000, 2, false, cube(&l6)),
        ("w2_x100_thread", &l2, &w2.options, 100, 3, true, 1),
        ("w2_x1000_thread", &l2, &w2.options, 1000, 3, true, 1),
        ("w2_x3000_thread", &l2, &w2.options, 3000, 3, false, 1),
        ("w2_x10000_thread", &l2, &w2.options, 10_000, 3, true, 1),
        (
            "w1_x1000000_thread",
            &l1,
            &w1.options,
            1_000_000,
            3,
            false,
            1,
        ),
        ("w3_x1_thread", &l3, &w3.options, 1, 1, true, 1),
        ("w6_x1_thread", &l6, &w6.options, 1, 1, true, 1),
        ("w6_x100_thread", &l6, &w6.options, 100, 2, false, 1),
        ("w6_x1000_thread", &l6, &w6.options, 1000, 2, false, 1),
    ];
    // BENCH_ONLY (comma-separated) keeps the cases whose names contain one
    // of its parts.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for (name, layout, options, n, reps, download, lanes) in cases {
        if !only.split(',').any(|part| name.contains(part)) {
            continue;
        }
        let mut gpu = gpu.clone();
        gpu.threads_per_member = Some(lanes);
        let n = (n / scale).max(1);
        let params = ruxley_benches::gna_batch_params(layout, n);
        for p in [Precision::F64, Precision::F32] {
            let o = options.with_precision(p);
            let steps = o.grid().expect("grid").n_steps() as f64;
            let start = Instant::now();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                time(&gpu, layout, &params, &o, reps, download)
            }))
            .unwrap_or_else(|_| Err("panicked".into()));
            match result {
                Ok((k, whole)) => {
                    let ns = k * 1e9 / (layout.n_comps() as f64 * steps * n as f64);
                    eprintln!(
                        "{name} {p}: kernels {k:.4} s ({ns:.4} ns per comp-step per member), with traces {whole:.4} s"
                    );
                    put(
                        format!("{name}_{p}"),
                        json!({
                            "kernels_s": k,
                            "with_traces_s": whole,
                            "ns_per_comp_step_member": ns,
                            "wall_s": start.elapsed().as_secs_f64(),
                        }),
                    );
                }
                Err(e) => put(format!("{name}_{p}"), json!({ "error": e })),
            }
        }
    }
    let text = serde_json::to_string_pretty(&Value::Object(json)).expect("JSON");
    println!("{text}");
    if let Some(out) = std::env::var_os("OUT") {
        std::fs::write(std::path::Path::new(&out).join("gpu_bench.json"), &text)
            .expect("write results");
    }
    if !conforms {
        eprintln!("the conformance checks failed (see above)");
        std::process::exit(1);
    }
}
