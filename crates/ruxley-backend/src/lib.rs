//! The backend interface of Ruxley.
//!
//! A [`Backend`] runs a lowered model ([`ruxley_cell::Layout`]) for a batch
//! of parameter sets and stimulus sets ([`Batch`]) under [`RunOptions`] and
//! returns one [`Traces`] per batch member; it may also give exact gradients
//! of a loss on the traces ([`Backend::value_and_grad`]) and forward-mode
//! tangents ([`Backend::jvp`]). Backends differ in where and how they
//! compute (the CPU backend, GPU kernels), never in what: every backend
//! implements the same numerics (backward Euler or Crank-Nicolson voltage
//! steps, exponential-Euler gates, the tree solve), gets the mechanisms'
//! math from their descriptions (`Channel::ir`, `Synapse::ir`) and the
//! geometry, drives and delays from [`lower`], and is checked against the
//! same references by the conformance suite (`ruxley-conformance`).

#![warn(missing_docs)]

pub mod lower;

use std::fmt;

use ruxley_cell::{Layout, MechKind, Parameters, Stimulus, Target};
use ruxley_core::{Precision, TimeGrid, TimeGridError};

use ruxley_loss::TraceLoss;
pub use ruxley_tape::{Schedule, Stats as TapeStats};
use ruxley_traces::Traces;

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
    /// The precision of the state and arithmetic (f64 by default).
    pub precision: Precision,
    /// Truncated backpropagation through time (gradient runs only): the
    /// adjoint of the state is cut at every multiple of this many ms, so that
    /// the samples of each segment (t_j, t_j + truncate] pass gradient to the
    /// parameters through the steps of their own segment only, the state at
    /// its start held fixed. None (the default) is the exact gradient.
    pub truncate: Option<f64>,
}

impl RunOptions {
    /// Backward Euler in f64 with step `dt` up to `t_max`.
    pub fn new(dt: f64, t_max: f64) -> Self {
        Self {
            dt,
            t_max,
            scheme: Scheme::BackwardEuler,
            precision: Precision::F64,
            truncate: None,
        }
    }

    /// The same options with gradients truncated every `ms`
    /// ([`RunOptions::truncate`]).
    pub fn with_truncation(self, ms: f64) -> Self {
        Self {
            truncate: Some(ms),
            ..self
        }
    }

    /// The steps of a truncation segment, or an error for a length that is
    /// not a positive whole number of steps; None without truncation.
    pub fn truncation_steps(&self) -> Result<Option<usize>, SimError> {
        let Some(ms) = self.truncate else {
            return Ok(None);
        };
        let steps = ms / self.dt;
        if !(steps.is_finite() && steps.round() >= 1.0 && (steps - steps.round()).abs() < 1e-6) {
            return Err(SimError::Input(format!(
                "a truncation interval of {ms} ms is not a positive whole number of {} ms steps",
                self.dt
            )));
        }
        Ok(Some(steps.round() as usize))
    }

    /// The same options with another scheme.
    pub fn with_scheme(self, scheme: Scheme) -> Self {
        Self { scheme, ..self }
    }

    /// The same options in another precision.
    pub fn with_precision(self, precision: Precision) -> Self {
        Self { precision, ..self }
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

    /// The parameters and stimuli of members `range`.
    pub fn members(
        &self,
        range: std::ops::Range<usize>,
        layout: &'a Layout,
    ) -> Vec<(&'a Parameters, &'a [Stimulus])> {
        range.map(|k| self.member(k, layout)).collect()
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

/// What every backend checks before a run: the request against its
/// capabilities, the time grid, the pairing of the batch and every
/// parameter set. Returns the grid and the number of members.
pub fn check_run<B: Backend + ?Sized>(
    backend: &B,
    layout: &Layout,
    batch: &Batch,
    options: &RunOptions,
    request: Request,
) -> Result<(TimeGrid, usize), SimError> {
    backend
        .capabilities()
        .check(backend.name(), layout, options, request)?;
    let grid = options.grid()?;
    let n = batch.len()?;
    for p in batch.params {
        validate_params(layout, p)?;
    }
    Ok((grid, n))
}

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

/// A part of the model a backend may not support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// Ion pools with Nernst reversal potentials.
    Pools,
    /// Mechanisms that set the voltage (integrate-and-fire, Izhikevich).
    VoltageSetting,
    /// Synapses driven by the presynaptic voltage.
    GradedSynapses,
    /// Synapses driven by presynaptic spikes, with delays.
    SpikingSynapses,
    /// Voltage clamps.
    Clamps,
    /// The Crank-Nicolson voltage scheme.
    CrankNicolson,
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 6] = [
        Feature::Pools,
        Feature::VoltageSetting,
        Feature::GradedSynapses,
        Feature::SpikingSynapses,
        Feature::Clamps,
        Feature::CrankNicolson,
    ];

    /// What the feature is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::Pools => "ion pools",
            Feature::VoltageSetting => "voltage-setting mechanisms",
            Feature::GradedSynapses => "graded synapses",
            Feature::SpikingSynapses => "spike-driven synapses",
            Feature::Clamps => "voltage clamps",
            Feature::CrankNicolson => "the Crank-Nicolson scheme",
        }
    }

    /// The features a run of `layout` under `options` needs.
    pub fn needed(layout: &Layout, options: &RunOptions) -> Vec<Feature> {
        let mechs = layout.mechs();
        let mut out = Vec::new();
        let mut need = |f: Feature, yes: bool| {
            if yes {
                out.push(f);
            }
        };
        need(
            Feature::Pools,
            mechs
                .iter()
                .any(|m| matches!(m.kind, MechKind::Pool { .. })),
        );
        need(
            Feature::VoltageSetting,
            mechs.iter().any(|m| m.channel.sets_voltage()),
        );
        need(
            Feature::GradedSynapses,
            layout.synapses().iter().any(|g| !g.synapse.spiking()),
        );
        need(
            Feature::SpikingSynapses,
            layout.synapses().iter().any(|g| g.synapse.spiking()),
        );
        need(Feature::Clamps, !layout.clamps().is_empty());
        need(
            Feature::CrankNicolson,
            options.scheme == Scheme::CrankNicolson,
        );
        out
    }
}

/// What a backend can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The precisions it runs in.
    pub precisions: Vec<Precision>,
    /// True if it gives gradients ([`Backend::value_and_grad`]).
    pub gradients: bool,
    /// True if it gives forward-mode tangents ([`Backend::jvp`]).
    pub jvp: bool,
    /// The model features it supports.
    pub features: Vec<Feature>,
    /// True if its gradients honour [`RunOptions::truncate`].
    pub truncated_gradients: bool,
}

/// What a backend is asked to do, for [`Capabilities::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Traces.
    Simulate,
    /// Gradients.
    Gradient,
    /// Forward-mode tangents.
    Jvp,
}

impl Capabilities {
    /// An error naming what `backend` cannot do of running `layout` under
    /// `options` for `request`, if anything.
    pub fn check(
        &self,
        backend: &str,
        layout: &Layout,
        options: &RunOptions,
        request: Request,
    ) -> Result<(), SimError> {
        let unsupported = |what: String| {
            Err(SimError::Unsupported(format!(
                "the {backend} backend does not support {what}"
            )))
        };
        if !self.precisions.contains(&options.precision) {
            return unsupported(format!("{} precision", options.precision));
        }
        match request {
            Request::Gradient if !self.gradients => return unsupported("gradients".into()),
            Request::Gradient if options.truncate.is_some() && !self.truncated_gradients => {
                return unsupported("truncated backpropagation (RunOptions::truncate)".into());
            }
            Request::Jvp if !self.jvp => return unsupported("forward-mode tangents".into()),
            _ => {}
        }
        for f in Feature::needed(layout, options) {
            if !self.features.contains(&f) {
                return unsupported(f.describe().into());
            }
        }
        Ok(())
    }
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

/// Where a forward-mode run starts its tangent.
#[derive(Debug, Clone, PartialEq)]
pub enum TangentStart {
    /// The tangent of the initial state along the parameter direction.
    FromParams,
    /// `v` for every compartment's voltage and `states` for every channel,
    /// pool and synapse state (plus the parameter direction's share).
    Uniform {
        /// The voltage tangent (mV per unit).
        v: f64,
        /// The state tangent.
        states: f64,
    },
}

/// A forward-mode (Jacobian-vector product) run.
#[derive(Debug, Clone, PartialEq)]
pub struct JvpRequest {
    /// A direction in the parameter vector (its layout), or none. Only
    /// channel, pool, ion and synapse parameters may move.
    pub params: Option<Vec<f64>>,
    /// The initial tangent of the state.
    pub start: TangentStart,
    /// Renormalise the tangent to unit norm every this many steps (for
    /// Lyapunov exponents; the norm is the Euclidean norm over compartment
    /// voltages and channel, pool and synapse states).
    pub renormalize_every: Option<usize>,
}

/// The result of a forward-mode run for one member.
#[derive(Debug, Clone, PartialEq)]
pub struct JvpResult {
    /// The traces.
    pub traces: Traces,
    /// The tangents of the traces (voltage and state probes; NaN for
    /// currents and reversal potentials). Renormalisations rescale them.
    pub tangents: Traces,
    /// With renormalisation: (step after which it happened, the norm the
    /// tangent had before it).
    pub norms: Vec<(usize, f64)>,
}

/// A simulation engine.
///
/// A backend gets the mechanisms' math from their descriptions and the
/// geometry, stimuli, clamps and delays from [`lower`]; it reports what it
/// can do ([`Backend::capabilities`]) and refuses the rest with
/// [`SimError::Unsupported`].
pub trait Backend: Send + Sync {
    /// A short name (`cpu`, `cubecl-wgpu`).
    fn name(&self) -> &str;

    /// The device it computes on, in words.
    fn device(&self) -> String;

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
        let _ = (batch, loss, schedule);
        self.capabilities()
            .check(self.name(), layout, options, Request::Gradient)?;
        Err(SimError::Unsupported(format!(
            "the {} backend has no gradients",
            self.name()
        )))
    }

    /// Runs every member of `batch` with a tangent carried along (forward
    /// mode: the exact linearisation of the scheme run).
    fn jvp(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
        request: &JvpRequest,
    ) -> Result<Vec<JvpResult>, SimError> {
        let _ = (batch, request);
        self.capabilities()
            .check(self.name(), layout, options, Request::Jvp)?;
        Err(SimError::Unsupported(format!(
            "the {} backend has no forward mode",
            self.name()
        )))
    }
}
