//! The CPU backend of Ruxley: runs the reference step ([`ruxley_solvers::Stepper`])
//! in f64, one batch member per task on rayon's pool.

#![warn(missing_docs)]

use rayon::prelude::*;
use ruxley_backend::{
    Backend, Batch, Capabilities, RunOptions, Schedule, SimError, TraceLoss, Traces, ValueAndGrad,
    validate_params,
};
use ruxley_cell::{Layout, Parameters, Probe, Source, Stimulus};
use ruxley_core::{Par, TimeGrid};
use ruxley_solvers::{Adjoint, State, Stepper, Workspace};
use ruxley_tape::Reversible;

/// The CPU backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuBackend {
    /// Parallelism across batch members.
    pub par: Par,
}

impl CpuBackend {
    /// A backend that uses all cores across batch members.
    pub fn new() -> Self {
        Self { par: Par::Rayon }
    }

    /// A single-threaded backend.
    pub fn sequential() -> Self {
        Self { par: Par::Seq }
    }
}

/// Runs one simulation and records the layout's probes.
pub fn run_member(
    layout: &Layout,
    params: &Parameters,
    stimuli: &[Stimulus],
    grid: TimeGrid,
    options: &RunOptions,
    member: usize,
) -> Result<Traces, SimError> {
    let stepper = Stepper::new(layout, params, stimuli, grid, options.scheme)?;
    let mut ws = stepper.workspace();
    let mut state = stepper.init(&mut ws);
    let probes = layout.probes();
    let mut traces = Traces::zeros(
        probes.iter().map(|p| p.column_name()).collect(),
        grid.dt(),
        grid.n_samples(),
    );
    let record = |traces: &mut Traces, sample: usize, state: &_, ws: &_| {
        for (k, p) in probes.iter().enumerate() {
            traces.trace_mut(k)[sample] = stepper.probe(p, state, ws);
        }
    };
    record(&mut traces, 0, &state, &ws);
    for n in 0..grid.n_steps() {
        stepper.step(n, &mut state, &mut ws);
        stepper.check_stable(n, &state, member)?;
        record(&mut traces, n + 1, &state, &ws);
    }
    Ok(traces)
}

/// One simulation as a reversible sequence of steps.
struct Sim<'s, 'a> {
    stepper: &'s Stepper<'a>,
    ws: Workspace,
    adjoint: Adjoint<'s, 'a>,
    member: usize,
    unstable: Option<SimError>,
}

impl Reversible for Sim<'_, '_> {
    type State = State;
    type Cotangent = State;

    fn forward(&mut self, k: usize, state: &mut State) {
        self.stepper.step(k, state, &mut self.ws);
        if self.unstable.is_none() {
            self.unstable = self.stepper.check_stable(k, state, self.member).err();
        }
    }

    fn reverse(&mut self, k: usize, before: &State, after: Option<&State>, cot: &mut State) {
        self.adjoint.step_vjp(k, before, after, cot);
    }

    fn state_bytes(&self, state: &State) -> usize {
        8 * (state.v.len()
            + state.mech.iter().map(Vec::len).sum::<usize>()
            + state.syn.iter().map(Vec::len).sum::<usize>()
            + state.spikes.len())
    }
}

/// Runs one simulation, evaluates the loss and returns its gradient.
#[allow(clippy::too_many_arguments)]
pub fn grad_member(
    layout: &Layout,
    params: &Parameters,
    stimuli: &[Stimulus],
    grid: TimeGrid,
    options: &RunOptions,
    loss: &dyn TraceLoss,
    schedule: &Schedule,
    member: usize,
) -> Result<ValueAndGrad, SimError> {
    // Currents and reversal potentials live in the step's workspace, not in
    // the state the tape keeps: gradient runs record the other probes only.
    let (probes, skipped): (Vec<&Probe>, Vec<&Probe>) = layout.probes().iter().partition(|p| {
        !matches!(
            p.source,
            Source::Current { .. } | Source::IonCurrent { .. } | Source::IonReversal { .. }
        )
    });
    let stepper = Stepper::new(layout, params, stimuli, grid, options.scheme)?;
    let mut ws = stepper.workspace();
    let x0 = stepper.init(&mut ws);
    let mut sim = Sim {
        stepper: &stepper,
        ws,
        adjoint: Adjoint::new(&stepper),
        member,
        unstable: None,
    };
    let mut traces = Traces::zeros(
        probes.iter().map(|p| p.column_name()).collect(),
        grid.dt(),
        grid.n_samples(),
    );
    let tape = ruxley_tape::forward(&mut sim, &x0, grid.n_steps(), schedule, |k, state| {
        for (j, p) in probes.iter().enumerate() {
            traces.trace_mut(j)[k] = stepper.probe_state(p, state);
        }
    })
    .map_err(|e| SimError::Input(e.to_string()))?;
    if let Some(e) = sim.unstable.take() {
        return Err(e);
    }
    let mut dtraces = traces.zeros_like();
    let value = loss
        .value_and_grad(member, &traces, &mut dtraces)
        .map_err(|e| {
            if skipped.is_empty() {
                return SimError::Input(e);
            }
            let names: Vec<String> = skipped.iter().map(|p| p.column_name()).collect();
            SimError::Input(format!(
                "{e} (gradient runs do not record currents or reversal potentials: {})",
                names.join(", ")
            ))
        })?;
    let mut cot = sim.adjoint.zero_state();
    let stats = ruxley_tape::reverse(
        &mut sim,
        tape,
        |k, cot: &mut State| {
            for (j, p) in probes.iter().enumerate() {
                let g = dtraces.trace(j)[k];
                match p.source {
                    Source::Voltage { node } => cot.v[node as usize] += g,
                    Source::State { mech, state, row } => {
                        cot.mech[mech][state * layout.mechs()[mech].rows() + row] += g;
                    }
                    Source::SynapseState { group, state, row } => {
                        cot.syn[group][state * layout.synapses()[group].rows() + row] += g;
                    }
                    // A fixed concentration is a parameter, handled below.
                    Source::IonInside { .. }
                    | Source::Current { .. }
                    | Source::IonCurrent { .. }
                    | Source::IonReversal { .. } => {}
                }
            }
        },
        &mut cot,
    );
    let Sim { mut adjoint, .. } = sim;
    adjoint.init_vjp(&cot);
    let mut grad = adjoint.finish();
    // A recorded fixed concentration is its parameter at every sample.
    for (j, p) in probes.iter().enumerate() {
        if let Source::IonInside { ion, row } = p.source {
            let site = &layout.mechs()[layout.ions()[ion].site];
            grad.params[site.params.start + site.rows() + row] +=
                dtraces.trace(j).iter().sum::<f64>();
        }
    }
    Ok(ValueAndGrad {
        loss: value,
        params: grad.params,
        stimuli: grad.stimuli,
        traces,
        tape: stats,
    })
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { float_bits: 64 }
    }

    fn simulate(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
    ) -> Result<Vec<Traces>, SimError> {
        let grid = options.grid()?;
        let n = batch.len()?;
        for p in batch.params {
            validate_params(layout, p)?;
        }
        let run = |k: usize| {
            let (params, stimuli) = batch.member(k, layout);
            run_member(layout, params, stimuli, grid, options, k)
        };
        match self.par {
            Par::Seq => (0..n).map(run).collect(),
            Par::Rayon => (0..n).into_par_iter().map(run).collect(),
        }
    }

    fn value_and_grad(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
        loss: &dyn TraceLoss,
        schedule: &Schedule,
    ) -> Result<Vec<ValueAndGrad>, SimError> {
        let grid = options.grid()?;
        let n = batch.len()?;
        for p in batch.params {
            validate_params(layout, p)?;
        }
        let run = |k: usize| {
            let (params, stimuli) = batch.member(k, layout);
            grad_member(layout, params, stimuli, grid, options, loss, schedule, k)
        };
        match self.par {
            Par::Seq => (0..n).map(run).collect(),
            Par::Rayon => (0..n).into_par_iter().map(run).collect(),
        }
    }
}
