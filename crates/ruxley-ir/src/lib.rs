//! A small expression IR for mechanism math, so that a mechanism written
//! once over [`ruxley_core::Real`] can run anywhere.
//!
//! [`trace`] runs such code on [`Expr`] values, which record what they
//! compute into a [`Graph`]: a straight-line program of arithmetic, `exp`,
//! `ln`, powers, selects and spikes on numbered inputs. Equal
//! subexpressions are shared and constant ones computed at once. From a
//! graph:
//! - [`Graph::vjp`] and [`Graph::with_derivatives`] derive exact
//!   derivative graphs (the same rules as the dual numbers
//!   of `ruxley_core::real`);
//! - [`Graph::eval`] evaluates it at a point (a reference);
//! - [`Program`] compiles it for the CPU in `f32` or `f64`, run over blocks
//!   of rows in vectorised loops;
//! - a GPU backend expands it into kernel code (the graph is `Hash + Eq`, a
//!   cache key for compiled kernels).

#![warn(missing_docs)]

mod diff;
mod eval;
mod graph;
mod trace;

pub use diff::tangents;
pub use eval::{BLOCK, Program, Scratch, apply, apply_in};
pub use graph::{Builder, Graph, Node, Op};
pub use trace::{Expr, trace};

#[cfg(test)]
mod tests;
