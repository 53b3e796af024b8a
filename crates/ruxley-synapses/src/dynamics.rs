//! Synapses described by their state update and current, with every kernel
//! and derivative derived from that description by dual numbers.

use std::fmt;

use ruxley_channels::{LANES, Lanes, MultiDual};

use crate::{Columns, ColumnsMut, Dual, ParamSpec, Real, StateSpec, SynCot, SynapseEnv};

/// The most states and parameters a [`SynapseDynamics`] may have.
pub const MAX_STATES: usize = 8;
/// See [`MAX_STATES`].
pub const MAX_PARAMS: usize = 16;

/// A synapse written once, generically over [`Real`]: its initial states,
/// its exact one-step update and its current. Every type that implements it
/// is a [`crate::Synapse`], with kernels and exact derivatives derived from
/// these methods.
pub trait SynapseDynamics: fmt::Debug + Clone + Send + Sync + 'static {
    /// The name: the prefix of its parameters and states.
    fn name(&self) -> &str;

    /// The parameters, in the order of `params` below.
    fn params(&self) -> &[ParamSpec];

    /// The states, in the order of `states` below.
    fn states(&self) -> &[StateSpec];

    /// True if presynaptic spikes drive the synapse (`events` below).
    fn spiking(&self) -> bool {
        false
    }

    /// Writes the initial states at the initial voltages.
    fn init<R: Real>(&self, v_pre: R, v_post: R, params: &[R], states: &mut [R]);

    /// Advances `states` over one step `dt` (ms), given the presynaptic
    /// voltage at the start of the step and the number of presynaptic spikes
    /// arriving at its start (a constant: spikes carry no derivative).
    fn advance<R: Real>(&self, dt: f64, v_pre: R, events: R, params: &[R], states: &mut [R]);

    /// The current (nA, outward at the postsynaptic compartment).
    fn current<R: Real>(&self, v_pre: R, v_post: R, states: &[R], params: &[R]) -> R;

    /// [`crate::SynapseKernels::init_states_vjp`]: by default [`kernels`],
    /// derived by dual numbers from the methods above. A synapse may supply
    /// hand-derived reverse kernels (faster; test them against these).
    fn reverse_init(&self, env: &SynapseEnv, params: Columns, cot_states: Columns, cot: SynCot) {
        kernels::init_states_vjp(self, env, params, cot_states, cot)
    }

    /// [`crate::SynapseKernels::advance_states_vjp`]; see
    /// [`SynapseDynamics::reverse_init`].
    fn reverse_advance(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_states: ColumnsMut,
        cot: SynCot,
    ) {
        kernels::advance_states_vjp(self, env, params, states, cot_states, cot)
    }

    /// [`crate::SynapseKernels::current_vjp`]; see
    /// [`SynapseDynamics::reverse_init`].
    #[allow(clippy::too_many_arguments)]
    fn reverse_current(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        cot_states: ColumnsMut,
        cot: SynCot,
    ) {
        kernels::current_vjp(self, env, params, states, cot_i, cot_di_dv, cot_states, cot)
    }
}

impl<D: SynapseDynamics> crate::Synapse for D {
    fn name(&self) -> &str {
        SynapseDynamics::name(self)
    }
    fn params(&self) -> &[ParamSpec] {
        SynapseDynamics::params(self)
    }
    fn states(&self) -> &[StateSpec] {
        SynapseDynamics::states(self)
    }
    fn spiking(&self) -> bool {
        SynapseDynamics::spiking(self)
    }
    fn ir(&self, dt: f64) -> crate::SynapseIr {
        crate::SynapseIr::of(self, dt)
    }
    fn native(&self) -> Option<&dyn crate::SynapseKernels<f64>> {
        Some(self)
    }
    fn clone_box(&self) -> Box<dyn crate::Synapse> {
        Box::new(self.clone())
    }
}

impl<D: SynapseDynamics> crate::SynapseKernels<f64> for D {
    fn init_states(&self, env: &SynapseEnv, params: Columns, states: ColumnsMut) {
        kernels::init_states(self, env, params, states)
    }
    fn advance_states(&self, env: &SynapseEnv, params: Columns, states: ColumnsMut) {
        kernels::advance_states(self, env, params, states)
    }
    fn current(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        i: &mut [f64],
        di_dv: &mut [f64],
    ) {
        kernels::current(self, env, params, states, i, di_dv)
    }
    fn init_states_vjp(&self, env: &SynapseEnv, params: Columns, cot_states: Columns, cot: SynCot) {
        self.reverse_init(env, params, cot_states, cot)
    }
    fn advance_states_vjp(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_states: ColumnsMut,
        cot: SynCot,
    ) {
        self.reverse_advance(env, params, states, cot_states, cot)
    }
    fn current_vjp(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        cot_states: ColumnsMut,
        cot: SynCot,
    ) {
        self.reverse_current(env, params, states, cot_i, cot_di_dv, cot_states, cot)
    }
}

fn dims<D: SynapseDynamics>(d: &D) -> (usize, usize) {
    let n = (d.states().len(), d.params().len());
    assert!(
        n.0 <= MAX_STATES && n.1 <= MAX_PARAMS,
        "{}: at most {MAX_STATES} states and {MAX_PARAMS} parameters",
        d.name()
    );
    n
}

/// `x` as variable number `i` in a pass that differentiates with respect
/// to variables `first..first + LANES`, one per lane.
#[inline(always)]
fn var(x: f64, i: usize, first: usize) -> MultiDual {
    MultiDual::seed(x, i.checked_sub(first).filter(|&k| k < LANES))
}

/// The passes over `n` variables, [`LANES`] at a time: the first variable
/// of each and the variables it covers.
fn passes(n: usize) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> {
    (0..n)
        .step_by(LANES)
        .map(move |first| (first, first..n.min(first + LANES)))
}

/// The kernels every [`SynapseDynamics`] gets, derived from its methods.
pub mod kernels {
    use super::*;

    ruxley_core::multiversion! {
        /// [`crate::SynapseKernels::advance_states`], [`LANES`] synapses at a time.
        pub fn advance_states<D: SynapseDynamics>(
            d: &D,
            env: &SynapseEnv,
            params: Columns,
            states: ColumnsMut,
        ) {
            advance_states_imp(d, env, params, states)
        }
    }

    ruxley_core::multiversion! {
        /// [`crate::SynapseKernels::current`], with di/dv from a dual number, [`LANES`]
        /// synapses at a time.
        pub fn current<D: SynapseDynamics>(
            d: &D,
            env: &SynapseEnv,
            params: Columns,
            states: Columns,
            i: &mut [f64],
            di_dv: &mut [f64],
        ) {
            current_imp(d, env, params, states, i, di_dv)
        }
    }

    ruxley_core::multiversion! {
        /// [`crate::SynapseKernels::advance_states_vjp`]. Variables: the presynaptic
        /// voltage, the states, the parameters.
        pub fn advance_states_vjp<D: SynapseDynamics>(
            d: &D,
            env: &SynapseEnv,
            params: Columns,
            states: Columns,
            cot_states: ColumnsMut,
            cot: SynCot,
        ) {
            advance_states_vjp_imp(d, env, params, states, cot_states, cot)
        }
    }

    ruxley_core::multiversion! {
        /// [`crate::SynapseKernels::current_vjp`], with the mixed second derivatives
        /// (for the cotangent of di/dv) from dual numbers over [`MultiDual`].
        /// Variables: the presynaptic and postsynaptic voltages, the states,
        /// the parameters.
        #[allow(clippy::too_many_arguments)]
        pub fn current_vjp<D: SynapseDynamics>(
            d: &D,
            env: &SynapseEnv,
            params: Columns,
            states: Columns,
            cot_i: &[f64],
            cot_di_dv: &[f64],
            cot_states: ColumnsMut,
            cot: SynCot,
        ) {
            current_vjp_imp(d, env, params, states, cot_i, cot_di_dv, cot_states, cot)
        }
    }

    /// [`crate::SynapseKernels::init_states`].
    pub fn init_states<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        mut states: ColumnsMut,
    ) {
        let (ns, np) = dims(d);
        let (mut p, mut s) = ([0.0; MAX_PARAMS], [0.0; MAX_STATES]);
        for r in 0..env.v_pre.len() {
            params.read_row(r, &mut p[..np]);
            d.init(env.v_pre[r], env.v_post[r], &p[..np], &mut s[..ns]);
            for j in 0..ns {
                states.col(j)[r] = s[j];
            }
        }
    }

    #[inline(always)]
    fn advance_states_imp<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        mut states: ColumnsMut,
    ) {
        let (ns, np) = dims(d);
        let rows = env.v_pre.len();
        let full = rows / LANES * LANES;
        let zero = Lanes::splat(0.0);
        let (mut lp, mut ls) = ([zero; MAX_PARAMS], [zero; MAX_STATES]);
        for r in (0..full).step_by(LANES) {
            params.read_lanes(r, &mut lp[..np]);
            states.as_columns().read_lanes(r, &mut ls[..ns]);
            d.advance(
                env.dt,
                Lanes::load(&env.v_pre[r..]),
                Lanes::load(&env.events[r..]),
                &lp[..np],
                &mut ls[..ns],
            );
            for (j, x) in ls[..ns].iter().enumerate() {
                states.col(j)[r..r + LANES].copy_from_slice(&x.0);
            }
        }
        let (mut p, mut s) = ([0.0; MAX_PARAMS], [0.0; MAX_STATES]);
        for r in full..rows {
            params.read_row(r, &mut p[..np]);
            states.as_columns().read_row(r, &mut s[..ns]);
            d.advance(env.dt, env.v_pre[r], env.events[r], &p[..np], &mut s[..ns]);
            for j in 0..ns {
                states.col(j)[r] = s[j];
            }
        }
    }

    #[inline(always)]
    fn current_imp<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        i: &mut [f64],
        di_dv: &mut [f64],
    ) {
        let (ns, np) = dims(d);
        let rows = env.v_pre.len();
        let full = rows / LANES * LANES;
        let c = |x: Lanes| Dual::new(x, Lanes::splat(0.0));
        let zero = c(Lanes::splat(0.0));
        let (mut lp, mut ls) = ([zero; MAX_PARAMS], [zero; MAX_STATES]);
        for r in (0..full).step_by(LANES) {
            for j in 0..np {
                lp[j] = c(Lanes::load(&params.col(j)[r..]));
            }
            for j in 0..ns {
                ls[j] = c(Lanes::load(&states.col(j)[r..]));
            }
            let y = d.current(
                c(Lanes::load(&env.v_pre[r..])),
                Dual::new(Lanes::load(&env.v_post[r..]), Lanes::splat(1.0)),
                &ls[..ns],
                &lp[..np],
            );
            i[r..r + LANES].copy_from_slice(&y.re.0);
            di_dv[r..r + LANES].copy_from_slice(&y.eps.0);
        }
        let c = |x: f64| Dual::new(x, 0.0);
        let (mut p, mut s) = ([c(0.0); MAX_PARAMS], [c(0.0); MAX_STATES]);
        for r in full..rows {
            for j in 0..np {
                p[j] = c(params.col(j)[r]);
            }
            for j in 0..ns {
                s[j] = c(states.col(j)[r]);
            }
            let y = d.current(
                c(env.v_pre[r]),
                Dual::new(env.v_post[r], 1.0),
                &s[..ns],
                &p[..np],
            );
            i[r] = y.re;
            di_dv[r] = y.eps;
        }
    }

    /// [`crate::SynapseKernels::init_states_vjp`]. Variables: the presynaptic and
    /// postsynaptic voltages, then the parameters.
    pub fn init_states_vjp<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        cot_states: Columns,
        mut cot: SynCot,
    ) {
        let (ns, np) = dims(d);
        let mut p = [0.0; MAX_PARAMS];
        let zero = MultiDual::cst(0.0);
        let (mut dp, mut ds) = ([zero; MAX_PARAMS], [zero; MAX_STATES]);
        for r in 0..env.v_pre.len() {
            params.read_row(r, &mut p[..np]);
            for (first, covered) in passes(2 + np) {
                for q in 0..np {
                    dp[q] = var(p[q], 2 + q, first);
                }
                d.init(
                    var(env.v_pre[r], 0, first),
                    var(env.v_post[r], 1, first),
                    &dp[..np],
                    &mut ds[..ns],
                );
                let mut g = Lanes::splat(0.0);
                for (j, x) in ds[..ns].iter().enumerate() {
                    g = g + x.eps * cot_states.col(j)[r];
                }
                for i in covered {
                    let x = g.0[i - first];
                    match i {
                        0 => cot.v_pre[r] += x,
                        1 => cot.v_post[r] += x,
                        _ => cot.params.col(i - 2)[r] += x,
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn advance_states_vjp_imp<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        mut cot_states: ColumnsMut,
        mut cot: SynCot,
    ) {
        let (ns, np) = dims(d);
        let (mut p, mut s, mut c, mut before) = (
            [0.0; MAX_PARAMS],
            [0.0; MAX_STATES],
            [0.0; MAX_STATES],
            [0.0; MAX_STATES],
        );
        let zero = MultiDual::cst(0.0);
        let (mut dp, mut ds) = ([zero; MAX_PARAMS], [zero; MAX_STATES]);
        for r in 0..env.v_pre.len() {
            params.read_row(r, &mut p[..np]);
            states.read_row(r, &mut s[..ns]);
            cot_states.as_columns().read_row(r, &mut c[..ns]);
            for (first, covered) in passes(1 + ns + np) {
                for q in 0..np {
                    dp[q] = var(p[q], 1 + ns + q, first);
                }
                for j in 0..ns {
                    ds[j] = var(s[j], 1 + j, first);
                }
                d.advance(
                    env.dt,
                    var(env.v_pre[r], 0, first),
                    MultiDual::cst(env.events[r]),
                    &dp[..np],
                    &mut ds[..ns],
                );
                let mut g = Lanes::splat(0.0);
                for (x, &cj) in ds[..ns].iter().zip(&c[..ns]) {
                    g = g + x.eps * cj;
                }
                for i in covered {
                    let x = g.0[i - first];
                    match i {
                        0 => cot.v_pre[r] += x,
                        i if i <= ns => before[i - 1] = x,
                        _ => cot.params.col(i - 1 - ns)[r] += x,
                    }
                }
            }
            for j in 0..ns {
                cot_states.col(j)[r] = before[j];
            }
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn current_vjp_imp<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        mut cot_states: ColumnsMut,
        mut cot: SynCot,
    ) {
        type H = Dual<MultiDual>;
        let (ns, np) = dims(d);
        let (mut p, mut s) = ([0.0; MAX_PARAMS], [0.0; MAX_STATES]);
        let zero = H::cst(0.0);
        let (mut hp, mut hs) = ([zero; MAX_PARAMS], [zero; MAX_STATES]);
        // Inner derivatives in the variables, outer in the postsynaptic
        // voltage.
        let lift = |x: MultiDual| H::new(x, MultiDual::cst(0.0));
        for r in 0..env.v_pre.len() {
            params.read_row(r, &mut p[..np]);
            states.read_row(r, &mut s[..ns]);
            for (first, covered) in passes(2 + ns + np) {
                for q in 0..np {
                    hp[q] = lift(var(p[q], 2 + ns + q, first));
                }
                for j in 0..ns {
                    hs[j] = lift(var(s[j], 2 + j, first));
                }
                let y = d.current(
                    lift(var(env.v_pre[r], 0, first)),
                    H::new(var(env.v_post[r], 1, first), MultiDual::cst(1.0)),
                    &hs[..ns],
                    &hp[..np],
                );
                let g = y.re.eps * cot_i[r] + y.eps.eps * cot_di_dv[r];
                for i in covered {
                    let x = g.0[i - first];
                    match i {
                        0 => cot.v_pre[r] += x,
                        1 => cot.v_post[r] += x,
                        i if i < 2 + ns => cot_states.col(i - 2)[r] += x,
                        _ => cot.params.col(i - 2 - ns)[r] += x,
                    }
                }
            }
        }
    }
}
