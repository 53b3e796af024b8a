//! The conformance suite on the wgpu runtime (in CI: Mesa's software
//! Vulkan, lavapipe, which has f64).

#![cfg(feature = "wgpu")]

use ruxley_cubecl::GpuBackend;

fn backend() -> GpuBackend<cubecl::wgpu::WgpuRuntime> {
    GpuBackend::wgpu(cubecl::wgpu::WgpuDevice::Cpu, true).expect("a Vulkan device (lavapipe in CI)")
}

ruxley_conformance::conformance_tests!(backend());
