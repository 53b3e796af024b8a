//! A second, deliberately plain backend of Ruxley: forward runs in f64, one
//! member at a time, built only from what the backend contract provides: the
//! layout's data, the shared lowering (`ruxley_backend::lower`) and the
//! mechanisms' graphs (`Channel::ir`, `Synapse::ir`), evaluated with
//! `ruxley_ir::Program`. It shares no code with the CPU backend's step; the
//! conformance suite holds both to the same references, which shows the
//! contract is enough to write a backend (a GPU backend follows the same
//! plan: one kernel per graph over the rows of a mechanism).

#![warn(missing_docs)]

use ruxley_backend::lower::{ClampDrive, Geometry, clamp_drives, delay_steps, stimulus_drives};
use ruxley_backend::{
    Backend, Batch, Capabilities, Feature, MAX_ABS_VOLTAGE, Request, RunOptions, Scheme, SimError,
    check_run,
};
use ruxley_cell::{Layout, MechKind, NONE, Parameters, Source, Stimulus};
use ruxley_channels::IonVar;
use ruxley_channels::ion::nernst_factor;
use ruxley_core::Precision;
use ruxley_ir::{Graph, Program, Scratch};
use ruxley_traces::Traces;

/// The reference backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReferenceBackend;

impl Backend for ReferenceBackend {
    fn name(&self) -> &str {
        "reference"
    }

    fn device(&self) -> String {
        "CPU (one thread, scalar)".into()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            precisions: vec![Precision::F64],
            gradients: false,
            jvp: false,
            features: Feature::ALL.to_vec(),
            truncated_gradients: false,
        }
    }

    fn simulate(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
    ) -> Result<Vec<Traces>, SimError> {
        let (_, n) = check_run(self, layout, &batch, options, Request::Simulate)?;
        (0..n)
            .map(|k| {
                let (params, stimuli) = batch.member(k, layout);
                Run::new(layout, params, stimuli, options)?.go(k)
            })
            .collect()
    }
}

/// A graph compiled once, with its scratch space and input columns.
struct Kernel {
    program: Program<f64>,
    scratch: Scratch<f64>,
}

impl Kernel {
    fn new(graph: &Graph) -> Self {
        Self {
            program: Program::new(graph),
            scratch: Scratch::default(),
        }
    }

    /// Output k of the graph at every row, into `out[k]`.
    fn run(&mut self, rows: usize, inputs: &[Vec<f64>], out: &mut [Vec<f64>]) {
        let cols: Vec<&[f64]> = inputs.iter().map(|c| c.as_slice()).collect();
        self.program
            .run(rows, &cols, &mut self.scratch, &mut |k, r, x| {
                out[k][r..r + x.len()].copy_from_slice(x)
            });
    }
}

/// One mechanism: its graphs and its values per row.
struct Mech {
    rows: usize,
    params: Vec<Vec<f64>>,
    states: Vec<Vec<f64>>,
    init: Kernel,
    advance: Kernel,
    current: Kernel,
    set_voltage: Option<Kernel>,
    i: Vec<f64>,
    g: Vec<f64>,
}

/// One synapse group.
struct Syn {
    rows: usize,
    params: Vec<Vec<f64>>,
    states: Vec<Vec<f64>>,
    init: Kernel,
    advance: Kernel,
    current: Kernel,
}

/// One member's simulation.
struct Run<'a> {
    layout: &'a Layout,
    options: RunOptions,
    n_steps: usize,
    geo: Geometry,
    stim: Vec<(usize, Vec<f64>)>,
    clamps: Vec<ClampDrive>,
    delays: Vec<Vec<u32>>,
    params: &'a Parameters,
    mechs: Vec<Mech>,
    syns: Vec<Syn>,
    v: Vec<f64>,
    /// Per ion and site row: reversal potential, inside concentration,
    /// summed current.
    ion_e: Vec<Vec<f64>>,
    ion_ci: Vec<Vec<f64>>,
    ion_i: Vec<Vec<f64>>,
    /// Per spike source: the steps in which it spiked.
    spiked: Vec<Vec<bool>>,
}

/// The columns of `values[range]`, `rows` (at least one) each.
fn columns(values: &[f64], range: std::ops::Range<usize>, rows: usize) -> Vec<Vec<f64>> {
    values[range].chunks(rows).map(|c| c.to_vec()).collect()
}

impl<'a> Run<'a> {
    fn new(
        layout: &'a Layout,
        params: &'a Parameters,
        stimuli: &[Stimulus],
        options: &RunOptions,
    ) -> Result<Self, SimError> {
        let grid = options.grid()?;
        let (dt, celsius) = (grid.dt(), layout.celsius());
        let values = params.values();
        let mechs = layout
            .mechs()
            .iter()
            .map(|ml| {
                let ir = ml.channel.ir(dt, celsius);
                let rows = ml.rows();
                Mech {
                    rows,
                    params: columns(values, ml.params.clone(), rows),
                    states: vec![vec![0.0; rows]; ir.states],
                    init: Kernel::new(&ir.init),
                    advance: Kernel::new(&ir.advance),
                    current: Kernel::new(&ir.current),
                    set_voltage: ir.set_voltage.as_ref().map(Kernel::new),
                    i: vec![0.0; rows],
                    g: vec![0.0; rows],
                }
            })
            .collect();
        let syns = layout
            .synapses()
            .iter()
            .map(|sl| {
                let ir = sl.synapse.ir(dt);
                let rows = sl.rows();
                Syn {
                    rows,
                    params: columns(values, sl.params.clone(), rows),
                    states: vec![vec![0.0; rows]; ir.states],
                    init: Kernel::new(&ir.init),
                    advance: Kernel::new(&ir.advance),
                    current: Kernel::new(&ir.current),
                }
            })
            .collect();
        let sites = |_: ()| -> Vec<Vec<f64>> {
            layout
                .ions()
                .iter()
                .map(|i| vec![0.0; layout.mechs()[i.site].rows()])
                .collect()
        };
        Ok(Self {
            layout,
            options: *options,
            n_steps: grid.n_steps(),
            geo: Geometry::new(layout, params),
            stim: stimulus_drives(layout, stimuli, &grid)?
                .into_iter()
                .map(|d| (d.node, d.current))
                .collect(),
            clamps: clamp_drives(layout, &grid)?,
            delays: delay_steps(layout, dt),
            params,
            mechs,
            syns,
            v: vec![0.0; layout.n_nodes()],
            ion_e: sites(()),
            ion_ci: sites(()),
            ion_i: sites(()),
            spiked: vec![vec![false; grid.n_steps()]; layout.spike_sources().len()],
        })
    }

    /// A channel graph's inputs at every row of mechanism `m`: v, the
    /// parameters, the states, the ion inputs.
    fn mech_inputs(&self, m: usize, zero_inputs: bool) -> Vec<Vec<f64>> {
        let ml = &self.layout.mechs()[m];
        let me = &self.mechs[m];
        let mut cols = vec![ml.nodes.iter().map(|&n| self.v[n as usize]).collect()];
        cols.extend(me.params.iter().cloned());
        cols.extend(me.states.iter().cloned());
        for input in &ml.inputs {
            let src = match input.var {
                IonVar::Reversal(_) => &self.ion_e[input.ion],
                IonVar::Inside(_) => &self.ion_ci[input.ion],
                IonVar::Current(_) => &self.ion_i[input.ion],
            };
            cols.push(
                input
                    .site_rows
                    .iter()
                    .map(|&r| if zero_inputs { 0.0 } else { src[r as usize] })
                    .collect(),
            );
        }
        cols
    }

    /// A synapse graph's inputs: v_pre, v_post, arriving spikes, the
    /// parameters, the states.
    fn syn_inputs(&self, g: usize, step: Option<usize>) -> Vec<Vec<f64>> {
        let sl = &self.layout.synapses()[g];
        let at = |nodes: &[u32]| nodes.iter().map(|&n| self.v[n as usize]).collect();
        let events = (0..sl.rows())
            .map(|r| match (step, sl.sources.get(r)) {
                (Some(n), Some(&src)) => {
                    let d = self.delays[g][r] as usize;
                    (n > d && self.spiked[src as usize][n - 1 - d]) as u8 as f64
                }
                _ => 0.0,
            })
            .collect();
        let mut cols = vec![at(&sl.pre), at(&sl.post), events];
        cols.extend(self.syns[g].params.iter().cloned());
        cols.extend(self.syns[g].states.iter().cloned());
        cols
    }

    /// Reversal potentials and inside concentrations from the pools (Nernst)
    /// or the ion sites' parameters.
    fn ion_values(&mut self) {
        for (i, il) in self.layout.ions().iter().enumerate() {
            let site = &self.mechs[il.site];
            let k = nernst_factor(&il.ion, self.layout.celsius());
            for r in 0..site.rows {
                let (pm, pr) = il.pools[r];
                if pm == NONE {
                    self.ion_e[i][r] = site.params[0][r];
                    self.ion_ci[i][r] = site.params[1][r];
                } else {
                    let ci = self.mechs[pm as usize].states[0][pr as usize];
                    self.ion_ci[i][r] = ci;
                    self.ion_e[i][r] = if ci <= 0.0 {
                        1e6
                    } else {
                        k * (site.params[2][r] / ci).ln()
                    };
                }
            }
        }
    }

    /// The initial state.
    fn init(&mut self) {
        let lay = self.layout;
        let v0 = &self.params.values()[lay.initial_voltage_range()];
        for (node, v) in self.v.iter_mut().enumerate() {
            *v = v0[lay.comp_at_node(node)];
        }
        let explicit = |values: &[f64], range: std::ops::Range<usize>, states: &mut [Vec<f64>]| {
            for (k, &x) in values[range].iter().enumerate() {
                let rows = states[0].len();
                if !x.is_nan() {
                    states[k / rows][k % rows] = x;
                }
            }
        };
        let values = self.params.values();
        // Pools: state 0 at the ion's inside concentration, the others from
        // their graph with no ion inputs.
        for il in lay.ions() {
            for (r, &(pm, pr)) in il.pools.iter().enumerate() {
                if pm != NONE {
                    let inside = self.mechs[il.site].params[1][r];
                    self.mechs[pm as usize].states[0][pr as usize] = inside;
                }
            }
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if matches!(ml.kind, MechKind::Pool { .. }) {
                let inputs = self.mech_inputs(m, true);
                let keep = self.mechs[m].states[0].clone();
                let me = &mut self.mechs[m];
                me.init.run(me.rows, &inputs, &mut me.states);
                me.states[0] = keep;
                explicit(values, ml.init_states.clone(), &mut me.states);
            }
        }
        self.ion_values();
        for (m, ml) in lay.mechs().iter().enumerate() {
            if ml.kind == MechKind::Channel && !self.mechs[m].states.is_empty() {
                let inputs = self.mech_inputs(m, false);
                let me = &mut self.mechs[m];
                me.init.run(me.rows, &inputs, &mut me.states);
                explicit(values, ml.init_states.clone(), &mut me.states);
            }
        }
        for (g, sl) in lay.synapses().iter().enumerate() {
            if self.syns[g].states.is_empty() {
                continue;
            }
            let inputs = self.syn_inputs(g, None);
            let s = &mut self.syns[g];
            s.init.run(s.rows, &inputs, &mut s.states);
            explicit(values, sl.init_states.clone(), &mut s.states);
        }
    }

    /// One step n.
    fn step(&mut self, n: usize) {
        let lay = self.layout;
        let nodes = lay.n_nodes();
        // Voltage-setting mechanisms act first.
        for m in 0..self.mechs.len() {
            if self.mechs[m].set_voltage.is_none() {
                continue;
            }
            let inputs = self.mech_inputs(m, false);
            let me = &mut self.mechs[m];
            let mut out = vec![vec![0.0; me.rows]; 1 + me.states.len()];
            me.set_voltage
                .as_mut()
                .expect("checked")
                .run(me.rows, &inputs, &mut out);
            for (r, &node) in lay.mechs()[m].nodes.iter().enumerate() {
                self.v[node as usize] = out[0][r];
            }
            me.states = out.split_off(1);
        }
        let (mut i_node, mut g_node) = (vec![0.0; nodes], vec![0.0; nodes]);
        self.ion_values();
        for x in &mut self.ion_i {
            x.fill(0.0);
        }
        // Channels: states, then current and slope.
        for (m, ml) in lay.mechs().iter().enumerate() {
            if ml.kind != MechKind::Channel {
                continue;
            }
            let inputs = self.mech_inputs(m, false);
            let me = &mut self.mechs[m];
            me.advance.run(me.rows, &inputs, &mut me.states);
            let inputs = {
                let mut c = inputs;
                let ns = me.states.len();
                let first = 1 + me.params.len();
                c[first..first + ns].clone_from_slice(&me.states);
                c
            };
            let mut out = vec![std::mem::take(&mut me.i), std::mem::take(&mut me.g)];
            me.current.run(me.rows, &inputs, &mut out);
            me.g = out.pop().expect("two outputs");
            me.i = out.pop().expect("two outputs");
            for (r, &node) in ml.nodes.iter().enumerate() {
                let a = self.geo.area_abs[node as usize];
                i_node[node as usize] += me.i[r] * a;
                g_node[node as usize] += me.g[r] * a;
            }
            if let Some((ion, site_rows)) = &ml.carries {
                for (r, &sr) in site_rows.iter().enumerate() {
                    self.ion_i[*ion][sr as usize] += me.i[r];
                }
            }
        }
        // Synapses.
        for (g, sl) in lay.synapses().iter().enumerate() {
            let inputs = self.syn_inputs(g, Some(n));
            let s = &mut self.syns[g];
            s.advance.run(s.rows, &inputs, &mut s.states);
            let mut inputs = inputs;
            let first = 3 + s.params.len();
            inputs[first..first + s.states.len()].clone_from_slice(&s.states);
            let mut out = vec![vec![0.0; s.rows]; 2];
            s.current.run(s.rows, &inputs, &mut out);
            for (r, &post) in sl.post.iter().enumerate() {
                i_node[post as usize] += out[0][r];
                g_node[post as usize] += out[1][r];
            }
        }
        // Pools, with this step's ion currents.
        for (m, ml) in lay.mechs().iter().enumerate() {
            if matches!(ml.kind, MechKind::Pool { .. }) {
                let inputs = self.mech_inputs(m, false);
                let me = &mut self.mechs[m];
                me.advance.run(me.rows, &inputs, &mut me.states);
            }
        }
        for (node, current) in &self.stim {
            i_node[*node] -= current[n];
        }
        // The implicit voltage system, clamps, and its solution.
        let h = match self.options.scheme {
            Scheme::BackwardEuler => self.options.dt,
            Scheme::CrankNicolson => 0.5 * self.options.dt,
        };
        let (mut d, mut b) = (vec![0.0; nodes], vec![0.0; nodes]);
        for k in 0..nodes {
            let c = self.geo.cap[k] * (1.0 / h);
            d[k] = c + g_node[k] + self.geo.g_sum[k];
            b[k] = (c + g_node[k]) * self.v[k] - i_node[k];
        }
        let mut g = self.geo.g_axial.clone();
        for c in &self.clamps {
            let command = c.command[n];
            if command.is_nan() {
                continue;
            }
            let target = match self.options.scheme {
                Scheme::BackwardEuler => command,
                Scheme::CrankNicolson => 0.5 * (command + self.v[c.node]),
            };
            d[c.node] = 1.0;
            b[c.node] = target;
            let p = lay.parent()[c.node];
            if p != NONE {
                b[p as usize] += g[c.node] * target;
                g[c.node] = 0.0;
            }
            for &j in &c.children {
                b[j] += g[j] * target;
                g[j] = 0.0;
            }
        }
        hines(lay.parent(), &g, &mut d, &mut b);
        for (k, src) in lay.spike_sources().iter().enumerate() {
            let (before, after) = (self.v[src.node as usize], b[src.node as usize]);
            let after = match self.options.scheme {
                Scheme::BackwardEuler => after,
                Scheme::CrankNicolson => 2.0 * after - before,
            };
            self.spiked[k][n] = before < src.threshold && after >= src.threshold;
        }
        for k in 0..nodes {
            self.v[k] = match self.options.scheme {
                Scheme::BackwardEuler => b[k],
                Scheme::CrankNicolson => 2.0 * b[k] - self.v[k],
            };
        }
    }

    /// The value of probe `k` now.
    fn probe(&self, k: usize) -> f64 {
        match self.layout.probes()[k].source {
            Source::Voltage { node } => self.v[node as usize],
            Source::State { mech, state, row } => self.mechs[mech].states[state][row],
            Source::SynapseState { group, state, row } => self.syns[group].states[state][row],
            Source::Current { mech, row } => self.mechs[mech].i[row],
            Source::IonInside { ion, row } => {
                self.mechs[self.layout.ions()[ion].site].params[1][row]
            }
            Source::IonReversal { ion, row } => self.ion_e[ion][row],
            Source::IonCurrent { ion, row } => self.ion_i[ion][row],
        }
    }

    /// Runs every step and records the probes; `member` names the member in
    /// errors.
    fn go(mut self, member: usize) -> Result<Traces, SimError> {
        let probes = self.layout.probes();
        let names = probes.iter().map(|p| p.column_name()).collect();
        let mut traces = Traces::zeros(names, self.options.dt, self.n_steps + 1);
        self.init();
        self.ion_values();
        // Currents at t = 0, as recorded before the first step.
        for (m, ml) in self.layout.mechs().iter().enumerate() {
            if ml.kind == MechKind::Channel {
                let inputs = self.mech_inputs(m, false);
                let me = &mut self.mechs[m];
                let mut out = vec![std::mem::take(&mut me.i), std::mem::take(&mut me.g)];
                me.current.run(me.rows, &inputs, &mut out);
                me.g = out.pop().expect("two outputs");
                me.i = out.pop().expect("two outputs");
                if let Some((ion, site_rows)) = &ml.carries {
                    for (r, &sr) in site_rows.iter().enumerate() {
                        self.ion_i[*ion][sr as usize] += me.i[r];
                    }
                }
            }
        }
        for k in 0..probes.len() {
            traces.trace_mut(k)[0] = self.probe(k);
        }
        for n in 0..self.n_steps {
            self.step(n);
            let within = |x: &f64| x.abs() <= MAX_ABS_VOLTAGE;
            if let Some(node) = self.v.iter().position(|x| !within(x)) {
                return Err(SimError::Unstable {
                    member,
                    step: n,
                    time: (n + 1) as f64 * self.options.dt,
                    site: self.layout.site(self.layout.comp_at_node(node)),
                    value: self.v[node],
                });
            }
            for k in 0..probes.len() {
                traces.trace_mut(k)[n + 1] = self.probe(k);
            }
        }
        Ok(traces)
    }
}

/// Solves the symmetric tree system (diagonal `d`, couplings -g[i] between
/// node i and its parent, parents before children) in place: `b` becomes
/// the solution.
fn hines(parent: &[u32], g: &[f64], d: &mut [f64], b: &mut [f64]) {
    for i in (0..parent.len()).rev() {
        let inv = 1.0 / d[i];
        d[i] = inv;
        if parent[i] != NONE {
            let p = parent[i] as usize;
            let f = g[i] * inv;
            d[p] -= f * g[i];
            b[p] += f * b[i];
        }
    }
    for i in 0..parent.len() {
        let coupled = if parent[i] == NONE {
            0.0
        } else {
            g[i] * b[parent[i] as usize]
        };
        b[i] = (b[i] + coupled) * d[i];
    }
}
