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
//! compartmentalisation), [`ir`] (the expression graphs mechanisms are
//! described in), [`channels`] and [`synapses`] (the descriptions and the
//! library), [`cell`] (models, views, layouts), [`traces`] (recorded traces
//! and their CSV form), [`loss`] (losses with their gradients, and their sums
//! on named traces), [`backend`] (the backend interface and the shared
//! lowering), [`optim`] (transforms and optimisers), [`cpu`] (the CPU
//! backend). [`train`] trains a model on a data set of labelled inputs.
//!
//! Backends are chosen by cargo features; [`default_backend`] gives the
//! best one enabled.

#![warn(missing_docs)]

use std::fmt;

pub use ruxley_backend as backend;
pub use ruxley_cell as cell;
pub use ruxley_channels as channels;
pub use ruxley_core as core;
pub use ruxley_ir as ir;
pub use ruxley_loss as loss;
pub use ruxley_morph as morph;
pub use ruxley_nmodl as nmodl;
pub use ruxley_optim as optim;
pub use ruxley_synapses as synapses;
pub use ruxley_traces as traces;

pub mod l5pc;
pub mod progress;
pub mod ranks;
pub mod train;

pub use ruxley_backend::{
    Backend, Batch, Capabilities, JvpRequest, JvpResult, RunOptions, Schedule, Scheme, SimError,
    TangentStart,
};
pub use ruxley_cell::{Layout, Model, ModelError, Parameters, Selection, SwcImport, Waveform};
pub use ruxley_core::Precision;
pub use ruxley_loss::{Compare, LossError, TraceFit, TraceLoss};
pub use ruxley_nmodl::Nmodl;
pub use ruxley_traces::Traces;

/// The CPU backend, which runs everything (simulations, gradients, JVPs)
/// without a device; [`default_backend`] picks a GPU where one is built in
/// and present.
#[cfg(feature = "cpu")]
pub type DefaultBackend = ruxley_cpu::CpuBackend;

/// The CPU backend.
#[cfg(feature = "cpu")]
pub use ruxley_cpu as cpu;

/// The GPU backend (feature `cubecl-cuda` or `cubecl-wgpu`).
#[cfg(any(feature = "cubecl-cuda", feature = "cubecl-wgpu"))]
pub use ruxley_cubecl as gpu;

/// A backend by name: `cpu`, `cuda` (CUDA device 0) or `wgpu` (the default
/// wgpu device); an error naming the feature it needs when it is not built
/// in, or why its device is missing.
pub fn backend_by_name(name: &str) -> Result<Box<dyn Backend>, SimError> {
    let feature = match name {
        "cpu" => "cpu",
        "cuda" => "cubecl-cuda",
        "wgpu" => "cubecl-wgpu",
        other => {
            return Err(SimError::Unsupported(format!(
                "unknown backend `{other}` (cpu, cuda or wgpu)"
            )));
        }
    };
    match name {
        #[cfg(feature = "cpu")]
        "cpu" => Ok(Box::new(ruxley_cpu::CpuBackend::new())),
        #[cfg(feature = "cubecl-cuda")]
        "cuda" => Ok(Box::new(ruxley_cubecl::GpuBackend::cuda(0)?)),
        #[cfg(feature = "cubecl-wgpu")]
        "wgpu" => Ok(Box::new(ruxley_cubecl::GpuBackend::wgpu(
            Default::default(),
        )?)),
        _ => Err(SimError::Unsupported(format!(
            "the {name} backend is not built in: enable the `{feature}` feature"
        ))),
    }
}

/// The best backend the enabled features provide, in this order of
/// preference: CUDA, wgpu (each only if its device is present), then the
/// CPU backend. A GPU backend's constructor fails where its device is
/// missing and the next one is tried; the errors are reported if none is
/// left.
pub fn default_backend() -> Result<Box<dyn Backend>, SimError> {
    let mut errors = Vec::new();
    let preference = [
        ("cuda", cfg!(feature = "cubecl-cuda")),
        ("wgpu", cfg!(feature = "cubecl-wgpu")),
        ("cpu", cfg!(feature = "cpu")),
    ];
    for (name, built) in preference {
        if !built {
            continue;
        }
        match backend_by_name(name) {
            Ok(b) => return Ok(b),
            Err(e) => errors.push(e.to_string()),
        }
    }
    Err(SimError::Unsupported(if errors.is_empty() {
        "no backend is enabled: build with the `cpu`, `cubecl-cuda` or `cubecl-wgpu` feature".into()
    } else {
        errors.join("; ")
    }))
}

/// The names most programs need.
pub mod prelude {
    pub use crate::channels::{Hh, Leak};
    pub use crate::{
        Backend, Batch, Model, Parameters, Precision, RunOptions, Scheme, Selection, SwcImport,
        Traces, Waveform,
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
pub fn simulate(model: &Model, options: &RunOptions) -> Result<Traces, Error> {
    let layout = model.build()?;
    let mut traces = default_backend()?.simulate(&layout, Batch::single(), options)?;
    Ok(traces.remove(0))
}

/// Gradients with respect to trainable values.
pub mod grad {
    use crate::backend::{Backend, Batch, RunOptions, Schedule, TapeStats};
    use crate::{Error, Layout};
    use crate::{TraceLoss, Traces};

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

    /// Runs the model once per theta (in parallel) and returns its traces.
    pub fn simulate(
        backend: &dyn Backend,
        layout: &Layout,
        thetas: &[Vec<f64>],
        options: &RunOptions,
    ) -> Result<Vec<Traces>, Error> {
        let (params, stimuli) = apply_all(layout, thetas)?;
        Ok(backend.simulate(
            layout,
            Batch {
                params: &params,
                stimuli: &stimuli,
            },
            options,
        )?)
    }

    type Inputs = (Vec<crate::Parameters>, Vec<Vec<crate::cell::Stimulus>>);

    fn apply_all(layout: &Layout, thetas: &[Vec<f64>]) -> Result<Inputs, Error> {
        let mut params = Vec::with_capacity(thetas.len());
        let mut stimuli = Vec::with_capacity(thetas.len());
        for theta in thetas {
            let (p, s) = layout
                .trainables()
                .apply(theta, layout.parameters(), layout.stimuli())?;
            params.push(p);
            stimuli.push(s);
        }
        Ok((params, stimuli))
    }

    /// Runs the model once per theta (in parallel), evaluates `loss` and
    /// returns its gradient with respect to the trainables of `layout`.
    pub fn value_and_grad(
        backend: &dyn Backend,
        layout: &Layout,
        thetas: &[Vec<f64>],
        options: &RunOptions,
        loss: &dyn TraceLoss,
        schedule: &Schedule,
    ) -> Result<Vec<ThetaGrad>, Error> {
        let grid = options.grid()?;
        let t = layout.trainables();
        let (params, stimuli) = apply_all(layout, thetas)?;
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

/// The largest Lyapunov exponent of a model's dynamics, from forward-mode
/// tangents renormalised along the trajectory (Benettin's method).
pub mod lyapunov {
    use crate::core::TimeGrid;
    use crate::{Backend, Batch, Error, JvpRequest, Layout, RunOptions, TangentStart};

    /// The largest Lyapunov exponent (1/ms) of `layout` run with its own
    /// parameters and stimuli on `backend`: a tangent of the state is carried
    /// along the run and renormalised every `every` steps; the exponent is the
    /// mean log growth per ms after `transient` ms (also simulated, not
    /// counted). The tangent's norm is the Euclidean norm over compartment
    /// voltages (mV), channel, pool and synapse states; it starts at 1 mV in
    /// every voltage and 1e-3 in every state.
    pub fn largest_exponent(
        backend: &dyn Backend,
        layout: &Layout,
        options: &RunOptions,
        transient: f64,
        every: usize,
    ) -> Result<f64, Error> {
        let grid = options.grid()?;
        let skip = TimeGrid::new(options.dt, transient)
            .map_err(crate::SimError::Time)?
            .n_steps();
        if skip >= grid.n_steps() || every == 0 {
            return Err(Error::Model(crate::ModelError::Invalid(
                "the transient must be shorter than t_max and `every` positive".into(),
            )));
        }
        let request = JvpRequest {
            params: None,
            start: TangentStart::Uniform {
                v: 1.0,
                states: 1e-3,
            },
            renormalize_every: Some(every),
        };
        let run = backend
            .jvp(layout, Batch::single(), options, &request)?
            .remove(0);
        // The first norm is measured from the start, which is not unit.
        let log_growth: f64 = run
            .norms
            .iter()
            .filter(|(step, _)| *step > skip)
            .map(|(_, g)| g.ln())
            .sum();
        Ok(log_growth / (grid.t_end() - grid.time(skip)))
    }
}

pub mod analysis;
