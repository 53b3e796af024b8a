//! The discrete adjoint of the step: exact reverse-mode derivatives of the
//! scheme actually run (gates, linearised currents, the implicit solve).
//!
//! For step n the forward computation is recomputed from the state before it;
//! then, with M the voltage matrix and x = M^{-1} b its solution, the
//! cotangent of x gives mu = M^{-1} lambda (M is symmetric, so the adjoint is
//! the same tree solve), and every input of M and b receives its share:
//! the membrane conductance G_i gets mu_i (v_i - x_i), the membrane current
//! -mu_i, the capacitance mu_i (v_i - x_i) / h, the axial conductance of edge
//! (i, p) -(mu_i - mu_p)(x_i - x_p), the stimulus mu_i, and v_n itself
//! mu_i (C_i/h + G_i). The channels' VJPs carry the current's share back to
//! their states, voltages and parameters.

use ruxley_backend::Scheme;
use ruxley_cell::{MechKind, NONE};
use ruxley_channels::ion::nernst_derivatives;
use ruxley_channels::{Columns, ColumnsMut, Cot, IonVar};
use ruxley_synapses::SynCot;
use std::f64::consts::PI;

use ruxley_core::units::{AXIAL_TO_ABS, CAPACITANCE_TO_ABS, DENSITY_TO_ABS};

use crate::step::{State, Stepper, Workspace};
use crate::tree::{factor_tree, substitute_tree};

/// Cotangents of the inputs of a simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    /// With respect to every value of the parameter vector.
    pub params: Vec<f64>,
    /// With respect to each stimulus' current (nA) in each step.
    pub stimuli: Vec<Vec<f64>>,
}

/// Reverse-mode state for one simulation: scratch buffers and accumulators.
#[derive(Debug)]
pub struct Adjoint<'s, 'a> {
    st: &'s Stepper<'a>,
    ws: Workspace,
    s_new: Vec<Vec<f64>>,
    syn_new: Vec<Vec<f64>>,
    /// The voltages and states after the voltage-setting mechanisms of the
    /// step (a copy of the state before the step where there are none).
    v_set: Vec<f64>,
    mech_set: Vec<Vec<f64>>,
    /// Per synapse group: cotangents of the current and slope, and of the
    /// voltages at both ends.
    syn_lam_i: Vec<Vec<f64>>,
    syn_lam_g: Vec<Vec<f64>>,
    syn_cot_pre: Vec<Vec<f64>>,
    syn_cot_post: Vec<Vec<f64>>,
    x: Vec<f64>,
    mu: Vec<f64>,
    mu_eff: Vec<f64>,
    lam_g_node: Vec<f64>,
    lam_i_row: Vec<Vec<f64>>,
    lam_g_row: Vec<Vec<f64>>,
    cot_v_row: Vec<Vec<f64>>,
    new_cot_v: Vec<f64>,
    lam_cap: Vec<f64>,
    lam_area_abs: Vec<f64>,
    lam_axial: Vec<f64>,
    /// Per mechanism: the cotangents of its ion inputs.
    cot_in: Vec<Vec<f64>>,
    /// Per ion and site row: the cotangents of the reversal potential, the
    /// inside concentration and the summed current.
    cot_e: Vec<Vec<f64>>,
    cot_ci: Vec<Vec<f64>>,
    cot_ii: Vec<Vec<f64>>,
    grad: Gradient,
}

impl<'s, 'a> Adjoint<'s, 'a> {
    /// Zero accumulators for `stepper`.
    pub fn new(stepper: &'s Stepper<'a>) -> Self {
        let n = stepper.layout.n_nodes();
        let rows = || {
            stepper
                .layout
                .mechs()
                .iter()
                .map(|m| vec![0.0; m.rows()])
                .collect::<Vec<_>>()
        };
        let states: Vec<Vec<f64>> = stepper
            .layout
            .mechs()
            .iter()
            .map(|m| vec![0.0; m.rows() * m.channel.states().len()])
            .collect();
        let syn_rows = || {
            stepper
                .layout
                .synapses()
                .iter()
                .map(|g| vec![0.0; g.rows()])
                .collect::<Vec<_>>()
        };
        let sites = || {
            let mechs = stepper.layout.mechs();
            stepper
                .layout
                .ions()
                .iter()
                .map(|i| vec![0.0; mechs[i.site].rows()])
                .collect::<Vec<_>>()
        };
        Self {
            st: stepper,
            ws: stepper.workspace(),
            v_set: vec![0.0; n],
            mech_set: states.clone(),
            s_new: states,
            syn_new: stepper
                .layout
                .synapses()
                .iter()
                .map(|g| vec![0.0; g.rows() * g.synapse.states().len()])
                .collect(),
            syn_lam_i: syn_rows(),
            syn_lam_g: syn_rows(),
            syn_cot_pre: syn_rows(),
            syn_cot_post: syn_rows(),
            x: vec![0.0; n],
            mu: vec![0.0; n],
            mu_eff: vec![0.0; n],
            lam_g_node: vec![0.0; n],
            lam_i_row: rows(),
            lam_g_row: rows(),
            cot_v_row: rows(),
            new_cot_v: vec![0.0; n],
            lam_cap: vec![0.0; n],
            lam_area_abs: vec![0.0; n],
            lam_axial: vec![0.0; n],
            cot_in: stepper
                .layout
                .mechs()
                .iter()
                .map(|m| vec![0.0; m.rows() * m.inputs.len()])
                .collect(),
            cot_e: sites(),
            cot_ci: sites(),
            cot_ii: sites(),
            grad: Gradient {
                params: vec![0.0; stepper.params.values().len()],
                stimuli: stepper
                    .stim
                    .iter()
                    .map(|(_, s)| vec![0.0; s.len()])
                    .collect(),
            },
        }
    }

    /// A zero cotangent of the state.
    pub fn zero_state(&self) -> State {
        State {
            v: vec![0.0; self.st.layout.n_nodes()],
            mech: self.s_new.iter().map(|s| vec![0.0; s.len()]).collect(),
            syn: self.syn_new.iter().map(|s| vec![0.0; s.len()]).collect(),
            spikes: Vec::new(),
        }
    }

    /// Pulls `cot`, the cotangent of the state after step `n`, back to the
    /// state before it (`state`), accumulating the parameters' cotangents;
    /// `after`, if given, must be the state after step `n`. Allocates nothing.
    pub fn step_vjp(&mut self, n: usize, state: &State, after: Option<&State>, cot: &mut State) {
        let st = self.st;
        let parent = st.layout.parent();
        let values = st.params.values();
        // Forward recomputation of step n; the channel states after it are
        // taken from `after` when given (the same numbers, without the cost).
        let advance = after.is_none();
        // The voltage-setting mechanisms act first.
        let resets = !st.voltage_mechs.is_empty();
        let mut v_set = std::mem::take(&mut self.v_set);
        if resets {
            v_set.copy_from_slice(&state.v);
            for &m in &st.voltage_mechs {
                self.mech_set[m].copy_from_slice(&state.mech[m]);
            }
            st.set_voltages(&mut v_set, &mut self.mech_set, &mut self.ws);
        }
        let v0: &[f64] = if resets { &v_set } else { &state.v };
        for (k, s) in self.s_new.iter_mut().enumerate() {
            let pool = matches!(st.layout.mechs()[k].kind, MechKind::Pool { .. });
            let sets = resets && st.layout.mechs()[k].channel.sets_voltage();
            match after {
                Some(a) if !pool => s.copy_from_slice(&a.mech[k]),
                _ if sets => s.copy_from_slice(&self.mech_set[k]),
                _ => s.copy_from_slice(&state.mech[k]),
            }
        }
        for (g, s) in self.syn_new.iter_mut().enumerate() {
            s.copy_from_slice(after.map_or(&state.syn[g], |a| &a.syn[g]));
        }
        st.membrane_with(
            n,
            v0,
            &mut self.s_new,
            &mut self.syn_new,
            &state.spikes,
            &mut self.ws,
            advance,
        );
        st.assemble(v0, &mut self.ws);
        let clamped = st.clamp_rows(n, v0, &mut self.ws);
        let g = if clamped { &self.ws.g_off } else { &st.g_axial };
        factor_tree(parent, g, &mut self.ws.d);
        match after {
            // Under backward Euler the solution is the next voltage itself.
            Some(a) if st.scheme == Scheme::BackwardEuler => self.x.copy_from_slice(&a.v),
            _ => {
                self.x.copy_from_slice(&self.ws.b);
                substitute_tree(parent, g, &self.ws.d, &mut self.x);
            }
        }
        // The adjoint solve.
        let cn = st.scheme == Scheme::CrankNicolson;
        let factor = if cn { 2.0 } else { 1.0 };
        for (m, c) in self.mu.iter_mut().zip(&cot.v) {
            *m = factor * c;
        }
        substitute_tree(parent, g, &self.ws.d, &mut self.mu);
        self.mu_eff.copy_from_slice(&self.mu);
        if clamped {
            for c in &st.clamps {
                if !c.command[n].is_nan() {
                    self.mu_eff[c.node] = 0.0;
                }
            }
        }
        let inv_h = 1.0 / st.h();
        for i in 0..self.x.len() {
            let me = self.mu_eff[i];
            let dx = v0[i] - self.x[i];
            self.lam_cap[i] += me * dx * inv_h;
            self.lam_g_node[i] = me * dx;
            self.new_cot_v[i] =
                me * (st.cap[i] * inv_h + self.ws.g_node[i]) - if cn { cot.v[i] } else { 0.0 };
        }
        if clamped && cn {
            // The half-step target of a clamped node is (command + v_n)/2.
            for c in &st.clamps {
                if c.command[n].is_nan() {
                    continue;
                }
                let mut lam_t = self.mu[c.node];
                if parent[c.node] != NONE {
                    lam_t += self.mu[parent[c.node] as usize] * st.g_axial[c.node];
                }
                for &j in &c.children {
                    lam_t += self.mu[j] * st.g_axial[j];
                }
                self.new_cot_v[c.node] += 0.5 * lam_t;
            }
        }
        for j in 0..parent.len() {
            let p = parent[j];
            if p != NONE {
                let p = p as usize;
                self.lam_axial[j] -= (self.mu_eff[j] - self.mu_eff[p]) * (self.x[j] - self.x[p]);
            }
        }
        for (k, (node, _)) in st.stim.iter().enumerate() {
            self.grad.stimuli[k][n] += self.mu_eff[*node];
        }
        for x in self
            .cot_e
            .iter_mut()
            .chain(&mut self.cot_ci)
            .chain(&mut self.cot_ii)
        {
            x.fill(0.0);
        }
        // Pools: from their states after the step to those before it, and to
        // the ion currents of the step.
        for (m, ml) in st.layout.mechs().iter().enumerate() {
            if !matches!(ml.kind, MechKind::Pool { .. }) {
                continue;
            }
            let rows = ml.rows();
            self.cot_v_row[m].fill(0.0);
            self.cot_in[m].fill(0.0);
            ml.channel.advance_states_vjp(
                &st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]),
                Columns::new(&values[ml.params.clone()], rows),
                Columns::new(&state.mech[m], rows),
                ColumnsMut::new(&mut cot.mech[m], rows),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.grad.params[ml.params.clone()], rows),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], rows),
                },
            );
            self.scatter_inputs(m);
            for (r, &node) in ml.nodes.iter().enumerate() {
                self.new_cot_v[node as usize] += self.cot_v_row[m][r];
            }
        }
        // The channels.
        for (m, ml) in st.layout.mechs().iter().enumerate() {
            if ml.kind != MechKind::Channel {
                continue;
            }
            let rows = ml.rows();
            for (r, &node) in ml.nodes.iter().enumerate() {
                let node = node as usize;
                let a = st.area_abs[node];
                let (lam_i, lam_g) = (-self.mu_eff[node], self.lam_g_node[node]);
                self.lam_i_row[m][r] = lam_i * a;
                self.lam_g_row[m][r] = lam_g * a;
                self.lam_area_abs[node] +=
                    lam_i * self.ws.mech_i[m][r] + lam_g * self.ws.mech_g[m][r];
                self.cot_v_row[m][r] = 0.0;
            }
            if let Some((ion, site_rows)) = &ml.carries {
                for (r, &sr) in site_rows.iter().enumerate() {
                    self.lam_i_row[m][r] += self.cot_ii[*ion][sr as usize];
                }
            }
            self.cot_in[m].fill(0.0);
            let env = st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]);
            let params = Columns::new(&values[ml.params.clone()], rows);
            let range = ml.params.clone();
            ml.channel.current_vjp(
                &env,
                params,
                Columns::new(&self.s_new[m], rows),
                &self.lam_i_row[m],
                &self.lam_g_row[m],
                ColumnsMut::new(&mut cot.mech[m], rows),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.grad.params[range.clone()], rows),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], rows),
                },
            );
            let before = if resets && ml.channel.sets_voltage() {
                &self.mech_set[m]
            } else {
                &state.mech[m]
            };
            ml.channel.advance_states_vjp(
                &env,
                params,
                Columns::new(before, rows),
                ColumnsMut::new(&mut cot.mech[m], rows),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.grad.params[range], rows),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], rows),
                },
            );
            self.scatter_inputs(m);
            for (r, &node) in ml.nodes.iter().enumerate() {
                self.new_cot_v[node as usize] += self.cot_v_row[m][r];
            }
        }
        self.ion_values_vjp(&mut cot.mech);
        self.synapses_vjp(state, cot);
        // Through the voltage-setting mechanisms, from the voltages and
        // states after them to those before.
        for &m in &st.voltage_mechs {
            let ml = &st.layout.mechs()[m];
            let rows = ml.rows();
            st.gather(m, &state.v, &mut self.ws);
            for (r, &node) in ml.nodes.iter().enumerate() {
                self.cot_v_row[m][r] = self.new_cot_v[node as usize];
            }
            ml.channel.set_voltage_vjp(
                &st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]),
                Columns::new(&values[ml.params.clone()], rows),
                Columns::new(&state.mech[m], rows),
                ColumnsMut::new(&mut cot.mech[m], rows),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.grad.params[ml.params.clone()], rows),
                    inputs: ColumnsMut::new(&mut [], rows),
                },
            );
            for (r, &node) in ml.nodes.iter().enumerate() {
                self.new_cot_v[node as usize] = self.cot_v_row[m][r];
            }
        }
        self.v_set = v_set;
        cot.v.copy_from_slice(&self.new_cot_v);
    }

    /// The synapses' share of the step's reverse pass: their currents into
    /// the postsynaptic rows of the solve, then their state updates.
    fn synapses_vjp(&mut self, state: &State, cot: &mut State) {
        let st = self.st;
        let values = st.params.values();
        for (g, sl) in st.layout.synapses().iter().enumerate() {
            let rows = sl.rows();
            for r in 0..rows {
                let post = sl.post[r] as usize;
                self.syn_lam_i[g][r] = -self.mu_eff[post];
                self.syn_lam_g[g][r] = self.lam_g_node[post];
            }
            self.syn_cot_pre[g].fill(0.0);
            self.syn_cot_post[g].fill(0.0);
            let env = st.syn_env(g, &self.ws);
            let params = Columns::new(&values[sl.params.clone()], rows);
            let range = sl.params.clone();
            sl.synapse.current_vjp(
                &env,
                params,
                Columns::new(&self.syn_new[g], rows),
                &self.syn_lam_i[g],
                &self.syn_lam_g[g],
                ColumnsMut::new(&mut cot.syn[g], rows),
                SynCot {
                    v_pre: &mut self.syn_cot_pre[g],
                    v_post: &mut self.syn_cot_post[g],
                    params: ColumnsMut::new(&mut self.grad.params[range.clone()], rows),
                },
            );
            sl.synapse.advance_states_vjp(
                &env,
                params,
                Columns::new(&state.syn[g], rows),
                ColumnsMut::new(&mut cot.syn[g], rows),
                SynCot {
                    v_pre: &mut self.syn_cot_pre[g],
                    v_post: &mut self.syn_cot_post[g],
                    params: ColumnsMut::new(&mut self.grad.params[range], rows),
                },
            );
            for r in 0..rows {
                self.new_cot_v[sl.pre[r] as usize] += self.syn_cot_pre[g][r];
                self.new_cot_v[sl.post[r] as usize] += self.syn_cot_post[g][r];
            }
        }
    }

    /// Adds the cotangents of mechanism `m`'s ion inputs to those of the ion
    /// quantities they were read from.
    fn scatter_inputs(&mut self, m: usize) {
        let ml = &self.st.layout.mechs()[m];
        let rows = ml.rows();
        for (j, input) in ml.inputs.iter().enumerate() {
            let dst = match input.var {
                IonVar::Reversal(_) => &mut self.cot_e[input.ion],
                IonVar::Inside(_) => &mut self.cot_ci[input.ion],
                IonVar::Current(_) => &mut self.cot_ii[input.ion],
            };
            let src = &self.cot_in[m][j * rows..(j + 1) * rows];
            for (c, &sr) in src.iter().zip(&input.site_rows) {
                dst[sr as usize] += c;
            }
        }
    }

    /// Pulls the cotangents of the ions' reversal potentials and inside
    /// concentrations back to the pools' states (`cot_mech`) and the ion
    /// sites' parameters ([`Stepper::ion_values`] in reverse).
    fn ion_values_vjp(&mut self, cot_mech: &mut [Vec<f64>]) {
        let st = self.st;
        let values = st.params.values();
        for (i, il) in st.layout.ions().iter().enumerate() {
            let site = &st.layout.mechs()[il.site];
            let (rows, p0) = (site.rows(), site.params.start);
            for r in 0..rows {
                let (ce, cc) = (self.cot_e[i][r], self.cot_ci[i][r]);
                let (pm, pr) = il.pools[r];
                if pm == NONE {
                    self.grad.params[p0 + r] += ce;
                    self.grad.params[p0 + rows + r] += cc;
                } else {
                    let ci = self.ws.ion_ci[i][r];
                    let co = values[p0 + 2 * rows + r];
                    let (dci, dco) = nernst_derivatives(&il.ion, ci, co, st.layout.celsius());
                    cot_mech[pm as usize][pr as usize] += cc + ce * dci;
                    self.grad.params[p0 + 2 * rows + r] += ce * dco;
                }
            }
        }
    }

    /// Pulls the cotangent of the initial state back to the parameters
    /// (initial voltages, explicit initial states, the ions' inside
    /// concentrations, and the channel parameters through the steady states).
    pub fn init_vjp(&mut self, cot: &State) {
        let st = self.st;
        let lay = st.layout;
        let values = st.params.values();
        // Recompute the initial buffers (voltages and ion inputs per row).
        let x0 = st.init(&mut self.ws);
        let mut lam_v = cot.v.clone();
        // A branch point starts at its parent's voltage.
        for i in (0..lam_v.len()).rev() {
            if lay.comp_of_node()[i] == NONE {
                let p = lay.parent()[i] as usize;
                lam_v[p] += lam_v[i];
                lam_v[i] = 0.0;
            }
        }
        let mut cot_s: Vec<Vec<f64>> = cot.mech.clone();
        let explicit = |m: usize| &values[lay.mechs()[m].init_states.clone()];
        for x in self.cot_e.iter_mut().chain(&mut self.cot_ci) {
            x.fill(0.0);
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if ml.kind != MechKind::Channel {
                continue;
            }
            let rows = ml.rows();
            for (k, given) in explicit(m).iter().enumerate() {
                if !given.is_nan() {
                    self.grad.params[ml.init_states.start + k] += cot_s[m][k];
                    cot_s[m][k] = 0.0;
                }
            }
            self.cot_v_row[m].fill(0.0);
            self.cot_in[m].fill(0.0);
            ml.channel.init_states_vjp(
                &st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]),
                Columns::new(&values[ml.params.clone()], rows),
                Columns::new(&cot_s[m], rows),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.grad.params[ml.params.clone()], rows),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], rows),
                },
            );
            self.scatter_inputs(m);
            for (r, &node) in ml.nodes.iter().enumerate() {
                lam_v[node as usize] += self.cot_v_row[m][r];
            }
        }
        self.ion_values_vjp(&mut cot_s);
        // Pools: state 0 starts at the ion's inside concentration, the
        // others at the pool's own initial values.
        for il in lay.ions() {
            let site = &lay.mechs()[il.site];
            let inside = site.params.start + site.rows();
            for (r, &(pm, pr)) in il.pools.iter().enumerate() {
                let (pm, pr) = (pm as usize, pr as usize);
                if pm != NONE as usize && explicit(pm)[pr].is_nan() {
                    self.grad.params[inside + r] += cot_s[pm][pr];
                    cot_s[pm][pr] = 0.0;
                }
            }
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if !matches!(ml.kind, MechKind::Pool { .. }) {
                continue;
            }
            let rows = ml.rows();
            for (k, given) in explicit(m).iter().enumerate() {
                if !given.is_nan() {
                    self.grad.params[ml.init_states.start + k] += cot_s[m][k];
                    cot_s[m][k] = 0.0;
                }
            }
            // State 0 does not come from init_states.
            cot_s[m][..rows].fill(0.0);
            self.cot_v_row[m].fill(0.0);
            self.cot_in[m].fill(0.0);
            ml.channel.init_states_vjp(
                &st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]),
                Columns::new(&values[ml.params.clone()], rows),
                Columns::new(&cot_s[m], rows),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.grad.params[ml.params.clone()], rows),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], rows),
                },
            );
            for (r, &node) in ml.nodes.iter().enumerate() {
                lam_v[node as usize] += self.cot_v_row[m][r];
            }
        }
        // Synapses start from their own initial states at the initial
        // voltages, unless set.
        for (g, sl) in lay.synapses().iter().enumerate() {
            let rows = sl.rows();
            let mut cot_s = cot.syn[g].clone();
            for (k, given) in values[sl.init_states.clone()].iter().enumerate() {
                if !given.is_nan() {
                    self.grad.params[sl.init_states.start + k] += cot_s[k];
                    cot_s[k] = 0.0;
                }
            }
            self.syn_cot_pre[g].fill(0.0);
            self.syn_cot_post[g].fill(0.0);
            st.gather_synapses(g, 0, &x0.v, &[], &mut self.ws);
            sl.synapse.init_states_vjp(
                &st.syn_env(g, &self.ws),
                Columns::new(&values[sl.params.clone()], rows),
                Columns::new(&cot_s, rows),
                SynCot {
                    v_pre: &mut self.syn_cot_pre[g],
                    v_post: &mut self.syn_cot_post[g],
                    params: ColumnsMut::new(&mut self.grad.params[sl.params.clone()], rows),
                },
            );
            for r in 0..rows {
                lam_v[sl.pre[r] as usize] += self.syn_cot_pre[g][r];
                lam_v[sl.post[r] as usize] += self.syn_cot_post[g][r];
            }
        }
        let start = lay.initial_voltage_range().start;
        for (c, &node) in lay.node_of_comp().iter().enumerate() {
            self.grad.params[start + c] += lam_v[node as usize];
        }
    }

    /// The accumulated gradient, with the shares of the capacitances, axial
    /// resistivities, and radii and lengths of cylindrical compartments added.
    pub fn finish(mut self) -> Gradient {
        let st = self.st;
        let lay = st.layout;
        let values = st.params.values();
        let cm = lay.capacitance_range();
        let ra = lay.axial_resistivity_range();
        let mut lam_area = vec![0.0; lay.n_comps()];
        for (c, &node) in lay.node_of_comp().iter().enumerate() {
            let node = node as usize;
            self.grad.params[cm.start + c] += self.lam_cap[node] * st.area[c] * CAPACITANCE_TO_ABS;
            lam_area[c] = self.lam_cap[node] * values[cm.start + c] * CAPACITANCE_TO_ABS
                + self.lam_area_abs[node] * DENSITY_TO_ABS;
        }
        let mut lam_load = vec![[0.0; 2]; lay.n_comps()];
        for (j, pair) in lay.edge_halves().iter().enumerate() {
            if lay.parent()[j] == NONE {
                continue;
            }
            let g = st.g_axial[j];
            // g = AXIAL_TO_ABS / sum(ra_c load_c).
            let dg_dr = -g * g / AXIAL_TO_ABS * self.lam_axial[j];
            for &(c, half) in pair {
                if c != NONE {
                    let (c, h) = (c as usize, half as usize);
                    self.grad.params[ra.start + c] += dg_dr * st.load[c][h];
                    lam_load[c][h] += dg_dr * values[ra.start + c];
                }
            }
        }
        let (r0, l0) = (lay.radius_range().start, lay.length_range().start);
        for (c, geo) in lay.geometry().iter().enumerate() {
            if !geo.cylinder {
                continue;
            }
            let (r, l) = (values[r0 + c], values[l0 + c]);
            let lam_loads = lam_load[c][0] + lam_load[c][1];
            // area = 2 pi r l, each half load = (l/2) / (pi r^2).
            self.grad.params[r0 + c] +=
                lam_area[c] * 2.0 * PI * l - lam_loads * l / (PI * r * r * r);
            self.grad.params[l0 + c] += lam_area[c] * 2.0 * PI * r + lam_loads / (2.0 * PI * r * r);
        }
        self.grad
    }
}
