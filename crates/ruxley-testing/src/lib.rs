//! Reference workloads, reference data and the backend conformance suite.
//!
//! The workloads are those of `data/reference/anchors/WORKLOADS.md`, on which
//! NEURON 9.0.2 and Jaxley 0.14.0 were run; their traces are in
//! `data/reference/anchors/traces`. Every backend must reproduce the NEURON
//! backward-Euler and Crank-Nicolson traces to 1e-6 mV
//! ([`conformance::check_anchor_traces`]).

#![warn(missing_docs)]

pub mod conformance;
pub mod fdcheck;
pub mod l5pc;
pub mod models;
pub mod reference;
pub mod workloads;
