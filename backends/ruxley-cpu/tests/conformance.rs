//! The conformance suite on the CPU backend: with native kernels (f64 and
//! f32; f32 always runs compiled kernels), and with every mechanism's
//! kernels compiled from its graphs, as a backend that reads only the
//! descriptions computes them.

mod native {
    ruxley_conformance::conformance_tests!(ruxley_cpu::CpuBackend::new());
}

mod compiled {
    ruxley_conformance::conformance_tests!(
        ruxley_cpu::CpuBackend::new().with_kernels(ruxley_cpu::KernelSource::Compiled)
    );
}
