//! Describe neuron models and lower them for simulation.
//!
//! A [`Model`] holds one or more cells (from SWC files or from branches and a
//! parents list), the channels inserted on them, per-compartment parameters,
//! groups, stimuli, clamps and recordings. [`View`]s select parts of it in
//! Jaxley's style (`model.branch(3).comp(0).set("HH_gNa", 0.2)`).
//! [`Model::build`] lowers it to a [`Layout`]: flat structure-of-arrays data
//! in Hines order plus a named [`Parameters`] vector, which backends run.
//!
//! ```
//! use ruxley_cell::{Model, Waveform};
//! use ruxley_channels::Hh;
//! let mut cell = Model::from_branches(&[None, Some(0), Some(0)], &[2, 3, 3])?;
//! cell.insert(Hh::new())?;
//! cell.branch(1).set("HH_gNa", 0.2)?;
//! cell.branch(0).comp(0).stimulate(Waveform::step(1.0, 5.0, 0.1))?;
//! cell.branch(2).loc(1.0).record("v")?;
//! let layout = cell.build()?;
//! assert_eq!(layout.n_comps(), 8);
//! assert_eq!(layout.n_nodes(), 9); // one branch point
//! # Ok::<(), ruxley_cell::ModelError>(())
//! ```

#![warn(missing_docs)]

mod error;
mod layout;
mod model;
mod network;
mod params;
pub mod saved;
mod stimulus;
mod trainable;
mod view;

pub use error::ModelError;
pub use layout::{
    CompGeometry, Half, InputMap, IonLayout, Layout, MechKind, MechLayout, NONE, Probe, Source,
    SpikeSource, SynapseLayout,
};
pub use model::{
    DEFAULT_AXIAL_RESISTIVITY, DEFAULT_CAPACITANCE, DEFAULT_CELSIUS, DEFAULT_LENGTH,
    DEFAULT_RADIUS, DEFAULT_V, Model, SwcImport, group_name,
};
pub use network::{DEFAULT_DELAY, DEFAULT_THRESHOLD, SynapseView};
pub use params::{Block, ParamLayout, Parameters, Target};
pub use ruxley_morph::Ncomp;
pub use stimulus::{Clamp, Observable, Recording, Stimulus, Waveform};
pub use trainable::{Control, Trainable, Trainables};
pub use view::{Sel, Selection, Site, View};
