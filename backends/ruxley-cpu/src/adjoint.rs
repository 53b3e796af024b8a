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
//! mu_i (C_i/h + G_i). The mechanisms' VJPs carry the current's share back
//! to their states, voltages and parameters; the shared lowering's
//! [`Geometry::vjp`](ruxley_backend::lower::Geometry::vjp) carries those of
//! the capacitances, areas and axial conductances to the parameters.

use ruxley_backend::Scheme;
use ruxley_backend::lower::GeometryCot;
use ruxley_cell::{MechKind, NONE};
use ruxley_channels::ion::nernst_factor;
use ruxley_channels::{Columns, ColumnsMut, Cot, IonVar};
use ruxley_synapses::SynCot;

use crate::kernels::CpuFloat;
use crate::step::{State, Stepper, Workspace};
use crate::tree::{factor_tree, substitute_tree};

/// Cotangents of the inputs of one member's simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    /// With respect to every value of the parameter vector.
    pub params: Vec<f64>,
    /// With respect to each stimulus' current (nA) in each step.
    pub stimuli: Vec<Vec<f64>>,
}

/// Reverse-mode state for a block of simulations: scratch buffers and
/// accumulators, all `[..][member]` like the step's.
pub struct Adjoint<'s, 'a, F: CpuFloat> {
    st: &'s Stepper<'a, F>,
    ws: Workspace<F>,
    s_new: Vec<Vec<F>>,
    syn_new: Vec<Vec<F>>,
    /// The voltages and states after the voltage-setting mechanisms of the
    /// step (a copy of the state before the step where there are none).
    v_set: Vec<F>,
    mech_set: Vec<Vec<F>>,
    /// Per synapse group: cotangents of the current and slope, and of the
    /// voltages at both ends.
    syn_lam_i: Vec<Vec<F>>,
    syn_lam_g: Vec<Vec<F>>,
    syn_cot_pre: Vec<Vec<F>>,
    syn_cot_post: Vec<Vec<F>>,
    x: Vec<F>,
    mu: Vec<F>,
    mu_eff: Vec<F>,
    lam_g_node: Vec<F>,
    lam_i_row: Vec<Vec<F>>,
    lam_g_row: Vec<Vec<F>>,
    cot_v_row: Vec<Vec<F>>,
    new_cot_v: Vec<F>,
    lam_cap: Vec<F>,
    lam_area_abs: Vec<F>,
    lam_axial: Vec<F>,
    /// Per mechanism: the cotangents of its ion inputs.
    cot_in: Vec<Vec<F>>,
    /// Per ion and site row: the cotangents of the reversal potential, the
    /// inside concentration and the summed current.
    cot_e: Vec<Vec<F>>,
    cot_ci: Vec<Vec<F>>,
    cot_ii: Vec<Vec<F>>,
    /// Accumulated cotangents of each mechanism's and synapse group's
    /// parameters and explicit initial states.
    cot_params: Vec<Vec<F>>,
    cot_init: Vec<Vec<F>>,
    syn_cot_params: Vec<Vec<F>>,
    syn_cot_init: Vec<Vec<F>>,
    /// Of the initial voltage of each compartment.
    cot_v0: Vec<F>,
    /// Of each stimulus drive in each step.
    cot_stim: Vec<Vec<F>>,
}

impl<'s, 'a, F: CpuFloat> Adjoint<'s, 'a, F> {
    /// Zero accumulators for `stepper`.
    pub fn new(stepper: &'s Stepper<'a, F>) -> Self {
        let lay = stepper.layout;
        let nb = stepper.nb;
        let n = lay.n_nodes() * nb;
        let z = |len: usize| vec![F::zero(); len];
        let rows = || -> Vec<Vec<F>> {
            (0..lay.mechs().len())
                .map(|m| z(stepper.mech_len(m)))
                .collect()
        };
        let states: Vec<Vec<F>> = lay
            .mechs()
            .iter()
            .enumerate()
            .map(|(m, ml)| z(stepper.mech_len(m) * ml.channel.states().len()))
            .collect();
        let syn_rows = || -> Vec<Vec<F>> {
            (0..lay.synapses().len())
                .map(|g| z(stepper.syn_len(g)))
                .collect()
        };
        let sites = || -> Vec<Vec<F>> {
            lay.ions()
                .iter()
                .map(|i| z(lay.mechs()[i.site].rows() * nb))
                .collect()
        };
        let like = |x: &[Vec<F>]| -> Vec<Vec<F>> { x.iter().map(|c| z(c.len())).collect() };
        Self {
            st: stepper,
            ws: stepper.workspace(),
            v_set: z(n),
            mech_set: states.clone(),
            s_new: states,
            syn_new: lay
                .synapses()
                .iter()
                .enumerate()
                .map(|(g, sl)| z(stepper.syn_len(g) * sl.synapse.states().len()))
                .collect(),
            syn_lam_i: syn_rows(),
            syn_lam_g: syn_rows(),
            syn_cot_pre: syn_rows(),
            syn_cot_post: syn_rows(),
            x: z(n),
            mu: z(n),
            mu_eff: z(n),
            lam_g_node: z(n),
            lam_i_row: rows(),
            lam_g_row: rows(),
            cot_v_row: rows(),
            new_cot_v: z(n),
            lam_cap: z(n),
            lam_area_abs: z(n),
            lam_axial: z(n),
            cot_in: lay
                .mechs()
                .iter()
                .enumerate()
                .map(|(m, ml)| z(stepper.mech_len(m) * ml.inputs.len()))
                .collect(),
            cot_e: sites(),
            cot_ci: sites(),
            cot_ii: sites(),
            cot_params: like(&stepper.mech_params),
            cot_init: like(&stepper.mech_init),
            syn_cot_params: like(&stepper.syn_params),
            syn_cot_init: like(&stepper.syn_init),
            cot_v0: z(stepper.v0.len()),
            cot_stim: stepper
                .stim
                .iter()
                .map(|d| z(d.current.len() * d.members.len()))
                .collect(),
        }
    }

    /// Pulls `cot`, the cotangent of the state after step `n`, back to the
    /// state before it (`state`), accumulating the parameters' cotangents;
    /// `after`, if given, must be the state after step `n`. Allocates nothing.
    pub fn step_vjp(
        &mut self,
        n: usize,
        state: &State<F>,
        after: Option<&State<F>>,
        cot: &mut State<F>,
    ) {
        let st = self.st;
        let nb = st.nb;
        let parent = st.layout.parent();
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
        let v0: &[F] = if resets { &v_set } else { &state.v };
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
        factor_tree(parent, g, &mut self.ws.d, nb);
        match after {
            // Under backward Euler the solution is the next voltage itself.
            Some(a) if st.scheme == Scheme::BackwardEuler => self.x.copy_from_slice(&a.v),
            _ => {
                self.x.copy_from_slice(&self.ws.b);
                substitute_tree(parent, g, &self.ws.d, &mut self.x, nb);
            }
        }
        // The adjoint solve.
        let cn = st.scheme == Scheme::CrankNicolson;
        let factor = F::of(if cn { 2.0 } else { 1.0 });
        for (m, &c) in self.mu.iter_mut().zip(&cot.v) {
            *m = factor * c;
        }
        substitute_tree(parent, g, &self.ws.d, &mut self.mu, nb);
        self.mu_eff.copy_from_slice(&self.mu);
        if clamped {
            for c in &st.clamps {
                if !c.command[n].is_nan() {
                    self.mu_eff[c.node * nb..(c.node + 1) * nb].fill(F::zero());
                }
            }
        }
        let inv_h = F::of(1.0 / st.h());
        for i in 0..self.x.len() {
            let me = self.mu_eff[i];
            let dx = v0[i] - self.x[i];
            self.lam_cap[i] += me * dx * inv_h;
            self.lam_g_node[i] = me * dx;
            self.new_cot_v[i] = me * (st.cap[i] * inv_h + self.ws.g_node[i])
                - if cn { cot.v[i] } else { F::zero() };
        }
        if clamped && cn {
            // The half-step target of a clamped node is (command + v_n)/2.
            for c in &st.clamps {
                if c.command[n].is_nan() {
                    continue;
                }
                for b in 0..nb {
                    let i = c.node * nb + b;
                    let mut lam_t = self.mu[i];
                    if parent[c.node] != NONE {
                        lam_t += self.mu[parent[c.node] as usize * nb + b] * st.g_axial[i];
                    }
                    for &j in &c.children {
                        lam_t += self.mu[j * nb + b] * st.g_axial[j * nb + b];
                    }
                    self.new_cot_v[i] += F::of(0.5) * lam_t;
                }
            }
        }
        for j in 0..parent.len() {
            let p = parent[j];
            if p != NONE {
                let p = p as usize;
                for b in 0..nb {
                    let (jb, pb) = (j * nb + b, p * nb + b);
                    self.lam_axial[jb] -=
                        (self.mu_eff[jb] - self.mu_eff[pb]) * (self.x[jb] - self.x[pb]);
                }
            }
        }
        for (k, d) in st.stim.iter().enumerate() {
            let covered = d.members.len();
            for (j, b) in d.members.clone().enumerate() {
                self.cot_stim[k][n * covered + j] += self.mu_eff[d.node * nb + b];
            }
        }
        for x in self
            .cot_e
            .iter_mut()
            .chain(&mut self.cot_ci)
            .chain(&mut self.cot_ii)
        {
            x.fill(F::zero());
        }
        // Pools: from their states after the step to those before it, and to
        // the ion currents of the step.
        for (m, ml) in st.layout.mechs().iter().enumerate() {
            if !matches!(ml.kind, MechKind::Pool { .. }) {
                continue;
            }
            let len = st.mech_len(m);
            self.cot_v_row[m].fill(F::zero());
            self.cot_in[m].fill(F::zero());
            st.kernels[m].advance_states_vjp(
                &st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]),
                st.params_of(m),
                Columns::new(&state.mech[m], len),
                ColumnsMut::new(&mut cot.mech[m], len),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.cot_params[m], len),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], len),
                },
            );
            self.scatter_inputs(m);
            self.add_rows_to_nodes(m);
        }
        // The channels.
        for (m, ml) in st.layout.mechs().iter().enumerate() {
            if ml.kind != MechKind::Channel {
                continue;
            }
            let len = st.mech_len(m);
            for (r, &node) in ml.nodes.iter().enumerate() {
                let node = node as usize;
                for b in 0..nb {
                    let (i, x) = (node * nb + b, r * nb + b);
                    let a = st.area_abs[i];
                    let (lam_i, lam_g) = (-self.mu_eff[i], self.lam_g_node[i]);
                    self.lam_i_row[m][x] = lam_i * a;
                    self.lam_g_row[m][x] = lam_g * a;
                    self.lam_area_abs[i] +=
                        lam_i * self.ws.mech_i[m][x] + lam_g * self.ws.mech_g[m][x];
                }
            }
            self.cot_v_row[m].fill(F::zero());
            if let Some((ion, site_rows)) = &ml.carries {
                for (r, &sr) in site_rows.iter().enumerate() {
                    let sr = sr as usize;
                    for b in 0..nb {
                        self.lam_i_row[m][r * nb + b] += self.cot_ii[*ion][sr * nb + b];
                    }
                }
            }
            self.cot_in[m].fill(F::zero());
            let env = st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]);
            let k = &st.kernels[m];
            k.current_vjp(
                &env,
                st.params_of(m),
                Columns::new(&self.s_new[m], len),
                &self.lam_i_row[m],
                &self.lam_g_row[m],
                ColumnsMut::new(&mut cot.mech[m], len),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.cot_params[m], len),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], len),
                },
            );
            let before = if resets && ml.channel.sets_voltage() {
                &self.mech_set[m]
            } else {
                &state.mech[m]
            };
            k.advance_states_vjp(
                &env,
                st.params_of(m),
                Columns::new(before, len),
                ColumnsMut::new(&mut cot.mech[m], len),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.cot_params[m], len),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], len),
                },
            );
            self.scatter_inputs(m);
            self.add_rows_to_nodes(m);
        }
        self.ion_values_vjp(&mut cot.mech);
        self.synapses_vjp(state, cot);
        // Through the voltage-setting mechanisms, from the voltages and
        // states after them to those before.
        for &m in &st.voltage_mechs {
            let ml = &st.layout.mechs()[m];
            let len = st.mech_len(m);
            st.gather(m, &state.v, &mut self.ws);
            for (r, &node) in ml.nodes.iter().enumerate() {
                let node = node as usize;
                self.cot_v_row[m][r * nb..(r + 1) * nb]
                    .copy_from_slice(&self.new_cot_v[node * nb..(node + 1) * nb]);
            }
            st.kernels[m].set_voltage_vjp(
                &st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]),
                st.params_of(m),
                Columns::new(&state.mech[m], len),
                ColumnsMut::new(&mut cot.mech[m], len),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.cot_params[m], len),
                    inputs: ColumnsMut::new(&mut [], len),
                },
            );
            for (r, &node) in ml.nodes.iter().enumerate() {
                let node = node as usize;
                self.new_cot_v[node * nb..(node + 1) * nb]
                    .copy_from_slice(&self.cot_v_row[m][r * nb..(r + 1) * nb]);
            }
        }
        self.v_set = v_set;
        cot.v.copy_from_slice(&self.new_cot_v);
    }

    /// Adds mechanism `m`'s per-row voltage cotangents to its nodes'.
    fn add_rows_to_nodes(&mut self, m: usize) {
        let nb = self.st.nb;
        for (r, &node) in self.st.layout.mechs()[m].nodes.iter().enumerate() {
            let node = node as usize;
            for b in 0..nb {
                self.new_cot_v[node * nb + b] += self.cot_v_row[m][r * nb + b];
            }
        }
    }

    /// The synapses' share of the step's reverse pass: their currents into
    /// the postsynaptic rows of the solve, then their state updates.
    fn synapses_vjp(&mut self, state: &State<F>, cot: &mut State<F>) {
        let st = self.st;
        let nb = st.nb;
        for (g, sl) in st.layout.synapses().iter().enumerate() {
            let len = st.syn_len(g);
            for r in 0..sl.rows() {
                let post = sl.post[r] as usize;
                for b in 0..nb {
                    self.syn_lam_i[g][r * nb + b] = -self.mu_eff[post * nb + b];
                    self.syn_lam_g[g][r * nb + b] = self.lam_g_node[post * nb + b];
                }
            }
            self.syn_cot_pre[g].fill(F::zero());
            self.syn_cot_post[g].fill(F::zero());
            let env = st.syn_env(g, &self.ws);
            let k = &st.syn_kernels[g];
            k.current_vjp(
                &env,
                st.syn_params_of(g),
                Columns::new(&self.syn_new[g], len),
                &self.syn_lam_i[g],
                &self.syn_lam_g[g],
                ColumnsMut::new(&mut cot.syn[g], len),
                SynCot {
                    v_pre: &mut self.syn_cot_pre[g],
                    v_post: &mut self.syn_cot_post[g],
                    params: ColumnsMut::new(&mut self.syn_cot_params[g], len),
                },
            );
            k.advance_states_vjp(
                &env,
                st.syn_params_of(g),
                Columns::new(&state.syn[g], len),
                ColumnsMut::new(&mut cot.syn[g], len),
                SynCot {
                    v_pre: &mut self.syn_cot_pre[g],
                    v_post: &mut self.syn_cot_post[g],
                    params: ColumnsMut::new(&mut self.syn_cot_params[g], len),
                },
            );
            for r in 0..sl.rows() {
                let (pre, post) = (sl.pre[r] as usize, sl.post[r] as usize);
                for b in 0..nb {
                    self.new_cot_v[pre * nb + b] += self.syn_cot_pre[g][r * nb + b];
                    self.new_cot_v[post * nb + b] += self.syn_cot_post[g][r * nb + b];
                }
            }
        }
    }

    /// Adds the cotangents of mechanism `m`'s ion inputs to those of the ion
    /// quantities they were read from.
    fn scatter_inputs(&mut self, m: usize) {
        let nb = self.st.nb;
        let ml = &self.st.layout.mechs()[m];
        let len = self.st.mech_len(m);
        for (j, input) in ml.inputs.iter().enumerate() {
            let dst = match input.var {
                IonVar::Reversal(_) => &mut self.cot_e[input.ion],
                IonVar::Inside(_) => &mut self.cot_ci[input.ion],
                IonVar::Current(_) => &mut self.cot_ii[input.ion],
            };
            let src = &self.cot_in[m][j * len..(j + 1) * len];
            for (r, &sr) in input.site_rows.iter().enumerate() {
                let sr = sr as usize;
                for b in 0..nb {
                    dst[sr * nb + b] += src[r * nb + b];
                }
            }
        }
    }

    /// Pulls the cotangents of the ions' reversal potentials and inside
    /// concentrations back to the pools' states (`cot_mech`) and the ion
    /// sites' parameters ([`Stepper::ion_values`] in reverse).
    fn ion_values_vjp(&mut self, cot_mech: &mut [Vec<F>]) {
        let st = self.st;
        let nb = st.nb;
        for (i, il) in st.layout.ions().iter().enumerate() {
            let rows = st.layout.mechs()[il.site].rows();
            let p = &st.mech_params[il.site];
            let k = F::of(nernst_factor(&il.ion, st.layout.celsius()));
            let cp = &mut self.cot_params[il.site];
            for r in 0..rows {
                let (pm, pr) = il.pools[r];
                for b in 0..nb {
                    let j = r * nb + b;
                    let (ce, cc) = (self.cot_e[i][j], self.cot_ci[i][j]);
                    if pm == NONE {
                        cp[j] += ce;
                        cp[rows * nb + j] += cc;
                    } else {
                        let ci = self.ws.ion_ci[i][j];
                        let co = p[2 * rows * nb + j];
                        // d/dci and d/dco of k ln(co/ci); zero where ci <= 0.
                        let (dci, dco) = if ci <= F::zero() {
                            (F::zero(), F::zero())
                        } else {
                            (-k / ci, k / co)
                        };
                        cot_mech[pm as usize][pr as usize * nb + b] += cc + ce * dci;
                        cp[2 * rows * nb + j] += ce * dco;
                    }
                }
            }
        }
    }

    /// Pulls the cotangent of the initial state back to the parameters
    /// (initial voltages, explicit initial states, the ions' inside
    /// concentrations, and the channel parameters through the steady states).
    pub fn init_vjp(&mut self, cot: &State<F>) {
        let st = self.st;
        let lay = st.layout;
        let nb = st.nb;
        // Recompute the initial buffers (voltages and ion inputs per row).
        let x0 = st.init(&mut self.ws);
        let mut lam_v = cot.v.clone();
        // A branch point starts at its parent's voltage.
        for i in (0..lay.n_nodes()).rev() {
            if lay.comp_of_node()[i] == NONE {
                let p = lay.parent()[i] as usize;
                for b in 0..nb {
                    let x = lam_v[i * nb + b];
                    lam_v[p * nb + b] += x;
                    lam_v[i * nb + b] = F::zero();
                }
            }
        }
        let mut cot_s: Vec<Vec<F>> = cot.mech.clone();
        for x in self.cot_e.iter_mut().chain(&mut self.cot_ci) {
            x.fill(F::zero());
        }
        // Explicit initial states take their cotangent; the rest flows on.
        let take_explicit = |given: &[F], cot: &mut [F], acc: &mut [F]| {
            for ((g, c), a) in given.iter().zip(cot.iter_mut()).zip(acc) {
                if !g.is_nan() {
                    *a += *c;
                    *c = F::zero();
                }
            }
        };
        for (m, ml) in lay.mechs().iter().enumerate() {
            if ml.kind != MechKind::Channel {
                continue;
            }
            let len = st.mech_len(m);
            take_explicit(&st.mech_init[m], &mut cot_s[m], &mut self.cot_init[m]);
            self.cot_v_row[m].fill(F::zero());
            self.cot_in[m].fill(F::zero());
            st.kernels[m].init_states_vjp(
                &st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]),
                st.params_of(m),
                Columns::new(&cot_s[m], len),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.cot_params[m], len),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], len),
                },
            );
            self.scatter_inputs(m);
            add_rows(&ml.nodes, &self.cot_v_row[m], &mut lam_v, nb);
        }
        self.ion_values_vjp(&mut cot_s);
        // Pools: state 0 starts at the ion's inside concentration, the
        // others at the pool's own initial values.
        for il in lay.ions() {
            let rows = lay.mechs()[il.site].rows();
            for (r, &(pm, pr)) in il.pools.iter().enumerate() {
                if pm == NONE {
                    continue;
                }
                let (pm, pr) = (pm as usize, pr as usize);
                for b in 0..nb {
                    if st.mech_init[pm][pr * nb + b].is_nan() {
                        self.cot_params[il.site][(rows + r) * nb + b] += cot_s[pm][pr * nb + b];
                        cot_s[pm][pr * nb + b] = F::zero();
                    }
                }
            }
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if !matches!(ml.kind, MechKind::Pool { .. }) {
                continue;
            }
            let len = st.mech_len(m);
            take_explicit(&st.mech_init[m], &mut cot_s[m], &mut self.cot_init[m]);
            // State 0 does not come from init_states.
            cot_s[m][..len].fill(F::zero());
            self.cot_v_row[m].fill(F::zero());
            self.cot_in[m].fill(F::zero());
            st.kernels[m].init_states_vjp(
                &st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]),
                st.params_of(m),
                Columns::new(&cot_s[m], len),
                Cot {
                    v: &mut self.cot_v_row[m],
                    params: ColumnsMut::new(&mut self.cot_params[m], len),
                    inputs: ColumnsMut::new(&mut self.cot_in[m], len),
                },
            );
            add_rows(&ml.nodes, &self.cot_v_row[m], &mut lam_v, nb);
        }
        // Synapses start from their own initial states at the initial
        // voltages, unless set.
        for (g, sl) in lay.synapses().iter().enumerate() {
            let len = st.syn_len(g);
            let mut cs = cot.syn[g].clone();
            take_explicit(&st.syn_init[g], &mut cs, &mut self.syn_cot_init[g]);
            self.syn_cot_pre[g].fill(F::zero());
            self.syn_cot_post[g].fill(F::zero());
            st.gather_synapses(g, 0, &x0.v, &[], &mut self.ws);
            st.syn_kernels[g].init_states_vjp(
                &st.syn_env(g, &self.ws),
                st.syn_params_of(g),
                Columns::new(&cs, len),
                SynCot {
                    v_pre: &mut self.syn_cot_pre[g],
                    v_post: &mut self.syn_cot_post[g],
                    params: ColumnsMut::new(&mut self.syn_cot_params[g], len),
                },
            );
            for r in 0..sl.rows() {
                let (pre, post) = (sl.pre[r] as usize, sl.post[r] as usize);
                for b in 0..nb {
                    lam_v[pre * nb + b] += self.syn_cot_pre[g][r * nb + b];
                    lam_v[post * nb + b] += self.syn_cot_post[g][r * nb + b];
                }
            }
        }
        for (c, &node) in lay.node_of_comp().iter().enumerate() {
            let node = node as usize;
            for b in 0..nb {
                self.cot_v0[c * nb + b] += lam_v[node * nb + b];
            }
        }
    }

    /// Each member's gradient: the accumulated cotangents, with the shares
    /// of the capacitances, axial resistivities, and radii and lengths of
    /// cylindrical compartments added by the shared lowering.
    pub fn finish(self) -> Vec<Gradient> {
        let st = self.st;
        let lay = st.layout;
        let nb = st.nb;
        let mut stim_of = vec![Vec::new(); nb];
        for (d, c) in st.stim.iter().zip(&self.cot_stim) {
            let covered = d.members.len();
            for (j, b) in d.members.clone().enumerate() {
                stim_of[b].push(
                    c.iter()
                        .skip(j)
                        .step_by(covered)
                        .map(|x| x.to_f64())
                        .collect(),
                );
            }
        }
        (0..nb)
            .zip(stim_of)
            .map(|(b, stimuli)| {
                let params = st.params[b];
                let mut grad = vec![0.0; params.values().len()];
                let mut put = |start: usize, side_by_side: &[F]| {
                    for (j, x) in side_by_side.iter().skip(b).step_by(nb).enumerate() {
                        grad[start + j] += x.to_f64();
                    }
                };
                for (m, ml) in lay.mechs().iter().enumerate() {
                    put(ml.params.start, &self.cot_params[m]);
                    put(ml.init_states.start, &self.cot_init[m]);
                }
                for (g, sl) in lay.synapses().iter().enumerate() {
                    put(sl.params.start, &self.syn_cot_params[g]);
                    put(sl.init_states.start, &self.syn_cot_init[g]);
                }
                put(lay.initial_voltage_range().start, &self.cot_v0);
                let member = |x: &[F]| -> Vec<f64> {
                    x.iter().skip(b).step_by(nb).map(|v| v.to_f64()).collect()
                };
                let cot = GeometryCot {
                    cap: member(&self.lam_cap),
                    area_abs: member(&self.lam_area_abs),
                    g_axial: member(&self.lam_axial),
                };
                st.geometry[b].vjp(lay, params, &cot, &mut grad);
                Gradient {
                    params: grad,
                    stimuli,
                }
            })
            .collect()
    }
}

/// Adds per-row values to their nodes' (all members).
fn add_rows<F: CpuFloat>(nodes: &[u32], rows: &[F], to: &mut [F], nb: usize) {
    for (r, &node) in nodes.iter().enumerate() {
        let node = node as usize;
        for b in 0..nb {
            to[node * nb + b] += rows[r * nb + b];
        }
    }
}
