//! The conformance suite every Ruxley backend must pass, with its reference
//! data, and the reference workloads and models the tests share.
//!
//! The workloads are those of `data/reference/anchors/WORKLOADS.md` (in this
//! crate), on which NEURON 9.0.2 and Jaxley 0.14.0 were run; their traces
//! and gradients are bundled here and found from the crate itself, so a
//! backend developed elsewhere can depend on this crate and run
//! [`conformance_tests!`] in its tests. Every comparison fails on NaN and
//! infinity; [`broken`] holds deliberately wrong backends that the suite
//! must reject.

#![warn(missing_docs)]

pub mod broken;
pub mod conformance;
pub mod fdcheck;
pub mod l5pc;
pub mod models;
pub mod reference;
pub mod table;
pub mod workloads;

#[doc(hidden)]
pub use ruxley_backend as __backend;
