//! Morphologies for Ruxley.
//!
//! - [`swc`]: a strict SWC reader with line-numbered errors; [`asc`]: a
//!   Neurolucida ASCII reader that gives the same [`Swc`].
//! - [`trace`](mod@trace): branch tracing numbered exactly as Jaxley's `read_swc`.
//! - [`discretize`]: compartmentalisation (uniform, per-branch or d_lambda).
//! - [`geometry`]: exact frustum areas, volumes and resistive loads.
//!
//! ```
//! use ruxley_morph::{Ncomp, SwcOptions, TraceOptions, parse_swc, trace};
//! let swc = parse_swc("1 1 0 0 0 5 -1\n2 3 10 0 0 1 1\n3 3 30 0 0 1 2\n", &SwcOptions::default())?;
//! let morph = trace(&swc, &TraceOptions::default())?;
//! let branches = morph.discretize(&Ncomp::Uniform(2))?;
//! assert_eq!(branches.len(), 2);
//! // The single-point soma keeps the area of its sphere.
//! let soma_area: f64 = branches[0].comps.iter().map(|c| c.area).sum();
//! assert!((soma_area - 4.0 * std::f64::consts::PI * 25.0).abs() < 1e-9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod asc;
pub mod discretize;
pub mod geometry;
pub mod swc;
pub mod trace;

pub use asc::{AscError, parse_asc, read_asc};
pub use discretize::{DiscretizedBranch, Ncomp, d_lambda_ncomp, lambda_f};
pub use geometry::{CompartmentGeometry, Point};
pub use swc::{SomaKind, Swc, SwcError, SwcOptions, SwcSample, parse_swc, read_swc};
pub use trace::{MorphError, Morphology, TraceOptions, TracedBranch, trace};
