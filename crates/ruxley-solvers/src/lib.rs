//! Time stepping for Ruxley: the tree solve ([`solve_tree`]) and the
//! reference step ([`Stepper`]) that the CPU backend runs and other backends
//! are checked against.

#![warn(missing_docs)]

mod adjoint;
mod jvp;
mod step;
mod tree;

pub use adjoint::{Adjoint, Gradient};
pub use jvp::Jvp;
pub use step::{State, Stepper, Workspace};
pub use tree::{factor_tree, solve_tree, substitute_tree};
