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

mod dynamics;
mod ionotropic;
mod library;

pub use dynamics::{SynapseDynamics, kernels};
pub use library::{AlphaSynapse, ExpSynapse, GapJunction, IonotropicSynapse, TanhRateSynapse};

/// What a synapse kernel sees, one row per synapse.
#[derive(Debug, Clone, Copy)]
pub struct SynapseEnv<'a> {
    /// Presynaptic voltage (mV) at the start of the step.
    pub v_pre: &'a [f64],
    /// Postsynaptic voltage (mV) at the start of the step.
    pub v_post: &'a [f64],
    /// Presynaptic spikes arriving at the start of the step (spiking
    /// synapses; zeros otherwise).
    pub events: &'a [f64],
    /// Time step (ms).
    pub dt: f64,
}

/// Where a synapse VJP kernel adds the cotangents of its inputs.
#[derive(Debug)]
pub struct SynCot<'a> {
    /// Of the presynaptic voltage.
    pub v_pre: &'a mut [f64],
    /// Of the postsynaptic voltage.
    pub v_post: &'a mut [f64],
    /// Of the parameters.
    pub params: ColumnsMut<'a>,
}

/// A synapse type with structure-of-arrays kernels over all its synapses.
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

    /// Sets the initial states.
    fn init_states(&self, env: &SynapseEnv, params: Columns, states: ColumnsMut);

    /// Advances the states by one step.
    fn advance_states(&self, env: &SynapseEnv, params: Columns, states: ColumnsMut);

    /// The current `i` (nA, outward at the postsynaptic compartment) and
    /// its derivative in the postsynaptic voltage `di_dv` (uS).
    fn current(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        i: &mut [f64],
        di_dv: &mut [f64],
    );

    /// Reverse-mode derivative of [`Synapse::init_states`].
    fn init_states_vjp(&self, env: &SynapseEnv, params: Columns, cot_states: Columns, cot: SynCot);

    /// Reverse-mode derivative of [`Synapse::advance_states`]: `cot_states`
    /// holds the cotangent of the states after the step on entry and that of
    /// the states before it on return.
    fn advance_states_vjp(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_states: ColumnsMut,
        cot: SynCot,
    );

    /// Reverse-mode derivative of [`Synapse::current`].
    #[allow(clippy::too_many_arguments)]
    fn current_vjp(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        cot_states: ColumnsMut,
        cot: SynCot,
    );

    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Synapse>;
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
