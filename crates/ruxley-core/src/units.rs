//! The unit system (the same as NEURON's and Jaxley's).
//!
//! | quantity | unit |
//! |---|---|
//! | time | ms |
//! | voltage | mV |
//! | length, radius | um |
//! | area | um2 |
//! | channel conductance density | S/cm2 |
//! | channel current density | mA/cm2 |
//! | specific capacitance | uF/cm2 |
//! | axial resistivity | ohm cm |
//! | point current (stimulus, synapse) | nA |
//! | point conductance (synapse) | uS |
//! | concentration | mM |
//!
//! Internally the cable equation is assembled per compartment in absolute units
//! (uS, nA, mV), which keeps the tree matrix symmetric. The factors below convert
//! densities to absolute values.

/// um2 -> cm2.
pub const UM2_TO_CM2: f64 = 1e-8;

/// (S/cm2) x (um2) -> uS, and (mA/cm2) x (um2) -> nA.
///
/// 1 S/cm2 over 1 um2 is 1e-8 S = 1e-2 uS; 1 mA/cm2 over 1 um2 is 1e-8 mA = 1e-2 nA.
pub const DENSITY_TO_ABS: f64 = 1e-2;

/// (uF/cm2) x (um2) / (ms) -> uS.
///
/// 1 uF/cm2 over 1 um2 is 1e-8 uF = 1e-5 nF, and nF/ms = uS.
pub const CAPACITANCE_TO_ABS: f64 = 1e-5;

/// 1 / ((ohm cm) x (1/um)) -> uS: the conductance of a resistive load.
///
/// (ohm cm)/um = 1e4 ohm, so 1/(ra * load) S = 1e-4/(ra * load) S = 1e2/(ra * load) uS.
pub const AXIAL_TO_ABS: f64 = 1e2;
