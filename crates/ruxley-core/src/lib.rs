//! Shared foundations of Ruxley: the unit system, the fixed time grid, the
//! number types kernels are written over ([`Real`]) and run in ([`Float`]),
//! and the parallelism knob. Every other crate depends on this one and on nothing else
//! from the workspace that it does not need.

#![warn(missing_docs)]

pub mod float;
pub mod linalg;
pub mod real;
pub mod simd;
pub mod time;
pub mod units;

pub use float::{Float, Precision};
pub use real::{Dual, LANES, Lanes, MultiDual, Real, Rows};
pub use time::{TimeGrid, TimeGridError};

/// How much parallelism a batched computation may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Par {
    /// One thread.
    Seq,
    /// Rayon's global pool (all cores).
    #[default]
    Rayon,
}
