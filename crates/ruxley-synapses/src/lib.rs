//! Synapses for Ruxley.
//!
//! A [`Synapse`] couples a presynaptic compartment to a postsynaptic one: it
//! has per-synapse parameters and states and injects a point current (nA,
//! outward positive, like a membrane current) into the postsynaptic
//! compartment. Conductances are in uS. Graded synapses read the
//! presynaptic voltage; spike-driven ones ([`Synapse::spiking`]) receive the
//! presynaptic compartment's spikes (upward crossings of a threshold) after
//! a transmission delay. In each step the states advance at the voltages of
//! the start of the step, then the current is taken as linear in the
//! postsynaptic voltage over the step (the presynaptic one is held).
//!
//! Most synapses are easiest written as [`SynapseDynamics`], which derives
//! every kernel and derivative with dual numbers; the library:
//! [`IonotropicSynapse`] and [`TanhRateSynapse`] (as Jaxley's),
//! [`GapJunction`], [`ExpSynapse`] and [`AlphaSynapse`] (spike-driven).

#![warn(missing_docs)]

use std::fmt;

pub use ruxley_channels::{Columns, ColumnsMut, Dual, ParamSpec, Real, StateSpec};
use ruxley_core::Float;

mod compiled;
mod dynamics;
mod ionotropic;
mod ir;
mod library;

pub use compiled::CompiledSynapse;
pub use dynamics::{SynapseDynamics, kernels};
pub use ir::SynapseIr;
pub use library::{AlphaSynapse, ExpSynapse, GapJunction, IonotropicSynapse, TanhRateSynapse};

/// What a synapse kernel sees, one row per synapse.
#[derive(Debug)]
pub struct SynapseEnv<'a, F = f64> {
    /// Presynaptic voltage (mV) at the start of the step.
    pub v_pre: &'a [F],
    /// Postsynaptic voltage (mV) at the start of the step.
    pub v_post: &'a [F],
    /// Presynaptic spikes arriving at the start of the step (spiking
    /// synapses; zeros otherwise).
    pub events: &'a [F],
    /// Time step (ms).
    pub dt: f64,
}

impl<F> Clone for SynapseEnv<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for SynapseEnv<'_, F> {}

/// Where a synapse VJP kernel adds the cotangents of its inputs.
#[derive(Debug)]
pub struct SynCot<'a, F = f64> {
    /// Of the presynaptic voltage.
    pub v_pre: &'a mut [F],
    /// Of the postsynaptic voltage.
    pub v_post: &'a mut [F],
    /// Of the parameters.
    pub params: ColumnsMut<'a, F>,
}

/// A synapse type, described: names, parameters, states, and its math
/// ([`Synapse::ir`]) from which every backend derives its kernels.
/// [`SynapseDynamics`] derives all of it from an update written once.
pub trait Synapse: Send + Sync + fmt::Debug {
    /// The name, also the prefix of its parameters and states.
    fn name(&self) -> &str;

    /// The parameters, in column order.
    fn params(&self) -> &[ParamSpec];

    /// The states, in column order.
    fn states(&self) -> &[StateSpec];

    /// True if presynaptic spikes drive the synapse.
    fn spiking(&self) -> bool {
        false
    }

    /// The math as expression graphs for step `dt` (ms).
    fn ir(&self, dt: f64) -> SynapseIr;

    /// Kernels compiled natively for the CPU in f64, if the synapse has
    /// them; a backend without them derives kernels from [`Synapse::ir`].
    fn native(&self) -> Option<&dyn SynapseKernels<f64>> {
        None
    }

    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Synapse>;
}

/// A synapse type's kernels over all its synapses (one row each), in
/// precision `F`.
pub trait SynapseKernels<F: Float> {
    /// Sets the initial states.
    fn init_states(&self, env: &SynapseEnv<F>, params: Columns<F>, states: ColumnsMut<F>);

    /// Advances the states by one step.
    fn advance_states(&self, env: &SynapseEnv<F>, params: Columns<F>, states: ColumnsMut<F>);

    /// The current `i` (nA, outward at the postsynaptic compartment) and
    /// its derivative in the postsynaptic voltage `di_dv` (uS).
    fn current(
        &self,
        env: &SynapseEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        i: &mut [F],
        di_dv: &mut [F],
    );

    /// Reverse-mode derivative of [`SynapseKernels::init_states`].
    fn init_states_vjp(
        &self,
        env: &SynapseEnv<F>,
        params: Columns<F>,
        cot_states: Columns<F>,
        cot: SynCot<F>,
    );

    /// Reverse-mode derivative of [`SynapseKernels::advance_states`]:
    /// `cot_states` holds the cotangent of the states after the step on
    /// entry and that of the states before it on return.
    fn advance_states_vjp(
        &self,
        env: &SynapseEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        cot_states: ColumnsMut<F>,
        cot: SynCot<F>,
    );

    /// Reverse-mode derivative of [`SynapseKernels::current`].
    #[allow(clippy::too_many_arguments)]
    fn current_vjp(
        &self,
        env: &SynapseEnv<F>,
        params: Columns<F>,
        states: Columns<F>,
        cot_i: &[F],
        cot_di_dv: &[F],
        cot_states: ColumnsMut<F>,
        cot: SynCot<F>,
    );
}

impl Clone for Box<dyn Synapse> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Every synapse of the library, by its standard name.
pub fn library() -> Vec<Box<dyn Synapse>> {
    vec![
        Box::new(IonotropicSynapse),
        Box::new(TanhRateSynapse),
        Box::new(GapJunction),
        Box::new(ExpSynapse),
        Box::new(AlphaSynapse),
    ]
}

/// The library synapse named `name`.
pub fn by_name(name: &str) -> Option<Box<dyn Synapse>> {
    library().into_iter().find(|s| s.name() == name)
}

/// A synapse type given by value or already boxed: what a model's
/// connection methods take, so that one method serves both.
pub trait IntoSynapse {
    /// The boxed synapse type.
    fn into_synapse(self) -> Box<dyn Synapse>;
}

impl<S: Synapse + 'static> IntoSynapse for S {
    fn into_synapse(self) -> Box<dyn Synapse> {
        Box::new(self)
    }
}

impl IntoSynapse for Box<dyn Synapse> {
    fn into_synapse(self) -> Box<dyn Synapse> {
        self
    }
}
