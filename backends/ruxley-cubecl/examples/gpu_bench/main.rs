//! The GPU backend on a GPU machine: the conformance checks first, then
//! timings of the workloads of the GPU issue, as JSON (stdout and
//! `$OUT/gpu_bench.json` when OUT is set). Build here, run there:
//!
//! ```sh
//! CUDARC_CUDA_VERSION=13000 cargo build --release -p ruxley-cubecl --features cuda --example gpu_bench
//! RUXLEY_CONFORMANCE_DATA=crates/ruxley-conformance/data target/release/examples/gpu_bench
//! ```
//!
//! Without a CUDA device it prints an error and exits with status 2; if a
//! conformance check fails it still runs the timings, then exits with
//! status 1. Built
//! without `cuda` (`--features wgpu`) it runs on lavapipe, for trying it.

#[cfg(any(feature = "cuda", feature = "wgpu"))]
mod bench;

fn main() {
    #[cfg(any(feature = "cuda", feature = "wgpu"))]
    bench::main();
    #[cfg(not(any(feature = "cuda", feature = "wgpu")))]
    {
        eprintln!(
            "gpu_bench needs a runtime: build it with `--features cuda` or `--features wgpu`"
        );
        std::process::exit(2);
    }
}
