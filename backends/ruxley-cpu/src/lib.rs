//! The CPU backend of Ruxley: the time step ([`Stepper`]), its discrete
//! adjoint ([`Adjoint`]) and its forward mode ([`Jvp`]) for blocks of batch
//! members side by side in SIMD lanes, blocks spread over rayon's threads,
//! in f64 or f32.
//!
//! Mechanisms run their native kernels where they have them (f64), and
//! kernels compiled from their graphs otherwise ([`KernelSource`]).

#![warn(missing_docs)]

mod adjoint;
mod jvp;
mod kernels;
mod step;
mod tree;

use rayon::prelude::*;
use ruxley_backend::{
    Backend, Batch, Capabilities, Feature, JvpRequest, JvpResult, Request, RunOptions, Schedule,
    SimError, TangentStart, ValueAndGrad, check_run,
};
use ruxley_cell::{Layout, NONE, Parameters, Probe, Source, Stimulus};
use ruxley_core::{Par, Precision, TimeGrid};
use ruxley_loss::TraceLoss;
use ruxley_tape::Reversible;
use ruxley_traces::Traces;

pub use adjoint::{Adjoint, Gradient};
pub use jvp::Jvp;
pub use kernels::{CpuFloat, KernelSource};
pub use step::{State, Stepper, Workspace};
pub use tree::{factor_tree, solve_tree, substitute_tree};

use step::StateArray;

/// The CPU backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuBackend {
    /// Parallelism across blocks of batch members.
    pub par: Par,
    /// Which mechanism kernels to run.
    pub kernels: KernelSource,
    /// Members per block (None: chosen from the model's size).
    pub block: Option<usize>,
}

impl CpuBackend {
    /// A backend that uses all cores across batch members.
    pub fn new() -> Self {
        Self {
            par: Par::Rayon,
            ..Self::default()
        }
    }

    /// A single-threaded backend.
    pub fn sequential() -> Self {
        Self {
            par: Par::Seq,
            ..Self::default()
        }
    }

    /// The same backend running `kernels`.
    pub fn with_kernels(self, kernels: KernelSource) -> Self {
        Self { kernels, ..self }
    }

    /// The same backend with `members` members per block.
    pub fn with_block(self, members: usize) -> Self {
        Self {
            block: Some(members.max(1)),
            ..self
        }
    }

    /// The threads the blocks run on.
    fn threads(&self) -> usize {
        match self.par {
            Par::Seq => 1,
            Par::Rayon => rayon::current_num_threads(),
        }
    }

    /// The blocks (ranges of members) to run `n` members of `layout` in:
    /// enough members side by side to fill SIMD lanes while the block's
    /// state stays in the second-level cache, and enough blocks for the
    /// threads.
    fn blocks(&self, layout: &Layout, n: usize, gradient: bool) -> Vec<std::ops::Range<usize>> {
        let size = self.block.unwrap_or_else(|| {
            // About 4096 node-members per block (2048 with a tape).
            let target = if gradient { 2048 } else { 4096 };
            let by_size = (target / layout.n_nodes().max(1)).clamp(1, 1024);
            let by_threads = n.div_ceil(self.threads());
            let nb = by_size.min(by_threads).max(1);
            // Whole SIMD registers of members where there are enough.
            if nb >= 8 { nb / 8 * 8 } else { nb }
        });
        (0..n).step_by(size).map(|s| s..(s + size).min(n)).collect()
    }

    /// Runs `f` on every block, in parallel unless sequential, and
    /// concatenates the members' results in order.
    fn per_block<T: Send>(
        &self,
        blocks: &[std::ops::Range<usize>],
        f: impl Fn(std::ops::Range<usize>) -> Result<Vec<T>, SimError> + Sync,
    ) -> Result<Vec<T>, SimError> {
        let results: Vec<Result<Vec<T>, SimError>> = match self.par {
            Par::Seq => blocks.iter().cloned().map(&f).collect(),
            Par::Rayon => blocks.par_iter().cloned().map(&f).collect(),
        };
        let mut out = Vec::new();
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }
}

/// Per-member recordings of a block, `[probe][sample][member]`, written
/// from the side-by-side state.
struct Recorder<'p> {
    probes: Vec<&'p Probe>,
    n_samples: usize,
    nb: usize,
    data: Vec<f64>,
}

impl<'p> Recorder<'p> {
    fn new(probes: Vec<&'p Probe>, n_samples: usize, nb: usize) -> Self {
        let len = probes.len() * n_samples * nb;
        Self {
            probes,
            n_samples,
            nb,
            data: vec![0.0; len],
        }
    }

    /// Sample `s` of every probe of every member.
    fn record<F: CpuFloat>(
        &mut self,
        s: usize,
        st: &Stepper<F>,
        state: &State<F>,
        ws: Option<&Workspace<F>>,
    ) {
        let nb = self.nb;
        for (k, p) in self.probes.iter().enumerate() {
            let out = &mut self.data[(k * self.n_samples + s) * nb..][..nb];
            match st.state_entry(p, 0) {
                Some((array, first)) => {
                    let src = match array {
                        StateArray::V => &state.v,
                        StateArray::Mech(m) => &state.mech[m],
                        StateArray::Syn(g) => &state.syn[g],
                    };
                    for (o, x) in out.iter_mut().zip(&src[first..first + nb]) {
                        *o = x.to_f64();
                    }
                }
                None => {
                    for (b, o) in out.iter_mut().enumerate() {
                        *o = match ws {
                            Some(ws) => st.probe(p, state, ws, b),
                            None => st.probe_state(p, state, b),
                        };
                    }
                }
            }
        }
    }

    /// One [`Traces`] per member: a transposition, done a few members at a
    /// time so that reads stay within cache lines and writes stream.
    fn into_traces(self, dt: f64) -> Vec<Traces> {
        const CHUNK: usize = 8;
        let names: Vec<String> = self.probes.iter().map(|p| p.column_name()).collect();
        let (nb, ns) = (self.nb, self.n_samples);
        let mut out: Vec<Traces> = (0..nb)
            .map(|_| Traces::zeros(names.clone(), dt, ns))
            .collect();
        for k in 0..self.probes.len() {
            for (c, chunk) in out.chunks_mut(CHUNK).enumerate() {
                let b0 = c * CHUNK;
                for s in 0..ns {
                    let row = &self.data[(k * ns + s) * nb + b0..][..chunk.len()];
                    for (t, &x) in chunk.iter_mut().zip(row) {
                        t.trace_mut(k)[s] = x;
                    }
                }
            }
        }
        out
    }
}

/// Runs a block of members and records the layout's probes.
fn run_block<F: CpuFloat>(
    layout: &Layout,
    members: &[(&Parameters, &[Stimulus])],
    grid: TimeGrid,
    options: &RunOptions,
    source: KernelSource,
    first: usize,
) -> Result<Vec<Traces>, SimError> {
    let stepper = Stepper::<F>::new(layout, members, grid, options.scheme, source)?;
    let mut ws = stepper.workspace();
    let mut state = stepper.init(&mut ws);
    let mut rec = Recorder::new(
        layout.probes().iter().collect(),
        grid.n_samples(),
        members.len(),
    );
    rec.record(0, &stepper, &state, Some(&ws));
    for n in 0..grid.n_steps() {
        stepper.step(n, &mut state, &mut ws);
        stepper.check_stable(n, &state, first)?;
        rec.record(n + 1, &stepper, &state, Some(&ws));
    }
    Ok(rec.into_traces(grid.dt()))
}

/// A block of simulations as a reversible sequence of steps.
struct Sim<'s, 'a, F: CpuFloat> {
    stepper: &'s Stepper<'a, F>,
    ws: Workspace<F>,
    adjoint: Adjoint<'s, 'a, F>,
    first: usize,
    unstable: Option<SimError>,
}

impl<F: CpuFloat> Reversible for Sim<'_, '_, F> {
    type State = State<F>;
    type Cotangent = State<F>;

    fn forward(&mut self, k: usize, state: &mut State<F>) {
        self.stepper.step(k, state, &mut self.ws);
        if self.unstable.is_none() {
            self.unstable = self.stepper.check_stable(k, state, self.first).err();
        }
    }

    fn reverse(
        &mut self,
        k: usize,
        before: &State<F>,
        after: Option<&State<F>>,
        cot: &mut State<F>,
    ) {
        self.adjoint.step_vjp(k, before, after, cot);
    }

    fn state_bytes(&self, state: &State<F>) -> usize {
        std::mem::size_of::<F>()
            * (state.v.len()
                + state.mech.iter().map(Vec::len).sum::<usize>()
                + state.syn.iter().map(Vec::len).sum::<usize>())
            + 8 * state.spikes.len()
    }
}

/// True for probes whose values live in the step's workspace (currents and
/// reversal potentials), which gradient and tangent runs do not record.
fn in_workspace(p: &Probe) -> bool {
    matches!(
        p.source,
        Source::Current { .. } | Source::IonCurrent { .. } | Source::IonReversal { .. }
    )
}

/// The parameter a probe of a fixed ion concentration records at every
/// sample (its index in a member's parameters).
fn fixed_param(layout: &Layout, p: &Probe) -> Option<usize> {
    match p.source {
        Source::IonInside { ion, row } => {
            let site = &layout.mechs()[layout.ions()[ion].site];
            Some(site.params.start + site.rows() + row)
        }
        _ => None,
    }
}

/// Runs a block of members, evaluates the loss on each and returns their
/// gradients.
#[allow(clippy::too_many_arguments)]
fn grad_block<F: CpuFloat>(
    layout: &Layout,
    members: &[(&Parameters, &[Stimulus])],
    grid: TimeGrid,
    options: &RunOptions,
    source: KernelSource,
    loss: &dyn TraceLoss,
    schedule: &Schedule,
    first: usize,
) -> Result<Vec<ValueAndGrad>, SimError> {
    let nb = members.len();
    // Currents and reversal potentials live in the step's workspace, not in
    // the state the tape keeps: gradient runs record the other probes only.
    let (probes, skipped): (Vec<&Probe>, Vec<&Probe>) =
        layout.probes().iter().partition(|p| !in_workspace(p));
    let truncate = options.truncation_steps()?;
    let stepper = Stepper::<F>::new(layout, members, grid, options.scheme, source)?;
    let mut ws = stepper.workspace();
    let x0 = stepper.init(&mut ws);
    let mut sim = Sim {
        stepper: &stepper,
        ws,
        adjoint: Adjoint::new(&stepper),
        first,
        unstable: None,
    };
    let mut rec = Recorder::new(probes.clone(), grid.n_samples(), nb);
    let tape = ruxley_tape::forward(&mut sim, &x0, grid.n_steps(), schedule, |k, state| {
        rec.record(k, &stepper, state, None)
    })
    .map_err(|e| SimError::Input(e.to_string()))?;
    if let Some(e) = sim.unstable.take() {
        return Err(e);
    }
    let traces = rec.into_traces(grid.dt());
    let mut dtraces = Vec::with_capacity(nb);
    let mut values = Vec::with_capacity(nb);
    for (b, t) in traces.iter().enumerate() {
        let mut d = t.zeros_like();
        let value = loss.value_and_grad(first + b, t, &mut d).map_err(|e| {
            if skipped.is_empty() {
                return SimError::Input(e.to_string());
            }
            let names: Vec<String> = skipped.iter().map(|p| p.column_name()).collect();
            SimError::Input(format!(
                "{e} (gradient runs do not record currents or reversal potentials: {})",
                names.join(", ")
            ))
        })?;
        dtraces.push(d);
        values.push(value);
    }
    let entries: Vec<Vec<Option<(StateArray, usize)>>> = probes
        .iter()
        .map(|p| (0..nb).map(|b| stepper.state_entry(p, b)).collect())
        .collect();
    let mut cot = x0.zeros_like();
    let stats = ruxley_tape::reverse(
        &mut sim,
        tape,
        |k, cot: &mut State<F>| {
            // Truncated backpropagation: later samples pass nothing back
            // through the state at a segment boundary.
            if truncate.is_some_and(|every| k > 0 && k % every == 0) {
                for x in cot
                    .v
                    .iter_mut()
                    .chain(cot.mech.iter_mut().chain(&mut cot.syn).flatten())
                {
                    *x = F::zero();
                }
            }
            for (j, per_member) in entries.iter().enumerate() {
                for (b, entry) in per_member.iter().enumerate() {
                    let Some((array, i)) = *entry else { continue };
                    let g = F::of(dtraces[b].trace(j)[k]);
                    match array {
                        StateArray::V => cot.v[i] += g,
                        StateArray::Mech(m) => cot.mech[m][i] += g,
                        StateArray::Syn(s) => cot.syn[s][i] += g,
                    }
                }
            }
        },
        &mut cot,
    );
    let Sim { mut adjoint, .. } = sim;
    adjoint.init_vjp(&cot);
    let grads = adjoint.finish();
    Ok(grads
        .into_iter()
        .zip(traces)
        .zip(dtraces)
        .zip(values)
        .map(|(((mut grad, traces), dtraces), loss)| {
            // A recorded fixed concentration is its parameter at every sample.
            for (j, p) in probes.iter().enumerate() {
                if let Some(i) = fixed_param(layout, p) {
                    grad.params[i] += dtraces.trace(j).iter().sum::<f64>();
                }
            }
            ValueAndGrad {
                loss,
                params: grad.params,
                stimuli: grad.stimuli,
                traces,
                tape: stats,
            }
        })
        .collect())
}

/// Runs a block of members with tangents carried along.
fn jvp_block<F: CpuFloat>(
    layout: &Layout,
    members: &[(&Parameters, &[Stimulus])],
    grid: TimeGrid,
    options: &RunOptions,
    source: KernelSource,
    request: &JvpRequest,
    first: usize,
) -> Result<Vec<JvpResult>, SimError> {
    let nb = members.len();
    let stepper = Stepper::<F>::new(layout, members, grid, options.scheme, source)?;
    let mut ws = stepper.workspace();
    let mut state = stepper.init(&mut ws);
    let dirs = request.params.as_ref().map(|d| vec![d.clone(); nb]);
    let mut jvp = Jvp::new(&stepper, dirs.as_deref())?;
    let mut tangent = jvp.init_tangent(&state);
    if let TangentStart::Uniform { v, states } = request.start {
        for &node in layout.node_of_comp() {
            let node = node as usize;
            for x in &mut tangent.v[node * nb..(node + 1) * nb] {
                *x += F::of(v);
            }
        }
        for x in tangent.mech.iter_mut().chain(&mut tangent.syn).flatten() {
            *x += F::of(states);
        }
    }
    let probes: Vec<&Probe> = layout.probes().iter().collect();
    let mut rec = Recorder::new(probes.clone(), grid.n_samples(), nb);
    let mut trec = Recorder::new(probes, grid.n_samples(), nb);
    let mut norms = vec![Vec::new(); nb];
    if request.renormalize_every.is_some() {
        renormalize(layout, &mut tangent, nb, 0, &mut norms);
    }
    rec.record(0, &stepper, &state, Some(&ws));
    trec.record(0, &stepper, &tangent, None);
    for n in 0..grid.n_steps() {
        jvp.step(n, &mut state, &mut tangent);
        stepper.check_stable(n, &state, first)?;
        if let Some(every) = request.renormalize_every
            && every > 0
            && ((n + 1) % every == 0 || n + 1 == grid.n_steps())
        {
            renormalize(layout, &mut tangent, nb, n + 1, &mut norms);
        }
        rec.record(n + 1, &stepper, &state, Some(jvp.workspace()));
        trec.record(n + 1, &stepper, &tangent, None);
    }
    let traces = rec.into_traces(grid.dt());
    let mut tangents = trec.into_traces(grid.dt());
    // Currents and reversal potentials have no tangent here; a fixed
    // concentration's is its parameter's direction.
    for t in &mut tangents {
        for (k, p) in layout.probes().iter().enumerate() {
            if in_workspace(p) {
                t.trace_mut(k).fill(f64::NAN);
            } else if let Some(i) = fixed_param(layout, p) {
                let d = request.params.as_ref().map_or(0.0, |d| d[i]);
                t.trace_mut(k).fill(d);
            }
        }
    }
    Ok(traces
        .into_iter()
        .zip(tangents)
        .zip(norms)
        .map(|((traces, tangents), norms)| JvpResult {
            traces,
            tangents,
            norms,
        })
        .collect())
}

/// Scales each member's tangent to unit norm (over compartment voltages and
/// all states) and notes the norm it had.
fn renormalize<F: CpuFloat>(
    layout: &Layout,
    t: &mut State<F>,
    nb: usize,
    step: usize,
    norms: &mut [Vec<(usize, f64)>],
) {
    for (b, out) in norms.iter_mut().enumerate() {
        let mut sum = 0.0;
        for (i, &c) in layout.comp_of_node().iter().enumerate() {
            if c != NONE {
                let x = t.v[i * nb + b].to_f64();
                sum += x * x;
            }
        }
        for col in t.mech.iter().chain(&t.syn) {
            for x in col.iter().skip(b).step_by(nb) {
                sum += x.to_f64() * x.to_f64();
            }
        }
        let norm = sum.sqrt();
        out.push((step, norm));
        let scale = F::of(1.0 / norm);
        for x in t.v.iter_mut().skip(b).step_by(nb) {
            *x *= scale;
        }
        for col in t.mech.iter_mut().chain(&mut t.syn) {
            for x in col.iter_mut().skip(b).step_by(nb) {
                *x *= scale;
            }
        }
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn device(&self) -> String {
        format!("CPU ({} threads)", self.threads())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            precisions: vec![Precision::F64, Precision::F32],
            gradients: true,
            jvp: true,
            features: Feature::ALL.to_vec(),
            truncated_gradients: true,
        }
    }

    fn simulate(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
    ) -> Result<Vec<Traces>, SimError> {
        let (grid, n) = check_run(self, layout, &batch, options, Request::Simulate)?;
        let blocks = self.blocks(layout, n, false);
        self.per_block(&blocks, |range| {
            let first = range.start;
            let m = batch.members(range, layout);
            match options.precision {
                Precision::F64 => run_block::<f64>(layout, &m, grid, options, self.kernels, first),
                Precision::F32 => run_block::<f32>(layout, &m, grid, options, self.kernels, first),
            }
        })
    }

    fn value_and_grad(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
        loss: &dyn TraceLoss,
        schedule: &Schedule,
    ) -> Result<Vec<ValueAndGrad>, SimError> {
        let (grid, n) = check_run(self, layout, &batch, options, Request::Gradient)?;
        let blocks = self.blocks(layout, n, true);
        self.per_block(&blocks, |range| {
            let first = range.start;
            let m = batch.members(range, layout);
            let k = self.kernels;
            match options.precision {
                Precision::F64 => {
                    grad_block::<f64>(layout, &m, grid, options, k, loss, schedule, first)
                }
                Precision::F32 => {
                    grad_block::<f32>(layout, &m, grid, options, k, loss, schedule, first)
                }
            }
        })
    }

    fn jvp(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
        request: &JvpRequest,
    ) -> Result<Vec<JvpResult>, SimError> {
        let (grid, n) = check_run(self, layout, &batch, options, Request::Jvp)?;
        let blocks = self.blocks(layout, n, true);
        self.per_block(&blocks, |range| {
            let first = range.start;
            let m = batch.members(range, layout);
            let k = self.kernels;
            match options.precision {
                Precision::F64 => jvp_block::<f64>(layout, &m, grid, options, k, request, first),
                Precision::F32 => jvp_block::<f32>(layout, &m, grid, options, k, request, first),
            }
        })
    }
}
