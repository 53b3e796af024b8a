//! Optimisation for Ruxley, independent of the simulator: everything here
//! works on any function that returns a value and a gradient.
//!
//! - [`transform`]: bijections onto parameter boxes (the paper's inverse
//!   sigmoid, logistic, softplus, affine, exp, chains) with log-Jacobians.
//! - [`optimizer`]: Polyak-style normalised gradient descent, SGD with
//!   momentum, Adam; learning-rate schedules; gradient clipping.
//! - [`minimize()`]: the loop, with observers, stopping rules, and
//!   checkpoint/resume.
//! - [`lbfgs()`]: L-BFGS with a backtracking line search.
//! - [`cmaes()`]: CMA-ES, a gradient-free baseline.
//! - [`ibea()`]: IBEA, the genetic algorithm BluePyOpt fits neuron models with.
//! - [`restarts()`]: many runs from seeded starting points, in parallel.

#![warn(missing_docs)]

pub mod cmaes;
pub mod ibea;
pub mod lbfgs;
pub mod minimize;
pub mod optimizer;
pub mod restarts;
pub mod transform;

pub use cmaes::{CmaesOptions, cmaes};
pub use ibea::{Evaluate, IbeaOptions, ibea};
pub use lbfgs::{LbfgsOptions, lbfgs};
pub use minimize::{
    Objective, ObjectiveError, Observer, OptimError, Options, Progress, Report, Stop, minimize,
};
pub use optimizer::{Adam, LrSchedule, Optimizer, PolyakGd, Sgd, clip_norm};
pub use restarts::{best_first, restarts, run_starts, uniform_starts};
pub use transform::{Bijection, TransformError, Transforms};
