//! Ion channels for Ruxley.
//!
//! A [`Channel`] is a membrane mechanism inserted on a set of compartments. It
//! owns named parameters and states ([`ParamSpec`], [`StateSpec`]) and
//! provides kernels over all of its compartments at once, in
//! structure-of-arrays form: one contiguous column per parameter and per
//! state. The kernels are the three phases of NEURON's and Jaxley's time
//! step: steady-state initialisation, the state update (exponential Euler for
//! gates, at the voltage of the start of the step), and the membrane current
//! together with its exact derivative in v (the cable solve treats the current
//! as linear in v over one step).
//!
//! The library: [`Hh`] (Hodgkin-Huxley as NEURON's `hh`) and [`Leak`].

#![warn(missing_docs)]

mod channel;
pub mod compiled;

pub mod gated;
pub mod gradcheck;
mod hh;
pub mod ion;
pub mod ir;
pub mod l5pc;
mod leak;
pub mod math;
pub mod modified;
pub mod pospischil;
pub mod spiking;

pub use channel::{
    Channel, ChannelEnv, ChannelKernels, Columns, ColumnsMut, Cot, IntoChannel, ParamSpec,
    StateSpec,
};
pub use compiled::CompiledChannel;
pub use gated::{Gate, GateKinetics};
pub use hh::Hh;
pub use ion::{CALCIUM, Ion, IonSite, IonVar, POTASSIUM, SODIUM};
pub use ir::ChannelIr;
pub use leak::Leak;
pub use ruxley_core::real::{self as dual, Dual, LANES, Lanes, MultiDual, Real, Rows};

/// Every channel of the library, by its standard name.
pub fn library() -> Vec<Box<dyn Channel>> {
    let mut all: Vec<Box<dyn Channel>> = vec![Box::new(Hh::new()), Box::new(Leak::new())];
    all.extend(l5pc::all());
    all.extend(pospischil::all());
    all.push(Box::new(spiking::Fire::new()));
    all.push(Box::new(spiking::Izhikevich::new()));
    all
}

/// The library channel with standard name `name` (as used in model files).
pub fn by_name(name: &str) -> Option<Box<dyn Channel>> {
    library().into_iter().find(|c| c.name() == name)
}
