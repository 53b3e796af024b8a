//! Hamiltonian Monte Carlo, independent of the simulator: it samples any
//! [`LogDensity`] (a log-density and its gradient).
//!
//! - [`Hmc`] (static leapfrog trajectories) and [`Nuts`] (multinomial NUTS
//!   with the generalised no-U-turn criterion), on a diagonal or dense
//!   [`Metric`];
//! - [`sample_chain`] / [`sample_chains`]: warm-up by dual averaging of the
//!   step size and Stan's windowed metric estimation, then sampling; chains
//!   run in parallel, each seeded for reproducibility;
//! - [`diagnostics`]: rank-normalised split R-hat, bulk ESS;
//! - [`Transformed`]: sampling bounded parameters in the unbounded space of
//!   a transform, with its log-Jacobian;
//! - [`targets`]: test targets with known moments.

#![warn(missing_docs)]

mod adapt;
pub mod diagnostics;
mod kernel;
mod metric;
pub mod targets;
mod transformed;

pub use adapt::{
    Chain, Kernel, SampleError, Settings, sample_chain, sample_chains, sample_chains_with_progress,
    sample_these_chains,
};
pub use kernel::{Hmc, Info, LogDensity, MAX_ENERGY_ERROR, Nuts, State};
pub use metric::{Metric, cholesky};
pub use transformed::Transformed;
