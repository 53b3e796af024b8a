//! The mechanism kernels a CPU simulation runs: a mechanism's native ones
//! (f64, hand-tuned or generic SIMD code) where it has them and the backend
//! allows them, otherwise those compiled from its graphs.

use std::ops::Deref;

use ruxley_channels::{Channel, ChannelKernels, CompiledChannel};
use ruxley_core::Float;
use ruxley_synapses::{CompiledSynapse, Synapse, SynapseKernels};

/// Which kernels the CPU backend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelSource {
    /// Native kernels where a mechanism has them (f64 only), compiled
    /// graphs otherwise.
    #[default]
    Native,
    /// Always the compiled graphs: what a backend that only reads the
    /// descriptions computes.
    Compiled,
}

/// A float type the CPU backend runs in; knows which native kernels exist
/// in it.
pub trait CpuFloat: Float {
    /// A channel's native kernels in this precision.
    fn native_channel(ch: &dyn Channel) -> Option<&dyn ChannelKernels<Self>>;
    /// A synapse type's native kernels in this precision.
    fn native_synapse(s: &dyn Synapse) -> Option<&dyn SynapseKernels<Self>>;
}

impl CpuFloat for f64 {
    fn native_channel(ch: &dyn Channel) -> Option<&dyn ChannelKernels<f64>> {
        ch.native()
    }
    fn native_synapse(s: &dyn Synapse) -> Option<&dyn SynapseKernels<f64>> {
        s.native()
    }
}

impl CpuFloat for f32 {
    fn native_channel(_: &dyn Channel) -> Option<&dyn ChannelKernels<f32>> {
        None
    }
    fn native_synapse(_: &dyn Synapse) -> Option<&dyn SynapseKernels<f32>> {
        None
    }
}

/// Borrowed native kernels or owned compiled ones.
pub(crate) enum Kernel<'a, N: ?Sized, C> {
    Native(&'a N),
    Compiled(C),
}

/// A channel's kernels.
pub(crate) type ChannelKernel<'a, F> = Kernel<'a, dyn ChannelKernels<F> + 'a, CompiledChannel<F>>;
/// A synapse type's kernels.
pub(crate) type SynapseKernel<'a, F> = Kernel<'a, dyn SynapseKernels<F> + 'a, CompiledSynapse<F>>;

impl<'a, F: Float> Deref for ChannelKernel<'a, F> {
    type Target = dyn ChannelKernels<F> + 'a;
    fn deref(&self) -> &Self::Target {
        match self {
            Kernel::Native(k) => *k,
            Kernel::Compiled(c) => c,
        }
    }
}

impl<'a, F: Float> Deref for SynapseKernel<'a, F> {
    type Target = dyn SynapseKernels<F> + 'a;
    fn deref(&self) -> &Self::Target {
        match self {
            Kernel::Native(k) => *k,
            Kernel::Compiled(c) => c,
        }
    }
}

/// The kernels of channel `ch` for step `dt` at `celsius`.
pub(crate) fn channel<'a, F: CpuFloat>(
    ch: &'a dyn Channel,
    source: KernelSource,
    dt: f64,
    celsius: f64,
) -> ChannelKernel<'a, F> {
    match (source, F::native_channel(ch)) {
        (KernelSource::Native, Some(k)) => Kernel::Native(k),
        _ => Kernel::Compiled(CompiledChannel::new(&ch.ir(dt, celsius))),
    }
}

/// The kernels of synapse type `s` for step `dt`.
pub(crate) fn synapse<'a, F: CpuFloat>(
    s: &'a dyn Synapse,
    source: KernelSource,
    dt: f64,
) -> SynapseKernel<'a, F> {
    match (source, F::native_synapse(s)) {
        (KernelSource::Native, Some(k)) => Kernel::Native(k),
        _ => Kernel::Compiled(CompiledSynapse::new(&s.ir(dt))),
    }
}
