//! Forward-mode derivatives of the step: the tangent dx_{n+1} = J_n dx_n (+
//! the parameter direction's share), exactly linearising the scheme run.
//!
//! Channels, pools and synapses provide reverse-mode kernels only; their
//! Jacobian-vector products are assembled row by row from one VJP per output
//! (each state, and the current and its slope), which is exact and keeps
//! their interfaces small. Ion tangents follow NEURON's order: reversal
//! potentials from the pools' concentrations at the start of the step
//! (Nernst), channels, their ion currents, then the pools; voltage-setting
//! mechanisms act first, as in the step. Directions in parameters may move
//! channel, pool, ion and synapse parameters. Spikes carry no tangent (they
//! are piecewise constant; surrogate spike derivatives, where a mechanism
//! has them, enter as they do in reverse mode).

use ruxley_backend::{Scheme, SimError};
use ruxley_cell::{MechKind, NONE, Target};
use ruxley_channels::ion::nernst_derivatives;
use ruxley_channels::{Columns, ColumnsMut, Cot, IonVar};
use ruxley_synapses::SynCot;

use crate::step::{State, Stepper, Workspace};
use crate::tree::{factor_tree, substitute_tree};

/// Forward-mode state for one simulation.
#[derive(Debug)]
pub struct Jvp<'s, 'a> {
    st: &'s Stepper<'a>,
    ws: Workspace,
    dparams: Vec<f64>,
    s_old: Vec<Vec<f64>>,
    ds_new: Vec<Vec<f64>>,
    di: Vec<Vec<f64>>,
    dg: Vec<Vec<f64>>,
    ones: Vec<Vec<f64>>,
    zeros: Vec<Vec<f64>>,
    /// Per mechanism: the cotangents one VJP pulls back.
    cot: Vec<MechCots>,
    /// Per mechanism: the tangents of its ion inputs.
    d_in: Vec<Vec<f64>>,
    /// Per mechanism: the tangent of the voltages it sets.
    dv_set: Vec<Vec<f64>>,
    /// Per ion and site row: the tangents of the reversal potential, the
    /// inside concentration and the summed current density.
    d_ion: [Vec<Vec<f64>>; 3],
    syn: Vec<SynBuffers>,
    r: Vec<f64>,
}

/// The cotangents one mechanism VJP pulls back to the inputs of its rows.
#[derive(Debug)]
struct MechCots {
    rows: usize,
    v: Vec<f64>,
    s: Vec<f64>,
    p: Vec<f64>,
    inputs: Vec<f64>,
}

impl MechCots {
    fn new(ml: &ruxley_cell::MechLayout) -> Self {
        let rows = ml.rows();
        let z = |n: usize| vec![0.0; rows * n];
        Self {
            rows,
            v: z(1),
            s: z(ml.channel.states().len()),
            p: z(ml.channel.params().len()),
            inputs: z(ml.inputs.len()),
        }
    }

    /// Clears the cotangents and sets a unit one on the voltage (if `v`) or
    /// on state `k`.
    fn reset(&mut self, v: bool, k: Option<usize>) {
        self.v.fill(if v { 1.0 } else { 0.0 });
        for x in [&mut self.s, &mut self.p, &mut self.inputs] {
            x.fill(0.0);
        }
        if let Some(k) = k {
            self.s[k * self.rows..(k + 1) * self.rows].fill(1.0);
        }
    }

    /// The unit cotangent of the states as an initialisation VJP reads it,
    /// and the rest.
    fn init_views(&mut self) -> (Columns<'_>, Cot<'_>) {
        (
            Columns::new(&self.s, self.rows),
            Cot {
                v: &mut self.v,
                params: ColumnsMut::new(&mut self.p, self.rows),
                inputs: ColumnsMut::new(&mut self.inputs, self.rows),
            },
        )
    }

    /// The cotangents as a VJP takes them: of the states, and the rest.
    fn views(&mut self) -> (ColumnsMut<'_>, Cot<'_>) {
        (
            ColumnsMut::new(&mut self.s, self.rows),
            Cot {
                v: &mut self.v,
                params: ColumnsMut::new(&mut self.p, self.rows),
                inputs: ColumnsMut::new(&mut self.inputs, self.rows),
            },
        )
    }

    /// The directional derivative at row `r` of the output whose VJP was
    /// just taken, through the voltage (tangent `dv`), the parameters (`dp`)
    /// and the ion inputs (`d_in`).
    fn combine(&self, dv: f64, dp: &[f64], d_in: &[f64], r: usize) -> f64 {
        let rows = self.rows;
        let mut d = self.v[r] * dv;
        for (q, c) in self.p.chunks_exact(rows).enumerate() {
            d += c[r] * dp[q * rows + r];
        }
        for (j, c) in self.inputs.chunks_exact(rows).enumerate() {
            d += c[r] * d_in[j * rows + r];
        }
        d
    }

    /// Its share through the states, given their tangents `ds`.
    fn through_states(&self, ds: &[f64], r: usize) -> f64 {
        let rows = self.rows;
        self.s
            .chunks_exact(rows)
            .enumerate()
            .map(|(j, c)| c[r] * ds[j * rows + r])
            .sum()
    }
}

/// The working arrays of one synapse group's tangents.
#[derive(Debug)]
struct SynBuffers {
    /// The states before the step.
    old: Vec<f64>,
    /// The tangents of the states after it.
    ds_new: Vec<f64>,
    /// The tangents of the current and of its slope.
    di: Vec<f64>,
    dg: Vec<f64>,
    ones: Vec<f64>,
    zeros: Vec<f64>,
    cot: SynCots,
}

impl SynBuffers {
    fn new(rows: usize, states: usize, params: usize) -> Self {
        let z = |n: usize| vec![0.0; n];
        Self {
            old: z(rows * states),
            ds_new: z(rows * states),
            di: z(rows),
            dg: z(rows),
            ones: vec![1.0; rows],
            zeros: z(rows),
            cot: SynCots {
                rows,
                s: z(rows * states),
                pre: z(rows),
                post: z(rows),
                p: z(rows * params),
            },
        }
    }
}

/// The cotangents one synapse VJP pulls back to the inputs of its rows.
#[derive(Debug)]
struct SynCots {
    rows: usize,
    s: Vec<f64>,
    pre: Vec<f64>,
    post: Vec<f64>,
    p: Vec<f64>,
}

impl SynCots {
    /// Clears the cotangents and sets that of the states to 1 in state `k`
    /// (none for `None`).
    fn reset(&mut self, k: Option<usize>) {
        for x in [&mut self.s, &mut self.pre, &mut self.post, &mut self.p] {
            x.fill(0.0);
        }
        if let Some(k) = k {
            self.s[k * self.rows..(k + 1) * self.rows].fill(1.0);
        }
    }

    /// The unit cotangent of the states as an initialisation VJP reads it,
    /// and the rest.
    fn init_views(&mut self) -> (Columns<'_>, SynCot<'_>) {
        (
            Columns::new(&self.s, self.rows),
            SynCot {
                v_pre: &mut self.pre,
                v_post: &mut self.post,
                params: ColumnsMut::new(&mut self.p, self.rows),
            },
        )
    }

    /// The cotangents as a VJP takes them.
    fn views(&mut self) -> (ColumnsMut<'_>, SynCot<'_>) {
        (
            ColumnsMut::new(&mut self.s, self.rows),
            SynCot {
                v_pre: &mut self.pre,
                v_post: &mut self.post,
                params: ColumnsMut::new(&mut self.p, self.rows),
            },
        )
    }

    /// The directional derivative at row `r` of the output whose VJP was
    /// just taken, given the tangents of the voltages, the states `ds` and
    /// the parameters `dp`.
    fn combine(&self, dv_pre: f64, dv_post: f64, ds: &[f64], dp: &[f64], r: usize) -> f64 {
        let rows = self.rows;
        let mut d = self.pre[r] * dv_pre + self.post[r] * dv_post;
        for (j, c) in self.s.chunks_exact(rows).enumerate() {
            d += c[r] * ds[j * rows + r];
        }
        for (q, c) in self.p.chunks_exact(rows).enumerate() {
            d += c[r] * dp[q * rows + r];
        }
        d
    }
}

impl<'s, 'a> Jvp<'s, 'a> {
    /// A forward-mode stepper along the parameter direction `dparams` (in the
    /// layout of the parameter vector; None for no parameter direction).
    pub fn new(stepper: &'s Stepper<'a>, dparams: Option<&[f64]>) -> Result<Self, SimError> {
        let lay = stepper.layout;
        let n_params = stepper.params.values().len();
        let dparams = match dparams {
            None => vec![0.0; n_params],
            Some(d) => {
                if d.len() != n_params {
                    return Err(SimError::Params(format!(
                        "{} parameter tangents for {n_params} parameters",
                        d.len()
                    )));
                }
                for block in stepper.params.layout().blocks() {
                    let moved = stepper
                        .params
                        .block(block)
                        .iter()
                        .zip(&d[block.range.clone()])
                        .any(|(_, x)| *x != 0.0);
                    let supported = matches!(
                        block.target,
                        Target::ChannelParam { .. } | Target::SynapseParam { .. }
                    );
                    if moved && !supported {
                        return Err(SimError::Unsupported(format!(
                            "forward-mode directions in {} are not supported (channel and synapse parameters only)",
                            block.name
                        )));
                    }
                }
                d.to_vec()
            }
        };
        let per_mech = |f: &dyn Fn(&ruxley_cell::MechLayout) -> usize| {
            lay.mechs()
                .iter()
                .map(|m| vec![0.0; f(m)])
                .collect::<Vec<_>>()
        };
        Ok(Self {
            st: stepper,
            ws: stepper.workspace(),
            dparams,
            s_old: per_mech(&|m| m.rows() * m.channel.states().len()),
            ds_new: per_mech(&|m| m.rows() * m.channel.states().len()),
            di: per_mech(&|m| m.rows()),
            dg: per_mech(&|m| m.rows()),
            ones: lay.mechs().iter().map(|m| vec![1.0; m.rows()]).collect(),
            zeros: per_mech(&|m| m.rows()),
            cot: lay.mechs().iter().map(MechCots::new).collect(),
            d_in: per_mech(&|m| m.rows() * m.inputs.len()),
            dv_set: per_mech(&|m| m.rows()),
            d_ion: std::array::from_fn(|_| {
                lay.ions()
                    .iter()
                    .map(|il| vec![0.0; lay.mechs()[il.site].rows()])
                    .collect()
            }),
            syn: lay
                .synapses()
                .iter()
                .map(|sl| {
                    SynBuffers::new(
                        sl.rows(),
                        sl.synapse.states().len(),
                        sl.synapse.params().len(),
                    )
                })
                .collect(),
            r: vec![0.0; lay.n_nodes()],
        })
    }

    /// The tangent of the initial state along the parameter direction (plus
    /// none along the initial voltage, which is not a channel parameter).
    pub fn init_tangent(&mut self, state: &State) -> State {
        let st = self.st;
        let lay = st.layout;
        let values = st.params.values();
        let mut t = state.zeros_like();
        // Pools first: their concentrations set the ions' values, which the
        // channels' steady states may read.
        for (m, ml) in lay.mechs().iter().enumerate() {
            if matches!(ml.kind, MechKind::Pool { .. }) {
                self.init_mech_tangent(m, state, &mut t);
            }
        }
        if lay.has_ions() {
            st.ion_values(&state.mech, &mut self.ws);
            self.ion_tangents(&state.mech, &t.mech);
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            if ml.kind == MechKind::Channel {
                self.init_mech_tangent(m, state, &mut t);
            }
        }
        for (g, sl) in st.layout.synapses().iter().enumerate() {
            let rows = sl.rows();
            st.gather_synapses(g, 0, &state.v, &[], &mut self.ws);
            let env = st.syn_env(g, &self.ws);
            let params = Columns::new(&values[sl.params.clone()], rows);
            let dp = &self.dparams[sl.params.clone()];
            let explicit = &values[sl.init_states.clone()];
            let c = &mut self.syn[g].cot;
            for k in 0..sl.synapse.states().len() {
                c.reset(Some(k));
                let (unit, cot) = c.init_views();
                sl.synapse.init_states_vjp(&env, params, unit, cot);
                for r in 0..rows {
                    if explicit[k * rows + r].is_nan() {
                        t.syn[g][k * rows + r] =
                            c.p.chunks_exact(rows)
                                .enumerate()
                                .map(|(q, cp)| cp[r] * dp[q * rows + r])
                                .sum();
                    }
                }
            }
        }
        t
    }

    /// The tangents of every ion's reversal potential and inside
    /// concentration at the start of a step, from the channel and pool
    /// states `mech`, their tangents `dmech` and the parameter direction;
    /// clears those of the ion currents.
    fn ion_tangents(&mut self, mech: &[Vec<f64>], dmech: &[Vec<f64>]) {
        let lay = self.st.layout;
        let values = self.st.params.values();
        let [de, dci, di] = &mut self.d_ion;
        for (i, il) in lay.ions().iter().enumerate() {
            let site = &lay.mechs()[il.site];
            let rows = site.rows();
            let (p, dp) = (
                &values[site.params.clone()],
                &self.dparams[site.params.clone()],
            );
            for r in 0..rows {
                let (pm, pr) = (il.pools[r].0 as usize, il.pools[r].1 as usize);
                if il.pools[r].0 == NONE {
                    de[i][r] = dp[r];
                    dci[i][r] = dp[rows + r];
                } else {
                    let co = 2 * rows + r;
                    let (e_ci, e_co) =
                        nernst_derivatives(&il.ion, mech[pm][pr], p[co], lay.celsius());
                    dci[i][r] = dmech[pm][pr];
                    de[i][r] = e_ci * dci[i][r] + e_co * dp[co];
                }
            }
            di[i].fill(0.0);
        }
    }

    /// The tangent of the initial states of mechanism `m` (a channel or a
    /// pool) along the parameter direction, into `t`.
    fn init_mech_tangent(&mut self, m: usize, state: &State, t: &mut State) {
        let st = self.st;
        let lay = st.layout;
        let values = st.params.values();
        let ml = &lay.mechs()[m];
        let (rows, ns) = (ml.rows(), ml.channel.states().len());
        let pool = ml.kind != MechKind::Channel;
        st.gather(m, &state.v, &mut self.ws);
        if pool {
            // Pools start with no ion inputs.
            self.ws.mech_in[m].fill(0.0);
            self.d_in[m].fill(0.0);
        } else {
            self.gather_input_tangents(m);
        }
        let env = st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]);
        let dp = &self.dparams[ml.params.clone()];
        let c = &mut self.cot[m];
        for k in 0..ns {
            c.reset(false, Some(k));
            let (unit, cot) = c.init_views();
            ml.channel.init_states_vjp(
                &env,
                Columns::new(&values[ml.params.clone()], rows),
                unit,
                cot,
            );
            for r in 0..rows {
                t.mech[m][k * rows + r] = c.combine(0.0, dp, &self.d_in[m], r);
            }
        }
        if pool {
            // A pool's concentration starts at its ion's inside value.
            for il in lay.ions() {
                let site = &lay.mechs()[il.site];
                let dp = &self.dparams[site.params.clone()];
                for (r, &(pm, pr)) in il.pools.iter().enumerate() {
                    if pm as usize == m {
                        t.mech[m][pr as usize] = dp[site.rows() + r];
                    }
                }
            }
        }
        // Initial states given explicitly do not move.
        for (x, given) in t.mech[m].iter_mut().zip(&values[ml.init_states.clone()]) {
            if !given.is_nan() {
                *x = 0.0;
            }
        }
    }

    /// Lets the voltage-setting mechanisms replace the voltages and their
    /// states at the start of a step, and carries the tangents through.
    fn set_voltages(&mut self, state: &mut State, tangent: &mut State) {
        let st = self.st;
        let values = st.params.values();
        for &m in &st.voltage_mechs {
            let ml = &st.layout.mechs()[m];
            let (rows, ns) = (ml.rows(), ml.channel.states().len());
            st.gather(m, &state.v, &mut self.ws);
            let env = st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]);
            let params = Columns::new(&values[ml.params.clone()], rows);
            let dp = &self.dparams[ml.params.clone()];
            // One VJP per output (the voltage, then each state) with a unit
            // cotangent gives that output's row of the Jacobian.
            let c = &mut self.cot[m];
            for out in 0..=ns {
                c.reset(out == 0, out.checked_sub(1));
                let (cot_s, cot) = c.views();
                ml.channel.set_voltage_vjp(
                    &env,
                    params,
                    Columns::new(&state.mech[m], rows),
                    cot_s,
                    cot,
                );
                for r in 0..rows {
                    let dv = tangent.v[ml.nodes[r] as usize];
                    let d =
                        c.combine(dv, dp, &self.d_in[m], r) + c.through_states(&tangent.mech[m], r);
                    if out == 0 {
                        self.dv_set[m][r] = d;
                    } else {
                        self.ds_new[m][(out - 1) * rows + r] = d;
                    }
                }
            }
            for (r, &node) in ml.nodes.iter().enumerate() {
                tangent.v[node as usize] = self.dv_set[m][r];
            }
            tangent.mech[m].copy_from_slice(&self.ds_new[m]);
        }
        st.set_voltages(&mut state.v, &mut state.mech, &mut self.ws);
    }

    /// Copies the tangents of mechanism `m`'s ion inputs from the ions'.
    fn gather_input_tangents(&mut self, m: usize) {
        let ml = &self.st.layout.mechs()[m];
        let rows = ml.rows();
        for (j, input) in ml.inputs.iter().enumerate() {
            let which = match input.var {
                IonVar::Reversal(_) => 0,
                IonVar::Inside(_) => 1,
                IonVar::Current(_) => 2,
            };
            let src = &self.d_ion[which][input.ion];
            let dst = &mut self.d_in[m][j * rows..(j + 1) * rows];
            for (d, &sr) in dst.iter_mut().zip(&input.site_rows) {
                *d = src[sr as usize];
            }
        }
    }

    /// Advances `state` by step `n` and `tangent` with it.
    pub fn step(&mut self, n: usize, state: &mut State, tangent: &mut State) {
        let st = self.st;
        let lay = st.layout;
        let values = st.params.values();
        let parent = lay.parent();
        self.set_voltages(state, tangent);
        for (old, s) in self.s_old.iter_mut().zip(&state.mech) {
            old.copy_from_slice(s);
        }
        for (b, s) in self.syn.iter_mut().zip(&state.syn) {
            b.old.copy_from_slice(s);
        }
        // The ions' tangents at the start of the step, then forward: new
        // channel states, currents, the system and its solution.
        self.ion_tangents(&state.mech, &tangent.mech);
        st.membrane(n, state, &mut self.ws);
        // Channel tangents, row by row from VJPs with unit cotangents; pools
        // after the channels, whose ion currents they read.
        let channels = lay
            .mechs()
            .iter()
            .enumerate()
            .filter(|(_, ml)| ml.kind == MechKind::Channel);
        let pools = lay
            .mechs()
            .iter()
            .enumerate()
            .filter(|(_, ml)| matches!(ml.kind, MechKind::Pool { .. }));
        for (m, ml) in channels.chain(pools) {
            self.gather_input_tangents(m);
            let (rows, ns) = (ml.rows(), ml.channel.states().len());
            let env = st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]);
            let params = Columns::new(&values[ml.params.clone()], rows);
            let dp = &self.dparams[ml.params.clone()];
            let dv = |r: usize| tangent.v[ml.nodes[r] as usize];
            let (c, d_in) = (&mut self.cot[m], &self.d_in[m]);
            for k in 0..ns {
                c.reset(false, Some(k));
                let (cot_s, cot) = c.views();
                ml.channel.advance_states_vjp(
                    &env,
                    params,
                    Columns::new(&self.s_old[m], rows),
                    cot_s,
                    cot,
                );
                for r in 0..rows {
                    self.ds_new[m][k * rows + r] =
                        c.combine(dv(r), dp, d_in, r) + c.through_states(&tangent.mech[m], r);
                }
            }
            if ml.kind != MechKind::Channel {
                continue;
            }
            for slope in [false, true] {
                let (ci, cg) = if slope {
                    (&self.zeros[m], &self.ones[m])
                } else {
                    (&self.ones[m], &self.zeros[m])
                };
                c.reset(false, None);
                let (cot_s, cot) = c.views();
                ml.channel.current_vjp(
                    &env,
                    params,
                    Columns::new(&state.mech[m], rows),
                    ci,
                    cg,
                    cot_s,
                    cot,
                );
                let out = if slope {
                    &mut self.dg[m]
                } else {
                    &mut self.di[m]
                };
                for r in 0..rows {
                    out[r] = c.combine(dv(r), dp, d_in, r) + c.through_states(&self.ds_new[m], r);
                }
            }
            // The current's share of its ion's, for the pools.
            if let Some((ion, site_rows)) = &ml.carries {
                for (r, &sr) in site_rows.iter().enumerate() {
                    self.d_ion[2][*ion][sr as usize] += self.di[m][r];
                }
            }
        }
        // Synapse tangents, the same way.
        for (g, sl) in lay.synapses().iter().enumerate() {
            let rows = sl.rows();
            let env = st.syn_env(g, &self.ws);
            let params = Columns::new(&values[sl.params.clone()], rows);
            let dp = &self.dparams[sl.params.clone()];
            let dv = |r: usize| {
                (
                    tangent.v[sl.pre[r] as usize],
                    tangent.v[sl.post[r] as usize],
                )
            };
            let b = &mut self.syn[g];
            for k in 0..sl.synapse.states().len() {
                b.cot.reset(Some(k));
                let (cot_s, cot) = b.cot.views();
                sl.synapse
                    .advance_states_vjp(&env, params, Columns::new(&b.old, rows), cot_s, cot);
                for r in 0..rows {
                    let (pre, post) = dv(r);
                    b.ds_new[k * rows + r] = b.cot.combine(pre, post, &tangent.syn[g], dp, r);
                }
            }
            for slope in [false, true] {
                b.cot.reset(None);
                let (ci, cg) = if slope {
                    (&b.zeros, &b.ones)
                } else {
                    (&b.ones, &b.zeros)
                };
                let (cot_s, cot) = b.cot.views();
                sl.synapse.current_vjp(
                    &env,
                    params,
                    Columns::new(&state.syn[g], rows),
                    ci,
                    cg,
                    cot_s,
                    cot,
                );
                for r in 0..rows {
                    let (pre, post) = dv(r);
                    let d = b.cot.combine(pre, post, &b.ds_new, dp, r);
                    if slope {
                        b.dg[r] = d;
                    } else {
                        b.di[r] = d;
                    }
                }
            }
        }
        st.assemble(&state.v, &mut self.ws);
        let clamped = st.clamp_rows(n, &state.v, &mut self.ws);
        let g = if clamped { &self.ws.g_off } else { &st.g_axial };
        factor_tree(parent, g, &mut self.ws.d);
        let mut x = std::mem::take(&mut self.ws.b);
        substitute_tree(parent, g, &self.ws.d, &mut x);
        // The tangent system: M dx = (C/h + G) dv + dG (v - x) - dI.
        let inv_h = 1.0 / st.h();
        for i in 0..self.r.len() {
            self.r[i] = (st.cap[i] * inv_h + self.ws.g_node[i]) * tangent.v[i];
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            for (r, &node) in ml.nodes.iter().enumerate() {
                let node = node as usize;
                let a = st.area_abs[node];
                self.r[node] += self.dg[m][r] * a * (state.v[node] - x[node]) - self.di[m][r] * a;
            }
        }
        for (sl, b) in lay.synapses().iter().zip(&self.syn) {
            for (r, &post) in sl.post.iter().enumerate() {
                let post = post as usize;
                self.r[post] += b.dg[r] * (state.v[post] - x[post]) - b.di[r];
            }
        }
        if clamped {
            for c in &st.clamps {
                if c.command[n].is_nan() {
                    continue;
                }
                let dt_target = if st.scheme == Scheme::CrankNicolson {
                    0.5 * tangent.v[c.node]
                } else {
                    0.0
                };
                self.r[c.node] = dt_target;
                if parent[c.node] != NONE {
                    self.r[parent[c.node] as usize] += st.g_axial[c.node] * dt_target;
                }
                for &j in &c.children {
                    self.r[j] += st.g_axial[j] * dt_target;
                }
            }
        }
        substitute_tree(parent, g, &self.ws.d, &mut self.r);
        for (k, src) in lay.spike_sources().iter().enumerate() {
            self.ws.src_v[k] = state.v[src.node as usize];
        }
        st.update(&mut state.v, &x);
        st.record_spikes(n, state, &self.ws);
        st.update(&mut tangent.v, &self.r);
        for (t, d) in tangent.mech.iter_mut().zip(&self.ds_new) {
            t.copy_from_slice(d);
        }
        for (t, b) in tangent.syn.iter_mut().zip(&self.syn) {
            t.copy_from_slice(&b.ds_new);
        }
        self.ws.b = x;
    }
}
