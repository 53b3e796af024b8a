//! The reference time step on the CPU.
//!
//! Per step n (t_n -> t_{n+1}), in this order (NEURON's and Jaxley's):
//! 1. each channel advances its states at v_n (exponential Euler for gates);
//! 2. each channel's current i and di/dv at v_n with the new states; the
//!    membrane current is taken as i + di/dv (v - v_n) over the step;
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

use ruxley_backend::{MAX_ABS_VOLTAGE, Scheme, SimError};
use ruxley_cell::{Layout, MechKind, MechLayout, NONE, Parameters, Probe, Source, Stimulus};
use ruxley_channels::ion::nernst;
use ruxley_channels::{ChannelEnv, Columns, ColumnsMut, IonVar};
use ruxley_core::TimeGrid;
use ruxley_core::units::{AXIAL_TO_ABS, CAPACITANCE_TO_ABS, DENSITY_TO_ABS};
use ruxley_synapses::SynapseEnv;

use crate::tree::solve_tree;

/// The dynamic state of one simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Voltage of every node (mV).
    pub v: Vec<f64>,
    /// States of each mechanism, laid out `[state][row]`.
    pub mech: Vec<Vec<f64>>,
    /// States of each synapse group, laid out `[state][row]`.
    pub syn: Vec<Vec<f64>>,
    /// The recent spikes of each spike source: a ring of one bit per step
    /// (empty in cotangents).
    pub spikes: Vec<u64>,
}

impl State {
    /// A state of zeros shaped like this one (without spikes), for tangents
    /// and cotangents.
    pub fn zeros_like(&self) -> Self {
        let zeros = |x: &Vec<Vec<f64>>| x.iter().map(|m| vec![0.0; m.len()]).collect();
        Self {
            v: vec![0.0; self.v.len()],
            mech: zeros(&self.mech),
            syn: zeros(&self.syn),
            spikes: Vec::new(),
        }
    }
}

/// Scratch buffers of the step, allocated once per simulation.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub(crate) d: Vec<f64>,
    pub(crate) b: Vec<f64>,
    pub(crate) g_off: Vec<f64>,
    pub(crate) i_node: Vec<f64>,
    pub(crate) g_node: Vec<f64>,
    pub(crate) mech_v: Vec<Vec<f64>>,
    pub(crate) mech_i: Vec<Vec<f64>>,
    pub(crate) mech_g: Vec<Vec<f64>>,
    /// Each mechanism's ion inputs, `[input][row]`.
    pub(crate) mech_in: Vec<Vec<f64>>,
    /// The voltages a voltage-setting mechanism writes, per row.
    pub(crate) mech_vout: Vec<Vec<f64>>,
    /// Per ion and site row: the reversal potential (mV), the inside
    /// concentration (mM) and the summed current density (mA/cm2).
    pub(crate) ion_e: Vec<Vec<f64>>,
    pub(crate) ion_ci: Vec<Vec<f64>>,
    pub(crate) ion_i: Vec<Vec<f64>>,
    /// Per synapse group and row: the voltages at both ends, the arriving
    /// spikes, the current and its slope.
    pub(crate) syn_pre: Vec<Vec<f64>>,
    pub(crate) syn_post: Vec<Vec<f64>>,
    pub(crate) syn_events: Vec<Vec<f64>>,
    pub(crate) syn_i: Vec<Vec<f64>>,
    pub(crate) syn_g: Vec<Vec<f64>>,
    /// The voltage of each spike source before the step's solve.
    pub(crate) src_v: Vec<f64>,
}

/// A voltage clamp resolved to a node and a per-step command.
#[derive(Debug, Clone)]
pub(crate) struct ClampDrive {
    pub(crate) node: usize,
    pub(crate) children: Vec<usize>,
    pub(crate) command: Vec<f64>,
}

/// The step of one simulation: a layout, a parameter set, a stimulus set and
/// the numeric constants derived from them.
#[derive(Debug)]
pub struct Stepper<'a> {
    pub(crate) layout: &'a Layout,
    pub(crate) params: &'a Parameters,
    pub(crate) grid: TimeGrid,
    pub(crate) scheme: Scheme,
    /// Membrane area of each compartment (um2) in this run.
    pub(crate) area: Vec<f64>,
    /// Resistive loads of the two halves of each compartment (1/um).
    pub(crate) load: Vec<[f64; 2]>,
    /// Membrane capacitance per node (nF); 0 at branch points.
    pub(crate) cap: Vec<f64>,
    /// Axial conductance between each node and its parent (uS).
    pub(crate) g_axial: Vec<f64>,
    /// Sum of the axial conductances at each node (uS).
    pub(crate) g_sum: Vec<f64>,
    /// Area factor per node: density (per cm2) to absolute; 0 at branch points.
    pub(crate) area_abs: Vec<f64>,
    pub(crate) stim: Vec<(usize, Vec<f64>)>,
    pub(crate) clamps: Vec<ClampDrive>,
    /// Per synapse group: the delay of each row in steps.
    pub(crate) delay_steps: Vec<Vec<u32>>,
    /// The mechanisms that set voltages at the start of each step.
    pub(crate) voltage_mechs: Vec<usize>,
    /// The length of the spike rings (steps) and their words per source.
    ring_len: usize,
    ring_words: usize,
}

impl<'a> Stepper<'a> {
    /// Prepares the step; `params` must have been validated for `layout`.
    pub fn new(
        layout: &'a Layout,
        params: &'a Parameters,
        stimuli: &[Stimulus],
        grid: TimeGrid,
        scheme: Scheme,
    ) -> Result<Self, SimError> {
        let n = layout.n_nodes();
        let values = params.values();
        let cm = &values[layout.capacitance_range()];
        let ra = &values[layout.axial_resistivity_range()];
        let radius = &values[layout.radius_range()];
        let length = &values[layout.length_range()];
        let (area, load): (Vec<f64>, Vec<[f64; 2]>) = layout
            .geometry()
            .iter()
            .enumerate()
            .map(|(c, g)| g.resolve(radius[c], length[c]))
            .unzip();
        let mut cap = vec![0.0; n];
        let mut area_abs = vec![0.0; n];
        for (c, &node) in layout.node_of_comp().iter().enumerate() {
            cap[node as usize] = cm[c] * area[c] * CAPACITANCE_TO_ABS;
            area_abs[node as usize] = area[c] * DENSITY_TO_ABS;
        }
        let mut g_axial = vec![0.0; n];
        let mut g_sum = vec![0.0; n];
        for (i, pair) in layout.edge_halves().iter().enumerate() {
            let p = layout.parent()[i];
            if p == NONE {
                continue;
            }
            let resistance: f64 = pair
                .iter()
                .filter(|(c, _)| *c != NONE)
                .map(|&(c, half)| ra[c as usize] * load[c as usize][half as usize])
                .sum();
            let g = AXIAL_TO_ABS / resistance;
            g_axial[i] = g;
            g_sum[i] += g;
            g_sum[p as usize] += g;
        }
        let check = |comp: usize| {
            if comp >= layout.n_comps() {
                Err(SimError::Input(format!(
                    "stimulus or clamp at compartment {comp}, which does not exist"
                )))
            } else {
                Ok(layout.node_of_comp()[comp] as usize)
            }
        };
        let mut stim = Vec::with_capacity(stimuli.len());
        for s in stimuli {
            s.current.validate(false).map_err(SimError::Input)?;
            stim.push((check(s.comp)?, s.current.sample(&grid, 0.0)));
        }
        let mut clamps = Vec::with_capacity(layout.clamps().len());
        for c in layout.clamps() {
            c.voltage.validate(true).map_err(SimError::Input)?;
            let node = check(c.comp)?;
            let children = (0..n)
                .filter(|&j| layout.parent()[j] as usize == node)
                .collect();
            clamps.push(ClampDrive {
                node,
                children,
                command: c.voltage.sample(&grid, f64::NAN),
            });
        }
        let dt = grid.dt();
        let delay_steps: Vec<Vec<u32>> = layout
            .synapses()
            .iter()
            .map(|g| g.delays.iter().map(|d| (d / dt).round() as u32).collect())
            .collect();
        let ring_len = 1 + delay_steps.iter().flatten().copied().max().unwrap_or(0) as usize;
        Ok(Self {
            layout,
            params,
            grid,
            scheme,
            area,
            load,
            cap,
            g_axial,
            g_sum,
            area_abs,
            stim,
            clamps,
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
        })
    }

    /// The time grid.
    pub fn grid(&self) -> &TimeGrid {
        &self.grid
    }

    /// The kernel environment of mechanism `m` with voltages `v` and ion
    /// inputs `inputs`.
    pub(crate) fn env<'v>(&self, m: usize, v: &'v [f64], inputs: &'v [f64]) -> ChannelEnv<'v> {
        ChannelEnv {
            v,
            dt: self.grid.dt(),
            celsius: self.layout.celsius(),
            inputs: Columns::new(inputs, self.layout.mechs()[m].rows()),
        }
    }

    /// Buffers for [`Stepper::step`].
    pub fn workspace(&self) -> Workspace {
        let n = self.layout.n_nodes();
        let mechs = self.layout.mechs();
        let rows = |m: &MechLayout| vec![0.0; m.rows()];
        let sites = || {
            self.layout
                .ions()
                .iter()
                .map(|i| vec![0.0; mechs[i.site].rows()])
                .collect::<Vec<_>>()
        };
        let syn_rows = || {
            self.layout
                .synapses()
                .iter()
                .map(|g| vec![0.0; g.rows()])
                .collect::<Vec<_>>()
        };
        Workspace {
            d: vec![0.0; n],
            b: vec![0.0; n],
            g_off: self.g_axial.clone(),
            i_node: vec![0.0; n],
            g_node: vec![0.0; n],
            mech_v: mechs.iter().map(rows).collect(),
            mech_i: mechs.iter().map(rows).collect(),
            mech_g: mechs.iter().map(rows).collect(),
            mech_in: mechs
                .iter()
                .map(|m| vec![0.0; m.rows() * m.inputs.len()])
                .collect(),
            mech_vout: mechs
                .iter()
                .map(|m| {
                    vec![
                        0.0;
                        if m.channel.sets_voltage() {
                            m.rows()
                        } else {
                            0
                        }
                    ]
                })
                .collect(),
            ion_e: sites(),
            ion_ci: sites(),
            ion_i: sites(),
            syn_pre: syn_rows(),
            syn_post: syn_rows(),
            syn_events: syn_rows(),
            syn_i: syn_rows(),
            syn_g: syn_rows(),
            src_v: vec![0.0; self.layout.spike_sources().len()],
        }
    }

    /// The environment of synapse group `g` from the workspace.
    pub(crate) fn syn_env<'w>(&self, g: usize, ws: &'w Workspace) -> SynapseEnv<'w> {
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
        v: &[f64],
        spikes: &[u64],
        ws: &mut Workspace,
    ) {
        let sl = &self.layout.synapses()[g];
        for r in 0..sl.rows() {
            ws.syn_pre[g][r] = v[sl.pre[r] as usize];
            ws.syn_post[g][r] = v[sl.post[r] as usize];
        }
        if sl.sources.is_empty() {
            return;
        }
        for (r, (&src, &d)) in sl.sources.iter().zip(&self.delay_steps[g]).enumerate() {
            let d = d as usize;
            ws.syn_events[g][r] = if n > d {
                let pos = (n - 1 - d) % self.ring_len;
                let word = spikes[src as usize * self.ring_words + pos / 64];
                ((word >> (pos % 64)) & 1) as f64
            } else {
                0.0
            };
        }
    }

    /// The inside concentration and reversal potential of every ion at the
    /// start of a step: from the pools' states where pools live (Nernst),
    /// from the sites' parameters elsewhere.
    pub(crate) fn ion_values(&self, states: &[Vec<f64>], ws: &mut Workspace) {
        let values = self.params.values();
        let celsius = self.layout.celsius();
        for (i, il) in self.layout.ions().iter().enumerate() {
            let site = &self.layout.mechs()[il.site];
            let rows = site.rows();
            let p = &values[site.params.clone()];
            for r in 0..rows {
                let (pm, pr) = il.pools[r];
                if pm == NONE {
                    ws.ion_e[i][r] = p[r];
                    ws.ion_ci[i][r] = p[rows + r];
                } else {
                    let ci = states[pm as usize][pr as usize];
                    ws.ion_ci[i][r] = ci;
                    ws.ion_e[i][r] = nernst(&il.ion, ci, p[2 * rows + r], celsius);
                }
            }
        }
    }

    /// Copies the voltages and ion inputs of mechanism `m` into its buffers.
    pub(crate) fn gather(&self, m: usize, v: &[f64], ws: &mut Workspace) {
        let ml = &self.layout.mechs()[m];
        for (r, &node) in ml.nodes.iter().enumerate() {
            ws.mech_v[m][r] = v[node as usize];
        }
        let rows = ml.rows();
        for (j, input) in ml.inputs.iter().enumerate() {
            let src = match input.var {
                IonVar::Reversal(_) => &ws.ion_e[input.ion],
                IonVar::Inside(_) => &ws.ion_ci[input.ion],
                IonVar::Current(_) => &ws.ion_i[input.ion],
            };
            let dst = &mut ws.mech_in[m][j * rows..(j + 1) * rows];
            for (d, &sr) in dst.iter_mut().zip(&input.site_rows) {
                *d = src[sr as usize];
            }
        }
    }

    /// The initial state: voltages from the parameters, pools at their
    /// ion's inside concentration, channel states at their steady state,
    /// each unless set explicitly; also fills the workspace's channel and ion
    /// currents for recording at t = 0.
    pub fn init(&self, ws: &mut Workspace) -> State {
        let values = self.params.values();
        let lay = self.layout;
        let v0 = &values[lay.initial_voltage_range()];
        let mut v = vec![0.0; lay.n_nodes()];
        for (c, &node) in lay.node_of_comp().iter().enumerate() {
            v[node as usize] = v0[c];
        }
        // A branch point starts at its parent's voltage (it carries no state).
        for (i, &c) in lay.comp_of_node().iter().enumerate() {
            if c == NONE {
                v[i] = v[lay.parent()[i] as usize];
            }
        }
        let mut mech: Vec<Vec<f64>> = lay
            .mechs()
            .iter()
            .map(|m| vec![0.0; m.rows() * m.channel.states().len()])
            .collect();
        let explicit = |m: usize, s: &mut [f64]| {
            for (x, &given) in s
                .iter_mut()
                .zip(&values[lay.mechs()[m].init_states.clone()])
            {
                if !given.is_nan() {
                    *x = given;
                }
            }
        };
        // Pools first: their concentrations set the ions' reversal potentials,
        // which the channels' steady states may read.
        for ion in lay.ions() {
            let site = &lay.mechs()[ion.site];
            let inside = &values[site.params.clone()][site.rows()..2 * site.rows()];
            for (r, &(pm, pr)) in ion.pools.iter().enumerate() {
                if pm != NONE {
                    mech[pm as usize][pr as usize] = inside[r];
                }
            }
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if matches!(ml.kind, MechKind::Pool { .. }) {
                self.gather(m, &v, ws);
                ws.mech_in[m].fill(0.0);
                let rows = ml.rows();
                let keep = mech[m][..rows].to_vec();
                let params = Columns::new(&values[ml.params.clone()], rows);
                ml.channel.init_states(
                    &self.env(m, &ws.mech_v[m], &ws.mech_in[m]),
                    params,
                    ColumnsMut::new(&mut mech[m], rows),
                );
                mech[m][..rows].copy_from_slice(&keep);
                explicit(m, &mut mech[m]);
            }
        }
        self.ion_values(&mech, ws);
        for x in &mut ws.ion_i {
            x.fill(0.0);
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if ml.kind != MechKind::Channel {
                continue;
            }
            let rows = ml.rows();
            self.gather(m, &v, ws);
            let params = Columns::new(&values[ml.params.clone()], rows);
            let env = self.env(m, &ws.mech_v[m], &ws.mech_in[m]);
            ml.channel
                .init_states(&env, params, ColumnsMut::new(&mut mech[m], rows));
            explicit(m, &mut mech[m]);
            ml.channel.current(
                &env,
                params,
                Columns::new(&mech[m], rows),
                &mut ws.mech_i[m],
                &mut ws.mech_g[m],
            );
            if let Some((ion, site_rows)) = &ml.carries {
                for (r, &sr) in site_rows.iter().enumerate() {
                    ws.ion_i[*ion][sr as usize] += ws.mech_i[m][r];
                }
            }
        }
        let mut syn = Vec::with_capacity(lay.synapses().len());
        for (g, sl) in lay.synapses().iter().enumerate() {
            let rows = sl.rows();
            self.gather_synapses(g, 0, &v, &[], ws);
            let mut s = vec![0.0; rows * sl.synapse.states().len()];
            let params = Columns::new(&values[sl.params.clone()], rows);
            sl.synapse
                .init_states(&self.syn_env(g, ws), params, ColumnsMut::new(&mut s, rows));
            for (x, &given) in s.iter_mut().zip(&values[sl.init_states.clone()]) {
                if !given.is_nan() {
                    *x = given;
                }
            }
            syn.push(s);
        }
        let spikes = vec![0; lay.spike_sources().len() * self.ring_words];
        State {
            v,
            mech,
            syn,
            spikes,
        }
    }

    /// Advances `state` by step `n` (from t_n to t_{n+1}). Allocates nothing.
    pub fn step(&self, n: usize, state: &mut State, ws: &mut Workspace) {
        self.set_voltages(&mut state.v, &mut state.mech, ws);
        self.membrane(n, state, ws);
        self.assemble(&state.v, ws);
        let g = if self.clamp_rows(n, &state.v, ws) {
            &ws.g_off
        } else {
            &self.g_axial
        };
        solve_tree(self.layout.parent(), g, &mut ws.d, &mut ws.b);
        for (k, src) in self.layout.spike_sources().iter().enumerate() {
            ws.src_v[k] = state.v[src.node as usize];
        }
        self.update(&mut state.v, &ws.b);
        self.record_spikes(n, state, ws);
    }

    /// Lets the mechanisms that set voltages (non-capacitive neurons) replace
    /// `v` and their states at the start of a step.
    pub(crate) fn set_voltages(&self, v: &mut [f64], mech: &mut [Vec<f64>], ws: &mut Workspace) {
        let values = self.params.values();
        for &m in &self.voltage_mechs {
            let ml = &self.layout.mechs()[m];
            let rows = ml.rows();
            self.gather(m, v, ws);
            ws.mech_vout[m].copy_from_slice(&ws.mech_v[m]);
            ml.channel.set_voltage(
                &self.env(m, &ws.mech_v[m], &ws.mech_in[m]),
                Columns::new(&values[ml.params.clone()], rows),
                ColumnsMut::new(&mut mech[m], rows),
                &mut ws.mech_vout[m],
            );
            for (r, &node) in ml.nodes.iter().enumerate() {
                v[node as usize] = ws.mech_vout[m][r];
            }
        }
    }

    /// Writes into the spike rings whether each source crossed its threshold
    /// upwards in step `n`.
    pub(crate) fn record_spikes(&self, n: usize, state: &mut State, ws: &Workspace) {
        let pos = n % self.ring_len;
        let (word, bit) = (pos / 64, 1u64 << (pos % 64));
        for (k, src) in self.layout.spike_sources().iter().enumerate() {
            let after = state.v[src.node as usize];
            let w = &mut state.spikes[k * self.ring_words + word];
            if ws.src_v[k] < src.threshold && after >= src.threshold {
                *w |= bit;
            } else {
                *w &= !bit;
            }
        }
    }

    /// Phases 1 and 2 of a step: advances the channel and synapse states at
    /// the voltages of `state` and sums the membrane and synaptic currents,
    /// conductances and stimuli per node.
    pub(crate) fn membrane(&self, n: usize, state: &mut State, ws: &mut Workspace) {
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
        v: &[f64],
        states: &mut [Vec<f64>],
        syn: &mut [Vec<f64>],
        spikes: &[u64],
        ws: &mut Workspace,
        advance: bool,
    ) {
        let values = self.params.values();
        let lay = self.layout;
        ws.i_node.fill(0.0);
        ws.g_node.fill(0.0);
        if lay.has_ions() {
            self.ion_values(states, ws);
            for x in &mut ws.ion_i {
                x.fill(0.0);
            }
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if ml.kind != MechKind::Channel {
                continue;
            }
            let rows = ml.rows();
            self.gather(m, v, ws);
            let env = self.env(m, &ws.mech_v[m], &ws.mech_in[m]);
            let params = Columns::new(&values[ml.params.clone()], rows);
            let s = &mut states[m];
            if advance {
                ml.channel
                    .advance_states(&env, params, ColumnsMut::new(s, rows));
            }
            let (mi, mg) = (&mut ws.mech_i[m], &mut ws.mech_g[m]);
            ml.channel
                .current(&env, params, Columns::new(s, rows), mi, mg);
            for (r, &node) in ml.nodes.iter().enumerate() {
                let node = node as usize;
                let a = self.area_abs[node];
                ws.i_node[node] += mi[r] * a;
                ws.g_node[node] += mg[r] * a;
            }
            if let Some((ion, site_rows)) = &ml.carries {
                for (r, &sr) in site_rows.iter().enumerate() {
                    ws.ion_i[*ion][sr as usize] += mi[r];
                }
            }
        }
        for (g, sl) in lay.synapses().iter().enumerate() {
            let rows = sl.rows();
            self.gather_synapses(g, n, v, spikes, ws);
            let params = Columns::new(&values[sl.params.clone()], rows);
            let env = SynapseEnv {
                v_pre: &ws.syn_pre[g],
                v_post: &ws.syn_post[g],
                events: &ws.syn_events[g],
                dt: self.grid.dt(),
            };
            if advance {
                sl.synapse
                    .advance_states(&env, params, ColumnsMut::new(&mut syn[g], rows));
            }
            sl.synapse.current(
                &env,
                params,
                Columns::new(&syn[g], rows),
                &mut ws.syn_i[g],
                &mut ws.syn_g[g],
            );
            for r in 0..rows {
                let post = sl.post[r] as usize;
                ws.i_node[post] += ws.syn_i[g][r];
                ws.g_node[post] += ws.syn_g[g][r];
            }
        }
        // Pools advance with the ion currents of this step.
        for (m, ml) in lay.mechs().iter().enumerate() {
            if !matches!(ml.kind, MechKind::Pool { .. }) {
                continue;
            }
            self.gather(m, v, ws);
            if advance {
                let rows = ml.rows();
                let env = self.env(m, &ws.mech_v[m], &ws.mech_in[m]);
                let params = Columns::new(&values[ml.params.clone()], rows);
                ml.channel
                    .advance_states(&env, params, ColumnsMut::new(&mut states[m], rows));
            }
        }
        for (node, series) in &self.stim {
            ws.i_node[*node] -= series[n];
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
    pub(crate) fn assemble(&self, v: &[f64], ws: &mut Workspace) {
        let inv_h = 1.0 / self.h();
        for i in 0..v.len() {
            let c = self.cap[i] * inv_h;
            ws.d[i] = c + ws.g_node[i] + self.g_sum[i];
            ws.b[i] = (c + ws.g_node[i]) * v[i] - ws.i_node[i];
        }
    }

    /// Rewrites the rows of nodes clamped in step `n`; true if the solve must
    /// then use the decoupled couplings `ws.g_off` instead of the axial ones.
    pub(crate) fn clamp_rows(&self, n: usize, v: &[f64], ws: &mut Workspace) -> bool {
        if self.clamps.is_empty() {
            return false;
        }
        self.apply_clamps(n, v, ws);
        true
    }

    /// Phase 3, last part: v_{n+1} from the solution x of the system.
    pub(crate) fn update(&self, v: &mut [f64], x: &[f64]) {
        match self.scheme {
            Scheme::BackwardEuler => v.copy_from_slice(x),
            Scheme::CrankNicolson => {
                for (v, x) in v.iter_mut().zip(x) {
                    *v = 2.0 * x - *v;
                }
            }
        }
    }

    /// Turns the rows of clamped nodes into v = command and moves their
    /// coupling to the neighbours' right-hand sides (keeping symmetry).
    fn apply_clamps(&self, n: usize, v: &[f64], ws: &mut Workspace) {
        ws.g_off.copy_from_slice(&self.g_axial);
        for c in &self.clamps {
            let command = c.command[n];
            if command.is_nan() {
                continue;
            }
            // The solve yields v at the half step under Crank-Nicolson.
            let target = match self.scheme {
                Scheme::BackwardEuler => command,
                Scheme::CrankNicolson => 0.5 * (command + v[c.node]),
            };
            ws.d[c.node] = 1.0;
            ws.b[c.node] = target;
            let p = self.layout.parent()[c.node];
            if p != NONE {
                ws.b[p as usize] += ws.g_off[c.node] * target;
                ws.g_off[c.node] = 0.0;
            }
            for &j in &c.children {
                ws.b[j] += ws.g_off[j] * target;
                ws.g_off[j] = 0.0;
            }
        }
    }

    /// Checks that every voltage is finite and within [`MAX_ABS_VOLTAGE`]
    /// after step `n`.
    pub fn check_stable(&self, n: usize, state: &State, member: usize) -> Result<(), SimError> {
        // Written so that NaN fails the comparison.
        let ok = |x: &f64| x.abs() <= MAX_ABS_VOLTAGE;
        let Some(node) = state.v.iter().position(|x| !ok(x)) else {
            return Ok(());
        };
        let mut i = node;
        while self.layout.comp_of_node()[i] == NONE {
            i = self.layout.parent()[i] as usize;
        }
        Err(SimError::Unstable {
            member,
            step: n,
            time: self.grid.time(n + 1),
            site: self.layout.site(self.layout.comp_of_node()[i] as usize),
            value: state.v[node],
        })
    }

    /// The value of a voltage or state probe (NaN for a current or
    /// reversal probe, whose value lives in the workspace of the step).
    pub fn probe_state(&self, probe: &Probe, state: &State) -> f64 {
        match probe.source {
            Source::Voltage { node } => state.v[node as usize],
            Source::State {
                mech,
                state: s,
                row,
            } => state.mech[mech][s * self.layout.mechs()[mech].rows() + row],
            Source::IonInside { ion, row } => {
                let site = &self.layout.mechs()[self.layout.ions()[ion].site];
                self.params.values()[site.params.start + site.rows() + row]
            }
            Source::SynapseState {
                group,
                state: s,
                row,
            } => state.syn[group][s * self.layout.synapses()[group].rows() + row],
            Source::Current { .. } | Source::IonReversal { .. } | Source::IonCurrent { .. } => {
                f64::NAN
            }
        }
    }

    /// The current value of a probe.
    pub fn probe(&self, probe: &Probe, state: &State, ws: &Workspace) -> f64 {
        match probe.source {
            Source::Current { mech, row } => ws.mech_i[mech][row],
            Source::IonReversal { ion, row } => ws.ion_e[ion][row],
            Source::IonCurrent { ion, row } => ws.ion_i[ion][row],
            _ => self.probe_state(probe, state),
        }
    }
}
