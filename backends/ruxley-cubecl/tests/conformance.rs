//! The conformance suite on the wgpu runtime (in CI: Mesa's software
//! Vulkan, lavapipe, which has f64).

#![cfg(feature = "wgpu")]

use ruxley_cubecl::GpuBackend;

fn backend() -> GpuBackend<ruxley_cubecl::cubecl::wgpu::WgpuRuntime> {
    GpuBackend::wgpu(ruxley_cubecl::cubecl::wgpu::WgpuDevice::Cpu)
        .expect("a Vulkan device (lavapipe in CI)")
}

ruxley_conformance::conformance_tests!(backend());
