//! The channels of Pospischil et al. (2008), "Minimal Hodgkin-Huxley type
//! models for different classes of cortical and thalamic neurons", as
//! Jaxley names them: `Na`, `K`, `Km`, `CaL`, `CaT` (use [`crate::Leak`] for
//! the leak). No temperature factors (the rates are those of the paper).
//!
//! Reversal potentials are the shared `ena` and `ek` (defaults 50 and -90
//! mV) and the calcium ion's `eca` (set it to 120 mV for the paper's value;
//! a calcium pool makes it follow the Nernst equation). The threshold shift
//! `vt` (-60 mV) is shared by `Na` and `K`. Every gate starts at its exact
//! steady state x_inf(v) (Jaxley's `Km` and `CaT` start at
//! x_inf/(x_inf + tau) instead).

use crate::channel::{ParamSpec, StateSpec};
use crate::dual::Real;
use crate::gated::{Gate, GateKinetics};
use crate::ion::{CALCIUM, Ion, IonVar};

/// z / (e^z - 1), continued by 1 - z/2 where |z| < 1e-6.
#[inline(always)]
fn efun<R: Real>(z: R) -> R {
    z.abs()
        .if_lt(1e-6, R::cst(1.0) - z / 2.0, z / (z.exp() - 1.0))
}

/// 1 / (1 + e^x).
#[inline(always)]
fn sigmoid<R: Real>(x: R) -> R {
    (x.exp() + 1.0).recip()
}

macro_rules! channel_struct {
    ($(#[$doc:meta])* $t:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $t;

        impl $t {
            /// The channel.
            pub fn new() -> Self {
                Self
            }
        }
    };
}

channel_struct!(
    /// `Na`: the fast sodium current. With vt the threshold shift:
    /// alpha_m = 0.32 efun(-(v - vt - 13)/4) 4, beta_m = 0.28
    /// efun((v - vt - 40)/5) 5, alpha_h = 0.128 e^(-(v - vt - 17)/18),
    /// beta_h = 4/(1 + e^(-(v - vt - 40)/5)), efun(z) = z/(e^z - 1).
    /// Current gNa m^3 h (v - ena).
    Na
);

const NA_PARAMS: [ParamSpec; 3] = [
    ParamSpec::new("gNa", "S/cm2", 50e-3, (0.0, 0.5)),
    ParamSpec::shared("ena", "mV", 50.0, (-150.0, 150.0)),
    ParamSpec::shared("vt", "mV", -60.0, (-80.0, -40.0)),
];

impl GateKinetics for Na {
    fn name(&self) -> &str {
        "Na"
    }
    fn params(&self) -> &[ParamSpec] {
        &NA_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        const G: [StateSpec; 2] = [StateSpec::gate("m"), StateSpec::gate("h")];
        &G
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], p: &[R], _: f64, g: &mut [Gate<R>]) {
        let u = v - p[2];
        let am = efun((u - 13.0) * -0.25) * (0.32 / 0.25);
        let bm = efun((u - 40.0) * 0.2) * (0.28 / 0.2);
        g[0] = Gate::from_rates(am, bm, 1.0);
        let ah = (-(u - 17.0) / 18.0).exp() * 0.128;
        let bh = R::cst(4.0) / ((-(u - 40.0) / 5.0).exp() + 1.0);
        g[1] = Gate::from_rates(ah, bh, 1.0);
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], _: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(3) * x[1] * (v - p[1])
    }
}

channel_struct!(
    /// `K`: the delayed-rectifier potassium current. alpha_n = 0.032
    /// efun(-(v - vt - 15)/5) 5, beta_n = 0.5 e^(-(v - vt - 10)/40).
    /// Current gK n^4 (v - ek).
    K
);

const K_PARAMS: [ParamSpec; 3] = [
    ParamSpec::new("gK", "S/cm2", 5e-3, (0.0, 0.5)),
    ParamSpec::shared("ek", "mV", -90.0, (-150.0, 150.0)),
    ParamSpec::shared("vt", "mV", -60.0, (-80.0, -40.0)),
];

impl GateKinetics for K {
    fn name(&self) -> &str {
        "K"
    }
    fn params(&self) -> &[ParamSpec] {
        &K_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        const G: [StateSpec; 1] = [StateSpec::gate("n")];
        &G
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], p: &[R], _: f64, g: &mut [Gate<R>]) {
        let u = v - p[2];
        let an = efun((u - 15.0) * -0.2) * (0.032 / 0.2);
        let bn = (-(u - 10.0) / 40.0).exp() * 0.5;
        g[0] = Gate::from_rates(an, bn, 1.0);
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], _: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(4) * (v - p[1])
    }
}

channel_struct!(
    /// `Km`: the slow, non-inactivating potassium current (M current).
    /// p_inf = 1/(1 + e^(-(v + 35)/10)), tau_p = taumax/(3.3 e^((v + 35)/20)
    /// + e^(-(v + 35)/20)). Current gKm p (v - ek).
    Km
);

const KM_PARAMS: [ParamSpec; 3] = [
    ParamSpec::new("gKm", "S/cm2", 0.004e-3, (0.0, 0.01)),
    ParamSpec::new("taumax", "ms", 4000.0, (100.0, 10000.0)),
    ParamSpec::shared("ek", "mV", -90.0, (-150.0, 150.0)),
];

impl GateKinetics for Km {
    fn name(&self) -> &str {
        "Km"
    }
    fn params(&self) -> &[ParamSpec] {
        &KM_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        const G: [StateSpec; 1] = [StateSpec::gate("p")];
        &G
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], p: &[R], _: f64, g: &mut [Gate<R>]) {
        let x = v + 35.0;
        g[0] = Gate {
            inf: sigmoid(x * -0.1),
            tau: p[1] / ((x * 0.05).exp() * 3.3 + (x * -0.05).exp()),
        };
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], _: &[R], p: &[R]) -> R {
        p[0] * x[0] * (v - p[2])
    }
}

const CA_REVERSAL: [IonVar; 1] = [IonVar::Reversal(CALCIUM)];

channel_struct!(
    /// `CaL`: the high-threshold calcium current. alpha_q = 0.055
    /// efun((-v - 27)/3.8) 3.8, beta_q = 0.94 e^((-v - 75)/17), alpha_r =
    /// 4.57e-4 e^((-v - 13)/50), beta_r = 0.0065/(e^((-v - 15)/28) + 1).
    /// Current gCaL q^2 r (v - eca), carried by calcium.
    CaL
);

const CAL_PARAMS: [ParamSpec; 1] = [ParamSpec::new("gCaL", "S/cm2", 0.1e-3, (0.0, 0.01))];

impl GateKinetics for CaL {
    fn name(&self) -> &str {
        "CaL"
    }
    fn params(&self) -> &[ParamSpec] {
        &CAL_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        const G: [StateSpec; 2] = [StateSpec::gate("q"), StateSpec::gate("r")];
        &G
    }
    fn ion(&self) -> Option<Ion> {
        Some(CALCIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &CA_REVERSAL
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        let aq = efun((-v - 27.0) / 3.8) * (0.055 * 3.8);
        let bq = ((-v - 75.0) / 17.0).exp() * 0.94;
        g[0] = Gate::from_rates(aq, bq, 1.0);
        let ar = ((-v - 13.0) / 50.0).exp() * 0.000457;
        let br = R::cst(0.0065) / (((-v - 15.0) / 28.0).exp() + 1.0);
        g[1] = Gate::from_rates(ar, br, 1.0);
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(2) * x[1] * (v - e[0])
    }
}

channel_struct!(
    /// `CaT`: the low-threshold (T-type) calcium current, with instantaneous
    /// activation s_inf = 1/(1 + e^(-(v + vx + 57)/6.2)) and inactivation u:
    /// u_inf = 1/(1 + e^((v + vx + 81)/4)), tau_u = (30.8 + 211.4 +
    /// e^((v + vx + 113.2)/5))/(3.7 (1 + e^((v + vx + 84)/3.2))).
    /// Current gCaT s_inf^2 u (v - eca), carried by calcium; its slope in v
    /// includes that of s_inf.
    CaT
);

const CAT_PARAMS: [ParamSpec; 2] = [
    ParamSpec::new("gCaT", "S/cm2", 0.4e-4, (0.0, 0.01)),
    ParamSpec::new("vx", "mV", 2.0, (-10.0, 10.0)),
];

impl GateKinetics for CaT {
    fn name(&self) -> &str {
        "CaT"
    }
    fn params(&self) -> &[ParamSpec] {
        &CAT_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        const G: [StateSpec; 1] = [StateSpec::gate("u")];
        &G
    }
    fn ion(&self) -> Option<Ion> {
        Some(CALCIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &CA_REVERSAL
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], p: &[R], _: f64, g: &mut [Gate<R>]) {
        let w = v + p[1];
        g[0] = Gate {
            inf: sigmoid((w + 81.0) / 4.0),
            tau: (((w + 113.2) / 5.0).exp() + 211.4 + 30.8)
                / ((((w + 84.0) / 3.2).exp() + 1.0) * 3.7),
        };
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        let s_inf = sigmoid(-(v + p[1] + 57.0) / 6.2);
        p[0] * s_inf * s_inf * x[0] * (v - e[0])
    }
}

/// The five channels of the set (with [`crate::Leak`] the sixth).
pub fn all() -> Vec<Box<dyn crate::Channel>> {
    vec![
        Box::new(Na),
        Box::new(K),
        Box::new(Km),
        Box::new(CaL),
        Box::new(CaT),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChannelKernels;
    use crate::gradcheck::{Point, check_channel};
    use crate::{Channel, ChannelEnv, Columns, ColumnsMut};

    fn points(ch: &dyn Channel) -> Vec<Point> {
        [-85.0, -62.0, -47.0, -13.0 + 1e-3, 10.0, 30.0]
            .iter()
            .enumerate()
            .map(|(k, &v)| Point {
                v,
                params: ch
                    .params()
                    .iter()
                    .map(|p| p.default * (1.0 + 0.05 * k as f64))
                    .collect(),
                states: (0..ch.states().len())
                    .map(|j| 0.2 + 0.1 * ((k + j) % 6) as f64)
                    .collect(),
                inputs: vec![120.0; ch.inputs().len()],
            })
            .collect()
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for ch in all() {
            check_channel(&*ch, &points(&*ch), 0.025, 36.0, 1e-6).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Initial states are true fixed points: one step at the initial
    /// voltage leaves them unchanged.
    #[test]
    fn gates_start_at_their_steady_state() {
        for ch in all() {
            let v = [-70.0, -55.0, -20.0];
            let rows = v.len();
            let p: Vec<f64> = ch
                .params()
                .iter()
                .flat_map(|p| vec![p.default; rows])
                .collect();
            let inputs = vec![120.0; rows * ch.inputs().len()];
            let env = ChannelEnv {
                inputs: Columns::new(&inputs, rows),
                ..ChannelEnv::new(&v, 0.5, 36.0)
            };
            let mut s = vec![0.0; rows * ch.states().len()];
            ch.native().unwrap().init_states(
                &env,
                Columns::new(&p, rows),
                ColumnsMut::new(&mut s, rows),
            );
            let before = s.clone();
            ch.native().unwrap().advance_states(
                &env,
                Columns::new(&p, rows),
                ColumnsMut::new(&mut s, rows),
            );
            for (a, b) in before.iter().zip(&s) {
                assert!(
                    (a - b).abs() <= 1e-15 * a.abs().max(1e-300),
                    "{}: {a} -> {b}",
                    ch.name()
                );
            }
        }
        // Km at -35 mV: p_inf = 1/2 exactly, where Jaxley's initial value
        // p_inf/(p_inf + tau_p) would be 0.5/(0.5 + 4000/4.3).
        let env = ChannelEnv::new(&[-35.0], 0.025, 36.0);
        let p: Vec<f64> = Channel::params(&Km).iter().map(|p| p.default).collect();
        let mut s = [0.0];
        Km.init_states(&env, Columns::new(&p, 1), ColumnsMut::new(&mut s, 1));
        assert_eq!(s[0], 0.5);
    }
}
