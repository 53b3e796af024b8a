//! Channels described by their gate kinetics and current, with every kernel
//! and derivative derived from that description.
//!
//! Implement [`GateKinetics`] (steady state and time constant of each gate,
//! the current from the gates) generically over [`Real`], and the type is a
//! [`Channel`]: gates start at their exact steady state,
//! advance by exponential Euler at the voltage of the start of the step
//! (NEURON's `cnexp`), and all reverse-mode derivatives come from dual
//! numbers, so they are exact. The slope di/dv that linearises the current in
//! the implicit voltage solve is NEURON's (and Jaxley's) forward difference
//! [`SLOPE_DV`]: (i(v + 0.001) - i(v)) / 0.001, which equals the derivative
//! for currents linear in v and keeps nonlinear ones (Pospischil's CaT)
//! NEURON-exact.

use std::fmt;

use crate::channel::{
    Channel, ChannelEnv, ChannelKernels, Columns, ColumnsMut, Cot, ParamSpec, StateSpec,
};
use crate::dual::{Dual, LANES, Lanes, Real, Rows};
use crate::ion::{Ion, IonVar};
use crate::ir::ChannelIr;

/// The voltage step (mV) of the current's slope: NEURON's and Jaxley's.
pub const SLOPE_DV: f64 = 1e-3;

/// The most gates, parameters and ion inputs a [`GateKinetics`] may have.
pub const MAX_GATES: usize = 8;
/// See [`MAX_GATES`].
pub const MAX_PARAMS: usize = 16;
/// See [`MAX_GATES`].
pub const MAX_INPUTS: usize = 4;

/// The steady state and time constant (ms) of a gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate<R> {
    /// Steady state x_inf.
    pub inf: R,
    /// Time constant tau (ms), including any temperature factor.
    pub tau: R,
}

impl<R: Real> Gate<R> {
    /// From opening and closing rates (1/ms) and a temperature factor q:
    /// x_inf = alpha/(alpha + beta), tau = (1/(alpha + beta))/q.
    #[inline(always)]
    pub fn from_rates(alpha: R, beta: R, q: f64) -> Self {
        let sum = alpha + beta;
        Self {
            inf: alpha / sum,
            tau: sum.recip() / q,
        }
    }
}

/// A channel made of gates dx/dt = (x_inf(v) - x)/tau(v) and a current that
/// depends on v, the gates, ion inputs and parameters.
///
/// The functions are generic over [`Real`] so that the simulator can take
/// their exact derivatives; write them with the operators of `Real`, and
/// branches with [`Real::if_lt`] and [`Real::if_eq`]. Every type that
/// implements it is a [`Channel`]:
///
/// ```
/// use ruxley_channels::{Channel, Gate, GateKinetics, ParamSpec, Real, StateSpec};
///
/// /// A potassium channel with one gate, n^4 kinetics.
/// #[derive(Debug, Clone)]
/// struct Kdr;
///
/// impl GateKinetics for Kdr {
///     fn name(&self) -> &str {
///         "Kdr"
///     }
///     fn params(&self) -> &[ParamSpec] {
///         const P: [ParamSpec; 2] = [
///             ParamSpec::new("gK", "S/cm2", 0.01, (0.0, 0.1)),
///             ParamSpec::shared("eK", "mV", -77.0, (-100.0, -50.0)),
///         ];
///         &P
///     }
///     fn gates(&self) -> &[StateSpec] {
///         const G: [StateSpec; 1] = [StateSpec::gate("n")];
///         &G
///     }
///     fn kinetics_read_params(&self) -> bool {
///         false
///     }
///     fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
///         g[0] = Gate {
///             inf: (R::cst(1.0) + ((v + 30.0) / -10.0).exp()).recip(),
///             tau: R::cst(5.0),
///         };
///     }
///     fn current<R: Real>(&self, v: R, x: &[R], _: &[R], p: &[R]) -> R {
///         p[0] * x[0].powi(4) * (v - p[1])
///     }
/// }
///
/// let channel: Box<dyn Channel> = Box::new(Kdr);
/// assert_eq!(channel.states()[0].name, "n");
/// ```
pub trait GateKinetics: fmt::Debug + Clone + Send + Sync + 'static {
    /// The channel's name: the prefix of its parameters and gates.
    fn name(&self) -> &str;

    /// The parameters, in the order of `params` below.
    fn params(&self) -> &[ParamSpec];

    /// The gates (the channel's states), in the order of `gates` below.
    fn gates(&self) -> &[StateSpec];

    /// The ion the current carries (see [`crate::Channel::ion`]).
    fn ion(&self) -> Option<Ion> {
        None
    }

    /// The ion quantities read, in the order of `inputs` below.
    fn inputs(&self) -> &[IonVar] {
        &[]
    }

    /// Some(ion) for a pool: gate 0 is then the ion's inside concentration
    /// and `current` is never called (see [`crate::Channel::pool`]).
    fn pool(&self) -> Option<Ion> {
        None
    }

    /// False if [`GateKinetics::gates_at`] reads no parameter, which saves
    /// work in the derivatives.
    fn kinetics_read_params(&self) -> bool {
        true
    }

    /// Writes the steady state and time constant of every gate at voltage
    /// `v` (mV) and temperature `celsius`.
    fn gates_at<R: Real>(
        &self,
        v: R,
        inputs: &[R],
        params: &[R],
        celsius: f64,
        gates: &mut [Gate<R>],
    );

    /// The membrane current density (mA/cm2, outward positive).
    fn current<R: Real>(&self, v: R, gates: &[R], inputs: &[R], params: &[R]) -> R;
}

impl<K: GateKinetics> Channel for K {
    fn name(&self) -> &str {
        GateKinetics::name(self)
    }
    fn params(&self) -> &[ParamSpec] {
        GateKinetics::params(self)
    }
    fn states(&self) -> &[StateSpec] {
        GateKinetics::gates(self)
    }
    fn ion(&self) -> Option<Ion> {
        GateKinetics::ion(self)
    }
    fn inputs(&self) -> &[IonVar] {
        GateKinetics::inputs(self)
    }
    fn pool(&self) -> Option<Ion> {
        GateKinetics::pool(self)
    }
    fn ir(&self, dt: f64, celsius: f64) -> ChannelIr {
        crate::ir::trace_gates(self, dt, celsius)
    }
    fn native(&self) -> Option<&dyn ChannelKernels<f64>> {
        Some(self)
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}

impl<K: GateKinetics> ChannelKernels<f64> for K {
    fn init_states(&self, env: &ChannelEnv, params: Columns, states: ColumnsMut) {
        init_states(self, env, params, states)
    }
    fn advance_states(&self, env: &ChannelEnv, params: Columns, states: ColumnsMut) {
        advance_states(self, env, params, states)
    }
    fn current(
        &self,
        env: &ChannelEnv,
        params: Columns,
        states: Columns,
        i: &mut [f64],
        di_dv: &mut [f64],
    ) {
        current(self, env, params, states, i, di_dv)
    }
    fn init_states_vjp(&self, env: &ChannelEnv, params: Columns, cot_states: Columns, cot: Cot) {
        init_states_vjp(self, env, params, cot_states, cot)
    }
    fn advance_states_vjp(
        &self,
        env: &ChannelEnv,
        params: Columns,
        states: Columns,
        cot_states: ColumnsMut,
        cot: Cot,
    ) {
        advance_states_vjp(self, env, params, states, cot_states, cot)
    }
    fn current_vjp(
        &self,
        env: &ChannelEnv,
        params: Columns,
        states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        cot_states: ColumnsMut,
        cot: Cot,
    ) {
        current_vjp(self, env, params, states, cot_i, cot_di_dv, cot_states, cot)
    }
}

/// A variable of a kernel to differentiate against.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Var {
    V,
    Gate(usize),
    Input(usize),
    Param(usize),
}

/// Sizes (gates, params, inputs), checked against the maxima.
fn dims<K: GateKinetics>(k: &K) -> (usize, usize, usize) {
    let d = (k.gates().len(), k.params().len(), k.inputs().len());
    assert!(
        d.0 <= MAX_GATES && d.1 <= MAX_PARAMS && d.2 <= MAX_INPUTS,
        "{}: at most {MAX_GATES} gates, {MAX_PARAMS} parameters and {MAX_INPUTS} inputs",
        k.name()
    );
    d
}

/// The variables the gate kinetics depend on.
fn kinetic_vars<K: GateKinetics>(k: &K, np: usize, ni: usize) -> impl Iterator<Item = Var> {
    let np = if k.kinetics_read_params() { np } else { 0 };
    std::iter::once(Var::V)
        .chain((0..ni).map(Var::Input))
        .chain((0..np).map(Var::Param))
}

/// Adds `x` to the cotangent of `var` at rows `r..r + T::WIDTH`.
#[inline(always)]
fn add_cot<T: Rows>(cot: &mut Cot, var: Var, r: usize, x: T) {
    match var {
        Var::V => x.add_to(cot.v, r),
        Var::Input(i) => x.add_to(cot.inputs.col(i), r),
        Var::Param(q) => x.add_to(cot.params.col(q), r),
        Var::Gate(_) => unreachable!("gates are states"),
    }
}

/// The voltage, inputs and parameters at rows `r..r + T::WIDTH`.
#[inline(always)]
fn inputs_at<K: GateKinetics, T: Rows>(
    k: &K,
    env: &ChannelEnv,
    params: &Columns,
    r: usize,
) -> (T, [T; MAX_INPUTS], [T; MAX_PARAMS]) {
    let (_, np, ni) = dims(k);
    let (mut inp, mut p) = ([T::cst(0.0); MAX_INPUTS], [T::cst(0.0); MAX_PARAMS]);
    for (i, x) in inp[..ni].iter_mut().enumerate() {
        *x = T::get(env.inputs.col(i), r);
    }
    for (q, x) in p[..np].iter_mut().enumerate() {
        *x = T::get(params.col(q), r);
    }
    (T::get(env.v, r), inp, p)
}

/// Gate kinetics differentiated in `var`.
#[inline(always)]
fn gates_dual<K: GateKinetics, T: Real>(
    k: &K,
    v: T,
    inp: &[T],
    p: &[T],
    celsius: f64,
    var: Var,
    out: &mut [Gate<Dual<T>>],
) {
    let mut di = [Dual::lift(T::cst(0.0), false); MAX_INPUTS];
    let mut dp = [Dual::lift(T::cst(0.0), false); MAX_PARAMS];
    for (i, x) in inp.iter().enumerate() {
        di[i] = Dual::lift(*x, var == Var::Input(i));
    }
    for (q, x) in p.iter().enumerate() {
        dp[q] = Dual::lift(*x, var == Var::Param(q));
    }
    k.gates_at(
        Dual::lift(v, var == Var::V),
        &di[..inp.len()],
        &dp[..p.len()],
        celsius,
        out,
    );
}

const ZERO_GATE: Gate<f64> = Gate { inf: 0.0, tau: 0.0 };

/// Evaluates the gate kinetics over full blocks of [`LANES`] rows, calling
/// `f(out, first row, gates)`, and over the remaining rows one by one,
/// calling `g(out, row, gates)`.
#[inline(always)]
fn kinetics_blocks<K: GateKinetics, S: ?Sized>(
    k: &K,
    env: &ChannelEnv,
    params: &Columns,
    out: &mut S,
    mut f: impl FnMut(&mut S, usize, &[Gate<Lanes>]),
    mut g: impl FnMut(&mut S, usize, &[Gate<f64>]),
) {
    let (ng, np, ni) = dims(k);
    let rows = env.v.len();
    let full = rows / LANES * LANES;
    let zero = Lanes::splat(0.0);
    let (mut p, mut inp) = ([zero; MAX_PARAMS], [zero; MAX_INPUTS]);
    let mut gates = [Gate {
        inf: zero,
        tau: zero,
    }; MAX_GATES];
    for r in (0..full).step_by(LANES) {
        params.read_lanes(r, &mut p[..np]);
        env.inputs.read_lanes(r, &mut inp[..ni]);
        let v = Lanes::load(&env.v[r..]);
        k.gates_at(v, &inp[..ni], &p[..np], env.celsius, &mut gates[..ng]);
        f(out, r, &gates[..ng]);
    }
    let (mut p, mut inp, mut gates) =
        ([0.0; MAX_PARAMS], [0.0; MAX_INPUTS], [ZERO_GATE; MAX_GATES]);
    for r in full..rows {
        params.read_row(r, &mut p[..np]);
        env.inputs.read_row(r, &mut inp[..ni]);
        k.gates_at(
            env.v[r],
            &inp[..ni],
            &p[..np],
            env.celsius,
            &mut gates[..ng],
        );
        g(out, r, &gates[..ng]);
    }
}

#[inline(always)]
fn init_imp<K: GateKinetics>(k: &K, env: &ChannelEnv, params: &Columns, states: &mut ColumnsMut) {
    kinetics_blocks(
        k,
        env,
        params,
        states,
        #[inline(always)]
        |s, r, g| {
            for (j, gate) in g.iter().enumerate() {
                s.col(j)[r..r + LANES].copy_from_slice(&gate.inf.0);
            }
        },
        #[inline(always)]
        |s, r, g| {
            for (j, gate) in g.iter().enumerate() {
                s.col(j)[r] = gate.inf;
            }
        },
    );
}

#[inline(always)]
fn advance_imp<K: GateKinetics>(
    k: &K,
    env: &ChannelEnv,
    params: &Columns,
    states: &mut ColumnsMut,
) {
    let dt = env.dt;
    kinetics_blocks(
        k,
        env,
        params,
        states,
        #[inline(always)]
        |s, r, g| {
            for (j, gate) in g.iter().enumerate() {
                let x = &mut s.col(j)[r..r + LANES];
                for l in 0..LANES {
                    let e = crate::math::exp(-dt / gate.tau.0[l]);
                    x[l] += (1.0 - e) * (gate.inf.0[l] - x[l]);
                }
            }
        },
        #[inline(always)]
        |s, r, g| {
            for (j, gate) in g.iter().enumerate() {
                let x = &mut s.col(j)[r];
                *x += (1.0 - crate::math::exp(-dt / gate.tau)) * (gate.inf - *x);
            }
        },
    );
}

/// The current and its slope at rows `r..r + T::WIDTH`.
#[inline(always)]
fn current_rows<K: GateKinetics, T: Rows>(
    k: &K,
    env: &ChannelEnv,
    params: &Columns,
    states: &Columns,
    i: &mut [f64],
    di_dv: &mut [f64],
    r: usize,
) {
    let (ng, np, ni) = dims(k);
    let (v, inp, p) = inputs_at::<K, T>(k, env, params, r);
    let mut x = [T::cst(0.0); MAX_GATES];
    for (j, s) in x[..ng].iter_mut().enumerate() {
        *s = T::get(states.col(j), r);
    }
    // Two calls rather than a closure, which would not inherit the SIMD
    // target features of the dispatched kernel.
    let i0 = k.current(v, &x[..ng], &inp[..ni], &p[..np]);
    let i1 = k.current(v + SLOPE_DV, &x[..ng], &inp[..ni], &p[..np]);
    i0.put(i, r);
    ((i1 - i0) / SLOPE_DV).put(di_dv, r);
}

// The kernels compiled for the widest SIMD instructions available (their
// lane loops then become SIMD instructions).
ruxley_core::multiversion! {
    #[inline]
    fn init_dispatch<K: GateKinetics>(
        k: &K,
        env: &ChannelEnv,
        params: &Columns,
        states: &mut ColumnsMut,
    ) {
        init_imp(k, env, params, states)
    }
}
ruxley_core::multiversion! {
    #[inline]
    fn advance_dispatch<K: GateKinetics>(
        k: &K,
        env: &ChannelEnv,
        params: &Columns,
        states: &mut ColumnsMut,
    ) {
        advance_imp(k, env, params, states)
    }
}
ruxley_core::multiversion! {
    #[inline]
    fn current_dispatch<K: GateKinetics>(
        k: &K,
        env: &ChannelEnv,
        params: &Columns,
        states: &Columns,
        i: &mut [f64],
        di_dv: &mut [f64],
    ) {
        ruxley_core::by_row_blocks!(
            env.v.len(),
            current_rows::<K>(k, env, params, states, i, di_dv)
        )
    }
}

/// [`crate::ChannelKernels::init_states`]: every gate at its steady state.
fn init_states<K: GateKinetics>(k: &K, env: &ChannelEnv, params: Columns, mut states: ColumnsMut) {
    init_dispatch(k, env, &params, &mut states);
}

/// [`crate::ChannelKernels::advance_states`]: x + (1 - exp(-dt/tau)) (x_inf - x).
fn advance_states<K: GateKinetics>(
    k: &K,
    env: &ChannelEnv,
    params: Columns,
    mut states: ColumnsMut,
) {
    advance_dispatch(k, env, &params, &mut states);
}

/// [`crate::ChannelKernels::current`], with NEURON's slope (see [`SLOPE_DV`]).
fn current<K: GateKinetics>(
    k: &K,
    env: &ChannelEnv,
    params: Columns,
    states: Columns,
    i: &mut [f64],
    di_dv: &mut [f64],
) {
    current_dispatch(k, env, &params, &states, i, di_dv);
}

/// [`crate::ChannelKernels::init_states_vjp`].
fn init_states_vjp<K: GateKinetics>(
    k: &K,
    env: &ChannelEnv,
    params: Columns,
    cot_states: Columns,
    mut cot: Cot,
) {
    init_vjp_dispatch(k, env, &params, &cot_states, &mut cot);
}

#[inline(always)]
fn init_vjp_rows<K: GateKinetics, T: Rows>(
    k: &K,
    env: &ChannelEnv,
    params: &Columns,
    cot_states: &Columns,
    cot: &mut Cot,
    r: usize,
) {
    let (ng, np, ni) = dims(k);
    let (v, inp, p) = inputs_at::<K, T>(k, env, params, r);
    let zero = Dual::lift(T::cst(0.0), false);
    let mut g = [Gate {
        inf: zero,
        tau: zero,
    }; MAX_GATES];
    for var in kinetic_vars(k, np, ni) {
        gates_dual(k, v, &inp[..ni], &p[..np], env.celsius, var, &mut g[..ng]);
        let mut d = T::cst(0.0);
        for (j, gate) in g[..ng].iter().enumerate() {
            d = d + T::get(cot_states.col(j), r) * gate.inf.eps;
        }
        add_cot(cot, var, r, d);
    }
}

/// [`crate::ChannelKernels::advance_states_vjp`].
fn advance_states_vjp<K: GateKinetics>(
    k: &K,
    env: &ChannelEnv,
    params: Columns,
    states: Columns,
    mut cot_states: ColumnsMut,
    mut cot: Cot,
) {
    advance_vjp_dispatch(k, env, &params, &states, &mut cot_states, &mut cot);
}

#[inline(always)]
fn advance_vjp_rows<K: GateKinetics, T: Rows>(
    k: &K,
    env: &ChannelEnv,
    params: &Columns,
    states: &Columns,
    cot_states: &mut ColumnsMut,
    cot: &mut Cot,
    r: usize,
) {
    let (ng, np, ni) = dims(k);
    let (v, inp, p) = inputs_at::<K, T>(k, env, params, r);
    let zero = Dual::lift(T::cst(0.0), false);
    let mut g = [Gate {
        inf: zero,
        tau: zero,
    }; MAX_GATES];
    // Per gate: the cotangents of x_inf and tau.
    let mut c_inf = [T::cst(0.0); MAX_GATES];
    let mut c_tau = [T::cst(0.0); MAX_GATES];
    let mut first = true;
    for var in kinetic_vars(k, np, ni) {
        gates_dual(k, v, &inp[..ni], &p[..np], env.celsius, var, &mut g[..ng]);
        if first {
            // x' = x + (1 - E)(x_inf - x), E = exp(-dt/tau).
            for j in 0..ng {
                let (inf, tau) = (g[j].inf.re, g[j].tau.re);
                let e = (T::cst(-env.dt) / tau).exp();
                let x = T::get(states.col(j), r);
                let c = T::get(cot_states.col(j), r);
                c_inf[j] = c * (T::cst(1.0) - e);
                c_tau[j] = -(c * e * env.dt / (tau * tau) * (inf - x));
                (c * e).put(cot_states.col(j), r);
            }
            first = false;
        }
        let mut d = T::cst(0.0);
        for j in 0..ng {
            d = d + c_inf[j] * g[j].inf.eps + c_tau[j] * g[j].tau.eps;
        }
        add_cot(cot, var, r, d);
    }
}

/// [`crate::ChannelKernels::current_vjp`]: the slope's cotangent goes through both
/// evaluations of its forward difference.
#[allow(clippy::too_many_arguments)]
fn current_vjp<K: GateKinetics>(
    k: &K,
    env: &ChannelEnv,
    params: Columns,
    states: Columns,
    cot_i: &[f64],
    cot_di_dv: &[f64],
    mut cot_states: ColumnsMut,
    mut cot: Cot,
) {
    let cots = [cot_i, cot_di_dv];
    current_vjp_dispatch(k, env, &params, &states, &cots, &mut cot_states, &mut cot);
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn current_vjp_rows<K: GateKinetics, T: Rows>(
    k: &K,
    env: &ChannelEnv,
    params: &Columns,
    states: &Columns,
    [cot_i, cot_di_dv]: &[&[f64]; 2],
    cot_states: &mut ColumnsMut,
    cot: &mut Cot,
    r: usize,
) {
    let (ng, np, ni) = dims(k);
    let (v, inp, p) = inputs_at::<K, T>(k, env, params, r);
    let mut s = [T::cst(0.0); MAX_GATES];
    for (j, x) in s[..ng].iter_mut().enumerate() {
        *x = T::get(states.col(j), r);
    }
    let zero = Dual::lift(T::cst(0.0), false);
    let (mut dp, mut di, mut dx) = ([zero; MAX_PARAMS], [zero; MAX_INPUTS], [zero; MAX_GATES]);
    let (ci, cg) = (T::get(cot_i, r), T::get(cot_di_dv, r));
    let vars = std::iter::once(Var::V)
        .chain((0..ng).map(Var::Gate))
        .chain((0..ni).map(Var::Input))
        .chain((0..np).map(Var::Param));
    for var in vars {
        for j in 0..np {
            dp[j] = Dual::lift(p[j], var == Var::Param(j));
        }
        for j in 0..ni {
            di[j] = Dual::lift(inp[j], var == Var::Input(j));
        }
        for j in 0..ng {
            dx[j] = Dual::lift(s[j], var == Var::Gate(j));
        }
        let on = var == Var::V;
        let y0 = k.current(Dual::lift(v, on), &dx[..ng], &di[..ni], &dp[..np]);
        let y1 = k.current(
            Dual::lift(v + SLOPE_DV, on),
            &dx[..ng],
            &di[..ni],
            &dp[..np],
        );
        // i = y0 and di/dv = (y1 - y0) / SLOPE_DV, differentiated in `var`.
        let d = ci * y0.eps + cg * (y1.eps - y0.eps) / SLOPE_DV;
        match var {
            Var::Gate(j) => d.add_to(cot_states.col(j), r),
            other => add_cot(cot, other, r, d),
        }
    }
}

ruxley_core::multiversion! {
    #[inline]
    fn init_vjp_dispatch<K: GateKinetics>(
        k: &K,
        env: &ChannelEnv,
        params: &Columns,
        cot_states: &Columns,
        cot: &mut Cot,
    ) {
        ruxley_core::by_row_blocks!(
            env.v.len(),
            init_vjp_rows::<K>(k, env, params, cot_states, cot)
        )
    }
}
ruxley_core::multiversion! {
    #[inline]
    fn advance_vjp_dispatch<K: GateKinetics>(
        k: &K,
        env: &ChannelEnv,
        params: &Columns,
        states: &Columns,
        cot_states: &mut ColumnsMut,
        cot: &mut Cot,
    ) {
        ruxley_core::by_row_blocks!(
            env.v.len(),
            advance_vjp_rows::<K>(k, env, params, states, cot_states, cot)
        )
    }
}
ruxley_core::multiversion! {
    #[inline]
    fn current_vjp_dispatch<K: GateKinetics>(
        k: &K,
        env: &ChannelEnv,
        params: &Columns,
        states: &Columns,
        cots: &[&[f64]; 2],
        cot_states: &mut ColumnsMut,
        cot: &mut Cot,
    ) {
        ruxley_core::by_row_blocks!(
            env.v.len(),
            current_vjp_rows::<K>(k, env, params, states, cots, cot_states, cot)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{Point, check_channel};
    use crate::{CALCIUM, Channel, Hh};

    /// NEURON's hh written as kinetics.
    #[derive(Debug, Clone)]
    struct HhKinetics;

    fn vtrap<R: Real>(x: R, y: f64) -> R {
        (x / y).abs().if_lt(
            1e-6,
            (R::cst(1.0) - x / y / 2.0) * y,
            x / ((x / y).exp() - 1.0),
        )
    }

    impl GateKinetics for HhKinetics {
        fn name(&self) -> &str {
            "HHk"
        }
        fn params(&self) -> &[ParamSpec] {
            Hh::new().params().to_vec().leak()
        }
        fn gates(&self) -> &[StateSpec] {
            const G: [StateSpec; 3] = [
                StateSpec::gate("m"),
                StateSpec::gate("h"),
                StateSpec::gate("n"),
            ];
            &G
        }
        fn kinetics_read_params(&self) -> bool {
            false
        }
        fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], celsius: f64, g: &mut [Gate<R>]) {
            let q = 3f64.powf((celsius - 6.3) / 10.0);
            g[0] = Gate::from_rates(
                vtrap(-(v + 40.0), 10.0) * 0.1,
                (-(v + 65.0) / 18.0).exp() * 4.0,
                q,
            );
            g[1] = Gate::from_rates(
                (-(v + 65.0) / 20.0).exp() * 0.07,
                ((-(v + 35.0) / 10.0).exp() + 1.0).recip(),
                q,
            );
            g[2] = Gate::from_rates(
                vtrap(-(v + 55.0), 10.0) * 0.01,
                (-(v + 65.0) / 80.0).exp() * 0.125,
                q,
            );
        }
        fn current<R: Real>(&self, v: R, x: &[R], _: &[R], p: &[R]) -> R {
            p[0] * x[0].powi(3) * x[1] * (v - p[3])
                + p[1] * x[2].powi(4) * (v - p[4])
                + p[2] * (v - p[5])
        }
    }

    /// A channel reading the calcium reversal and inside concentration, with
    /// kinetics that read a parameter, to exercise every derivative path.
    #[derive(Debug, Clone)]
    struct CaProbe;

    impl GateKinetics for CaProbe {
        fn name(&self) -> &str {
            "CaProbe"
        }
        fn params(&self) -> &[ParamSpec] {
            const P: [ParamSpec; 2] = [
                ParamSpec::new("g", "S/cm2", 1e-3, (0.0, 1.0)),
                ParamSpec::new("vh", "mV", -30.0, (-60.0, 0.0)),
            ];
            &P
        }
        fn gates(&self) -> &[StateSpec] {
            const G: [StateSpec; 2] = [StateSpec::gate("m"), StateSpec::gate("z")];
            &G
        }
        fn ion(&self) -> Option<Ion> {
            Some(CALCIUM)
        }
        fn inputs(&self) -> &[IonVar] {
            const I: [IonVar; 2] = [IonVar::Reversal(CALCIUM), IonVar::Inside(CALCIUM)];
            &I
        }
        fn gates_at<R: Real>(&self, v: R, inp: &[R], p: &[R], _: f64, g: &mut [Gate<R>]) {
            let s = ((v - p[1]) / -6.0).exp();
            g[0] = Gate {
                inf: (s + 1.0).recip(),
                tau: (s + 2.0).ln() + 1.0,
            };
            g[1] = Gate {
                inf: (R::cst(1.0) + (R::cst(4e-4) / inp[1]).powf(4.8)).recip(),
                tau: R::cst(1.0),
            };
        }
        fn current<R: Real>(&self, v: R, x: &[R], inp: &[R], p: &[R]) -> R {
            // A voltage-dependent conductance, so di/dv is not just g.
            let s = ((v + 57.0) / -6.2).exp();
            p[0] * x[0].powi(2) * x[1] * (s + 1.0).recip() * (v - inp[0])
        }
    }

    fn run(ch: &dyn Channel, v: &[f64], p: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let rows = v.len();
        let ns = ch.states().len();
        let env = ChannelEnv::new(v, 0.025, 6.3);
        let mut s = vec![0.0; ns * rows];
        ch.native().unwrap().init_states(
            &env,
            Columns::new(p, rows),
            ColumnsMut::new(&mut s, rows),
        );
        let s0 = s.clone();
        let shifted: Vec<f64> = v.iter().map(|x| x + 7.0).collect();
        let env2 = ChannelEnv::new(&shifted, 0.025, 6.3);
        ch.native().unwrap().advance_states(
            &env2,
            Columns::new(p, rows),
            ColumnsMut::new(&mut s, rows),
        );
        let (mut i, mut g) = (vec![0.0; rows], vec![0.0; rows]);
        ch.native().unwrap().current(
            &env2,
            Columns::new(p, rows),
            Columns::new(&s, rows),
            &mut i,
            &mut g,
        );
        (s0, s, i, g)
    }

    #[test]
    fn kinetics_reproduce_the_hand_written_hh() {
        let v = [-80.0, -65.0, -55.0, -40.0, -20.0, 10.0, 40.0];
        let hh = Hh::new();
        let p: Vec<f64> = hh
            .params()
            .iter()
            .flat_map(|s| vec![s.default; v.len()])
            .collect();
        let a = run(&hh, &v, &p);
        let b = run(&HhKinetics, &v, &p);
        // States and currents to round-off; the slope, a forward difference
        // over 1e-3 mV here and exact in Hh, to the difference's round-off.
        for (x, y, tol) in [
            (&a.0, &b.0, 1e-14),
            (&a.1, &b.1, 1e-14),
            (&a.2, &b.2, 1e-14),
            (&a.3, &b.3, 1e-10),
        ] {
            for (x, y) in x.iter().zip(y.iter()) {
                assert!((x - y).abs() <= tol * x.abs().max(1e-3), "{x} vs {y}");
            }
        }
    }

    #[test]
    fn derived_derivatives_match_finite_differences() {
        let points = |ch: &dyn Channel, inputs: &dyn Fn(usize) -> Vec<f64>| -> Vec<Point> {
            [-75.0, -52.0, -31.0, -12.0, 20.0]
                .iter()
                .enumerate()
                .map(|(k, &v)| Point {
                    v,
                    params: ch
                        .params()
                        .iter()
                        .map(|p| p.default * (1.0 + 0.1 * k as f64))
                        .collect(),
                    states: (0..ch.states().len())
                        .map(|j| 0.15 + 0.1 * ((k + j) % 7) as f64)
                        .collect(),
                    inputs: inputs(k),
                })
                .collect()
        };
        check_channel(
            &HhKinetics,
            &points(&HhKinetics, &|_| vec![]),
            0.025,
            16.3,
            1e-6,
        )
        .unwrap();
        let ca = |k: usize| vec![120.0 + 5.0 * k as f64, 1e-4 * (1.0 + k as f64)];
        check_channel(&CaProbe, &points(&CaProbe, &ca), 0.025, 34.0, 1e-6).unwrap();
    }
}
