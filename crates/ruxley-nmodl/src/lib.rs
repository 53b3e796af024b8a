//! NEURON's NMODL channel files (`.mod`) as Ruxley mechanisms.
//!
//! [`Nmodl::from_file`] reads a density mechanism (`SUFFIX`), checks it and
//! turns it into a [`ruxley_channels::Channel`] like any built-in one: its
//! RANGE PARAMETERs are parameters (settable and trainable), its STATEs
//! states, both named `<SUFFIX>_<name>`; it reads reversal potentials and
//! concentrations through the model's ions and its current is summed like a
//! built-in channel's. A mechanism that writes a concentration which is its
//! own STATE (`USEION ca READ ica WRITE cai`) is a pool.
//!
//! The math becomes expression graphs ([`ruxley_channels::ChannelIr`]) when
//! the backend asks for them (once per step size and temperature); backends
//! compile those, and derive the gradient kernels from them exactly. Nothing
//! is interpreted in the time loop.
//!
//! Semantics follow NEURON's: INITIAL sets the states (from 0, or `x0` where
//! a PARAMETER `x0` exists); each step the SOLVEd DERIVATIVE block advances
//! the states (cnexp: the exact exponential step of an equation linear in
//! its state; derivimplicit: the backward Euler step, by Newton's method;
//! euler) or KINETIC scheme (sparse: the backward Euler step of its
//! reactions, CONSERVE replacing an equation; STEADYSTATE sparse in
//! INITIAL); BREAKPOINT's statements give the currents, which the voltage
//! solve linearises with NEURON's slope (i(v + 0.001) - i(v)) / 0.001.
//! Not supported (and refused with an error naming the place): POINT_PROCESS,
//! other block kinds than those above, VERBATIM, NET_RECEIVE,
//! arrays, loops, `t`, `area` and `diam`, reading outside concentrations,
//! and ASSIGNED values kept from one phase to the next (a BREAKPOINT that
//! reads what only the DERIVATIVE block set).

#![warn(missing_docs)]

pub mod ast;
mod error;
mod eval;
mod kinetic;
mod mechanism;
mod parse;
mod tangent;
mod value;

pub use error::NmodlError;
pub use eval::Method;
pub use mechanism::Nmodl;

/// Parses NMODL source into its syntax tree without checking it (the fuzz
/// target's entry point); errors name the byte offset and what was expected.
pub fn parse(source: &str) -> Result<ast::Module, SyntaxError> {
    parse::module(source)
}

pub use parse::SyntaxError;

#[cfg(test)]
mod tests;
