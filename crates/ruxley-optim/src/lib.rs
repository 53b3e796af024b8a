//! Optimisation for Ruxley, independent of the simulator: everything here
//! works on any function that returns a value and a gradient.
//!
//! - [`transform`]: bijections onto parameter boxes (the paper's inverse
//!   sigmoid, logistic, softplus, affine, exp, chains) with log-Jacobians.
//! - [`optimizer`]: Polyak-style normalised gradient descent, SGD with
//!   momentum, Adam; learning-rate schedules; gradient clipping.
//! - [`minimize`]: the loop, with observers, stopping rules, and
//!   checkpoint/resume.
//! - [`lbfgs`]: L-BFGS with a backtracking line search.

#![warn(missing_docs)]

pub mod lbfgs;
pub mod minimize;
pub mod optimizer;
pub mod transform;

pub use lbfgs::{LbfgsOptions, lbfgs};
pub use minimize::{Objective, Observer, OptimError, Options, Progress, Report, Stop, minimize};
pub use optimizer::{Adam, LrSchedule, Optimizer, PolyakGd, Sgd, clip_norm};
pub use transform::{Bijection, TransformError, Transforms};
