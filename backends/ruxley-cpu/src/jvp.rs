//! Forward-mode derivatives of the step: the tangent dx_{n+1} = J_n dx_n (+
//! the parameter direction's share), exactly linearising the scheme run.
//!
//! Mechanism kernels are reverse-mode only; their Jacobian-vector products
//! are assembled row by row from one VJP per output (each state, and the
//! current and its slope), which is exact and keeps their interfaces small.
//! Ion tangents follow NEURON's order: reversal potentials from the pools'
//! concentrations at the start of the step (Nernst), channels, their ion
//! currents, then the pools; voltage-setting mechanisms act first, as in the
//! step. Directions in parameters may move channel, pool, ion and synapse
//! parameters. Spikes carry no tangent (they are piecewise constant;
//! surrogate spike derivatives, where a mechanism has them, enter as they
//! do in reverse mode). Every array is `[..][member]`, as in the step.

use ruxley_backend::{Scheme, SimError};
use ruxley_cell::{MechKind, MechLayout, NONE, Target};
use ruxley_channels::ion::nernst_factor;
use ruxley_channels::{Columns, ColumnsMut, Cot, IonVar};
use ruxley_synapses::SynCot;

use crate::kernels::CpuFloat;
use crate::step::{State, Stepper, Workspace};
use crate::tree::{factor_tree, substitute_tree};

/// Forward-mode state for a block of simulations.
pub struct Jvp<'s, 'a, F: CpuFloat> {
    st: &'s Stepper<'a, F>,
    ws: Workspace<F>,
    /// Per mechanism and synapse group: the tangents of their parameters.
    dp: Vec<Vec<F>>,
    syn_dp: Vec<Vec<F>>,
    s_old: Vec<Vec<F>>,
    ds_new: Vec<Vec<F>>,
    di: Vec<Vec<F>>,
    dg: Vec<Vec<F>>,
    ones: Vec<Vec<F>>,
    zeros: Vec<Vec<F>>,
    /// Per mechanism: the cotangents one VJP pulls back.
    cot: Vec<MechCots<F>>,
    /// Per mechanism: the tangents of its ion inputs.
    d_in: Vec<Vec<F>>,
    /// Per mechanism: the tangent of the voltages it sets.
    dv_set: Vec<Vec<F>>,
    /// Per ion and site row: the tangents of the reversal potential, the
    /// inside concentration and the summed current density.
    d_ion: [Vec<Vec<F>>; 3],
    syn: Vec<SynBuffers<F>>,
    r: Vec<F>,
}

/// The cotangents one mechanism VJP pulls back to the inputs of its rows.
struct MechCots<F> {
    len: usize,
    v: Vec<F>,
    s: Vec<F>,
    p: Vec<F>,
    inputs: Vec<F>,
}

impl<F: CpuFloat> MechCots<F> {
    fn new(ml: &MechLayout, len: usize) -> Self {
        let z = |n: usize| vec![F::zero(); len * n];
        Self {
            len,
            v: z(1),
            s: z(ml.channel.states().len()),
            p: z(ml.channel.params().len()),
            inputs: z(ml.inputs.len()),
        }
    }

    /// Clears the cotangents and sets a unit one on the voltage (if `v`) or
    /// on state `k`.
    fn reset(&mut self, v: bool, k: Option<usize>) {
        self.v.fill(if v { F::one() } else { F::zero() });
        for x in [&mut self.s, &mut self.p, &mut self.inputs] {
            x.fill(F::zero());
        }
        if let Some(k) = k {
            self.s[k * self.len..(k + 1) * self.len].fill(F::one());
        }
    }

    /// The unit cotangent of the states as an initialisation VJP reads it,
    /// and the rest.
    fn init_views(&mut self) -> (Columns<'_, F>, Cot<'_, F>) {
        (
            Columns::new(&self.s, self.len),
            Cot {
                v: &mut self.v,
                params: ColumnsMut::new(&mut self.p, self.len),
                inputs: ColumnsMut::new(&mut self.inputs, self.len),
            },
        )
    }

    /// The cotangents as a VJP takes them: of the states, and the rest.
    fn views(&mut self) -> (ColumnsMut<'_, F>, Cot<'_, F>) {
        (
            ColumnsMut::new(&mut self.s, self.len),
            Cot {
                v: &mut self.v,
                params: ColumnsMut::new(&mut self.p, self.len),
                inputs: ColumnsMut::new(&mut self.inputs, self.len),
            },
        )
    }

    /// The directional derivative at entry `x` of the output whose VJP was
    /// just taken, through the voltage (tangent `dv`), the parameters (`dp`)
    /// and the ion inputs (`d_in`).
    fn combine(&self, dv: F, dp: &[F], d_in: &[F], x: usize) -> F {
        let len = self.len;
        let mut d = self.v[x] * dv;
        for (q, c) in self.p.chunks_exact(len).enumerate() {
            d += c[x] * dp[q * len + x];
        }
        for (j, c) in self.inputs.chunks_exact(len).enumerate() {
            d += c[x] * d_in[j * len + x];
        }
        d
    }

    /// Its share through the states, given their tangents `ds`.
    fn through_states(&self, ds: &[F], x: usize) -> F {
        let len = self.len;
        self.s
            .chunks_exact(len)
            .enumerate()
            .map(|(j, c)| c[x] * ds[j * len + x])
            .sum()
    }
}

/// The working arrays of one synapse group's tangents.
struct SynBuffers<F> {
    /// The states before the step.
    old: Vec<F>,
    /// The tangents of the states after it.
    ds_new: Vec<F>,
    /// The tangents of the current and of its slope.
    di: Vec<F>,
    dg: Vec<F>,
    ones: Vec<F>,
    zeros: Vec<F>,
    cot: SynCots<F>,
}

impl<F: CpuFloat> SynBuffers<F> {
    fn new(len: usize, states: usize, params: usize) -> Self {
        let z = |n: usize| vec![F::zero(); n];
        Self {
            old: z(len * states),
            ds_new: z(len * states),
            di: z(len),
            dg: z(len),
            ones: vec![F::one(); len],
            zeros: z(len),
            cot: SynCots {
                len,
                s: z(len * states),
                pre: z(len),
                post: z(len),
                p: z(len * params),
            },
        }
    }
}

/// The cotangents one synapse VJP pulls back to the inputs of its rows.
struct SynCots<F> {
    len: usize,
    s: Vec<F>,
    pre: Vec<F>,
    post: Vec<F>,
    p: Vec<F>,
}

impl<F: CpuFloat> SynCots<F> {
    /// Clears the cotangents and sets that of the states to 1 in state `k`
    /// (none for `None`).
    fn reset(&mut self, k: Option<usize>) {
        for x in [&mut self.s, &mut self.pre, &mut self.post, &mut self.p] {
            x.fill(F::zero());
        }
        if let Some(k) = k {
            self.s[k * self.len..(k + 1) * self.len].fill(F::one());
        }
    }

    /// The unit cotangent of the states as an initialisation VJP reads it,
    /// and the rest.
    fn init_views(&mut self) -> (Columns<'_, F>, SynCot<'_, F>) {
        (
            Columns::new(&self.s, self.len),
            SynCot {
                v_pre: &mut self.pre,
                v_post: &mut self.post,
                params: ColumnsMut::new(&mut self.p, self.len),
            },
        )
    }

    /// The cotangents as a VJP takes them.
    fn views(&mut self) -> (ColumnsMut<'_, F>, SynCot<'_, F>) {
        (
            ColumnsMut::new(&mut self.s, self.len),
            SynCot {
                v_pre: &mut self.pre,
                v_post: &mut self.post,
                params: ColumnsMut::new(&mut self.p, self.len),
            },
        )
    }

    /// The directional derivative at entry `x` of the output whose VJP was
    /// just taken, given the tangents of the voltages, the states `ds` and
    /// the parameters `dp`.
    fn combine(&self, dv_pre: F, dv_post: F, ds: &[F], dp: &[F], x: usize) -> F {
        let len = self.len;
        let mut d = self.pre[x] * dv_pre + self.post[x] * dv_post;
        for (j, c) in self.s.chunks_exact(len).enumerate() {
            d += c[x] * ds[j * len + x];
        }
        for (q, c) in self.p.chunks_exact(len).enumerate() {
            d += c[x] * dp[q * len + x];
        }
        d
    }
}

impl<'s, 'a, F: CpuFloat> Jvp<'s, 'a, F> {
    /// A forward-mode stepper along the parameter directions `dparams` (one
    /// per member, each in the layout of the parameter vector; None for no
    /// parameter direction).
    pub fn new(
        stepper: &'s Stepper<'a, F>,
        dparams: Option<&[Vec<f64>]>,
    ) -> Result<Self, SimError> {
        let lay = stepper.layout;
        let nb = stepper.nb;
        let mut dp: Vec<Vec<F>> = stepper
            .mech_params
            .iter()
            .map(|c| vec![F::zero(); c.len()])
            .collect();
        let mut syn_dp: Vec<Vec<F>> = stepper
            .syn_params
            .iter()
            .map(|c| vec![F::zero(); c.len()])
            .collect();
        if let Some(dirs) = dparams {
            if dirs.len() != nb {
                return Err(SimError::Params(format!(
                    "{} parameter directions for {nb} members",
                    dirs.len()
                )));
            }
            for (b, (d, params)) in dirs.iter().zip(&stepper.params).enumerate() {
                let n_params = params.values().len();
                if d.len() != n_params {
                    return Err(SimError::Params(format!(
                        "{} parameter tangents for {n_params} parameters",
                        d.len()
                    )));
                }
                for block in params.layout().blocks() {
                    let moved = d[block.range.clone()].iter().any(|x| *x != 0.0);
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
                for (m, ml) in lay.mechs().iter().enumerate() {
                    for (j, &x) in d[ml.params.clone()].iter().enumerate() {
                        dp[m][j * nb + b] = F::of(x);
                    }
                }
                for (g, sl) in lay.synapses().iter().enumerate() {
                    for (j, &x) in d[sl.params.clone()].iter().enumerate() {
                        syn_dp[g][j * nb + b] = F::of(x);
                    }
                }
            }
        }
        let per_mech = |f: &dyn Fn(usize, &MechLayout) -> usize| -> Vec<Vec<F>> {
            lay.mechs()
                .iter()
                .enumerate()
                .map(|(m, ml)| vec![F::zero(); f(stepper.mech_len(m), ml)])
                .collect()
        };
        Ok(Self {
            st: stepper,
            ws: stepper.workspace(),
            dp,
            syn_dp,
            s_old: per_mech(&|len, ml| len * ml.channel.states().len()),
            ds_new: per_mech(&|len, ml| len * ml.channel.states().len()),
            di: per_mech(&|len, _| len),
            dg: per_mech(&|len, _| len),
            ones: (0..lay.mechs().len())
                .map(|m| vec![F::one(); stepper.mech_len(m)])
                .collect(),
            zeros: per_mech(&|len, _| len),
            cot: lay
                .mechs()
                .iter()
                .enumerate()
                .map(|(m, ml)| MechCots::new(ml, stepper.mech_len(m)))
                .collect(),
            d_in: per_mech(&|len, ml| len * ml.inputs.len()),
            dv_set: per_mech(&|len, _| len),
            d_ion: std::array::from_fn(|_| {
                lay.ions()
                    .iter()
                    .map(|il| vec![F::zero(); lay.mechs()[il.site].rows() * nb])
                    .collect()
            }),
            syn: lay
                .synapses()
                .iter()
                .enumerate()
                .map(|(g, sl)| {
                    SynBuffers::new(
                        stepper.syn_len(g),
                        sl.synapse.states().len(),
                        sl.synapse.params().len(),
                    )
                })
                .collect(),
            r: vec![F::zero(); lay.n_nodes() * nb],
        })
    }

    /// The workspace of the last step (its currents and reversal
    /// potentials).
    pub fn workspace(&self) -> &Workspace<F> {
        &self.ws
    }

    /// The tangent of the initial state along the parameter direction (plus
    /// none along the initial voltage, which is not a channel parameter).
    pub fn init_tangent(&mut self, state: &State<F>) -> State<F> {
        let st = self.st;
        let lay = st.layout;
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
            let len = st.syn_len(g);
            st.gather_synapses(g, 0, &state.v, &[], &mut self.ws);
            let env = st.syn_env(g, &self.ws);
            let params = st.syn_params_of(g);
            let dp = &self.syn_dp[g];
            let explicit = &st.syn_init[g];
            let c = &mut self.syn[g].cot;
            for k in 0..sl.synapse.states().len() {
                c.reset(Some(k));
                let (unit, cot) = c.init_views();
                st.syn_kernels[g].init_states_vjp(&env, params, unit, cot);
                for x in 0..len {
                    if explicit[k * len + x].is_nan() {
                        t.syn[g][k * len + x] =
                            c.p.chunks_exact(len)
                                .enumerate()
                                .map(|(q, cp)| cp[x] * dp[q * len + x])
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
    fn ion_tangents(&mut self, mech: &[Vec<F>], dmech: &[Vec<F>]) {
        let lay = self.st.layout;
        let nb = self.st.nb;
        let [de, dci, di] = &mut self.d_ion;
        for (i, il) in lay.ions().iter().enumerate() {
            let rows = lay.mechs()[il.site].rows();
            let (p, dp) = (&self.st.mech_params[il.site], &self.dp[il.site]);
            let k = F::of(nernst_factor(&il.ion, lay.celsius()));
            for r in 0..rows {
                let (pm, pr) = il.pools[r];
                for b in 0..nb {
                    let j = r * nb + b;
                    if pm == NONE {
                        de[i][j] = dp[j];
                        dci[i][j] = dp[rows * nb + j];
                    } else {
                        let co = 2 * rows * nb + j;
                        let ci = mech[pm as usize][pr as usize * nb + b];
                        let (e_ci, e_co) = if ci <= F::zero() {
                            (F::zero(), F::zero())
                        } else {
                            (-k / ci, k / p[co])
                        };
                        dci[i][j] = dmech[pm as usize][pr as usize * nb + b];
                        de[i][j] = e_ci * dci[i][j] + e_co * dp[co];
                    }
                }
            }
            di[i].fill(F::zero());
        }
    }

    /// The tangent of the initial states of mechanism `m` (a channel or a
    /// pool) along the parameter direction, into `t`.
    fn init_mech_tangent(&mut self, m: usize, state: &State<F>, t: &mut State<F>) {
        let st = self.st;
        let lay = st.layout;
        let nb = st.nb;
        let ml = &lay.mechs()[m];
        let (len, ns) = (st.mech_len(m), ml.channel.states().len());
        let pool = ml.kind != MechKind::Channel;
        st.gather(m, &state.v, &mut self.ws);
        if pool {
            // Pools start with no ion inputs.
            self.ws.mech_in[m].fill(F::zero());
            self.d_in[m].fill(F::zero());
        } else {
            self.gather_input_tangents(m);
        }
        let env = st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]);
        let dp = &self.dp[m];
        let c = &mut self.cot[m];
        for k in 0..ns {
            c.reset(false, Some(k));
            let (unit, cot) = c.init_views();
            st.kernels[m].init_states_vjp(&env, st.params_of(m), unit, cot);
            for x in 0..len {
                t.mech[m][k * len + x] = c.combine(F::zero(), dp, &self.d_in[m], x);
            }
        }
        if pool {
            // A pool's concentration starts at its ion's inside value.
            for il in lay.ions() {
                let rows = lay.mechs()[il.site].rows();
                let dp = &self.dp[il.site];
                for (r, &(pm, pr)) in il.pools.iter().enumerate() {
                    if pm as usize == m {
                        for b in 0..nb {
                            t.mech[m][pr as usize * nb + b] = dp[(rows + r) * nb + b];
                        }
                    }
                }
            }
        }
        // Initial states given explicitly do not move.
        for (x, given) in t.mech[m].iter_mut().zip(&st.mech_init[m]) {
            if !given.is_nan() {
                *x = F::zero();
            }
        }
    }

    /// Lets the voltage-setting mechanisms replace the voltages and their
    /// states at the start of a step, and carries the tangents through.
    fn set_voltages(&mut self, state: &mut State<F>, tangent: &mut State<F>) {
        let st = self.st;
        let nb = st.nb;
        for &m in &st.voltage_mechs {
            let ml = &st.layout.mechs()[m];
            let (len, ns) = (st.mech_len(m), ml.channel.states().len());
            st.gather(m, &state.v, &mut self.ws);
            let env = st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]);
            let dp = &self.dp[m];
            // One VJP per output (the voltage, then each state) with a unit
            // cotangent gives that output's row of the Jacobian.
            let c = &mut self.cot[m];
            for out in 0..=ns {
                c.reset(out == 0, out.checked_sub(1));
                let (cot_s, cot) = c.views();
                st.kernels[m].set_voltage_vjp(
                    &env,
                    st.params_of(m),
                    Columns::new(&state.mech[m], len),
                    cot_s,
                    cot,
                );
                for (r, &node) in ml.nodes.iter().enumerate() {
                    for b in 0..nb {
                        let x = r * nb + b;
                        let dv = tangent.v[node as usize * nb + b];
                        let d = c.combine(dv, dp, &self.d_in[m], x)
                            + c.through_states(&tangent.mech[m], x);
                        if out == 0 {
                            self.dv_set[m][x] = d;
                        } else {
                            self.ds_new[m][(out - 1) * len + x] = d;
                        }
                    }
                }
            }
            for (r, &node) in ml.nodes.iter().enumerate() {
                let node = node as usize;
                tangent.v[node * nb..(node + 1) * nb]
                    .copy_from_slice(&self.dv_set[m][r * nb..(r + 1) * nb]);
            }
            tangent.mech[m].copy_from_slice(&self.ds_new[m]);
        }
        st.set_voltages(&mut state.v, &mut state.mech, &mut self.ws);
    }

    /// Copies the tangents of mechanism `m`'s ion inputs from the ions'.
    fn gather_input_tangents(&mut self, m: usize) {
        let nb = self.st.nb;
        let ml = &self.st.layout.mechs()[m];
        let len = self.st.mech_len(m);
        for (j, input) in ml.inputs.iter().enumerate() {
            let which = match input.var {
                IonVar::Reversal(_) => 0,
                IonVar::Inside(_) => 1,
                IonVar::Current(_) => 2,
            };
            let src = &self.d_ion[which][input.ion];
            let dst = &mut self.d_in[m][j * len..(j + 1) * len];
            for (r, &sr) in input.site_rows.iter().enumerate() {
                let sr = sr as usize;
                dst[r * nb..(r + 1) * nb].copy_from_slice(&src[sr * nb..(sr + 1) * nb]);
            }
        }
    }

    /// Advances `state` by step `n` and `tangent` with it.
    pub fn step(&mut self, n: usize, state: &mut State<F>, tangent: &mut State<F>) {
        let st = self.st;
        let lay = st.layout;
        let nb = st.nb;
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
            let (len, ns) = (st.mech_len(m), ml.channel.states().len());
            let env = st.env(m, &self.ws.mech_v[m], &self.ws.mech_in[m]);
            let params = st.params_of(m);
            let dp = &self.dp[m];
            let dv = |x: usize| tangent.v[ml.nodes[x / nb] as usize * nb + x % nb];
            let (c, d_in) = (&mut self.cot[m], &self.d_in[m]);
            let k = &st.kernels[m];
            for j in 0..ns {
                c.reset(false, Some(j));
                let (cot_s, cot) = c.views();
                k.advance_states_vjp(&env, params, Columns::new(&self.s_old[m], len), cot_s, cot);
                for x in 0..len {
                    self.ds_new[m][j * len + x] =
                        c.combine(dv(x), dp, d_in, x) + c.through_states(&tangent.mech[m], x);
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
                k.current_vjp(
                    &env,
                    params,
                    Columns::new(&state.mech[m], len),
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
                for x in 0..len {
                    out[x] = c.combine(dv(x), dp, d_in, x) + c.through_states(&self.ds_new[m], x);
                }
            }
            // The current's share of its ion's, for the pools.
            st.carry(m, &self.di[m], &mut self.d_ion[2]);
        }
        // Synapse tangents, the same way.
        for (g, sl) in lay.synapses().iter().enumerate() {
            let len = st.syn_len(g);
            let env = st.syn_env(g, &self.ws);
            let params = st.syn_params_of(g);
            let dp = &self.syn_dp[g];
            let dv = |x: usize| {
                let (r, b) = (x / nb, x % nb);
                (
                    tangent.v[sl.pre[r] as usize * nb + b],
                    tangent.v[sl.post[r] as usize * nb + b],
                )
            };
            let bf = &mut self.syn[g];
            let k = &st.syn_kernels[g];
            for j in 0..sl.synapse.states().len() {
                bf.cot.reset(Some(j));
                let (cot_s, cot) = bf.cot.views();
                k.advance_states_vjp(&env, params, Columns::new(&bf.old, len), cot_s, cot);
                for x in 0..len {
                    let (pre, post) = dv(x);
                    bf.ds_new[j * len + x] = bf.cot.combine(pre, post, &tangent.syn[g], dp, x);
                }
            }
            for slope in [false, true] {
                bf.cot.reset(None);
                let (ci, cg) = if slope {
                    (&bf.zeros, &bf.ones)
                } else {
                    (&bf.ones, &bf.zeros)
                };
                let (cot_s, cot) = bf.cot.views();
                k.current_vjp(
                    &env,
                    params,
                    Columns::new(&state.syn[g], len),
                    ci,
                    cg,
                    cot_s,
                    cot,
                );
                for x in 0..len {
                    let (pre, post) = dv(x);
                    let d = bf.cot.combine(pre, post, &bf.ds_new, dp, x);
                    if slope {
                        bf.dg[x] = d;
                    } else {
                        bf.di[x] = d;
                    }
                }
            }
        }
        st.assemble(&state.v, &mut self.ws);
        let clamped = st.clamp_rows(n, &state.v, &mut self.ws);
        let g = if clamped { &self.ws.g_off } else { &st.g_axial };
        factor_tree(parent, g, &mut self.ws.d, nb);
        let mut x = std::mem::take(&mut self.ws.b);
        substitute_tree(parent, g, &self.ws.d, &mut x, nb);
        // The tangent system: M dx = (C/h + G) dv + dG (v - x) - dI.
        let inv_h = F::of(1.0 / st.h());
        for i in 0..self.r.len() {
            self.r[i] = (st.cap[i] * inv_h + self.ws.g_node[i]) * tangent.v[i];
        }
        for (m, ml) in lay.mechs().iter().enumerate() {
            for (r, &node) in ml.nodes.iter().enumerate() {
                for b in 0..nb {
                    let (i, j) = (node as usize * nb + b, r * nb + b);
                    let a = st.area_abs[i];
                    self.r[i] += self.dg[m][j] * a * (state.v[i] - x[i]) - self.di[m][j] * a;
                }
            }
        }
        for (sl, bf) in lay.synapses().iter().zip(&self.syn) {
            for (r, &post) in sl.post.iter().enumerate() {
                for b in 0..nb {
                    let (i, j) = (post as usize * nb + b, r * nb + b);
                    self.r[i] += bf.dg[j] * (state.v[i] - x[i]) - bf.di[j];
                }
            }
        }
        if clamped {
            for c in &st.clamps {
                if c.command[n].is_nan() {
                    continue;
                }
                for b in 0..nb {
                    let i = c.node * nb + b;
                    let dt_target = if st.scheme == Scheme::CrankNicolson {
                        F::of(0.5) * tangent.v[i]
                    } else {
                        F::zero()
                    };
                    self.r[i] = dt_target;
                    if parent[c.node] != NONE {
                        self.r[parent[c.node] as usize * nb + b] += st.g_axial[i] * dt_target;
                    }
                    for &j in &c.children {
                        self.r[j * nb + b] += st.g_axial[j * nb + b] * dt_target;
                    }
                }
            }
        }
        substitute_tree(parent, g, &self.ws.d, &mut self.r, nb);
        st.save_sources(&state.v, &mut self.ws);
        st.update(&mut state.v, &x);
        st.record_spikes(n, state, &self.ws);
        st.update(&mut tangent.v, &self.r);
        for (t, d) in tangent.mech.iter_mut().zip(&self.ds_new) {
            t.copy_from_slice(d);
        }
        for (t, bf) in tangent.syn.iter_mut().zip(&self.syn) {
            t.copy_from_slice(&bf.ds_new);
        }
        self.ws.b = x;
    }
}
