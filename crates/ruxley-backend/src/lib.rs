//! The backend interface of Ruxley.
//!
//! A [`Backend`] runs a lowered model ([`ruxley_cell::Layout`]) for a batch
//! of parameter sets and stimulus sets ([`Batch`]) under [`RunOptions`] and
//! returns one [`Traces`] per batch member. Backends differ in where and how
//! they compute (the CPU reference backend, GPU kernels), never in what: every
//! backend implements the same numerics (backward Euler or Crank-Nicolson
//! voltage steps, exponential-Euler gates, the tree solve) and is checked
//! against the same references.

#![warn(missing_docs)]

mod loss;
mod traces;

use std::fmt;

use ruxley_cell::{Layout, Parameters, Stimulus, Target};
use ruxley_core::{TimeGrid, TimeGridError};

pub use loss::{Mse, TraceLoss};
pub use ruxley_tape::{Schedule, Stats as TapeStats};
pub use traces::Traces;

/// The voltage integration scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// Implicit (backward) Euler: first order, L-stable. NEURON's default.
    #[default]
    BackwardEuler,
    /// Crank-Nicolson: a backward-Euler half step, then extrapolation to the
    /// full step (NEURON's `secondorder = 2`).
    CrankNicolson,
}

impl Scheme {
    /// Parses `backward_euler`/`bwd_euler`/`be` or `crank_nicolson`/`cn`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "backward_euler" | "bwd_euler" | "be" => Some(Self::BackwardEuler),
            "crank_nicolson" | "cn" => Some(Self::CrankNicolson),
            _ => None,
        }
    }
}

/// How to run a simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOptions {
    /// Time step (ms).
    pub dt: f64,
    /// End time (ms); samples are taken at t = 0, dt, ..., t_max.
    pub t_max: f64,
    /// The voltage scheme.
    pub scheme: Scheme,
}

impl RunOptions {
    /// Backward Euler with step `dt` up to `t_max`.
    pub fn new(dt: f64, t_max: f64) -> Self {
        Self {
            dt,
            t_max,
            scheme: Scheme::BackwardEuler,
        }
    }

    /// The same options with another scheme.
    pub fn with_scheme(self, scheme: Scheme) -> Self {
        Self { scheme, ..self }
    }

    /// The time grid.
    pub fn grid(&self) -> Result<TimeGrid, SimError> {
        TimeGrid::new(self.dt, self.t_max).map_err(SimError::Time)
    }
}

/// What a batch run simulates: parameter sets and stimulus sets, paired by
/// index; a list of length one is used for every member. An empty list means
/// the model's own parameters (or stimuli).
#[derive(Debug, Clone, Copy, Default)]
pub struct Batch<'a> {
    /// Parameter sets (each from [`Layout::parameters`], then changed).
    pub params: &'a [Parameters],
    /// Stimulus sets, each replacing the model's stimuli.
    pub stimuli: &'a [Vec<Stimulus>],
}

impl<'a> Batch<'a> {
    /// One run with the model's own parameters and stimuli.
    pub fn single() -> Self {
        Self::default()
    }

    /// One run per parameter set.
    pub fn params(params: &'a [Parameters]) -> Self {
        Self {
            params,
            stimuli: &[],
        }
    }

    /// The number of members, or an error when the lists cannot be paired.
    pub fn len(&self) -> Result<usize, SimError> {
        match (self.params.len(), self.stimuli.len()) {
            (0 | 1, s) => Ok(s.max(1)),
            (p, 0 | 1) => Ok(p),
            (p, s) if p == s => Ok(p),
            (p, s) => Err(SimError::Batch(format!(
                "{p} parameter sets cannot be paired with {s} stimulus sets"
            ))),
        }
    }

    /// True for a batch of no members (never: an empty batch is one run).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The parameters and stimuli of member `k`.
    pub fn member(&self, k: usize, layout: &'a Layout) -> (&'a Parameters, &'a [Stimulus]) {
        let pick = |n: usize| if n == 1 { 0 } else { k };
        let params = if self.params.is_empty() {
            layout.parameters()
        } else {
            &self.params[pick(self.params.len())]
        };
        let stimuli = if self.stimuli.is_empty() {
            layout.stimuli()
        } else {
            &self.stimuli[pick(self.stimuli.len())]
        };
        (params, stimuli)
    }
}

/// Why a simulation failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SimError {
    /// The time grid is invalid (dt, t_max).
    Time(TimeGridError),
    /// A parameter set does not fit the layout or holds an invalid value.
    Params(String),
    /// The batch lists cannot be paired.
    Batch(String),
    /// A stimulus or clamp is invalid.
    Input(String),
    /// A voltage became NaN, infinite or larger in magnitude than
    /// [`MAX_ABS_VOLTAGE`]: the integration is unstable.
    Unstable {
        /// Batch member.
        member: usize,
        /// The step that produced it (from t_step to t_step + dt).
        step: usize,
        /// The time at the end of that step (ms).
        time: f64,
        /// (cell, branch, compartment) of the first offending compartment.
        site: (usize, usize, usize),
        /// The value.
        value: f64,
    },
    /// The backend cannot do this.
    Unsupported(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Time(e) => write!(f, "{e}"),
            Self::Params(m) | Self::Batch(m) | Self::Input(m) | Self::Unsupported(m) => {
                write!(f, "{m}")
            }
            Self::Unstable {
                member,
                step,
                time,
                site,
                value,
            } => write!(
                f,
                "the voltage became {value} mV in step {step} (t = {time} ms) at cell {} branch {} compartment {} \
                 (batch member {member}); the time step may be too large for the model, or a parameter or input is extreme",
                site.0, site.1, site.2
            ),
        }
    }
}

impl std::error::Error for SimError {}

/// Voltages beyond this magnitude (mV) stop a simulation as unstable.
pub const MAX_ABS_VOLTAGE: f64 = 1e6;

/// Checks that `params` fits `layout` and holds valid values.
pub fn validate_params(layout: &Layout, params: &Parameters) -> Result<(), SimError> {
    if !params.same_layout(layout.parameters()) {
        return Err(SimError::Params(
            "the parameter set was made for another model".into(),
        ));
    }
    for block in params.layout().blocks() {
        let values = params.block(block);
        let bad = match block.target {
            Target::ChannelState { .. } | Target::SynapseState { .. } => {
                values.iter().position(|x| x.is_infinite())
            }
            Target::Capacitance | Target::AxialResistivity | Target::Radius | Target::Length => {
                values.iter().position(|x| !(x.is_finite() && *x > 0.0))
            }
            _ => values.iter().position(|x| !x.is_finite()),
        };
        if let Some(k) = bad {
            if matches!(
                block.target,
                Target::SynapseParam { .. } | Target::SynapseState { .. }
            ) {
                return Err(SimError::Params(format!(
                    "{} = {} at synapse {} is invalid",
                    block.name, values[k], block.comps[k]
                )));
            }
            let (cell, b, c) = layout.site(block.comps[k]);
            return Err(SimError::Params(format!(
                "{} = {} at cell {cell} branch {b} compartment {c} is invalid",
                block.name, values[k]
            )));
        }
    }
    Ok(())
}

/// What a backend can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Bits of floating-point precision of the state (64 or 32).
    pub float_bits: u32,
}

/// A loss and its gradient for one batch member.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAndGrad {
    /// The loss.
    pub loss: f64,
    /// d loss / d value, for every value of the parameter vector (in the
    /// layout of [`ruxley_cell::Parameters::values`]).
    pub params: Vec<f64>,
    /// d loss / d current (nA) of each stimulus in each step.
    pub stimuli: Vec<Vec<f64>>,
    /// The traces the loss was computed on.
    pub traces: Traces,
    /// Recomputation and memory of the reverse sweep.
    pub tape: TapeStats,
}

/// A simulation engine.
pub trait Backend: Send + Sync {
    /// A short name (`cpu`, `cubecl-wgpu`).
    fn name(&self) -> &str;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Runs every member of `batch`; returns one [`Traces`] per member, with
    /// the layout's probes as rows.
    fn simulate(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
    ) -> Result<Vec<Traces>, SimError>;

    /// Runs every member of `batch`, evaluates `loss` on its traces and
    /// returns the exact gradient of the loss (the discrete adjoint of the
    /// scheme run) with respect to every parameter value and stimulus,
    /// recomputing states under `schedule`.
    fn value_and_grad(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
        loss: &dyn TraceLoss,
        schedule: &Schedule,
    ) -> Result<Vec<ValueAndGrad>, SimError> {
        let _ = (layout, batch, options, loss, schedule);
        Err(SimError::Unsupported(format!(
            "the {} backend has no gradients",
            self.name()
        )))
    }
}
