//! The time step on the CPU, for a block of batch members at once.
//!
//! Per step n (t_n -> t_{n+1}), in this order (NEURON's and Jaxley's):
//! 0. mechanisms that set the voltage (non-capacitive neurons) act;
//! 1. each channel advances its states at v_n (exponential Euler for gates);
//! 2. each channel's current i and di/dv at v_n with the new states; the
//!    membrane current is taken as i + di/dv (v - v_n) over the step; then
//!    synapses, pools and stimuli;
//! 3. one implicit solve for all voltages on the tree, backward Euler (step
//!    dt) or Crank-Nicolson (a backward half step dt/2, then
//!    v_{n+1} = 2 v_{n+1/2} - v_n);
//! 4. clamped compartments are held at their command voltage inside the solve.
//!
//! The system is assembled per node in absolute units (nF, uS, nA, mV), which
//! makes it symmetric: row i reads
//! (C_i/h + G_i + sum_j g_ij) v_i - sum_j g_ij v_j = (C_i/h + G_i) v_i^n - I_i + I_stim,
//! with C_i the membrane capacitance, G_i = di/dv and I_i the channel current
//! over the compartment's area, and g_ij the axial conductances. Branch points
//! have no membrane.
//!
//! A block of `nb` members shares the layout; every per-node, per-row and
//! per-site array holds the members' values side by side (member fastest:
//! entry `i * nb + k` is row i of member k), so that mechanism kernels and
//! the tree solve run across members in SIMD lanes. A member's arithmetic is
//! the same whatever the block, so its results do not depend on the batch.

use ruxley_backend::lower::{ClampDrive, Geometry, clamp_drives, delay_steps, stimulus_drives};
use ruxley_backend::{MAX_ABS_VOLTAGE, Scheme, SimError};
use ruxley_cell::{Layout, MechKind, NONE, Parameters, Probe, Source, Stimulus};
use ruxley_channels::ion::nernst_factor;
use ruxley_channels::{ChannelEnv, Columns, ColumnsMut, IonVar};
use ruxley_core::TimeGrid;
use ruxley_synapses::SynapseEnv;

use crate::kernels::{self, ChannelKernel, CpuFloat, KernelSource, SynapseKernel};
use crate::tree::solve_tree;

/// The dynamic state of a block of simulations.
#[derive(Debug, Clone, PartialEq)]
pub struct State<F> {
    /// Voltage of every node (mV), `[node][member]`.
    pub v: Vec<F>,
    /// States of each mechanism, `[state][row][member]`.
    pub mech: Vec<Vec<F>>,
    /// States of each synapse group, `[state][row][member]`.
    pub syn: Vec<Vec<F>>,
    /// The recent spikes of each spike source: a ring of one bit per step,
    /// `[source][member][word]` (empty in tangents and cotangents).
    pub spikes: Vec<u64>,
}

impl<F: CpuFloat> State<F> {
    /// A state of zeros shaped like this one (without spikes), for tangents
    /// and cotangents.
    pub fn zeros_like(&self) -> Self {
        let zeros = |x: &Vec<Vec<F>>| x.iter().map(|m| vec![F::zero(); m.len()]).collect();
        Self {
            v: vec![F::zero(); self.v.len()],
            mech: zeros(&self.mech),
            syn: zeros(&self.syn),
            spikes: Vec::new(),
        }
    }
}

/// Scratch buffers of the step, allocated once per simulation.
#[derive(Debug, Clone)]
pub struct Workspace<F> {
    pub(crate) d: Vec<F>,
    pub(crate) b: Vec<F>,
    pub(crate) g_off: Vec<F>,
    pub(crate) i_node: Vec<F>,
    pub(crate) g_node: Vec<F>,
    pub(crate) mech_v: Vec<Vec<F>>,
    pub(crate) mech_i: Vec<Vec<F>>,
    pub(crate) mech_g: Vec<Vec<F>>,
    /// Each mechanism's ion inputs, `[input][row][member]`.
    pub(crate) mech_in: Vec<Vec<F>>,
    /// The voltages a voltage-setting mechanism writes, per row.
    pub(crate) mech_vout: Vec<Vec<F>>,
    /// Per ion and site row: the reversal potential (mV), the inside
    /// concentration (mM) and the summed current density (mA/cm2).
    pub(crate) ion_e: Vec<Vec<F>>,
    pub(crate) ion_ci: Vec<Vec<F>>,
    pub(crate) ion_i: Vec<Vec<F>>,
    /// Per synapse group and row: the voltages at both ends, the arriving
    /// spikes, the current and its slope.
    pub(crate) syn_pre: Vec<Vec<F>>,
    pub(crate) syn_post: Vec<Vec<F>>,
    pub(crate) syn_events: Vec<Vec<F>>,
    pub(crate) syn_i: Vec<Vec<F>>,
    pub(crate) syn_g: Vec<Vec<F>>,
    /// The voltage of each spike source before the step's solve.
    pub(crate) src_v: Vec<F>,
    /// Per mechanism: its fixed ion inputs are gathered (see
    /// `Stepper::fixed_inputs`); they are read after the first ion values.
    fixed_ready: Vec<bool>,
    /// Per ion: its values are set and fixed (an ion without pools).
    fixed_ready_ions: Vec<bool>,
}

/// A stimulus: its node, its current in each step, and the members it
/// drives (all of the block when they share their stimuli, else one).
#[derive(Debug, Clone)]
pub(crate) struct Drive<F> {
    pub(crate) node: usize,
    pub(crate) members: std::ops::Range<usize>,
    pub(crate) current: Vec<F>,
}

/// The members' values of `block` of each member's parameter vector,
/// side by side (member fastest).
fn interleave<F: CpuFloat>(members: &[&Parameters], range: std::ops::Range<usize>) -> Vec<F> {
    let nb = members.len();
    let len = range.len();
    let mut out = vec![F::zero(); len * nb];
    for (b, p) in members.iter().enumerate() {
        for (j, &x) in p.values()[range.clone()].iter().enumerate() {
            out[j * nb + b] = F::of(x);
        }
    }
    out
}

/// The step of a block of simulations: a layout, the members' parameter and
/// stimulus sets and the numeric constants derived from them.
pub struct Stepper<'a, F: CpuFloat> {
    pub(crate) layout: &'a Layout,
    pub(crate) nb: usize,
    pub(crate) grid: TimeGrid,
    pub(crate) scheme: Scheme,
    pub(crate) params: Vec<&'a Parameters>,
    /// Each member's geometry (f64).
    pub(crate) geometry: Vec<Geometry>,
    /// Membrane capacitance per node (nF); 0 at branch points.
    pub(crate) cap: Vec<F>,
    /// Axial conductance between each node and its parent (uS).
    pub(crate) g_axial: Vec<F>,
    /// Sum of the axial conductances at each node (uS).
    pub(crate) g_sum: Vec<F>,
    /// Area factor per node: density (per cm2) to absolute; 0 at branch points.
    pub(crate) area_abs: Vec<F>,
    /// Initial voltage per compartment.
    pub(crate) v0: Vec<F>,
    /// Per mechanism: its parameters and explicit initial states (NaN for
    /// the steady state), `[column][row][member]`.
    pub(crate) mech_params: Vec<Vec<F>>,
    pub(crate) mech_init: Vec<Vec<F>>,
    /// Per synapse group: the same.
    pub(crate) syn_params: Vec<Vec<F>>,
    pub(crate) syn_init: Vec<Vec<F>>,
    pub(crate) kernels: Vec<ChannelKernel<'a, F>>,
    pub(crate) syn_kernels: Vec<SynapseKernel<'a, F>>,
    pub(crate) stim: Vec<Drive<F>>,
    pub(crate) clamps: Vec<ClampDrive>,
    /// Per synapse group: the delay of each row in steps.
    pub(crate) delay_steps: Vec<Vec<u32>>,
    /// The mechanisms that set voltages at the start of each step.
    pub(crate) voltage_mechs: Vec<usize>,
    /// Per mechanism and ion input: true where the input never changes in
    /// a run (a channel reading a reversal potential or concentration that
    /// no pool moves), so that it is gathered once per workspace.
    fixed_inputs: Vec<Vec<bool>>,
    /// Per ion: true if some channel's current is added to it.
    carried_ions: Vec<bool>,
    /// Per ion: true if no pool moves it, so that its values are set once
    /// per workspace.
    fixed_ions: Vec<bool>,
    /// The length of the spike rings (steps) and their words per source.
    ring_len: usize,
    ring_words: usize,
}

impl<'a, F: CpuFloat> Stepper<'a, F> {
    /// Prepares the step for a block of members (each a validated
    /// parameter set and its stimuli).
    pub fn new(
        layout: &'a Layout,
        members: &[(&'a Parameters, &'a [Stimulus])],
        grid: TimeGrid,
        scheme: Scheme,
        source: KernelSource,
    ) -> Result<Self, SimError> {
        let nb = members.len();
        assert!(nb > 0, "a block has members");
        let params: Vec<&Parameters> = members.iter().map(|m| m.0).collect();
        let geometry: Vec<Geometry> = params.iter().map(|p| Geometry::new(layout, p)).collect();
        let n = layout.n_nodes();
        let side_by_side = |f: &dyn Fn(&Geometry) -> &[f64]| {
            let mut out = vec![F::zero(); n * nb];
            for (b, g) in geometry.iter().enumerate() {
                for (i, &x) in f(g).iter().enumerate() {
                    out[i * nb + b] = F::of(x);
                }
            }
            out
        };
        // Members that share one stimulus set (the model's own, usually)
        // share its drives.
        let first = members[0].1;
        let shared = members
            .iter()
            .all(|m| std::ptr::eq(m.1, first) || m.1 == first);
        let mut stim = Vec::new();
        for (b, (_, stimuli)) in members.iter().enumerate() {
            if shared && b > 0 {
                break;
            }
            let covered = if shared { 0..nb } else { b..b + 1 };
            stim.extend(
                stimulus_drives(layout, stimuli, &grid)?
                    .into_iter()
                    .map(|d| Drive {
                        node: d.node,
                        members: covered.clone(),
                        current: d.current.into_iter().map(F::of).collect(),
                    }),
            );
        }
        let delay_steps = delay_steps(layout, grid.dt());
        let ring_len = 1 + delay_steps.iter().flatten().copied().max().unwrap_or(0) as usize;
        let (dt, celsius) = (grid.dt(), layout.celsius());
        Ok(Self {
            layout,
            nb,
            grid,
            scheme,
            cap: side_by_side(&|g| &g.cap),
            g_axial: side_by_side(&|g| &g.g_axial),
            g_sum: side_by_side(&|g| &g.g_sum),
            area_abs: side_by_side(&|g| &g.area_abs),
            v0: interleave(&params, layout.initial_voltage_range()),
            mech_params: layout
                .mechs()
                .iter()
                .map(|m| interleave(&params, m.params.clone()))
                .collect(),
            mech_init: layout
                .mechs()
                .iter()
                .map(|m| interleave(&params, m.init_states.clone()))
                .collect(),
            syn_params: layout
                .synapses()
                .iter()
                .map(|g| interleave(&params, g.params.clone()))
                .collect(),
            syn_init: layout
                .synapses()
                .iter()
                .map(|g| interleave(&params, g.init_states.clone()))
                .collect(),
            kernels: layout
                .mechs()
                .iter()
                .map(|m| kernels::channel(m.channel.as_ref(), source, dt, celsius))
                .collect(),
            syn_kernels: layout
                .synapses()
                .iter()
                .map(|g| kernels::synapse(g.synapse.as_ref(), source, dt))
                .collect(),
            params,
            geometry,
            stim,
            clamps: clamp_drives(layout, &grid)?,
            delay_steps,
            ring_len,
            ring_words: ring_len.div_ceil(64),
            voltage_mechs: layout
                .mechs()
                .iter()
                .enumerate()
                .filter(|(_, m)| m.channel.sets_voltage())
                .map(|(k, _)| k)
                .collect(),
            fixed_ions: layout
                .ions()
                .iter()
                .map(|il| il.pools.iter().all(|&(pm, _)| pm == NONE))
                .collect(),
            carried_ions: (0..layout.ions().len())
                .map(|i| {
                    layout
                        .mechs()
                        .iter()
                        .any(|m| m.carries.as_ref().is_some_and(|(ion, _)| *ion == i))
                })
                .collect(),
            fixed_inputs: layout
                .mechs()
                .iter()
                .map(|m| {
                    let channel = m.kind == MechKind::Channel && !m.channel.sets_voltage();
                    m.inputs
                        .iter()
                        .map(|input| {
                            let pools = &layout.ions()[input.ion].pools;
                            channel
                                && !matches!(input.var, IonVar::Current(_))
                                && input
                                    .site_rows
                                    .iter()
                                    .all(|&sr| pools[sr as usize].0 == NONE)
                        })
                        .collect()
                })
                .collect(),
        })
    }

    /// The rows of mechanism `m` times the members: the length of its
    /// columns.
    pub(crate) fn mech_len(&self, m: usize) -> usize {
        self.layout.mechs()[m].rows() * self.nb
    }

    /// The rows of synapse group `g` times the members.
    pub(crate) fn syn_len(&self, g: usize) -> usize {
        self.layout.synapses()[g].rows() * self.nb
    }

    /// The kernel environment of mechanism `m` with voltages `v` and ion
    /// inputs `inputs`.
    pub(crate) fn env<'v>(&self, m: usize, v: &'v [F], inputs: &'v [F]) -> ChannelEnv<'v, F> {
        ChannelEnv {
            v,
            dt: self.grid.dt(),
            celsius: self.layout.celsius(),
            inputs: Columns::new(inputs, self.mech_len(m)),
        }
    }

    /// The parameter columns of mechanism `m`.
    pub(crate) fn params_of(&self, m: usize) -> Columns<'_, F> {
        Columns::new(&self.mech_params[m], self.mech_len(m))
    }

    /// The parameter columns of synapse group `g`.
    pub(crate) fn syn_params_of(&self, g: usize) -> Columns<'_, F> {
        Columns::new(&self.syn_params[g], self.syn_len(g))
    }

    /// Buffers for [`Stepper::step`].
    pub fn workspace(&self) -> Workspace<F> {
        let (n, nb) = (self.layout.n_nodes(), self.nb);
        let mechs = self.layout.mechs();
        let z = |len: usize| vec![F::zero(); len];
        let per_mech = |f: &dyn Fn(usize) -> usize| -> Vec<Vec<F>> {
            (0..mechs.len()).map(|m| z(f(m))).collect()
        };
        let sites = || -> Vec<Vec<F>> {
            self.layout
                .ions()
                .iter()
                .map(|i| z(mechs[i.site].rows() * nb))
                .collect()
        };
        let syn_rows = || -> Vec<Vec<F>> {
            (0..self.layout.synapses().len())
                .map(|g| z(self.syn_len(g)))
                .collect()
        };
        Workspace {
            d: z(n * nb),
            b: z(n * nb),
            g_off: self.g_axial.clone(),
            i_node: z(n * nb),
            g_node: z(n * nb),
            mech_v: per_mech(&|m| self.mech_len(m)),
            mech_i: per_mech(&|m| self.mech_len(m)),
            mech_g: per_mech(&|m| self.mech_len(m)),
            mech_in: per_mech(&|m| self.mech_len(m) * mechs[m].inputs.len()),
            mech_vout: per_mech(&|m| {
                if mechs[m].channel.sets_voltage() {
                    self.mech_len(m)
                } else {
                    0
                }
            }),
            ion_e: sites(),
            ion_ci: sites(),
            ion_i: sites(),
            syn_pre: syn_rows(),
            syn_post: syn_rows(),
            syn_events: syn_rows(),
            syn_i: syn_rows(),
            syn_g: syn_rows(),
            src_v: z(self.layout.spike_sources().len() * nb),
            fixed_ready: vec![false; mechs.len()],
            fixed_ready_ions: vec![false; self.layout.ions().len()],
        }
    }

    /// The environment of synapse group `g` from the workspace.
    pub(crate) fn syn_env<'w>(&self, g: usize, ws: &'w Workspace<F>) -> SynapseEnv<'w, F> {
        SynapseEnv {
            v_pre: &ws.syn_pre[g],
            v_post: &ws.syn_post[g],
            events: &ws.syn_events[g],
            dt: self.grid.dt(),
        }
    }

    /// Copies the voltages at both ends of synapse group `g` and the spikes
    /// arriving in step `n` into the workspace.
    pub(crate) fn gather_synapses(
        &self,
        g: usize,
        n: usize,
        v: &[F],
        spikes: &[u64],
        ws: &mut Workspace<F>,
    ) {
        let nb = self.nb;
        let sl = &self.layout.synapses()[g];
        gather_rows(&sl.pre, v, &mut ws.syn_pre[g], nb);
        gather_rows(&sl.post, v, &mut ws.syn_post[g], nb);
        if sl.sources.is_empty() {
            return;
        }
        for (r, (&src, &d)) in sl.sources.iter().zip(&self.delay_steps[g]).enumerate() {
            let d = d as usize;
            for b in 0..nb {
                ws.syn_events[g][r * nb + b] = if n > d {
                    let pos = (n - 1 - d) % self.ring_len;
                    let word = spikes[(src as usize * nb + b) * self.ring_words + pos / 64];
                    F::of(((word >> (pos % 64)) & 1) as f64)
                } else {
                    F::zero()
                };
            }
        }
    }

    /// The inside concentration and reversal potential of every ion at the
    /// start of a step: from the pools' states where pools live (Nernst),
    /// from the sites' parameters elsewhere.
    pub(crate) fn ion_values(&self, states: &[Vec<F>], ws: &mut Workspace<F>) {
        let nb = self.nb;
        let celsius = self.layout.celsius();
        for (i, il) in self.layout.ions().iter().enumerate() {
            // An ion without pools keeps its parameters' values all run.
            if self.fixed_ions[i] && ws.fixed_ready_ions[i] {
                continue;
            }
            ws.fixed_ready_ions[i] = self.fixed_ions[i];
            let rows = self.layout.mechs()[il.site].rows();
            let p = &self.mech_params[il.site];
            let k = F::of(nernst_factor(&il.ion, celsius));
            for r in 0..rows {
                let (pm, pr) = il.pools[r];
                for b in 0..nb {
                    let j = r * nb + b;
                    if pm == NONE {
                        ws.ion_e[i][j] = p[j];
                        ws.ion_ci[i][j] = p[rows * nb + j];
                    } else {
                        let ci = states[pm as usize][pr as usize * nb + b];
                        let co = p[2 * rows * nb + j];
                        ws.ion_ci[i][j] = ci;
                        // NEURON: +1e6 mV where ci <= 0.
                        ws.ion_e[i][j] = if ci <= F::zero() {
                            F::of(1e6)
                        } else {
                            k * (co / ci).ln()
                        };
                    }
                }
            }
        }
    }

    /// Zeroes the summed currents of the ions some channel carries (the
    /// others stay zero).
    fn clear_ion_currents(&self, ws: &mut Workspace<F>) {
        for (x, &carried) in ws.ion_i.iter_mut().zip(&self.carried_ions) {
            if carried {
                x.fill(F::zero());
            }
        }
    }

    /// Copies the voltages and ion inputs of mechanism `m` into its buffers.
    pub(crate) fn gather(&self, m: usize, v: &[F], ws: &mut Workspace<F>) {
        let nb = self.nb;
        let ml = &self.layout.mechs()[m];
        gather_rows(&ml.nodes, v, &mut ws.mech_v[m], nb);
        let len = self.mech_len(m);
        let fixed = &self.fixed_inputs[m];
        for (j, input) in ml.inputs.iter().enumerate() {
            if fixed[j] && ws.fixed_ready[m] {
                continue;
            }
            let src = match input.var {
                IonVar::Reversal(_) => &ws.ion_e[input.ion],
                IonVar::Inside(_) => &ws.ion_ci[input.ion],
                IonVar::Current(_) => &ws.ion_i[input.ion],
            };
            gather_rows(
                &input.site_rows,
                src,
                &mut ws.mech_in[m][j * len..(j + 1) * len],
                nb,
            );
        }
        if fixed.contains(&true) {
            ws.fixed_ready[m] = true;
        }
    }

    /// Adds mechanism `m`'s currents of this step to its ion's.
    pub(crate) fn carry(&self, m: usize, mi: &[F], ion_i: &mut [Vec<F>]) {
        let nb = self.nb;
        if let Some((ion, site_rows)) = &self.layout.mechs()[m].carries {
            for (r, &sr) in site_rows.iter().enumerate() {
                let sr = sr as usize;
                for b in 0..nb {
                    ion_i[*ion][sr * nb + b] += mi[r * nb + b];
                }
            }
        }
    }

    /// Replaces the values of `s` that the members set explicitly.
    fn explicit(given: &[F], s: &mut [F]) {
        for (x, &g) in s.iter_mut().zip(given) {
            if !g.is_nan() {
                *x = g;
            }
        }
    }

    /// The initial state: voltages from the parameters, pools at their
    /// ion's inside concentration, channel states at their steady state,
    /// each unless set explicitly; also fills the workspace's channel and ion
    /// currents for recording at t = 0.
    pub fn init(&self, ws: &mut Workspace<F>) -> State<F> {
        let (lay, nb) = (self.layout, self.nb);
        let mut v = vec![F::zero(); lay.n_nodes() * nb];
        for (node, v) in v.chunks_exact_mut(nb).enumerate() {
            let c = lay.comp_at_node(node);
            v.copy_from_slice(&self.v0[c * nb..(c + 1) * nb]);
        }
        let mut mech: Vec<Vec<F>> = lay
            .mechs()
            .iter()
            .enumerate()
            .map(|(m, ml)| vec![F::zero(); self.mech_len(m) * ml.channel.states().len()])
            .collect();
        // Pools first: their concentrations set the ions' reversal potentials,
        // which the channels' steady states may read.
        for ion in lay.ions() {
            let rows = lay.mechs()[ion.site].rows();
            let inside = &self.mech_params[ion.site][rows * nb..2 * rows * nb];
            for (r, &(pm, pr)) in ion.pools.iter().enumerate() {
                if pm != NONE {
                    let pr = pr as usize;
                    mech[pm as usize][pr * nb..(pr + 1) * nb]
                        .copy_from_slice(&inside[r * nb..(r + 1) * nb]);
                }
            }
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if matches!(ml.kind, MechKind::Pool { .. }) {
                self.gather(m, &v, ws);
                ws.mech_in[m].fill(F::zero());
                let len = self.mech_len(m);
                let keep = mech[m][..len].to_vec();
                self.kernels[m].init_states(
                    &self.env(m, &ws.mech_v[m], &ws.mech_in[m]),
                    self.params_of(m),
                    ColumnsMut::new(&mut mech[m], len),
                );
                mech[m][..len].copy_from_slice(&keep);
                Self::explicit(&self.mech_init[m], &mut mech[m]);
            }
        }
        self.ion_values(&mech, ws);
        self.clear_ion_currents(ws);
        for (m, ml) in lay.mechs().iter().enumerate() {
            if ml.kind != MechKind::Channel {
                continue;
            }
            let len = self.mech_len(m);
            self.gather(m, &v, ws);
            let env = self.env(m, &ws.mech_v[m], &ws.mech_in[m]);
            let k = &self.kernels[m];
            k.init_states(&env, self.params_of(m), ColumnsMut::new(&mut mech[m], len));
            Self::explicit(&self.mech_init[m], &mut mech[m]);
            k.current(
                &env,
                self.params_of(m),
                Columns::new(&mech[m], len),
                &mut ws.mech_i[m],
                &mut ws.mech_g[m],
            );
            self.carry(m, &ws.mech_i[m], &mut ws.ion_i);
        }
        let mut syn = Vec::with_capacity(lay.synapses().len());
        for (g, sl) in lay.synapses().iter().enumerate() {
            let len = self.syn_len(g);
            self.gather_synapses(g, 0, &v, &[], ws);
            let mut s = vec![F::zero(); len * sl.synapse.states().len()];
            self.syn_kernels[g].init_states(
                &self.syn_env(g, ws),
                self.syn_params_of(g),
                ColumnsMut::new(&mut s, len),
            );
            Self::explicit(&self.syn_init[g], &mut s);
            syn.push(s);
        }
        let spikes = vec![0; lay.spike_sources().len() * nb * self.ring_words];
        State {
            v,
            mech,
            syn,
            spikes,
        }
    }

    /// Advances `state` by step `n` (from t_n to t_{n+1}). Allocates nothing.
    pub fn step(&self, n: usize, state: &mut State<F>, ws: &mut Workspace<F>) {
        self.set_voltages(&mut state.v, &mut state.mech, ws);
        self.membrane(n, state, ws);
        self.assemble(&state.v, ws);
        let g = if self.clamp_rows(n, &state.v, ws) {
            &ws.g_off
        } else {
            &self.g_axial
        };
        solve_tree(self.layout.parent(), g, &mut ws.d, &mut ws.b, self.nb);
        self.save_sources(&state.v, ws);
        self.update(&mut state.v, &ws.b);
        self.record_spikes(n, state, ws);
    }

    /// Keeps the voltage of every spike source before the solve.
    pub(crate) fn save_sources(&self, v: &[F], ws: &mut Workspace<F>) {
        let nb = self.nb;
        for (k, src) in self.layout.spike_sources().iter().enumerate() {
            let node = src.node as usize;
            ws.src_v[k * nb..(k + 1) * nb].copy_from_slice(&v[node * nb..(node + 1) * nb]);
        }
    }

    /// Lets the mechanisms that set voltages (non-capacitive neurons) replace
    /// `v` and their states at the start of a step.
    pub(crate) fn set_voltages(&self, v: &mut [F], mech: &mut [Vec<F>], ws: &mut Workspace<F>) {
        let nb = self.nb;
        for &m in &self.voltage_mechs {
            let ml = &self.layout.mechs()[m];
            self.gather(m, v, ws);
            ws.mech_vout[m].copy_from_slice(&ws.mech_v[m]);
            self.kernels[m].set_voltage(
                &self.env(m, &ws.mech_v[m], &ws.mech_in[m]),
                self.params_of(m),
                ColumnsMut::new(&mut mech[m], self.mech_len(m)),
                &mut ws.mech_vout[m],
            );
            for (r, &node) in ml.nodes.iter().enumerate() {
                let node = node as usize;
                v[node * nb..(node + 1) * nb]
                    .copy_from_slice(&ws.mech_vout[m][r * nb..(r + 1) * nb]);
            }
        }
    }

    /// Writes into the spike rings whether each source crossed its threshold
    /// upwards in step `n`.
    pub(crate) fn record_spikes(&self, n: usize, state: &mut State<F>, ws: &Workspace<F>) {
        let nb = self.nb;
        let pos = n % self.ring_len;
        let (word, bit) = (pos / 64, 1u64 << (pos % 64));
        for (k, src) in self.layout.spike_sources().iter().enumerate() {
            let th = F::of(src.threshold);
            for b in 0..nb {
                let after = state.v[src.node as usize * nb + b];
                let w = &mut state.spikes[(k * nb + b) * self.ring_words + word];
                if ws.src_v[k * nb + b] < th && after >= th {
                    *w |= bit;
                } else {
                    *w &= !bit;
                }
            }
        }
    }

    /// Phases 1 and 2 of a step: advances the channel and synapse states at
    /// the voltages of `state` and sums the membrane and synaptic currents,
    /// conductances and stimuli per node.
    pub(crate) fn membrane(&self, n: usize, state: &mut State<F>, ws: &mut Workspace<F>) {
        self.membrane_with(
            n,
            &state.v,
            &mut state.mech,
            &mut state.syn,
            &state.spikes,
            ws,
            true,
        );
    }

    /// [`Stepper::membrane`], optionally with the channels' `states`
    /// already advanced (pools, which advance after the currents, are then
    /// left as they are).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn membrane_with(
        &self,
        n: usize,
        v: &[F],
        states: &mut [Vec<F>],
        syn: &mut [Vec<F>],
        spikes: &[u64],
        ws: &mut Workspace<F>,
        advance: bool,
    ) {
        let (lay, nb) = (self.layout, self.nb);
        ws.i_node.fill(F::zero());
        ws.g_node.fill(F::zero());
        if lay.has_ions() {
            self.ion_values(states, ws);
            self.clear_ion_currents(ws);
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if ml.kind != MechKind::Channel {
                continue;
            }
            let len = self.mech_len(m);
            self.gather(m, v, ws);
            let env = self.env(m, &ws.mech_v[m], &ws.mech_in[m]);
            let params = self.params_of(m);
            let s = &mut states[m];
            let k = &self.kernels[m];
            if advance {
                k.advance_states(&env, params, ColumnsMut::new(s, len));
            }
            let (mi, mg) = (&mut ws.mech_i[m], &mut ws.mech_g[m]);
            k.current(&env, params, Columns::new(s, len), mi, mg);
            if nb == 1 {
                for (r, &node) in ml.nodes.iter().enumerate() {
                    let node = node as usize;
                    let a = self.area_abs[node];
                    ws.i_node[node] += mi[r] * a;
                    ws.g_node[node] += mg[r] * a;
                }
            } else {
                for (r, &node) in ml.nodes.iter().enumerate() {
                    let node = node as usize;
                    for b in 0..nb {
                        let (j, x) = (node * nb + b, r * nb + b);
                        let a = self.area_abs[j];
                        ws.i_node[j] += mi[x] * a;
                        ws.g_node[j] += mg[x] * a;
                    }
                }
            }
            self.carry(m, &ws.mech_i[m], &mut ws.ion_i);
        }
        for (g, sl) in lay.synapses().iter().enumerate() {
            let len = self.syn_len(g);
            self.gather_synapses(g, n, v, spikes, ws);
            let params = self.syn_params_of(g);
            let env = SynapseEnv {
                v_pre: &ws.syn_pre[g],
                v_post: &ws.syn_post[g],
                events: &ws.syn_events[g],
                dt: self.grid.dt(),
            };
            let k = &self.syn_kernels[g];
            if advance {
                k.advance_states(&env, params, ColumnsMut::new(&mut syn[g], len));
            }
            k.current(
                &env,
                params,
                Columns::new(&syn[g], len),
                &mut ws.syn_i[g],
                &mut ws.syn_g[g],
            );
            for r in 0..sl.rows() {
                let post = sl.post[r] as usize;
                for b in 0..nb {
                    ws.i_node[post * nb + b] += ws.syn_i[g][r * nb + b];
                    ws.g_node[post * nb + b] += ws.syn_g[g][r * nb + b];
                }
            }
        }
        // Pools advance with the ion currents of this step.
        for (m, ml) in lay.mechs().iter().enumerate() {
            if !matches!(ml.kind, MechKind::Pool { .. }) {
                continue;
            }
            self.gather(m, v, ws);
            if advance {
                let len = self.mech_len(m);
                let env = self.env(m, &ws.mech_v[m], &ws.mech_in[m]);
                self.kernels[m].advance_states(
                    &env,
                    self.params_of(m),
                    ColumnsMut::new(&mut states[m], len),
                );
            }
        }
        for d in &self.stim {
            let x = d.current[n];
            for b in d.members.clone() {
                ws.i_node[d.node * nb + b] -= x;
            }
        }
    }

    /// The implicit step size: dt, or dt/2 under Crank-Nicolson.
    pub(crate) fn h(&self) -> f64 {
        match self.scheme {
            Scheme::BackwardEuler => self.grid.dt(),
            Scheme::CrankNicolson => 0.5 * self.grid.dt(),
        }
    }

    /// Phase 3: the diagonal `d` and right-hand side `b` of the voltage system.
    pub(crate) fn assemble(&self, v: &[F], ws: &mut Workspace<F>) {
        let inv_h = F::of(1.0 / self.h());
        for i in 0..v.len() {
            let c = self.cap[i] * inv_h;
            ws.d[i] = c + ws.g_node[i] + self.g_sum[i];
            ws.b[i] = (c + ws.g_node[i]) * v[i] - ws.i_node[i];
        }
    }

    /// Rewrites the rows of nodes clamped in step `n`; true if the solve must
    /// then use the decoupled couplings `ws.g_off` instead of the axial ones.
    pub(crate) fn clamp_rows(&self, n: usize, v: &[F], ws: &mut Workspace<F>) -> bool {
        if self.clamps.is_empty() {
            return false;
        }
        self.apply_clamps(n, v, ws);
        true
    }

    /// Phase 3, last part: v_{n+1} from the solution x of the system.
    pub(crate) fn update(&self, v: &mut [F], x: &[F]) {
        match self.scheme {
            Scheme::BackwardEuler => v.copy_from_slice(x),
            Scheme::CrankNicolson => {
                let two = F::of(2.0);
                for (v, x) in v.iter_mut().zip(x) {
                    *v = two * *x - *v;
                }
            }
        }
    }

    /// Turns the rows of clamped nodes into v = command and moves their
    /// coupling to the neighbours' right-hand sides (keeping symmetry).
    fn apply_clamps(&self, n: usize, v: &[F], ws: &mut Workspace<F>) {
        let nb = self.nb;
        ws.g_off.copy_from_slice(&self.g_axial);
        for c in &self.clamps {
            let command = c.command[n];
            if command.is_nan() {
                continue;
            }
            let p = self.layout.parent()[c.node];
            for b in 0..nb {
                let i = c.node * nb + b;
                // The solve yields v at the half step under Crank-Nicolson.
                let target = match self.scheme {
                    Scheme::BackwardEuler => F::of(command),
                    Scheme::CrankNicolson => F::of(0.5) * (F::of(command) + v[i]),
                };
                ws.d[i] = F::one();
                ws.b[i] = target;
                if p != NONE {
                    ws.b[p as usize * nb + b] += ws.g_off[i] * target;
                    ws.g_off[i] = F::zero();
                }
                for &j in &c.children {
                    let j = j * nb + b;
                    ws.b[j] += ws.g_off[j] * target;
                    ws.g_off[j] = F::zero();
                }
            }
        }
    }

    /// Checks that every voltage is finite and within [`MAX_ABS_VOLTAGE`]
    /// after step `n`; members are numbered from `first`.
    pub fn check_stable(&self, n: usize, state: &State<F>, first: usize) -> Result<(), SimError> {
        // Written so that NaN fails the comparison; a branch-free pass
        // first (it vectorises), the search only on failure.
        let limit = F::of(MAX_ABS_VOLTAGE);
        let ok = |x: &F| x.abs() <= limit;
        if state.v.iter().fold(true, |all, x| all & ok(x)) {
            return Ok(());
        }
        let k = state.v.iter().position(|x| !ok(x)).expect("a value failed");
        let (node, b) = (k / self.nb, k % self.nb);
        Err(SimError::Unstable {
            member: first + b,
            step: n,
            time: self.grid.time(n + 1),
            site: self.layout.site(self.layout.comp_at_node(node)),
            value: state.v[k].to_f64(),
        })
    }

    /// Where a probe reads in the state: the array and the entry of member
    /// `b` (None for currents and reversal potentials, which live in the
    /// workspace of the step, and for fixed concentrations, parameters).
    pub(crate) fn state_entry(&self, probe: &Probe, b: usize) -> Option<(StateArray, usize)> {
        let nb = self.nb;
        match probe.source {
            Source::Voltage { node } => Some((StateArray::V, node as usize * nb + b)),
            Source::State { mech, state, row } => Some((
                StateArray::Mech(mech),
                (state * self.layout.mechs()[mech].rows() + row) * nb + b,
            )),
            Source::SynapseState { group, state, row } => Some((
                StateArray::Syn(group),
                (state * self.layout.synapses()[group].rows() + row) * nb + b,
            )),
            _ => None,
        }
    }

    /// The value of a voltage or state probe for member `b` (NaN for a
    /// current or reversal probe, whose value lives in the workspace of the
    /// step).
    pub fn probe_state(&self, probe: &Probe, state: &State<F>, b: usize) -> f64 {
        let nb = self.nb;
        if let Source::IonInside { ion, row } = probe.source {
            let site = self.layout.ions()[ion].site;
            let rows = self.layout.mechs()[site].rows();
            return self.mech_params[site][(rows + row) * nb + b].to_f64();
        }
        match self.state_entry(probe, b) {
            Some((StateArray::V, k)) => state.v[k].to_f64(),
            Some((StateArray::Mech(m), k)) => state.mech[m][k].to_f64(),
            Some((StateArray::Syn(g), k)) => state.syn[g][k].to_f64(),
            None => f64::NAN,
        }
    }

    /// The current value of a probe for member `b`.
    pub fn probe(&self, probe: &Probe, state: &State<F>, ws: &Workspace<F>, b: usize) -> f64 {
        let nb = self.nb;
        match probe.source {
            Source::Current { mech, row } => ws.mech_i[mech][row * nb + b].to_f64(),
            Source::IonReversal { ion, row } => ws.ion_e[ion][row * nb + b].to_f64(),
            Source::IonCurrent { ion, row } => ws.ion_i[ion][row * nb + b].to_f64(),
            _ => self.probe_state(probe, state, b),
        }
    }
}

/// Copies the entries `at` of `src` (all members) into consecutive rows of
/// `dst`.
#[inline]
pub(crate) fn gather_rows<F: Copy>(at: &[u32], src: &[F], dst: &mut [F], nb: usize) {
    if nb == 1 {
        for (d, &i) in dst.iter_mut().zip(at) {
            *d = src[i as usize];
        }
    } else {
        for (d, &i) in dst.chunks_exact_mut(nb).zip(at) {
            let i = i as usize;
            d.copy_from_slice(&src[i * nb..(i + 1) * nb]);
        }
    }
}

/// The array of a [`State`] a probe reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateArray {
    V,
    Mech(usize),
    Syn(usize),
}
