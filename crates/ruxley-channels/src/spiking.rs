//! Non-capacitive neurons: mechanisms that set the membrane voltage at the
//! start of each step ([`crate::Channel::sets_voltage`]), with surrogate
//! gradients for their spikes.
//!
//! [`Fire`] with a [`crate::Leak`] is a leaky integrate-and-fire neuron;
//! [`Izhikevich`] is Izhikevich's (2003) model. A spike is a step function
//! of the voltage, whose true derivative is zero almost everywhere; with a
//! surrogate slope beta > 0 its derivative is replaced by
//! 0.5 beta / (1 + beta |x|)^2 (see [`crate::Real::spike`]), so that
//! gradients flow through spikes. The state `spike` is 1 in the step a spike
//! happens, else 0.

use std::fmt;

use crate::channel::{ChannelEnv, Columns, ColumnsMut, Cot, ParamSpec, StateSpec};
use crate::dual::{Dual, Real};

/// The most states and parameters of a [`VoltageDynamics`].
const MAX: usize = 8;

/// A mechanism that replaces the voltage at the start of each step, written
/// generically so that its derivatives come from dual numbers.
pub trait VoltageDynamics: fmt::Debug + Clone + Send + Sync + 'static {
    /// The name.
    fn name(&self) -> &str;
    /// The parameters.
    fn params(&self) -> &[ParamSpec];
    /// The states.
    fn states(&self) -> &[StateSpec];
    /// The initial states at voltage `v`.
    fn init<R: Real>(&self, v: R, params: &[R], states: &mut [R]);
    /// Replaces `v` and the states at the start of a step `dt`.
    fn update<R: Real>(&self, dt: f64, v: &mut R, params: &[R], states: &mut [R]);
}

/// Implements [`crate::Channel`] for a [`VoltageDynamics`]: no membrane
/// current, no state update besides [`VoltageDynamics::update`].
#[macro_export]
macro_rules! voltage_channel {
    ($t:ty) => {
        impl $crate::Channel for $t {
            fn name(&self) -> &str {
                $crate::spiking::VoltageDynamics::name(self)
            }
            fn params(&self) -> &[$crate::ParamSpec] {
                $crate::spiking::VoltageDynamics::params(self)
            }
            fn states(&self) -> &[$crate::StateSpec] {
                $crate::spiking::VoltageDynamics::states(self)
            }
            fn sets_voltage(&self) -> bool {
                true
            }
            fn ir(&self, dt: f64, _celsius: f64) -> $crate::ir::ChannelIr {
                $crate::ir::trace_voltage(self, dt)
            }
            fn native(&self) -> Option<&dyn $crate::ChannelKernels<f64>> {
                Some(self)
            }
            fn clone_box(&self) -> Box<dyn $crate::Channel> {
                Box::new(self.clone())
            }
        }
        impl $crate::ChannelKernels<f64> for $t {
            fn set_voltage(
                &self,
                env: &$crate::ChannelEnv,
                params: $crate::Columns,
                states: $crate::ColumnsMut,
                v: &mut [f64],
            ) {
                $crate::spiking::set_voltage(self, env, params, states, v)
            }
            fn set_voltage_vjp(
                &self,
                env: &$crate::ChannelEnv,
                params: $crate::Columns,
                states: $crate::Columns,
                cot_states: $crate::ColumnsMut,
                cot: $crate::Cot,
            ) {
                $crate::spiking::set_voltage_vjp(self, env, params, states, cot_states, cot)
            }
            fn init_states(
                &self,
                env: &$crate::ChannelEnv,
                params: $crate::Columns,
                states: $crate::ColumnsMut,
            ) {
                $crate::spiking::init_states(self, env, params, states)
            }
            fn advance_states(
                &self,
                _: &$crate::ChannelEnv,
                _: $crate::Columns,
                _: $crate::ColumnsMut,
            ) {
            }
            fn current(
                &self,
                _: &$crate::ChannelEnv,
                _: $crate::Columns,
                _: $crate::Columns,
                i: &mut [f64],
                di_dv: &mut [f64],
            ) {
                i.fill(0.0);
                di_dv.fill(0.0);
            }
            fn init_states_vjp(
                &self,
                env: &$crate::ChannelEnv,
                params: $crate::Columns,
                cot_states: $crate::Columns,
                cot: $crate::Cot,
            ) {
                $crate::spiking::init_states_vjp(self, env, params, cot_states, cot)
            }
            fn advance_states_vjp(
                &self,
                _: &$crate::ChannelEnv,
                _: $crate::Columns,
                _: $crate::Columns,
                _: $crate::ColumnsMut,
                _: $crate::Cot,
            ) {
            }
            fn current_vjp(
                &self,
                _: &$crate::ChannelEnv,
                _: $crate::Columns,
                _: $crate::Columns,
                _: &[f64],
                _: &[f64],
                _: $crate::ColumnsMut,
                _: $crate::Cot,
            ) {
            }
        }
    };
}

fn dims<D: VoltageDynamics>(d: &D) -> (usize, usize) {
    let n = (d.states().len(), d.params().len());
    assert!(
        n.0 <= MAX && n.1 <= MAX,
        "{}: at most {MAX} states and parameters",
        d.name()
    );
    n
}

fn seed(x: f64, on: bool) -> Dual<f64> {
    Dual::new(x, if on { 1.0 } else { 0.0 })
}

/// [`crate::ChannelKernels::init_states`] of a [`VoltageDynamics`].
pub fn init_states<D: VoltageDynamics>(
    d: &D,
    env: &ChannelEnv,
    params: Columns,
    mut states: ColumnsMut,
) {
    let (ns, np) = dims(d);
    let (mut p, mut s) = ([0.0; MAX], [0.0; MAX]);
    for (r, &v) in env.v.iter().enumerate() {
        params.read_row(r, &mut p[..np]);
        d.init(v, &p[..np], &mut s[..ns]);
        for j in 0..ns {
            states.col(j)[r] = s[j];
        }
    }
}

/// [`crate::ChannelKernels::init_states_vjp`] of a [`VoltageDynamics`].
pub fn init_states_vjp<D: VoltageDynamics>(
    d: &D,
    env: &ChannelEnv,
    params: Columns,
    cot_states: Columns,
    mut cot: Cot,
) {
    let (ns, np) = dims(d);
    let mut p = [0.0; MAX];
    let (mut dp, mut ds) = ([Dual::new(0.0, 0.0); MAX], [Dual::new(0.0, 0.0); MAX]);
    for (r, &v) in env.v.iter().enumerate() {
        params.read_row(r, &mut p[..np]);
        // Variable k: 0 is v, 1 + q parameter q.
        for k in 0..=np {
            for q in 0..np {
                dp[q] = seed(p[q], k == q + 1);
            }
            d.init(seed(v, k == 0), &dp[..np], &mut ds[..ns]);
            let x: f64 = (0..ns).map(|j| cot_states.col(j)[r] * ds[j].eps).sum();
            if k == 0 {
                cot.v[r] += x;
            } else {
                cot.params.col(k - 1)[r] += x;
            }
        }
    }
}

/// [`crate::ChannelKernels::set_voltage`] of a [`VoltageDynamics`].
pub fn set_voltage<D: VoltageDynamics>(
    d: &D,
    env: &ChannelEnv,
    params: Columns,
    mut states: ColumnsMut,
    v: &mut [f64],
) {
    let (ns, np) = dims(d);
    let (mut p, mut s) = ([0.0; MAX], [0.0; MAX]);
    for (r, v) in v.iter_mut().enumerate() {
        params.read_row(r, &mut p[..np]);
        states.as_columns().read_row(r, &mut s[..ns]);
        d.update(env.dt, v, &p[..np], &mut s[..ns]);
        for j in 0..ns {
            states.col(j)[r] = s[j];
        }
    }
}

/// [`crate::ChannelKernels::set_voltage_vjp`] of a [`VoltageDynamics`].
pub fn set_voltage_vjp<D: VoltageDynamics>(
    d: &D,
    env: &ChannelEnv,
    params: Columns,
    states: Columns,
    mut cot_states: ColumnsMut,
    cot: Cot,
) {
    let (ns, np) = dims(d);
    let (mut p, mut s, mut c, mut out) = ([0.0; MAX], [0.0; MAX], [0.0; MAX], [0.0; MAX]);
    let (mut dp, mut ds) = ([Dual::new(0.0, 0.0); MAX], [Dual::new(0.0, 0.0); MAX]);
    let mut cot_params = cot.params;
    for (r, &v) in env.v.iter().enumerate() {
        params.read_row(r, &mut p[..np]);
        states.read_row(r, &mut s[..ns]);
        cot_states.as_columns().read_row(r, &mut c[..ns]);
        let cv = cot.v[r];
        // Variable k: 0 is v, 1 + j state j, 1 + ns + q parameter q.
        for k in 0..1 + ns + np {
            for q in 0..np {
                dp[q] = seed(p[q], k == 1 + ns + q);
            }
            for j in 0..ns {
                ds[j] = seed(s[j], k == 1 + j);
            }
            let mut dv = seed(v, k == 0);
            d.update(env.dt, &mut dv, &dp[..np], &mut ds[..ns]);
            let x = cv * dv.eps + (0..ns).map(|j| c[j] * ds[j].eps).sum::<f64>();
            if k == 0 {
                out[0] = x;
            } else if k <= ns {
                out[k] = x;
            } else {
                cot_params.col(k - 1 - ns)[r] += x;
            }
        }
        cot.v[r] = out[0];
        for j in 0..ns {
            cot_states.col(j)[r] = out[1 + j];
        }
    }
}

/// `Fire`: resets the voltage to `vreset` (-70 mV) when it exceeds `vth`
/// (-50 mV); with a [`crate::Leak`] a leaky integrate-and-fire neuron. The
/// state `spike` marks the steps of resets. Parameter `beta` (1/mV) is the
/// slope of the spikes' surrogate derivative (0: their true derivative, zero).
#[derive(Debug, Clone, Copy)]
pub struct Fire {
    params: [ParamSpec; 3],
}

impl Default for Fire {
    fn default() -> Self {
        Self::new()
    }
}

impl Fire {
    /// The mechanism, whose spikes have their true derivative (zero).
    pub fn new() -> Self {
        Self::with_surrogate(0.0)
    }

    /// The mechanism with surrogate derivatives of slope `beta` (1/mV) for
    /// its spikes: the default of its parameter `beta`.
    pub fn with_surrogate(beta: f64) -> Self {
        Self {
            params: [
                ParamSpec::new("vth", "mV", -50.0, (-70.0, 0.0)),
                ParamSpec::new("vreset", "mV", -70.0, (-90.0, -40.0)),
                surrogate_param(beta),
            ],
        }
    }
}

/// The surrogate slope parameter `beta` with default `beta`.
const fn surrogate_param(beta: f64) -> ParamSpec {
    ParamSpec::new("beta", "1/mV", beta, (0.0, 100.0))
}

impl VoltageDynamics for Fire {
    fn name(&self) -> &str {
        "Fire"
    }
    fn params(&self) -> &[ParamSpec] {
        &self.params
    }
    fn states(&self) -> &[StateSpec] {
        const S: [StateSpec; 1] = [StateSpec::gate("spike")];
        &S
    }
    fn init<R: Real>(&self, _: R, _: &[R], s: &mut [R]) {
        s[0] = R::cst(0.0);
    }
    fn update<R: Real>(&self, _: f64, v: &mut R, p: &[R], s: &mut [R]) {
        // v > vth, strictly: 1 - [vth - v >= 0].
        let spike = R::cst(1.0) - (p[0] - *v).spike(p[2]);
        *v = *v + spike * (p[1] - *v);
        s[0] = spike;
    }
}
crate::voltage_channel!(Fire);

/// `Izhikevich`: Izhikevich's (2003) neuron, as Jaxley steps it. Each
/// step, with E = e^(-a dt): u <- b v + (u - b v) E; v <- v + dt (0.04 v^2 +
/// 5 v + 140 - u); where v >= 30 mV, v <- c and u <- u + d. u starts at b v.
/// Parameters `a` (0.02), `b` (0.2), `c` (-65 mV), `d` (8), and `beta`
/// (1/mV), the slope of the spikes' surrogate derivative (0: none).
#[derive(Debug, Clone, Copy)]
pub struct Izhikevich {
    params: [ParamSpec; 5],
}

impl Default for Izhikevich {
    fn default() -> Self {
        Self::new()
    }
}

impl Izhikevich {
    /// The mechanism, whose spikes have their true derivative (zero).
    pub fn new() -> Self {
        Self::with_surrogate(0.0)
    }

    /// The mechanism with surrogate derivatives of slope `beta` (1/mV) for
    /// its spikes: the default of its parameter `beta`.
    pub fn with_surrogate(beta: f64) -> Self {
        Self {
            params: [
                ParamSpec::new("a", "1/ms", 0.02, (0.001, 0.2)),
                ParamSpec::new("b", "1", 0.2, (0.0, 1.0)),
                ParamSpec::new("c", "mV", -65.0, (-80.0, -40.0)),
                ParamSpec::new("d", "1", 8.0, (0.0, 20.0)),
                surrogate_param(beta),
            ],
        }
    }
}

impl VoltageDynamics for Izhikevich {
    fn name(&self) -> &str {
        "Izhikevich"
    }
    fn params(&self) -> &[ParamSpec] {
        &self.params
    }
    fn states(&self) -> &[StateSpec] {
        const S: [StateSpec; 2] = [
            StateSpec {
                name: "u",
                unit: "1",
                default: 0.0,
            },
            StateSpec::gate("spike"),
        ];
        &S
    }
    fn init<R: Real>(&self, v: R, p: &[R], s: &mut [R]) {
        s[0] = p[1] * v;
        s[1] = R::cst(0.0);
    }
    fn update<R: Real>(&self, dt: f64, v: &mut R, p: &[R], s: &mut [R]) {
        let (a, b, c, d) = (p[0], p[1], p[2], p[3]);
        let bv = b * *v;
        let u = bv + (s[0] - bv) * (-(a * dt)).exp();
        let v1 = *v + (*v * *v * 0.04 + *v * 5.0 + 140.0 - u) * dt;
        let spike = (v1 - 30.0).spike(p[4]);
        *v = v1 + spike * (c - v1);
        s[0] = u + spike * d;
        s[1] = spike;
    }
}
crate::voltage_channel!(Izhikevich);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, ChannelKernels};

    /// set_voltage_vjp of the native and the compiled kernels against
    /// central differences, away from the spike threshold (where the update
    /// is smooth).
    fn check(ch: &dyn Channel, v: &[f64], states: &[f64]) {
        check_kernels(ch, ch.native().unwrap(), v, states);
        let compiled = crate::CompiledChannel::<f64>::new(&ch.ir(0.1, 6.3));
        check_kernels(ch, &compiled, v, states);
    }

    fn check_kernels(ch: &dyn Channel, k: &dyn ChannelKernels<f64>, v: &[f64], states: &[f64]) {
        let rows = v.len();
        let (ns, np) = (ch.states().len(), ch.params().len());
        let p: Vec<f64> = ch
            .params()
            .iter()
            .flat_map(|q| vec![q.default; rows])
            .collect();
        let run = |v: &[f64], p: &[f64], s: &[f64]| {
            let (mut out, mut s) = (v.to_vec(), s.to_vec());
            let env = ChannelEnv::new(v, 0.1, 6.3);
            k.set_voltage(
                &env,
                Columns::new(p, rows),
                ColumnsMut::new(&mut s, rows),
                &mut out,
            );
            (out, s)
        };
        let (cv, cs): (Vec<f64>, Vec<f64>) = (
            (0..rows).map(|k| 0.3 + 0.1 * k as f64).collect(),
            (0..ns * rows).map(|k| 0.7 - 0.05 * k as f64).collect(),
        );
        let objective = |v: &[f64], p: &[f64], s: &[f64]| {
            let (v, s) = run(v, p, s);
            v.iter().zip(&cv).map(|(a, b)| a * b).sum::<f64>()
                + s.iter().zip(&cs).map(|(a, b)| a * b).sum::<f64>()
        };
        let (mut gv, mut gs, mut gp) = (cv.clone(), cs.clone(), vec![0.0; np * rows]);
        k.set_voltage_vjp(
            &ChannelEnv::new(v, 0.1, 6.3),
            Columns::new(&p, rows),
            Columns::new(states, rows),
            ColumnsMut::new(&mut gs, rows),
            Cot {
                v: &mut gv,
                params: ColumnsMut::new(&mut gp, rows),
                inputs: ColumnsMut::new(&mut [], rows),
            },
        );
        let h = 1e-6;
        for k in 0..rows {
            let mut a = v.to_vec();
            a[k] += h;
            let mut b = v.to_vec();
            b[k] -= h;
            let fd = (objective(&a, &p, states) - objective(&b, &p, states)) / (2.0 * h);
            assert!(
                (fd - gv[k]).abs() < 1e-6 * fd.abs().max(1.0),
                "{} v: {fd} vs {}",
                ch.name(),
                gv[k]
            );
        }
        for k in 0..ns * rows {
            let mut a = states.to_vec();
            a[k] += h;
            let mut b = states.to_vec();
            b[k] -= h;
            let fd = (objective(v, &p, &a) - objective(v, &p, &b)) / (2.0 * h);
            assert!(
                (fd - gs[k]).abs() < 1e-6 * fd.abs().max(1.0),
                "{} state: {fd} vs {}",
                ch.name(),
                gs[k]
            );
        }
        for k in 0..np * rows {
            let mut a = p.clone();
            a[k] += h;
            let mut b = p.clone();
            b[k] -= h;
            let fd = (objective(v, &a, states) - objective(v, &b, states)) / (2.0 * h);
            assert!(
                (fd - gp[k]).abs() < 1e-6 * fd.abs().max(1.0),
                "{} param {k}: {fd} vs {}",
                ch.name(),
                gp[k]
            );
        }
    }

    #[test]
    fn smooth_parts_of_the_updates_match_finite_differences() {
        check(&Fire::new(), &[-65.0, -55.0, -40.0], &[0.0, 1.0, 0.0]);
        check(
            &Izhikevich::new(),
            &[-70.0, -50.0, 10.0],
            &[-14.0, -10.0, 2.0, 0.0, 0.0, 1.0],
        );
    }

    #[test]
    fn surrogates_let_gradients_through_spikes() {
        // At the threshold the true derivative of the spike state is 0;
        // the surrogate gives 0.5 beta / (1 + beta |x|)^2.
        let beta = 2.0;
        let p = [
            Dual::new(-50.0, 0.0),
            Dual::new(-70.0, 0.0),
            Dual::new(beta, 0.0),
        ];
        let mut v = Dual::new(-49.9, 1.0);
        let mut s = [Dual::new(0.0, 0.0)];
        Fire::with_surrogate(beta).update(0.025, &mut v, &p, &mut s);
        assert_eq!(s[0].re, 1.0);
        assert_eq!(v.re, -70.0);
        let x: f64 = 0.1;
        let want = 0.5 * beta / (1.0 + beta * x).powi(2);
        assert!((s[0].eps - want).abs() < 1e-12, "{} vs {want}", s[0].eps);
        let mut v = Dual::new(-49.9, 1.0);
        let p = [p[0], p[1], Dual::new(0.0, 0.0)];
        Fire::new().update(0.025, &mut v, &p, &mut s);
        assert_eq!(s[0].eps, 0.0);
    }
}
