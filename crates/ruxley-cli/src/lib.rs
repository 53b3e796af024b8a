//! The `ruxley` command's library: the model-file format ([`model_file`])
//! and parameter sweeps ([`sweep`]).

#![warn(missing_docs)]

pub mod distance_expr;
pub mod model_file;
pub mod sweep;
