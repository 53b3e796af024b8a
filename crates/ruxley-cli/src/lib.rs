//! The `ruxley` command's library: the model-file format ([`model_file`])
//! parameter sweeps ([`sweep`]) and work spread over MPI ranks ([`ranks`]).

#![warn(missing_docs)]

pub mod distance_expr;
pub mod model_file;
pub mod ranks;
pub mod sweep;
