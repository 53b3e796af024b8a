//! Ruxley: a differentiable simulator of biophysically detailed neurons and
//! networks.
//!
//! Build a cell from an SWC file or from branches, insert channels, set
//! parameters, attach stimuli and recordings, and simulate:
//!
//! ```
//! use ruxley::prelude::*;
//!
//! let mut cell = Model::from_branches(&[None, Some(0), Some(0)], &[4, 4, 4])?;
//! cell.insert(Hh::new())?;
//! cell.set("axial_resistivity", 100.0)?;
//! cell.set("v", -65.0)?;
//! cell.branch(0).comp(0).stimulate(Waveform::step(1.0, 3.0, 0.05))?;
//! cell.branch(0).comp(0).record_as("v", "soma")?;
//! let traces = ruxley::simulate(&cell, &RunOptions::new(0.025, 5.0))?;
//! assert_eq!(traces.n_samples(), 201);
//! # Ok::<(), ruxley::Error>(())
//! ```
//!
//! The crates behind it, usable alone: [`morph`] (SWC reading, tracing,
//! compartmentalisation), [`channels`] (the channel trait and library),
//! [`cell`] (models, views, layouts), [`backend`] (the backend interface),
//! [`solvers`] (the reference step).

#![warn(missing_docs)]

use std::fmt;

pub use ruxley_backend as backend;
pub use ruxley_cell as cell;
pub use ruxley_channels as channels;
pub use ruxley_core as core;
pub use ruxley_morph as morph;
pub use ruxley_solvers as solvers;

pub use ruxley_backend::{
    Backend, Batch, Mse, RunOptions, Schedule, Scheme, SimError, TraceLoss, Traces,
};
pub use ruxley_cell::{Layout, Model, ModelError, Parameters, SwcImport, Waveform};

/// The backend selected by the enabled features (the CPU backend by default).
#[cfg(feature = "cpu")]
pub type DefaultBackend = ruxley_cpu::CpuBackend;

/// The CPU backend.
#[cfg(feature = "cpu")]
pub use ruxley_cpu as cpu;

/// The names most programs need.
pub mod prelude {
    pub use crate::channels::{Hh, Leak};
    pub use crate::{
        Backend, Batch, Model, Parameters, RunOptions, Scheme, SwcImport, Traces, Waveform,
    };
}

/// Any error of building or running a model.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The model description is invalid.
    Model(ModelError),
    /// The simulation failed.
    Sim(SimError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Model(e) => write!(f, "{e}"),
            Self::Sim(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ModelError> for Error {
    fn from(e: ModelError) -> Self {
        Self::Model(e)
    }
}

impl From<SimError> for Error {
    fn from(e: SimError) -> Self {
        Self::Sim(e)
    }
}

/// Builds `model` and runs it once on the default backend with its own
/// parameters and stimuli.
#[cfg(feature = "cpu")]
pub fn simulate(model: &Model, options: &RunOptions) -> Result<Traces, Error> {
    let layout = model.build()?;
    let mut traces = DefaultBackend::new().simulate(&layout, Batch::single(), options)?;
    Ok(traces.remove(0))
}

/// Gradients with respect to trainable values.
pub mod grad {
    use crate::backend::{Backend, Batch, RunOptions, Schedule, TapeStats, TraceLoss, Traces};
    use crate::{Error, Layout};

    /// The loss and its gradient with respect to theta for one batch member.
    #[derive(Debug, Clone, PartialEq)]
    pub struct ThetaGrad {
        /// The loss.
        pub loss: f64,
        /// d loss / d theta, in the order of [`Layout::trainables`].
        pub grad: Vec<f64>,
        /// The traces of the run.
        pub traces: Traces,
        /// Recomputation and memory of the reverse sweep.
        pub tape: TapeStats,
    }

    /// Runs the model once per theta (in parallel), evaluates `loss` and
    /// returns its gradient with respect to the trainables of `layout`.
    pub fn value_and_grad(
        backend: &dyn Backend,
        layout: &Layout,
        thetas: &[Vec<f64>],
        loss: &dyn TraceLoss,
        options: &RunOptions,
        schedule: &Schedule,
    ) -> Result<Vec<ThetaGrad>, Error> {
        let grid = options.grid()?;
        let t = layout.trainables();
        let mut params = Vec::with_capacity(thetas.len());
        let mut stimuli = Vec::with_capacity(thetas.len());
        for theta in thetas {
            let (p, s) = t.apply(theta, layout.parameters(), layout.stimuli())?;
            params.push(p);
            stimuli.push(s);
        }
        let grads = backend.value_and_grad(
            layout,
            Batch {
                params: &params,
                stimuli: &stimuli,
            },
            options,
            loss,
            schedule,
        )?;
        Ok(grads
            .into_iter()
            .zip(&stimuli)
            .map(|(g, s)| ThetaGrad {
                loss: g.loss,
                grad: t.gather(&g.params, &g.stimuli, &grid, s),
                traces: g.traces,
                tape: g.tape,
            })
            .collect())
    }
}

/// Analysis of recorded traces.
pub mod analysis {
    /// Times (ms) at which `v` crosses `threshold` upwards, linearly
    /// interpolated between samples taken every `dt` ms from t = 0.
    pub fn spike_times(v: &[f64], dt: f64, threshold: f64) -> Vec<f64> {
        v.windows(2)
            .enumerate()
            .filter(|(_, w)| w[0] < threshold && w[1] >= threshold)
            .map(|(k, w)| (k as f64 + (threshold - w[0]) / (w[1] - w[0])) * dt)
            .collect()
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn crossings_are_interpolated() {
            let v = [-70.0, -10.0, 10.0, 30.0, -5.0, 5.0];
            assert_eq!(super::spike_times(&v, 0.5, 0.0), vec![0.75, 2.25]);
        }
    }
}
