//! Shared foundations of Ruxley: the unit system, the fixed time grid, and the
//! parallelism knob. Every other crate depends on this one and on nothing else
//! from the workspace that it does not need.

#![warn(missing_docs)]

pub mod linalg;
pub mod simd;
pub mod time;
pub mod units;

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
