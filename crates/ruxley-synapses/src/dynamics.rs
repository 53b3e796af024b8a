//! Synapses described by their state update and current, with every kernel
//! and derivative derived from that description by dual numbers.

use std::fmt;

use crate::{Columns, ColumnsMut, Dual, ParamSpec, Real, StateSpec, SynCot, SynapseEnv};

/// The most states and parameters a [`SynapseDynamics`] may have.
pub const MAX_STATES: usize = 8;
/// See [`MAX_STATES`].
pub const MAX_PARAMS: usize = 16;

/// A synapse written once, generically over [`Real`]: its initial states,
/// its exact one-step update and its current. [`crate::synapse!`] turns it
/// into a [`crate::Synapse`].
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
    /// arriving at its start.
    fn advance<R: Real>(&self, dt: f64, v_pre: R, events: f64, params: &[R], states: &mut [R]);

    /// The current (nA, outward at the postsynaptic compartment).
    fn current<R: Real>(&self, v_pre: R, v_post: R, states: &[R], params: &[R]) -> R;
}

/// Implements [`crate::Synapse`] for a type that implements
/// [`SynapseDynamics`].
#[macro_export]
macro_rules! synapse {
    ($t:ty) => {
        impl $crate::Synapse for $t {
            fn name(&self) -> &str {
                $crate::SynapseDynamics::name(self)
            }
            fn params(&self) -> &[$crate::ParamSpec] {
                $crate::SynapseDynamics::params(self)
            }
            fn states(&self) -> &[$crate::StateSpec] {
                $crate::SynapseDynamics::states(self)
            }
            fn spiking(&self) -> bool {
                $crate::SynapseDynamics::spiking(self)
            }
            fn init_states(
                &self,
                env: &$crate::SynapseEnv,
                params: $crate::Columns,
                states: $crate::ColumnsMut,
            ) {
                $crate::kernels::init_states(self, env, params, states)
            }
            fn advance_states(
                &self,
                env: &$crate::SynapseEnv,
                params: $crate::Columns,
                states: $crate::ColumnsMut,
            ) {
                $crate::kernels::advance_states(self, env, params, states)
            }
            fn current(
                &self,
                env: &$crate::SynapseEnv,
                params: $crate::Columns,
                states: $crate::Columns,
                i: &mut [f64],
                di_dv: &mut [f64],
            ) {
                $crate::kernels::current(self, env, params, states, i, di_dv)
            }
            fn init_states_vjp(
                &self,
                env: &$crate::SynapseEnv,
                params: $crate::Columns,
                cot_states: $crate::Columns,
                cot: $crate::SynCot,
            ) {
                $crate::kernels::init_states_vjp(self, env, params, cot_states, cot)
            }
            fn advance_states_vjp(
                &self,
                env: &$crate::SynapseEnv,
                params: $crate::Columns,
                states: $crate::Columns,
                cot_states: $crate::ColumnsMut,
                cot: $crate::SynCot,
            ) {
                $crate::kernels::advance_states_vjp(self, env, params, states, cot_states, cot)
            }
            fn current_vjp(
                &self,
                env: &$crate::SynapseEnv,
                params: $crate::Columns,
                states: $crate::Columns,
                cot_i: &[f64],
                cot_di_dv: &[f64],
                cot_states: $crate::ColumnsMut,
                cot: $crate::SynCot,
            ) {
                $crate::kernels::current_vjp(
                    self, env, params, states, cot_i, cot_di_dv, cot_states, cot,
                )
            }
            fn clone_box(&self) -> Box<dyn $crate::Synapse> {
                Box::new(self.clone())
            }
        }
    };
}

/// A variable to differentiate against.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Var {
    Pre,
    Post,
    State(usize),
    Param(usize),
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

fn load(cols: &Columns, r: usize, out: &mut [f64]) {
    for (j, x) in out.iter_mut().enumerate() {
        *x = cols.col(j)[r];
    }
}

fn seed(x: f64, on: bool) -> Dual<f64> {
    Dual::new(x, if on { 1.0 } else { 0.0 })
}

fn add_cot(cot: &mut SynCot, var: Var, r: usize, x: f64) {
    match var {
        Var::Pre => cot.v_pre[r] += x,
        Var::Post => cot.v_post[r] += x,
        Var::Param(q) => cot.params.col(q)[r] += x,
        Var::State(_) => unreachable!("state cotangents are handled by the caller"),
    }
}

/// The generic kernels behind [`crate::synapse!`].
pub mod kernels {
    use super::*;

    /// [`crate::Synapse::init_states`].
    pub fn init_states<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        mut states: ColumnsMut,
    ) {
        let (ns, np) = dims(d);
        let (mut p, mut s) = ([0.0; MAX_PARAMS], [0.0; MAX_STATES]);
        for r in 0..env.v_pre.len() {
            load(&params, r, &mut p[..np]);
            d.init(env.v_pre[r], env.v_post[r], &p[..np], &mut s[..ns]);
            for j in 0..ns {
                states.col(j)[r] = s[j];
            }
        }
    }

    /// [`crate::Synapse::advance_states`].
    pub fn advance_states<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        mut states: ColumnsMut,
    ) {
        let (ns, np) = dims(d);
        let (mut p, mut s) = ([0.0; MAX_PARAMS], [0.0; MAX_STATES]);
        for r in 0..env.v_pre.len() {
            load(&params, r, &mut p[..np]);
            load(&states.as_columns(), r, &mut s[..ns]);
            d.advance(env.dt, env.v_pre[r], env.events[r], &p[..np], &mut s[..ns]);
            for j in 0..ns {
                states.col(j)[r] = s[j];
            }
        }
    }

    /// [`crate::Synapse::current`], with di/dv from a dual number.
    pub fn current<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        i: &mut [f64],
        di_dv: &mut [f64],
    ) {
        let (ns, np) = dims(d);
        let c = |x: f64| Dual::new(x, 0.0);
        let (mut p, mut s) = ([c(0.0); MAX_PARAMS], [c(0.0); MAX_STATES]);
        for r in 0..env.v_pre.len() {
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

    /// [`crate::Synapse::init_states_vjp`].
    pub fn init_states_vjp<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        cot_states: Columns,
        mut cot: SynCot,
    ) {
        let (ns, np) = dims(d);
        let mut p = [0.0; MAX_PARAMS];
        let (mut dp, mut ds) = (
            [Dual::new(0.0, 0.0); MAX_PARAMS],
            [Dual::new(0.0, 0.0); MAX_STATES],
        );
        for r in 0..env.v_pre.len() {
            load(&params, r, &mut p[..np]);
            let vars = [Var::Pre, Var::Post]
                .into_iter()
                .chain((0..np).map(Var::Param));
            for var in vars {
                for q in 0..np {
                    dp[q] = seed(p[q], var == Var::Param(q));
                }
                d.init(
                    seed(env.v_pre[r], var == Var::Pre),
                    seed(env.v_post[r], var == Var::Post),
                    &dp[..np],
                    &mut ds[..ns],
                );
                let x: f64 = (0..ns).map(|j| cot_states.col(j)[r] * ds[j].eps).sum();
                add_cot(&mut cot, var, r, x);
            }
        }
    }

    /// [`crate::Synapse::advance_states_vjp`].
    pub fn advance_states_vjp<D: SynapseDynamics>(
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
        let (mut dp, mut ds) = (
            [Dual::new(0.0, 0.0); MAX_PARAMS],
            [Dual::new(0.0, 0.0); MAX_STATES],
        );
        for r in 0..env.v_pre.len() {
            load(&params, r, &mut p[..np]);
            load(&states, r, &mut s[..ns]);
            load(&cot_states.as_columns(), r, &mut c[..ns]);
            let vars = [Var::Pre]
                .into_iter()
                .chain((0..ns).map(Var::State))
                .chain((0..np).map(Var::Param));
            for var in vars {
                for q in 0..np {
                    dp[q] = seed(p[q], var == Var::Param(q));
                }
                for j in 0..ns {
                    ds[j] = seed(s[j], var == Var::State(j));
                }
                d.advance(
                    env.dt,
                    seed(env.v_pre[r], var == Var::Pre),
                    env.events[r],
                    &dp[..np],
                    &mut ds[..ns],
                );
                let x: f64 = (0..ns).map(|j| c[j] * ds[j].eps).sum();
                match var {
                    Var::State(j) => before[j] = x,
                    other => add_cot(&mut cot, other, r, x),
                }
            }
            for j in 0..ns {
                cot_states.col(j)[r] = before[j];
            }
        }
    }

    /// [`crate::Synapse::current_vjp`], with mixed second derivatives (for
    /// the cotangent of di/dv) from nested dual numbers.
    #[allow(clippy::too_many_arguments)]
    pub fn current_vjp<D: SynapseDynamics>(
        d: &D,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        mut cot_states: ColumnsMut,
        mut cot: SynCot,
    ) {
        type H = Dual<Dual<f64>>;
        let (ns, np) = dims(d);
        let (mut p, mut s) = ([0.0; MAX_PARAMS], [0.0; MAX_STATES]);
        let zero = H::cst(0.0);
        let (mut hp, mut hs) = ([zero; MAX_PARAMS], [zero; MAX_STATES]);
        // Inner derivative in `var`, outer in the postsynaptic voltage.
        let lift = |x: f64, on: bool, post: bool| -> H {
            Dual::new(seed(x, on), Dual::new(if post { 1.0 } else { 0.0 }, 0.0))
        };
        for r in 0..env.v_pre.len() {
            load(&params, r, &mut p[..np]);
            load(&states, r, &mut s[..ns]);
            let vars = [Var::Pre, Var::Post]
                .into_iter()
                .chain((0..ns).map(Var::State))
                .chain((0..np).map(Var::Param));
            for var in vars {
                for q in 0..np {
                    hp[q] = lift(p[q], var == Var::Param(q), false);
                }
                for j in 0..ns {
                    hs[j] = lift(s[j], var == Var::State(j), false);
                }
                let y = d.current(
                    lift(env.v_pre[r], var == Var::Pre, false),
                    lift(env.v_post[r], var == Var::Post, true),
                    &hs[..ns],
                    &hp[..np],
                );
                let x = cot_i[r] * y.re.eps + cot_di_dv[r] * y.eps.eps;
                match var {
                    Var::State(j) => cot_states.col(j)[r] += x,
                    other => add_cot(&mut cot, other, r, x),
                }
            }
        }
    }
}
