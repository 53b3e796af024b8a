//! The CPU backend of Ruxley: runs the reference step ([`ruxley_solvers::Stepper`])
//! in f64, one batch member per task on rayon's pool.

#![warn(missing_docs)]

use rayon::prelude::*;
use ruxley_backend::{Backend, Batch, Capabilities, RunOptions, SimError, Traces, validate_params};
use ruxley_cell::{Layout, Parameters, Stimulus};
use ruxley_core::{Par, TimeGrid};
use ruxley_solvers::Stepper;

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
}
